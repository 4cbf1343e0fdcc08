"""PyTorch classifiers for deep Bayesian active learning.

This module needs PyTorch (``pip install "batchbald[torch]"``); nothing else in
batchbald imports it.

Three scikit-learn-compatible classifiers wrap a user's ``torch.nn.Module``
that maps a batch of inputs ``(B, *input_shape)`` to class logits ``(B, C)``:

- :class:`MCDropoutClassifier` -- one network; posterior samples are forward
  passes with *consistent* Monte-Carlo dropout masks (Gal & Ghahramani 2016,
  Kirsch et al. 2019);
- :class:`DeepEnsembleClassifier` -- several independently initialised and
  independently trained networks (Lakshminarayanan et al. 2017);
- :class:`SkorchMCDropout` -- a skorch ``NeuralNetClassifier``, trained by
  skorch, sampled with the same consistent MC-dropout masks.

For a network trained elsewhere (Lightning, Hugging Face, plain torch),
:func:`consistent_dropout` applies the same masks to forward passes you run
yourself (see ``docs/deep_recipes.md``).

All expose ``sample_proba(X, n_members=K)`` returning member probabilities
``probs_K_N_C`` of shape ``(K, N, C)``, so they plug into the pool strategies
like a scikit-activeml estimator::

    BatchBALD(sample_predictions_method_name="sample_proba",
              sample_predictions_dict={"n_members": 20})

(``n_samples`` is the deprecated name of ``n_members``.) ``X`` may be an
array, a map-style torch ``Dataset`` of ``x`` or ``(x, y)`` items, or a
``DataLoader``; it is read ``batch_size`` items at a time.

Consistent MC dropout
---------------------
BatchBALD scores *sets* of pool points through their joint predictive
distribution, so posterior sample ``k`` must be one and the same function for
every pool point. :meth:`MCDropoutClassifier.sample_proba` therefore draws, for
each of the ``K`` samples and each dropout site, one mask over the site's
features (the input shape without the batch axis; over channels for
``nn.Dropout1d/2d/3d`` and ``F.dropout1d/2d/3d``) and applies mask ``k`` to
every row of every inference batch. The masks come from ``torch.Generator``
objects seeded from ``(seed, k, site)``, so sample ``k`` does not depend on
how the pool is batched, on which other points are scored with it, or on
``K`` itself.

Every dropout of a forward pass goes through ``torch.nn.functional``: the
``nn.Dropout``, ``nn.Dropout1d``, ``nn.Dropout2d`` and ``nn.Dropout3d`` layers
call it, and so does dropout written in ``forward`` as
``F.dropout(x, p, training=self.training)``. While batchbald runs the network
a :class:`torch.overrides.TorchFunctionMode` intercepts these calls and
multiplies the input by its own mask, whatever their ``training`` flag says:
the ``i``-th dropout call of a forward pass is dropout site ``i``, and gets
mask ``k`` of posterior sample ``k``. The network itself runs in ``eval()``
mode (batch norm uses its running statistics). Nothing is registered on the
network, so the fitted module stays a plain module. During training the same
mode draws fresh per-element masks from a seeded generator instead of torch's
global random state. Alpha dropout (layers or functional) is refused: a
multiplicative mask would break its self-normalisation.

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
from ._dropout import consistent_dropout
from ._mlp import make_mlp
from ._skorch import SkorchMCDropout

__all__ = [
    "DeepEnsembleClassifier",
    "MCDropoutClassifier",
    "SkorchMCDropout",
    "consistent_dropout",
    "make_mlp",
]

# Public objects report the package as their module (as before the split),
# so pickles, reprs and documentation keep naming ``batchbald.deep``.
for _obj in (
    DeepEnsembleClassifier,
    MCDropoutClassifier,
    SkorchMCDropout,
    consistent_dropout,
    make_mlp,
):
    _obj.__module__ = __name__
del _obj
