"""Tests for batchbald.deep: MC-dropout and deep-ensemble torch classifiers."""

import copy
import importlib
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from numpy.testing import assert_allclose, assert_array_equal  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_blobs  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from torch import nn  # noqa: E402

from batchbald.classifier import FallbackWarning  # noqa: E402
from batchbald.deep import (  # noqa: E402
    DeepEnsembleClassifier,
    MCDropoutClassifier,
    _dropout,
    make_mlp,
)
from batchbald.information import bald_scores, check_probabilities  # noqa: E402

# Small, fast training settings shared by most tests.
FAST = {"max_epochs": 30, "batch_size": 32, "lr": 1e-2, "device": "cpu"}


@pytest.fixture(autouse=True, scope="module")
def _single_torch_thread():
    # Tiny networks run far faster on one thread on a shared CPU.
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(
        n_samples=90,
        centers=[[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]],
        cluster_std=0.6,
        random_state=0,
    )
    return X, y.astype(np.float64)


@pytest.fixture(scope="module")
def mc_fitted(blobs):
    X, y = blobs
    net = make_mlp(2, 3, hidden=(32, 32), dropout=0.3, random_state=0)
    return MCDropoutClassifier(net, random_state=0, **FAST).fit(X, y)


def _mlp(random_state=0, n_features=2, n_classes=3):
    return make_mlp(
        n_features, n_classes, hidden=(16,), dropout=0.3, random_state=random_state
    )


# --------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------
def test_import_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "batchbald.deep")
    with pytest.raises(ImportError, match=r"batchbald\[torch\]"):
        importlib.import_module("batchbald.deep")


# --------------------------------------------------------------------------
# learning
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make_clf",
    [
        pytest.param(
            lambda: MCDropoutClassifier(_mlp(), random_state=1, **FAST), id="mc-dropout"
        ),
        pytest.param(
            lambda: DeepEnsembleClassifier(_mlp(), n_members=3, random_state=1, **FAST),
            id="ensemble",
        ),
    ],
)
def test_learns_blobs_with_missing_labels(blobs, make_clf):
    X, y = blobs
    rng = np.random.RandomState(0)
    y_missing = y.copy()
    y_missing[rng.rand(len(y)) < 0.5] = np.nan
    y_before = y_missing.copy()
    clf = make_clf().fit(X, y_missing)
    assert_array_equal(y_missing, y_before)  # caller's array untouched
    assert clf.score(X, y) > 0.9  # chance is 1/3
    assert_array_equal(clf.classes_, [0.0, 1.0, 2.0])


@pytest.mark.slow
def test_learns_digits_with_default_mlp():
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    perm = rng.permutation(len(X))
    train, test = perm[:150], perm[-400:]
    y_al = np.full(len(X), np.nan)
    y_al[train] = y[train]
    clf = MCDropoutClassifier(
        make_mlp(64, 10, random_state=0),
        classes=np.arange(10),
        random_state=0,
        device="cpu",
    )
    clf.fit(X / 16.0, y_al)
    assert clf.n_epochs_ <= 200
    assert clf.score(X[test] / 16.0, y[test]) > 0.75  # chance is 0.1


def test_missing_labels_are_ignored(blobs):
    X, y = blobs
    labeled = np.arange(len(y)) % 3 != 0
    y_missing = np.where(labeled, y, np.nan)
    a = MCDropoutClassifier(_mlp(), random_state=3, **FAST).fit(X, y_missing)
    b = MCDropoutClassifier(_mlp(), random_state=3, **FAST).fit(X[labeled], y[labeled])
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=1e-6)


def test_custom_missing_label_and_string_classes(blobs):
    X, y = blobs
    names = np.array(["a", "b", "c"], dtype=object)
    y_str = names[y.astype(int)]
    y_str[::4] = None
    clf = MCDropoutClassifier(_mlp(), missing_label=None, random_state=0, **FAST)
    clf.fit(X, y_str)
    assert_array_equal(clf.classes_, names)
    assert set(clf.predict(X)) <= set(names)


# --------------------------------------------------------------------------
# the user's module and reproducibility
# --------------------------------------------------------------------------
def test_user_module_is_never_modified(blobs):
    X, y = blobs
    net = _mlp()
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    clf = MCDropoutClassifier(net, random_state=0, **FAST).fit(X, y)
    clf.sample_proba(X, n_members=3)
    assert clf.module_ is not net
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key])
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())
    assert all(not m._forward_hooks for m in clf.module_.modules())


def test_refit_starts_from_scratch_and_reinitialises(blobs):
    X, y = blobs
    # Two modules with different initial weights give the same fitted model.
    a = MCDropoutClassifier(_mlp(random_state=1), random_state=5, **FAST).fit(X, y)
    b = MCDropoutClassifier(_mlp(random_state=2), random_state=5, **FAST).fit(X, y)
    assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=0, atol=0)
    # Fitting twice with an integer seed gives the same model again.
    first = a.predict_proba(X)
    assert_allclose(a.fit(X, y).predict_proba(X), first, rtol=0, atol=0)


def test_warm_start_continues_training(blobs):
    X, y = blobs
    clf = MCDropoutClassifier(_mlp(), warm_start=True, random_state=5, **FAST)
    first = clf.fit(X, y).predict_proba(X)
    second = clf.fit(X, y).predict_proba(X)
    assert not np.allclose(first, second)
    with pytest.raises(ValueError, match="warm_start"):
        clf.fit(X, np.where(y == 2, 1.0, y))  # classes changed


@pytest.mark.parametrize("seed_a, seed_b, same", [(7, 7, True), (7, 8, False)])
def test_same_random_state_same_model_and_samples(blobs, seed_a, seed_b, same):
    X, y = blobs
    a = MCDropoutClassifier(_mlp(), random_state=seed_a, **FAST).fit(X, y)
    b = MCDropoutClassifier(_mlp(), random_state=seed_b, **FAST).fit(X, y)
    pairs = [
        (a.predict_proba(X), b.predict_proba(X)),
        (a.sample_proba(X, n_members=5), b.sample_proba(X, n_members=5)),
    ]
    for pa, pb in pairs:
        assert np.array_equal(pa, pb) == same


def test_no_global_rng_is_used(blobs):
    X, y = blobs
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()  # noqa: NPY002
    clf = MCDropoutClassifier(_mlp(), random_state=0, **FAST).fit(X, y)
    clf.sample_proba(X, n_members=4)
    DeepEnsembleClassifier(_mlp(), n_members=2, random_state=0, **FAST).fit(X, y)
    make_mlp(2, 3, random_state=0)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    now = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(x, z) for x, z in zip(now, np_state, strict=True))


def test_make_mlp_is_seeded():
    a, b, c = (make_mlp(5, 3, random_state=s) for s in (0, 0, 1))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(next(a.parameters()), next(c.parameters()))
    assert [type(m) for m in a] == [nn.Linear, nn.ReLU, nn.Dropout] * 2 + [nn.Linear]


# --------------------------------------------------------------------------
# consistent MC dropout
# --------------------------------------------------------------------------
def test_sample_proba_shape_dtype_and_normalisation(mc_fitted, blobs):
    X, _ = blobs
    probs = mc_fitted.sample_proba(X, n_members=np.int64(6))
    assert probs.shape == (6, len(X), 3)
    assert probs.dtype == np.float64
    check_probabilities(probs, atol=1e-12)
    assert mc_fitted.sample_proba(X[:4]).shape == (20, 4, 3)  # n_mc_samples
    assert mc_fitted.predict_proba(X).dtype == np.float64
    assert_allclose(mc_fitted.predict_proba(X).sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("inference_batch_size", [1, 7, 1000])
def test_masks_are_shared_across_points_and_batches(
    mc_fitted, blobs, inference_batch_size
):
    X, _ = blobs
    K = 8
    full = mc_fitted.sample_proba(X, n_members=K)
    # The same fitted network with another inference batch size.
    clf = copy.deepcopy(mc_fitted).set_params(inference_batch_size=inference_batch_size)
    assert_allclose(clf.sample_proba(X, n_members=K), full, rtol=0, atol=1e-6)
    # Each point scored alone, and inside a shuffled subset.
    for i in (0, 17, 89):
        alone = clf.sample_proba(X[i : i + 1], n_members=K)
        assert_allclose(alone[:, 0], full[:, i], rtol=0, atol=1e-6)
    order = np.random.RandomState(0).permutation(len(X))[:30]
    assert_allclose(
        clf.sample_proba(X[order], n_members=K), full[:, order], rtol=0, atol=1e-6
    )
    # Sample k does not depend on how many samples are drawn.
    assert_allclose(clf.sample_proba(X, n_members=3), full[:3], rtol=0, atol=1e-6)
    # Different k differ.
    assert np.abs(np.diff(full, axis=0)).max(axis=(1, 2)).min() > 1e-3


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_dropout_on_for_samples_off_for_predict(mc_fitted, blobs, mode):
    X, _ = blobs
    getattr(mc_fitted.module_, mode)()
    samples = mc_fitted.sample_proba(X, n_members=10)
    assert samples.std(axis=0).max() > 1e-2
    net = mc_fitted.module_
    with torch.no_grad():
        net.eval()
        logits = net(torch.as_tensor(X, dtype=torch.float32)).double()
    expected = torch.softmax(logits, dim=1).numpy()
    getattr(net, mode)()
    assert_allclose(mc_fitted.predict_proba(X), expected, rtol=0, atol=1e-6)
    assert_allclose(
        mc_fitted.predict_proba(X), mc_fitted.predict_proba(X), rtol=0, atol=0
    )
    assert net.training == (mode == "train")  # modes restored
    net.eval()


def test_sample_proba_random_state(mc_fitted, blobs):
    X, _ = blobs
    default = mc_fitted.sample_proba(X, n_members=4)
    assert_array_equal(mc_fitted.sample_proba(X, n_members=4), default)
    s1 = mc_fitted.sample_proba(X, n_members=4, random_state=1)
    assert_array_equal(mc_fitted.sample_proba(X, n_members=4, random_state=1), s1)
    assert not np.allclose(s1, default)
    rng = np.random.RandomState(0)
    r1 = mc_fitted.sample_proba(X, n_members=4, random_state=rng)
    r2 = mc_fitted.sample_proba(X, n_members=4, random_state=rng)
    assert not np.allclose(r1, r2)


@pytest.mark.parametrize(
    "layer, x_shape, mask_axes",
    [
        (nn.Dropout(0.25), (3, 4000), (1,)),
        (nn.Dropout2d(0.25), (3, 2000, 2, 2), (1,)),
    ],
)
def test_consistent_mask_values_and_scaling(layer, x_shape, mask_axes):
    masks = _dropout.ConsistentMasks(seed=123)
    x = torch.ones(x_shape)
    layer.eval()  # the mode applies the masks whatever the layer's mode
    with torch.no_grad(), _dropout.DropoutMode(masks) as mode:
        masks.k = 0
        out0 = layer(x)
        masks.k, mode.site = 1, 0
        out1 = layer(x)
    # Rows share the mask; values are 0 or 1/(1-p); ~p of the features dropped.
    assert torch.equal(out0, out0[:1].expand_as(out0))
    values = torch.unique(out0)
    assert_allclose(values.numpy(), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs(float((out0[0] == 0).float().mean()) - 0.25) < 0.03
    assert not torch.equal(out0, out1)
    if isinstance(layer, nn.Dropout2d):  # one value per channel
        assert torch.equal(out0, out0[..., :1, :1].expand_as(out0))
    assert not layer._forward_hooks


def test_conv_network_with_dropout2d():
    rng = np.random.RandomState(0)
    X = rng.rand(40, 1, 6, 6).astype(np.float32)
    y = (X[:, 0, :3].mean(axis=(1, 2)) > X[:, 0, 3:].mean(axis=(1, 2))).astype(float)
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.ReLU(),
        nn.Dropout2d(0.3),
        nn.Flatten(),
        nn.Linear(64, 2),
    )
    clf = MCDropoutClassifier(net, random_state=0, max_epochs=5, device="cpu")
    probs = clf.fit(X, y).sample_proba(X, n_members=4)
    assert probs.shape == (4, 40, 2)
    alone = clf.sample_proba(X[5:6], n_members=4)
    assert_allclose(alone[:, 0], probs[:, 5], rtol=0, atol=1e-6)


def test_bald_larger_far_from_training_data(blobs):
    X, y = blobs
    rng = np.random.RandomState(0)
    far = rng.normal(size=(30, 2))
    far = 8.0 * far / np.linalg.norm(far, axis=1, keepdims=True)
    net = make_mlp(2, 3, hidden=(64, 64), dropout=0.5, random_state=0)
    clf = MCDropoutClassifier(net, random_state=0, max_epochs=100, device="cpu").fit(
        X, y
    )
    scores = bald_scores(clf.sample_proba(np.vstack([X, far]), n_members=20))
    assert scores[len(X) :].mean() > 1.5 * scores[: len(X)].mean()


# --------------------------------------------------------------------------
# deep ensembles
# --------------------------------------------------------------------------
def test_ensemble_members_differ_and_mean_is_predict_proba(blobs):
    X, y = blobs
    ens = DeepEnsembleClassifier(_mlp(), n_members=3, random_state=0, **FAST)
    probs = ens.fit(X, y).sample_proba(X)
    assert probs.shape == (3, len(X), 3)
    check_probabilities(probs, atol=1e-12)
    assert_allclose(ens.sample_proba(X, n_members=3), probs, rtol=0, atol=0)
    assert_allclose(ens.predict_proba(X), probs.mean(axis=0), rtol=0, atol=1e-15)
    for a, b in [(0, 1), (0, 2), (1, 2)]:
        assert np.abs(probs[a] - probs[b]).max() > 1e-3
    w0 = [p.detach() for p in ens.members_[0].parameters()]
    w1 = [p.detach() for p in ens.members_[1].parameters()]
    assert not torch.equal(w0[0], w1[0])
    assert ens.n_epochs_.shape == (3,)


@pytest.mark.parametrize(
    "module, n_members, expected",
    [
        (lambda: [_mlp(), make_mlp(2, 3, hidden=(8, 8), random_state=0)], None, 2),
        (lambda: _mlp, 2, 2),
        (lambda: _mlp(), None, 5),
    ],
    ids=["list", "factory", "template-default"],
)
def test_ensemble_member_specifications(blobs, module, n_members, expected):
    X, y = blobs
    ens = DeepEnsembleClassifier(
        module(), n_members=n_members, random_state=0, **{**FAST, "max_epochs": 2}
    )
    assert ens.fit(X, y).sample_proba(X[:5]).shape == (expected, 5, 3)
    assert ens.n_members_ == expected


@pytest.mark.parametrize(
    "kwargs, n_samples, match",
    [
        ({"n_members": 3}, 4, "n_members=4 differs"),
        ({"n_members": 3}, 0, "n_members"),
    ],
)
def test_ensemble_n_samples_must_match(blobs, kwargs, n_samples, match):
    X, y = blobs
    ens = DeepEnsembleClassifier(
        _mlp(), random_state=0, **kwargs, **{**FAST, "max_epochs": 1}
    ).fit(X, y)
    with pytest.raises(ValueError, match=match):
        ens.sample_proba(X, n_members=n_samples)


def test_ensemble_list_length_conflict(blobs):
    X, y = blobs
    ens = DeepEnsembleClassifier([_mlp(), _mlp()], n_members=3, **FAST)
    with pytest.raises(ValueError, match="n_members=3"):
        ens.fit(X, y)


# --------------------------------------------------------------------------
# sklearn conventions
# --------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [MCDropoutClassifier, DeepEnsembleClassifier])
def test_clone_and_params(blobs, cls):
    X, y = blobs
    est = cls(_mlp(), random_state=4, **{**FAST, "max_epochs": 3})
    if cls is DeepEnsembleClassifier:
        est.set_params(n_members=2)
    twin = clone(est)
    assert twin.get_params()["lr"] == est.lr
    assert twin.module is not est.module
    assert_allclose(
        twin.fit(X, y).predict_proba(X), est.fit(X, y).predict_proba(X), rtol=0, atol=0
    )
    assert not hasattr(clone(twin), "classes_")


@pytest.mark.parametrize(
    "y_labels, classes, expected",
    [
        ([1.0, np.nan, 1.0, np.nan], [0, 1, 2], [0.0, 1.0, 0.0]),
        ([np.nan] * 4, [0, 1, 2], [1 / 3, 1 / 3, 1 / 3]),
    ],
)
def test_fewer_than_two_labeled_classes(y_labels, classes, expected):
    X = np.random.RandomState(0).rand(4, 2)
    clf = MCDropoutClassifier(_mlp(), classes=classes, random_state=0, **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, np.array(y_labels))
        proba = clf.predict_proba(X)
        samples = clf.sample_proba(X, n_members=3)
    assert len([w for w in caught if issubclass(w.category, FallbackWarning)]) == 1
    assert clf.fallback_
    assert_allclose(proba, np.tile(expected, (4, 1)))
    assert samples.shape == (3, 4, 3)
    assert_allclose(samples, np.tile(expected, (3, 4, 1)))


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"weight_decay": -1.0}, ValueError, "weight_decay"),
        ({"max_epochs": 0}, ValueError, "max_epochs"),
        ({"batch_size": 1.5}, TypeError, "batch_size"),
        ({"inference_batch_size": 0}, ValueError, "inference_batch_size"),
        ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ({"patience": 0}, ValueError, "patience"),
        ({"warm_start": "yes"}, TypeError, "warm_start"),
        ({"device": "tpu"}, ValueError, "device"),
        ({"device": 3}, TypeError, "device"),
        ({"optimizer": "rmsprop"}, ValueError, "optimizer"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"n_mc_samples": 0}, ValueError, "n_mc_samples"),
        ({"random_state": "x"}, TypeError, "random_state"),
        ({"classes": [0, 1]}, ValueError, r"not in classes: 2\.0"),
    ],
)
def test_invalid_parameters(blobs, params, error, match):
    X, y = blobs
    clf = MCDropoutClassifier(_mlp(), **{**FAST, **params})
    with pytest.raises(error, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize(
    "module, error, match",
    [
        ("not a module", TypeError, "torch.nn.Module"),
        (nn.Sequential(nn.Linear(2, 3)), ValueError, "nn.Dropout"),
        (nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.0)), ValueError, "p > 0"),
        (
            nn.Sequential(nn.Linear(2, 3), nn.AlphaDropout(0.2)),
            ValueError,
            "AlphaDropout",
        ),
        (make_mlp(2, 4, hidden=(4,), random_state=0), ValueError, "n_classes=3"),
    ],
)
def test_invalid_modules(blobs, module, error, match):
    X, y = blobs
    with pytest.raises(error, match=match):
        MCDropoutClassifier(module, **FAST).fit(X, y)


def test_invalid_data(blobs, mc_fitted):
    X, y = blobs
    clf = MCDropoutClassifier(_mlp(), **FAST)
    with pytest.raises(NotFittedError):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="no labeled samples and classes=None"):
        clf.fit(X, np.full(len(X), np.nan))
    with pytest.raises(ValueError, match="same number of samples"):
        clf.fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        clf.fit(np.where(np.arange(len(X))[:, None] == 3, np.nan, X), y)
    with pytest.raises(TypeError, match="X must hold real numbers"):
        clf.fit(X.astype(str), y)
    with pytest.raises(ValueError, match="per-sample shape"):
        mc_fitted.predict_proba(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="n_members"):
        mc_fitted.sample_proba(X, n_members=0)
    with pytest.raises(ValueError, match="classes must not contain NaN"):
        MCDropoutClassifier(_mlp(), classes=[0.0, np.nan, 1.0], **FAST).fit(X, y)


def test_make_mlp_validation():
    with pytest.raises(ValueError, match="n_classes"):
        make_mlp(4, 1)
    with pytest.raises(TypeError, match="hidden"):
        make_mlp(4, 2, hidden=8)
    with pytest.raises(ValueError, match="dropout"):
        make_mlp(4, 2, dropout=1.0)
    net = make_mlp(np.int64(4), np.int64(2), hidden=[np.int32(3)])
    assert net[0].out_features == 3


@pytest.mark.parametrize(
    "make_clf, K",
    [
        (lambda: MCDropoutClassifier(_mlp(), random_state=0, **FAST), 6),
        (
            lambda: DeepEnsembleClassifier(_mlp(), n_members=2, random_state=0, **FAST),
            2,
        ),
    ],
    ids=["mc-dropout", "ensemble"],
)
def test_plugs_into_ensemble_probas(blobs, make_clf, K):
    from batchbald.ensembles import ensemble_probas

    X, y = blobs
    probs, est = ensemble_probas(
        make_clf(),
        X[:10],
        X=X,
        y=y,
        fit=True,
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_members": K},
    )
    assert probs.shape == (K, 10, 3)
    assert_allclose(probs, est.sample_proba(X[:10], n_members=K), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("labels", "classes", "expected_classes"),
    [
        (["a", "b"] * 10 + [np.nan] * 10, None, ["a", "b"]),
        ([1, 0] * 10 + [np.nan] * 10, [1, 0], [1, 0]),
    ],
)
def test_labels_follow_the_library_rules(blobs, labels, classes, expected_classes):
    """NaN among string labels is a missing label, not a class "nan"; a given
    ``classes`` keeps its order (as in SklearnClassifier)."""
    X, _ = blobs
    y = np.array(labels, dtype=object)
    net = _mlp(n_classes=2)
    clf = MCDropoutClassifier(net, classes=classes, **FAST).fit(X[: len(y)], y)
    assert clf.classes_.tolist() == expected_classes


# --------------------------------------------------------------------------
# n_members and its deprecated alias
# --------------------------------------------------------------------------
def test_n_samples_is_a_deprecated_alias(mc_fitted, blobs):
    X, _ = blobs
    new = mc_fitted.sample_proba(X, n_members=3)
    with pytest.warns(FutureWarning, match="n_members"):
        old = mc_fitted.sample_proba(X, n_samples=3)
    assert_array_equal(old, new)
    assert_array_equal(mc_fitted.sample_proba(X, 3), new)  # positional
    with pytest.raises(TypeError, match="n_members only"):
        mc_fitted.sample_proba(X, n_members=3, n_samples=3)


@pytest.mark.parametrize("key, warns", [("n_members", False), ("n_samples", True)])
def test_strategy_dict_accepts_both_names(mc_fitted, blobs, key, warns):
    from batchbald.pool import BatchBALD

    X, y = blobs
    y = y.copy()
    y[::2] = np.nan
    qs = BatchBALD(
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={key: 4},
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        idx = qs.query(X, y, mc_fitted, fit_ensemble=False, batch_size=2)
    assert len(idx) == 2
    assert any(issubclass(w.category, FutureWarning) for w in caught) == warns


# --------------------------------------------------------------------------
# functional dropout
# --------------------------------------------------------------------------
class _FunctionalMLP(nn.Module):
    """Dropout written as people write it: F.dropout(..., self.training)."""

    def __init__(self, p=0.3, alpha=False):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(2, 16), nn.Linear(16, 3)
        self.p, self.alpha = p, alpha

    def forward(self, x):
        h = torch.relu(self.lin1(x))
        if self.alpha:
            return self.lin2(torch.nn.functional.alpha_dropout(h, 0.2, self.training))
        return self.lin2(torch.nn.functional.dropout(h, self.p, self.training))


def _as_sequential(functional):
    seq = nn.Sequential(
        nn.Linear(2, 16), nn.ReLU(), nn.Dropout(functional.p), nn.Linear(16, 3)
    )
    seq[0].load_state_dict(functional.lin1.state_dict())
    seq[3].load_state_dict(functional.lin2.state_dict())
    return seq


def test_functional_dropout_gets_the_masks_of_a_dropout_layer(blobs):
    from batchbald.deep._classifiers import _mc_dropout_proba
    from batchbald.deep._data import Source

    X, y = blobs
    clf = MCDropoutClassifier(_FunctionalMLP(), random_state=0, **FAST).fit(X, y)
    probs = clf.sample_proba(X, n_members=5)
    # the same weights as nn.Dropout layers give the same samples
    seq = _as_sequential(clf.module_)
    expected = _mc_dropout_proba(
        seq, Source(X), 5, clf.mc_seed_, 3, 1024, torch.device("cpu")
    )
    assert_allclose(probs, expected, rtol=0, atol=1e-12)
    assert not np.allclose(probs[0], probs[1])  # dropout is on
    # consistent: a point alone gets the masks it gets in the pool
    alone = clf.sample_proba(X[7:8], n_members=5)[:, 0]
    assert_allclose(alone, probs[:, 7], rtol=0, atol=1e-6)
    # predict_proba runs without dropout
    assert_allclose(clf.predict_proba(X), clf._forward_proba(seq, Source(X)))


def test_functional_dropout_training_is_seeded(blobs):
    X, y = blobs
    fits = [
        MCDropoutClassifier(_FunctionalMLP(), random_state=3, **FAST).fit(X, y)
        for _ in range(2)
    ]
    state = torch.random.get_rng_state()
    assert fits[0].loss_curve_ == fits[1].loss_curve_
    assert torch.equal(state, torch.random.get_rng_state())


class _NoDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x):
        return self.lin(torch.nn.functional.dropout(x, 0.0, self.training))


@pytest.mark.parametrize(
    "module, error, match",
    [
        (_NoDropout(), ValueError, "functional.dropout"),
        (_FunctionalMLP(alpha=True), ValueError, "alpha_dropout is not supported"),
    ],
)
def test_functional_dropout_errors(blobs, module, error, match):
    X, y = blobs
    with pytest.raises(error, match=match):
        MCDropoutClassifier(module, **FAST).fit(X, y)


def test_functional_dropout2d_masks_channels():
    mode = _dropout.DropoutMode(_dropout.ConsistentMasks(seed=5))
    x = torch.ones(4, 300, 3, 3)
    with torch.no_grad(), mode:
        out = torch.nn.functional.dropout2d(x, 0.5, training=False)
    assert torch.equal(out, out[:1, :, :1, :1].expand_as(out))  # per channel
    assert 0.3 < float((out[0, :, 0, 0] == 0).float().mean()) < 0.7
    assert mode.n_calls == 1


# --------------------------------------------------------------------------
# Datasets and DataLoaders
# --------------------------------------------------------------------------
class _Images(torch.utils.data.Dataset):
    """Images made on the fly, as (x, y) items; records the largest batch."""

    def __init__(self, n, labels):
        self.n, self.labels = n, labels

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(int(i))
        x = torch.rand(1, 6, 6, generator=g)
        x[0, :3] += float(self.labels[i] == 1)  # class 1: bright top half
        return x, self.labels[i]


def _conv_net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Dropout2d(0.3), nn.Flatten(), nn.Linear(64, 2)
    )


class _BatchSpy(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module, self.largest = module, 0

    def forward(self, x):
        self.largest = max(self.largest, len(x))
        return self.module(x)


def test_dataset_and_loader_inputs_match_arrays():
    from torch.utils.data import DataLoader

    rng = np.random.RandomState(0)
    labels = rng.randint(0, 2, 60).astype(float)
    labels[::3] = np.nan  # unlabeled items
    data = _Images(60, labels)
    X = torch.stack([data[i][0] for i in range(60)]).numpy()
    params = {"random_state": 0, "max_epochs": 4, "batch_size": 8, "device": "cpu"}
    on_data = MCDropoutClassifier(_conv_net(), **params).fit(data)  # y from items
    on_array = MCDropoutClassifier(_conv_net(), **params).fit(X, labels)
    assert on_data.loss_curve_ == pytest.approx(on_array.loss_curve_, abs=1e-6)
    expected = on_array.sample_proba(X, n_members=3)
    assert_allclose(on_data.sample_proba(data, n_members=3), expected, atol=1e-6)
    loader = DataLoader(data, batch_size=7)
    assert_allclose(on_data.sample_proba(loader, n_members=3), expected, atol=1e-6)
    assert_allclose(on_data.predict_proba(loader), on_array.predict_proba(X), atol=1e-6)
    with pytest.raises(ValueError, match="shuffle=False"):
        on_data.sample_proba(DataLoader(data, batch_size=7, shuffle=True))


def test_datasets_are_read_in_bounded_batches():
    labels = np.tile([0.0, 1.0], 40)
    spy = _BatchSpy(_conv_net())
    clf = MCDropoutClassifier(
        spy,
        random_state=0,
        max_epochs=2,
        batch_size=8,
        inference_batch_size=16,
        device="cpu",
    ).fit(_Images(80, labels))
    clf.module_.largest = 0
    clf.sample_proba(_Images(80, labels), n_members=2)
    assert clf.module_.largest == 16
    clf.module_.largest = 0
    clf.fit(_Images(80, labels))
    assert clf.module_.largest <= 16


def test_dataset_without_labels_needs_y():
    from torch.utils.data import TensorDataset

    X = torch.rand(20, 2)
    with pytest.raises(ValueError, match=r"\(x, y\) pairs"):
        MCDropoutClassifier(_mlp(), **FAST).fit(TensorDataset(X))
    y = np.tile([0.0, 1.0, 2.0, np.nan], 5)
    clf = MCDropoutClassifier(_mlp(), random_state=0, **FAST).fit(TensorDataset(X), y)
    assert clf.sample_proba(TensorDataset(X), n_members=2).shape == (2, 20, 3)


# --------------------------------------------------------------------------
# skorch
# --------------------------------------------------------------------------
def _skorch_net(**kwargs):
    skorch = pytest.importorskip("skorch")

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin1, self.lin2 = nn.Linear(2, 16), nn.Linear(16, 3)

        def forward(self, x):
            h = torch.nn.functional.dropout(
                torch.relu(self.lin1(x)), 0.3, self.training
            )
            return torch.softmax(self.lin2(h), dim=-1)  # skorch's NLLLoss convention

    return skorch.NeuralNetClassifier(
        Net, max_epochs=15, lr=0.1, train_split=None, verbose=0, **kwargs
    )


def test_skorch_net_gives_consistent_mc_dropout(blobs):
    from batchbald.deep import SkorchMCDropout

    X, y = blobs
    X = X.astype(np.float32)
    y = y.copy()
    y[::4] = np.nan
    net = _skorch_net()
    est = SkorchMCDropout(net, n_members=6, random_state=0).fit(X, y)
    assert not hasattr(net, "module_")  # the user's net is not trained
    probs = est.sample_proba(X)
    assert probs.shape == (6, len(X), 3)
    check_probabilities(probs)
    assert not np.allclose(probs[0], probs[1])
    assert_allclose(est.sample_proba(X[4:5])[:, 0], probs[:, 4], atol=1e-6)
    again = SkorchMCDropout(net, n_members=6, random_state=0).fit(X, y)
    assert_allclose(again.sample_proba(X), probs, atol=1e-6)  # seeded
    assert est.score(X[~np.isnan(y)], y[~np.isnan(y)]) > 0.8


def test_skorch_plugs_into_batchbald(blobs):
    from batchbald.deep import SkorchMCDropout
    from batchbald.pool import BatchBALD

    X, y = blobs
    X = X.astype(np.float32)
    y = y.copy()
    y[10:] = np.nan
    qs = BatchBALD(
        sample_predictions_method_name="sample_proba",
        sample_predictions_dict={"n_members": 5},
        random_state=0,
    )
    idx = qs.query(X, y, SkorchMCDropout(_skorch_net(), random_state=0), batch_size=3)
    assert len(set(idx)) == 3 and np.isnan(y[idx]).all()


# --------------------------------------------------------------------------
# consistent_dropout and the recipes of docs/deep_recipes.md
# --------------------------------------------------------------------------
def test_consistent_dropout_for_a_model_run_by_the_user(blobs):
    from batchbald.deep import consistent_dropout

    X, y = blobs
    clf = MCDropoutClassifier(_FunctionalMLP(), random_state=0, **FAST).fit(X, y)
    model = clf.module_.eval()  # stands in for a trained Lightning module
    x = torch.as_tensor(X, dtype=torch.float32)
    K = 4
    with torch.no_grad(), consistent_dropout(seed=clf.mc_seed_) as dropout:
        probs = []
        for k in range(K):
            halves = []
            for part in (x[:40], x[40:]):  # two batches of the pool
                dropout.member(k)  # before every forward pass
                halves.append(torch.softmax(model(part), -1))
            probs.append(torch.cat(halves))
        assert dropout.n_dropout_calls == 2 * K
    probs = torch.stack(probs).double().numpy()
    # the library's own sampling gives the same members
    assert_allclose(probs, clf.sample_proba(X, n_members=K), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="k must be"):
        with consistent_dropout() as dropout:
            dropout.member(-1)


def test_deep_recipes_numpy_part(tmp_path, monkeypatch):
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parent.parent / "docs" / "deep_recipes.md"
    text = doc.read_text(encoding="utf-8")
    marker = "<!-- tested: tests/test_deep.py::test_deep_recipes_numpy_part -->"
    block = re.search(re.escape(marker) + r"\s*```python\n(.*?)```", text, re.S)
    assert block is not None
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), str(doc), "exec"), {})
    assert np.load(tmp_path / "probs.npy").shape == (20, 500, 4)


class _AlwaysOnDropout(nn.Module):
    """F.dropout without training=...: torch's default keeps it on."""

    def __init__(self):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(2, 16), nn.Linear(16, 3)

    def forward(self, x):
        return self.lin2(torch.nn.functional.dropout(torch.relu(self.lin1(x)), 0.3))


def test_predict_proba_is_deterministic_however_dropout_is_written(blobs):
    X, y = blobs
    clf = MCDropoutClassifier(_AlwaysOnDropout(), random_state=0, **FAST).fit(X, y)
    state = torch.random.get_rng_state()
    assert_array_equal(clf.predict_proba(X), clf.predict_proba(X))
    assert torch.equal(state, torch.random.get_rng_state())  # no global draws
    samples = clf.sample_proba(X, n_members=3)
    assert not np.allclose(samples[0], samples[1])
