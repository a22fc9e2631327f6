"""Checks of lesson 04 (advanced training approaches): declarations only, run by `collection` and judged by `judgement`.

Class exercises (the optimizers, SWA) and callables that take callbacks (`random_restarts`) are driven
through *scenarios*: a `probe` builds every input from a seed described in the case (so the same case
can be rebuilt in the grading process), runs the calls, and returns what is observable as plain data.
A case argument that describes a scenario is a `Spec` (a dict, so it is plain data; its repr is the
short label shown in messages).
"""

from __future__ import annotations

import copy
import importlib
import math
import random as pyrandom
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import gradient_descent as GD
from .. import minibatches as MB
from .. import optimizers as O
from .. import restarts as R
from .declaration import Case, Check, WrongAnswer, register

LESSON = "04_advanced_training"
YES, NO = "yes", "no"


def _yes(flag: bool) -> str:
    return YES if flag else NO


def _torch_optim_callables(*modules: str, skip: tuple[str, ...] = ("Optimizer", "LRScheduler")) -> tuple[str, ...]:
    """Every public routine of the given `torch.optim` modules, as dotted names to trap."""
    names = []
    for modname in modules:
        mod = importlib.import_module(modname)
        for name in dir(mod):
            obj = getattr(mod, name)
            if (name.startswith("_") or name in skip or not callable(obj)
                    or not str(getattr(obj, "__module__", "")).startswith("torch.optim")):
                continue
            names.append(f"{modname}.{name}")
    return tuple(names)


TORCH_OPTIM = _torch_optim_callables("torch.optim", "torch.optim.sgd", "torch.optim.adam", "torch.optim.adamw",
                                     "torch.optim.rmsprop", "torch.optim._functional")
SCHEDULERS = _torch_optim_callables("torch.optim.lr_scheduler")
SWA_UTILS = _torch_optim_callables("torch.optim.swa_utils")
DATALOADER = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader",
              "torch.utils.data.BatchSampler", "torch.utils.data.sampler.BatchSampler")


class Spec(dict):
    """The description of a scenario: plain data (a dict) whose repr is a short label for messages."""

    def __init__(self, label: str, **fields: Any) -> None:
        super().__init__(label=label, **fields)

    def __repr__(self) -> str:
        return f"<{self['label']}>"

    def __deepcopy__(self, memo: dict) -> "Spec":
        fields = {k: copy.deepcopy(v, memo) for k, v in self.items() if k != "label"}
        return Spec(self["label"], **fields)


def _scalar(value: Any) -> Any:
    """A 0-d array or NumPy scalar as a Python float (the spec allows either for a float result)."""
    if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
        return float(value)
    return value


def _as_float_array(value: Any) -> Any:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return value


# ================================================================= batch GD and SGD on least squares

def _regression(rng: np.random.Generator, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + rng.normal() + 0.3 * rng.normal(size=n)
    return X, y


def _probe_linear(obj, args, kwargs):
    result = obj(*args, **kwargs)
    if not isinstance(result, tuple) or len(result) != 3:
        return result  # compared as is: the message says what came back
    w, b, losses = result
    return {"w": w, "b": _scalar(b), "losses": _as_float_array(losses)}


def _gd_no_factor_two(X, y, lr, epochs):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        r = X @ w + b - y
        w, b = w - lr * (X.T @ r) / n, b - lr * r.mean()
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _gd_loss_before_update(X, y, lr, epochs):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        r = X @ w + b - y
        losses.append(np.mean(r**2))
        w, b = w - lr * 2 * (X.T @ r) / n, b - lr * 2 * r.mean()
    return w, float(b), np.array(losses)


def _gd_sequential(X, y, lr, epochs):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        w = w - lr * 2 * (X.T @ (X @ w + b - y)) / n
        b = b - lr * 2 * np.mean(X @ w + b - y)
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _gd_sum(X, y, lr, epochs):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        r = X @ w + b - y
        w, b = w - lr * 2 * (X.T @ r) / n, b - lr * 2 * r.sum() / n**0.5
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _gd_shuffles_in_place(X, y, lr, epochs):
    perm = np.random.default_rng(0).permutation(len(X))
    X[:], y[:] = X[perm], y[perm]  # "shuffle the data first", in the caller's arrays
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        r = X @ w + b - y
        w, b = w - lr * 2 * (X.T @ r) / n, b - lr * 2 * r.mean()
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _gd_torch(X, y, lr, epochs):
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for _ in range(epochs):
        opt.zero_grad()
        ((Xt @ w + b - yt) ** 2).mean().backward()
        opt.step()
        losses.append(float(((Xt @ w + b - yt) ** 2).mean()))
    return w.detach().numpy(), float(b), np.array(losses)


_r = np.random.default_rng(404)
_X1, _y1 = _regression(_r, 6, 2)
_X2, _y2 = _regression(_r, 10, 1)
_X3, _y3 = _regression(_r, 8, 3)

register(Check(
    id="batch_gd_linear", lesson=LESSON, reference=GD.batch_gd_linear, result="plain", probe=_probe_linear,
    cases=[Case((_X1, _y1, 0.05, 5)), Case((_X2, _y2, 0.1, 3)), Case((_X3, _y3, 0.02, 8))],
    families=lambda rng: [Case((*_regression(rng, int(rng.integers(4, 30)), int(rng.integers(1, 5))),
                                float(rng.uniform(0.01, 0.1)), int(rng.integers(2, 12)))) for _ in range(3)],
    forbidden=TORCH_OPTIM,
    hint="one update per epoch from w = 0, b = 0: r = Xw + b − y, w −= lr·(2/n)·Xᵀr, b −= lr·(2/n)·Σr; "
         "then record the loss over all data.",
    delegate=_gd_torch,
    wrong=[WrongAnswer(_gd_shuffles_in_place, "leave X and y unchanged: full-batch GD uses every row each epoch, so "
                                              "there is nothing to shuffle (and X[:] = X[perm] rewrites the caller's "
                                              "data).", clause="no_mutation"),
           WrongAnswer(_gd_no_factor_two, "the gradient of mean(r²) carries a factor 2: ∇w = (2/n)·Xᵀr, ∂b = (2/n)·Σr."),
           WrongAnswer(_gd_loss_before_update, "losses[e] is the loss *after* epoch e's update: recompute the residuals "
                                               "with the new (w, b)."),
           WrongAnswer(_gd_sequential, "compute both gradients at the same (w, b) before updating either: b's gradient "
                                       "must not use the new w."),
           WrongAnswer(_gd_sum, "∂L/∂b = (2/n)·Σᵢ rᵢ: the mean of the residuals, times 2.")],
))


def _sgd_reseeded(X, y, lr, epochs, seed=0):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in np.random.default_rng(seed).permutation(n):
            r = X[i] @ w + b - y[i]
            w, b = w - lr * 2 * r * X[i], b - lr * 2 * r
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_in_order(X, y, lr, epochs, seed=0):
    n, d = X.shape
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in range(n):
            r = X[i] @ w + b - y[i]
            w, b = w - lr * 2 * r * X[i], b - lr * 2 * r
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_sequential(X, y, lr, epochs, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in rng.permutation(n):
            w = w - lr * 2 * (X[i] @ w + b - y[i]) * X[i]
            b = b - lr * 2 * (X[i] @ w + b - y[i])
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_no_factor_two(X, y, lr, epochs, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in rng.permutation(n):
            r = X[i] @ w + b - y[i]
            w, b = w - lr * r * X[i], b - lr * r
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_global_rng(X, y, lr, epochs, seed=0):
    n, d = X.shape
    np.random.seed(seed)  # the legacy global generator instead of np.random.default_rng(seed)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in np.random.permutation(n):
            r = X[i] @ w + b - y[i]
            w, b = w - lr * 2 * r * X[i], b - lr * 2 * r
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_row_view(X, y, lr, epochs, seed=0):
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(epochs):
        for i in rng.permutation(n):
            r = X[i] @ w + b - y[i]
            grad_w = X[i]  # a view of row i, not a copy
            grad_w *= 2 * r  # ... so this rewrites the caller's X
            w, b = w - lr * grad_w, b - lr * 2 * r
        losses.append(np.mean((X @ w + b - y) ** 2))
    return w, float(b), np.array(losses)


def _sgd_torch(X, y, lr, epochs, seed=0):
    rng = np.random.default_rng(seed)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=lr)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    losses = []
    for _ in range(epochs):
        for i in rng.permutation(len(X)):
            opt.zero_grad()
            ((Xt[i] @ w + b - yt[i]) ** 2).backward()
            opt.step()
        losses.append(float(((Xt @ w + b - yt) ** 2).mean()))
    return w.detach().numpy(), float(b), np.array(losses)


register(Check(
    id="sgd_linear", lesson=LESSON, reference=GD.sgd_linear, result="plain", probe=_probe_linear, rtol=1e-9,
    cases=[Case((_X1, _y1, 0.02, 3)), Case((_X2, _y2, 0.05, 4), {"seed": 7}), Case((_X3, _y3, 0.01, 2), {"seed": 123})],
    families=lambda rng: [Case((*_regression(rng, int(rng.integers(4, 25)), int(rng.integers(1, 5))),
                                float(rng.uniform(0.005, 0.03)), int(rng.integers(2, 6))),
                               {"seed": int(rng.integers(0, 10_000))}) for _ in range(3)],
    forbidden=TORCH_OPTIM,
    hint="rng = np.random.default_rng(seed) once; each epoch loop over rng.permutation(n), updating (w, b) "
         "after every example with the gradient of (xᵢ·w + b − yᵢ)².",
    delegate=_sgd_torch,
    wrong=[WrongAnswer(_sgd_reseeded, "create the generator once, before the epoch loop: re-creating it from the seed "
                                      "repeats the same order every epoch.", clause="randomness"),
           WrongAnswer(_sgd_in_order, "visit the examples in the order rng.permutation(n) — a fresh permutation each epoch.",
                       clause="randomness"),
           WrongAnswer(_sgd_global_rng, "draw the orders from rng = np.random.default_rng(seed), not from the legacy "
                                        "global generator (np.random.seed / np.random.permutation), which gives other "
                                        "permutations.", clause="randomness"),
           WrongAnswer(_sgd_row_view, "X[i] is a view into X: `g = X[i]; g *= 2·r` rewrites the caller's data — build the "
                                      "gradient as a new array, 2·r·X[i].", clause="no_mutation"),
           WrongAnswer(_sgd_sequential, "compute both gradients at the same (w, b): b's gradient must use the residual "
                                        "from before w was updated."),
           WrongAnswer(_sgd_no_factor_two, "the gradient of rᵢ² is 2·rᵢ·xᵢ (and 2·rᵢ for b): keep the factor 2.")],
))


# ================================================================= mini-batches

def _rows_data(rng: np.random.Generator, n: int, d: int, int_labels: bool) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(n, d))
    y = rng.integers(0, 3, size=n).astype(np.int64) if int_labels else rng.normal(size=n)
    return X, y


def _probe_minibatches(obj, args, kwargs):
    X, y, batch_size = args
    X0, y0 = X.copy(), y.copy()  # the data as given: an answer that changes X or y is reported as a mutation
    # copies of the batches: a batch that is a view of X must not change when X does
    batches = [(np.array(xb), np.array(yb)) for xb, yb in obj(X, y, batch_size, **kwargs)]
    if not kwargs.get("shuffle", True):
        return {"batches": [list(b) for b in batches]}
    X, y = X0, y0
    index = {row.tobytes(): i for i, row in enumerate(X)}
    visited, aligned = [], True
    for xb, yb in batches:
        for row, label in zip(xb, yb):
            i = index.get(np.asarray(row, dtype=X.dtype).tobytes(), -1)
            visited.append(i)
            aligned = aligned and i >= 0 and y[i] == label
    n, m = len(X), batch_size
    expected_rows = n - n % m if kwargs.get("drop_last", False) else n
    again = [np.array(xb) for xb, _ in obj(X.copy(), y.copy(), batch_size, **kwargs)]
    other = [np.array(xb) for xb, _ in obj(X.copy(), y.copy(), batch_size,
                                           **{**kwargs, "seed": kwargs.get("seed", 0) + 1})]
    same = len(again) == len(batches) and all(np.array_equal(a, b) for a, (b, _) in zip(again, batches))
    differs = len(other) != len(batches) or any(not np.array_equal(a, b) for a, (b, _) in zip(other, batches))
    return {
        "batch sizes": [len(xb) for xb, _ in batches],
        "rows of X and y stay aligned": _yes(aligned),
        "each visited row is a different row of X": _yes(len(set(visited)) == len(visited) == expected_rows),
        "order is shuffled": _yes(visited != sorted(visited)),
        "same batches for the same seed": _yes(same),
        "another seed gives another order": _yes(differs),
    }


def _mb_keep_last_always(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for s in range(0, len(X), batch_size):
        yield X[order[s:s + batch_size]], y[order[s:s + batch_size]]


def _mb_drop_last_always(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    for s in range(0, len(X) - batch_size + 1, batch_size):
        yield X[order[s:s + batch_size]], y[order[s:s + batch_size]]


def _mb_two_permutations(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    rng = np.random.default_rng(seed)
    ox = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    oy = rng.permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for s in range(0, stop, batch_size):
        yield X[ox[s:s + batch_size]], y[oy[s:s + batch_size]]


def _mb_never_shuffled(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for s in range(0, stop, batch_size):
        yield X[s:s + batch_size], y[s:s + batch_size]


def _mb_seed_ignored(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    order = np.random.default_rng().permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for s in range(0, stop, batch_size):
        yield X[order[s:s + batch_size]], y[order[s:s + batch_size]]


def _mb_shuffled_in_place(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(X))
        X[:], y[:] = X[order], y[order]  # shuffles the caller's arrays
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for s in range(0, stop, batch_size):
        yield X[s:s + batch_size], y[s:s + batch_size]


def _mb_dataloader(X, y, batch_size, shuffle=True, drop_last=False, seed=None):
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(seed or 0)
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch_size,
                        shuffle=shuffle, drop_last=drop_last, generator=g)
    for xb, yb in loader:
        yield xb.numpy(), yb.numpy()


def _minibatch_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        n, m = int(rng.integers(8, 40)), int(rng.integers(2, 9))
        X, y = _rows_data(rng, n, int(rng.integers(1, 4)), bool(rng.integers(0, 2)))
        shuffle = bool(rng.integers(0, 2))
        kwargs = {"shuffle": shuffle, "drop_last": bool(rng.integers(0, 2))}
        if shuffle:
            kwargs["seed"] = int(rng.integers(0, 10_000))
        cases.append(Case((X, y, m), kwargs))
    return cases


_r = np.random.default_rng(4041)
_XM, _yM = _rows_data(_r, 10, 2, True)
_XB, _yB = _rows_data(_r, 23, 3, False)

register(Check(
    id="iterate_minibatches", lesson=LESSON, reference=MB.iterate_minibatches, result="plain", probe=_probe_minibatches,
    cases=[Case((_XM, _yM, 4), {"shuffle": False}, hint="batches are consecutive slices [0:4], [4:8], [8:10]: the last "
                                                        "short batch is kept unless drop_last."),
           Case((_XM, _yM, 4), {"shuffle": False, "drop_last": True}),
           Case((_XM, _yM, 16), {"shuffle": False}),
           Case((_XM, _yM, 16), {"shuffle": False, "drop_last": True}, hint="with drop_last and batch_size > n there is no "
                                                                            "full batch: the iterator is empty."),
           Case((_XB, _yB, 5), {"shuffle": True, "seed": 0}),
           Case((_XB, _yB, 5), {"shuffle": True, "seed": 42, "drop_last": True}),
           Case((_XB, _yB, 1), {"seed": 3}, hint="shuffle=True is the default: without a shuffle argument visit the "
                                                 "rows in the order rng.permutation(n).")],
    families=_minibatch_cases,
    forbidden=DATALOADER,
    hint="order = rng.permutation(n) (np.arange(n) without shuffle), then yield X[idx], y[idx] for "
         "idx = order[i:i + batch_size].",
    delegate=_mb_dataloader,
    # first: its batches are right (only the inputs change), see batch_gd_linear
    wrong=[WrongAnswer(_mb_shuffled_in_place, "leave X and y unchanged: take each batch as X[idx], y[idx] with idx a "
                                              "slice of the permutation instead of shuffling the arrays in place.",
                       clause="no_mutation"),
           WrongAnswer(_mb_keep_last_always, "with drop_last=True the last, shorter batch is dropped."),
           WrongAnswer(_mb_drop_last_always, "keep the last, shorter batch unless drop_last=True."),
           WrongAnswer(_mb_two_permutations, "use one permutation for both X and y, or the rows no longer match "
                                             "their labels."),
           WrongAnswer(_mb_never_shuffled, "with shuffle=True visit the rows in the order rng.permutation(n)."),
           WrongAnswer(_mb_seed_ignored, "make the order depend on `seed` only: rng = np.random.default_rng(seed).",
                       clause="randomness")],
))


# ================================================================= optimizers (NumPy classes)

def _opt_spec(seed: int, shapes: tuple[tuple[int, ...], ...], steps: int = 100) -> Spec:
    label = f"{len(shapes)} params of shapes {', '.join(str(s) for s in shapes)}; {steps} steps"
    return Spec(label, seed=int(seed), shapes=[list(s) for s in shapes], steps=int(steps))


def _opt_problem(spec: dict) -> tuple[list[np.ndarray], Any]:
    """Parameters and a gradient oracle g_t(θ) = Aθ + c + noise_t (a noisy convex quadratic per parameter)."""
    rng = np.random.default_rng(spec["seed"])
    shapes = [tuple(s) for s in spec["shapes"]]
    params = [rng.normal(size=s) for s in shapes]
    mats, offsets = [], []
    for s in shapes:
        k = int(np.prod(s))
        B = rng.normal(size=(k, k))
        mats.append(B @ B.T / k + 0.2 * np.eye(k))
        offsets.append(rng.normal(size=k))
    noise = rng.normal(scale=0.5, size=(spec["steps"], sum(int(np.prod(s)) for s in shapes)))

    def grads(ps: list[np.ndarray], t: int) -> list[np.ndarray]:
        out, at = [], 0
        for p, A, c in zip(ps, mats, offsets):
            k = p.size
            out.append((A @ p.ravel() + c + noise[t, at:at + k]).reshape(p.shape))
            at += k
        return out

    return params, grads


FIRST_STEPS = 3


def _probe_optimizer(obj, args, kwargs):
    """Drive the optimizer as a training loop does: the caller holds its own arrays (a model's weights), computes
    the gradients from them and expects step() to change *those* arrays. Everything is read from the caller's
    arrays, never from the list handed to the optimizer, which an answer could rebind item by item."""
    spec = args[0]
    params, grads = _opt_problem(spec)
    arrays = list(params)  # the caller's arrays themselves
    opt = obj(params, **kwargs)
    out: dict[str, Any] = {}
    later: list[list[np.ndarray]] = [[] for _ in arrays]
    untouched, in_place = True, True
    for t in range(spec["steps"]):
        g = grads(arrays, t)
        kept, before = [a.copy() for a in g], [a.copy() for a in arrays]
        opt.step(g)
        untouched = untouched and all(np.array_equal(a, b) for a, b in zip(g, kept))
        in_place = in_place and not any(np.array_equal(a, b) for a, b in zip(arrays, before))
        if t < FIRST_STEPS:  # the first steps one by one (messages name the step), the rest stacked (cheap to send)
            out[f"params after step {t + 1}"] = [a.copy() for a in arrays]
        else:
            for history, a in zip(later, arrays):
                history.append(a.copy())
    if spec["steps"] > FIRST_STEPS:
        out[f"params after steps {FIRST_STEPS + 1}-{spec['steps']}"] = [np.stack(h) for h in later]
    out["gradients passed to step() left unchanged"] = _yes(untouched)
    # first in the result, so that an answer that does not update the caller's arrays is told so first
    return {"every step() changes the caller's own arrays in place": _yes(in_place), **out}


def _opt_families(defaults):
    def family(rng: np.random.Generator) -> list[Case]:
        cases = []
        for _ in range(3):
            shapes = tuple(tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 3))))
                           for _ in range(int(rng.integers(1, 4))))
            cases.append(Case((_opt_spec(int(rng.integers(0, 2**31)), shapes),), defaults(rng)))
        return cases
    return family


class _TorchBacked:
    """A delegation: hands the update to a torch.optim optimizer sharing memory with the NumPy arrays."""

    torch_class = "SGD"

    def __init__(self, params, **kwargs):
        self.tensors = [torch.from_numpy(p) for p in params]
        self.opt = getattr(torch.optim, self.torch_class)(self.tensors, **kwargs)

    def step(self, grads):
        for t, g in zip(self.tensors, grads):
            t.grad = torch.from_numpy(np.array(g))
        self.opt.step()


def _torch_backed(name: str) -> type:
    return type(f"Torch{name}", (_TorchBacked,), {"torch_class": name})


class _NumpyOpt:
    """A configurable (wrong) optimizer for the hint tests; each flag is one classic mistake."""

    bugs: frozenset = frozenset()

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False, weight_decay=0.0, alpha=0.99, eps=1e-8,
                 betas=(0.9, 0.999), kind="sgd"):
        # "keep_list": keeps the caller's list itself (fine on its own; wrong with "rebind", which then replaces the
        # list's items by new arrays and leaves the caller's arrays as they were)
        kept = params if "keep_list" in self.bugs else list(params)
        self.params, self.lr, self.mu, self.nesterov, self.wd = kept, lr, momentum, nesterov, weight_decay
        self.alpha, self.eps, self.betas, self.kind = alpha, eps, betas, kind
        self.buf: list = [None] * len(self.params)
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]
        self.t = 0

    def step(self, grads):
        self.t += 1
        for i, (p, g) in enumerate(zip(self.params, grads)):
            new = getattr(self, f"_{self.kind}")(i, p, g)
            if "rebind" in self.bugs:
                self.params[i] = new
            else:
                p[...] = new
        if "forget_state" in self.bugs:  # `for p, g, m in zip(..., self.m): m = …` rebinds m, never self.m[i]
            self.buf = [None] * len(self.params)
            self.m = [np.zeros_like(p) for p in self.params]
            self.v = [np.zeros_like(p) for p in self.params]

    def _decayed(self, p, g):
        if "decay_in_place" in self.bugs:
            g += self.wd * p
            return g
        return g + self.wd * p

    def _sgd(self, i, p, g):
        d = g if "decay_after_momentum" in self.bugs else self._decayed(p, g)
        if self.mu:
            if "ema" in self.bugs:
                self.buf[i] = (1 - self.mu) * d if self.buf[i] is None else self.mu * self.buf[i] + (1 - self.mu) * d
            else:
                self.buf[i] = d.copy() if self.buf[i] is None else self.mu * self.buf[i] + d
            d = d + self.mu * self.buf[i] if self.nesterov and "no_nesterov" not in self.bugs else self.buf[i]
        if "decay_after_momentum" in self.bugs:
            d = d + self.wd * p
        return p - self.lr * d

    def _rmsprop(self, i, p, g):
        g = g if "no_decay" in self.bugs else self._decayed(p, g)
        a = self.alpha
        self.v[i] = (1 - a) * self.v[i] + a * g * g if "swapped_alpha" in self.bugs else a * self.v[i] + (1 - a) * g * g
        v = self.v[i] / (1 - a**self.t) if "bias_correction" in self.bugs else self.v[i]
        denom = np.sqrt(v + self.eps) if "eps_inside" in self.bugs else np.sqrt(v) + self.eps
        return p - self.lr * g / denom

    def _adam(self, i, p, g):
        b1, b2 = self.betas
        decoupled = ("coupled" not in self.bugs) if self.decoupled else ("decoupled" in self.bugs)
        if decoupled and "decay_after_step" not in self.bugs:
            factor = 1 - self.wd if "decay_without_lr" in self.bugs else 1 - self.lr * self.wd
            p = p * factor
        elif not decoupled and "no_decay" not in self.bugs:
            g = self._decayed(p, g)
        self.m[i] = b1 * self.m[i] + (1 - b1) * g
        square = g * g
        if "alias_square" in self.bugs:  # `square = g; square *= g` squares the caller's gradient
            square = g
            square *= g
        self.v[i] = b2 * self.v[i] + (1 - b2) * square
        m, v = self.m[i], self.v[i]
        if "no_bias_correction" not in self.bugs:
            m, v = m / (1 - b1**self.t), v / (1 - b2**self.t)
        denom = np.sqrt(v + self.eps) if "eps_inside" in self.bugs else np.sqrt(v) + self.eps
        p = p - self.lr * m / denom
        if "decay_after_step" in self.bugs:
            p = p * (1 - self.lr * self.wd)
        return p

    decoupled = False


def _buggy(kind: str, *bugs: str, decoupled: bool = False, **defaults: Any) -> type:
    def __init__(self, params, **kwargs):
        _NumpyOpt.__init__(self, params, kind=kind, **{**defaults, **kwargs})

    return type(f"Wrong{kind}", (_NumpyOpt,), {"__init__": __init__, "bugs": frozenset(bugs), "decoupled": decoupled})


_S1 = _opt_spec(11, ((3,), (2, 2)))
_S2 = _opt_spec(12, ((4,),))
_S3 = _opt_spec(13, ((2, 3), (1,)))
GRADS_UNCHANGED = ("do not modify the gradients passed to step(): `g += weight_decay·θ` (or `square = g; square *= g`) "
                   "writes into the caller's array; build g + weight_decay·θ and g·g as new arrays.")
IN_PLACE = ("update each array in place (p -= …, or p[...] = …): rebinding a name or a list item leaves the "
            "caller's arrays unchanged.")
STATE = ("store the updated running averages back in the optimizer at every step (self.s[i] = …): rebinding a loop "
         "variable (`for p, g, s in zip(…, self.s): s = …`) leaves the stored state at 0, so every step starts afresh.")


def _sgd_defaults(rng):
    mu = float(rng.choice([0.0, rng.uniform(0.5, 0.95)]))
    return {"lr": float(rng.uniform(0.01, 0.2)), "momentum": mu, "nesterov": bool(mu > 0 and rng.integers(0, 2)),
            "weight_decay": float(rng.choice([0.0, rng.uniform(0.001, 0.1)]))}


register(Check(
    id="SGD", lesson=LESSON, reference=O.SGD, result="plain", probe=_probe_optimizer, rtol=1e-9, atol=1e-12,
    expects="class",
    cases=[Case((_S1,), {"lr": 0.1}),
           Case((_S1,), {"lr": 0.05, "momentum": 0.9}, hint="PyTorch's buffer: v ← μ·v + d, starting with v = d on "
                                                           "the first step; then θ ← θ − lr·v."),
           Case((_S2,), {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
           Case((_S3,), {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
           Case((_opt_spec(14, ((2,), (1, 3)), steps=8),), {"lr": 0.01, "momentum": 1.0},
                hint="momentum = 1 is allowed (torch accepts any momentum ≥ 0): the buffer then sums the gradients.")],
    families=_opt_families(_sgd_defaults),
    forbidden=TORCH_OPTIM,
    hint="d = g + weight_decay·θ; with momentum v ← μ·v + d (v = d at first), d = v (or d + μ·v with Nesterov); "
         "θ -= lr·d, in place.",
    delegate=_torch_backed("SGD"),
    wrong=[WrongAnswer(_buggy("sgd", "rebind"), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("sgd", "rebind", "keep_list"), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("sgd", "ema"), "PyTorch's momentum buffer is v ← μ·v + d (no (1 − μ) factor), with v = d "
                                             "on the first step."),
           WrongAnswer(_buggy("sgd", "decay_after_momentum"), "add weight_decay·θ to the gradient *before* the momentum "
                                                              "buffer, as torch.optim.SGD does."),
           WrongAnswer(_buggy("sgd", "no_nesterov"), "with nesterov=True the step is d + μ·v (the gradient plus μ times "
                                                     "the new buffer), not v."),
           WrongAnswer(_buggy("sgd", "decay_in_place"), "do not modify the gradients passed to step(): build "
                                                        "g + weight_decay·θ as a new array.", clause="no_mutation"),
           WrongAnswer(_buggy("sgd", "forget_state"), "for any momentum ≠ 0 (1 included) keep one buffer per parameter "
                                                      "in the optimizer and store the new buffer back at every step: a "
                                                      "buffer that only lives in a loop variable forgets the earlier "
                                                      "gradients.", clause="state")],
))


def _rmsprop_defaults(rng):
    return {"lr": float(rng.uniform(0.001, 0.05)), "alpha": float(rng.uniform(0.8, 0.999)),
            "eps": float(rng.choice([1e-8, 1e-3, 0.1])), "weight_decay": float(rng.choice([0.0, rng.uniform(0.001, 0.1)]))}


register(Check(
    id="RMSprop", lesson=LESSON, reference=O.RMSprop, result="plain", probe=_probe_optimizer, rtol=1e-9, atol=1e-12,
    expects="class",
    cases=[Case((_S1,), {}),
           Case((_S2,), {"lr": 0.02, "alpha": 0.9, "eps": 0.1}, hint="PyTorch adds eps *after* the square root: "
                                                                     "θ -= lr·g/(√s + eps)."),
           Case((_S3,), {"lr": 0.01, "weight_decay": 0.1})],
    families=_opt_families(_rmsprop_defaults),
    forbidden=TORCH_OPTIM,
    hint="g ← g + weight_decay·θ; s ← α·s + (1 − α)·g² from s = 0; θ -= lr·g/(√s + eps), in place.",
    delegate=_torch_backed("RMSprop"),
    wrong=[WrongAnswer(_buggy("rmsprop", "eps_inside", lr=0.01), "PyTorch puts eps outside the square root: "
                                                                 "√s + eps, not √(s + eps) (that is the Keras form)."),
           WrongAnswer(_buggy("rmsprop", "bias_correction", lr=0.01), "RMSprop has no bias correction: use s as it is "
                                                                      "(only Adam divides by 1 − βᵗ)."),
           WrongAnswer(_buggy("rmsprop", "swapped_alpha", lr=0.01), "the running average keeps α of the old value: "
                                                                    "s ← α·s + (1 − α)·g²."),
           WrongAnswer(_buggy("rmsprop", "no_decay", lr=0.01), "weight_decay adds weight_decay·θ to the gradient before "
                                                               "it enters the square average."),
           WrongAnswer(_buggy("rmsprop", "rebind", lr=0.01), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("rmsprop", "rebind", "keep_list", lr=0.01), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("rmsprop", "forget_state", lr=0.01), STATE, clause="state"),
           WrongAnswer(_buggy("rmsprop", "decay_in_place", lr=0.01), GRADS_UNCHANGED, clause="no_mutation")],
))


def _adam_defaults(wd_default):
    def draw(rng):
        return {"lr": float(rng.uniform(0.001, 0.05)), "betas": (float(rng.uniform(0.7, 0.95)), float(rng.uniform(0.9, 0.999))),
                "eps": float(rng.choice([1e-8, 1e-3])), "weight_decay": float(rng.choice([wd_default, rng.uniform(0.01, 0.5)]))}
    return draw


BIAS = "divide by the bias corrections: m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), with t = 1 on the first step."
EPS_OUT = "eps goes outside the square root: m̂/(√v̂ + eps)."

register(Check(
    id="Adam", lesson=LESSON, reference=O.Adam, result="plain", probe=_probe_optimizer, rtol=1e-9, atol=1e-12,
    expects="class",
    cases=[Case((_S1,), {}),
           Case((_S2,), {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}),
           Case((_S3,), {"lr": 0.01, "weight_decay": 0.1}, hint="Adam's weight_decay is an L2 term added to the "
                                                                "gradient (coupled); AdamW is the decoupled one.")],
    families=_opt_families(_adam_defaults(0.0)),
    forbidden=TORCH_OPTIM,
    hint="g ← g + weight_decay·θ; m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; θ -= lr·m̂/(√v̂ + eps) "
         "with bias-corrected m̂, v̂ (t = 1, 2, …).",
    delegate=_torch_backed("Adam"),
    wrong=[WrongAnswer(_buggy("adam", "no_bias_correction", lr=0.001), BIAS),
           WrongAnswer(_buggy("adam", "eps_inside", lr=0.001), EPS_OUT),
           WrongAnswer(_buggy("adam", "decoupled", lr=0.001), "Adam(weight_decay) is coupled: add weight_decay·θ to the "
                                                              "gradient. Shrinking θ directly is AdamW."),
           WrongAnswer(_buggy("adam", "rebind", lr=0.001), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("adam", "rebind", "keep_list", lr=0.001), IN_PLACE, clause="in_place"),
           WrongAnswer(_buggy("adam", "forget_state", lr=0.001), STATE, clause="state"),
           WrongAnswer(_buggy("adam", "decay_in_place", lr=0.001), GRADS_UNCHANGED, clause="no_mutation")],
))

register(Check(
    id="AdamW", lesson=LESSON, reference=O.AdamW, result="plain", probe=_probe_optimizer, rtol=1e-9, atol=1e-12,
    expects="class",
    cases=[Case((_S1,), {}, hint="AdamW's default weight_decay is 0.01 (Adam's is 0)."),
           Case((_S2,), {"lr": 0.05, "weight_decay": 0.1}),
           Case((_S3,), {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.5})],
    families=_opt_families(_adam_defaults(0.01)),
    forbidden=TORCH_OPTIM,
    hint="θ ← θ·(1 − lr·weight_decay) first, then the Adam step on the plain gradient.",
    delegate=_torch_backed("AdamW"),
    wrong=[WrongAnswer(_buggy("adam", "coupled", decoupled=True, lr=0.001, weight_decay=0.01),
                       "AdamW decouples the decay: θ ← θ·(1 − lr·weight_decay) instead of adding weight_decay·θ to "
                       "the gradient (that is Adam's L2)."),
           WrongAnswer(_buggy("adam", "decay_after_step", decoupled=True, lr=0.001, weight_decay=0.01),
                       "shrink θ by (1 − lr·weight_decay) *before* the Adam step, as torch.optim.AdamW does."),
           WrongAnswer(_buggy("adam", "decay_without_lr", decoupled=True, lr=0.001, weight_decay=0.01),
                       "the decay is scaled by the learning rate: θ ← θ·(1 − lr·weight_decay)."),
           WrongAnswer(_buggy("adam", "no_bias_correction", decoupled=True, lr=0.001, weight_decay=0.01), BIAS),
           WrongAnswer(_buggy("adam", "rebind", decoupled=True, lr=0.001, weight_decay=0.01), IN_PLACE,
                       clause="in_place"),
           WrongAnswer(_buggy("adam", "rebind", "keep_list", decoupled=True, lr=0.001, weight_decay=0.01), IN_PLACE,
                       clause="in_place"),
           WrongAnswer(_buggy("adam", "forget_state", decoupled=True, lr=0.001, weight_decay=0.01), STATE,
                       clause="state"),
           WrongAnswer(_buggy("adam", "alias_square", decoupled=True, lr=0.001, weight_decay=0.01), GRADS_UNCHANGED,
                       clause="no_mutation")],
))


# ================================================================= random restarts

class _Trained:
    """Stands for a trained model: an object whose identity the check follows."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __repr__(self) -> str:
        return f"<model trained with seed {self.seed}>"


def _restart_spec(losses: list[float], kinds: list[str] | None = None) -> Spec:
    shown = ", ".join("nan" if math.isnan(v) else f"{v:g}" for v in losses)
    label = f"train_fn with val losses [{shown}]"
    if len(label) > 70:
        label = f"train_fn with {len(losses)} val losses"
    return Spec(label, losses=[float(v) for v in losses], kinds=list(kinds or ["float"] * len(losses)))


def _loss_value(value: float, kind: str) -> Any:
    if kind == "numpy":
        return np.float64(value)
    if kind == "tensor":
        return torch.tensor(value, dtype=torch.float64)
    return float(value)


def _probe_restarts(obj, args, kwargs):
    spec, seeds = args
    seed_list = list(seeds)
    calls, models, draws = [], [], []

    def train_fn(seed):
        calls.append(seed)
        draws.append([float(np.random.random()), pyrandom.random(), float(torch.rand((), dtype=torch.float64))])
        k = seed_list.index(seed) if seed in seed_list else 0
        model = _Trained(int(seed))
        models.append(model)
        return model, _loss_value(spec["losses"][k], spec["kinds"][k])

    np.random.seed(2024)
    pyrandom.seed(2024)
    torch.manual_seed(2024)
    result = obj(train_fn, seeds)
    if not isinstance(result, tuple) or len(result) != 3:
        return result
    best, best_seed, losses = result
    if isinstance(losses, np.ndarray):
        losses = list(losses)
    return {
        "seeds passed to train_fn, in order": [int(s) for s in calls],
        "position of the returned model among train_fn's models (-1: none of them)":
            next((i for i, m in enumerate(models) if m is best), -1),
        "best seed": best_seed,
        "losses": losses,
        "global random draws inside train_fn": draws,
    }


def _restart_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        k = int(rng.integers(2, 8))
        losses = np.round(rng.uniform(0.1, 2.0, size=k), 1)
        if rng.random() < 0.5:
            losses[int(rng.integers(0, k))] = np.nan
        seeds = [int(s) for s in rng.choice(1000, size=k, replace=False)]
        kinds = [str(x) for x in rng.choice(["float", "numpy", "tensor"], size=k)]
        cases.append(Case((_restart_spec(list(losses), kinds), seeds)))
    return cases


def _rr_argmin(train_fn, seeds):
    seeds = list(seeds)
    runs = [train_fn(s) for s in seeds]
    losses = [float(l) for _, l in runs]
    i = int(np.argmin(losses))
    return runs[i][0], seeds[i], losses


def _rr_first_when_all_nan(train_fn, seeds):
    seeds = list(seeds)
    runs = [train_fn(s) for s in seeds]
    best, best_seed, best_loss, losses = runs[0][0], seeds[0], math.inf, []
    for s, (model, loss) in zip(seeds, runs):
        losses.append(float(loss))
        if float(loss) < best_loss:
            best, best_seed, best_loss = model, s, float(loss)
    return best, best_seed, losses


def _rr_last_on_ties(train_fn, seeds):
    best, best_seed, best_loss, losses = None, None, math.inf, []
    for s in seeds:
        model, loss = train_fn(s)
        losses.append(float(loss))
        if float(loss) <= best_loss:
            best, best_seed, best_loss = model, s, float(loss)
    return best, best_seed, losses


def _rr_copy(train_fn, seeds):
    best, best_seed, best_loss, losses = None, None, math.inf, []
    for s in seeds:
        model, loss = train_fn(s)
        losses.append(float(loss))
        if float(loss) < best_loss:
            best, best_seed, best_loss = copy.deepcopy(model), s, float(loss)
    return best, best_seed, losses


def _rr_seeding(train_fn, seeds):
    best, best_seed, best_loss, losses = None, None, math.inf, []
    for s in seeds:
        torch.manual_seed(s)
        np.random.seed(s)
        model, loss = train_fn(s)
        losses.append(float(loss))
        if float(loss) < best_loss:
            best, best_seed, best_loss = model, s, float(loss)
    return best, best_seed, losses


def _rr_raw_losses(train_fn, seeds):
    best, best_seed, best_loss, losses = None, None, math.inf, []
    for s in seeds:
        model, loss = train_fn(s)
        losses.append(loss)
        if float(loss) < best_loss:
            best, best_seed, best_loss = model, s, float(loss)
    return best, best_seed, losses


register(Check(
    id="random_restarts", lesson=LESSON, reference=R.random_restarts, result="plain", probe=_probe_restarts,
    cases=[Case((_restart_spec([0.9, 0.4, 0.7]), [0, 1, 2])),
           Case((_restart_spec([0.5, 0.3, 0.3, 0.8]), [10, 20, 30, 40]), hint="on ties keep the first seed."),
           Case((_restart_spec([float("nan"), 0.6, 0.2, float("nan")]), [5, 6, 7, 8]),
                hint="a NaN loss (a diverged run) must never be chosen."),
           Case((_restart_spec([0.3, 0.1, 0.2], ["numpy", "tensor", "float"]), [9, 3, 5]),
                hint="train_fn may return the loss as a NumPy scalar or a 0-d tensor: store float(loss)."),
           Case((_restart_spec([float("nan"), float("nan"), float("nan")]), [4, 2, 8]),
                hint="when every loss is NaN no run can be chosen: return (None, None, losses).")],
    families=_restart_cases,
    hint="call train_fn(seed) once per seed in order; keep the model and seed of the smallest loss (first on ties, "
         "never NaN) and return (model, seed, losses as floats).",
    delegate=lambda train_fn, seeds: R.random_restarts(train_fn, seeds),
    wrong=[WrongAnswer(_rr_first_when_all_nan, "when every loss is NaN no run can be chosen: return (None, None, "
                                               "losses) instead of the first model."),
           WrongAnswer(_rr_argmin, "np.argmin returns the position of a NaN wherever it is (and min() keeps a NaN "
                                   "that comes first): skip NaN losses (compare with <, which is False for NaN)."),
           WrongAnswer(_rr_last_on_ties, "on ties keep the *first* seed: replace the best only when the loss is "
                                         "strictly smaller (<, not <=)."),
           WrongAnswer(_rr_copy, "return the model object train_fn returned — no copy is needed, each restart "
                                 "builds a new model."),
           WrongAnswer(_rr_seeding, "random_restarts must not seed anything itself: train_fn(seed) seeds and builds "
                                    "its own model and optimizer.", clause="randomness"),
           WrongAnswer(_rr_raw_losses, "return the losses as Python floats: float(loss) also converts NumPy scalars "
                                       "and 0-d tensors.", clause="dtype")],
))


# ================================================================= cyclical learning rate

def _cyclic_torch(step, base_lr, max_lr, step_size_up, step_size_down=None):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr, max_lr, step_size_up, step_size_down, cycle_momentum=False)
    for _ in range(step):
        opt.step()
        sched.step()
    return sched.get_last_lr()[0]


def _cyc_off_by_one(step, base_lr, max_lr, step_size_up, step_size_down=None):
    down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + down
    pos = (step + 1) % total
    scale = pos / step_size_up if pos <= step_size_up else (total - pos) / down
    return base_lr + (max_lr - base_lr) * scale


def _cyc_symmetric(step, base_lr, max_lr, step_size_up, step_size_down=None):
    pos = step % (2 * step_size_up)
    scale = pos / step_size_up if pos <= step_size_up else (2 * step_size_up - pos) / step_size_up
    return base_lr + (max_lr - base_lr) * scale


def _cyc_no_repeat(step, base_lr, max_lr, step_size_up, step_size_down=None):
    down = step_size_up if step_size_down is None else step_size_down
    scale = step / step_size_up if step <= step_size_up else max(0.0, 1 - (step - step_size_up) / down)
    return base_lr + (max_lr - base_lr) * scale


def _cyc_halving(step, base_lr, max_lr, step_size_up, step_size_down=None):
    down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + down
    pos = step % total
    scale = pos / step_size_up if pos <= step_size_up else (total - pos) / down
    return base_lr + (max_lr - base_lr) * scale / 2 ** (step // total)


def _cyclic_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        base = float(rng.uniform(1e-4, 1e-2))
        top = base + float(rng.uniform(0.01, 1.0))
        up = int(rng.integers(1, 9))
        kwargs = {} if rng.random() < 0.4 else {"step_size_down": int(rng.integers(1, 9))}
        total = up + kwargs.get("step_size_down", up)
        for k in sorted(int(v) for v in rng.choice(3 * total + 1, size=min(6, 3 * total + 1), replace=False)):
            cases.append(Case((k, base, top, up), kwargs))
    return cases


register(Check(
    id="cyclic_lr", lesson=LESSON, reference=R.cyclic_lr, result="float", rtol=1e-9, atol=1e-12,
    cases=[Case((k, 0.001, 0.1, 4)) for k in range(17)]
    + [Case((k, 0.01, 0.5, 3), {"step_size_down": 5}) for k in (0, 2, 3, 4, 7, 8, 9, 12, 16)],
    families=_cyclic_cases,
    forbidden=SCHEDULERS,
    hint="position in the cycle: x = step mod (up + down); the lr climbs from base_lr to max_lr over step_size_up "
         "steps, then falls back over step_size_down steps.",
    delegate=_cyclic_torch,
    wrong=[WrongAnswer(_cyc_off_by_one, "`step` counts the scheduler.step() calls already made: at step 0 the lr is "
                                        "base_lr, and max_lr is reached at step = step_size_up."),
           WrongAnswer(_cyc_symmetric, "the way down takes step_size_down steps (step_size_up only when it is None)."),
           WrongAnswer(_cyc_no_repeat, "the triangle repeats: use the position inside the current cycle, "
                                       "step mod (step_size_up + step_size_down)."),
           WrongAnswer(_cyc_halving, "mode='triangular' keeps the same amplitude in every cycle (halving it is "
                                     "'triangular2').")],
))


# ================================================================= SWA

def _bn_model(seed: int, sizes: list[int]) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    a, h, c = sizes
    model = nn.Sequential(nn.Linear(a, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, c)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    return model


def _swa_spec(seed: int, sizes: tuple[int, int, int], updates: int) -> Spec:
    a, h, c = sizes
    return Spec(f"MLP {a}→{h}→{c} with BatchNorm1d; {updates} updates", seed=int(seed), sizes=list(sizes),
                updates=int(updates))


def _train_a_little(model: nn.Module, seed: int, k: int) -> None:
    """Change the parameters (as an optimizer would) and the BatchNorm statistics (a forward pass in train mode)."""
    g = torch.Generator().manual_seed(seed * 1000 + k)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
        model.train()
        model(torch.randn(6, model[0].in_features, generator=g, dtype=torch.float64) * (1 + k))


def _probe_swa(obj, args, kwargs):
    spec = args[0]
    model = _bn_model(spec["seed"], spec["sizes"])
    swa = obj(model)
    module = swa.module
    ptrs = {t.data_ptr() for t in list(model.parameters()) + list(model.buffers())}
    out: dict[str, Any] = {
        ".module is a separate copy of the model": _yes(module is not model and isinstance(module, nn.Module) and not any(
            t.data_ptr() in ptrs for t in list(module.parameters()) + list(module.buffers()))),
        ".n_averaged before any update": _scalar(np.asarray(swa.n_averaged)) if not isinstance(swa.n_averaged, torch.Tensor)
        else float(swa.n_averaged),
    }
    unchanged = True
    for k in range(spec["updates"]):
        _train_a_little(model, spec["seed"], k)
        before = copy.deepcopy(model.state_dict())
        swa.update(model)
        unchanged = unchanged and all(torch.equal(before[n], t) for n, t in model.state_dict().items())
        n_avg = swa.n_averaged
        out[f"after update {k + 1}"] = {
            "n_averaged": float(n_avg) if isinstance(n_avg, torch.Tensor) else _scalar(np.asarray(n_avg)),
            "parameters": {n: p.detach().clone() for n, p in swa.module.named_parameters()},
            "buffers": {n: b.detach().clone() for n, b in swa.module.named_buffers()},
        }
    # first after the construction keys: a model changed by update() also changes every later average
    head = dict(list(out.items())[:2])
    return {**head, "update() leaves the model unchanged": _yes(unchanged), **out}


class _SWABase:
    def __init__(self, model):
        self.module = copy.deepcopy(model)
        self.n_averaged = 0

    @torch.no_grad()
    def _average(self, model, weight):
        for pa, p in zip(self.module.parameters(), model.parameters()):
            pa.copy_(p if self.n_averaged == 0 else pa + (p - pa) * weight)

    @torch.no_grad()
    def _copy_buffers(self, model):
        for ba, b in zip(self.module.buffers(), model.buffers()):
            ba.copy_(b)


class _SWAReference(_SWABase):
    def update(self, model):
        self._average(model, 1.0 / (self.n_averaged + 1))
        self._copy_buffers(model)
        self.n_averaged += 1


class _SWANoCopy(_SWAReference):
    def __init__(self, model):
        self.module = model
        self.n_averaged = 0


class _SWAHalves(_SWABase):
    def update(self, model):
        self._average(model, 0.5)
        self._copy_buffers(model)
        self.n_averaged += 1


class _SWACountsInitialCopy(_SWABase):
    @torch.no_grad()
    def update(self, model):
        for pa, p in zip(self.module.parameters(), model.parameters()):
            pa.add_((p - pa) / (self.n_averaged + 2))
        self._copy_buffers(model)
        self.n_averaged += 1


class _SWAStaleBuffers(_SWABase):
    def update(self, model):
        self._average(model, 1.0 / (self.n_averaged + 1))
        self.n_averaged += 1


class _SWAAveragedBuffers(_SWABase):
    @torch.no_grad()
    def update(self, model):
        self._average(model, 1.0 / (self.n_averaged + 1))
        for ba, b in zip(self.module.buffers(), model.buffers()):
            if ba.is_floating_point() and self.n_averaged > 0:
                ba.add_((b - ba) / (self.n_averaged + 1))
            else:
                ba.copy_(b)
        self.n_averaged += 1


class _SWALocalCounter(_SWABase):
    def update(self, model):
        n = self.n_averaged
        self._average(model, 1.0 / (n + 1))
        self._copy_buffers(model)
        n += 1  # a local: self.n_averaged stays 0


class _SWAModelAsScratch(_SWABase):
    @torch.no_grad()
    def update(self, model):
        for pa, p in zip(self.module.parameters(), model.parameters()):
            if self.n_averaged == 0:
                pa.copy_(p)
            else:
                pa.add_(p.sub_(pa).div_(self.n_averaged + 1))  # in-place arithmetic on the model's own parameter
        self._copy_buffers(model)
        self.n_averaged += 1


class _SWATorch:
    def __init__(self, model):
        self.avg = torch.optim.swa_utils.AveragedModel(model)
        self.module = self.avg.module

    @property
    def n_averaged(self):
        return int(self.avg.n_averaged)

    def update(self, model):
        self.avg.update_parameters(model)


def _swa_cases(rng: np.random.Generator) -> list[Case]:
    return [Case((_swa_spec(int(rng.integers(0, 2**31)), (int(rng.integers(2, 6)), int(rng.integers(2, 7)),
                                                          int(rng.integers(2, 5))), int(rng.integers(2, 6))),))
            for _ in range(2)]


register(Check(
    id="SWA", lesson=LESSON, reference=R.SWA, result="plain", probe=_probe_swa, rtol=1e-9, atol=1e-12, expects="class",
    cases=[Case((_swa_spec(1, (3, 4, 2), 4),)), Case((_swa_spec(2, (5, 3, 3), 6),))],
    families=_swa_cases,
    forbidden=SWA_UTILS,
    hint="module = copy.deepcopy(model), n_averaged = 0; update: copy the parameters the first time, then "
         "p ← p + (p_model − p)/(n + 1); copy the buffers every time; n_averaged += 1.",
    delegate=_SWATorch,
    wrong=[WrongAnswer(_SWANoCopy, "make .module a deep copy (copy.deepcopy(model)): keeping the model itself "
                                   "averages nothing.", clause="state"),
           WrongAnswer(_SWALocalCounter, "count in the object: self.n_averaged += 1 at every update — a local counter "
                                         "is lost between calls, so every update copies the model again.",
                       clause="state"),
           WrongAnswer(_SWAModelAsScratch, "update() must leave the model unchanged: compute (p_model − p)/(n + 1) as a "
                                           "new tensor instead of p_model.sub_(…).div_(…), which rewrites the model's "
                                           "parameters.", clause="no_mutation"),
           WrongAnswer(_SWAHalves, "SWA is an equal-weight average: p ← p + (p_model − p)/(n + 1), so every model "
                                   "counts 1/(n + 1) — halving each time forgets the early models."),
           WrongAnswer(_SWACountsInitialCopy, "the copy made at construction is not one of the averaged models: the "
                                              "first update copies the parameters (n_averaged starts at 0)."),
           WrongAnswer(_SWAStaleBuffers, "copy the buffers (BatchNorm running statistics) from the model at every "
                                         "update, as AveragedModel does."),
           WrongAnswer(_SWAAveragedBuffers, "buffers are copied, not averaged (AveragedModel's default); recompute "
                                            "BatchNorm statistics with update_bn afterwards.")],
))


# ================================================================= snapshot ensembles

def _snapshot_spec(seed: int, modes: list[str], n: int, sizes: tuple[int, int, int]) -> Spec:
    label = f"{len(modes)} snapshots in modes {'/'.join(modes)}, x of shape ({n}, {sizes[0]})"
    return Spec(label, seed=int(seed), modes=list(modes), n=int(n), sizes=list(sizes))


def _snapshot_models(spec: dict) -> tuple[list[nn.Module], torch.Tensor]:
    g = torch.Generator().manual_seed(spec["seed"])
    a, h, c = spec["sizes"]
    models = []
    for mode in spec["modes"]:
        m = nn.Sequential(nn.Linear(a, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.5), nn.Linear(h, c)).double()
        with torch.no_grad():
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
            m[1].running_mean.copy_(torch.randn(h, generator=g, dtype=torch.float64))
            m[1].running_var.copy_(torch.rand(h, generator=g, dtype=torch.float64) + 0.5)
        m.train(mode == "train")
        models.append(m)
    x = torch.randn(spec["n"], a, generator=g, dtype=torch.float64)
    return models, x


def _probe_snapshots(obj, args, kwargs):
    models, x = _snapshot_models(args[0])
    modes = [[m.training for m in model.modules()] for model in models]
    torch.manual_seed(0)  # dropout in training mode would draw from here: keep wrong answers reproducible
    grad_mode = torch.is_grad_enabled()
    out = obj(models, x)
    grad_mode_after = torch.is_grad_enabled()
    torch.set_grad_enabled(grad_mode)
    return {
        "mean probabilities": out.detach() if isinstance(out, torch.Tensor) else out,
        "result requires grad": _yes(isinstance(out, torch.Tensor) and out.requires_grad),
        "train/eval modes restored": _yes([[m.training for m in model.modules()] for model in models] == modes),
        "gradient mode left as it was": _yes(grad_mode_after == grad_mode),
    }


def _snap_no_eval(models, x):
    with torch.no_grad():
        return sum(torch.softmax(m(x), dim=1) for m in models) / len(models)


def _snap_mean_logits(models, x):
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    with torch.no_grad():
        out = torch.softmax(sum(m(x) for m in models) / len(models), dim=1)
    for m, mode in zip(models, modes):
        m.train(mode)
    return out


def _snap_left_in_eval(models, x):
    for m in models:
        m.eval()
    with torch.no_grad():
        return sum(torch.softmax(m(x), dim=1) for m in models) / len(models)


def _snap_with_grad(models, x):
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    out = sum(torch.softmax(m(x), dim=1) for m in models) / len(models)
    for m, mode in zip(models, modes):
        m.train(mode)
    return out


def _snap_all_back_to_train(models, x):
    for m in models:
        m.eval()
    with torch.no_grad():
        out = sum(torch.softmax(m(x), dim=1) for m in models) / len(models)
    for m in models:
        m.train()
    return out


def _snap_grad_switched_off(models, x):
    modes = [m.training for m in models]
    torch.set_grad_enabled(False)
    for m in models:
        m.eval()
    out = sum(torch.softmax(m(x), dim=1) for m in models) / len(models)
    for m, mode in zip(models, modes):
        m.train(mode)
    return out


def _snapshot_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        k = int(rng.integers(1, 5))
        modes = [str(v) for v in rng.choice(["train", "eval"], size=k)]
        sizes = (int(rng.integers(2, 6)), int(rng.integers(3, 8)), int(rng.integers(2, 5)))
        cases.append(Case((_snapshot_spec(int(rng.integers(0, 2**31)), modes, int(rng.integers(2, 7)), sizes),)))
    return cases


register(Check(
    id="snapshot_ensemble_predict", lesson=LESSON, reference=R.snapshot_ensemble_predict, result="plain",
    probe=_probe_snapshots, expects="function",
    cases=[Case((_snapshot_spec(6, ["eval", "eval"], 5, (4, 5, 2)),)),
           Case((_snapshot_spec(5, ["train", "eval", "train"], 4, (3, 6, 3)),)),
           Case((_snapshot_spec(7, ["train"], 3, (2, 4, 4)),))],
    families=_snapshot_cases,
    hint="for each model: remember model.training, model.eval(), softmax(model(x), dim=1) under torch.no_grad(), "
         "restore the mode; return the mean of the probabilities.",
    delegate=lambda models, x: R.snapshot_ensemble_predict(models, x),
    wrong=[WrongAnswer(_snap_no_eval, "call model.eval() before predicting: in training mode dropout drops units at "
                                      "random and batch norm uses the batch's statistics."),
           WrongAnswer(_snap_mean_logits, "average the probabilities (softmax of each model's logits), not the logits."),
           WrongAnswer(_snap_left_in_eval, "put each model back in the mode it was in: remember model.training before "
                                           "model.eval() and call model.train(mode) afterwards.", clause="state"),
           WrongAnswer(_snap_with_grad, "predict inside torch.no_grad() so the result carries no autograd graph.",
                       clause="autograd"),
           WrongAnswer(_snap_all_back_to_train, "restore each model's own mode: a model that was in eval mode must stay "
                                                "in eval mode.", clause="state"),
           WrongAnswer(_snap_grad_switched_off, "use the `with torch.no_grad():` block, which switches gradients back on "
                                                "when it ends; torch.set_grad_enabled(False) leaves them off for all "
                                                "later training.", clause="state")],
))
