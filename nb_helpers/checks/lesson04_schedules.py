"""Checks of lesson 04's second-edition schedule exercises: `warmup_cosine` and `lr_range_test`.

`warmup_cosine` is a plain function of numbers (result "float": a Python float, NumPy scalar or 0-d
array; a tensor is not a float). `lr_range_test` trains a model: every case builds a small seeded
model (float64, one of them with a BatchNorm1d layer whose running statistics are buffers), its loss
and its batches afresh (`Case(make=...)`), and the probe reports what came back — the learning rates
and losses — and whether the model's parameters and buffers hold their initial values bit for bit
afterwards.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .. import lr_finder as LF
from .. import schedules as S
from .declaration import Case, Check, WrongAnswer, register
from .lesson04_advanced import SCHEDULERS

LESSON = "04_advanced_training"
YES, NO = "yes", "no"


# ================================================================= warmup_cosine

def _wc(step, total_steps, warmup_steps, lr_max, lr_min=0.0, *, bug: str = ""):
    """The warm-up + cosine schedule with one classic mistake (`bug`), each a wrong answer below."""
    if bug != "no_negative_check" and (min(step, total_steps, warmup_steps) < 0 or lr_max < 0 or lr_min < 0):
        raise ValueError("negative argument")
    if bug != "no_order_check" and warmup_steps >= total_steps:
        raise ValueError("warmup_steps must be smaller than total_steps")
    if bug == "ignore_min":
        lr_min = 0.0
    in_warmup = step <= warmup_steps if bug == "boundary" else step < warmup_steps
    if in_warmup:
        value = lr_max * ((step + 1) if bug == "warmup_plus_one" else step) / warmup_steps
    elif step >= total_steps and bug != "no_clamp":
        value = lr_min
    else:
        start = 0 if bug == "cosine_from_zero" else warmup_steps
        span = total_steps if bug == "over_total" else total_steps - warmup_steps
        p = (step - start) / span
        if bug == "quarter_cosine":
            value = lr_min + (lr_max - lr_min) * math.cos(math.pi * p / 2)
        else:
            value = lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * p)) / 2
    if bug == "tensor":
        return torch.tensor(value, dtype=torch.float64)
    return value


def _wc_bug(bug: str):
    def warmup_cosine(step, total_steps, warmup_steps, lr_max, lr_min=0.0):
        return _wc(step, total_steps, warmup_steps, lr_max, lr_min, bug=bug)
    return warmup_cosine


def _torch_warmup_cosine(step, total_steps, warmup_steps, lr_max, lr_min=0.0):
    """torch's schedulers: a LambdaLR warm-up (LinearLR cannot start at 0) chained to CosineAnnealingLR."""
    if min(step, total_steps, warmup_steps) < 0 or lr_max < 0 or lr_min < 0 or warmup_steps >= total_steps:
        raise ValueError("invalid schedule")
    if step >= total_steps:
        return lr_min
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr_max)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps - warmup_steps, eta_min=lr_min)
    sched = cosine
    if warmup_steps > 0:
        for group in opt.param_groups:
            group["lr"] = lr_max
        warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: k / warmup_steps)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[warmup_steps])
    for _ in range(step):
        opt.step()
        sched.step()
    return sched.get_last_lr()[0]


def _schedule(total: int, warmup: int, lr_max: float, lr_min: float | None = None, steps=None) -> list[Case]:
    kwargs = {} if lr_min is None else {"lr_min": lr_min}
    return [Case((k, total, warmup, lr_max), kwargs) for k in (range(total + 3) if steps is None else steps)]


def _warmup_cosine_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(2):
        total = int(rng.integers(3, 40))
        warmup = int(rng.integers(0, total))
        lr_max = float(rng.uniform(1e-3, 1.0))
        lr_min = None if rng.random() < 0.3 else float(rng.uniform(0.0, lr_max))
        steps = [0, warmup, total] + sorted(int(v) for v in rng.integers(0, total + 5, size=3))
        cases += _schedule(total, warmup, lr_max, lr_min, steps)
    return cases


WARMUP_ERRORS = "raise ValueError when warmup_steps >= total_steps: there would be no cosine phase left."
NEGATIVE = "raise ValueError when step, total_steps, warmup_steps, lr_max or lr_min is negative."

register(Check(
    id="warmup_cosine", lesson=LESSON, reference=S.warmup_cosine, result="float", rtol=1e-12, atol=1e-15,
    cases=_schedule(10, 3, 0.1)
    + _schedule(6, 0, 0.5, steps=range(8))
    + _schedule(8, 2, 0.3, lr_min=0.03)
    + [Case((4, 10, 3, 0.0)),
       Case((2, 5, 5, 0.1), hint=WARMUP_ERRORS), Case((2, 5, 7, 0.1), hint=WARMUP_ERRORS),
       Case((2, 0, 0, 0.1), hint=WARMUP_ERRORS),
       Case((-1, 10, 3, 0.1), hint=NEGATIVE), Case((2, 10, -1, 0.1), hint=NEGATIVE),
       Case((2, -3, 0, 0.1), hint=NEGATIVE), Case((2, 10, 3, -0.1), hint=NEGATIVE),
       Case((5, 10, 3, 0.1), {"lr_min": -0.01}, hint=NEGATIVE)],
    families=_warmup_cosine_cases,
    forbidden=SCHEDULERS,
    hint="during the warm-up the lr climbs in a straight line from 0 (at step 0) towards lr_max (reached at step "
         "warmup_steps); then it follows half a cosine from lr_max down to lr_min, which it reaches at total_steps "
         "and keeps afterwards.",
    delegate=_torch_warmup_cosine,
    wrong=[WrongAnswer(_wc_bug("boundary"), "warmup_steps = 0 means no warm-up: the schedule starts at lr_max. Use "
                       "the warm-up only while step < warmup_steps (strictly), so that it never divides by 0.",
                       clause="errors"),
           WrongAnswer(_wc_bug("warmup_plus_one"), "the warm-up starts from 0 at step 0 and reaches lr_max exactly "
                       "at step = warmup_steps: scale lr_max by step / warmup_steps, not (step + 1) / warmup_steps."),
           WrongAnswer(_wc_bug("cosine_from_zero"), "the cosine phase starts when the warm-up ends: measure its "
                       "progress from warmup_steps, so that the lr is exactly lr_max at step = warmup_steps."),
           WrongAnswer(_wc_bug("over_total"), "the cosine phase lasts total_steps − warmup_steps updates: divide the "
                       "steps since the warm-up by that length, so that the lr reaches lr_min at total_steps."),
           WrongAnswer(_wc_bug("quarter_cosine"), "the decay is half a cosine period, (1 + cos(π·p)) / 2 for p from 0 "
                       "to 1: it starts flat, falls fastest in the middle and flattens out at lr_min."),
           WrongAnswer(_wc_bug("ignore_min"), "the cosine decays to lr_min, not to 0: lr_min + (lr_max − lr_min) "
                       "times the cosine factor, and lr_min after total_steps."),
           WrongAnswer(_wc_bug("no_clamp"), "after total_steps the lr stays at lr_min; the cosine formula would climb "
                       "back up."),
           WrongAnswer(_wc_bug("no_order_check"), WARMUP_ERRORS, clause="errors"),
           WrongAnswer(_wc_bug("no_negative_check"), NEGATIVE, clause="errors"),
           WrongAnswer(_wc_bug("tensor"), "return a Python float (math.cos on floats), not a torch tensor.",
                       clause="dtype")],
))


# ================================================================= lr_range_test

class _Net(nn.Sequential):
    """A small float64 network whose repr is a short label (shown in messages)."""

    label = "network"

    def __repr__(self) -> str:
        return f"<{self.label}>"


class _Batches(list):
    """A list of (xb, yb) pairs whose repr is a short label."""

    label = "batches"

    def __repr__(self) -> str:
        return f"<{self.label}>"


class _Loader(DataLoader):
    """An unshuffled DataLoader whose repr is a short label."""

    def __repr__(self) -> str:
        return f"<unshuffled DataLoader of {len(self)} batches>"


def _net(seed: int, sizes: tuple[int, ...], batchnorm: bool = False, bias: float | None = None) -> _Net:
    g = torch.Generator().manual_seed(seed)
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers += [nn.BatchNorm1d(b)] if batchnorm else []
            layers.append(nn.ReLU())
    net = _Net(*layers).double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) / math.sqrt(max(p.shape[-1], 1)))
        if bias is not None:
            net[-1].bias.fill_(bias)
    arrows = "→".join(str(s) for s in sizes)
    net.label = f"MLP {arrows}{' with BatchNorm1d' if batchnorm else ''} (seed {seed})" if len(sizes) > 2 \
        else f"Linear {arrows} (seed {seed})"
    return net


def _classification(seed: int, n_batches: int, rows: int, n_in: int, n_classes: int) -> _Batches:
    g = torch.Generator().manual_seed(seed + 1)
    centres = 2.0 * torch.randn(n_classes, n_in, generator=g, dtype=torch.float64)
    out = _Batches()
    for _ in range(n_batches):
        y = torch.randint(0, n_classes, (rows,), generator=g)
        out.append((centres[y] + torch.randn(rows, n_in, generator=g, dtype=torch.float64), y))
    out.label = f"{n_batches} batches of {rows} rows"
    return out


def _counts(seed: int, n_batches: int, rows: int, n_in: int) -> _Batches:
    g = torch.Generator().manual_seed(seed + 1)
    w = torch.rand(n_in, 1, generator=g, dtype=torch.float64)
    out = _Batches()
    for _ in range(n_batches):
        x = torch.rand(rows, n_in, generator=g, dtype=torch.float64)
        out.append((x, torch.poisson(1.0 + 3.0 * x @ w, generator=g)))
    out.label = f"{n_batches} batches of {rows} rows of counts"
    return out


def _mlp_case(seed: int, sizes: tuple[int, int, int], n_batches: int, rows: int, batchnorm: bool = False,
              loader: bool = False, hint: str | None = None, **kwargs: Any) -> Case:
    def make():
        model = _net(seed, sizes, batchnorm)
        batches = _classification(seed, n_batches, rows, sizes[0], sizes[-1])
        if loader:
            x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
            batches = _Loader(TensorDataset(x, y), batch_size=rows, shuffle=False)
        return (model, nn.CrossEntropyLoss(), batches), dict(kwargs)
    return Case(make=make, hint=hint)


def _poisson_case(seed: int, n_in: int, n_batches: int, rows: int, hint: str | None = None, **kwargs: Any) -> Case:
    """A linear Poisson regression (loss on the rate itself): a step that is too large makes some rates
    negative, and the loss becomes NaN without blowing up first."""
    def make():
        model = _net(seed, (n_in, 1), bias=3.0)
        return (model, nn.PoissonNLLLoss(log_input=False, full=True), _counts(seed, n_batches, rows, n_in)), dict(kwargs)
    return Case(make=make, hint=hint)


class _ScriptedLoss:
    """A loss whose value at the k-th call is `values[k]` (the last one repeated), plus 0 × the output so that
    backward() works: it pins the stopping rule at exactly 4 × the smallest loss so far."""

    def __init__(self, values: list[float]) -> None:
        self.values, self.calls = list(values), 0

    def __call__(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return 0.0 * output.sum() + value

    def __repr__(self) -> str:
        return f"<a loss whose successive values are {self.values}>"


def _scripted_case(values: list[float], steps: int, hint: str | None = None) -> Case:
    def make():
        model = _net(7, (3, 4, 2))
        return (model, _ScriptedLoss(values), _classification(7, 2, 4, 3, 2)), {"steps": steps}
    return Case(make=make, hint=hint)


def _probe_range_test(obj, args, kwargs):
    model = args[0]
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.detach().clone() for n, b in model.named_buffers()}
    result = obj(*args, **kwargs)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return result                                   # compared as is: the message says what came back
    lrs, losses = (list(v) if isinstance(v, (tuple, list, np.ndarray)) else v for v in result)
    now_params, now_buffers = dict(model.named_parameters()), dict(model.named_buffers())
    return {
        "lrs": lrs,
        "losses": losses,
        "parameters restored": YES if params.keys() == now_params.keys() and all(
            torch.equal(params[n], now_params[n].detach()) for n in params) else NO,
        "buffers restored": YES if buffers.keys() == now_buffers.keys() and all(
            torch.equal(buffers[n], now_buffers[n]) for n in buffers) else NO,
    }


def _rt(model, loss_fn, batches, lr_min=1e-5, lr_max=1.0, steps=100, *, bug: str = ""):
    """The range test with one classic mistake (`bug`), each a wrong answer below."""
    initial = copy.deepcopy(model.state_dict())
    saved = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    source = batches if bug == "no_cycle" else itertools.cycle(batches)
    lrs, losses, first, best = [], [], None, math.inf
    for i, (xb, yb) in zip(range(steps), source):
        lr = lr_min * (lr_max / lr_min) ** (i / (steps if bug == "over_steps" else steps - 1))
        for group in opt.param_groups:
            group["lr"] = lr
        if bug != "no_zero_grad":
            opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        value = loss.item()
        first = value if first is None else first
        limit = 4 * (first if bug == "first_loss" else best)
        diverged = not math.isfinite(value) or value > limit
        if diverged and bug == "stop_before_recording":
            break
        if bug != "after_update":
            lrs.append(lr)
            losses.append(loss.detach() if bug == "tensors" else value)
        if diverged and bug != "no_stop":
            break
        best = min(best, value)
        loss.backward()
        opt.step()
        if bug == "after_update":
            with torch.no_grad():
                lrs.append(lr)
                losses.append(loss_fn(model(xb), yb).item())
    if bug == "params_only":
        with torch.no_grad():
            for p, s in zip(model.parameters(), saved):
                p.copy_(s)
    elif bug != "no_restore":
        model.load_state_dict(initial)
    return lrs, losses


def _rt_bug(bug: str):
    def lr_range_test(model, loss_fn, batches, lr_min=1e-5, lr_max=1.0, steps=100):
        return _rt(model, loss_fn, batches, lr_min, lr_max, steps, bug=bug)
    return lr_range_test


def _range_test_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for batchnorm in (bool(rng.random() < 0.5),):
        seed = int(rng.integers(0, 2**31))
        sizes = (int(rng.integers(2, 6)), int(rng.integers(3, 8)), int(rng.integers(2, 5)))
        cases.append(_mlp_case(seed, sizes, int(rng.integers(2, 6)), int(rng.integers(4, 10)), batchnorm=batchnorm,
                               lr_min=float(10 ** rng.uniform(-4, -2)), lr_max=float(10 ** rng.uniform(0, 2)),
                               steps=int(rng.integers(10, 40))))
    seed = int(rng.integers(0, 2**31))
    cases.append(_poisson_case(seed, int(rng.integers(2, 5)), 3, 8, lr_min=1e-3, lr_max=float(10 ** rng.uniform(1, 2)),
                               steps=int(rng.integers(10, 30))))
    return cases


CYCLE = ("when `batches` has fewer batches than `steps`, start again from its first batch (e.g. itertools.cycle); "
         "a DataLoader can be iterated again but not indexed.")
RESTORE = ("save the model's state first (copy.deepcopy(model.state_dict())) and load it back before returning: "
           "the range test must leave the model as it found it.")

register(Check(
    id="lr_range_test", lesson=LESSON, reference=LF.lr_range_test, result="plain", probe=_probe_range_test,
    cases=[_mlp_case(1, (4, 6, 3), 4, 8, lr_min=1e-3, lr_max=30.0, steps=40),
           _mlp_case(2, (3, 5, 2), 3, 6, lr_min=1e-4, lr_max=0.1, steps=12, loader=True, hint=CYCLE),
           _mlp_case(3, (4, 6, 3), 4, 8, batchnorm=True, lr_min=1e-3, lr_max=100.0, steps=40,
                     hint="BatchNorm's running statistics are buffers that every forward pass in training mode "
                          "updates: restore them too (load_state_dict restores parameters and buffers)."),
           _poisson_case(4, 3, 3, 8, lr_min=1e-3, lr_max=100.0, steps=20,
                         hint="a NaN loss also ends the test (NaN > 4 × best is False: test math.isfinite)."),
           _mlp_case(6, (3, 4, 2), 3, 5, hint="the defaults are lr_min=1e-5, lr_max=1.0 and steps=100."),
           _scripted_case([2.0, 1.0, 4.0, 4.5, 1.5, 9.0, 1.0, 1.0], steps=8,
                          hint="stop when a loss *exceeds* 4 × the smallest loss so far (>, not >=): here 4.0 is "
                               "exactly 4 × 1.0 and the test goes on; 4.5 ends it.")],
    families=_range_test_cases,
    forbidden=tuple(name for name, module in [("torch_lr_finder.LRFinder", "torch_lr_finder")]
                    if importlib.util.find_spec(module) is not None),
    hint="before update i set the lr to lr_min·(lr_max/lr_min)^(i/(steps − 1)), compute the loss on the next batch, "
         "record it, stop if it is not finite or above 4 × the smallest loss so far, else backward() and step().",
    delegate=lambda model, loss_fn, batches, lr_min=1e-5, lr_max=1.0, steps=100: LF.lr_range_test(
        model, loss_fn, batches, lr_min, lr_max, steps),
    wrong=[WrongAnswer(_rt_bug("no_restore"), RESTORE, clause="state"),
           WrongAnswer(_rt_bug("params_only"), "restore the buffers as well as the parameters: BatchNorm's running "
                       "mean and variance changed with every forward pass (model.load_state_dict(saved) restores "
                       "both).", clause="state"),
           WrongAnswer(_rt_bug("over_steps"), "the lrs run from lr_min to lr_max inclusive: the exponent is "
                       "i / (steps − 1), so that the last update uses lr_max."),
           WrongAnswer(_rt_bug("after_update"), "record the loss of each batch as it is computed for the update, "
                       "before optimizer.step() changes the weights."),
           WrongAnswer(_rt_bug("no_cycle"), CYCLE),
           WrongAnswer(_rt_bug("no_stop"), "stop as soon as a loss is not finite or exceeds 4 × the smallest loss so "
                       "far: larger learning rates only make it worse."),
           WrongAnswer(_rt_bug("stop_before_recording"), "record the loss that ends the test before stopping: it "
                       "shows where the loss blew up."),
           WrongAnswer(_rt_bug("first_loss"), "compare with 4 × the smallest loss so far, not 4 × the first loss: "
                       "the loss usually falls a long way before it blows up."),
           WrongAnswer(_rt_bug("no_zero_grad"), "call optimizer.zero_grad() before every backward(): otherwise each "
                       "update uses the sum of all the gradients so far."),
           WrongAnswer(_rt_bug("tensors"), "return plain Python floats: loss.item(), not the loss tensor.",
                       clause="dtype")],
))
