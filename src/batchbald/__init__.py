"""batchbald: Bayesian batch active learning (BALD, BatchBALD and relatives).

The package is organised by concern:

- :mod:`batchbald.information` -- pure functions for entropies, BALD scores and
  joint entropies over ensemble probabilities shaped ``(K, N, C)``;
- :mod:`batchbald.engine` -- the greedy BatchBALD selection engine;
- :mod:`batchbald.pool` -- query strategies with a scikit-activeml-style API;
- :mod:`batchbald.classifier` -- :class:`~batchbald.classifier.SklearnClassifier`;
- :mod:`batchbald.ensembles` -- member predictions from ensembles;
- :mod:`batchbald.visualization` -- plots and animations;
- :mod:`batchbald.cli` -- the ``batchbald`` command line.
"""

__version__ = "0.1.0"
