"""PyTorch classifiers for deep Bayesian active learning.

This module needs PyTorch (``pip install "batchbald[torch]"``); nothing else in
batchbald imports it.

Two scikit-learn-compatible classifiers wrap a user's ``torch.nn.Module`` that
maps a batch of inputs ``(B, *input_shape)`` to class logits ``(B, C)``:

- :class:`MCDropoutClassifier` -- one network; posterior samples are forward
  passes with *consistent* Monte-Carlo dropout masks (Gal & Ghahramani 2016,
  Kirsch et al. 2019);
- :class:`DeepEnsembleClassifier` -- several independently initialised and
  independently trained networks (Lakshminarayanan et al. 2017).

Both expose ``sample_proba(X, n_samples)`` returning member probabilities
``probs_K_N_C`` of shape ``(K, N, C)``, so they plug into the pool strategies
like a scikit-activeml estimator::

    BatchBALD(sample_predictions_method_name="sample_proba",
              sample_predictions_dict={"n_samples": 20})

Consistent MC dropout
---------------------
BatchBALD scores *sets* of pool points through their joint predictive
distribution, so posterior sample ``k`` must be one and the same function for
every pool point. :meth:`MCDropoutClassifier.sample_proba` therefore draws, for
each of the ``K`` samples and each dropout layer, one mask over the layer's
features (the input shape without the batch axis; over channels for
``nn.Dropout1d/2d/3d``) and applies mask ``k`` to every row of every inference
batch. The masks come from ``torch.Generator`` objects seeded from
``(seed, k, layer)``, so sample ``k`` does not depend on how the pool is
batched, on which other points are scored with it, or on ``K`` itself.

The masks are applied by forward hooks on the standard ``nn.Dropout``,
``nn.Dropout1d``, ``nn.Dropout2d`` and ``nn.Dropout3d`` layers of the user's
network: during inference the network runs in ``eval()`` mode (batch norm uses
its running statistics, the dropout layers are the identity) and each hook
multiplies the layer's output by ``mask_k / (1 - p)``. The hooks exist only
for the duration of a call, so the fitted network stays a plain module. During
training the same hooks draw fresh per-element masks from a seeded generator
instead of torch's global random state. Dropout written with
``torch.nn.functional.dropout`` inside ``forward`` is not seen by the hooks
(it is off in ``eval()`` mode); alpha dropout layers are rejected.

Reproducibility
---------------
``fit`` retrains a deep copy of the user's module from scratch (unless
``warm_start``); its parameters are re-initialised from ``torch.Generator``
objects seeded from ``check_random_state(random_state)``, which also drives the
train/validation split, the shuffling and the training dropout masks. Known
layer types (linear, bilinear, convolutions, embeddings, recurrent layers) get
PyTorch's default initialisation drawn from such a generator; other modules
with a ``reset_parameters`` method run it while torch's CPU generator is
temporarily seeded (its state is restored afterwards). Parameters of modules
with neither keep the values of the user's module.
"""

# Import torch here, before any submodule, so that a missing torch fails with
# the message naming the extra.
try:
    import torch.nn.functional  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised without torch only
    raise ImportError(
        'batchbald.deep needs PyTorch; install it with pip install "batchbald[torch]".'
    ) from exc

from ._classifiers import DeepEnsembleClassifier, MCDropoutClassifier
from ._mlp import make_mlp

__all__ = [
    "DeepEnsembleClassifier",
    "MCDropoutClassifier",
    "make_mlp",
]

# Public objects report the package as their module (as before the split),
# so pickles, reprs and documentation keep naming ``batchbald.deep``.
for _obj in (DeepEnsembleClassifier, MCDropoutClassifier, make_mlp):
    _obj.__module__ = __name__
del _obj
