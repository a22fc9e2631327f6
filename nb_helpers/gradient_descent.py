r"""Batch and stochastic gradient descent on linear least squares (NumPy, float64).

The model is $\hat y = Xw + b$ and the loss the mean squared error
$L(w, b) = \frac1n\sum_i (x_i^\top w + b - y_i)^2$, whose gradient is
$\nabla_w L = \frac2n X^\top r$, $\partial_b L = \frac2n \sum_i r_i$ with residuals $r = Xw + b - y$.

Lesson 04 asks students to write `batch_gd_linear` and `sgd_linear`; the other functions record
every update for the figures (paths on the loss contours, loss against updates).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "batch_gd_linear", "sgd_linear", "mse_linear", "linear_loss_grid", "gd_linear_path",
    "minibatch_gradient_noise", "make_linear_data",
]


def batch_gd_linear(X: np.ndarray, y: np.ndarray, lr: float, epochs: int) -> tuple[np.ndarray, float, np.ndarray]:
    r"""Full-batch gradient descent from $w = 0, b = 0$: one update per epoch,
    $w \leftarrow w - \alpha\,\frac2n X^\top r$, $b \leftarrow b - \alpha\,\frac2n\sum_i r_i$ with $r = Xw + b - y$
    (both gradients at the same $(w, b)$).

    Returns `(w, b, losses)`; `losses[e]` is the loss over all data after epoch `e`'s update.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    w, b = np.zeros(d), 0.0
    losses = np.empty(epochs)
    for epoch in range(epochs):
        r = X @ w + b - y
        grad_w, grad_b = 2.0 / n * (X.T @ r), 2.0 * r.mean()
        w, b = w - lr * grad_w, b - lr * grad_b
        losses[epoch] = np.mean((X @ w + b - y) ** 2)
    return w, float(b), losses


def sgd_linear(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, seed: int = 0) -> tuple[np.ndarray, float, np.ndarray]:
    r"""Stochastic gradient descent from $w = 0, b = 0$, one example per update:
    $w \leftarrow w - \alpha\,2 r_i x_i$, $b \leftarrow b - \alpha\,2 r_i$ with $r_i = x_i^\top w + b - y_i$.

    `rng = np.random.default_rng(seed)` is created once; epoch `e` visits the examples in the order
    `rng.permutation(n)`. Returns `(w, b, losses)`; `losses[e]` is the loss over all data after epoch `e`.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    rng = np.random.default_rng(seed)
    w, b = np.zeros(d), 0.0
    losses = np.empty(epochs)
    for epoch in range(epochs):
        for i in rng.permutation(n):
            r = X[i] @ w + b - y[i]
            w, b = w - lr * 2.0 * r * X[i], b - lr * 2.0 * r
        losses[epoch] = np.mean((X @ w + b - y) ** 2)
    return w, float(b), losses


def mse_linear(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    r"""$L(w, b) = \frac1n\sum_i (x_i^\top w + b - y_i)^2$."""
    return float(np.mean((np.asarray(X) @ np.asarray(w) + b - np.asarray(y)) ** 2))


def linear_loss_grid(x: np.ndarray, y: np.ndarray, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
    r"""$L(w, b)$ of the 1-feature model $\hat y = wx + b$ on the grid `ws` × `bs` (shape (len(bs), len(ws))),
    from the sufficient statistics: $L = w^2\overline{x^2} + b^2 + \overline{y^2} + 2wb\bar x - 2w\overline{xy} - 2b\bar y$."""
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64)
    W, B = np.meshgrid(ws, bs)
    return (W**2 * np.mean(x * x) + B**2 + np.mean(y * y) + 2 * W * B * x.mean()
            - 2 * W * np.mean(x * y) - 2 * B * y.mean())


def gd_linear_path(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, batch_size: int | None = None,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Mini-batch gradient descent on the MSE from $w = 0, b = 0$, recording every update.

    `batch_size=None` is full-batch GD; `batch_size=1` visits `default_rng(seed).permutation(n)` each
    epoch (the same order as `sgd_linear`). Returns `(path, losses)`: `path[k]` = $(w_1..w_d, b)$ after
    update $k$ (`path[0]` is the start) and `losses[k]` the full-data loss there.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    m = n if batch_size is None else int(batch_size)
    rng = np.random.default_rng(seed)
    theta = np.zeros(d + 1)
    path = [theta.copy()]
    for _ in range(epochs):
        order = np.arange(n) if batch_size is None else rng.permutation(n)
        for start in range(0, n, m):
            idx = order[start:start + m]
            r = X[idx] @ theta[:d] + theta[d] - y[idx]
            grad = np.concatenate([2.0 / len(idx) * (X[idx].T @ r), [2.0 * r.mean()]])
            theta = theta - lr * grad
            path.append(theta.copy())
    path_arr = np.array(path)
    losses = np.mean((X @ path_arr[:, :d].T + path_arr[:, d] - y[:, None]) ** 2, axis=0)
    return path_arr, losses


def minibatch_gradient_noise(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float, batch_sizes,
                             draws: int = 200, seed: int = 0) -> np.ndarray:
    r"""Mean squared distance $\mathbb E\,\|g_B - \nabla L\|^2$ between the gradient of a random mini-batch
    of size $B$ (drawn without replacement) and the full gradient, at the fixed point $(w, b)$, estimated
    from `draws` batches per size. Theory: $\frac{\operatorname{tr}\Sigma}{B}\cdot\frac{n-B}{n-1}$."""
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    r = X @ w + b - y
    per_example = np.column_stack([2.0 * r[:, None] * X, 2.0 * r])  # (n, d+1) gradients of each example
    full = per_example.mean(axis=0)
    rng = np.random.default_rng(seed)
    out = []
    for B in batch_sizes:
        idx = np.argsort(rng.random((draws, n)), axis=1)[:, :B]
        g = per_example[idx].mean(axis=1)
        out.append(np.mean(np.sum((g - full) ** 2, axis=1)))
    return np.array(out)


def make_linear_data(n: int = 200, d: int = 1, noise: float = 0.5, seed: int = 0,
                     w_true: np.ndarray | None = None, b_true: float = 1.0,
                     x_mean: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    r"""Synthetic regression data $y = Xw^\star + b^\star + \varepsilon$, $X \sim \mathcal N(\mu, 1)$, $\varepsilon \sim \mathcal N(0, \text{noise}^2)$.

    With $\mu$ = `x_mean` away from 0 the slope and the intercept are correlated: the loss surface over
    $(w, b)$ becomes a long, narrow valley (its Hessian $2\,\mathbb E[(x, 1)(x, 1)^\top]$ is ill-conditioned)."""
    rng = np.random.default_rng(seed)
    X = x_mean + rng.normal(size=(n, d))
    w = np.full(d, 2.0) if w_true is None else np.asarray(w_true, dtype=np.float64)
    y = X @ w + b_true + noise * rng.normal(size=n)
    return X, y
