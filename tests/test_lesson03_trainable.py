"""Lesson 03's second-edition references against oracles from other hands: `torch.nn.init`'s
bounds and variances, `F.batch_norm` call for call (running statistics included), scikit-learn's `Lasso`
run to convergence and the lasso's optimality (subgradient) conditions; plus the profiling helpers the
lesson's figures use."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nb_helpers import initialization as I
from nb_helpers import normalization as N
from nb_helpers import regularization as R

# ---------------------------------------------------------------- init_weights

TORCH_INIT = {
    "xavier_uniform": lambda w, g: nn.init.xavier_uniform_(w, generator=g),
    "xavier_normal": lambda w, g: nn.init.xavier_normal_(w, generator=g),
    "he_uniform": lambda w, g: nn.init.kaiming_uniform_(w, nonlinearity="relu", generator=g),
    "he_normal": lambda w, g: nn.init.kaiming_normal_(w, nonlinearity="relu", generator=g),
}


@pytest.mark.parametrize("scheme", I.SCHEMES)
@pytest.mark.parametrize("fan_in, fan_out", [(500, 300), (200, 800)])
def test_init_weights_bounds_and_variances_equal_torch_nn_init(scheme, fan_in, fan_out):
    """Same layout and dtype as nn.init on an nn.Linear weight; the same exact bound for uniform laws; the
    variance of a large draw equal to torch's formula (and to torch's own draw) within six standard errors."""
    ours = I.init_weights(fan_in, fan_out, scheme, torch.Generator().manual_seed(1))
    theirs = TORCH_INIT[scheme](nn.Linear(fan_in, fan_out).weight.detach().clone(), torch.Generator().manual_seed(2))
    assert ours.shape == theirs.shape == (fan_out, fan_in)
    assert ours.dtype == theirs.dtype == torch.get_default_dtype()
    gain = nn.init.calculate_gain("relu")
    if scheme.startswith("xavier"):
        std = math.sqrt(2.0 / (fan_in + fan_out))
    else:
        std = gain / math.sqrt(fan_in)
    n = fan_in * fan_out
    tol = 6.0 * std ** 2 * math.sqrt(2.0 / n)
    for w in (ours, theirs):
        assert abs(float(w.double().var()) - std ** 2) < tol
    if scheme.endswith("uniform"):
        a = math.sqrt(3.0) * std
        assert float(ours.abs().max()) <= a * (1 + 1e-6) and float(theirs.abs().max()) <= a * (1 + 1e-6)
        assert float(ours.abs().max()) > a * (1 - 1e-3)
    else:   # a normal law: about 4.55 % of the draws lie beyond 2 standard deviations, as torch's do
        share = lambda w: float((w.double().abs() > 2 * std).double().mean())
        assert abs(share(ours) - share(theirs)) < 0.005 and abs(share(ours) - 0.0455) < 0.005


def test_init_weights_draws_only_from_the_given_generator():
    torch.manual_seed(0)
    a = I.init_weights(7, 5, "he_normal", torch.Generator().manual_seed(3))
    torch.manual_seed(99)
    b = I.init_weights(7, 5, "he_normal", torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    gen = torch.Generator().manual_seed(3)
    assert not torch.equal(I.init_weights(7, 5, "he_normal", gen), I.init_weights(7, 5, "he_normal", gen))
    state = torch.random.get_rng_state()
    I.init_weights(7, 5, "xavier_uniform", torch.Generator().manual_seed(4))
    assert torch.equal(state, torch.random.get_rng_state())


def test_init_weights_follows_the_default_dtype_and_rejects_unknown_schemes():
    previous = torch.get_default_dtype()
    try:
        torch.set_default_dtype(torch.float64)
        assert I.init_weights(3, 2, "xavier_normal").dtype == torch.float64
    finally:
        torch.set_default_dtype(previous)
    for bad in ("kaiming_normal", "xavier", "he", ""):
        with pytest.raises(ValueError):
            I.init_weights(3, 2, bad)


# ---------------------------------------------------------------- batchnorm_forward

@pytest.mark.parametrize("momentum", [0.1, 0.01, 0.5, 0.9])
@pytest.mark.parametrize("seed", range(3))
def test_batchnorm_forward_equals_f_batch_norm_call_for_call_running_stats_included(momentum, seed):
    rng = np.random.default_rng(seed)
    d = 4
    gamma, beta = torch.tensor(rng.uniform(0.5, 2, size=d)), torch.tensor(rng.normal(size=d))
    ours = [torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)]
    theirs = [t.clone() for t in ours]
    for training in (True, True, False, True, False, False, True):
        x = torch.tensor(rng.normal(rng.normal(size=d), rng.uniform(0.5, 3, size=d), size=(int(rng.integers(2, 12)), d)))
        before = x.clone()
        ids = [t.data_ptr() for t in ours]
        y = N.batchnorm_forward(x, gamma, beta, *ours, training, momentum=momentum, eps=1e-5)
        expected = F.batch_norm(x, *theirs, gamma, beta, training, momentum, 1e-5)
        torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-12)
        for a, b in zip(ours, theirs):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-14)
        assert [t.data_ptr() for t in ours] == ids and torch.equal(x, before)


def test_batchnorm_forward_eval_leaves_running_stats_and_n1_training_raises_like_torch():
    rm, rv = torch.tensor([0.5, -1.0], dtype=torch.float64), torch.tensor([2.0, 0.5], dtype=torch.float64)
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    g, b = torch.ones(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    y = N.batchnorm_forward(x, g, b, rm, rv, False)
    torch.testing.assert_close(y, F.batch_norm(x, rm.clone(), rv.clone(), g, b, False))
    assert rm.tolist() == [0.5, -1.0] and rv.tolist() == [2.0, 0.5]
    with pytest.raises(ValueError):
        F.batch_norm(x, rm.clone(), rv.clone(), g, b, True)
    with pytest.raises(ValueError):
        N.batchnorm_forward(x, g, b, rm, rv, True)


@pytest.mark.parametrize("momentum", [0.1, 0.5])
def test_batchnorm_forward_gradients_equal_f_batch_norm_and_running_stats_carry_none(momentum):
    """Differentiable in x, gamma and beta (training and eval), with F.batch_norm's gradients; the running
    statistics stay out of the autograd graph, as F.batch_norm's do."""
    rng = np.random.default_rng(7)
    d = 3
    ours = [torch.tensor(rng.normal(size=d)), torch.tensor(rng.uniform(0.5, 2, size=d))]
    theirs = [t.clone() for t in ours]
    gamma0, beta0 = torch.tensor(rng.uniform(0.5, 2, size=d)), torch.tensor(rng.normal(size=d))
    for training in (True, True, False):
        x0 = torch.tensor(rng.normal(1.0, 2.0, size=(5, d)))
        c = torch.tensor(rng.normal(size=(5, d)))
        grads = []
        for f, stats in ((N.batchnorm_forward, ours),
                         (lambda x, g, b, rm, rv, t, m: F.batch_norm(x, rm, rv, g, b, t, m), theirs)):
            x, g, b = (t.clone().requires_grad_() for t in (x0, gamma0, beta0))
            y = f(x, g, b, *stats, training, momentum)
            grads.append(torch.autograd.grad((y * c).sum(), (x, g, b)))
            assert not any(t.requires_grad for t in stats)
        for a, b in zip(*grads):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-14)


def test_batchnorm_forward_matches_nn_batchnorm1d_modes():
    torch.manual_seed(0)
    bn = nn.BatchNorm1d(3, dtype=torch.float64, momentum=0.2)
    rm, rv = bn.running_mean.clone(), bn.running_var.clone()
    for training in (True, True, False):
        bn.train(training)
        x = torch.randn(6, 3, dtype=torch.float64) * 2 + 1
        expected = bn(x)
        y = N.batchnorm_forward(x, bn.weight.detach(), bn.bias.detach(), rm, rv, training, momentum=0.2)
        torch.testing.assert_close(y, expected.detach())
        torch.testing.assert_close(rm, bn.running_mean)
        torch.testing.assert_close(rv, bn.running_var)


# ---------------------------------------------------------------- ista_lasso

def _lasso_problem(seed: int, n: int = 80, d: int = 12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X[:, 1] = 0.7 * X[:, 0] + 0.7 * X[:, 1]
    w = np.zeros(d)
    w[:3] = [2.0, -1.5, 1.0]
    return X, X @ w + 0.5 * rng.normal(size=n)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("lam", [0.05, 0.2])
def test_ista_lasso_converges_to_sklearn_lasso_with_the_same_exact_zeros(seed, lam):
    from sklearn.linear_model import Lasso

    X, y = _lasso_problem(seed)
    w = R.ista_lasso(X, y, lam, steps=5000)
    coef = Lasso(alpha=lam, fit_intercept=False, tol=1e-14, max_iter=1_000_000).fit(X, y).coef_
    assert w.dtype == np.float64 and w.shape == (X.shape[1],)
    assert np.array_equal(w == 0, coef == 0) and (w == 0).sum() >= 3
    np.testing.assert_allclose(w, coef, atol=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_ista_lasso_satisfies_the_lasso_optimality_conditions(seed):
    """0 ∈ ∇f(w) + λ∂‖w‖₁: g_j = −λ sign(w_j) on the support, |g_j| ≤ λ on the zeros (g = Xᵀ(Xw − y)/n)."""
    X, y = _lasso_problem(seed, n=60, d=9)
    lam = 0.1
    w = R.ista_lasso(X, y, lam, steps=5000)
    g = X.T @ (X @ w - y) / X.shape[0]
    on = w != 0
    assert np.abs(g[on] + lam * np.sign(w[on])).max() < 1e-9
    assert np.abs(g[~on]).max() <= lam + 1e-12
    objective = lambda v: 0.5 * np.mean((X @ v - y) ** 2) + lam * np.abs(v).sum()
    rng = np.random.default_rng(seed)
    assert all(objective(w) <= objective(w + 1e-3 * rng.normal(size=w.size)) for _ in range(50))


def test_ista_lasso_equals_a_proximal_step_written_with_torch_softshrink():
    """Step for step, with torch's softshrink as the proximal operator and 1/L from an SVD; X, y unchanged."""
    X, y = _lasso_problem(5, n=30, d=6)
    X0, y0 = X.copy(), y.copy()
    lam = 0.15
    L = np.linalg.svd(X / math.sqrt(X.shape[0]), compute_uv=False)[0] ** 2
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for steps in (1, 2, 7, 50):
        np.testing.assert_allclose(R.ista_lasso(X, y, lam, steps=steps), _torch_ista(Xt, yt, lam, 1.0 / L, steps),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(R.ista_lasso(X, y, lam, lr=0.5 / L, steps=steps),
                                   _torch_ista(Xt, yt, lam, 0.5 / L, steps), rtol=1e-9, atol=1e-12)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


def _torch_ista(Xt, yt, lam, lr, steps):
    w = torch.zeros(Xt.shape[1], dtype=torch.float64)
    for _ in range(steps):
        w = F.softshrink(w - lr * (Xt.T @ (Xt @ w - yt)) / Xt.shape[0], lr * lam)
    return w.numpy()


# ---------------------------------------------------------------- profiling helpers

def test_profile_mlp_default_init_shrinks_relu_spread_and_he_keeps_it():
    x = torch.tensor(np.random.default_rng(0).normal(size=(256, 16)))
    he = I.ProfileMLP(depth=20, width=64, activation="relu", init="he_normal", seed=0)
    spread = I.forward_spread(he, x)
    assert len(spread) == 20 and 0.3 < spread[-1] / spread[0] < 3.0
    default = I.ProfileMLP(depth=20, width=64, activation="relu", init="default", seed=0)
    assert I.forward_spread(default, x)[-1] < 0.3 * I.forward_spread(default, x)[0]


def test_profile_mlp_batchnorm_uses_the_given_function_and_residual_keeps_gradients():
    x = torch.tensor(np.random.default_rng(1).normal(size=(64, 16)))
    calls = []

    def bn(z, gamma, beta, rm, rv, training):
        calls.append(training)
        return N.batchnorm_forward(z, gamma, beta, rm, rv, training)

    net = I.ProfileMLP(depth=6, width=16, activation="tanh", init="default", norm=bn, seed=0)
    norms = I.backward_profile(net, x)
    assert calls == [True] * 6 and len(norms) == 6 and all(np.isfinite(norms))
    plain = I.backward_profile(I.ProfileMLP(depth=20, width=16, activation="tanh", init="default", seed=0), x)
    res = I.backward_profile(I.ProfileMLP(depth=20, width=16, activation="tanh", init="default", residual=True,
                                          seed=0), x)
    assert res[0] / res[-1] > 100 * plain[0] / plain[-1]
