"""Checks of lesson 01 (activation and output functions): declarations only, run by `collection` and judged by `judgement`."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import activations as A
from .. import losses as L
from .declaration import Case, Check, WrongAnswer, register
from .families import float_arrays, logits_and_targets

LESSON = "01_activation_functions"


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


OVERFLOW_NEG_X = "np.exp(-x) overflows for x ≪ 0; for negative x use e^x / (1 + e^x) (or compute e^{-|x|} once)."
WHERE_BOTH = ("np.where evaluates both branches on every element, so the branch you meant to avoid still "
              "overflows; compute z = np.exp(-np.abs(x)) once and build both branches from z.")
TORCH_ELEMENTWISE = ("torch.sigmoid", "torch.special.expit", "torch.nn.functional.sigmoid", "scipy.special.expit",
                     "torch.Tensor.sigmoid")

FLAT_LOOP = ("a loop over x.ravel() returns a flat 1-D array; give the result x's shape "
             "(reshape(x.shape), or use a vectorised NumPy expression).")


def _step_into_x(x):
    x[x > 0] = 1.0
    x[x <= 0] = 0.0
    return x


register(Check(
    id="step", lesson=LESSON,
    delegate=lambda x: np.heaviside(x, 0.0), reference=A.step,
    cases=[Case((arr(-2.0, -0.5, 0.0, 0.5, 3.0),), hint="step(0) is 0: only strictly positive inputs give 1."),
           Case((np.array([[0.0, 1e-9], [-1e-9, 7.0]]),))],
    families=float_arrays,
    forbidden=("numpy.heaviside",),
    wrong=[WrongAnswer(_step_into_x, "`x[x > 0] = 1.0` writes into the caller's array; build a new array "
                       "for the result instead.", clause="no_mutation"),
           WrongAnswer(lambda x: (x >= 0).astype(float), "step(0) is 0: use x > 0, not x >= 0."),
           WrongAnswer(lambda x: x > 0, "return 0.0/1.0 floats, not booleans: (x > 0).astype(float).", clause="dtype"),
           WrongAnswer(lambda x: np.sign(x), "np.sign gives -1 for negative inputs; the step function gives 0."),
           WrongAnswer(lambda x: np.array([1.0 if v > 0 else 0.0 for v in x.ravel()]), FLAT_LOOP, clause="shape")],
))


def _sigmoid_masks_into_x(x):
    out = x                                   # not a copy
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    out[~pos] = np.exp(x[~pos]) / (1.0 + np.exp(x[~pos]))
    return out


def _sigmoid_loop(x):
    return np.array([1.0 / (1.0 + math.exp(-v)) if v >= 0 else math.exp(v) / (1.0 + math.exp(v)) for v in x.ravel()])


register(Check(
    id="sigmoid", lesson=LESSON,
    delegate=lambda x: __import__("scipy.special", fromlist=["expit"]).expit(x), reference=A.sigmoid,
    cases=[Case((arr(-2.0, -1.0, 0.0, 1.0, 2.0),)),
           Case((arr(-1000.0, -30.0, 0.0, 30.0, 1000.0),), exact=False, hint=OVERFLOW_NEG_X),
           Case((arr(-1000.0, 1000.0),), exact=True,
                hint="sigmoid(-1000) must be exactly 0.0 and sigmoid(1000) exactly 1.0 in float64."),
           Case((np.array([[0.5, -0.5], [4.0, -4.0]]),))],
    families=float_arrays,
    forbidden=TORCH_ELEMENTWISE,
    warning_hint=OVERFLOW_NEG_X,
    wrong=[WrongAnswer(_sigmoid_masks_into_x, "`out = x` does not copy, so out[mask] = ... overwrites the caller's "
                       "array; start from out = np.empty_like(x).", clause="no_mutation"),
           WrongAnswer(lambda x: 1.0 / (1.0 + np.exp(-x)), OVERFLOW_NEG_X, clause="stability"),
           WrongAnswer(lambda x: np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))), WHERE_BOTH,
                       clause="stability"),
           WrongAnswer(lambda x: 1.0 / (1.0 + np.exp(x)), "σ(x) = 1/(1 + e^{-x}): check the sign of the exponent."),
           WrongAnswer(lambda x: np.exp(x) / (1.0 + np.exp(x)),
                       "e^x/(1 + e^x) gives inf/inf = nan for x ≫ 0; use it only where x < 0 and 1/(1 + e^{-x}) elsewhere.",
                       clause="stability"),
           WrongAnswer(_sigmoid_loop, FLAT_LOOP, clause="shape")],
))


def _tanh_naive(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))


def _tanh_doubling_x(x):
    x *= 2.0
    return 2.0 * A.sigmoid(x) - 1.0


def _tanh_loop(x):
    out = []
    for v in x.ravel():
        e = math.exp(-2.0 * abs(v))
        out.append(math.copysign((1.0 - e) / (1.0 + e), v))
    return np.array(out)


register(Check(
    id="tanh", lesson=LESSON,
    delegate=lambda x: np.tanh(x), reference=A.tanh,
    cases=[Case((arr(-2.0, -0.5, 0.0, 0.5, 2.0),)),
           Case((arr(-1000.0, -20.0, 20.0, 1000.0),), hint="e^x overflows past x ≈ 710; use e^{-2|x|} and the sign of x."),
           Case((np.array([[[0.1, -3.0]], [[5.0, 0.0]]]),))],
    families=float_arrays,
    forbidden=("numpy.tanh", "math.tanh", "torch.tanh", "torch.Tensor.tanh", "torch.nn.functional.tanh"),
    warning_hint="e^x overflows past x ≈ 710 (and np.sinh/np.cosh too); write tanh with e^{-2|x|} or as 2σ(2x) − 1.",
    wrong=[WrongAnswer(_tanh_doubling_x, "`x *= 2` doubles the caller's array too; compute 2 * x into a new variable.",
                       clause="no_mutation"),
           WrongAnswer(_tanh_naive, "(e^x − e^{-x})/(e^x + e^{-x}) overflows for |x| > 710; divide through by e^{|x|} first.",
                       clause="stability"),
           WrongAnswer(lambda x: np.sinh(x) / np.cosh(x), "np.sinh and np.cosh overflow past 710; use e^{-2|x|} or 2σ(2x) − 1.",
                       clause="stability"),
           WrongAnswer(_tanh_loop, FLAT_LOOP, clause="shape"),
           WrongAnswer(lambda x: 2 * A.sigmoid(x) - 1, "tanh(x) = 2σ(2x) − 1: the input is doubled too."),
           WrongAnswer(lambda x: 2 * A.sigmoid(2 * x), "tanh(x) = 2σ(2x) − 1: shift the result down by 1.")],
))


def _relu_into_x(x):
    x[x < 0] = 0.0
    return x


register(Check(
    id="relu", lesson=LESSON,
    delegate=lambda x: torch.relu(torch.from_numpy(x)).numpy(), reference=A.relu,
    cases=[Case((arr(-3.0, -0.5, 0.0, 0.5, 3.0),)), Case((np.array([[-1.0, 2.0], [3.0, -4.0]]),))],
    families=float_arrays,
    forbidden=("torch.relu", "torch.nn.functional.relu", "torch.Tensor.relu"),
    wrong=[WrongAnswer(_relu_into_x, "`x[x < 0] = 0` zeroes the caller's array; build a new array "
                       "for the result instead.", clause="no_mutation"),
           WrongAnswer(lambda x: np.array([max(v, 0.0) for v in x.ravel()]), FLAT_LOOP, clause="shape"),
           WrongAnswer(lambda x: np.clip(x, 0.0, 1.0), "ReLU has no upper bound: max(0, x), not clip(x, 0, 1)."),
           WrongAnswer(lambda x: np.abs(x), "ReLU maps negative inputs to 0, not to their absolute value."),
           WrongAnswer(lambda x: np.minimum(x, 0.0), "ReLU keeps the positive part: max(0, x), not min.")],
))


def _leaky_relu_into_x(x, alpha=0.01):
    x[x < 0] *= alpha
    return x


register(Check(
    id="leaky_relu", lesson=LESSON,
    delegate=lambda x, alpha=0.01: torch.nn.functional.leaky_relu(torch.from_numpy(x), alpha).numpy(), reference=A.leaky_relu,
    cases=[Case((arr(-100.0, -1.0, 0.0, 2.0),)),
           Case((arr(-3.0, -0.5, 0.5, 3.0),), {"alpha": 0.2}),
           Case((np.array([[-2.0, 4.0], [0.0, -8.0]]),), {"alpha": 0.5})],
    families=lambda rng: [Case(c.args, {"alpha": float(rng.uniform(0.01, 0.9))}) for c in float_arrays(rng, 3)],
    forbidden=("torch.nn.functional.leaky_relu", "torch.nn.functional.leaky_relu_"),
    wrong=[WrongAnswer(_leaky_relu_into_x,
                       "`x[x < 0] *= alpha` scales the caller's array; build a new array "
                       "for the result instead.", clause="no_mutation"),
           WrongAnswer(lambda x, alpha=0.01: np.array([v if v >= 0 else alpha * v for v in x.ravel()]), FLAT_LOOP,
                       clause="shape"),
           WrongAnswer(lambda x, alpha=0.01: np.where(x >= 0, x, 0.01 * x), "use the `alpha` argument, not a fixed 0.01."),
           WrongAnswer(lambda x, alpha=0.01: np.where(x >= 0, alpha * x, x), "the slope alpha applies to negative inputs; positive inputs pass unchanged."),
           WrongAnswer(lambda x, alpha=0.01: np.maximum(x, 0.0), "negative inputs keep a small slope: alpha·x, not 0.")],
))


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def _gelu_into_x(x):
    x *= 0.5 * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))
    return x


def _gelu_loop(x):
    return np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in x.ravel()])


register(Check(
    id="gelu", lesson=LESSON,
    delegate=lambda x: torch.nn.functional.gelu(torch.from_numpy(x)).numpy(), reference=A.gelu,
    cases=[Case((arr(-3.0, -1.0, 0.0, 1.0, 3.0),)), Case((np.array([[0.5, -0.5], [2.0, -2.0]]),))],
    families=float_arrays,
    forbidden=("torch.nn.functional.gelu",),
    wrong=[WrongAnswer(_gelu_into_x, "`x *= Φ(x)` multiplies the caller's array in place; return x * Φ(x), a new array.",
                       clause="no_mutation"),
           WrongAnswer(_gelu_loop, "math.erf takes one number at a time, and a loop over x.ravel() returns a flat array; "
                       "give the result x's shape (or use scipy.special.erf on the whole array).", clause="shape"),
           WrongAnswer(_gelu_tanh, "that is the tanh approximation (approximate='tanh'); use the exact x·Φ(x) with erf."),
           WrongAnswer(lambda x: x * A.sigmoid(1.702 * x), "x·σ(1.702x) only approximates GELU; use Φ(x) = (1 + erf(x/√2))/2."),
           WrongAnswer(lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x)), "Φ(x) = (1 + erf(x/√2))/2: divide x by √2 inside erf.")],
))


JACOBIAN = ("return the elementwise derivative with x's shape, not the diagonal Jacobian matrix (drop np.diag): "
            "the backward pass multiplies it elementwise with the upstream gradient.")


def _sigmoid_grad_into_x(x):
    x[...] = A.sigmoid(x)
    return x * (1.0 - x)


register(Check(
    id="sigmoid_grad", lesson=LESSON,
    delegate=lambda x: A.sigmoid_grad(x), reference=A.sigmoid_grad,
    cases=[Case((arr(-2.0, 0.0, 2.0),), hint="σ'(0) = 0.25."),
           Case((arr(-1000.0, -40.0, 40.0, 1000.0),), hint="far from 0 the derivative is tiny but finite; use σ(x)(1 − σ(x)) with a stable σ."),
           Case((np.array([[1.0, -1.0], [0.5, 3.0]]),))],
    families=float_arrays,
    forbidden=(),
    warning_hint="e^{-x}/(1 + e^{-x})² overflows for x ≪ 0; use σ(x)(1 − σ(x)) with a stable σ.",
    wrong=[WrongAnswer(_sigmoid_grad_into_x, "`x[...] = sigmoid(x)` overwrites the caller's array; keep σ(x) in a new "
                       "variable (s = sigmoid(x)).", clause="no_mutation"),
           WrongAnswer(lambda x: np.diag(A.sigmoid(x) * (1 - A.sigmoid(x))), JACOBIAN, clause="shape"),
           WrongAnswer(lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2, "e^{-x}/(1 + e^{-x})² overflows for x ≪ 0; use σ(x)(1 − σ(x)).",
                       clause="stability"),
           WrongAnswer(lambda x: A.sigmoid(x) * (1 + A.sigmoid(x)), "σ'(x) = σ(x)(1 − σ(x)): minus, not plus."),
           WrongAnswer(lambda x: A.sigmoid(x) ** 2, "σ'(x) = σ(x)(1 − σ(x)), not σ(x)².")],
))


def _tanh_grad_into_x(x):
    np.tanh(x, out=x)
    return 1.0 - x * x


register(Check(
    id="tanh_grad", lesson=LESSON,
    delegate=lambda x: A.tanh_grad(x), reference=A.tanh_grad,
    cases=[Case((arr(-2.0, 0.0, 2.0),), hint="tanh'(0) = 1."),
           Case((arr(-1000.0, -50.0, 50.0, 1000.0),)),
           Case((np.array([[0.3, -0.3], [1.5, -4.0]]),))],
    families=float_arrays,
    warning_hint="np.cosh overflows past x ≈ 710; use 1 − tanh(x)², which stays finite.",
    wrong=[WrongAnswer(_tanh_grad_into_x, "np.tanh(x, out=x) overwrites the caller's array; keep tanh(x) in a new variable.",
                       clause="no_mutation"),
           WrongAnswer(lambda x: np.diag(1.0 - np.tanh(x) ** 2), JACOBIAN, clause="shape"),
           WrongAnswer(lambda x: 1 / np.cosh(x) ** 2, "np.cosh overflows past x ≈ 710; use 1 − tanh(x)².", clause="stability"),
           WrongAnswer(lambda x: 1 - np.tanh(x), "tanh'(x) = 1 − tanh(x)²: square the tanh."),
           WrongAnswer(lambda x: 1 - np.tanh(x ** 2), "square the tanh, not its input: 1 − tanh(x)².")],
))

register(Check(
    id="relu_grad", lesson=LESSON,
    delegate=lambda x: A.relu_grad(x), reference=A.relu_grad,
    cases=[Case((arr(-1.0, 0.0, 1.0),), hint="PyTorch's autograd uses ReLU'(0) = 0."),
           Case((np.array([[-5.0, 5.0], [0.25, -0.25]]),))],
    families=float_arrays,
    wrong=[WrongAnswer(_step_into_x, "`x[x > 0] = 1.0` writes into the caller's array; build a new array "
                       "for the result instead.", clause="no_mutation"),
           WrongAnswer(lambda x: (x >= 0).astype(float), "at x = 0 the derivative used by autograd is 0: use x > 0."),
           WrongAnswer(lambda x: x > 0, "return 0.0/1.0 floats, not booleans: (x > 0).astype(float).", clause="dtype"),
           WrongAnswer(lambda x: np.diag((x > 0).astype(float)), JACOBIAN, clause="shape"),
           WrongAnswer(lambda x: np.maximum(x, 0.0), "that is ReLU itself; its derivative is 1 where x > 0 and 0 elsewhere.")],
))


SOFTMAX_SHIFT = "exp(1000) overflows; subtract the largest score before exponentiating."
SLICE_MAX = "subtract the maximum of each slice along `axis` (np.max(z, axis=axis, keepdims=True)), not of the whole array."


def _softmax_naive(z, axis=-1):
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_global_max(z, axis=-1):
    e = np.exp(z - z.max())
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_sum_all(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum()


def _softmax_shift_in_place(z, axis=-1):
    z -= z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _softmax_sum_no_keepdims(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis)


MEAN_SHIFT = ("subtracting the mean (or any shift but the largest score) still overflows when the scores of one slice "
              "spread over more than about 1400 (e.g. −1000 and 1000): subtract the maximum, so every exponent is ≤ 0.")


def _softmax_mean_shift(z, axis=-1):
    e = np.exp(z - z.mean(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax_mean_shift(z, axis=-1):
    shifted = z - z.mean(axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


KEEPDIMS = ("a reduction along `axis` without keepdims=True drops that axis, so it no longer broadcasts against z "
            "for (N, C) inputs; keep it with keepdims=True.")


def _softmax_axes(rng: np.random.Generator) -> list[Case]:
    cases = []
    for c in float_arrays(rng, 4, scale=5.0):
        x = c.args[0]
        cases.append(Case((x,), {"axis": int(rng.integers(-x.ndim, x.ndim))}))
    return cases


register(Check(
    id="softmax", lesson=LESSON,
    delegate=lambda z, axis=-1: __import__("scipy.special", fromlist=["softmax"]).softmax(z, axis=axis), reference=A.softmax,
    cases=[Case((arr(2.0, 1.0, 0.1),)),
           Case((arr(1000.0, 1001.0),), hint=SOFTMAX_SHIFT),
           Case((arr(-1000.0, 0.0, 1000.0),), hint=MEAN_SHIFT),
           Case((np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),)),
           Case((np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),), {"axis": 0},
                hint="normalise along `axis` only: sum with axis=axis and keepdims=True."),
           Case((np.array([[0.0, 1.0], [-2000.0, -1999.0]]),), hint=SLICE_MAX)],
    families=_softmax_axes,
    forbidden=("scipy.special.softmax", "torch.softmax", "torch.nn.functional.softmax", "torch.Tensor.softmax",
               "torch.special.softmax"),
    warning_hint=SOFTMAX_SHIFT,
    wrong=[WrongAnswer(_softmax_shift_in_place, "`z -= ...` shifts the caller's array in place; write "
                       "z - np.max(...) into a new variable.", clause="no_mutation"),
           WrongAnswer(_softmax_global_max, SLICE_MAX, clause="per_slice"),
           WrongAnswer(_softmax_mean_shift, MEAN_SHIFT, clause="stability"),
           WrongAnswer(_softmax_naive, SOFTMAX_SHIFT, clause="stability"),
           WrongAnswer(_softmax_sum_all, "divide by the sum along `axis` (keepdims=True), not by the sum of the whole array."),
           WrongAnswer(_softmax_sum_no_keepdims, KEEPDIMS, clause="shape")],
))


LOG_UNDERFLOW = "log(softmax(z)) takes log(0) when an entry is far below the max; use z − m − log Σ exp(z − m)."


def _log_softmax_naive(z, axis=-1):
    return np.log(A.softmax(z, axis=axis))


def _log_softmax_unshifted(z, axis=-1):
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _log_softmax_shift_in_place(z, axis=-1):
    z -= z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def _log_softmax_global_max(z, axis=-1):
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _log_softmax_max_no_keepdims(z, axis=-1):
    shifted = z - z.max(axis=axis)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


register(Check(
    id="log_softmax", lesson=LESSON,
    delegate=lambda z, axis=-1: torch.log_softmax(torch.from_numpy(z), dim=axis).numpy(), reference=A.log_softmax,
    cases=[Case((arr(2.0, 1.0, 0.1),)),
           Case((arr(0.0, -1000.0),), hint=LOG_UNDERFLOW),
           Case((arr(1000.0, 1001.0),), hint=SOFTMAX_SHIFT),
           Case((arr(-1000.0, 0.0, 1000.0),), hint=MEAN_SHIFT),
           Case((np.array([[1.0, 2.0], [3.0, 5.0]]),), {"axis": 0}),
           Case((np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]),),
                hint="reduce along `axis` only, with keepdims=True, so the max and the log-sum broadcast against z."),
           Case((np.array([[0.0, 1.0], [1000.0, 1001.0]]),), hint=SLICE_MAX)],
    families=_softmax_axes,
    forbidden=("scipy.special.log_softmax", "torch.log_softmax", "torch.nn.functional.log_softmax",
               "torch.Tensor.log_softmax", "torch.special.log_softmax"),
    warning_hint=LOG_UNDERFLOW,
    wrong=[WrongAnswer(_log_softmax_shift_in_place, "`z -= ...` shifts the caller's array in place; write "
                       "z - np.max(...) into a new variable.", clause="no_mutation"),
           WrongAnswer(_log_softmax_naive, LOG_UNDERFLOW, clause="stability"),
           WrongAnswer(_log_softmax_mean_shift, MEAN_SHIFT, clause="stability"),
           WrongAnswer(_log_softmax_unshifted, SOFTMAX_SHIFT, clause="stability"),
           WrongAnswer(lambda z, axis=-1: z - z.max(axis=axis, keepdims=True),
                       "after subtracting the max, also subtract log Σ exp(z − m)."),
           WrongAnswer(_log_softmax_global_max, SLICE_MAX, clause="per_slice"),
           WrongAnswer(_log_softmax_max_no_keepdims, KEEPDIMS, clause="shape")],
))


CE_FORBIDDEN = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss", "torch.nn.CrossEntropyLoss",
                "torch.nn.modules.loss.CrossEntropyLoss", "sklearn.metrics.log_loss")


def _ce_of_softmax(logits, targets):
    p = A.softmax(A.softmax(logits))
    return float(-np.mean(np.log(p[np.arange(len(targets)), targets])))


def _ce_sum(logits, targets):
    return float(-np.sum(A.log_softmax(logits)[np.arange(len(targets)), targets]))


def _ce_naive(logits, targets):
    e = np.exp(logits)
    return float(-np.mean(np.log(e[np.arange(len(targets)), targets] / e.sum(axis=1))))


def _ce_shift_in_place(logits, targets):
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(targets)), targets]))


def _ce_global_max(logits, targets):
    shifted = logits - logits.max()
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probs[np.arange(len(targets)), targets]))


def _ce_keepdims(logits, targets):
    onehot = np.eye(logits.shape[1])[targets]
    per_sample = -np.sum(onehot * A.log_softmax(logits), axis=1, keepdims=True)
    return per_sample.mean(axis=0)


ONE_FLOAT = ("return one float (the mean over all samples), not an array of shape (1,): average over every "
             "entry without keepdims, or convert with float(...).")


register(Check(
    id="cross_entropy", lesson=LESSON,
    delegate=lambda z, y: float(torch.nn.functional.cross_entropy(torch.from_numpy(z), torch.from_numpy(y))), reference=L.cross_entropy, result="float",
    cases=[Case((np.array([[2.0, 1.0, 0.1]]), np.array([0]))),
           Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([2, 1]))),
           Case((np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 5.0]]), np.array([1, 2, 1])),
                hint="scores of ±10⁴ overflow exp(); use the log-sum-exp trick (subtract each row's max).")],
    families=logits_and_targets,
    forbidden=CE_FORBIDDEN,
    warning_hint="scores of ±10⁴ overflow exp(); use log-sum-exp: log Σ e^{z} = m + log Σ e^{z − m}.",
    wrong=[WrongAnswer(_ce_shift_in_place, "`logits -= ...` shifts the caller's array in place; write the shifted "
                       "scores into a new variable.", clause="no_mutation"),
           WrongAnswer(_ce_naive, "exp() of large scores overflows (or log of 0); use log-sum-exp with the row max subtracted.",
                       clause="stability"),
           WrongAnswer(_ce_of_softmax, "cross_entropy takes raw scores (logits); it applies log-softmax itself — don't apply softmax first."),
           WrongAnswer(_ce_sum, "return the mean over the N samples, not the sum."),
           WrongAnswer(_ce_global_max, "subtract each row's own maximum (axis=1, keepdims=True), not the maximum of the whole "
                       "batch: a row far below it underflows to log(0).", clause="per_slice"),
           WrongAnswer(_ce_keepdims, ONE_FLOAT, clause="dtype")],
))


BCE_FORBIDDEN = ("torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.functional.binary_cross_entropy",
                 "torch.nn.BCEWithLogitsLoss", "torch.nn.BCELoss", "sklearn.metrics.log_loss")
BCE_STABLE = "use the stable form max(z, 0) − z·y + log(1 + e^{−|z|}) (np.log1p)."


def _bce_naive(z, y):
    p = 1 / (1 + np.exp(-z))
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _bce_swapped(z, y):
    p = A.sigmoid(z)
    with np.errstate(all="ignore"):
        return float(-np.mean((1 - y) * np.log(p) + y * np.log(1 - p)))


def _bce_pm1_in_place(z, y):
    y[y == 0] = -1.0                               # labels in {-1, +1}
    return float(np.mean(np.logaddexp(0.0, -y * z)))


def _bce_column(z, y):
    z, y = z.reshape(-1, 1), y.reshape(-1, 1)      # (N, 1), as a network's output layer gives
    terms = np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    return terms.mean(axis=0)


register(Check(
    id="binary_cross_entropy", lesson=LESSON,
    delegate=lambda z, y: float(torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(z), torch.from_numpy(y))), reference=L.binary_cross_entropy, result="float",
    cases=[Case((arr(0.0, 2.0, -1.0), arr(1.0, 0.0, 1.0))),
           Case((arr(1e4, -1e4, 50.0, -50.0), arr(0.0, 1.0, 1.0, 0.0)),
                hint="σ(±10⁴) rounds to exactly 0 or 1, so log(σ) hits log(0); " + BCE_STABLE)],
    families=lambda rng: [Case((rng.normal(0, 4, size=n), rng.integers(0, 2, size=n).astype(np.float64)))
                          for n in rng.integers(2, 12, size=4)],
    forbidden=BCE_FORBIDDEN,
    warning_hint="σ(z) rounds to exactly 0 or 1 for large |z|, so log() overflows; " + BCE_STABLE,
    wrong=[WrongAnswer(_bce_pm1_in_place, "`targets[targets == 0] = -1` rewrites the caller's labels; build the ±1 "
                       "labels as a new array (2 * targets - 1).", clause="no_mutation"),
           WrongAnswer(_bce_naive, "log(σ(z)) breaks down for large |z|; " + BCE_STABLE, clause="stability"),
           WrongAnswer(_bce_swapped, "the y = 1 term is y·log σ(z); the y = 0 term is (1 − y)·log(1 − σ(z))."),
           WrongAnswer(lambda z, y: float(np.sum(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))))),
                       "return the mean over the samples, not the sum."),
           WrongAnswer(_bce_column, ONE_FLOAT, clause="dtype")],
))


# ---------------------------------------------------------------- torch: output layers and losses

def _t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64).copy())


def _problem_input(problem: str, rng: np.random.Generator) -> torch.Tensor:
    n, c = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    shape = (n, c) if problem in ("multiclass", "multilabel") else (n,)
    return _t(rng.normal(0, 2, size=shape))


def _ref_output(problem: str):
    """The reference answer without going through the (trapped) public function."""
    L._require_known(problem)
    return L._OUTPUTS[problem]


def _ref_loss(problem: str):
    L._require_known(problem)
    return L._LOSSES[problem]()


def _probe_output(obj, args, kwargs):
    problem, x = args
    f = obj(problem)
    return f(x)


PROBLEMS = L.PROBLEM_TYPES


def _output_cases(rng: np.random.Generator) -> list[Case]:
    return [Case((p, _problem_input(p, rng))) for p in rng.permutation(PROBLEMS)[:3]]


KEY_ERROR = ("a dict lookup raises KeyError for an unknown problem type; raise ValueError instead "
             "(check `problem` first, or catch the KeyError).")

_fixed = np.random.default_rng(7)
register(Check(
    id="output_activation", lesson=LESSON,
    delegate=lambda p: L.output_activation(p), reference=L.output_activation, result="plain",
    cases=[Case((p, _problem_input(p, _fixed))) for p in PROBLEMS]
    + [Case(("softmax", _t(np.zeros(3))), hint="raise ValueError for an unknown problem type.")],
    families=_output_cases,
    probe=_probe_output,
    hint="binary/multilabel: sigmoid; multiclass: softmax over dim 1; regression: identity; positive_regression: exp.",
    wrong=[WrongAnswer(lambda p: {"multiclass": lambda z: torch.softmax(z, dim=0)}.get(p) or _ref_output(p),
                       "softmax must normalise over the classes of each sample: dim=1.", clause="per_slice"),
           WrongAnswer(lambda p: {"multilabel": lambda z: torch.softmax(z, dim=1)}.get(p) or _ref_output(p),
                       "multilabel outputs are independent yes/no decisions: one sigmoid per class, not a softmax."),
           WrongAnswer(lambda p: {"positive_regression": torch.relu}.get(p) or _ref_output(p),
                       "a ReLU output unit can get stuck at 0; use exp (a log link) for positive targets."),
           WrongAnswer(lambda p: {q: _ref_output(q) for q in PROBLEMS}[p], KEY_ERROR, clause="errors")],
))


def _loss_target(problem: str, x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    if problem == "multiclass":
        return torch.from_numpy(rng.integers(0, x.shape[1], size=x.shape[0]).astype(np.int64))
    if problem in ("binary", "multilabel"):
        return _t(rng.integers(0, 2, size=tuple(x.shape)))
    if problem == "positive_regression":
        return _t(rng.poisson(3.0, size=tuple(x.shape)))
    return _t(rng.normal(0, 2, size=tuple(x.shape)))


def _probe_loss(obj, args, kwargs):
    problem, x, y = args
    loss = obj(problem)
    again = obj(problem)
    return {
        "is_module": isinstance(loss, nn.Module),
        "new_instance": loss is not again,
        "value": loss(x, y).detach() if isinstance(loss, nn.Module) else None,
    }


def _loss_cases(rng: np.random.Generator, problems=None) -> list[Case]:
    cases = []
    for p in problems or list(rng.permutation(PROBLEMS)[:3]):
        x = _problem_input(str(p), rng)
        cases.append(Case((str(p), x, _loss_target(str(p), x, rng))))
    return cases


_CACHED_LOSS = {}


def _same_instance(p):
    if p not in _CACHED_LOSS:
        _CACHED_LOSS[p] = _ref_loss(p)
    return _CACHED_LOSS[p]


def _loss_by_dict(p):
    losses = {"binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss, "multilabel": nn.BCEWithLogitsLoss,
              "regression": nn.MSELoss, "positive_regression": lambda: nn.PoissonNLLLoss(log_input=True)}
    return losses[p]()


register(Check(
    id="loss_for", lesson=LESSON,
    delegate=lambda p: L.loss_for(p), reference=L.loss_for, result="plain",
    cases=_loss_cases(np.random.default_rng(11), PROBLEMS)
    + [Case(("ranking", _t(np.zeros(2)), _t(np.zeros(2))), hint="raise ValueError for an unknown problem type.")],
    families=_loss_cases,
    probe=_probe_loss,
    hint="pair each problem with the loss that takes raw outputs: BCEWithLogitsLoss, CrossEntropyLoss, "
         "BCEWithLogitsLoss, MSELoss, PoissonNLLLoss(log_input=True).",
    wrong=[WrongAnswer(lambda p: nn.BCELoss() if p in ("binary", "multilabel") else _ref_loss(p),
                       "BCELoss expects probabilities, but the network outputs raw logits: use BCEWithLogitsLoss."),
           WrongAnswer(lambda p: nn.NLLLoss() if p == "multiclass" else _ref_loss(p),
                       "NLLLoss expects log-probabilities; CrossEntropyLoss takes raw logits and applies log-softmax itself."),
           WrongAnswer(lambda p: nn.PoissonNLLLoss(log_input=False) if p == "positive_regression" else _ref_loss(p),
                       "the network outputs log(rate) (log link): PoissonNLLLoss(log_input=True)."),
           WrongAnswer(lambda p: nn.MSELoss() if p == "positive_regression" else _ref_loss(p),
                       "for counts and other positive targets use PoissonNLLLoss(log_input=True) on the log-rate output."),
           WrongAnswer(_same_instance, "return a new loss instance on every call, e.g. nn.MSELoss(), not a shared one."),
           WrongAnswer(_loss_by_dict, KEY_ERROR, clause="errors")],
))
