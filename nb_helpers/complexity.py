r"""Model capacity on a 1-D regression problem (lesson 02): generated data, polynomial fits, the
model-complexity graph, the bias–variance decomposition and double descent (NumPy only).

Polynomial degree is the capacity knob: fitting 16 polynomials takes milliseconds, which lets the
lesson's widget (`nb_helpers.widgets.capacity_widget`) redraw instantly; the neural-network
experiments of the lesson show the same effects. Everything is seeded and vectorised.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["true_curve", "make_curve_data", "poly_fit", "poly_predict", "complexity_curve", "bias_variance",
           "double_descent"]


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


def double_descent(n_train: int = 30, widths: Sequence[int] = (), n_repeats: int = 10, noise: float = 0.3,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Random-ReLU-feature regression with the minimum-norm least-squares fit, as a function of the
    number of features p (a one-hidden-layer network whose first layer is frozen at random values):
    $\hat y = \mathrm{ReLU}(xW + b)\,\hat a$, $\hat a = \arg\min \lVert a\rVert$ s.t. the training MSE is minimal.
    Returns (widths, mean training MSE, mean test MSE) over `n_repeats` draws.
    """
    rng = np.random.default_rng(seed)
    widths = np.asarray(list(widths) or [2, 5, 10, 15, 20, 25, 28, 30, 32, 35, 40, 60, 100, 200, 400])
    x_test = np.linspace(-1.0, 1.0, 400)
    train_err = np.zeros(widths.size)
    test_err = np.zeros(widths.size)
    for _ in range(n_repeats):
        x = rng.uniform(-1.0, 1.0, size=n_train)
        y = true_curve(x) + rng.normal(0.0, noise, size=n_train)
        W = rng.normal(0.0, 3.0, size=int(widths.max()))
        b = rng.uniform(-3.0, 3.0, size=int(widths.max()))
        for i, p in enumerate(widths):
            feats = np.maximum(np.outer(x, W[:p]) + b[:p], 0.0)
            a = np.linalg.lstsq(feats, y, rcond=None)[0]
            train_err[i] += np.mean((feats @ a - y) ** 2) / n_repeats
            test_feats = np.maximum(np.outer(x_test, W[:p]) + b[:p], 0.0)
            test_err[i] += np.mean((test_feats @ a - true_curve(x_test)) ** 2) / n_repeats
    return widths, train_err, test_err
