r"""The regularization experiments of lesson 03: why L1 gives sparse weights (the constraint-region
picture), data sets on which penalties matter, and how close a lasso solution is to optimal.

Nothing here is graded; the references the checks compare with are in `nb_helpers.regularization`.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "constrained_optimum", "plot_constraint_regions", "sparse_regression_data", "many_features_data",
    "overfit_data", "lasso_optimality_gap",
]


def _quadratic(w1: np.ndarray, w2: np.ndarray, center: tuple[float, float], hess: np.ndarray) -> np.ndarray:
    d1, d2 = w1 - center[0], w2 - center[1]
    return 0.5 * (hess[0, 0] * d1 * d1 + 2 * hess[0, 1] * d1 * d2 + hess[1, 1] * d2 * d2)


def constrained_optimum(kind: str, radius: float = 1.0, center: tuple[float, float] = (2.0, 0.6),
                        hess: np.ndarray | None = None, n: int = 200_001) -> np.ndarray:
    r"""Minimiser of the quadratic loss $\tfrac12 (w-c)^\top H (w-c)$ on the boundary of the L1 ball
    $\|w\|_1 \le r$ ("l1") or the L2 ball $\|w\|_2 \le r$ ("l2"), by dense search along the boundary
    (the unconstrained minimum $c$ lies outside both balls, so the constrained one is on the boundary)."""
    hess = np.array([[1.0, 0.2], [0.2, 1.0]]) if hess is None else hess
    theta = np.linspace(-np.pi, np.pi, n)
    if kind == "l2":
        w1, w2 = radius * np.cos(theta), radius * np.sin(theta)
    elif kind == "l1":
        c, s = np.cos(theta), np.sin(theta)
        scale = radius / (np.abs(c) + np.abs(s))
        w1, w2 = scale * c, scale * s
    else:
        raise ValueError("kind is 'l1' or 'l2'")
    i = int(np.argmin(_quadratic(w1, w2, center, hess)))
    return np.array([w1[i], w2[i]])


def plot_constraint_regions(radius: float = 1.0, center: tuple[float, float] = (2.0, 0.6),
                            hess: np.ndarray | None = None):
    """Two panels: loss contours with the L1 diamond and the L2 disc, each with its constrained optimum."""
    import matplotlib.pyplot as plt

    from .plots import PALETTE

    hess = np.array([[1.0, 0.2], [0.2, 1.0]]) if hess is None else hess
    W1, W2 = np.meshgrid(np.linspace(-1.6, 2.8, 180), np.linspace(-1.6, 1.6, 130))
    Z = _quadratic(W1, W2, center, hess)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
    optima = {}
    for ax, kind in zip(axes, ("l1", "l2")):
        best = constrained_optimum(kind, radius, center, hess)
        optima[kind] = best
        level = _quadratic(best[0], best[1], center, hess)
        ax.contour(W1, W2, Z, levels=np.sort(np.r_[level * np.array([0.15, 0.4, 1.8, 3.0]), level]),
                   colors=PALETTE["blue"], linewidths=1.0, alpha=0.8)
        if kind == "l1":
            ax.fill([radius, 0, -radius, 0], [0, radius, 0, -radius], facecolor=PALETTE["orange"], alpha=0.35,
                    hatch="//", edgecolor=PALETTE["black"], linewidth=0.8, label=r"$|w_1| + |w_2| \leq 1$")
            ax.set_title("L1: the contour first touches a corner\n(w2 = 0 exactly)")
        else:
            ax.add_patch(plt.Circle((0, 0), radius, facecolor=PALETTE["sky"], alpha=0.35, hatch="\\\\",
                                    edgecolor=PALETTE["black"], linewidth=0.8, label=r"$w_1^2 + w_2^2 \leq 1$"))
            ax.set_title("L2: the contour touches a smooth edge\n(both weights non-zero)")
        ax.plot(*center, "k*", ms=12, label="unpenalised minimum")
        ax.plot(*best, ls="none", marker="o", ms=8, color=PALETTE["vermillion"], label="constrained minimum")
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(0, color="k", lw=0.6)
        ax.set_aspect("equal")
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.legend(loc="lower right", fontsize=8)
    return fig, optima


def sparse_regression_data(n: int = 200, d: int = 10, noise: float = 0.5, seed: int = 0,
                           coef: tuple[float, ...] = (3.0, -2.0, 1.5)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""$y = Xw^\star + \varepsilon$ with $X \sim \mathcal N(0, 1)^{n\times d}$ and only the first `len(coef)` entries of $w^\star$ non-zero."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = np.zeros(d)
    w[: len(coef)] = coef
    y = X @ w + noise * rng.normal(size=n)
    return X, y, w


def many_features_data(n_train: int = 80, n_val: int = 1000, d: int = 40, informative: int = 5,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Binary labels $y = [x^\top w^\star + \varepsilon > 0]$ where only `informative` of the `d` features matter."""
    rng = np.random.default_rng(seed)
    w = np.zeros(d)
    w[:informative] = rng.choice([-1.0, 1.0], size=informative) * rng.uniform(1.0, 2.0, size=informative)
    X = rng.normal(size=(n_train + n_val, d))
    y = (X @ w + 0.8 * rng.normal(size=n_train + n_val) > 0).astype(np.float64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def overfit_data(n_train: int = 60, n_val: int = 600, noise: float = 0.35,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Two interleaving half-moons with Gaussian noise (generated here, nothing downloaded): few training points.

    Class 0 lies on $(\cos t, \sin t)$, class 1 on $(1 - \cos t, \tfrac12 - \sin t)$, $t \sim U(0, \pi)$.
    Returns `(X_train, y_train, X_val, y_val)` with float64 labels 0.0/1.0.
    """
    rng = np.random.default_rng(seed)
    n = n_train + n_val
    y = rng.integers(0, 2, size=n)
    t = rng.uniform(0.0, np.pi, size=n)
    X = np.where(y[:, None] == 0, np.c_[np.cos(t), np.sin(t)], np.c_[1.0 - np.cos(t), 0.5 - np.sin(t)])
    X = X + noise * rng.normal(size=(n, 2))
    y = y.astype(np.float64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


def lasso_optimality_gap(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> tuple[float, float]:
    r"""How far `w` is from satisfying the lasso optimality (KKT) conditions of $\frac{1}{2n}\|Xw-y\|^2 + \alpha\|w\|_1$.

    With $g = \nabla f(w) = X^\top(Xw - y)/n$, an optimum has $g_j = -\alpha\,\mathrm{sign}(w_j)$ where
    $w_j \ne 0$ and $|g_j| \le \alpha$ where $w_j = 0$. Returns (max $|g_j + \alpha\,\mathrm{sign}(w_j)|$ on the
    support, max $|g_j|$ on the zeros), so an optimum gives (≈ 0, ≤ α).
    """
    g = X.T @ (X @ w - y) / X.shape[0]
    support = w != 0
    on_support = float(np.abs(g[support] + alpha * np.sign(w[support])).max()) if support.any() else 0.0
    on_zeros = float(np.abs(g[~support]).max()) if (~support).any() else 0.0
    return on_support, on_zeros
