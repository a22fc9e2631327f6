r"""Reference weight penalties (L1, L2), the proximal step that makes L1 sparse, the lasso by ISTA,
and inverted dropout.

Lesson 03 asks students to write `l1_penalty`, `l2_penalty`, `regularized_bce`, `soft_threshold`,
`dropout` and `ista_lasso` (NumPy) themselves; these are the references the checks compare with
(float64, torch unless stated). The lesson's figures and data sets are in
`nb_helpers.regularization_demos`.

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

__all__ = ["l1_penalty", "l2_penalty", "regularized_bce", "soft_threshold", "dropout", "ista_lasso"]

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, torch.Tensor)


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
