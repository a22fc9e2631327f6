r"""Learning-rate schedules as plain functions of the (0-based) epoch, and what PyTorch's schedulers do.

`step_decay`, `exponential_decay` and `inverse_time_decay` are the references of lesson 03's
exercises; each gives the learning rate *in effect during* epoch `epoch` when the matching
`torch.optim.lr_scheduler` class is stepped once per epoch, after `optimizer.step()`.
`warmup_cosine` (lesson 04) is a function of the 0-based *update*: linear warm-up, then cosine decay.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

__all__ = ["step_decay", "exponential_decay", "inverse_time_decay", "warmup_cosine", "scheduler_lrs", "plateau_lrs"]


def step_decay(lr0: float, epoch: int, drop: float = 0.5, every: int = 10) -> float:
    r"""$\eta_e = \eta_0 \cdot \text{drop}^{\lfloor e / \text{every} \rfloor}$ (= `StepLR(step_size=every, gamma=drop)`)."""
    return lr0 * drop ** (epoch // every)


def exponential_decay(lr0: float, epoch: int, k: float) -> float:
    r"""$\eta_e = \eta_0\, e^{-k e}$ (= `ExponentialLR(gamma=math.exp(-k))`)."""
    return lr0 * math.exp(-k * epoch)


def inverse_time_decay(lr0: float, epoch: int, k: float) -> float:
    r"""$\eta_e = \eta_0 / (1 + k e)$ ("1/t decay"; = `LambdaLR(lr_lambda=lambda e: 1 / (1 + k * e))`)."""
    return lr0 / (1.0 + k * epoch)


def warmup_cosine(step: int, total_steps: int, warmup_steps: int, lr_max: float, lr_min: float = 0.0) -> float:
    r"""Linear warm-up, then cosine decay, at the 0-based update $k$ = `step` ($W$ = `warmup_steps`, $T$ = `total_steps`):

    $\eta_k = \eta_{max}\,k/W$ for $k < W$; $\eta_k = \eta_{min} + (\eta_{max} - \eta_{min})\,\frac{1 + \cos(\pi p)}{2}$
    with $p = (k - W)/(T - W)$ for $W \le k < T$; $\eta_k = \eta_{min}$ for $k \ge T$. $W = 0$ starts at $\eta_{max}$.
    Raises ValueError when $W \ge T$ or an argument is negative. (torch: `SequentialLR` of a linear warm-up and
    `CosineAnnealingLR(T_max=T - W, eta_min)`, held at $\eta_{min}$ from $T$ on.)
    """
    if min(step, warmup_steps) < 0 or lr_max < 0 or lr_min < 0:   # total_steps < 0 fails the next test
        raise ValueError("warmup_cosine: step, total_steps, warmup_steps, lr_max and lr_min must be non-negative")
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_cosine: warmup_steps ({warmup_steps}) must be smaller than total_steps ({total_steps})")
    if step < warmup_steps:
        return float(lr_max * step / warmup_steps)
    if step >= total_steps:
        return float(lr_min)
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(lr_min + (lr_max - lr_min) * (1.0 + math.cos(math.pi * progress)) / 2.0)


def scheduler_lrs(make_scheduler: Callable[[torch.optim.Optimizer], object], lr0: float, epochs: int) -> list[float]:
    """The lr in effect during each of `epochs` epochs: `make_scheduler(optimizer)` is stepped once per epoch."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr0)
    sched = make_scheduler(opt)
    lrs = []
    for _ in range(epochs):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()  # the order PyTorch expects: optimizer first, then scheduler
        sched.step()
    return lrs


def plateau_lrs(val_losses: Sequence[float], lr0: float = 0.1, **kwargs) -> list[float]:
    """The lr in effect during each epoch under `ReduceLROnPlateau(**kwargs)` stepped with each epoch's validation loss."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = []
    for loss in val_losses:
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(loss)
    return lrs
