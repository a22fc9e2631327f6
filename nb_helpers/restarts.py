r"""Reference escapes from bad minima (lesson 04): random restarts, cyclical learning rates,
stochastic weight averaging (SWA) and snapshot ensembles.

`random_restarts`, `cyclic_lr`, `SWA` and `snapshot_ensemble_predict` are the references of the
lesson's exercises. They never call `torch.optim.lr_scheduler` or `torch.optim.swa_utils`: the tests
compare them with those. The non-convex test surfaces and the optimizer race are in
`nb_helpers.optimizer_race`.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

__all__ = ["random_restarts", "cyclic_lr", "SWA", "snapshot_ensemble_predict"]


# ----------------------------------------------------------------- random restarts

def random_restarts(train_fn: Callable[[int], tuple[Any, float]], seeds: Iterable[int]) -> tuple[Any, Any, list[float]]:
    r"""Call `train_fn(seed) -> (model, val_loss)` once per seed, in order, and keep the best:
    $s^\star = \arg\min_s L_{\text{val}}(s)$ — the first seed on ties; a NaN loss never wins.

    Seeds nothing itself (`train_fn` seeds and builds its own model *and optimizer*). Returns
    `(best_model, best_seed, losses)` with `losses` as Python floats in seed order
    (`(None, None, losses)` when every loss is NaN).
    """
    best_model, best_seed, best_loss = None, None, math.inf
    found = False
    losses: list[float] = []
    for seed in seeds:
        model, loss = train_fn(seed)
        loss = float(loss)
        losses.append(loss)
        if not math.isnan(loss) and (not found or loss < best_loss):
            best_model, best_seed, best_loss, found = model, seed, loss, True
    return best_model, best_seed, losses


# ----------------------------------------------------------------- cyclical learning rate

def cyclic_lr(step: int, base_lr: float, max_lr: float, step_size_up: int, step_size_down: int | None = None) -> float:
    r"""Triangular cyclical learning rate (Smith 2017) after `step` calls of `scheduler.step()`
    (= `CyclicLR(mode="triangular", cycle_momentum=False)`; step it once per *batch*).

    With $T = T_{up} + T_{down}$, $c = \lfloor 1 + k/T \rfloor$ and $x = 1 + k/T - c \in [0, 1)$:
    the scale is $x/r$ while $x \le r = T_{up}/T$, else $(x-1)/(r-1)$, and
    $\eta_k = \eta_{base} + (\eta_{max} - \eta_{base})\cdot\text{scale}$.
    """
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    scale = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    return base_lr + (max_lr - base_lr) * scale


# ----------------------------------------------------------------- stochastic weight averaging

class SWA:
    r"""Equal-weight running average of a model's parameters (Izmailov et al. 2018), like
    `torch.optim.swa_utils.AveragedModel` with its default SWA average:

    the first `update` copies the parameters; later ones do $\bar\theta \leftarrow \bar\theta + (\theta - \bar\theta)/(n + 1)$
    where $n$ = `n_averaged` models were averaged so far. Buffers (BatchNorm running statistics) are
    copied from the model at each update — they are *not* averaged, so recompute them afterwards
    (`torch.optim.swa_utils.update_bn(loader, swa.module)`) before evaluating a BatchNorm model.
    """

    def __init__(self, model: nn.Module) -> None:
        self.module: nn.Module = copy.deepcopy(model)
        self.n_averaged: int = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for p_avg, p in zip(self.module.parameters(), model.parameters()):
            if self.n_averaged == 0:
                p_avg.copy_(p)
            else:
                p_avg.add_((p - p_avg) / (self.n_averaged + 1))
        for b_avg, b in zip(self.module.buffers(), model.buffers()):
            b_avg.copy_(b)
        self.n_averaged += 1

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the averaged model (`self.module`)."""
        return self.module(*args, **kwargs)


# ----------------------------------------------------------------- snapshot ensembles

def snapshot_ensemble_predict(models: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
    r"""Average class probabilities of the snapshots: $\bar p(x) = \frac1K\sum_k \operatorname{softmax}(f_k(x))$,
    computed with every model in eval mode and without gradients; each model's train/eval mode
    (and that of its submodules) is restored afterwards. Returns a (N, C) tensor."""
    total = None
    for model in models:
        modes = [(m, m.training) for m in model.modules()]
        model.eval()
        try:
            with torch.no_grad():
                probs = torch.softmax(model(x), dim=1)
        finally:
            for m, mode in modes:
                m.training = mode
        total = probs if total is None else total + probs
    if total is None:
        raise ValueError("snapshot_ensemble_predict needs at least one model")
    return total / len(models)
