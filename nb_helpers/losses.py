r"""Reference losses (NumPy) and the output-layer / loss pairings for each problem type (torch)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

__all__ = ["cross_entropy", "binary_cross_entropy", "output_activation", "loss_for", "PROBLEM_TYPES"]

PROBLEM_TYPES = ("binary", "multiclass", "multilabel", "regression", "positive_regression")


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    r"""Mean cross-entropy from raw scores: $\frac1N\sum_n \big(\log\sum_c e^{z_{nc}} - z_{n,y_n}\big)$ (= `F.cross_entropy`).

    The log-sum-exp is shifted by the row maximum, so scores of any size stay finite.
    """
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    picked = z[np.arange(z.shape[0]), np.asarray(targets)]
    return float(np.mean(lse - picked))


def binary_cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    r"""Mean BCE from logits: $\frac1N\sum_n \big(\max(z_n,0) - z_n y_n + \log(1+e^{-|z_n|})\big)$.

    Algebraically equal to $-[y\log\sigma(z) + (1-y)\log(1-\sigma(z))]$ but finite for any $z$
    (= `F.binary_cross_entropy_with_logits`).
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    return float(np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))


def _softmax_dim1(z: torch.Tensor) -> torch.Tensor:
    return torch.softmax(z, dim=1)


def _identity(z: torch.Tensor) -> torch.Tensor:
    return z


_OUTPUTS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "binary": torch.sigmoid,
    "multiclass": _softmax_dim1,
    "multilabel": torch.sigmoid,
    "regression": _identity,
    "positive_regression": torch.exp,  # log link: the network predicts log(y)
}

_LOSSES: dict[str, Callable[[], nn.Module]] = {
    "binary": nn.BCEWithLogitsLoss,
    "multiclass": nn.CrossEntropyLoss,
    "multilabel": nn.BCEWithLogitsLoss,
    "regression": nn.MSELoss,
    "positive_regression": lambda: nn.PoissonNLLLoss(log_input=True),
}


def _require_known(problem: str) -> None:
    if problem not in _OUTPUTS:
        raise ValueError(f"unknown problem type {problem!r}; expected one of {', '.join(PROBLEM_TYPES)}")


def output_activation(problem: str) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The function that turns raw network outputs into predictions for `problem`.

    binary / multilabel: $\sigma(z)$; multiclass: softmax over dim 1; regression: $z$;
    positive_regression: $e^{z}$ (log link).
    """
    _require_known(problem)
    return _OUTPUTS[problem]


def loss_for(problem: str) -> nn.Module:
    """A new loss module, with default arguments, that takes the network's *raw* outputs."""
    _require_known(problem)
    return _LOSSES[problem]()
