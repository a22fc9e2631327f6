"""Checks of lesson 03's second-edition exercises (what keeps deep networks trainable): declarations only.

`init_weights` draws random numbers, so its probe compares *properties* (layout, dtype, the bound of a
uniform law, the variance of a large draw within a tolerance set by the sample size, the tails of a
normal law, reproducibility from the given generator), never the draws themselves. `batchnorm_forward`
is run through a scenario of several calls sharing running statistics (train and eval mixed), and each
call's output and the running statistics after it are compared. `ista_lasso` is compared with the
reference after the same number of steps (rtol 1e-9); few steps, so that a wrong start or a missing
step shows before the iterates converge.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import initialization as I
from .. import normalization as N
from .. import regularization as R
from .declaration import Case, Check, WrongAnswer, register

LESSON = "03_regularization_and_optimization"

#: Below this many entries a draw is only checked for layout, dtype, bound and reproducibility.
LARGE = 20_000
SQRT3 = math.sqrt(3.0)


# ============================================================================ init_weights

def _tensor_facts(obj, fan_in: int, fan_out: int, scheme: str, kw: dict) -> tuple[dict, torch.Tensor | None]:
    out = obj(fan_in, fan_out, scheme, **kw)
    if not isinstance(out, torch.Tensor):
        return {"returns": f"a {type(out).__name__}"}, None
    facts = {"returns": "a tensor", "shape": list(out.shape),
             "dtype": "the default dtype" if out.dtype == torch.get_default_dtype() else str(out.dtype)}
    return facts, out


def _distribution_facts(out: torch.Tensor, fan_in: int, fan_out: int, scheme: str) -> dict:
    w = out.detach().double().reshape(-1)
    var = I.scheme_variance(fan_in, fan_out, scheme)
    facts: dict = {}
    if scheme.endswith("_uniform"):
        a = math.sqrt(3.0 * var)
        top = float(w.abs().max())
        facts["largest |w|"] = ("exceeds the bound a" if top > a * (1 + 1e-6) else
                                "at most a and close to a" if w.numel() >= LARGE and top >= a * (1 - 1e-3) else
                                "well below the bound a" if w.numel() >= LARGE else "at most a")
    if w.numel() >= LARGE:
        n = w.numel()
        v = float(w.var())
        tol = 6.0 * var * math.sqrt(2.0 / n)          # six standard errors of a sample variance
        facts["variance"] = ("matches the scheme's" if abs(v - var) <= tol
                             else f"{v:.4g}, the scheme's is {var:.4g}")
        if scheme.endswith("_normal"):
            tail = float((w.abs() > 2.0 * math.sqrt(var)).double().mean())
            expected = math.erfc(2.0 / math.sqrt(2.0))  # P(|z| > 2) = 0.0455 for a normal law
            ok = abs(tail - expected) <= 6.0 * math.sqrt(expected * (1 - expected) / n)
            facts["share beyond 2 standard deviations"] = "about 4.6 % (a normal law)" if ok else f"{100 * tail:.2f} %"
    return facts


def _probe_init(obj, args, kwargs):
    fan_in, fan_out, scheme = args
    kw = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, kwargs.get("_default_dtype", "float32")))
    try:
        gen = kw.get("generator")
        seed = None if gen is None else gen.initial_seed()
        torch.manual_seed(1234)
        facts, out = _tensor_facts(obj, fan_in, fan_out, scheme, kw)
        if out is None or list(out.shape) != [fan_out, fan_in] or scheme not in I.SCHEMES:
            return facts
        facts.update(_distribution_facts(out, fan_in, fan_out, scheme))
        if seed is not None:
            torch.manual_seed(98765)      # another global state: the draw must come from `generator` alone
            again = obj(fan_in, fan_out, scheme, **{**kw, "generator": torch.Generator().manual_seed(seed)})
            facts["same seeded generator"] = ("same tensor" if isinstance(again, torch.Tensor)
                                              and torch.equal(again, out) else "different tensor")
        return facts
    finally:
        torch.set_default_dtype(previous)


def _init_case(fan_in: int, fan_out: int, scheme: str, seed: int | None, hint: str | None = None,
               default_dtype: str | None = None) -> Case:
    def make():
        kw = {} if seed is None else {"generator": torch.Generator().manual_seed(seed)}
        if default_dtype:
            kw["_default_dtype"] = default_dtype
        return (fan_in, fan_out, scheme), kw
    return Case(make=make, hint=hint)


def _init_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        fan_in, fan_out = (int(v) for v in rng.integers(100, 400, size=2))
        if fan_in == fan_out:
            fan_out += 7
        cases.append(_init_case(fan_in, fan_out, I.SCHEMES[int(rng.integers(4))], int(rng.integers(2**31))))
    fan_in, fan_out = (int(v) for v in rng.integers(2, 9, size=2))
    cases.append(_init_case(fan_in, fan_out, I.SCHEMES[int(rng.integers(4))], int(rng.integers(2**31))))
    return cases


def _init_variant(fan_in, fan_out, scheme, generator=None, *, var_of=None, normal_std=None, bound_factor=SQRT3,
                  layout="out_in", use_generator=True, fallback=False, dtype=None):
    """init_weights with one classic mistake; each keyword switches one on."""
    if scheme not in I.SCHEMES and not fallback:
        raise ValueError(f"unknown scheme {scheme!r}")
    if scheme not in I.SCHEMES:
        scheme = "he_normal"
    if var_of is not None:
        var = var_of(fan_in, fan_out, scheme)
    else:
        var = 2.0 / (fan_in + fan_out) if scheme.startswith("xavier") else 2.0 / fan_in
    shape = (fan_out, fan_in) if layout == "out_in" else (fan_in, fan_out)
    w = torch.empty(shape, dtype=dtype)
    gen = generator if use_generator else None
    if scheme.endswith("_uniform"):
        a = bound_factor * math.sqrt(var)
        return w.uniform_(-a, a, generator=gen)
    std = math.sqrt(var) if normal_std is None else normal_std(var)
    return w.normal_(0.0, std, generator=gen)


def _xavier_fan_in_only(fan_in, fan_out, scheme):
    return 1.0 / fan_in if scheme.startswith("xavier") else 2.0 / fan_in


def _he_fan_out(fan_in, fan_out, scheme):
    return 2.0 / (fan_in + fan_out) if scheme.startswith("xavier") else 2.0 / fan_out


def _init_delegate(fan_in, fan_out, scheme, generator=None):
    w = torch.empty(fan_out, fan_in)
    routines = {"xavier_uniform": nn.init.xavier_uniform_, "xavier_normal": nn.init.xavier_normal_,
                "he_uniform": lambda t, generator: nn.init.kaiming_uniform_(t, nonlinearity="relu", generator=generator),
                "he_normal": lambda t, generator: nn.init.kaiming_normal_(t, nonlinearity="relu", generator=generator)}
    if scheme not in routines:
        raise ValueError(f"unknown scheme {scheme!r}")
    return routines[scheme](w, generator=generator)


INIT_FORBIDDEN = tuple(f"torch.nn.init.{name}" for name in (
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_",
    "trunc_normal_", "orthogonal_", "sparse_", "calculate_gain", "_calculate_fan_in_and_fan_out",
    "_calculate_correct_fan", "_no_grad_uniform_", "_no_grad_normal_", "_no_grad_trunc_normal_",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "uniform", "normal"))

LAYOUT = ("return the nn.Linear layout (fan_out, fan_in): one row per output unit, so that x @ w.T maps fan_in "
          "inputs to fan_out outputs.")

register(Check(
    id="init_weights", lesson=LESSON, reference=I.init_weights, result="plain", probe=_probe_init,
    cases=[_init_case(3, 5, "he_uniform", 401, hint=LAYOUT),
           _init_case(300, 200, "xavier_uniform", 402),
           _init_case(250, 350, "xavier_normal", 403),
           _init_case(400, 100, "he_uniform", 404),
           _init_case(150, 400, "he_normal", 405),
           _init_case(4, 2, "xavier_normal", None,
                      hint="called without a generator, draw from PyTorch's global generator (generator=None)."),
           _init_case(6, 3, "kaiming_normal", 406,
                      hint="the schemes are \"xavier_uniform\", \"xavier_normal\", \"he_uniform\" and \"he_normal\"; "
                           "raise ValueError for any other name."),
           _init_case(200, 300, "he_normal", 407, default_dtype="float64",
                      hint="return a tensor of the default dtype (torch.get_default_dtype()), whatever it is: "
                           "torch.empty(...) without a dtype, or torch.rand/randn without one.")],
    families=_init_family,
    forbidden=INIT_FORBIDDEN,
    delegate=_init_delegate,
    hint="Var(w) keeps fan_in·Var(w)·E[x²] at the size of E[x²] (He) or balances fan_in and fan_out (Xavier); "
         "a uniform law U(−a, a) has variance a²/3.",
    wrong=[WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, layout="in_out"), LAYOUT,
                       clause="shape"),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, var_of=_xavier_fan_in_only),
                       "Xavier (Glorot) balances the forward and the backward pass: its variance uses fan_in and "
                       "fan_out together, 2/(fan_in + fan_out), not fan_in alone."),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, var_of=_he_fan_out),
                       "He keeps the forward pass's E[x²]: each output sums fan_in products, so its variance is "
                       "2/fan_in, not 2/fan_out."),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, normal_std=lambda v: v),
                       "torch.normal and Tensor.normal_ take the standard deviation: pass the square root of the "
                       "variance."),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, bound_factor=1.0),
                       "U(−a, a) has variance a²/3, so a uniform law with the scheme's variance needs a = √3·std, "
                       "not a = std."),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, use_generator=False),
                       "draw from the generator you are given (e.g. w.uniform_(-a, a, generator=generator)), so "
                       "that the same seeded generator gives the same tensor.", clause="randomness"),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, fallback=True),
                       "an unknown scheme must raise ValueError, not fall back to another initialisation.",
                       clause="errors"),
           WrongAnswer(lambda fi, fo, s, generator=None: _init_variant(fi, fo, s, generator, dtype=torch.float64),
                       "return a tensor of the default dtype (torch.get_default_dtype()), not a fixed float64.",
                       clause="dtype")],
))


# ============================================================================ batchnorm_forward

def _probe_batchnorm(obj, args, kwargs):
    """Calls obj(x_t, gamma, beta, running_mean, running_var, training_t, **kwargs) for each t, always with the
    same two running-statistics tensors; records each output and those tensors after each call."""
    xs, gamma, beta, rm0, rv0, modes = args
    grad = kwargs.get("_grad", False)
    kwargs = {k: v for k, v in kwargs.items() if not k.startswith("_")}
    running_mean, running_var = rm0.clone(), rv0.clone()
    calls = []
    for x, training in zip(xs, modes):
        given = x.clone()
        if grad:       # fresh leaves: the gradients of sum(y * c) w.r.t. x, gamma and beta are compared
            given, g, b = given.requires_grad_(), gamma.clone().requires_grad_(), beta.clone().requires_grad_()
        else:
            g, b = gamma, beta
        y = obj(given, g, b, running_mean, running_var, training, **kwargs)
        call = {"mode": "training" if training else "eval",
                "output": y.detach() if isinstance(y, torch.Tensor) else y,
                "running_mean after the call": running_mean.detach().clone(),
                "running_var after the call": running_var.detach().clone(),
                "x after the call": "unchanged" if torch.equal(given.detach(), x) else "modified"}
        if grad:
            call.update(_bn_gradients(y, given, g, b))
            call["running statistics after the call"] = (
                "carry a gradient (requires_grad=True)" if running_mean.requires_grad or running_var.requires_grad
                else "no gradient")
        calls.append(call)
    return calls


def _bn_gradients(y, x, gamma, beta) -> dict:
    """The gradients of sum(y * c) (c a fixed pattern, so that they are not 0) w.r.t. x, gamma and beta."""
    if not isinstance(y, torch.Tensor) or y.shape != x.shape:
        return {}
    if not y.requires_grad:
        return {"output": "does not require grad: y cannot backpropagate to x, gamma and beta"}
    c = torch.cos(torch.arange(y.numel(), dtype=y.dtype)).reshape(y.shape)
    grads = torch.autograd.grad((y * c).sum(), (x, gamma, beta), allow_unused=True)
    return {f"d/d{name}": ("no gradient" if gr is None else gr)
            for name, gr in zip(("x", "gamma", "beta"), grads)}


BN_PROTOCOL = ("the check calls batchnorm_forward once per batch x_t of the list shown, with the mode shown "
               "(True: training), passing the same running_mean and running_var tensors every time.")


def _bn_case(seed: int, n: int, d: int, modes, momentum: float | None = None, eps: float | None = None,
             sizes=None, fresh_stats: bool = True, hint: str = BN_PROTOCOL, grad: bool = False) -> Case:
    def make():
        rng = np.random.default_rng(seed)
        loc, scale = rng.normal(0.0, 2.0, size=d), rng.uniform(0.5, 3.0, size=d)
        xs = [torch.tensor(rng.normal(loc, scale, size=((sizes[t] if sizes else n), d))) for t in range(len(modes))]
        gamma, beta = torch.tensor(rng.uniform(0.5, 2.0, size=d)), torch.tensor(rng.normal(0.0, 1.0, size=d))
        if fresh_stats:
            rm, rv = torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)
        else:
            rm, rv = torch.tensor(rng.normal(loc, 0.5)), torch.tensor(rng.uniform(0.5, 4.0, size=d))
        kw = {k: v for k, v in (("momentum", momentum), ("eps", eps)) if v is not None}
        if grad:
            kw["_grad"] = True
        return (xs, gamma, beta, rm, rv, list(modes)), kw
    return Case(make=make, hint=hint)


def _bn_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        steps = int(rng.integers(2, 5))
        modes = [True] + [bool(v) for v in rng.integers(0, 2, size=steps - 1)]
        momentum = float(rng.choice([0.1, rng.uniform(0.01, 0.9)]))
        cases.append(_bn_case(int(rng.integers(2**31)), int(rng.integers(2, 10)), int(rng.integers(1, 6)), modes,
                              momentum=momentum, fresh_stats=bool(rng.integers(0, 2))))
    return cases


def _bn_variant(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5, *,
                unbiased_norm=False, biased_running=False, reversed_momentum=False, replace=False, eval_batch=False,
                check_n=True, eps_outside=False, affine=True, in_place_x=False, no_grad_body=False,
                grad_running=False):
    """batchnorm_forward with one classic mistake; each keyword switches one on."""
    if no_grad_body:
        with torch.no_grad():
            return _bn_variant(x, gamma, beta, running_mean, running_var, training, momentum, eps)
    n = x.shape[0]
    if training and check_n and n < 2:
        raise ValueError("need more than one sample per feature in training")
    if training or eval_batch:
        mean = x.mean(dim=0)
        var = x.var(dim=0, unbiased=unbiased_norm)
    else:
        mean, var = running_mean, running_var
    if training:
        batch_var = x.var(dim=0, unbiased=not biased_running) if n > 1 or biased_running else x.var(dim=0)
        new_mean, new_var = (((1 - momentum) * batch_stat + momentum * running) if reversed_momentum else
                             ((1 - momentum) * running + momentum * batch_stat)
                             for running, batch_stat in ((running_mean, mean), (running_var, batch_var)))
        if replace:
            running_mean = new_mean
            running_var = new_var
        elif grad_running:         # the update joins the autograd graph: the statistics carry a gradient
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * batch_var)
        else:
            with torch.no_grad():
                running_mean.copy_(new_mean)
                running_var.copy_(new_var)
    if in_place_x:
        x -= mean
        x_hat = x / torch.sqrt(var + eps)
    else:
        x_hat = (x - mean) / (torch.sqrt(var) + eps if eps_outside else torch.sqrt(var + eps))
    return gamma * x_hat + beta if affine else x_hat


def _bn(**switch):
    def batchnorm_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        return _bn_variant(x, gamma, beta, running_mean, running_var, training, momentum, eps, **switch)
    return batchnorm_forward


BN_GRAD = ("batchnorm_forward is differentiable in x, gamma and beta: x, gamma and beta require grad here, and the "
           "check compares the gradients of sum(y·c) (c a fixed pattern) with F.batch_norm's. Only the update of "
           "the running statistics goes under torch.no_grad(); they never carry a gradient.")

BN_FORBIDDEN = ("torch.nn.functional.batch_norm", "torch.batch_norm", "torch.native_batch_norm",
                "torch._native_batch_norm_legit", "torch._native_batch_norm_legit_no_training",
                "torch.batch_norm_stats", "torch.batch_norm_elemt", "torch.batch_norm_update_stats",
                "torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d", "torch.nn.SyncBatchNorm",
                "torch.nn.LazyBatchNorm1d", "torch.nn.modules.batchnorm.BatchNorm1d",
                "torch.nn.modules.batchnorm.BatchNorm2d", "torch.nn.modules.batchnorm.BatchNorm3d",
                "torch.nn.modules.batchnorm._BatchNorm", "torch.nn.functional.instance_norm")

register(Check(
    id="batchnorm_forward", lesson=LESSON, reference=N.batchnorm_forward, result="plain", probe=_probe_batchnorm,
    cases=[_bn_case(411, 8, 3, [True, True, False]),
           _bn_case(412, 6, 4, [True, False, True, False], momentum=0.3),
           _bn_case(413, 5, 2, [True, True], momentum=0.01, eps=1e-3),
           _bn_case(414, 7, 3, [False, False], fresh_stats=False, sizes=[7, 1],
                    hint="in eval mode normalise with running_mean and running_var (they stay as they are), "
                         "whatever the batch holds — a batch of one sample included."),
           _bn_case(415, 1, 3, [True], hint="a batch of one sample has no variance to normalise with: raise "
                                            "ValueError in training mode (as F.batch_norm does)."),
           _bn_case(416, 4, 5, [True, True, True], momentum=0.9, fresh_stats=False),
           _bn_case(417, 2, 3, [True, False, True], sizes=[2, 3, 2],
                    hint="a training batch of two samples is fine: only N = 1 has no variance."),
           _bn_case(418, 6, 3, [True, True, False], momentum=0.2, fresh_stats=False, grad=True, hint=BN_GRAD)],
    families=_bn_family,
    forbidden=BN_FORBIDDEN,
    delegate=lambda x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5: F.batch_norm(
        x, running_mean, running_var, gamma, beta, training, momentum, eps),
    hint="training: normalise each feature (column) with the batch mean and the biased batch variance, then "
         "y = gamma·x̂ + beta; update running_mean and running_var in place (running ← (1 − momentum)·running + "
         "momentum·batch statistic, the unbiased variance for running_var). eval: use the running statistics.",
    wrong=[WrongAnswer(_bn(unbiased_norm=True), "normalise with the *biased* batch variance (divide by N, "
                       "x.var(dim=0, unbiased=False)); the unbiased one (N − 1) is only for running_var."),
           WrongAnswer(_bn(biased_running=True), "running_var tracks the *unbiased* batch variance (divide by N − 1), "
                       "as PyTorch does, even though the normalisation uses the biased one.", clause="state"),
           WrongAnswer(_bn(reversed_momentum=True), "momentum is the weight of the *new* batch statistic: running ← "
                       "(1 − momentum)·running + momentum·batch, not the other way round.", clause="state"),
           WrongAnswer(_bn(replace=True), "update running_mean and running_var in place (running_mean.mul_(...)"
                       ".add_(...) or running_mean.copy_(...)): assigning a new tensor to the name leaves the caller's "
                       "statistics unchanged.", clause="in_place"),
           WrongAnswer(_bn(eval_batch=True), "in eval mode normalise with running_mean and running_var, not with the "
                       "batch's statistics (at inference a prediction must not depend on the rest of the batch)."),
           WrongAnswer(_bn(check_n=False), "with N = 1 in training the batch variance is 0 (and its unbiased form "
                       "0/0): raise ValueError, as F.batch_norm does.", clause="errors"),
           WrongAnswer(_bn(eps_outside=True), "eps goes inside the square root: (x − mean)/sqrt(var + eps)."),
           WrongAnswer(_bn(affine=False), "finish with y = gamma·x̂ + beta: the learnable scale and shift let the "
                       "network undo the normalisation where that helps."),
           WrongAnswer(_bn(in_place_x=True), "`x -= mean` changes the caller's batch; build x − mean as a new tensor.",
                       clause="no_mutation"),
           WrongAnswer(_bn(no_grad_body=True), "y must backpropagate to x, gamma and beta: put only the update of "
                       "the running statistics under torch.no_grad(), not the computation of y.",
                       clause="autograd", name="whole-body-under-no-grad"),
           WrongAnswer(_bn(grad_running=True), "update the running statistics under torch.no_grad() (or from "
                       "mean.detach() and var.detach()): otherwise they join the autograd graph and carry a "
                       "gradient (running_mean.requires_grad becomes True).", clause="autograd",
                       name="running-stats-with-grad")],
))


# ============================================================================ ista_lasso (NumPy)

def _lasso_data(seed: int, n: int, d: int, correlated: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if correlated and d > 1:
        X[:, 1] = 0.8 * X[:, 0] + 0.6 * X[:, 1]        # correlated columns: ISTA needs many steps
    w = np.zeros(d)
    w[: max(1, d // 3)] = rng.choice([-2.0, 2.0], size=max(1, d // 3)) * rng.uniform(0.5, 1.5, size=max(1, d // 3))
    return X, X @ w + 0.5 * rng.normal(size=n)


def _ista_case(seed: int, n: int, d: int, lam: float, hint: str | None = None, **kwargs) -> Case:
    X, y = _lasso_data(seed, n, d)
    return Case((X, y, lam), kwargs, hint=hint)


def _slow_lasso_case(seed: int, lam: float, hint: str | None = None) -> Case:
    """Two pairs of nearly collinear columns: ISTA with the defaults is still moving after 500 steps (by about
    5e-4 per step, relatively), so the number of steps shows in the answer."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(20, 4))
    X[:, 1] = 0.995 * X[:, 0] + math.sqrt(1 - 0.995 ** 2) * X[:, 1]
    X[:, 3] = 0.99 * X[:, 2] + math.sqrt(1 - 0.99 ** 2) * X[:, 3]
    y = X @ np.array([1.5, 0.5, -1.0, 0.0]) + 0.3 * rng.normal(size=20)
    return Case((X, y, lam), hint=hint)


def _ista_family(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(3):
        n, d = int(rng.integers(10, 40)), int(rng.integers(2, 9))
        kwargs = {"steps": int(rng.integers(1, 60))} if i < 2 else {}
        if i == 1:
            X, _ = _lasso_data(int(rng.integers(2**31)), n, d)
            kwargs["lr"] = float(rng.uniform(0.2, 0.9) / np.linalg.eigvalsh(X.T @ X / n)[-1])
        cases.append(_ista_case(int(rng.integers(2**31)), n, d, float(rng.uniform(0.02, 0.6)), **kwargs))
    return cases


def _ista_variant(X, y, lam, lr=None, steps=500, *, lipschitz_per_n=True, threshold_lam=True, grad_per_n=True,
                  start="zeros", fewer=0, scale_x_in_place=False, dtype=np.float64):
    """ISTA with one classic mistake; each keyword switches one on."""
    n, d = X.shape
    if scale_x_in_place:                  # X /= √n folds the 1/n into X ... and changes the caller's X
        X /= math.sqrt(n)
        y = y / math.sqrt(n)
        per_n = 1.0
    else:
        per_n = n
    if lr is None:
        lr = 1.0 / np.linalg.eigvalsh(X.T @ X / (per_n if lipschitz_per_n else 1.0))[-1]
    w = np.zeros(d) if start == "zeros" else np.linalg.lstsq(X, y, rcond=None)[0]
    for _ in range(steps - fewer):
        z = w - lr * (X.T @ (X @ w - y)) / (per_n if grad_per_n else 1.0)
        t = lr * lam if threshold_lam else lr
        w = np.sign(z) * np.maximum(np.abs(z) - t, 0.0)
    return w.astype(dtype)


def _ista(**switch):
    def ista_lasso(X, y, lam, lr=None, steps=500):
        return _ista_variant(X, y, lam, lr, steps, **switch)
    return ista_lasso


def _sklearn_lasso(X, y, lam, lr=None, steps=500):
    from sklearn.linear_model import Lasso
    return Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_


LASSO_FORBIDDEN = tuple(f"sklearn.linear_model.{name}" for name in (
    "Lasso", "LassoCV", "LassoLars", "LassoLarsCV", "LassoLarsIC", "ElasticNet", "ElasticNetCV", "MultiTaskLasso",
    "MultiTaskElasticNet", "lasso_path", "enet_path", "lars_path", "lars_path_gram", "orthogonal_mp"))

register(Check(
    id="ista_lasso", lesson=LESSON, reference=R.ista_lasso, rtol=1e-9, atol=1e-12,
    cases=[_ista_case(421, 20, 4, 0.1, steps=3,
                      hint="start from w = 0 and take exactly `steps` proximal steps: compare after 3 steps."),
           _ista_case(422, 30, 6, 0.05, lr=0.05, steps=10, hint="use the step size `lr` you are given."),
           _ista_case(423, 15, 5, 0.5,
                      hint="with the defaults: lr = 1/L, L the largest eigenvalue of XᵀX/n, and 500 steps."),
           _ista_case(424, 50, 8, 0.2, steps=40),
           _slow_lasso_case(426, 0.05, hint="nearly collinear columns: after 500 steps ISTA is still moving, so take "
                                            "exactly 500 steps by default (steps=500) from w = 0 with lr = 1/L."),
           _ista_case(425, 12, 3, 0.3, steps=1, hint="one step from w = 0: soft_threshold(lr·Xᵀy/n, lr·lam).")],
    families=_ista_family,
    forbidden=LASSO_FORBIDDEN,
    delegate=_sklearn_lasso,
    hint="w = 0, then `steps` times: w ← soft_threshold(w − lr·Xᵀ(Xw − y)/n, lr·lam), lr = 1/L by default.",
    wrong=[WrongAnswer(_ista(lipschitz_per_n=False), "the smooth part is (1/2n)‖Xw − y‖², whose gradient's Lipschitz "
                       "constant is the largest eigenvalue of XᵀX / n: don't forget the /n (np.linalg.eigvalsh)."),
           WrongAnswer(_ista(threshold_lam=False), "the proximal step of lr·lam·‖w‖₁ thresholds at lr·lam, not at lr."),
           WrongAnswer(_ista(grad_per_n=False), "the gradient of (1/2n)‖Xw − y‖² is Xᵀ(Xw − y)/n: divide by n."),
           WrongAnswer(_ista(start="lstsq"), "start from w = 0 (np.zeros(d)), as the contract says, not from the "
                       "least-squares solution."),
           WrongAnswer(_ista(fewer=1), "take exactly `steps` steps (for _ in range(steps))."),
           WrongAnswer(_ista(scale_x_in_place=True), "`X /= ...` rescales the caller's data; build any scaled copy "
                       "as a new array.", clause="no_mutation"),
           WrongAnswer(_ista(dtype=np.float32), "return float64 weights (no astype(np.float32)).", clause="dtype")],
))
