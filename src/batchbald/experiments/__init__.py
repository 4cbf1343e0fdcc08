"""Learning-curve experiments: strategies x seeds of pool-based active learning.

:func:`run_experiment` runs, for every seed and every strategy, the loop

1. label an initial set (class-balanced or uniformly random),
2. train a fresh model on the labelled pool samples and record its test
   accuracy,
3. let the strategy pick the next batch from the unlabelled pool, reveal those
   labels, and go back to 2 until the number of cycles or the label budget is
   used up.

The result is an :class:`ExperimentResult`: a tidy table with one row per
(strategy, seed, cycle) that can be written as JSON and CSV, summarised as a
Markdown table of the labels needed to reach target accuracies, and drawn as
learning curves.

Randomness. Everything random derives from the seed through
``numpy.random.SeedSequence(seed)``, split into three independent streams: the
initial labelled set, the per-cycle model seeds, and the strategy's own random
state. The first two do not depend on the strategy, so for one seed all
strategies start from the same labelled set and the model of cycle ``c`` starts
from the same initial weights (common random numbers, which makes the
comparison between strategies less noisy); a run is reproducible from its seed
alone and does not depend on which other strategies or seeds are run.
"""

# Layout: _setup (initial sets, model and strategy factories, argument checks,
# random streams), _runner (run_experiment and the loop of one seed),
# _reporting (labels to reach, Markdown tables, learning-curve plots),
# _result (ExperimentResult, its files, load_result) and _data (a user's own
# table or arrays as a Dataset) and _outputs (output paths checked before a
# run).
from ._data import load_user_data, read_table
from ._outputs import check_outputs, free_name
from ._reporting import labels_to_reach, labels_to_reach_markdown, plot_learning_curves
from ._result import RECORD_FIELDS, ExperimentResult, load_result
from ._runner import resolve_model_name, run_experiment
from ._setup import MODELS, STRATEGIES, initial_indices, make_model, make_strategy

__all__ = [
    "MODELS",
    "RECORD_FIELDS",
    "STRATEGIES",
    "ExperimentResult",
    "check_outputs",
    "free_name",
    "initial_indices",
    "labels_to_reach",
    "labels_to_reach_markdown",
    "load_result",
    "load_user_data",
    "make_model",
    "make_strategy",
    "plot_learning_curves",
    "read_table",
    "resolve_model_name",
    "run_experiment",
]
