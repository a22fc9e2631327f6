r"""Reference activation functions and their derivatives (NumPy, float64, numerically stable).

Every function is elementwise unless stated, keeps the input's shape and returns float64.
Lesson 01 asks students to write these themselves; demos and later lessons use them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf as _erf

__all__ = [
    "step", "sigmoid", "tanh", "relu", "leaky_relu", "gelu",
    "sigmoid_grad", "tanh_grad", "relu_grad", "softmax", "log_softmax",
]


def step(x: np.ndarray) -> np.ndarray:
    r"""Heaviside step: $H(x) = 1$ if $x > 0$ else $0$ (as 0.0/1.0 floats)."""
    return (np.asarray(x) > 0).astype(np.float64)


def sigmoid(x: np.ndarray) -> np.ndarray:
    r"""$\sigma(x) = 1/(1+e^{-x})$, computed as $e^{x}/(1+e^{x})$ for $x<0$ so no exponential overflows."""
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


def tanh(x: np.ndarray) -> np.ndarray:
    r"""$\tanh(x) = (1 - e^{-2|x|})/(1 + e^{-2|x|})\cdot\mathrm{sign}(x)$, the stable form of $(e^x-e^{-x})/(e^x+e^{-x})$."""
    x = np.asarray(x, dtype=np.float64)
    z = np.exp(-2.0 * np.abs(x))
    return np.sign(x) * (1.0 - z) / (1.0 + z)


def relu(x: np.ndarray) -> np.ndarray:
    r"""$\mathrm{ReLU}(x) = \max(0, x)$."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def leaky_relu(x: np.ndarray, alpha: float = 0.01) -> np.ndarray:
    r"""$x$ for $x \ge 0$, $\alpha x$ otherwise (= `F.leaky_relu(x, negative_slope=alpha)`)."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(x >= 0, x, alpha * x)


def gelu(x: np.ndarray) -> np.ndarray:
    r"""Exact GELU: $x\,\Phi(x)$ with $\Phi(x) = \tfrac12\,(1 + \mathrm{erf}(x/\sqrt2))$ (= `F.gelu(x)`)."""
    x = np.asarray(x, dtype=np.float64)
    return x * 0.5 * (1.0 + _erf(x / np.sqrt(2.0)))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    r"""$\sigma'(x) = \sigma(x)\,(1-\sigma(x))$, at most $1/4$ (at $x=0$)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    r"""$\tanh'(x) = 1 - \tanh^2(x)$, at most $1$ (at $x=0$)."""
    t = np.tanh(np.asarray(x, dtype=np.float64))
    return 1.0 - t * t


def relu_grad(x: np.ndarray) -> np.ndarray:
    r"""$\mathrm{ReLU}'(x) = 1$ if $x > 0$ else $0$ (PyTorch's autograd also uses $0$ at $x = 0$)."""
    return (np.asarray(x) > 0).astype(np.float64)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$\mathrm{softmax}(z)_i = e^{z_i - m} / \sum_j e^{z_j - m}$ with $m = \max_j z_j$ (shift-invariant, never overflows)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    r"""$\log\mathrm{softmax}(z)_i = z_i - m - \log\sum_j e^{z_j - m}$ with $m = \max_j z_j$ (= `F.log_softmax`)."""
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
