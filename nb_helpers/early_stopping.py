r"""Reference early stopping for PyTorch training loops.

Keras-like semantics (`wait >= patience`, absolute `min_delta`) with three deliberate differences
taught in lesson 02: a NaN is never an improvement (`best` starts at ±inf rather than accepting the
first value), restoring the best weights is an explicit call (`restore(model)`), and saving them is
the default (`restore_best_weights=True`).
"""

from __future__ import annotations

import copy
import math
from typing import Any

__all__ = ["EarlyStopping"]


class EarlyStopping:
    r"""Stop when the monitored value has not improved for `patience` consecutive calls.

    Call $i$ (0-based) with value $v$ is an improvement iff $v$ is not NaN and
    $v < \text{best} - \delta$ (mode "min") or $v > \text{best} + \delta$ (mode "max"), $\delta$ = `min_delta` ≥ 0.
    On improvement: best = v, best_epoch = i, wait = 0, and (if `restore_best_weights` and a model is
    given) a deep copy of `model.state_dict()` is saved; `step` returns False. Otherwise wait += 1 and
    `step` returns wait ≥ patience. `step` never changes the model.
    """

    def __init__(self, patience: int = 10, min_delta: float = 0.0, mode: str = "min",
                 restore_best_weights: bool = True) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError("min_delta is an absolute amount and must be >= 0")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = restore_best_weights
        self.best: float = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.wait = 0
        self.calls = 0
        self._state: dict[str, Any] | None = None

    def is_improvement(self, value: float) -> bool:
        """Would `value` count as an improvement on the best value so far? (NaN never does.)"""
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: Any, model: Any = None) -> bool:
        """Record this epoch's monitored value (a float or 0-d tensor); True means "stop now"."""
        # a 0-d tensor becomes a plain float, so no autograd graph is kept alive
        value = float(value.detach()) if hasattr(value, "detach") else float(value)
        epoch = self.calls
        self.calls += 1
        if self.is_improvement(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights and model is not None:
                # state_dict() holds references to the live tensors: without the deep copy the
                # "best" weights would silently follow every later optimizer step.
                self._state = copy.deepcopy(model.state_dict())
            return False
        self.wait += 1
        return self.wait >= self.patience

    @property
    def has_saved_state(self) -> bool:
        return self._state is not None

    def restore(self, model: Any) -> None:
        """Load the saved best weights into `model`; RuntimeError when none were saved."""
        if self._state is None:
            raise RuntimeError("no weights were saved: pass the model to step() with restore_best_weights=True")
        model.load_state_dict(self._state)

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, mode={self.mode!r}, "
                f"best={self.best:.4g}, best_epoch={self.best_epoch}, wait={self.wait})")
