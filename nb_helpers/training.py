"""A small multilayer perceptron and one readable training loop for the lessons' demos.

`fit` trains full-batch (lesson 01) or on shuffled mini-batches with a per-epoch evaluation on
training and validation data and optional early stopping (lesson 02); it returns the history for
learning curves.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

__all__ = ["mlp", "fit"]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def mlp(n_in: int, width: int, n_out: int = 1, *, depth: int = 1,
        activation: Callable[[], nn.Module] = nn.ReLU) -> nn.Sequential:
    """`depth` hidden layers of `width` units, each followed by `activation()`, then a linear output
    layer of `n_out` units; `depth=0` is a linear model. Layers are created input first.

    The output layer is linear on purpose: losses like BCEWithLogitsLoss and CrossEntropyLoss take raw scores.
    """
    layers: list[nn.Module] = []
    d = n_in
    for _ in range(depth):
        layers += [nn.Linear(d, width), activation()]
        d = width
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def fit(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn: nn.Module, epochs: int = 200,
        lr: float = 0.01, optimizer: str = "adam", *, batch_size: int | None = None, seed: int = 0,
        val: tuple[torch.Tensor, torch.Tensor] | None = None, stopper: Any = None,
        progress: bool = True, desc: str = "training") -> dict[str, Any]:
    """Train `model` on (X, y) with Adam or plain SGD for `epochs` epochs; returns the history.

    Each epoch visits the training set once: as one full batch in its order when `batch_size` is None,
    otherwise in mini-batches of `batch_size` rows of a permutation drawn from
    `torch.Generator().manual_seed(seed)` (one per epoch; the global RNG is not touched). Every update
    is `zero_grad`, loss, `backward`, `step`.

    The history (NumPy arrays) holds

    * ``"loss"``: the loss of every update, on its batch, computed just before that update
      (full-batch: the training loss at the start of each epoch);
    * with `val` = (X_val, y_val): ``"train_loss"`` and ``"val_loss"``, the loss on the whole
      training and validation sets after each epoch (model in eval mode, no gradients), and
      ``"stopped_at"``: with a `stopper` (an EarlyStopping-like object, `step(val_loss, model) -> bool`),
      the epoch whose `step` returned True, after which training ended (None when it never did). The
      caller decides whether to restore the best weights.

    Single-output models predict (N, 1); for 1-D targets (other than class indices) the output is
    squeezed to (N,) before the loss. Leaves the model in eval mode. `progress` shows a bar labelled `desc`.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, not {optimizer!r}")
    if stopper is not None and val is None:
        raise ValueError("early stopping needs validation data: pass val=(X_val, y_val)")
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr)
    squeeze = _squeeze(loss_fn, y)
    batches = None if batch_size is None else torch.Generator().manual_seed(seed)
    history: dict[str, Any] = {"loss": []}
    if val is not None:
        history.update(train_loss=[], val_loss=[], stopped_at=None)
    bar = tqdm(range(epochs), desc=desc, disable=not progress or os.environ.get("TQDM_DISABLE") == "1", leave=False)
    for epoch in bar:
        model.train()
        for idx in _batch_indices(len(y), batch_size, batches):
            opt.zero_grad()
            Xb, yb = (X, y) if idx is None else (X[idx], y[idx])
            out = model(Xb)
            loss = loss_fn(out.squeeze(-1) if squeeze else out, yb)
            loss.backward()
            opt.step()
            history["loss"].append(loss.item())
        if val is None:
            continue
        model.eval()
        with torch.no_grad():
            for part, (Xp, yp) in (("train", (X, y)), ("val", val)):
                out = model(Xp)
                history[f"{part}_loss"].append(loss_fn(out.squeeze(-1) if squeeze else out, yp).item())
        if stopper is not None and stopper.step(history["val_loss"][-1], model):
            history["stopped_at"] = epoch
            break
    model.eval()
    return {k: (np.array(v) if isinstance(v, list) else v) for k, v in history.items()}


def _batch_indices(n: int, batch_size: int | None, generator: torch.Generator | None) -> list[torch.Tensor | None]:
    """One epoch's batches: [None] (the whole set, in order) without `batch_size`, else consecutive
    slices of `batch_size` rows of a fresh permutation of range(n) drawn from `generator`."""
    if batch_size is None:
        return [None]
    order = torch.randperm(n, generator=generator)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def _squeeze(loss_fn: nn.Module, y: torch.Tensor) -> bool:
    """Single-output models predict (N, 1); losses on 1-D targets need (N,)."""
    return y.dim() == 1 and not isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))
