"""Checks of lesson 01's second-edition exercises (backpropagation by hand): declarations only.

`numerical_gradient` is handed a scalar function that counts its calls (`CountedFunction`, built
fresh for every case): the probe returns the gradient, and a gradient of the right shape that took
another number of calls than 2·x.size fails with `WrongNumberOfCalls`. The two backward passes
return pairs; their probes name the parts (loss, dlogits / grads) so that a failure says which part
is wrong, and report the gradients' keys and dtypes before their values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .. import backprop as B
from .declaration import Case, Check, WrongAnswer, register
from .families import random_shape

LESSON = "01_activation_functions"

#: Autograd and every numerical-differentiation helper: the three exercises ask for them by hand.
DIFFERENTIATION = (
    "torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
    "torch.autograd.functional.jacobian", "torch.autograd.functional.vjp", "torch.autograd.functional.vhp",
    "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jacrev", "torch.func.jacfwd",
    "scipy.optimize.approx_fprime", "scipy.optimize.check_grad", "scipy.optimize._numdiff.approx_derivative",
    "scipy.differentiate.derivative", "scipy.differentiate.jacobian",
)
#: Library routines computing the softmax / cross-entropy part of the two backward passes.
SOFTMAX_CE = (
    "torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "torch.nn.CrossEntropyLoss",
    "torch.nn.modules.loss.CrossEntropyLoss", "torch.softmax", "torch.log_softmax", "torch.nn.functional.softmax",
    "torch.nn.functional.log_softmax", "torch.Tensor.softmax", "torch.Tensor.log_softmax",
    "scipy.special.softmax", "scipy.special.log_softmax", "sklearn.metrics.log_loss",
)


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def ints(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


# ---------------------------------------------------------------- numerical_gradient

class CountedFunction:
    """A scalar function of an array of any shape that counts its calls; shown as its source."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.calls = 0
        self._f = eval(source, {"np": np, "__builtins__": {}})  # noqa: S307 - a constant of this module

    def __call__(self, x: np.ndarray) -> float:
        self.calls += 1
        return self._f(x)

    def __repr__(self) -> str:
        return self.source


#: Smooth scalar functions whose partial derivatives are coupled (a wrong entry spoils the others)
#: and depend on the position of each entry (a gradient written in the wrong order is caught).
FUNCTIONS = (
    "lambda x: np.sum(np.sin(x)) + 0.5 * np.sum(x) ** 2",
    "lambda x: np.sum(x.ravel() * np.cumsum(x.ravel()))",
    "lambda x: np.exp(0.5 * np.mean(x)) * np.sum(x ** 2)",
    "lambda x: np.log(1.0 + np.sum(x ** 2)) + np.sum(np.arange(1.0, x.size + 1.0) * x.ravel() ** 3) / 3.0",
)


class WrongNumberOfCalls(Exception):
    """The gradient came back, but f was not called exactly 2·x.size times."""


def _probe_numerical_gradient(obj, args, kwargs):
    f, x = args[0], args[1]
    f.calls = 0
    grad = obj(*args, **kwargs)
    if f.calls != 2 * x.size and np.shape(grad) == x.shape:
        raise WrongNumberOfCalls(f"f was called {f.calls} times for an x of {x.size} entries; "
                                 f"expected exactly 2·x.size = {2 * x.size} calls")
    return grad


def _numgrad_case(source: str, x: np.ndarray, h: float | None = None, hint: str | None = None) -> Case:
    return Case((CountedFunction(source), x), {} if h is None else {"h": h}, hint=hint)


def _numgrad_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        source = FUNCTIONS[int(rng.integers(len(FUNCTIONS)))]
        x = rng.normal(0.0, 1.0, size=random_shape(rng, max_ndim=3, max_len=4))
        h = [None, 1e-4, 1e-6][int(rng.integers(3))]
        cases.append(_numgrad_case(source, x, h))
    return cases


def _ng_variant(f, x, h=1e-5, *, bug: str):
    """Central differences with one classic mistake (`bug`), each a wrong answer below:
    "forward" (f(x + h·e_i) − f(x)) / h; "over_h" divides by h; "extra_call" evaluates f(x) once more;
    "not_restored" leaves x[i] moved by −h; "arithmetic" restores by += h / −= 2h / += h, which is
    not bit-exact; "into_x" writes the gradient into x itself (`grad = x`)."""
    if bug == "extra_call":
        f(x)                                            # the value at x: central differences never use it
    grad = x if bug == "into_x" else np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        if bug == "forward":
            x[i] = old
            grad[i] = (f_plus - f(x)) / h
            continue
        x[i] = old + h - 2 * h if bug in ("arithmetic", "not_restored") else old - h
        f_minus = f(x)
        if bug == "arithmetic":
            x[i] += h
        elif bug != "not_restored":
            x[i] = old
        grad[i] = (f_plus - f_minus) / (h if bug == "over_h" else 2 * h)
    return grad


def _ng(bug: str):
    def numerical_gradient(f, x, h=1e-5):
        return _ng_variant(f, x, h, bug=bug)
    return numerical_gradient


def _ng_one_dimensional(f, x, h=1e-5):
    grad = np.zeros(len(x))
    for i in range(len(x)):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


COUNT = ("f must be called exactly twice per entry of x (2·x.size calls in all): at x + h·e_i and at x − h·e_i. "
         "Central differences never need f(x) itself, and the result needs no further call.")

register(Check(
    id="numerical_gradient", lesson=LESSON, reference=B.numerical_gradient,
    delegate=lambda f, x, h=1e-5: __import__("scipy.optimize._numdiff", fromlist=["approx_derivative"]).approx_derivative(
        lambda v: f(v.reshape(x.shape)), x.ravel(), method="3-point", abs_step=h, f0=0.0).reshape(x.shape),
    cases=[_numgrad_case(FUNCTIONS[0], arr(0.5, -1.0, 2.0)),
           _numgrad_case(FUNCTIONS[1], np.array([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]]),
                         hint="x may have any number of dimensions: visit every entry (np.ndindex(x.shape) or "
                              "np.nditer), and give the gradient x's shape."),
           _numgrad_case(FUNCTIONS[2], np.array([[[0.3, -0.7], [1.1, 0.0]], [[-1.3, 0.9], [0.6, -0.2]]]), h=1e-4,
                         hint="use the step `h` you are given."),
           _numgrad_case(FUNCTIONS[3], arr(0.8), h=1e-3)],
    families=_numgrad_family,
    probe=_probe_numerical_gradient,
    forbidden=DIFFERENTIATION,
    hint="entry i of the gradient is (f(x + h·e_i) − f(x − h·e_i)) / (2h), with e_i the i-th unit vector.",
    wrong=[WrongAnswer(_ng("not_restored"), "x must hold its original values when you return: after the two "
                       "evaluations of entry i, put its saved value back (x[i] = old) before moving to the next "
                       "entry.", clause="no_mutation"),
           WrongAnswer(_ng("arithmetic"), "x[i] += h followed by x[i] -= h does not always give back the "
                       "original bits (rounding): save the entry first (old = x[i]) and restore it with x[i] = old.",
                       clause="no_mutation"),
           WrongAnswer(_ng("into_x"), "`grad = x` is not a copy: writing the gradient into it overwrites the caller's x "
                       "(and the points where f is evaluated next). Start from grad = np.zeros_like(x).",
                       clause="no_mutation"),
           WrongAnswer(_ng_one_dimensional, "range(len(x)) only walks the first axis: for a 2-D x, x[i] is a whole "
                       "row. Visit every entry (np.ndindex(x.shape)) and return an array shaped like x.",
                       clause="shape"),
           WrongAnswer(_ng("forward"), "(f(x + h·e_i) − f(x)) / h is the forward difference (error O(h)); the "
                       "central difference evaluates both sides: (f(x + h·e_i) − f(x − h·e_i)) / (2h)."),
           WrongAnswer(_ng("over_h"), "the two evaluations are 2h apart: divide by 2h, not by h."),
           WrongAnswer(_ng("extra_call"), COUNT)],
))


# ---------------------------------------------------------------- softmax_cross_entropy_backward

def _pair(out: Any, name: str, second: str) -> tuple[Any, Any]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        what = f"a {type(out).__name__} of {len(out)} items" if isinstance(out, (tuple, list)) else \
            f"a {type(out).__name__}"
        raise TypeError(f"{name} must return a pair (loss, {second}); it returned {what}")
    return out[0], out[1]


def _loss_value(loss: Any) -> Any:
    """A 0-d array is a valid float, as for every float result; anything else is compared as it is."""
    if isinstance(loss, np.ndarray) and loss.ndim == 0:
        return loss[()]
    return loss


def _probe_ce_backward(obj, args, kwargs):
    loss, dlogits = _pair(obj(*args, **kwargs), "softmax_cross_entropy_backward", "dlogits")
    return {"loss": _loss_value(loss), "dlogits": dlogits}


def _softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _log_softmax_rows(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _onehot(targets, c):
    return np.eye(c)[targets]


def _ce_no_mean(logits, targets):
    n, c = logits.shape
    loss = float(-np.mean(_log_softmax_rows(logits)[np.arange(n), targets]))
    return loss, _softmax_rows(logits) - _onehot(targets, c)


def _ce_naive_exp(logits, targets):
    n, c = logits.shape
    e = np.exp(logits)
    p = e / e.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(n), targets]))), (p - _onehot(targets, c)) / n


def _ce_log_of_softmax(logits, targets):
    n, c = logits.shape
    p = _softmax_rows(logits)
    return float(-np.mean(np.log(p[np.arange(n), targets]))), (p - _onehot(targets, c)) / n


def _ce_minus_labels(logits, targets):
    n, _ = logits.shape
    loss = float(-np.mean(_log_softmax_rows(logits)[np.arange(n), targets]))
    return loss, (_softmax_rows(logits) - targets[:, None]) / n


def _ce_loss_array(logits, targets):
    n, c = logits.shape
    onehot = _onehot(targets, c)
    per_sample = -np.sum(onehot * _log_softmax_rows(logits), axis=1, keepdims=True)
    return per_sample.mean(axis=0), (_softmax_rows(logits) - onehot) / n


def _ce_shift_in_place(logits, targets):
    n, c = logits.shape
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    s = e.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(s[:, 0]) - logits[np.arange(n), targets]))
    return loss, (e / s - _onehot(targets, c)) / n


def _ce_target_column_only(logits, targets):
    n, _ = logits.shape
    rows = np.arange(n)
    loss = float(-np.mean(_log_softmax_rows(logits)[rows, targets]))
    return loss, (_softmax_rows(logits)[rows, targets] - 1.0) / n


def _ce_sum(logits, targets):
    n, c = logits.shape
    loss = float(-np.sum(_log_softmax_rows(logits)[np.arange(n), targets]))
    return loss, (_softmax_rows(logits) - _onehot(targets, c)) / n


def _torch_ce_backward(logits, targets):
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(z, torch.from_numpy(np.asarray(targets)))
    loss.backward()
    return float(loss.detach()), z.grad.numpy()


def _ce_family(rng: np.random.Generator) -> list[Case]:
    """Three (N, C) batches with int64 targets: two of moderate scores, one with scores up to ±10⁴."""
    cases = []
    for scale in (3.0, 3.0, None):
        n, c = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        logits = rng.normal(0.0, scale, size=(n, c)) if scale else rng.uniform(-1e4, 1e4, size=(n, c))
        cases.append(Case((logits, rng.integers(0, c, size=n).astype(np.int64))))
    return cases


CE_STABLE = "scores of ±10⁴ overflow exp(); subtract each row's maximum before exponentiating (log-sum-exp)."

register(Check(
    id="softmax_cross_entropy_backward", lesson=LESSON, reference=B.softmax_cross_entropy_backward,
    result="plain", probe=_probe_ce_backward, delegate=_torch_ce_backward,
    cases=[Case((np.array([[2.0, 1.0, 0.1]]), ints(0)),
                hint="one sample: the loss is −log softmax(z)[y] and dlogits = softmax(z) − onehot(y)."),
           Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), ints(2, 1))),
           Case((np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 5.0]]), ints(1, 2, 1)), hint=CE_STABLE),
           Case((np.array([[0.3, -0.2], [1.5, 1.5], [-2.0, 0.7], [0.0, 4.0]]), ints(1, 0, 0, 1)))],
    families=_ce_family,
    forbidden=DIFFERENTIATION + SOFTMAX_CE,
    hint="loss: the mean of −log softmax(z)[n, y_n]; dlogits = (softmax(z) − onehot(y)) / N, shape (N, C).",
    warning_hint=CE_STABLE,
    wrong=[WrongAnswer(_ce_shift_in_place, "`logits -= ...` shifts the caller's array in place; write the shifted "
                       "scores into a new variable.", clause="no_mutation"),
           WrongAnswer(_ce_naive_exp, CE_STABLE, clause="stability"),
           WrongAnswer(_ce_log_of_softmax, "log(softmax) hits log(0) when a target's score is far below its row's "
                       "maximum; compute the loss as log Σ e^{z − m} − (z_y − m).", clause="stability"),
           WrongAnswer(_ce_no_mean, "the loss is a mean over the N samples, so each sample's gradient is divided "
                       "by N as well: (softmax(z) − onehot(y)) / N."),
           WrongAnswer(_ce_minus_labels, "subtract the one-hot encoding of the targets (1 at column y_n of row n, 0 "
                       "elsewhere), not the label values themselves."),
           WrongAnswer(_ce_target_column_only, "every logit gets a gradient, not only the target's: dlogits has the "
                       "shape (N, C) of logits (softmax(z) − onehot(y), divided by N).", clause="shape"),
           WrongAnswer(_ce_loss_array, "return the loss as one float (the mean over all samples), not an array of "
                       "shape (1,): average without keepdims, or convert with float(...).", clause="dtype"),
           WrongAnswer(_ce_sum, "the loss is the mean over the N samples, not the sum.")],
))


# ---------------------------------------------------------------- two_layer_net

def _dtype_name(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return str(dtype) if dtype is not None else type(value).__name__


def _probe_two_layer_net(obj, args, kwargs):
    loss, grads = _pair(obj(*args, **kwargs), "two_layer_net", "grads")
    if not isinstance(grads, dict):
        raise TypeError(f"two_layer_net must return (loss, grads) with grads a dict; grads is a {type(grads).__name__}")
    return {"loss": _loss_value(loss),
            "grad keys": ", ".join(sorted(str(k) for k in grads)),
            "grad dtypes": {str(k): _dtype_name(v) for k, v in grads.items()},
            "grads": dict(grads)}


def _net_case(rng: np.random.Generator, activation: str | None) -> Case:
    n, d, h, c = (int(v) for v in (rng.integers(2, 7), rng.integers(1, 5), rng.integers(2, 6), rng.integers(2, 5)))
    params = {"W1": rng.normal(0.0, 1.0, size=(d, h)), "b1": rng.normal(0.0, 0.5, size=h),
              "W2": rng.normal(0.0, 1.0, size=(h, c)), "b2": rng.normal(0.0, 0.5, size=c)}
    X = rng.normal(0.0, 1.0, size=(n, d))
    if activation in (None, "relu"):
        X[int(rng.integers(n))] = 0.0                   # that sample's pre-activations are b1 …
        params["b1"][int(rng.integers(h))] = 0.0        # … one of them exactly 0: ReLU'(0) shows in db1
    y = rng.integers(0, c, size=n).astype(np.int64)
    return Case((params, X, y), {} if activation is None else {"activation": activation})


def _net_family(rng: np.random.Generator) -> list[Case]:
    return [_net_case(rng, [None, "relu", "tanh", "sigmoid"][int(rng.integers(4))]) for _ in range(3)]


def _act(z, activation, relu_at_zero=0.0, tanh_square=True):
    if activation == "relu":
        return np.maximum(z, 0.0), np.where(z > 0, 1.0, np.where(z == 0, relu_at_zero, 0.0))
    if activation == "tanh":
        t = np.tanh(z)
        return t, (1.0 - t * t) if tanh_square else (1.0 - t)
    if activation == "sigmoid":
        s = np.exp(-np.logaddexp(0.0, -z))
        return s, s * (1.0 - s)
    raise ValueError(f"unknown activation {activation!r}")


def _net(params, X, y, activation="relu", *, relu_at_zero=0.0, tanh_square=True, per_n=True, sum_db=True,
         any_activation=False, dtype=np.float64, keys=("W1", "b1", "W2", "b2"), batch_max=False):
    """The two-layer network's backward pass with one switch per known mistake."""
    if any_activation and activation not in ("tanh", "sigmoid"):
        activation = "relu"
    W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
    n, c = X.shape[0], W2.shape[1]
    z1 = X @ W1 + b1
    h, dact = _act(z1, activation, relu_at_zero, tanh_square)
    scores = h @ W2 + b2
    shifted = scores - (scores.max() if batch_max else scores.max(axis=1, keepdims=True))
    exps = np.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(totals[:, 0]) - shifted[np.arange(n), y]))
    dscores = exps / totals - _onehot(y, c)
    if per_n:
        dscores = dscores / n
    dz1 = (dscores @ W2.T) * dact
    grads = {"W1": X.T @ dz1, "b1": dz1.sum(axis=0) if sum_db else dz1,
             "W2": h.T @ dscores, "b2": dscores.sum(axis=0) if sum_db else dscores}
    return loss, {k: grads[k].astype(dtype) for k in keys}


def _net_into_params(params, X, y, activation="relu"):
    loss, grads = _net(params, X, y, activation)
    out = params                                        # not a copy: the caller's dict now holds gradients
    out.update(grads)
    return loss, out


def _torch_two_layer_net(params, X, y, activation="relu"):
    acts = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    if activation not in acts:
        raise ValueError(f"unknown activation {activation!r}")
    p = {k: torch.tensor(np.asarray(v), dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    hidden = acts[activation](torch.from_numpy(np.asarray(X)) @ p["W1"] + p["b1"])
    loss = torch.nn.functional.cross_entropy(hidden @ p["W2"] + p["b2"], torch.from_numpy(np.asarray(y)))
    loss.backward()
    return float(loss.detach()), {k: p[k].grad.numpy() for k in ("W1", "b1", "W2", "b2")}


_EXACT_ZEROS = ({"W1": np.array([[1.0, -0.5, 0.25], [-0.5, 1.0, 0.5]]), "b1": arr(0.0, 0.0, -0.5),
                 "W2": np.array([[1.0, -1.0], [0.5, 0.25], [-0.75, 1.5]]), "b2": arr(0.1, -0.1)},
                np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0]]), ints(0, 1, 1))
#: Scores near +400 in one row and −400 in the other: an unshifted softmax is still finite, but a shift by the
#: batch's single maximum underflows the second row to log(0), and adding the maximum overflows the first.
_LARGE_SCORES = ({"W1": np.array([[1.0, -1.0]]), "b1": arr(0.0, 0.0),
                  "W2": np.array([[400.0, 390.0], [-400.0, -410.0]]), "b2": arr(0.0, 0.0)},
                 np.array([[1.0], [-1.0]]), ints(1, 0))
_SMALL = ({"W1": np.array([[0.4, -1.2], [0.9, 0.3], [-0.6, 0.8]]), "b1": arr(0.1, -0.2),
           "W2": np.array([[1.1, -0.4, 0.3], [-0.7, 0.9, 0.5]]), "b2": arr(0.0, 0.2, -0.1)},
          np.array([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3], [-0.8, 0.6, 1.0], [0.0, -1.4, 0.7]]), ints(2, 0, 1, 1))

ROW_MAX = ("the scores here are about +400 in one row and −400 in the other: shift each row by its own maximum "
           "(axis=1, keepdims=True) before exponentiating, not by the maximum of the whole batch.")

register(Check(
    id="two_layer_net", lesson=LESSON, reference=B.two_layer_net,
    result="plain", probe=_probe_two_layer_net, delegate=_torch_two_layer_net,
    cases=[Case(_EXACT_ZEROS, hint="ReLU'(0) = 0, as in autograd: a unit whose pre-activation is exactly 0 passes "
                "no gradient back."),
           Case(_SMALL, {"activation": "tanh"}, hint="tanh'(z) = 1 − tanh(z)²."),
           Case(_SMALL, {"activation": "sigmoid"}, hint="σ'(z) = σ(z)(1 − σ(z))."),
           Case(_SMALL, {"activation": "relu"}),
           Case(_SMALL, {"activation": "softplus"}, hint="raise ValueError for an activation other than "
                "\"relu\", \"tanh\" or \"sigmoid\"."),
           Case(_LARGE_SCORES, hint=ROW_MAX)],
    families=_net_family,
    forbidden=DIFFERENTIATION + SOFTMAX_CE,
    hint="forward: z1 = X·W1 + b1, h = act(z1), scores = h·W2 + b2; backward from (softmax − onehot(y)) / N, "
         "through W2, then act'(z1), then W1; each bias gradient sums its layer's gradient over the batch.",
    wrong=[WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, relu_at_zero=1.0),
                       "ReLU'(0) is 0, as autograd has it: use (z1 > 0), not (z1 >= 0), so that a unit whose "
                       "pre-activation is exactly 0 passes no gradient back."),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, tanh_square=False),
                       "tanh'(z) = 1 − tanh(z)²: square the tanh."),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, per_n=False),
                       "the loss is a mean over the N samples, so its gradient (softmax − onehot(y)) is divided by "
                       "N before it flows back into every parameter."),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, sum_db=False),
                       "a bias is shared by every sample: sum its gradient over the batch (axis 0), so that it has "
                       "the bias's shape.", clause="shape"),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, keys=("W1", "W2")),
                       "return a gradient for every parameter: grads needs the keys W1, b1, W2 and b2.",
                       clause="shape"),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, dtype=np.float32),
                       "keep the gradients in float64, the parameters' dtype (no astype(np.float32)).",
                       clause="dtype"),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, any_activation=True),
                       "an unknown activation name must raise ValueError, not fall back to ReLU.", clause="errors"),
           WrongAnswer(lambda p, X, y, activation="relu": _net(p, X, y, activation, batch_max=True), ROW_MAX),
           WrongAnswer(_net_into_params, "`grads = params` is not a copy: storing the gradients in it overwrites "
                       "the caller's parameters. Build a new dict for the gradients.", clause="no_mutation")],
))
