r"""Learning-rate schedules as plain functions of the (0-based) epoch, and what PyTorch's schedulers do.

`step_decay`, `exponential_decay` and `inverse_time_decay` are the references of lesson 03's
exercises; each gives the learning rate *in effect during* epoch `epoch` when the matching
`torch.optim.lr_scheduler` class is stepped once per epoch, after `optimizer.step()`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

__all__ = ["step_decay", "exponential_decay", "inverse_time_decay", "scheduler_lrs", "plateau_lrs"]


def step_decay(lr0: float, epoch: int, drop: float = 0.5, every: int = 10) -> float:
    r"""$\eta_e = \eta_0 \cdot \text{drop}^{\lfloor e / \text{every} \rfloor}$ (= `StepLR(step_size=every, gamma=drop)`)."""
    return lr0 * drop ** (epoch // every)


def exponential_decay(lr0: float, epoch: int, k: float) -> float:
    r"""$\eta_e = \eta_0\, e^{-k e}$ (= `ExponentialLR(gamma=math.exp(-k))`)."""
    return lr0 * math.exp(-k * epoch)


def inverse_time_decay(lr0: float, epoch: int, k: float) -> float:
    r"""$\eta_e = \eta_0 / (1 + k e)$ ("1/t decay"; = `LambdaLR(lr_lambda=lambda e: 1 / (1 + k * e))`)."""
    return lr0 / (1.0 + k * epoch)


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
