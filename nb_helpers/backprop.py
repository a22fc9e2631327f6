r"""Backpropagation by hand (lesson 01, second edition): a gradient check by central differences,
the backward pass of softmax cross-entropy, and a two-layer network's loss and gradients.

`numerical_gradient`, `softmax_cross_entropy_backward` and `two_layer_net` are the references of
the lesson's exercises (students write their own; pure NumPy, no autograd). `init_two_layer`,
`train_two_layer` and `predict_two_layer` drive the lesson's demo: plain full-batch gradient
descent on a small 2-D data set with whichever `two_layer_net` is handed to them.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

__all__ = [
    "numerical_gradient", "softmax_cross_entropy_backward", "two_layer_net", "ACTIVATIONS",
    "init_two_layer", "train_two_layer", "predict_two_layer",
]

#: The hidden-layer activations `two_layer_net` accepts.
ACTIVATIONS = ("relu", "tanh", "sigmoid")

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    r"""Central differences: $g_i = \big(f(x + h e_i) - f(x - h e_i)\big) / 2h$ for every entry $i$ of $x$.

    `f` maps an array shaped like `x` (float64, any number of dimensions) to a scalar. The entries
    are perturbed one at a time *in* `x` itself, so `f` may read `x` directly or through an object
    that holds it (the usual gradient check of a network's weights), and each entry gets its
    original value back before the next one moves: when the function returns, `x` holds exactly
    the bits it held on entry. `f` is called exactly 2·x.size times. Returns a new float64 array
    shaped like `x`. The truncation error is $O(h^2)$ (forward differences: $O(h)$).
    """
    grad = np.empty(np.shape(x), dtype=np.float64)
    for index in np.ndindex(grad.shape):
        original = x[index]
        try:
            x[index] = original + h
            f_plus = f(x)
            x[index] = original - h
            f_minus = f(x)
        finally:
            x[index] = original
        grad[index] = (f_plus - f_minus) / (2.0 * h)
    return grad


def _softmax_cross_entropy(z: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    r"""(mean cross-entropy, $(\mathrm{softmax}(z) - \mathrm{onehot}(y))/N$), both from one row-max shift."""
    n = z.shape[0]
    rows = np.arange(n)
    shifted = z - z.max(axis=1, keepdims=True)        # every exponent ≤ 0: nothing overflows
    exps = np.exp(shifted)
    sums = exps.sum(axis=1, keepdims=True)            # ≥ 1 (the max's own term is e^0)
    loss = float(np.mean(np.log(sums[:, 0]) - shifted[rows, targets]))
    dz = exps / sums
    dz[rows, targets] -= 1.0
    dz /= n
    return loss, dz


def softmax_cross_entropy_backward(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    r"""Loss and gradient of mean softmax cross-entropy: $L = \frac1N\sum_n \big(\log\sum_c e^{z_{nc}} - z_{n,y_n}\big)$,
    $\partial L/\partial z = (\mathrm{softmax}(z) - \mathrm{onehot}(y)) / N$.

    logits: (N, C) float64; targets: int64 (N,) in [0, C). Returns (loss as a Python float,
    dlogits: a new float64 (N, C) array), equal to `F.cross_entropy` and its autograd gradient.
    Both come from the scores shifted by their row maximum, so they stay finite and raise no
    RuntimeWarning for any finite logits (|z| ≤ 1e4 and beyond). The inputs are not modified.
    """
    z = np.asarray(logits, dtype=np.float64)
    return _softmax_cross_entropy(z, np.asarray(targets))


def _stable_sigmoid(z: np.ndarray) -> np.ndarray:
    r"""$\sigma(z)$ from $e^{-|z|}$ only: $1/(1+e^{-|z|})$ for $z \ge 0$, $e^{-|z|}/(1+e^{-|z|})$ below."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _hidden(z: np.ndarray, activation: str) -> tuple[np.ndarray, np.ndarray]:
    """(act(z), act'(z)) elementwise; ReLU'(0) = 0 as autograd has it."""
    if activation == "relu":
        return np.maximum(z, 0.0), (z > 0).astype(np.float64)
    if activation == "tanh":
        h = np.tanh(z)
        return h, 1.0 - h * h
    if activation == "sigmoid":
        h = _stable_sigmoid(z)
        return h, h * (1.0 - h)
    raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")


def _weights(params: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(params[name], dtype=np.float64) for name in PARAM_NAMES)


def two_layer_net(params: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray,
                  activation: str = "relu") -> tuple[float, dict[str, np.ndarray]]:
    r"""Loss and gradients of $\mathrm{scores} = \mathrm{act}(X W_1 + b_1)\,W_2 + b_2$ under mean softmax cross-entropy.

    params: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,), float64; X (N, D) float64; y int64 (N,) in
    [0, C); activation "relu" (ReLU′(0) = 0), "tanh" or "sigmoid", another name → ValueError.
    Backward pass: $\delta_2 = (\mathrm{softmax} - \mathrm{onehot}(y))/N$,
    $\nabla W_2 = h^\top\delta_2$, $\nabla b_2 = \sum_n \delta_2$, $\delta_1 = (\delta_2 W_2^\top)\odot\mathrm{act}'(z_1)$,
    $\nabla W_1 = X^\top\delta_1$, $\nabla b_1 = \sum_n \delta_1$.
    Returns (loss as a Python float, {"W1", "b1", "W2", "b2"}: new float64 arrays shaped like the
    parameters), equal to torch autograd in float64; params and X are not modified.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    W1, b1, W2, b2 = _weights(params)
    X = np.asarray(X, dtype=np.float64)
    z1 = X @ W1 + b1
    h, act_grad = _hidden(z1, activation)
    scores = h @ W2 + b2
    loss, dscores = _softmax_cross_entropy(scores, np.asarray(y))
    dz1 = (dscores @ W2.T) * act_grad
    grads = {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}
    return loss, grads


# ---------------------------------------------------------------- the lesson's demo (not graded)

def init_two_layer(D: int, H: int, C: int, seed: int = 0, scale: float | None = None) -> dict[str, np.ndarray]:
    r"""Fresh float64 parameters for `two_layer_net`: $W_1 \sim \mathcal N(0, s_1^2)$ (D, H), $W_2 \sim \mathcal N(0, s_2^2)$ (H, C), zero biases.

    scale None: $s_1 = \sqrt{2/D}$ (He, suited to ReLU) and $s_2 = \sqrt{1/H}$ (Xavier-like);
    otherwise both standard deviations are `scale`. Drawn from `np.random.default_rng(seed)`.
    """
    rng = np.random.default_rng(seed)
    s1 = np.sqrt(2.0 / D) if scale is None else float(scale)
    s2 = np.sqrt(1.0 / H) if scale is None else float(scale)
    return {"W1": rng.normal(0.0, s1, size=(D, H)), "b1": np.zeros(H),
            "W2": rng.normal(0.0, s2, size=(H, C)), "b2": np.zeros(C)}


def train_two_layer(net: Callable[..., tuple[float, Mapping[str, np.ndarray]]], params: Mapping[str, np.ndarray],
                    X: np.ndarray, y: np.ndarray, lr: float, steps: int,
                    activation: str = "relu") -> tuple[dict[str, np.ndarray], np.ndarray]:
    r"""Full-batch gradient descent $\theta \leftarrow \theta - \mathrm{lr}\cdot\nabla_\theta L$ for `steps` updates.

    `net` is any function with `two_layer_net`'s contract — a student's once it passes its check —
    and is only ever called as `net(params, X, y, activation)`. The caller's `params` are not
    modified (each step builds a new dict). Returns (the final params, a float64 array of the
    `steps` losses, each measured before its update).
    """
    current = {name: np.array(value, dtype=np.float64, copy=True) for name, value in params.items()}
    losses = np.empty(int(steps), dtype=np.float64)
    for step in range(int(steps)):
        loss, grads = net(current, X, y, activation)
        losses[step] = float(loss)
        current = {name: value - lr * np.asarray(grads[name], dtype=np.float64) for name, value in current.items()}
    return current, losses


def predict_two_layer(params: Mapping[str, np.ndarray], X: np.ndarray, activation: str = "relu") -> np.ndarray:
    r"""Predicted classes $\arg\max_c \big(\mathrm{act}(X W_1 + b_1) W_2 + b_2\big)_c$, int64 (N,)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}")
    W1, b1, W2, b2 = _weights(params)
    h, _ = _hidden(np.asarray(X, dtype=np.float64) @ W1 + b1, activation)
    return np.argmax(h @ W2 + b2, axis=1).astype(np.int64)
