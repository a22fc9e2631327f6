r"""Weight penalties (L1, L2), the proximal step that makes L1 sparse, and inverted dropout.

Lesson 03 asks students to write `l1_penalty`, `l2_penalty`, `regularized_bce`, `soft_threshold`,
`dropout` and `ista_lasso` (NumPy) themselves; these are the references the checks compare with (float64, torch unless
stated). The other functions build the lesson's figures and data sets; they are not graded.

Conventions (the lesson states them because libraries differ):

* a penalty is *added* to a mean data loss and is **not** divided by the number of samples;
* $\lambda\sum_j w_j^2$ has gradient $2\lambda w$, so it equals PyTorch's `weight_decay = 2\lambda`;
* dropout's `p` is the probability of **zeroing** an entry (as `nn.Dropout`).
"""

from __future__ import annotations

from typing import Iterable, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "l1_penalty", "l2_penalty", "regularized_bce", "soft_threshold", "dropout",
    "constrained_optimum", "plot_constraint_regions", "sparse_regression_data", "many_features_data",
    "ista_lasso", "lasso_optimality_gap", "overfit_data",
]

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)


# ----------------------------------------------------------------------------- graded references

def l1_penalty(params: Iterable[torch.Tensor], lam: float) -> torch.Tensor:
    r"""$\lambda \sum_j |w_j|$ over every entry of every tensor in `params` (a 0-d tensor).

    Autograd gives $\partial/\partial w_j = \lambda\,\mathrm{sign}(w_j)$, and $0$ at $w_j = 0$ (as `torch.abs`).
    `params` may be a one-shot generator such as `model.parameters()`.
    """
    total: torch.Tensor | None = None
    for p in params:
        s = p.abs().sum()
        total = s if total is None else total + s
    if total is None:
        return torch.zeros((), dtype=torch.get_default_dtype())
    return lam * total


def l2_penalty(params: Iterable[torch.Tensor], lam: float) -> torch.Tensor:
    r"""$\lambda \sum_j w_j^2$ over every entry of every tensor in `params` (a 0-d tensor; gradient $2\lambda w$)."""
    total: torch.Tensor | None = None
    for p in params:
        s = (p * p).sum()
        total = s if total is None else total + s
    if total is None:
        return torch.zeros((), dtype=torch.get_default_dtype())
    return lam * total


def regularized_bce(logits: torch.Tensor, targets: torch.Tensor, weights: Iterable[torch.Tensor],
                    l1: float = 0.0, l2: float = 0.0) -> torch.Tensor:
    r"""$\frac1N\sum_n \mathrm{BCE}(z_n, y_n) + \lambda_1\sum_j |w_j| + \lambda_2\sum_j w_j^2$ (a 0-d tensor).

    The data term is the mean BCE computed from logits (`F.binary_cross_entropy_with_logits`); the
    penalties are summed over every entry of every tensor in `weights` and are not divided by $N$.
    `weights` may be a one-shot generator: it is read exactly once.
    """
    weights = list(weights)
    loss = F.binary_cross_entropy_with_logits(logits, targets)
    if weights:
        loss = loss + l1 * sum(w.abs().sum() for w in weights) + l2 * sum((w * w).sum() for w in weights)
    return loss


def soft_threshold(w: ArrayOrTensor, t: float) -> ArrayOrTensor:
    r"""$S_t(w) = \mathrm{sign}(w)\,\max(|w| - t,\ 0)$, the proximal step of $t\,\|w\|_1$.

    Works on an `np.ndarray` or a `torch.Tensor` and returns a new object of the same type, dtype
    and device; `w` is not modified. Entries with $|w| \le t$ become exactly $0$.
    """
    if isinstance(w, torch.Tensor):
        return torch.sign(w) * torch.clamp(w.abs() - t, min=0.0)
    w = np.asarray(w)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0)


def dropout(x: torch.Tensor, p: float, training: bool = True,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Inverted dropout: $y = m \odot x / (1-p)$ with $m_i \sim \mathrm{Bernoulli}(1-p)$, so $\mathbb{E}[y] = x$.

    `p` is the probability of zeroing an entry. When not `training`, or when $p = 0$, the input is
    returned unchanged; $p = 1$ gives zeros (not $0/0$). The mask is drawn on `x`'s device from
    `generator` (the global generator when None). `p` outside $[0, 1]$ raises ValueError.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return torch.zeros_like(x)
    u = torch.rand(x.shape, generator=generator, device=x.device,
                   dtype=x.dtype if x.is_floating_point() else torch.get_default_dtype())
    keep = u < 1.0 - p
    return torch.where(keep, x / (1.0 - p), torch.zeros_like(x))


# ----------------------------------------------------------------------------- demo helpers (not graded)

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


def ista_lasso(X: np.ndarray, y: np.ndarray, lam: float, lr: float | None = None, steps: int = 500) -> np.ndarray:
    r"""Proximal gradient descent (ISTA) on $\frac{1}{2n}\|Xw - y\|^2 + \lambda\|w\|_1$ (sklearn `Lasso`'s objective, no intercept).

    From $w = 0$, `steps` times: $w \leftarrow S_{\eta\lambda}\big(w - \eta\,X^\top(Xw - y)/n\big)$ with the
    soft-threshold $S_t$; $\eta$ = `lr`, or $1/L$ with $L = \lambda_{\max}(X^\top X/n)$ when `lr` is None.
    Returns a new float64 (d,) array; X and y are not modified. (Graded reference of lesson 03; the
    soft-threshold is written inline because a reference never calls another graded function.)
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    eta = 1.0 / np.linalg.eigvalsh(X.T @ X / n)[-1] if lr is None else lr
    w = np.zeros(d)
    for _ in range(steps):
        z = w - eta * (X.T @ (X @ w - y)) / n
        w = np.sign(z) * np.maximum(np.abs(z) - eta * lam, 0.0)
    return w


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
