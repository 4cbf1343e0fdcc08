"""BatchBALD on a toy problem, one animation frame per acquisition round.

BALD scores a sample by the mutual information between its label and the
model parameters: high when the ensemble members disagree confidently, low
when they agree or are all unsure in the same way. Picking the top-k BALD
samples for a batch tends to pick k near-duplicates. BatchBALD instead scores
the *batch*: it greedily adds the sample that most increases the joint mutual
information of all labels in the batch, so a sample that tells us little
beyond the samples already chosen loses its appeal.

This script runs five acquisition rounds on two-class data made of five
Gaussian blobs (odd blobs against even ones), keeps a quarter of the data
aside to measure test accuracy, and uses a bagged ensemble of
Gaussian-process classifiers as the model whose disagreement BatchBALD
measures. Each frame shows, for each of the four picks of a round, the
utilities BatchBALD computed for that pick (green), the decision boundary,
and the samples labelled so far.

Run it with ``python examples/plot_batchbald.py [OUTPUT.gif [N_ROUNDS]]``; it
writes five rounds to ``plot_batchbald.gif`` in the current directory by
default.

References: Houlsby et al. 2011, arXiv:1112.5745 (BALD); Kirsch, van
Amersfoort and Gal 2019, arXiv:1906.08158 (BatchBALD).
"""

import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib import animation  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from sklearn.datasets import make_blobs  # noqa: E402
from sklearn.ensemble import BaggingClassifier  # noqa: E402
from sklearn.gaussian_process import GaussianProcessClassifier  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from batchbald.classifier import FallbackWarning, SklearnClassifier  # noqa: E402
from batchbald.pool import BatchBALD  # noqa: E402
from batchbald.utils import MISSING_LABEL, labeled_indices  # noqa: E402
from batchbald.visualization import (  # noqa: E402
    plot_contour_for_samples,
    plot_decision_boundary,
    save_animation,
)

out = sys.argv[1] if len(sys.argv) > 1 else "plot_batchbald.gif"
n_rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5

# Until both classes have been labelled, the classifier (and ensemble members
# whose bootstrap sample holds one class) predict class frequencies and warn
# about it. That is expected here, at the start of active learning.
warnings.simplefilter("ignore", FallbackWarning)

# One generator drives everything: data, split, ensemble and queries.
rng = np.random.RandomState(0)

# Two classes, each made of separate blobs: blobs 0, 2, 4 against 1 and 3.
X_all, blob = make_blobs(
    n_samples=400,
    centers=[[0, 1], [-3, 0.5], [-1, -1], [2, 1], [1, -0.5]],
    cluster_std=0.7,
    random_state=rng,
)
y_all = blob % 2
X, X_test, y_oracle, y_test = train_test_split(
    X_all, y_all, test_size=0.25, random_state=rng
)
# The learner starts knowing no label of the pool.
y = np.full(len(X), MISSING_LABEL)

# An ensemble: bootstrapped Gaussian-process classifiers. Both levels are
# wrapped so that samples whose label is missing are simply ignored.
ensemble = SklearnClassifier(
    BaggingClassifier(
        SklearnClassifier(GaussianProcessClassifier(), random_state=rng),
        random_state=rng,
    ),
    classes=[0, 1],
    random_state=rng,
)
strategy = BatchBALD(random_state=rng)

batch_size = 4
fig, axes = plt.subplots(2, 2, figsize=(9, 7.5), dpi=80)
fig.subplots_adjust(top=0.87, hspace=0.35, left=0.08, right=0.97, bottom=0.07)
bound = [X.min(axis=0), X.max(axis=0)]
frames = []

for r in range(n_rounds):
    ensemble.fit(X, y)
    accuracy = ensemble.score(X_test, y_test)
    # utilities[i] holds the scores used to choose the i-th sample of the batch
    # (NaN for samples already labelled or already in the batch).
    # fit_ensemble=False: the ensemble was fitted on these labels just above.
    picked, utilities = strategy.query(
        X=X,
        y=y,
        ensemble=ensemble,
        fit_ensemble=False,
        batch_size=batch_size,
        return_utilities=True,
    )
    print(f"round {r + 1}: accuracy {accuracy:.3f}, asking for labels of {picked}")

    frame = [
        fig.text(
            0.5,
            0.97,
            f"Round {r + 1} of {n_rounds}, {len(labeled_indices(y))} labels\n"
            f"test accuracy {accuracy:.3f}",
            ha="center",
            va="top",
            fontsize=13,
        )
    ]
    for i, ax in enumerate(axes.ravel()):
        existing = list(ax.collections)
        plot_contour_for_samples(
            X, utilities[i], replace_nan=None, feature_bound=bound, ax=ax, res=25
        )
        ax.scatter(X[:, 0], X[:, 1], c=y_oracle, cmap="coolwarm", s=12, zorder=2)
        known = labeled_indices(y)
        ax.scatter(X[known, 0], X[known, 1], c="grey", s=200, alpha=0.7, zorder=3)
        ax.scatter(*X[picked[i]], marker="*", s=250, c="gold", ec="k", zorder=4)
        plot_decision_boundary(ensemble, bound, ax=ax)
        frame.append(
            ax.text(
                0.5,
                1.02,
                f"utilities for pick {i + 1}",
                transform=ax.transAxes,
                ha="center",
            )
        )
        # Everything drawn above is a collection of this axes.
        frame += [c for c in ax.collections if c not in existing]
    frames.append(frame)

    # The oracle answers: reveal the labels of the chosen batch.
    y[picked] = y_oracle[picked]

# No blitting: the figure-level title text would be left out of saved frames
# (matplotlib skips "animated" figure artists when it draws the figure).
anim = animation.ArtistAnimation(fig, frames, interval=1000, blit=False)
print("saved", save_animation(anim, out, fps=1))
