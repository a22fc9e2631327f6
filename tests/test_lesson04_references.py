"""Lesson 04 reference implementations against the libraries that define them (torch.optim, CyclicLR,
AveragedModel, DataLoader) and against the laws they must obey."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nb_helpers import gradient_descent as GD
from nb_helpers import minibatches as MB
from nb_helpers import optimizers as O
from nb_helpers import restarts as R
from nb_helpers import optimizer_race as race

# ----------------------------------------------------------------- optimizers vs torch.optim

OPTIMIZER_CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.03, "momentum": 0.7, "nesterov": True, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.2}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.02, "alpha": 0.9, "eps": 0.1}),
    ("RMSprop", {"lr": 0.01, "weight_decay": 0.1}),
    ("Adam", {}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3}),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.0}),
]


def _random_problem(seed: int):
    """Random parameter shapes and a noisy quadratic gradient oracle g_t(θ) = Aθ + c + noise_t."""
    rng = np.random.default_rng(seed)
    shapes = [tuple(int(v) for v in rng.integers(1, 4, size=int(rng.integers(1, 3)))) for _ in range(3)]
    params = [rng.normal(size=s) for s in shapes]
    mats = []
    for s in shapes:
        k = int(np.prod(s))
        B = rng.normal(size=(k, k))
        mats.append((B @ B.T / k + 0.2 * np.eye(k), rng.normal(size=k)))
    noise = rng.normal(scale=0.5, size=(100, sum(int(np.prod(s)) for s in shapes)))

    def grads(ps, t):
        out, at = [], 0
        for p, (A, c) in zip(ps, mats):
            out.append((A @ p.ravel() + c + noise[t, at:at + p.size]).reshape(p.shape))
            at += p.size
        return out

    return params, grads


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name,kwargs", OPTIMIZER_CONFIGS, ids=lambda v: str(v))
def test_numpy_optimizers_match_torch_optim_for_100_steps_in_float64(name, kwargs, seed):
    params, grads = _random_problem(seed)
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours = getattr(O, name)(params, **kwargs)
    theirs = getattr(torch.optim, name)(tensors, **kwargs)
    for t in range(100):
        ours.step(grads(params, t))
        for x, g in zip(tensors, grads([x.detach().numpy() for x in tensors], t)):
            x.grad = torch.from_numpy(g)
        theirs.step()
        for p, x in zip(params, tensors):
            np.testing.assert_allclose(p, x.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=f"step {t + 1}")


@pytest.mark.parametrize("name,kwargs", OPTIMIZER_CONFIGS, ids=lambda v: str(v))
def test_optimizers_update_the_callers_arrays_in_place_and_leave_gradients_alone(name, kwargs):
    params, grads = _random_problem(5)
    ids, before = [id(p) for p in params], [p.copy() for p in params]
    opt = getattr(O, name)(params, **kwargs)
    g = grads(params, 0)
    kept = [a.copy() for a in g]
    opt.step(g)
    assert [id(p) for p in params] == ids
    assert all(not np.array_equal(p, b) for p, b in zip(params, before))
    assert all(np.array_equal(a, b) for a, b in zip(g, kept))


def test_optimizer_state_memory_per_parameter_matches_torch():
    """SGD keeps nothing, momentum one buffer, RMSprop one, Adam/AdamW two (plus a step counter)."""
    p = [np.ones(10)]
    expected = {("SGD", 0.0): 0, ("SGD", 0.9): 10, ("RMSprop", None): 10, ("Adam", None): 20, ("AdamW", None): 20}
    for (name, mu), floats in expected.items():
        kwargs = {"lr": 0.1, "momentum": mu} if name == "SGD" else {}
        opt = getattr(O, name)([p[0].copy()], **kwargs)
        opt.step([np.ones(10)])
        assert opt.state_floats() == floats
        t = torch.ones(10, requires_grad=True)
        topt = getattr(torch.optim, name)([t], **kwargs)
        t.grad = torch.ones(10)
        topt.step()
        tensor_floats = sum(v.numel() for v in topt.state[t].values()
                            if isinstance(v, torch.Tensor) and v.dim() > 0)
        assert tensor_floats == floats


def test_rmsprop_adds_eps_outside_the_square_root_not_inside_like_keras():
    p = [np.array([1.0])]
    O.RMSprop(p, lr=0.01, eps=0.1).step([np.array([0.01])])
    s = 0.01 * 0.01**2  # (1 - alpha) g^2 after one step from s = 0
    np.testing.assert_allclose(p[0], 1.0 - 0.01 * 0.01 / (math.sqrt(s) + 0.1), rtol=1e-15)
    assert abs(p[0][0] - (1.0 - 0.01 * 0.01 / math.sqrt(s + 0.1))) > 1e-4


def test_adamw_decay_is_decoupled_and_adam_decay_is_coupled():
    """With a zero gradient, AdamW shrinks θ by exactly (1 − lr·wd) per step; Adam normalises its L2 gradient."""
    a, b = [np.array([2.0])], [np.array([2.0])]
    adamw, adam = O.AdamW(a, lr=0.1, weight_decay=0.5), O.Adam(b, lr=0.1, weight_decay=0.5)
    adamw.step([np.zeros(1)])
    adam.step([np.zeros(1)])
    assert a[0][0] == pytest.approx(2.0 * (1 - 0.05), rel=1e-12)
    assert b[0][0] == pytest.approx(2.0 - 0.1, rel=1e-6)  # m̂/√v̂ = sign(g) = 1: a step of lr whatever the decay


def test_sgd_nesterov_without_momentum_is_rejected_like_torch():
    with pytest.raises(ValueError):
        O.SGD([np.zeros(2)], lr=0.1, nesterov=True)
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, nesterov=True)


# ----------------------------------------------------------------- cyclical learning rate

@pytest.mark.parametrize("base,top,up,down", [(0.001, 0.1, 4, None), (0.01, 0.5, 3, 5), (1e-4, 0.3, 7, 2),
                                              (0.2, 0.25, 1, 1), (0.001, 0.1, 2000, None)])
def test_cyclic_lr_equals_torch_cyclic_lr_triangular_without_momentum_cycling(base, top, up, down):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base, top, up, down, mode="triangular", cycle_momentum=False)
    steps = range(0, 6 * (up + (down or up)) + 1, max(1, (up + (down or up)) // 50))
    k = 0
    for target in steps:
        while k < target:
            opt.step()
            sched.step()
            k += 1
        assert R.cyclic_lr(k, base, top, up, down) == pytest.approx(sched.get_last_lr()[0], rel=1e-12, abs=1e-15)


def test_cyclic_lr_reproduces_the_errata_sequence_and_cycle_ends():
    lrs = [round(R.cyclic_lr(k, 0.001, 0.1, 4), 5) for k in range(10)]
    assert lrs == [0.001, 0.02575, 0.0505, 0.07525, 0.1, 0.07525, 0.0505, 0.02575, 0.001, 0.02575]
    assert round(R.cyclic_lr(100, 0.001, 0.1, 2000), 5) == 0.00595  # stepped per epoch: never leaves the first ramp


def test_cyclic_lr_with_default_cycle_momentum_changes_sgd_momentum():
    """The side effect the lesson warns about (CyclicLR's default cycle_momentum=True)."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.0)
    torch.optim.lr_scheduler.CyclicLR(opt, 0.001, 0.1, 4)
    assert opt.param_groups[0]["momentum"] == 0.9


# ----------------------------------------------------------------- SWA

def _bn_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)).double()


@pytest.mark.parametrize("seed", [0, 1])
def test_swa_equals_averaged_model_parameters_and_buffers(seed):
    model = _bn_model(seed)
    ours, theirs = R.SWA(model), torch.optim.swa_utils.AveragedModel(model)
    g = torch.Generator().manual_seed(seed)
    for k in range(7):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.2 * torch.randn(p.shape, generator=g, dtype=torch.float64))
            model.train()
            model(torch.randn(8, 3, generator=g, dtype=torch.float64))
        ours.update(model)
        theirs.update_parameters(model)
        assert ours.n_averaged == int(theirs.n_averaged) == k + 1
        for a, b in zip(ours.module.parameters(), theirs.module.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        for a, b in zip(ours.module.buffers(), theirs.module.buffers()):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_swa_is_an_equal_weight_average_and_a_separate_copy():
    model = nn.Linear(1, 1, bias=False).double()
    swa = R.SWA(model)
    assert swa.module is not model and swa.n_averaged == 0
    for w in (1.0, 2.0, 3.0):
        with torch.no_grad():
            model.weight.fill_(w)
        swa.update(model)
    assert swa.module.weight.item() == pytest.approx(2.0) and swa.n_averaged == 3
    assert model.weight.item() == 3.0


# ----------------------------------------------------------------- snapshot ensembles

def test_snapshot_ensemble_is_the_mean_eval_mode_softmax_and_restores_modes():
    torch.manual_seed(0)
    models = [nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 3)).double()
              for _ in range(3)]
    models[1].eval()
    x = torch.randn(5, 4, dtype=torch.float64)
    out = R.snapshot_ensemble_predict(models, x)
    assert [m.training for m in models] == [True, False, True]
    assert not out.requires_grad and out.shape == (5, 3)
    for m in models:
        m.eval()
    with torch.no_grad():
        expected = sum(torch.softmax(m(x), dim=1) for m in models) / 3
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(5, dtype=torch.float64))


# ----------------------------------------------------------------- random restarts

def test_random_restarts_calls_once_per_seed_in_order_and_keeps_the_first_smallest_non_nan():
    calls = []
    losses = {4: float("nan"), 9: 0.5, 1: 0.2, 7: 0.2, 3: float("nan")}

    def train_fn(seed):
        calls.append(seed)
        return f"model-{seed}", torch.tensor(losses[seed])

    best, seed, got = R.random_restarts(train_fn, [4, 9, 1, 7, 3])
    assert calls == [4, 9, 1, 7, 3]
    assert (best, seed) == ("model-1", 1)
    assert all(type(v) is float for v in got) and got[1:3] == [0.5, pytest.approx(0.2)]


def test_random_restarts_returns_none_and_none_when_every_loss_is_nan():
    best, seed, got = R.random_restarts(lambda s: (f"model-{s}", float("nan")), [5, 2, 8])
    assert (best, seed) == (None, None)
    assert len(got) == 3 and all(math.isnan(v) for v in got)


def test_random_restarts_does_not_touch_global_random_state():
    torch.manual_seed(0)
    np.random.seed(0)
    expected = (torch.rand(1).item(), np.random.random())
    torch.manual_seed(0)
    np.random.seed(0)
    R.random_restarts(lambda s: (None, float(s)), [3, 1, 2])
    assert (torch.rand(1).item(), np.random.random()) == expected


# ----------------------------------------------------------------- mini-batches

@pytest.mark.parametrize("n,batch_size", [(10, 4), (12, 4), (3, 5), (17, 1), (50, 7)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_iterate_minibatches_equals_dataloader_without_shuffle(n, batch_size, drop_last):
    rng = np.random.default_rng(n)
    X, y = rng.normal(size=(n, 3)), rng.integers(0, 4, size=n)
    ours = list(MB.iterate_minibatches(X, y, batch_size, shuffle=False, drop_last=drop_last))
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch_size,
                        shuffle=False, drop_last=drop_last)
    theirs = [(xb.numpy(), yb.numpy()) for xb, yb in loader]
    assert len(ours) == len(theirs) == len(loader) == MB.n_batches(n, batch_size, drop_last)
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_shuffled_minibatches_partition_the_data_keep_rows_aligned_and_repeat_per_seed():
    X = np.arange(46, dtype=np.float64).reshape(23, 2)
    y = np.arange(23)
    batches = list(MB.iterate_minibatches(X, y, 5, seed=1))
    assert [len(b) for b, _ in batches] == [5, 5, 5, 5, 3]
    rows = np.concatenate([yb for _, yb in batches])
    assert sorted(rows) == list(range(23)) and list(rows) != list(range(23))
    assert all(np.array_equal(xb[:, 0] / 2, yb) for xb, yb in batches)
    again = list(MB.iterate_minibatches(X, y, 5, seed=1))
    assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(batches, again))
    dropped = list(MB.iterate_minibatches(X, y, 5, seed=1, drop_last=True))
    assert [len(b) for b, _ in dropped] == [5, 5, 5, 5]


def test_digits_arrays_equal_sklearn_load_digits():
    from sklearn.datasets import load_digits

    X, y = MB.digits_arrays(np.float64)
    X_ref, y_ref = load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, X_ref / 16.0)
    np.testing.assert_array_equal(y, y_ref)
    assert MB.digits_arrays()[0].dtype == np.float32 and y.dtype == np.int64


def test_mean_of_batch_means_differs_from_the_per_sample_mean_with_a_short_last_batch():
    """The errata's example: N = 10, batch size 4, per-sample losses 0..9 → 5.1667 against 4.5."""
    per_sample = np.arange(10.0)
    assert MB.mean_of_batch_means(per_sample, 4) == pytest.approx(31 / 6)
    assert per_sample.mean() == 4.5
    loader = DataLoader(TensorDataset(torch.zeros(10), torch.arange(10.0).sqrt()), batch_size=4)
    crit = nn.MSELoss()
    batch_means = [crit(xb, yb).item() for xb, yb in loader]
    weighted = sum(crit(xb, yb).item() * len(xb) for xb, yb in loader) / 10
    assert sum(batch_means) / len(loader) == pytest.approx(31 / 6) and weighted == pytest.approx(4.5)


# ----------------------------------------------------------------- batch GD and SGD

def test_batch_gd_losses_decrease_on_a_convex_problem_and_approach_least_squares():
    X, y = GD.make_linear_data(100, 3, seed=1)
    w, b, losses = GD.batch_gd_linear(X, y, lr=0.1, epochs=300)
    assert np.all(np.diff(losses[:40]) < 0) and np.all(np.diff(losses) <= 1e-15)
    A = np.column_stack([X, np.ones(len(X))])
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(np.append(w, b), coef, rtol=1e-6)
    assert losses[-1] == pytest.approx(GD.mse_linear(X, y, w, b))


def test_batch_gd_diverges_when_the_step_exceeds_two_over_the_curvature():
    X, y = GD.make_linear_data(100, 1, seed=2)
    A = np.column_stack([X, np.ones(len(X))])
    L = 2 * np.linalg.eigvalsh(A.T @ A / len(X)).max()  # Lipschitz constant of the gradient
    assert GD.batch_gd_linear(X, y, 1.9 / L, 200)[2][-1] < 1.0
    assert GD.batch_gd_linear(X, y, 2.1 / L, 200)[2][-1] > 1e3


def test_gd_paths_agree_with_batch_gd_and_sgd():
    X, y = GD.make_linear_data(30, 2, seed=3)
    w, b, losses = GD.batch_gd_linear(X, y, 0.05, 10)
    path, path_losses = GD.gd_linear_path(X, y, 0.05, 10)
    np.testing.assert_allclose(path[-1], np.append(w, b), rtol=1e-12)
    np.testing.assert_allclose(path_losses[1:], losses, rtol=1e-12)
    w, b, losses = GD.sgd_linear(X, y, 0.01, 3, seed=4)
    path, path_losses = GD.gd_linear_path(X, y, 0.01, 3, batch_size=1, seed=4)
    np.testing.assert_allclose(path[-1], np.append(w, b), rtol=1e-12)
    np.testing.assert_allclose(path_losses[30::30], losses, rtol=1e-12)


def test_sgd_linear_matches_torch_sgd_with_one_example_per_update():
    X, y = GD.make_linear_data(20, 2, seed=5)
    w, b, losses = GD.sgd_linear(X, y, 0.02, 3, seed=9)
    rng = np.random.default_rng(9)
    wt = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([wt, bt], lr=0.02)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(3):
        for i in rng.permutation(20):
            opt.zero_grad()
            ((Xt[i] @ wt + bt - yt[i]) ** 2).backward()
            opt.step()
    np.testing.assert_allclose(w, wt.detach().numpy(), rtol=1e-9)
    assert b == pytest.approx(bt.item(), rel=1e-9)


def test_linear_loss_grid_equals_the_direct_mse():
    X, y = GD.make_linear_data(40, 1, seed=6)
    ws, bs = np.linspace(-1, 3, 5), np.linspace(-2, 2, 4)
    grid = GD.linear_loss_grid(X[:, 0], y, ws, bs)
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            assert grid[i, j] == pytest.approx(GD.mse_linear(X, y, np.array([w]), b), rel=1e-10)


def test_minibatch_gradient_noise_falls_like_one_over_batch_size():
    X, y = GD.make_linear_data(400, 2, seed=7)
    noise = GD.minibatch_gradient_noise(X, y, np.zeros(2), 0.0, [1, 4, 16, 64], draws=3000, seed=0)
    predicted = noise[0] * np.array([(400 - B) / (B * 399) for B in (1, 4, 16, 64)]) / ((400 - 1) / 399)
    np.testing.assert_allclose(noise, predicted, rtol=0.15)


# ----------------------------------------------------------------- surfaces

@pytest.mark.parametrize("surface", [race.WAVY_1D, race.BUMPY_2D, race.SADDLE_2D, race.RAVINE_2D], ids=lambda s: s.name)
def test_surface_gradients_match_finite_differences(surface):
    rng = np.random.default_rng(0)
    dim = len(surface.start)
    for _ in range(5):
        p = rng.uniform(-1.5, 1.5, size=dim)
        numeric = np.array([(surface.f(p + h) - surface.f(p - h)) / 2e-6 for h in 1e-6 * np.eye(dim)])
        np.testing.assert_allclose(surface.grad(p), numeric, rtol=1e-5, atol=1e-6)


def test_surfaces_have_the_advertised_minima():
    assert race.WAVY_1D.f(np.array([0.0])) == 0.0
    assert race.SADDLE_2D.f(np.array([0.0, 1.0])) == 0.0 and np.allclose(race.SADDLE_2D.grad(np.zeros(2)), 0.0)
    assert race.RAVINE_2D.f(np.array([1.0, 0.5])) == 0.0
    X, Y, Z = race.BUMPY_2D.grid(301)
    assert Z.min() >= race.BUMPY_2D.minimum - 1e-9 and Z.min() < race.BUMPY_2D.minimum + 1e-3
