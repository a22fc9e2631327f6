"""Checks of lesson 03 (regularization and optimization): declarations only, run by `collection` and judged by `judgement`.

Torch exercises are checked on float64 tensors. Where the contract is about *behaviour* (a
`params` argument read once as a generator, gradients clipped in place, optimizer state kept in a
list, dropout's randomness), a `probe` runs the scenario and returns what is observable as plain
data; `judgement` compares that with the reference's. Every case is rebuilt from its own seed
(`Case(make=...)`), so the grader can rebuild it in another process.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import gradients as G
from .. import momentum as M
from .. import regularization as R
from .. import schedules as S
from .declaration import Case, Check, WrongAnswer, register

LESSON = "03_regularization_and_optimization"

GENERATOR_ONCE = ("`params` may be a one-shot generator such as model.parameters(): it can be looped over only "
                  "once, so turn it into a list first (params = list(params)).")


def _tensors(seed: int, shapes, scale: float = 1.5, zeros: int = 0, requires_grad: bool = True) -> list[torch.Tensor]:
    """Fresh float64 leaf tensors drawn from `seed`; the first `zeros` entries of the first tensor are exactly 0."""
    rng = np.random.default_rng(seed)
    out = []
    for i, shape in enumerate(shapes):
        a = rng.normal(0.0, scale, size=shape)
        if i == 0 and zeros:
            a.reshape(-1)[:zeros] = 0.0
        out.append(torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad))
    return out


def _random_shapes(rng: np.random.Generator, max_tensors: int = 3) -> list[tuple[int, ...]]:
    shapes = []
    for _ in range(int(rng.integers(1, max_tensors + 1))):
        ndim = int(rng.integers(1, 3))
        shapes.append(tuple(int(n) for n in rng.integers(1, 5, size=ndim)))
    return shapes


def _kind(out) -> str:
    """What a function returned, in words (compared as a string, so a mismatch reads well)."""
    if isinstance(out, torch.Tensor):
        return "a 0-d tensor" if out.dim() == 0 else f"a tensor of shape {tuple(out.shape)}"
    return f"a {type(out).__name__}"


# ============================================================================ l1_penalty / l2_penalty

def _probe_penalty(obj, args, kwargs):
    """penalty((p for p in params), lam): value, then backward() and the gradient of every tensor."""
    params, lam = args
    out = obj((p for p in params), lam, **kwargs)
    facts = {"returns": _kind(out)}
    if facts["returns"] != "a 0-d tensor":
        return facts
    facts["value"] = out.detach()
    facts["backpropagates"] = "yes" if out.requires_grad else "no: the result has no grad_fn"
    if out.requires_grad:
        out.backward()
        facts["gradient of each tensor"] = [p.grad for p in params]
    return facts


def _penalty_cases(seed_base: int):
    def make(seed, shapes, lam, zeros=0):
        return Case(make=lambda: ((_tensors(seed, shapes, zeros=zeros), lam), {}))
    return [make(seed_base, [(3,)], 0.5, zeros=1),
            make(seed_base + 1, [(2, 3), (3,), (1, 2)], 0.1, zeros=2),
            make(seed_base + 2, [(4, 2)], 1.0)]


def _penalty_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        seed, shapes, lam = int(rng.integers(2**31)), _random_shapes(rng), float(rng.uniform(0.01, 2.0))
        zeros = int(rng.integers(0, 2))
        cases.append(Case(make=lambda s=seed, sh=shapes, l=lam, z=zeros: ((_tensors(s, sh, zeros=z), l), {})))
    return cases


def _l1_mean(params, lam):
    return lam * sum(p.abs().mean() for p in params)


def _l1_item(params, lam):
    return float(lam * sum(p.abs().sum() for p in params))


def _l1_sqrt(params, lam):
    return lam * sum(torch.sqrt(p * p).sum() for p in params)


def _l1_squares(params, lam):
    return lam * sum((p * p).sum() for p in params)


def _l1_first_for_dtype(params, lam):
    total = torch.zeros((), dtype=next(iter(params)).dtype)  # next() uses up the first tensor of a generator
    for p in params:
        total = total + p.abs().sum()
    return lam * total


register(Check(
    id="l1_penalty", lesson=LESSON, reference=R.l1_penalty, result="plain", probe=_probe_penalty,
    cases=_penalty_cases(301), families=_penalty_family,
    forbidden=("torch.nn.functional.l1_loss", "torch.nn.L1Loss", "torch.nn.modules.loss.L1Loss"),
    delegate=lambda params, lam: lam * sum(F.l1_loss(p, torch.zeros_like(p), reduction="sum") for p in params),
    hint="λ·Σ|w| over every entry of every tensor, as a 0-d tensor that autograd can differentiate.",
    wrong=[WrongAnswer(_l1_item, "return the tensor itself, not a Python number (.item()/float() cut the autograd graph).",
                       clause="autograd"),
           WrongAnswer(_l1_mean, "sum |w| over every entry (.sum()), don't average: the penalty is λ·Σ|w|."),
           WrongAnswer(_l1_sqrt, "sqrt(w²) has no gradient at w = 0 (autograd returns nan there); use w.abs().",
                       clause="autograd"),
           WrongAnswer(_l1_squares, "that is the L2 penalty (λ·Σw²); L1 sums absolute values: λ·Σ|w|."),
           WrongAnswer(_l1_first_for_dtype, "`params` may be a one-shot generator: next(iter(params)) took its first "
                                            "tensor out of the loop. Read it once (params = list(params)) or start "
                                            "the sum from the first term.", clause="generator")],
))


def _l2_half(params, lam):
    return 0.5 * lam * sum((p * p).sum() for p in params)


def _l2_norm(params, lam):
    return lam * torch.sqrt(sum((p * p).sum() for p in params))


def _l2_item(params, lam):
    return float(lam * sum((p * p).sum() for p in params))


def _l2_mean(params, lam):
    return lam * sum((p * p).mean() for p in params)


def _l2_first_for_dtype(params, lam):
    first = next(iter(params))  # takes the first tensor out of a generator: the loop below never sees it
    total = torch.zeros((), dtype=first.dtype, device=first.device)
    for p in params:
        total = total + (p * p).sum()
    return lam * total


register(Check(
    id="l2_penalty", lesson=LESSON, reference=R.l2_penalty, result="plain", probe=_probe_penalty,
    cases=_penalty_cases(311), families=_penalty_family,
    forbidden=("torch.nn.functional.mse_loss", "torch.nn.MSELoss", "torch.nn.modules.loss.MSELoss"),
    delegate=lambda params, lam: lam * sum(F.mse_loss(p, torch.zeros_like(p), reduction="sum") for p in params),
    hint="λ·Σw² over every entry of every tensor, as a 0-d tensor that autograd can differentiate.",
    wrong=[WrongAnswer(_l2_item, "return the tensor itself, not a Python number (.item()/float() cut the autograd graph).",
                       clause="autograd"),
           WrongAnswer(_l2_half, "this lesson's L2 term is λ·Σw² without the ½ (so it matches weight_decay = 2λ)."),
           WrongAnswer(_l2_norm, "square the weights and sum them: λ·Σw², not λ·‖w‖ (no square root)."),
           WrongAnswer(_l2_mean, "sum w² over every entry (.sum()), don't average: the penalty is λ·Σw²."),
           WrongAnswer(_l2_first_for_dtype, "`params` may be a one-shot generator: next(iter(params)) took its first "
                                            "tensor out of the loop. Read it once (params = list(params)) or start "
                                            "the sum from the first term.", clause="generator")],
))


# ============================================================================ regularized_bce

def _probe_bce(obj, args, kwargs):
    logits, targets, weights = args
    out = obj(logits, targets, (w for w in weights), **kwargs)
    facts = {"returns": _kind(out)}
    if facts["returns"] != "a 0-d tensor":
        return facts
    facts["value"] = out.detach()
    facts["backpropagates"] = "yes" if out.requires_grad else "no: the result has no grad_fn"
    if out.requires_grad:
        out.backward()
        facts["gradient of the logits"] = logits.grad
        facts["gradient of each weight tensor"] = [w.grad for w in weights]
    return facts


def _bce_case(seed: int, n: int, shapes, l1: float | None, l2: float | None, hint: str | None = None) -> Case:
    """l1/l2 None: the keyword is not passed, so the function's default is used."""
    def make():
        rng = np.random.default_rng(seed)
        logits = torch.tensor(rng.normal(0, 2, size=n), requires_grad=True)
        targets = torch.tensor(rng.integers(0, 2, size=n).astype(np.float64))
        kwargs = {k: v for k, v in (("l1", l1), ("l2", l2)) if v is not None}
        return (logits, targets, _tensors(seed + 1, shapes)), kwargs
    return Case(make=make, hint=hint)


def _bce_family(rng: np.random.Generator) -> list[Case]:
    return [_bce_case(int(rng.integers(2**31)), int(rng.integers(2, 12)), _random_shapes(rng),
                      float(rng.choice([0.0, rng.uniform(0.01, 0.5)])), float(rng.uniform(0.01, 0.5)))
            for _ in range(3)]


def _bce_per_n(logits, targets, weights, l1=0.0, l2=0.0):
    ws = list(weights)
    n = logits.shape[0]
    return (F.binary_cross_entropy_with_logits(logits, targets)
            + (l1 * sum(w.abs().sum() for w in ws) + l2 * sum((w * w).sum() for w in ws)) / n)


def _bce_generator_twice(logits, targets, weights, l1=0.0, l2=0.0):
    loss = F.binary_cross_entropy_with_logits(logits, targets)
    loss = loss + l1 * sum(w.abs().sum() for w in weights)
    return loss + l2 * sum((w * w).sum() for w in weights)  # the generator is already exhausted here


def _bce_sum(logits, targets, weights, l1=0.0, l2=0.0):
    ws = list(weights)
    return (F.binary_cross_entropy_with_logits(logits, targets, reduction="sum")
            + l1 * sum(w.abs().sum() for w in ws) + l2 * sum((w * w).sum() for w in ws))


def _bce_of_probabilities(logits, targets, weights, l1=0.0, l2=0.0):
    ws = list(weights)
    return (F.binary_cross_entropy_with_logits(torch.sigmoid(logits), targets)
            + l1 * sum(w.abs().sum() for w in ws) + l2 * sum((w * w).sum() for w in ws))


def _bce_penalty_item(logits, targets, weights, l1=0.0, l2=0.0):
    penalty = sum(l1 * w.abs().sum().item() + l2 * (w * w).sum().item() for w in weights)  # plain floats
    return F.binary_cross_entropy_with_logits(logits, targets) + penalty


def _bce_plus_minus_one_in_place(logits, targets, weights, l1=0.0, l2=0.0):
    ws = list(weights)
    y = targets.mul_(2.0).sub_(1.0)  # {0, 1} -> {-1, +1}, written into the caller's targets
    return (F.softplus(-y * logits).mean()
            + l1 * sum(w.abs().sum() for w in ws) + l2 * sum((w * w).sum() for w in ws))


register(Check(
    id="regularized_bce", lesson=LESSON, reference=R.regularized_bce, result="plain", probe=_probe_bce,
    cases=[_bce_case(321, 4, [(3,)], 0.0, 0.0), _bce_case(322, 5, [(2, 3), (2,)], 0.0, 0.1),
           _bce_case(323, 6, [(3, 2), (1, 3)], 0.05, 0.0), _bce_case(324, 8, [(4,), (2, 2), (3,)], 0.05, 0.2),
           _bce_case(325, 5, [(2, 2)], None, None,
                     hint="called without l1 and l2, the defaults l1=0.0 and l2=0.0 apply: no penalty is added.")],
    families=_bce_family,
    forbidden=(),
    delegate=lambda logits, targets, weights, l1=0.0, l2=0.0: R.regularized_bce(logits, targets, weights, l1, l2),
    hint="mean BCE from logits (F.binary_cross_entropy_with_logits) + l1·Σ|w| + l2·Σw² over every tensor in weights.",
    wrong=[WrongAnswer(_bce_plus_minus_one_in_place, "don't write into `targets` (targets.mul_(2).sub_(1) changes the "
                                                     "caller's labels); build the ±1 labels as a new tensor: "
                                                     "y = 2 * targets - 1.", clause="no_mutation"),
           WrongAnswer(_bce_generator_twice, "`weights` may be a one-shot generator: the L1 sum used it up and the L2 "
                                             "sum saw nothing. Read it once: weights = list(weights).",
                       clause="generator"),
           WrongAnswer(_bce_penalty_item, "keep the penalties as tensors: .item()/float() cut them out of the autograd "
                                          "graph, so the weights get no gradient from l1·Σ|w| + l2·Σw².",
                       clause="autograd"),
           WrongAnswer(_bce_per_n, "the penalties are added as they are, not divided by the number of samples N."),
           WrongAnswer(_bce_sum, "the data term is the *mean* BCE over the samples (the default reduction), not the sum."),
           WrongAnswer(_bce_of_probabilities, "binary_cross_entropy_with_logits takes the raw logits; don't apply "
                                              "the sigmoid first.")],
))


# ============================================================================ soft_threshold

def _probe_soft_threshold(obj, args, kwargs):
    out = obj(*args, **kwargs)
    return {"value": out, "dtype": str(getattr(out, "dtype", type(out).__name__)).removeprefix("torch.")}


def _st_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(4):
        shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 3))))
        w = rng.normal(0, 1.5, size=shape)
        t = float(rng.uniform(0.0, 1.5))
        cases.append(Case((torch.from_numpy(w) if i % 2 else w, t)))
    return cases


def _st_no_clamp(w, t):
    return w - t * (torch.sign(w) if isinstance(w, torch.Tensor) else np.sign(w))


def _st_no_sign(w, t):
    if isinstance(w, torch.Tensor):
        return torch.clamp(w.abs() - t, min=0.0)
    return np.maximum(np.abs(w) - t, 0.0)


def _st_clip(w, t):
    if isinstance(w, torch.Tensor):
        return torch.clamp(w, -t, t)
    return np.clip(w, -t, t)


def _st_numpy_only(w, t):
    w = np.asarray(w)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


def _st_in_place(w, t):
    if isinstance(w, torch.Tensor):
        w.copy_(torch.sign(w) * torch.clamp(w.abs() - t, min=0.0))
    else:
        w[...] = np.sign(w) * np.maximum(np.abs(w) - t, 0.0)
    return w


register(Check(
    id="soft_threshold", lesson=LESSON, reference=R.soft_threshold, result="plain", probe=_probe_soft_threshold,
    cases=[Case((np.array([-2.0, -0.5, 0.0, 0.3, 1.5]), 1.0)),
           Case((torch.tensor([[-2.0, 0.25], [0.75, 3.0]], dtype=torch.float64), 0.5),
                hint="a tensor in, a tensor out: use torch operations (torch.sign, torch.clamp) for tensors."),
           Case((np.array([[0.4, -0.4], [-1.2, 2.0]]), 0.0)),
           Case((torch.tensor([1.0, -1.0, 0.1], dtype=torch.float32), 0.25),
                hint="keep the input's dtype: float32 in, float32 out.")],
    families=_st_family,
    forbidden=("torch.nn.functional.softshrink", "torch.nn.Softshrink", "torch.nn.modules.activation.Softshrink",
               "torch._C._nn.softshrink"),
    delegate=lambda w, t: (F.softshrink(w, t) if isinstance(w, torch.Tensor)
                           else F.softshrink(torch.from_numpy(w), t).numpy()),
    hint="S_t(w) = sign(w)·max(|w| − t, 0): shrink every entry towards 0 by t, and stop at 0.",
    wrong=[WrongAnswer(_st_no_clamp, "entries with |w| ≤ t must become exactly 0, not cross over to the other sign: "
                                     "use max(|w| − t, 0)."),
           WrongAnswer(_st_no_sign, "multiply by sign(w): negative weights must stay negative."),
           WrongAnswer(_st_clip, "soft-thresholding shrinks towards 0 (sign(w)·max(|w| − t, 0)); clipping to [−t, t] "
                                 "is a different operation."),
           WrongAnswer(_st_in_place, "return a new array/tensor; don't overwrite w.", clause="no_mutation"),
           WrongAnswer(_st_numpy_only, "a tensor in, a tensor out: use torch operations (torch.sign, torch.clamp) "
                                       "when w is a torch.Tensor.", clause="dtype")],
))


# ============================================================================ dropout

def _dropout_facts(obj, x: torch.Tensor, p: float, kw: dict, large: bool) -> dict:
    """Observable properties of inverted dropout, as words (masks are never compared with torch's).

    `kw` are the case's own keywords (training, generator), passed only when the case gives them, so
    that the defaults are exercised too."""
    gen = kw.get("generator")
    seed = None if gen is None else gen.initial_seed()
    torch.manual_seed(1234)
    out = obj(x, p, **kw)
    facts = {"returns": "a tensor" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}"}
    if not isinstance(out, torch.Tensor):
        return facts
    facts.update({"shape": list(out.shape), "dtype": str(out.dtype).removeprefix("torch."), "device": out.device.type,
                  "result": "x itself" if out is x else "a new tensor"})
    if list(out.shape) != list(x.shape):
        return facts
    kept = out != 0
    same = torch.allclose(out[kept], (x / (1.0 - p))[kept], rtol=1e-7, atol=1e-12)
    facts["kept entries"] = "equal x/(1-p)" if same else "differ from x/(1-p)"
    if large:
        frac, sd = float((~kept).double().mean()), math.sqrt(p * (1 - p) / x.numel())
        facts["fraction dropped"] = "close to p" if abs(frac - p) < 6 * sd else "far from p"
    else:
        facts["mask"] = ("drops some entries and keeps the others" if kept.any() and (~kept).any()
                         else "keeps every entry" if kept.all() else "drops every entry")
    if seed is not None:
        torch.manual_seed(98765)  # another global state: the mask must come from `generator` alone
        gen2 = torch.Generator().manual_seed(seed)
        again = obj(x, p, **{**kw, "generator": gen2})
        facts["same seeded generator"] = ("same output" if isinstance(again, torch.Tensor) and torch.equal(again, out)
                                          else "different output")
        later = obj(x, p, **{**kw, "generator": gen2})
        facts["next call, same generator"] = ("a new mask" if isinstance(later, torch.Tensor) and not torch.equal(later, out)
                                              else "the same mask")
    return facts


def _dropout_on_device(obj, x: torch.Tensor, p: float, kw: dict) -> dict:
    """x on another device (PyTorch's 'meta' device, which every machine has, stands in for a GPU): the result
    must be built there, mask included. Meta tensors have no values, so only the kind of result is compared."""
    out = obj(x, p, **kw)
    if not isinstance(out, torch.Tensor):
        return {"returns": f"a {type(out).__name__}"}
    return {"returns": "a tensor", "shape": list(out.shape), "dtype": str(out.dtype).removeprefix("torch."),
            "device": out.device.type, "result": "x itself" if out is x else "a new tensor"}


def _probe_dropout(obj, args, kwargs):
    x, p = args
    kw = {k: v for k, v in kwargs.items() if not k.startswith("_")}  # "_device": a private marker of the case
    if kwargs.get("_device"):
        return _dropout_on_device(obj, x.to(kwargs["_device"]), p, kw)
    if not kw.get("training", True) or p in (0.0, 1.0) or not 0.0 <= p <= 1.0:  # deterministic outcome (or an error)
        out = obj(x, p, **kw)
        return {"returns": "a tensor" if isinstance(out, torch.Tensor) else f"a {type(out).__name__}", "value": out}
    return _dropout_facts(obj, x, p, kw, large=x.numel() >= 10_000)


def _x(seed: int, shape) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    a = rng.normal(0, 1, size=shape)
    a[a == 0] = 1.0
    return torch.from_numpy(a)


def _dropout_case(seed: int, shape, p: float, with_generator: bool = True, hint: str | None = None, **kwargs) -> Case:
    def make():
        kw = dict(kwargs)
        if with_generator:
            kw["generator"] = torch.Generator().manual_seed(seed)
        return (_x(seed, shape), p), kw
    return Case(make=make, hint=hint)


def _dropout_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        shape = tuple(int(n) for n in rng.integers(3, 8, size=int(rng.integers(1, 4))))
        cases.append(_dropout_case(int(rng.integers(2**31)), shape, float(rng.uniform(0.1, 0.8))))
    cases.append(_dropout_case(int(rng.integers(2**31)), (100, 200), float(rng.uniform(0.1, 0.9))))
    return cases


ON_DEVICE = ("this call passes x on PyTorch's 'meta' device (a stand-in for a GPU): draw the mask on x's device "
             "(torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)) and build the result there.")


def _dropout_variant(x, p, training=True, generator=None, *, keep_prob=None, scale=True, use_training=True,
                     use_generator=True, guard_p1=True, validate=True, on_device=True, in_place=False):
    if validate and not 0.0 <= p <= 1.0:
        raise ValueError("p must be in [0, 1]")
    if (use_training and not training) or p == 0.0:
        return x
    if guard_p1 and p == 1.0:
        return torch.zeros_like(x)
    u = torch.rand(x.shape, generator=generator if use_generator else None, dtype=x.dtype,
                   device=x.device if on_device else None)
    mask = (u < (1.0 - p if keep_prob is None else keep_prob(p))).to(x.dtype)
    if in_place:
        x[mask == 0] = 0.0  # zeroes the caller's tensor
        return x / (1.0 - p)
    return x * mask / (1.0 - p) if scale else x * mask


def _dropout_assert(x, p, training=True, generator=None):
    assert 0.0 <= p <= 1.0, "p must be a probability"
    return _dropout_variant(x, p, training, generator, validate=False)


def _dropout_zero_x(x, p, training=True, generator=None):
    return _dropout_variant(x, p, training, generator, in_place=True)


register(Check(
    id="dropout", lesson=LESSON, reference=R.dropout, result="plain", probe=_probe_dropout,
    cases=[_dropout_case(331, (4, 5), 0.3),
           _dropout_case(332, (3, 4), 0.5, training=False),
           _dropout_case(333, (2, 6), 0.0),
           _dropout_case(334, (5,), 1.0),
           _dropout_case(335, (3,), 1.5),
           _dropout_case(336, (3,), -0.1),
           _dropout_case(337, (200, 100), 0.2),
           _dropout_case(338, (6, 7), 0.4, with_generator=False),
           _dropout_case(339, (4, 5), 0.3, hint=ON_DEVICE, _device="meta")],
    families=_dropout_family,
    forbidden=("torch.nn.functional.dropout", "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d",
               "torch.nn.functional.dropout3d", "torch.nn.functional.alpha_dropout",
               "torch.nn.functional.feature_alpha_dropout", "torch.dropout", "torch.dropout_",
               "torch.native_dropout", "torch.feature_dropout", "torch.alpha_dropout", "torch.nn.Dropout",
               "torch.nn.modules.dropout.Dropout", "torch._VF.dropout"),
    delegate=lambda x, p, training=True, generator=None: F.dropout(x, p, training),
    hint="inverted dropout: keep each entry with probability 1 − p and divide the kept ones by 1 − p.",
    wrong=[WrongAnswer(_dropout_zero_x, "build a new tensor (torch.where(keep, x / (1 − p), 0) or x * mask / (1 − p)); "
                                        "x[~keep] = 0 zeroes the caller's tensor.", clause="no_mutation"),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator, scale=False),
                       "divide the kept entries by 1 − p (inverted dropout), so that the expected output equals x."),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    use_generator=False),
                       "draw the mask from the generator you are given: torch.rand(x.shape, generator=generator, "
                       "device=x.device, dtype=x.dtype).", clause="randomness"),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    use_training=False),
                       "when training is False (model.eval()), dropout does nothing: return x."),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    guard_p1=False),
                       "with p = 1 every entry is dropped: return zeros (x·0/(1 − p) is 0/0 = nan)."),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    keep_prob=lambda q: q),
                       "p is the probability of *dropping* an entry: keep each one with probability 1 − p."),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    validate=False),
                       "p outside [0, 1] is not a probability: raise ValueError before drawing a mask.",
                       clause="errors"),
           WrongAnswer(_dropout_assert, "an assert raises AssertionError (and is skipped under python -O); raise "
                                        "ValueError for p outside [0, 1].", clause="errors"),
           WrongAnswer(lambda x, p, training=True, generator=None: _dropout_variant(x, p, training, generator,
                                                                                    on_device=False),
                       ON_DEVICE, clause="randomness")],
))


# ============================================================================ layer_grad_norms

class _Net(nn.Module):
    """A small float64 MLP whose short repr names what matters to the check."""

    def __init__(self, sizes, seed: int, frozen: tuple[int, ...] = (), unused: bool = False):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):  # built from `seed` alone, the global RNG is untouched
            self.layers = nn.ModuleList(nn.Linear(a, b, dtype=torch.float64) for a, b in zip(sizes[:-1], sizes[1:]))
            self.spare = nn.Linear(2, 2, dtype=torch.float64) if unused else None
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.normal_(0, 1 / math.sqrt(layer.in_features), generator=gen)
                layer.bias.normal_(0, 0.5, generator=gen)
        for i in frozen:
            self.layers[i].requires_grad_(False)
        self._label = ("MLP(" + "→".join(map(str, sizes)) + "".join(f"; layers[{i}] frozen" for i in frozen)
                       + ("; layer `spare` unused" if unused else "") + ")")

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x

    def __repr__(self) -> str:
        return self._label


def _probe_grad_norms(obj, args, kwargs):
    """The check runs model(x).pow(2).mean().backward(), then calls layer_grad_norms(model)."""
    model, x = args
    model(x).pow(2).mean().backward()
    before = {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}
    out = obj(model, **kwargs)
    if not isinstance(out, dict):
        return {"returns": f"a {type(out).__name__}"}
    unchanged = all((p.grad is None and before[n] is None) or
                    (p.grad is not None and before[n] is not None and torch.equal(p.grad, before[n]))
                    for n, p in model.named_parameters())
    return {"returns": "a dict", "names": sorted(str(k) for k in out), "norms": out,
            "gradients": "unchanged" if unchanged else "modified"}


def _net_case(seed: int, sizes, frozen=(), unused=False, n=5) -> Case:
    def make():
        x = torch.from_numpy(np.random.default_rng(seed).normal(size=(n, sizes[0])))
        return (_Net(sizes, seed, frozen, unused), x), {}
    return Case(make=make, hint="the check runs model(x).pow(2).mean().backward() with the batch x shown, "
                                "then calls layer_grad_norms(model).")


def _net_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        depth = int(rng.integers(2, 5))
        sizes = [int(v) for v in rng.integers(1, 6, size=depth + 1)]
        frozen = tuple(int(i) for i in rng.choice(depth, size=int(rng.integers(0, 2)), replace=False))
        cases.append(_net_case(int(rng.integers(2**31)), sizes, frozen, bool(rng.integers(0, 2)),
                               n=int(rng.integers(2, 8))))
    return cases


def _lgn_with_none(model):
    return {n: 0.0 if p.grad is None else float(p.grad.norm()) for n, p in model.named_parameters()}


def _lgn_param_norms(model):
    return {n: float(p.detach().norm()) for n, p in model.named_parameters() if p.grad is not None}


def _lgn_tensors(model):
    return {n: p.grad.norm() for n, p in model.named_parameters() if p.grad is not None}


def _lgn_squared(model):
    return {n: float((p.grad ** 2).sum()) for n, p in model.named_parameters() if p.grad is not None}


register(Check(
    id="layer_grad_norms", lesson=LESSON, reference=G.layer_grad_norms, result="plain", probe=_probe_grad_norms,
    cases=[_net_case(341, [3, 4, 2]), _net_case(342, [2, 3, 3, 1], frozen=(0,)), _net_case(343, [4, 2, 3], unused=True)],
    families=_net_family,
    forbidden=("torch._foreach_norm", "torch.nn.utils.get_total_norm", "torch.nn.utils.clip_grad._get_total_norm"),
    delegate=lambda model: G.layer_grad_norms(model),
    hint="{name: p.grad.norm().item()} for name, p in model.named_parameters() where p.grad is not None.",
    wrong=[WrongAnswer(_lgn_with_none, "skip the parameters whose .grad is None (frozen or unused ones) instead of "
                                       "reporting 0.0 for them."),
           WrongAnswer(_lgn_param_norms, "measure the gradient p.grad, not the parameter p itself."),
           WrongAnswer(_lgn_tensors, "return Python floats: p.grad.norm().item().", clause="dtype"),
           WrongAnswer(_lgn_squared, "the L2 norm is the square root of the sum of squares: p.grad.norm().")],
))


# ============================================================================ clip_grad_norm

def _grads_params(seed: int, shapes, grad_scale: float, none_at: tuple[int, ...] = ()) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    params = []
    for i, shape in enumerate(shapes):
        p = torch.tensor(rng.normal(size=shape), requires_grad=True)
        if i not in none_at:
            p.grad = torch.tensor(rng.normal(0, grad_scale, size=shape))
        params.append(p)
    return params


def _probe_clip(obj, args, kwargs):
    params, max_norm = args
    grads = [p.grad for p in params]  # the gradient tensors must be changed in place
    total = obj((p for p in params), max_norm, **kwargs)
    if isinstance(total, torch.Tensor) and total.dim() == 0:
        total = float(total)
    return {"gradient tensors": ("changed in place" if all(p.grad is g for p, g in zip(params, grads))
                                 else "replaced by new tensors"),
            "gradients after the call": [None if g is None else g.clone() for g in grads],
            "returned total norm": total}


def _clip_case(make_params, max_norm: float, hint: str | None = None) -> Case:
    return Case(make=lambda: ((make_params(), max_norm), {}), hint=hint)


def _errata_params():
    """The text's example: gradients [3, 0, 0] and [0, 4, 0, 0] have joint norm 5."""
    a = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    a.grad = torch.tensor([3.0, 0.0, 0.0], dtype=torch.float64)
    b.grad = torch.tensor([0.0, 4.0, 0.0, 0.0], dtype=torch.float64)
    return [a, b]


def _clip_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(3):
        seed, shapes = int(rng.integers(2**31)), _random_shapes(rng, 4)
        none_at = (int(rng.integers(0, len(shapes))),) if len(shapes) > 1 and rng.random() < 0.5 else ()
        cases.append(_clip_case(lambda s=seed, sh=shapes, na=none_at: _grads_params(s, sh, 1.0, na),
                                float(rng.uniform(0.2, 4.0))))
    return cases


def _clip_variant(params, max_norm, *, eps=1e-6, per_tensor=False, clamp=True, listify=True, return_after=False,
                  rebind=False):
    if listify:
        params = list(params)
    if per_tensor:
        total = 0.0
        for p in params:
            if p.grad is not None:
                n = float(p.grad.norm())
                total += n * n
                p.grad.mul_(min(1.0, max_norm / (n + eps)))
        return math.sqrt(total)
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params if p.grad is not None))
    coef = max_norm / (total + eps)
    if clamp:
        coef = min(1.0, coef)
    for p in params:
        if p.grad is not None:
            if rebind:
                p.grad = p.grad * coef
            else:
                p.grad.mul_(coef)
    if return_after:
        return math.sqrt(sum(float((p.grad ** 2).sum()) for p in params if p.grad is not None))
    return total


def _clip_no_none_check(params, max_norm):
    params = list(params)
    total = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
    coef = min(1.0, max_norm / (total + 1e-6))
    for p in params:
        p.grad.mul_(coef)
    return total


register(Check(
    id="clip_grad_norm", lesson=LESSON, reference=G.clip_grad_norm, result="plain", probe=_probe_clip,
    cases=[_clip_case(_errata_params, 1.0),
           _clip_case(lambda: _grads_params(352, [(2, 3), (3,)], 0.5), 10.0,
                      hint="when the total norm is below max_norm the gradients stay as they are."),
           _clip_case(lambda: _grads_params(353, [(3,), (2, 2), (4,)], 1.0, none_at=(1,)), 1.0),
           _clip_case(lambda: _grads_params(354, [(2,), (3,)], 0.2), 0.1)],
    families=_clip_family,
    forbidden=("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_norm", "torch.nn.utils.clip_grad.clip_grad_norm_",
               "torch.nn.utils.clip_grad.clip_grad_norm", "torch.nn.utils.get_total_norm",
               "torch.nn.utils.clip_grads_with_norm_", "torch.nn.utils.clip_grad._get_total_norm",
               "torch.nn.utils.clip_grad._clip_grads_with_norm_", "torch._foreach_norm"),
    delegate=lambda params, max_norm: torch.nn.utils.clip_grad_norm_(params, max_norm),
    hint="total = √(Σ‖g‖²) over all gradients; multiply each .grad in place by min(1, max_norm/(total + 1e-6)); "
         "return total.",
    wrong=[WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, listify=False), GENERATOR_ONCE,
                       clause="generator"),
           WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, per_tensor=True),
                       "clip the *joint* norm of all gradients together (one coefficient for every tensor), not each "
                       "tensor's norm separately."),
           WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, eps=0.0),
                       "use torch's coefficient max_norm / (total + 1e-6): the 1e-6 guards against a zero norm."),
           WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, clamp=False),
                       "clipping only ever shrinks: multiply by min(1, max_norm/(total + 1e-6)), never by more than 1."),
           WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, return_after=True),
                       "return the total norm measured *before* clipping (that is what you log)."),
           WrongAnswer(lambda params, max_norm: _clip_variant(params, max_norm, rebind=True),
                       "change each gradient in place (p.grad.mul_(coef)) instead of assigning a new tensor to p.grad.",
                       clause="in_place"),
           WrongAnswer(_clip_no_none_check, "skip the parameters whose .grad is None (frozen or unused ones).")],
))


# ============================================================================ learning-rate schedules

def _schedule_family(with_every: bool):
    def family(rng: np.random.Generator) -> list[Case]:
        cases = []
        for _ in range(4):
            lr0, epoch = float(rng.uniform(1e-3, 1.0)), int(rng.integers(0, 60))
            if with_every:
                cases.append(Case((lr0, epoch), {"drop": float(rng.uniform(0.1, 0.9)), "every": int(rng.integers(1, 15))}))
            else:
                cases.append(Case((lr0, epoch, float(rng.uniform(0.01, 0.5)))))
        return cases
    return family


SCHEDULERS = ("torch.optim.lr_scheduler.StepLR", "torch.optim.lr_scheduler.MultiStepLR",
              "torch.optim.lr_scheduler.ExponentialLR", "torch.optim.lr_scheduler.LambdaLR",
              "torch.optim.lr_scheduler.MultiplicativeLR", "torch.optim.lr_scheduler.PolynomialLR",
              "torch.optim.lr_scheduler.SequentialLR", "torch.optim.lr_scheduler.ChainedScheduler")


def _torch_lr(make_scheduler, lr0: float, epoch: int) -> float:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr0)
    sched = make_scheduler(opt)
    for _ in range(epoch):
        opt.step()
        sched.step()
    return opt.param_groups[0]["lr"]


register(Check(
    id="step_decay", lesson=LESSON, reference=S.step_decay, result="float", rtol=1e-12,
    cases=[Case((0.1, 0)), Case((0.1, 9), hint="epochs 0…every−1 all use lr0: the first drop happens at epoch `every`."),
           Case((0.1, 10)), Case((0.1, 19)), Case((0.1, 20)), Case((0.1, 30)),
           Case((0.5, 7), {"drop": 0.1, "every": 3})],
    families=_schedule_family(True),
    forbidden=SCHEDULERS,
    delegate=lambda lr0, epoch, drop=0.5, every=10: _torch_lr(
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=every, gamma=drop), lr0, epoch),
    hint="lr0 · drop^(epoch // every), with integer division.",
    wrong=[WrongAnswer(lambda lr0, epoch, drop=0.5, every=10: lr0 * drop ** (epoch / every),
                       "the rate drops in steps: use integer division epoch // every in the exponent."),
           WrongAnswer(lambda lr0, epoch, drop=0.5, every=10: lr0 * drop ** ((epoch + 1) // every),
                       "epochs are counted from 0: epochs 0 … every−1 use lr0, and the first drop is at epoch `every`."),
           WrongAnswer(lambda lr0, epoch, drop=0.5, every=10: lr0 * 0.5 ** (epoch // 10),
                       "use the `drop` and `every` arguments instead of the fixed 0.5 and 10.")],
))

register(Check(
    id="exponential_decay", lesson=LESSON, reference=S.exponential_decay, result="float", rtol=1e-9,
    cases=[Case((0.1, 0, 0.1)), Case((0.1, 1, 0.1)), Case((0.1, 2, 0.1)), Case((0.1, 4, 0.1)), Case((2.0, 25, 0.05))],
    families=_schedule_family(False),
    forbidden=SCHEDULERS,
    delegate=lambda lr0, epoch, k: _torch_lr(
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=math.exp(-k)), lr0, epoch),
    hint="lr0 · e^(−k·epoch) (math.exp).",
    wrong=[WrongAnswer(lambda lr0, epoch, k: lr0 * (1 - k) ** epoch,
                       "(1 − k)^epoch only approximates e^(−k·epoch) for small k; use math.exp(-k * epoch)."),
           WrongAnswer(lambda lr0, epoch, k: lr0 * math.exp(-k * (epoch + 1)),
                       "epochs are counted from 0: epoch 0 uses lr0 itself."),
           WrongAnswer(lambda lr0, epoch, k: lr0 * math.exp(k * epoch),
                       "the exponent is negative: lr0 · e^(−k·epoch) decreases.")],
))

register(Check(
    id="inverse_time_decay", lesson=LESSON, reference=S.inverse_time_decay, result="float", rtol=1e-9,
    cases=[Case((0.1, 0, 0.1)), Case((0.1, 1, 0.1)), Case((0.1, 2, 0.1)), Case((0.1, 4, 0.1)), Case((0.3, 30, 0.5))],
    families=_schedule_family(False),
    forbidden=SCHEDULERS,
    delegate=lambda lr0, epoch, k: _torch_lr(
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1 / (1 + k * e)), lr0, epoch),
    hint="lr0 / (1 + k·epoch).",
    wrong=[WrongAnswer(lambda lr0, epoch, k: lr0 / (k * epoch),
                       "the 1 in the denominator keeps epoch 0 at lr0 (and avoids dividing by zero): lr0 / (1 + k·epoch)."),
           WrongAnswer(lambda lr0, epoch, k: lr0 / (1 + k) * epoch,
                       "mind the brackets: lr0 / (1 + k * epoch)."),
           WrongAnswer(lambda lr0, epoch, k: lr0 / (1 + k * (epoch + 1)),
                       "epochs are counted from 0: epoch 0 uses lr0 itself.")],
))


# ============================================================================ sgd_momentum_step (NumPy)

def _probe_sgd(obj, args, kwargs):
    """Calls obj((p for p in params), grads_t, velocities, lrs[t], momentum=..., nesterov=...) once per step t."""
    params0, grads_per_step, lrs = args
    params = [p.copy() for p in params0]
    velocities: list = []
    passed: list[tuple[list[np.ndarray], list[np.ndarray]]] = []
    history = {"velocity buffers after each step": [], "params after each step": [], "velocities after each step": []}
    for grads, lr in zip(grads_per_step, lrs):
        given = [g.copy() for g in grads]
        passed.append((given, grads))
        obj((p for p in params), given, velocities, lr, **kwargs)
        history["velocity buffers after each step"].append(len(velocities))
        history["params after each step"].append([p.copy() for p in params])
        history["velocities after each step"].append([np.array(v, dtype=np.float64, copy=True) for v in velocities])
    unchanged = all(np.array_equal(a, b) for given, grads in passed for a, b in zip(given, grads))
    history["gradients passed in"] = "unchanged" if unchanged else "modified"
    return history


SGD_PROTOCOL = ("the check calls sgd_momentum_step once per step t with grads[t] and lr = lrs[t], passing the "
                "same `velocities` list (empty at first) every time.")


def _sgd_case(seed: int, shapes, lrs, momentum: float | None, nesterov: bool | None, hint: str = SGD_PROTOCOL) -> Case:
    """momentum/nesterov None: the keyword is not passed, so the function's default is used."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in lrs]
    kwargs = {k: v for k, v in (("momentum", momentum), ("nesterov", nesterov)) if v is not None}
    return Case((params, grads, list(lrs)), kwargs, hint=hint)


def _sgd_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for nesterov in (False, True, bool(rng.integers(0, 2))):
        steps = int(rng.integers(3, 7))
        lrs = list(np.round(rng.uniform(0.01, 0.3) * rng.uniform(0.3, 1.0, size=steps), 6))
        cases.append(_sgd_case(int(rng.integers(2**31)), _random_shapes(rng), [float(v) for v in lrs],
                               float(rng.uniform(0.5, 0.99)), nesterov))
    return cases


def _sgd_variant(params, grads, velocities, lr, momentum=0.9, nesterov=False, *, ema=False, keras=False,
                 rebind=False, alias=False, new_list=False, ignore_nesterov=False):
    first = len(velocities) == 0
    if new_list and first:
        velocities = []
    for i, (p, g) in enumerate(zip(params, grads)):
        if first or new_list:
            if keras:
                v = -lr * np.array(g, copy=True)
            elif ema:
                v = (1 - momentum) * np.array(g, copy=True)
            else:
                v = g if alias else np.array(g, copy=True)
            velocities.append(v)
        else:
            v = velocities[i]
            if keras:
                v *= momentum
                v -= lr * g
            elif ema:
                v *= momentum
                v += (1 - momentum) * g
            else:
                v *= momentum
                v += g
        if keras:
            step = -v
        elif nesterov and not ignore_nesterov:
            step = g + momentum * v
        else:
            step = v
        if rebind:
            p = p - lr * step  # noqa: F841 - rebinding the loop variable leaves the caller's array unchanged
        elif keras:
            p -= step
        else:
            p -= lr * step


def _sgd_indexing(params, grads, velocities, lr, momentum=0.9, nesterov=False):
    for i in range(len(params)):  # len() and params[i] need a list: a generator has neither
        if len(velocities) <= i:
            velocities.append(grads[i].copy())
        else:
            velocities[i] *= momentum
            velocities[i] += grads[i]
        params[i] -= lr * (grads[i] + momentum * velocities[i] if nesterov else velocities[i])


def _sgd_zero_init_loop(params, grads, velocities, lr, momentum=0.9, nesterov=False):
    if not velocities:
        velocities.extend(np.zeros_like(p) for p in params)  # this loop uses up a generator `params`
    for p, g, v in zip(params, grads, velocities):
        v *= momentum
        v += g
        p -= lr * (g + momentum * v if nesterov else v)


def _sgd_delegate(params, grads, velocities, lr, momentum=0.9, nesterov=False):
    params = [torch.from_numpy(p) for p in params]  # shares memory with the arrays
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=nesterov)
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g.copy())
    opt.step()


register(Check(
    id="sgd_momentum_step", lesson=LESSON, reference=M.sgd_momentum_step, result="plain", probe=_probe_sgd,
    rtol=1e-9, atol=1e-12,
    cases=[_sgd_case(361, [(3,)], [0.1, 0.1, 0.1], 0.9, False),
           _sgd_case(362, [(2, 2), (3,)], [0.1, 0.1, 0.05, 0.05, 0.025], 0.9, False),
           _sgd_case(363, [(3,)], [0.1, 0.1, 0.1, 0.1], 0.9, True),
           _sgd_case(364, [(2,), (2, 3)], [0.2, 0.1, 0.05, 0.02], 0.8, True),
           _sgd_case(365, [(2,), (3,)], [0.1, 0.1, 0.1], None, None,
                     hint="called without momentum and nesterov, the defaults momentum=0.9 and nesterov=False apply. "
                          + SGD_PROTOCOL)],
    families=_sgd_family,
    forbidden=("torch.optim.SGD", "torch.optim.sgd.SGD", "torch.optim.sgd.sgd", "torch.optim._functional.sgd"),
    delegate=_sgd_delegate,
    hint="PyTorch: v ← μ·v + g (the first v is a copy of g); p ← p − lr·v, or with Nesterov p ← p − lr·(g + μ·v).",
    wrong=[WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, ema=True),
                       "that is the moving-average form v ← βv + (1−β)g; PyTorch uses v ← μv + g (no 1−β factor), "
                       "which equals the EMA form with lr = α(1−β)."),
           WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, rebind=True),
                       "update the arrays in place (p -= lr * v): `p = p - lr * v` makes a new array and leaves the "
                       "caller's parameter unchanged.", clause="in_place"),
           WrongAnswer(_sgd_indexing, "params may be a one-shot generator (no len(), no indexing): loop with "
                                      "zip(params, grads) instead.", clause="generator"),
           WrongAnswer(_sgd_zero_init_loop, "params may be a one-shot generator: the loop that created the velocity "
                                            "buffers used it up, so the first step changed nothing. Create each "
                                            "buffer inside the one loop over zip(params, grads).", clause="generator"),
           WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, new_list=True),
                       "fill the `velocities` list you were given (velocities.append(...)); a new list is lost when "
                       "the function returns, so the next call starts from scratch.", clause="state"),
           WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, alias=True),
                       "store a copy of the gradient as the first buffer (g.copy()): updating the buffer in place "
                       "would otherwise change the caller's gradient.", clause="no_mutation"),
           WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, keras=True),
                       "keep lr out of the velocity: PyTorch's buffer is v ← μv + g and the step p ← p − lr·v. "
                       "With lr inside v (Keras: v ← μv − lr·g; p ← p + v) the buffers differ, and so do the steps "
                       "once lr changes between calls."),
           WrongAnswer(lambda *a, **k: _sgd_variant(*a, **k, ignore_nesterov=True),
                       "with nesterov=True PyTorch steps by lr·(g + μ·v), using the updated v (v ← μv + g first); "
                       "stepping by lr·v ignores the look-ahead.")],
))
