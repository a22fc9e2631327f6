r"""The learning-rate range test (Smith 2017; the "LR finder" of fast.ai): train for a few hundred
updates while the learning rate grows geometrically, record the loss, stop once it blows up, and put
the model back as it was.

`lr_range_test` is the reference of lesson 04's exercise; `suggest_lr` turns its curve into a
learning rate by the rule the lesson states (where the loss, smoothed by a centred average, falls fastest).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

__all__ = ["lr_range_test", "suggest_lr", "smooth", "smooth_centred"]


def lr_range_test(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                  batches: Iterable[tuple[torch.Tensor, torch.Tensor]], lr_min: float = 1e-5, lr_max: float = 1.0,
                  steps: int = 100) -> tuple[list[float], list[float]]:
    r"""Learning-rate range test with one `torch.optim.SGD(model.parameters(), lr)`: before update $i$
    ($0 \le i <$ `steps`) the lr is $\eta_i = \eta_{min}\,(\eta_{max}/\eta_{min})^{i/(\text{steps}-1)}$; update $i$ uses
    the next `(xb, yb)` of `batches` (cycled when shorter) and records `loss_fn(model(xb), yb)` computed before it.
    Stops after the first loss that is not finite or exceeds 4× the smallest loss so far (that loss is recorded).

    Returns `(lrs, losses)`, lists of Python floats of equal length. The model's parameters and buffers
    (e.g. BatchNorm statistics) hold their initial values again when it returns.
    """
    initial = copy.deepcopy(model.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=lr_min)
    lrs: list[float] = []
    losses: list[float] = []
    best = math.inf
    try:
        for i, (xb, yb) in zip(range(steps), itertools.cycle(batches)):
            lr = lr_min * (lr_max / lr_min) ** (i / (steps - 1))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            value = float(loss.item())
            lrs.append(float(lr))
            losses.append(value)
            if not math.isfinite(value) or value > 4.0 * best:
                break
            best = min(best, value)
            loss.backward()
            optimizer.step()
    finally:
        model.load_state_dict(initial)
    return lrs, losses


def smooth(values: Sequence[float], beta: float = 0.8) -> np.ndarray:
    r"""Bias-corrected exponential moving average: $s_i = \frac{a_i}{1 - \beta^{i+1}}$, $a_i = \beta a_{i-1} + (1-\beta) v_i$."""
    out, avg = [], 0.0
    for i, v in enumerate(values):
        avg = beta * avg + (1.0 - beta) * v
        out.append(avg / (1.0 - beta ** (i + 1)))
    return np.array(out)


def smooth_centred(values: Sequence[float], half_width: int = 3) -> np.ndarray:
    r"""Centred moving average: $s_i$ = the mean of $v_j$ for $|j - i| \le$ `half_width` (the window shrinks
    at the ends). Unlike an exponential moving average it does not lag behind the curve."""
    v = np.asarray(values, dtype=np.float64)
    return np.array([v[max(0, i - half_width):i + half_width + 1].mean() for i in range(len(v))])


def suggest_lr(lrs: Sequence[float], losses: Sequence[float], rule: str = "steepest", half_width: int = 3) -> float:
    r"""A learning rate read off a range test's curve, from the loss smoothed by `smooth_centred`
    (non-finite losses dropped; a centred average, so the pick does not lag behind the curve):

    "steepest": where the smoothed loss falls fastest per unit of $\log\eta$, at or before its minimum
    (fast.ai's "steep" suggestion); "minimum/10": a tenth of the lr at the smallest smoothed loss (the cautious rule).
    """
    lrs_arr = np.asarray(lrs, dtype=np.float64)
    vals = np.asarray(losses, dtype=np.float64)
    keep = np.isfinite(vals)
    lrs_arr, smoothed = lrs_arr[keep], smooth_centred(vals[keep], half_width)
    lowest = int(np.argmin(smoothed))
    if rule == "minimum/10":
        return float(lrs_arr[lowest] / 10.0)
    if rule != "steepest":
        raise ValueError(f"unknown rule {rule!r}: use 'steepest' or 'minimum/10'")
    if lowest < 2:
        return float(lrs_arr[lowest])
    slope = np.gradient(smoothed[:lowest + 1], np.log(lrs_arr[:lowest + 1]))
    return float(lrs_arr[int(np.argmin(slope))])
