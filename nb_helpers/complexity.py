r"""Model capacity on a 1-D regression problem (lesson 02): generated data, polynomial fits, the
model-complexity graph and the bias–variance decomposition (NumPy only).

Polynomial degree is the capacity knob: fitting 16 polynomials takes milliseconds, which lets the
lesson's widget (`nb_helpers.widgets.capacity_widget`) redraw instantly; the neural-network
experiments of the lesson show the same effects. Everything is seeded and vectorised.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["true_curve", "make_curve_data", "poly_fit", "poly_predict", "complexity_curve", "bias_variance"]


def true_curve(x: np.ndarray) -> np.ndarray:
    r"""The noiseless target $f(x) = \sin(3x) + 0.3x$ on $[-1, 1]$."""
    return np.sin(3.0 * x) + 0.3 * x


def make_curve_data(n: int, noise: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""n points $x \sim U(-1, 1)$, $y = f(x) + \varepsilon$ with $\varepsilon \sim N(0, \text{noise}^2)$."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=n)
    return x, true_curve(x) + rng.normal(0.0, noise, size=n)


def poly_fit(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    r"""Least-squares coefficients of a degree-d polynomial in the Legendre basis (well conditioned on [-1, 1]):
    $\hat c = \arg\min_c \lVert V_d(x)\,c - y\rVert^2$ (the minimum-norm solution when d + 1 > n)."""
    V = np.polynomial.legendre.legvander(x, degree)
    return np.linalg.lstsq(V, y, rcond=None)[0]


def poly_predict(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Evaluate the Legendre series with coefficients `coef` at x."""
    return np.polynomial.legendre.legval(x, coef)


def complexity_curve(x_tr: np.ndarray, y_tr: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
                     degrees: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    r"""Training and validation MSE $\frac1n\sum(y - \hat y)^2$ of a polynomial fit for each degree."""
    train, val = [], []
    for d in degrees:
        c = poly_fit(x_tr, y_tr, d)
        train.append(np.mean((poly_predict(c, x_tr) - y_tr) ** 2))
        val.append(np.mean((poly_predict(c, x_val) - y_val) ** 2))
    return np.array(train), np.array(val)


def bias_variance(degrees: Sequence[int], n_train: int = 25, n_sets: int = 200, noise: float = 0.3,
                  seed: int = 0) -> dict[str, np.ndarray]:
    r"""Monte-Carlo bias–variance decomposition of polynomial regression.

    For each degree, fit `n_sets` independent training sets and evaluate on a grid $x_g$:
    $\text{bias}^2 = \overline{(\mathbb E[\hat f(x_g)] - f(x_g))^2}$, $\text{variance} = \overline{\operatorname{Var}[\hat f(x_g)]}$;
    expected test MSE $= \text{bias}^2 + \text{variance} + \sigma^2$.

    The squared error of the *sample* mean over the sets also contains $\operatorname{Var}/n_\text{sets}$, so the
    returned ``bias2`` is corrected for it: $\max(\text{raw} - \text{var}/(n_\text{sets} - 1), 0)$, with ``var``
    the (ddof = 0) sample variance; ``bias2_raw`` keeps the uncorrected value.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(-0.95, 0.95, 200)
    xs = rng.uniform(-1.0, 1.0, size=(n_sets, n_train))
    ys = true_curve(xs) + rng.normal(0.0, noise, size=xs.shape)
    bias2, var = [], []
    for d in degrees:
        V = np.polynomial.legendre.legvander(xs, d)                 # (n_sets, n_train, d + 1)
        coefs = np.linalg.pinv(V) @ ys[:, :, None]                   # min-norm least squares, all sets at once
        preds = (np.polynomial.legendre.legvander(grid, d) @ coefs)[:, :, 0]
        bias2.append(np.mean((preds.mean(axis=0) - true_curve(grid)) ** 2))
        var.append(np.mean(preds.var(axis=0)))
    bias2_raw, var = np.array(bias2), np.array(var)
    bias2 = np.maximum(bias2_raw - var / (n_sets - 1), 0.0)
    return {"degree": np.asarray(degrees), "bias2": bias2, "bias2_raw": bias2_raw, "variance": var, "noise": np.full(len(degrees), noise ** 2),
            "expected_mse": bias2 + var + noise ** 2}

