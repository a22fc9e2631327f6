"""Oracles for lesson 04's second-edition schedule exercises: `warmup_cosine` against torch's own
schedulers (a linear warm-up chained to `CosineAnnealingLR` by `SequentialLR`), and `lr_range_test`
against a hand-unrolled loop with `torch.optim.SGD`, with the model's parameters and buffers restored
bit for bit."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nb_helpers import lr_finder as LF
from nb_helpers import schedules as S


def _torch_schedule(total: int, warmup: int, lr_max: float, lr_min: float) -> list[float]:
    """The lr before each of `total` updates under torch's schedulers, stepped once per update."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr_max)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup, eta_min=lr_min)
    sched = cosine
    if warmup:
        warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: k / warmup)
        sched = torch.optim.lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[warmup])
    lrs = []
    for _ in range(total):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("total,warmup,lr_max,lr_min", [(10, 3, 0.1, 0.0), (50, 5, 0.3, 0.01), (7, 0, 1.0, 0.0),
                                                        (200, 20, 3e-3, 1e-5), (2, 1, 0.5, 0.1)])
def test_warmup_cosine_equals_torch_sequential_lambda_warmup_and_cosine_annealing(total, warmup, lr_max, lr_min):
    ours = [S.warmup_cosine(k, total, warmup, lr_max, lr_min) for k in range(total)]
    np.testing.assert_allclose(ours, _torch_schedule(total, warmup, lr_max, lr_min), rtol=1e-12, atol=1e-15)
    # from total_steps on, the schedule holds lr_min (torch's cosine would climb back up)
    assert [S.warmup_cosine(k, total, warmup, lr_max, lr_min) for k in range(total, total + 5)] == [lr_min] * 5
    assert all(type(v) is float for v in ours)


def test_warmup_cosine_rises_linearly_then_falls_monotonically_and_is_continuous():
    total, warmup, lr_max, lr_min = 40, 8, 0.2, 0.02
    lrs = np.array([S.warmup_cosine(k, total, warmup, lr_max, lr_min) for k in range(total + 1)])
    np.testing.assert_allclose(np.diff(lrs[:warmup + 1]), lr_max / warmup, rtol=1e-12)   # a straight line from 0
    assert lrs[0] == 0.0 and lrs[warmup] == lr_max and lrs[total] == lr_min
    assert np.all(np.diff(lrs[warmup:]) <= 0)
    mid = warmup + (total - warmup) // 2
    assert lrs[mid] == pytest.approx((lr_max + lr_min) / 2, rel=1e-12)                    # half-way down at p = 1/2


@pytest.mark.parametrize("args", [(0, 5, 5, 0.1), (0, 5, 6, 0.1), (-1, 5, 1, 0.1), (0, 5, -1, 0.1),
                                  (0, -5, 0, 0.1), (0, 5, 1, -0.1), (0, 5, 1, 0.1, -0.01)])
def test_warmup_cosine_rejects_an_empty_cosine_phase_and_negative_arguments(args):
    with pytest.raises(ValueError):
        S.warmup_cosine(*args)


# ----------------------------------------------------------------- lr_range_test

def _model(seed: int, batchnorm: bool) -> nn.Module:
    torch.manual_seed(seed)
    layers = [nn.Linear(5, 8)] + ([nn.BatchNorm1d(8)] if batchnorm else []) + [nn.ReLU(), nn.Linear(8, 3)]
    return nn.Sequential(*layers).double()


def _batches(seed: int, n: int, rows: int = 10) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    centres = 2 * torch.randn(3, 5, generator=g, dtype=torch.float64)
    out = []
    for _ in range(n):
        y = torch.randint(0, 3, (rows,), generator=g)
        out.append((centres[y] + torch.randn(rows, 5, generator=g, dtype=torch.float64), y))
    return out


def _unrolled(model, loss_fn, batches, lr_min, lr_max, steps):
    """The range test written out: a fresh deep copy trained with torch.optim.SGD, one lr per update."""
    model = copy.deepcopy(model)
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    lrs, losses, best = [], [], math.inf
    for i in range(steps):
        xb, yb = batches[i % len(batches)]
        lr = math.exp(math.log(lr_min) + (math.log(lr_max) - math.log(lr_min)) * i / (steps - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(loss.item()) or loss.item() > 4 * best:
            break
        best = min(best, loss.item())
        loss.backward()
        opt.step()
    return lrs, losses


@pytest.mark.parametrize("seed,batchnorm,n_batches,lr_max,steps", [(0, False, 3, 10.0, 60), (1, True, 4, 50.0, 60),
                                                                  (2, False, 2, 0.05, 15), (3, True, 5, 1.0, 8)])
def test_lr_range_test_equals_an_unrolled_torch_sgd_loop_and_restores_the_model_bit_for_bit(
        seed, batchnorm, n_batches, lr_max, steps):
    model, batches = _model(seed, batchnorm), _batches(seed, n_batches)
    before = copy.deepcopy(model.state_dict())
    expected = _unrolled(model, nn.CrossEntropyLoss(), batches, 1e-3, lr_max, steps)
    lrs, losses = LF.lr_range_test(model, nn.CrossEntropyLoss(), batches, lr_min=1e-3, lr_max=lr_max, steps=steps)
    np.testing.assert_allclose(lrs, expected[0], rtol=1e-12)
    np.testing.assert_allclose(losses, expected[1], rtol=1e-9)
    assert all(type(v) is float for v in lrs + losses) and len(lrs) == len(losses)
    after = model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    if batchnorm:
        assert any("running" in k for k in before)          # buffers were there to restore


def test_lr_range_test_stops_at_the_first_loss_four_times_the_smallest_and_records_it():
    model, batches = _model(0, False), _batches(0, 3)
    lrs, losses = LF.lr_range_test(model, nn.CrossEntropyLoss(), batches, lr_min=1e-3, lr_max=10.0, steps=60)
    assert len(losses) < 60
    assert losses[-1] > 4 * min(losses[:-1])
    assert all(v <= 4 * min(losses[:i + 1]) for i, v in enumerate(losses[:-1]))
    assert lrs[0] == pytest.approx(1e-3) and lrs[-1] < 10.0


def test_lr_range_test_cycles_an_unshuffled_loader_like_a_list():
    model, batches = _model(4, False), _batches(4, 3)
    loader = DataLoader(TensorDataset(torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])),
                        batch_size=10, shuffle=False)
    from_list = LF.lr_range_test(model, nn.CrossEntropyLoss(), batches, lr_min=1e-4, lr_max=0.1, steps=10)
    from_loader = LF.lr_range_test(model, nn.CrossEntropyLoss(), loader, lr_min=1e-4, lr_max=0.1, steps=10)
    assert from_list == from_loader and len(from_list[0]) == 10


def test_suggest_lr_reads_the_steepest_fall_or_a_tenth_of_the_minimum_off_the_curve():
    lrs = list(np.geomspace(1e-4, 1.0, 9))
    losses = [2.3, 2.2, 1.9, 1.2, 0.6, 0.5, 0.9, 3.0, float("nan")]
    assert LF.suggest_lr(lrs, losses, rule="minimum/10", half_width=0) == pytest.approx(lrs[5] / 10)
    assert LF.suggest_lr(lrs, losses, half_width=0) == pytest.approx(lrs[3])     # the largest drop: 1.9 → 1.2 → 0.6
    with pytest.raises(ValueError):
        LF.suggest_lr(lrs, losses, rule="valley")
    assert LF.smooth([1.0, 1.0, 1.0]).tolist() == pytest.approx([1.0, 1.0, 1.0])   # bias-corrected from the start
    assert LF.smooth_centred([0.0, 3.0, 0.0, 3.0], 1).tolist() == pytest.approx([1.5, 1.0, 2.0, 1.5])  # no lag
    # a centred average does not lag: the curve falls fastest between indices 5 and 6, its minimum is at 9
    curve = [2.0] * 4 + [1.9, 1.6, 0.8, 0.5, 0.45, 0.44, 0.5, 2.0]
    grid = list(np.geomspace(1e-3, 1.0, len(curve)))
    assert LF.suggest_lr(grid, curve, half_width=1) in (grid[5], grid[6])
