"""``make_mlp``: a dropout multilayer perceptron for tabular data."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from torch import nn

from ..utils import check_positive_int, check_random_state
from ._training import _reset_parameters
from ._utils import _check_real, _draw_seed


def make_mlp(
    n_features: int,
    n_classes: int,
    hidden: Sequence[int] = (128, 128),
    dropout: float = 0.5,
    random_state=None,
) -> nn.Sequential:
    """A multilayer perceptron with ReLU and dropout after every hidden layer.

    ``Linear(n_features, h1) -> ReLU -> Dropout(dropout) -> ... ->
    Linear(h_last, n_classes)``, returning logits. With the defaults it suits
    small tabular problems such as scikit-learn's digits (64 features, 10
    classes) with :class:`MCDropoutClassifier`'s default training settings.

    Parameters
    ----------
    n_features : int
        Input size.
    n_classes : int
        Output size, at least 2.
    hidden : sequence of int, default=(128, 128)
        Hidden layer widths; empty gives (multinomial) logistic regression,
        which has no dropout layer.
    dropout : float in [0, 1), default=0.5
        Dropout probability after each hidden layer.
    random_state : None, int or numpy.random.RandomState, default=None
        Seeds the initial weights (the classifiers re-initialise them in
        ``fit`` anyway); torch's global generator is not used.

    Returns
    -------
    torch.nn.Sequential
    """
    n_features = check_positive_int(n_features, "n_features")
    n_classes = check_positive_int(n_classes, "n_classes", minimum=2)
    if isinstance(hidden, numbers.Integral) or not isinstance(hidden, Sequence):
        raise TypeError(
            f"hidden must be a sequence of positive integers; got {hidden!r}."
        )
    widths = [check_positive_int(h, "hidden[i]") for h in hidden]
    dropout = _check_real(dropout, "dropout", 0.0, 1.0, True)
    layers: list = []
    size = n_features
    for width in widths:
        layers += [
            nn.utils.skip_init(nn.Linear, size, width),
            nn.ReLU(),
            nn.Dropout(dropout),
        ]
        size = width
    layers.append(nn.utils.skip_init(nn.Linear, size, n_classes))
    net = nn.Sequential(*layers)
    _reset_parameters(net, _draw_seed(check_random_state(random_state)))
    return net
