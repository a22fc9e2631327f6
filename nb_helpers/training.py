"""A minimal, readable training loop for the demos: full-batch or mini-batch, with a progress bar
and the loss history for learning curves."""

from __future__ import annotations

import os
from typing import Callable

import torch
from torch import nn
from tqdm.auto import tqdm


def mlp(n_in: int, n_hidden: int, n_out: int, activation: Callable[[], nn.Module] = nn.ReLU,
        depth: int = 1) -> nn.Sequential:
    """`depth` hidden layers of `n_hidden` units with `activation`, then a linear output layer.

    The output layer is linear on purpose: losses like CrossEntropyLoss take raw scores.
    """
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(depth):
        layers += [nn.Linear(width, n_hidden), activation()]
        width = n_hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module, epochs: int = 200,
        lr: float = 0.01, optimizer: str = "adam", progress: bool = True, desc: str = "training") -> list[float]:
    """Full-batch training with Adam or plain SGD; returns the training loss of every epoch
    (computed on the whole training set just before that epoch's update). Leaves the model in eval mode.

    Single-output models predict (N, 1); for 1-D targets (other than class indices) the output is
    squeezed to (N,) before the loss.
    """
    optimizers = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
    if optimizer not in optimizers:
        raise ValueError(f"optimizer must be one of {sorted(optimizers)}, not {optimizer!r}")
    opt_cls = optimizers[optimizer]
    opt = opt_cls(model.parameters(), lr=lr)
    history: list[float] = []
    model.train()
    for _ in tqdm(range(epochs), desc=desc, disable=not progress or os.environ.get("TQDM_DISABLE") == "1", leave=False):
        opt.zero_grad()
        loss = loss_fn(model(X).squeeze(-1) if _squeeze(loss_fn, y) else model(X), y)
        loss.backward()
        opt.step()
        history.append(loss.item())
    model.eval()
    return history


def _squeeze(loss_fn: nn.Module, y: torch.Tensor) -> bool:
    """Single-output models predict (N, 1); losses on 1-D targets need (N,)."""
    return y.dim() == 1 and not isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))
