"""Lesson 01's backpropagation references against oracles from other hands: PyTorch's
autograd in float64, central finite differences written here, and analytic gradients.

Values are compared with the checks' default tolerance (rtol 1e-7, atol 1e-12) where both sides compute
the same quantity exactly; a finite-difference estimate is compared with a looser tolerance that
covers its O(h²) truncation and its rounding error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nb_helpers import backprop as B
from tests.support.course import strict_numpy

RTOL, ATOL = 1e-7, 1e-12          # the checks' default tolerance
FD_RTOL, FD_ATOL = 1e-6, 1e-8     # central differences in float64, h = 1e-5
SEEDS = range(6)
ACTIVATIONS = ("relu", "tanh", "sigmoid")


def close(actual, expected, rtol=RTOL, atol=ATOL) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual.astype(np.float64), expected, rtol=rtol, atol=atol)


def central_differences(f, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """The test's own central differences, on copies of x (never in place)."""
    grad = np.empty_like(x)
    flat = x.reshape(-1)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = h
        grad.reshape(-1)[i] = (f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * h)
    return grad


# ---------------------------------------------------------------- numerical_gradient

def _analytic_cases(rng: np.random.Generator, shape: tuple[int, ...]):
    """(f, its gradient) pairs for an x of `shape`, each gradient derived by hand."""
    size = int(np.prod(shape))
    A = rng.normal(0.0, 1.0, size=(size, size))
    w = rng.normal(0.0, 1.0, size=shape)
    return [
        (lambda x: np.sum(np.sin(x)) + 0.5 * np.sum(x) ** 2, lambda x: np.cos(x) + np.sum(x)),
        (lambda x: np.log(1.0 + np.sum(x ** 2)), lambda x: 2.0 * x / (1.0 + np.sum(x ** 2))),
        (lambda x: x.ravel() @ A @ x.ravel(), lambda x: ((A + A.T) @ x.ravel()).reshape(x.shape)),
        (lambda x: np.exp(np.sum(w * x) / size), lambda x: w / size * np.exp(np.sum(w * x) / size)),
        (lambda x: np.sum(np.tanh(x) * w), lambda x: w * (1.0 - np.tanh(x) ** 2)),
    ]


@pytest.mark.parametrize("shape", [(5,), (1,), (3, 4), (2, 3, 2), (1, 1, 4)])
@pytest.mark.parametrize("seed", SEEDS)
def test_numerical_gradient_equals_analytic_gradients_on_1d_2d_3d_x(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=shape)
    for f, grad in _analytic_cases(rng, shape):
        estimate = B.numerical_gradient(f, x)
        assert estimate.shape == x.shape and estimate.dtype == np.float64
        close(estimate, grad(x), rtol=FD_RTOL, atol=FD_ATOL)


def test_numerical_gradient_is_exact_up_to_rounding_on_a_quadratic_and_uses_the_step_h():
    """Central differences have no truncation error on a quadratic; a forward difference would have h/2·f''."""
    x = np.array([[0.5, -2.0], [3.0, 1.25]])
    for h in (1e-3, 1e-5):
        close(B.numerical_gradient(lambda v: np.sum(v ** 2), x, h=h), 2.0 * x, rtol=1e-8, atol=1e-9)
    # on a cubic the error is h²·f'''/6 = h², which shows which h was used
    x = np.array([1.0, -1.0])
    close(B.numerical_gradient(lambda v: np.sum(v ** 3), x, h=1e-2), 3.0 * x ** 2 + 1e-4, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 2, 3)])
def test_numerical_gradient_calls_f_2_size_times_and_restores_x_bit_for_bit(shape):
    rng = np.random.default_rng(7)
    # entries whose x + h - h does not round-trip: only saving and restoring the entry gives them back
    x = rng.normal(0.0, 1.0, size=shape) * 1.2345678901
    before = x.tobytes()
    calls = []

    def f(v):
        calls.append(v.copy())
        return float(np.sum(np.cos(v)))

    grad = B.numerical_gradient(f, x)
    assert len(calls) == 2 * x.size
    assert x.tobytes() == before
    assert grad is not x and not np.shares_memory(grad, x)
    # every evaluation moves exactly one entry, by +h then -h, in turn
    for i, index in enumerate(np.ndindex(shape)):
        plus, minus = calls[2 * i], calls[2 * i + 1]
        moved = np.argwhere(plus != x)
        assert [tuple(m) for m in moved] == [index] and plus[index] == x[index] + 1e-5
        assert [tuple(m) for m in np.argwhere(minus != x)] == [index] and minus[index] == x[index] - 1e-5


def test_numerical_gradient_supports_an_f_that_reads_x_from_outside():
    """The usual gradient check of a network: f ignores its argument and reads the weights it holds."""
    rng = np.random.default_rng(3)
    params = B.init_two_layer(3, 4, 2, seed=1)
    X, y = rng.normal(size=(5, 3)), rng.integers(0, 2, size=5)
    _, grads = B.two_layer_net(params, X, y, "tanh")
    for name in ("W1", "b2"):
        estimate = B.numerical_gradient(lambda _: B.two_layer_net(params, X, y, "tanh")[0], params[name])
        close(estimate, grads[name], rtol=FD_RTOL, atol=FD_ATOL)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0, 3.0])

    def f(v):
        if v[1] != 2.0:
            raise RuntimeError("boom")
        return float(np.sum(v))

    with pytest.raises(RuntimeError):
        B.numerical_gradient(f, x)
    assert x.tolist() == [1.0, 2.0, 3.0]


# ---------------------------------------------------------------- softmax_cross_entropy_backward

def _torch_ce(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    z = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(z, torch.from_numpy(targets))
    loss.backward()
    return float(loss.detach()), z.grad.numpy()


@pytest.mark.parametrize("seed", SEEDS)
def test_softmax_cross_entropy_backward_equals_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    for scale in (0.1, 3.0, 50.0):
        n, c = int(rng.integers(1, 10)), int(rng.integers(2, 8))
        logits, targets = rng.normal(0.0, scale, size=(n, c)), rng.integers(0, c, size=n)
        kept = logits.copy(), targets.copy()
        loss, dlogits = B.softmax_cross_entropy_backward(logits, targets)
        want_loss, want_grad = _torch_ce(logits, targets)
        assert isinstance(loss, float)
        assert dlogits.dtype == np.float64 and dlogits.shape == (n, c)
        close(loss, want_loss)
        close(dlogits, want_grad)
        assert np.array_equal(logits, kept[0]) and np.array_equal(targets, kept[1])


def test_softmax_cross_entropy_backward_gradient_rows_sum_to_zero_and_equal_central_differences():
    rng = np.random.default_rng(11)
    logits, targets = rng.normal(0.0, 2.0, size=(4, 5)), np.array([0, 4, 2, 2])
    _, dlogits = B.softmax_cross_entropy_backward(logits, targets)
    close(dlogits.sum(axis=1), np.zeros(4), atol=1e-15)
    numeric = central_differences(lambda z: B.softmax_cross_entropy_backward(z, targets)[0], logits)
    close(dlogits, numeric, rtol=FD_RTOL, atol=FD_ATOL)


def test_softmax_cross_entropy_backward_is_stable_at_logits_of_1e4():
    logits = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [-1e4, 1e4, 5.0], [1e4, 1e4, -1e4]])
    targets = np.array([1, 2, 1, 2])
    with strict_numpy():
        loss, dlogits = B.softmax_cross_entropy_backward(logits, targets)
    want_loss, want_grad = _torch_ce(logits, targets)
    assert np.isfinite(loss) and np.isfinite(dlogits).all()
    close(loss, want_loss)
    close(dlogits, want_grad)


# ---------------------------------------------------------------- two_layer_net

def _params(rng: np.random.Generator, d: int, h: int, c: int) -> dict[str, np.ndarray]:
    return {"W1": rng.normal(0.0, 1.0, size=(d, h)), "b1": rng.normal(0.0, 0.5, size=h),
            "W2": rng.normal(0.0, 1.0, size=(h, c)), "b2": rng.normal(0.0, 0.5, size=c)}


def _torch_net(params, X, y, activation) -> tuple[float, dict[str, np.ndarray]]:
    act = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[activation]
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    scores = act(torch.from_numpy(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    loss = F.cross_entropy(scores, torch.from_numpy(y))
    loss.backward()
    return float(loss.detach()), {k: t.grad.numpy() for k, t in p.items()}


def _with_exact_zeros(rng, params, X):
    """Plant pre-activations that are exactly 0 (a zero sample and a zero bias; an integer-valued unit)."""
    X = X.copy()
    params = {k: v.copy() for k, v in params.items()}
    X[0] = 0.0
    params["b1"][0] = 0.0
    X[1:, :] = np.round(X[1:, :])
    params["W1"][:, -1] = 1.0
    params["b1"][-1] = -float(np.sum(X[1]))        # sample 1's last unit: exactly 0
    return params, X


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_two_layer_net_equals_torch_autograd(activation, seed):
    rng = np.random.default_rng(100 + seed)
    n, d, h, c = (int(v) for v in rng.integers(2, 7, size=4))
    params, X = _params(rng, d, h, c), rng.normal(0.0, 1.5, size=(n, d))
    y = rng.integers(0, c, size=n)
    for p, x in ((params, X), _with_exact_zeros(rng, params, X)):
        kept = {k: v.copy() for k, v in p.items()}, x.copy()
        loss, grads = B.two_layer_net(p, x, y, activation)
        want_loss, want = _torch_net(p, x, y, activation)
        assert isinstance(loss, float)
        close(loss, want_loss)
        assert list(grads) == ["W1", "b1", "W2", "b2"]
        for k in want:
            assert grads[k].dtype == np.float64 and grads[k].shape == p[k].shape
            close(grads[k], want[k])
        assert all(np.array_equal(p[k], kept[0][k]) for k in p) and np.array_equal(x, kept[1])


def test_two_layer_net_relu_derivative_at_exactly_zero_is_zero_like_autograd():
    params = {"W1": np.array([[1.0, -1.0]]), "b1": np.array([0.0, 0.0]),
              "W2": np.array([[1.0, -2.0], [3.0, 0.5]]), "b2": np.zeros(2)}
    X, y = np.array([[0.0], [2.0]]), np.array([1, 0])      # sample 0: both units at exactly 0
    _, grads = B.two_layer_net(params, X, y)
    _, want = _torch_net(params, X, y, "relu")
    # only sample 1's first unit (z = 2) passes gradient back to b1; with ReLU'(0) = 1 both samples would
    close(grads["b1"], want["b1"])
    assert grads["b1"][1] == 0.0 and want["b1"][1] == 0.0
    _, dscores = B.softmax_cross_entropy_backward(np.maximum(X @ params["W1"], 0) @ params["W2"], y)
    close(grads["b1"][0], (dscores[1] @ params["W2"][0]))


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_two_layer_net_gradients_equal_central_differences(activation):
    rng = np.random.default_rng({"relu": 1, "tanh": 2, "sigmoid": 3}[activation])
    params, X, y = _params(rng, 3, 5, 4), rng.normal(size=(6, 3)), rng.integers(0, 4, size=6)
    if activation == "relu":   # keep every pre-activation 1e-3 away from the kink so differences see one side
        z = X @ params["W1"] + params["b1"]
        params["b1"] = params["b1"] + np.where(np.abs(z).min(axis=0) < 1e-3, 0.01, 0.0)
        assert np.abs(X @ params["W1"] + params["b1"]).min() > 1e-3
    _, grads = B.two_layer_net(params, X, y, activation)
    for name in params:
        def loss_of(value, name=name):
            return B.two_layer_net({**params, name: value}, X, y, activation)[0]
        close(grads[name], central_differences(loss_of, params[name]), rtol=FD_RTOL, atol=FD_ATOL)


@pytest.mark.parametrize("activation", ["softplus", "ReLU", "", "gelu"])
def test_two_layer_net_rejects_an_unknown_activation(activation):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        B.two_layer_net(_params(rng, 2, 3, 2), rng.normal(size=(3, 2)), np.array([0, 1, 1]), activation)
    with pytest.raises(ValueError):
        B.predict_two_layer(_params(rng, 2, 3, 2), rng.normal(size=(3, 2)), activation)


def test_two_layer_net_default_activation_is_relu():
    rng = np.random.default_rng(5)
    params, X, y = _params(rng, 2, 4, 3), rng.normal(size=(5, 2)), rng.integers(0, 3, size=5)
    loss, grads = B.two_layer_net(params, X, y)
    want_loss, want = _torch_net(params, X, y, "relu")
    close(loss, want_loss)
    for k in want:
        close(grads[k], want[k])


# ---------------------------------------------------------------- the demo helpers

def _blobs(seed: int = 0, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Three 2-D Gaussian blobs, one per class."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [-2.0, -1.0], [2.0, -1.0]])
    y = np.arange(n) % 3
    return centres[y] + rng.normal(0.0, 0.7, size=(n, 2)), y.astype(np.int64)


def test_init_two_layer_shapes_dtype_scale_and_seed():
    p = B.init_two_layer(2, 50, 3, seed=4)
    assert {k: v.shape for k, v in p.items()} == {"W1": (2, 50), "b1": (50,), "W2": (50, 3), "b2": (3,)}
    assert all(v.dtype == np.float64 for v in p.values())
    assert not p["b1"].any() and not p["b2"].any()
    assert all(np.array_equal(p[k], B.init_two_layer(2, 50, 3, seed=4)[k]) for k in p)
    assert not np.array_equal(p["W1"], B.init_two_layer(2, 50, 3, seed=5)["W1"])
    big = B.init_two_layer(400, 400, 400, seed=0)
    assert abs(big["W1"].std() - np.sqrt(2 / 400)) < 0.01 * np.sqrt(2 / 400)
    assert abs(big["W2"].std() - np.sqrt(1 / 400)) < 0.01 * np.sqrt(1 / 400)
    assert abs(B.init_two_layer(400, 400, 400, scale=0.1)["W2"].std() - 0.1) < 0.001


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_train_two_layer_lowers_the_loss_on_a_small_2d_problem(activation):
    X, y = _blobs()
    params = B.init_two_layer(2, 16, 3, seed=0)
    kept = {k: v.copy() for k, v in params.items()}
    seen = []

    def net(p, X_, y_, act):
        seen.append(act)
        return B.two_layer_net(p, X_, y_, act)

    trained, losses = B.train_two_layer(net, params, X, y, lr=0.5, steps=200, activation=activation)
    assert seen == [activation] * 200
    assert losses.shape == (200,) and losses.dtype == np.float64
    assert losses[-1] < 0.5 * losses[0] and losses[-1] < 0.3
    assert np.all(np.diff(losses[:20]) < 0)                 # plain GD with a small step: monotone at first
    assert all(np.array_equal(params[k], kept[k]) for k in params)   # the caller's params are untouched
    accuracy = np.mean(B.predict_two_layer(trained, X, activation) == y)
    assert accuracy > 0.9
    assert B.predict_two_layer(trained, X, activation).dtype == np.int64


def test_train_two_layer_takes_the_stated_gradient_descent_step():
    X, y = _blobs(1, 12)
    params = B.init_two_layer(2, 4, 3, seed=2)
    one, losses = B.train_two_layer(B.two_layer_net, params, X, y, lr=0.1, steps=1, activation="tanh")
    loss, grads = B.two_layer_net(params, X, y, "tanh")
    assert losses.tolist() == [loss]
    for k in params:
        assert np.array_equal(one[k], params[k] - 0.1 * grads[k])
