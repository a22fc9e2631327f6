"""Lesson 01's references against oracles from other hands: PyTorch's float64 kernels and autograd,
central finite differences, and the laws softmax obeys.

`hypothesis` is not installed in the course's venv, so the inputs are seeded NumPy draws over several
seeds, mixed with the large magnitudes the stability rows promise (±1000; logits up to ±1e4).
Values are compared with the checks' default tolerance (rtol 1e-7, atol 1e-12) unless stated."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nb_helpers import activations as A
from nb_helpers import losses as L
from nb_helpers.checks.lesson01_activations import _loss_target
from tests.support.course import strict_numpy

RTOL, ATOL = 1e-7, 1e-12          # the checks' default tolerance
FD_RTOL, FD_ATOL = 1e-6, 1e-9     # central differences in float64
SEEDS = range(8)
LARGE = np.array([-1000.0, -710.0, -40.0, -1e-9, 0.0, 1e-9, 40.0, 710.0, 1000.0])


def _shape(rng: np.random.Generator) -> tuple[int, ...]:
    return tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))


def draws(seed: int) -> list[np.ndarray]:
    """float64 arrays of 1–3 dimensions at several scales, some with ±1000, ±710 and 0 planted in."""
    rng = np.random.default_rng(seed)
    out = []
    for scale in (1.0, 5.0, 100.0, 1000.0):
        x = rng.normal(0.0, scale, size=_shape(rng))
        flat = x.reshape(-1)
        k = min(flat.size, 3)
        flat[rng.choice(flat.size, k, replace=False)] = rng.choice(LARGE, k)
        out.append(x)
    out.append(LARGE.copy())
    return out


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def close(actual, expected, rtol=RTOL, atol=ATOL) -> None:
    actual = np.asarray(actual)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol)


def central_difference(f, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise derivative of an elementwise `f` by central differences; returns (derivative, h)."""
    h = 1e-5 * np.maximum(1.0, np.abs(x))
    return (f(x + h) - f(x - h)) / (2.0 * h), h


# ---------------------------------------------------------------- elementwise activations vs torch

TORCH_ELEMENTWISE = {
    "step": (A.step, lambda x: torch.heaviside(x, torch.zeros((), dtype=torch.float64))),
    "sigmoid": (A.sigmoid, torch.sigmoid),
    "tanh": (A.tanh, torch.tanh),
    "relu": (A.relu, F.relu),
    "gelu": (A.gelu, lambda x: F.gelu(x, approximate="none")),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(TORCH_ELEMENTWISE))
def test_elementwise_activations_equal_torch(name, seed):
    ours, theirs = TORCH_ELEMENTWISE[name]
    for x in draws(seed):
        kept = x.copy()
        with strict_numpy():
            got = ours(x)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == x.shape
        np.testing.assert_array_equal(x, kept)
        close(got, theirs(t(x)).numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_leaky_relu_equals_torch_for_slopes_in_0_1(seed):
    rng = np.random.default_rng(100 + seed)
    for x in draws(seed):
        for alpha in (0.01, float(rng.uniform(0.001, 0.999))):
            with strict_numpy():
                got = A.leaky_relu(x, alpha)
            close(got, F.leaky_relu(t(x), negative_slope=alpha).numpy())
        close(A.leaky_relu(x), nn.LeakyReLU()(t(x)).numpy())   # default slope 0.01 = nn.LeakyReLU()


def test_step_and_relu_grad_are_zero_at_zero_like_heaviside_0_and_autograd():
    x = np.array([-1.0, -0.0, 0.0, 5e-324, 1.0])
    assert A.step(x).tolist() == torch.heaviside(t(x), torch.tensor(0.0, dtype=torch.float64)).tolist() \
        == [0.0, 0.0, 0.0, 1.0, 1.0]
    xt = t(x).requires_grad_()
    F.relu(xt).sum().backward()
    assert A.relu_grad(x).tolist() == xt.grad.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_sigmoid_saturates_exactly_and_tanh_stays_in_range_at_1000():
    x = np.array([-1000.0, 1000.0])
    with strict_numpy():
        assert A.sigmoid(x).tolist() == torch.sigmoid(t(x)).tolist() == [0.0, 1.0]
        assert A.tanh(x).tolist() == torch.tanh(t(x)).tolist() == [-1.0, 1.0]


# ---------------------------------------------------------------- derivatives: autograd and central differences

DERIVATIVES = {
    "sigmoid_grad": (A.sigmoid_grad, torch.sigmoid, A.sigmoid),
    "tanh_grad": (A.tanh_grad, torch.tanh, A.tanh),
    "relu_grad": (A.relu_grad, F.relu, A.relu),
}


def autograd_derivative(f, x: np.ndarray) -> np.ndarray:
    xt = t(x).requires_grad_()
    (grad,) = torch.autograd.grad(f(xt).sum(), xt)
    return grad.numpy()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_derivatives_equal_torch_autograd(name, seed):
    ours, torch_f, _ = DERIVATIVES[name]
    for x in draws(seed):
        with strict_numpy():
            got = ours(x)
        assert got.dtype == np.float64 and got.shape == x.shape
        close(got, autograd_derivative(torch_f, x))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(DERIVATIVES))
def test_derivatives_equal_central_differences_of_the_course_functions(name, seed):
    ours, _, f = DERIVATIVES[name]
    for x in draws(seed):
        with strict_numpy():
            numeric, h = central_difference(f, x)
            got = ours(x)
        away = np.abs(x) > 2 * h if name == "relu_grad" else np.ones(x.shape, dtype=bool)   # not at ReLU's kink
        assert away.any()
        close(got[away], numeric[away], rtol=FD_RTOL, atol=FD_ATOL)


def test_sigmoid_grad_peaks_at_a_quarter_and_tanh_grad_at_one():
    grid = np.linspace(-6, 6, 12001)
    assert A.sigmoid_grad(grid).max() == A.sigmoid_grad(np.array([0.0]))[0] == 0.25
    assert A.tanh_grad(grid).max() == A.tanh_grad(np.array([0.0]))[0] == 1.0
    np.testing.assert_allclose(A.tanh_grad(grid), 4 * A.sigmoid_grad(2 * grid), rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------- softmax and log_softmax

def softmax_inputs(seed: int) -> list[tuple[np.ndarray, int]]:
    """(z, axis) for every axis, negative and positive, of 1-, 2- and 3-D inputs with offsets up to ±2000."""
    rng = np.random.default_rng(1000 + seed)
    out = []
    for ndim in (1, 2, 3):
        for scale, offset in ((1.0, 0.0), (5.0, 1000.0), (300.0, -2000.0)):
            z = rng.normal(offset, scale, size=tuple(int(n) for n in rng.integers(1, 6, size=ndim)))
            for axis in range(-ndim, ndim):
                out.append((z, axis))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_and_log_softmax_equal_torch_along_every_axis(seed):
    for z, axis in softmax_inputs(seed):
        with strict_numpy():
            s, ls = A.softmax(z, axis=axis), A.log_softmax(z, axis=axis)
        assert s.shape == ls.shape == z.shape
        close(s, torch.softmax(t(z), dim=axis).numpy())
        close(ls, F.log_softmax(t(z), dim=axis).numpy())
        close(A.softmax(z), torch.softmax(t(z), dim=-1).numpy())       # default axis=-1
        close(A.log_softmax(z), F.log_softmax(t(z), dim=-1).numpy())


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_slices_sum_to_one_and_are_invariant_to_a_constant_per_slice(seed):
    rng = np.random.default_rng(2000 + seed)
    for z, axis in softmax_inputs(seed):
        s = A.softmax(z, axis=axis)
        assert np.all(s >= 0) and np.all(s <= 1)
        close(s.sum(axis=axis), np.ones(np.delete(z.shape, axis % z.ndim)), rtol=0, atol=1e-12)
        c_shape = list(z.shape)
        c_shape[axis] = 1
        c = rng.uniform(-500, 500, size=c_shape)
        with strict_numpy():
            close(A.softmax(z + c, axis=axis), s)
            close(A.log_softmax(z + c, axis=axis), A.log_softmax(z, axis=axis), rtol=1e-9, atol=1e-10)
        close(np.exp(A.log_softmax(z, axis=axis)), s, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("z", [np.array([0.0, -1000.0]), np.array([1000.0, 1001.0]), np.array([-1000.0, 1000.0, 0.0]),
                               np.array([[0.0, 1.0], [-2000.0, -1999.0]]), np.array([[5.0, -995.0, 4.0]])])
def test_softmax_and_log_softmax_stay_finite_1000_below_the_max(z):
    with strict_numpy():
        s, ls = A.softmax(z), A.log_softmax(z)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(ls))
    close(s, torch.softmax(t(z), dim=-1).numpy())
    close(ls, F.log_softmax(t(z), dim=-1).numpy())
    below = z <= z.max(axis=-1, keepdims=True) - 995
    assert np.all(ls[below] < -900)          # log-probabilities, not log(0) = -inf


def test_softmax_worked_example_of_the_lesson():
    z = np.array([2.0, 1.0, 0.1])
    assert np.exp(z).sum() == pytest.approx(11.212509, abs=1e-6)
    close(A.softmax(z), torch.softmax(t(z), dim=0).numpy())
    np.testing.assert_allclose(A.softmax(z), [0.659001, 0.242433, 0.098566], atol=1e-6)
    assert L.cross_entropy(z[None], np.array([0])) == pytest.approx(0.417030, abs=1e-6)   # ERRATA: −ln 0.659001


# ---------------------------------------------------------------- cross-entropies

def ce_inputs(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(3000 + seed)
    out = []
    for scale in (1.0, 10.0, 1e4):
        n, c = int(rng.integers(1, 12)), int(rng.integers(2, 8))
        z = np.clip(rng.normal(0.0, scale, size=(n, c)), -1e4, 1e4)
        if scale == 1e4:
            z.reshape(-1)[rng.choice(z.size, min(z.size, 4), replace=False)] = rng.choice([-1e4, 1e4], min(z.size, 4))
        out.append((z, rng.integers(0, c, size=n).astype(np.int64)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_equals_torch_cross_entropy(seed):
    for z, y in ce_inputs(seed):
        with strict_numpy():
            got = L.cross_entropy(z, y)
        assert np.ndim(got) == 0 and np.isfinite(got)
        close(got, F.cross_entropy(t(z), torch.from_numpy(y)).item())
        close(got, nn.CrossEntropyLoss()(t(z), torch.from_numpy(y)).item())


@pytest.mark.parametrize("z,y", [
    (np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 5.0]]), np.array([1, 2, 1])),
    (np.array([[1e4, 1e4 - 25.0]]), np.array([0])),     # near-tie at 1e4: the reference rounds m + log(1 + e^-25)
    (np.array([[-1e4, -1e4], [1e4, -1e4]]), np.array([1, 1])),
    (np.array([[2.0, 1.0, 0.1]]), np.array([0])),
])
def test_cross_entropy_is_stable_at_logits_of_1e4(z, y):
    with strict_numpy():
        got = L.cross_entropy(z, y)
    close(got, F.cross_entropy(t(z), torch.from_numpy(y)).item())


def bce_inputs(seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(4000 + seed)
    out = []
    for scale in (1.0, 10.0, 1e4):
        n = int(rng.integers(1, 15))
        z = np.clip(rng.normal(0.0, scale, size=n), -1e4, 1e4)
        if scale == 1e4:
            z[rng.choice(n, min(n, 2), replace=False)] = rng.choice([-1e4, 1e4], min(n, 2))
        out.append((z, rng.integers(0, 2, size=n).astype(np.float64)))
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_cross_entropy_equals_torch_bce_with_logits(seed):
    for z, y in bce_inputs(seed):
        with strict_numpy():
            got = L.binary_cross_entropy(z, y)
        assert np.ndim(got) == 0 and np.isfinite(got)
        close(got, F.binary_cross_entropy_with_logits(t(z), t(y)).item())
        close(got, nn.BCEWithLogitsLoss()(t(z), t(y)).item())


def test_binary_cross_entropy_at_plus_minus_1e4_and_the_errata_example():
    for z, y in ((np.array([1e4, -1e4, 50.0, -50.0]), np.array([0.0, 1.0, 1.0, 0.0])),
                 (np.array([1e4, -1e4]), np.array([1.0, 0.0])),
                 (np.array([1e4, 1e4]), np.array([0.0, 0.0]))):
        with strict_numpy():
            got = L.binary_cross_entropy(z, y)
        close(got, F.binary_cross_entropy_with_logits(t(z), t(y)).item())
    p = np.array([0.01, 0.99, 0.9, 0.2])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    logits = np.log(p) - np.log1p(-p)
    close(L.binary_cross_entropy(logits, y), F.binary_cross_entropy(t(p), t(y)).item(), rtol=1e-12)
    assert L.binary_cross_entropy(logits, y) == pytest.approx(2.384711, abs=1e-6)


# ---------------------------------------------------------------- output heads and their losses (torch)

def head_input(problem: str, rng: np.random.Generator) -> torch.Tensor:
    n, c = int(rng.integers(2, 7)), int(rng.integers(2, 6))
    return t(rng.normal(0.0, 2.0, size=(n, c) if problem in ("multiclass", "multilabel") else (n,)))


TORCH_HEADS = {
    "binary": torch.sigmoid,
    "multiclass": lambda z: torch.softmax(z, dim=1),
    "multilabel": torch.sigmoid,
    "regression": lambda z: z,
    "positive_regression": torch.exp,
}


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("problem", L.PROBLEM_TYPES)
def test_output_activation_equals_the_torch_head(problem, seed):
    rng = np.random.default_rng(5000 + seed)
    x = head_input(problem, rng)
    kept = x.clone()
    out = L.output_activation(problem)(x)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64 and out.shape == x.shape
    torch.testing.assert_close(out, TORCH_HEADS[problem](kept), rtol=RTOL, atol=ATOL)
    assert torch.equal(x, kept)
    if problem == "multiclass":
        torch.testing.assert_close(out.sum(dim=1), torch.ones(x.shape[0], dtype=torch.float64))
    if problem in ("binary", "multilabel", "positive_regression"):
        assert bool((out > 0).all())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("problem", L.PROBLEM_TYPES)
def test_head_and_loss_pair_up_the_way_torch_computes_them(problem, seed):
    """The loss takes the raw outputs z; applied to the head's prediction the matching probabilistic
    loss gives the same number: BCE(σ(z)) = BCEWithLogits(z), NLL(log softmax) = CE(z), Poisson NLL of
    the rate e^z = PoissonNLLLoss(log_input=True)(z), MSE(identity)."""
    rng = np.random.default_rng(6000 + seed)
    z = head_input(problem, rng)
    y = _loss_target(problem, z, rng)
    pred = L.output_activation(problem)(z)
    loss = L.loss_for(problem)
    value = loss(z, y)
    assert value.dim() == 0
    if problem in ("binary", "multilabel"):
        expected = [F.binary_cross_entropy_with_logits(z, y), F.binary_cross_entropy(pred, y)]
    elif problem == "multiclass":
        expected = [F.cross_entropy(z, y), F.nll_loss(torch.log(pred), y)]
    elif problem == "regression":
        expected = [F.mse_loss(z, y), ((pred - y) ** 2).mean()]
    else:
        expected = [F.poisson_nll_loss(z, y, log_input=True), (pred - y * torch.log(pred)).mean()]
    for e in expected:
        torch.testing.assert_close(value, e, rtol=1e-9, atol=1e-12)


LOSS_CLASSES = {"binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss, "multilabel": nn.BCEWithLogitsLoss,
                "regression": nn.MSELoss, "positive_regression": nn.PoissonNLLLoss}


@pytest.mark.parametrize("problem", L.PROBLEM_TYPES)
def test_loss_for_returns_a_new_instance_with_default_arguments(problem):
    a, b = L.loss_for(problem), L.loss_for(problem)
    assert type(a) is LOSS_CLASSES[problem] and a is not b
    fresh = LOSS_CLASSES[problem](**({"log_input": True} if problem == "positive_regression" else {}))
    assert {k: v for k, v in vars(a).items() if not k.startswith("_")} == \
        {k: v for k, v in vars(fresh).items() if not k.startswith("_")}
    assert dict(a.named_buffers()) == dict(fresh.named_buffers()) == {}
    if problem == "positive_regression":
        assert a.log_input is True and a.full is False and a.reduction == "mean"


@pytest.mark.parametrize("name", ["softmax", "ranking", "Binary", ""])
def test_unknown_problem_types_raise_value_error(name):
    with pytest.raises(ValueError):
        L.output_activation(name)
    with pytest.raises(ValueError):
        L.loss_for(name)
