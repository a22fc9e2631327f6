r"""Model selection and evaluation as code (lesson 02, second edition): k-fold cross-validation of any
`fit_predict`, a grid search over hyperparameters, and percentile-bootstrap intervals for test metrics.

`cross_val_score`, `grid_search_cv` and `bootstrap_ci` are the references of the lesson's exercises
(students write their own; NumPy only). They call only references (`splits.kfold_indices`,
`metrics.mse` and each other), never a student's function. The rest drives the lesson's experiments:
a polynomial least-squares `fit_predict` for the model-selection demo, nested cross-validation, a
paired bootstrap of the difference between two models, and `selection_bias`, which repeats the
whole selection on many independent data sets at once (vectorised over the repeats).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from . import complexity
from .metrics import mse as _mse
from .splits import kfold_indices

__all__ = [
    "bootstrap_ci",
    "cross_val_score",
    "grid_search_cv",
    "make_poly_fit_predict",
    "nested_cv",
    "paired_bootstrap_ci",
    "selection_bias",
]

FitPredict = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
Metric = Callable[[np.ndarray, np.ndarray], float]


# ---------------------------------------------------------------- the references of the exercises

def cross_val_score(fit_predict: FitPredict, X: np.ndarray, y: np.ndarray, k: int = 5, seed: int = 0,
                    metric: Metric | None = None) -> np.ndarray:
    r"""k-fold scores $s_i = \text{metric}\big(y_{V_i},\ \text{fit\_predict}(X_{T_i}, y_{T_i}, X_{V_i})\big)$, $i = 1..k$.

    $(T_i, V_i)$ are the folds of `kfold_indices(len(X), k, shuffle=True, seed=seed)`, in order;
    `fit_predict` is called exactly once per fold and returns predictions for $X_{V_i}$; metric None
    means `mse`. Returns a new float64 array of the k scores; X and y are not modified.
    """
    metric = _mse if metric is None else metric
    scores = np.empty(k, dtype=np.float64)
    for i, (train, val) in enumerate(kfold_indices(len(X), k, shuffle=True, seed=seed)):
        scores[i] = metric(y[val], fit_predict(X[train], y[train], X[val]))
    return scores


def grid_search_cv(make_fit_predict: Callable[..., FitPredict], grid: Sequence[Mapping[str, Any]], X: np.ndarray,
                   y: np.ndarray, k: int = 5, seed: int = 0, metric: Metric | None = None,
                   greater_is_better: bool = False) -> tuple[Mapping[str, Any], np.ndarray]:
    r"""Exhaustive search: $\bar s_j = \frac1k\sum_i s_i\big(\text{make\_fit\_predict}(\ast\ast g_j)\big)$ for every entry $g_j$ of `grid`,
    all on the same folds (`cross_val_score` with the same k and seed); best $= g_{j^\ast}$ with
    $j^\ast = \arg\min_j \bar s_j$ ($\arg\max$ when `greater_is_better`), the first on ties, a NaN mean never winning.

    Returns (the best grid entry itself, a float64 array of the means in grid order). An empty grid
    raises ValueError; when every mean is NaN the first entry is returned.
    """
    grid = list(grid)
    if not grid:
        raise ValueError("grid must hold at least one parameter dict")
    means = np.array([cross_val_score(make_fit_predict(**params), X, y, k=k, seed=seed, metric=metric).mean()
                      for params in grid], dtype=np.float64)
    keys = -means if greater_is_better else means
    keys = np.where(np.isnan(keys), np.inf, keys)           # NaN never wins (np.argmin would pick it)
    return grid[int(np.argmin(keys))], means                 # np.argmin: the first of equal minima


def bootstrap_ci(metric: Metric, y_true: np.ndarray, y_pred: np.ndarray, n_boot: int = 1000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval of a test metric: with $I = $ `default_rng(seed).integers(0, n, size=(n_boot, n))`,
    $s_b = \text{metric}(y_{I_b}, \hat y_{I_b})$ (the same rows of both: a paired resample), and
    $(\text{low}, \text{high}) = $ the $100\,\alpha/2$ and $100\,(1 - \alpha/2)$ percentiles of $s$ (`np.percentile`, linear).

    Returns two Python floats; n_boot < 1 or alpha outside (0, 1) raises ValueError; the inputs are not modified.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    n = len(y_true)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    scores = np.array([metric(y_true[rows], y_pred[rows]) for rows in idx], dtype=np.float64)
    low, high = np.percentile(scores, [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)])
    return float(low), float(high)


# ---------------------------------------------------------------- the lesson's experiments (not graded)

def make_poly_fit_predict(degree: int) -> FitPredict:
    r"""A `fit_predict` for 1-D inputs: least squares of a degree-`degree` polynomial (Legendre basis,
    minimum-norm when degree + 1 exceeds the training points), $\hat y = V_d(x_\text{val})\,\hat c$ with
    $\hat c = \arg\min_c \lVert V_d(x_\text{train})\,c - y_\text{train}\rVert^2$."""
    def fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray) -> np.ndarray:
        return complexity.poly_predict(complexity.poly_fit(x_train, y_train, degree), x_val)
    fit_predict.__name__ = fit_predict.__qualname__ = f"poly_fit_predict_degree_{degree}"
    return fit_predict


def nested_cv(make_fit_predict: Callable[..., FitPredict], grid: Sequence[Mapping[str, Any]], X: np.ndarray,
              y: np.ndarray, k_outer: int = 5, k_inner: int = 5, seed: int = 0, metric: Metric | None = None,
              greater_is_better: bool = False,
              search: Callable[..., tuple[Mapping[str, Any], np.ndarray]] | None = None) -> dict[str, Any]:
    r"""Nested cross-validation of the whole selection procedure: for each outer fold $(T_i, V_i)$ of
    `kfold_indices(len(X), k_outer, shuffle=True, seed=seed)`, `search` (default `grid_search_cv`) picks
    $g_i$ on $(X_{T_i}, y_{T_i})$ alone with k_inner folds and the same seed; the winner is refitted on
    $T_i$ and scored once on $V_i$: $s_i = \text{metric}(y_{V_i}, \text{fit\_predict}_{g_i}(X_{T_i}, y_{T_i}, X_{V_i}))$.

    Returns {"scores": float64 (k_outer,), "chosen": the k_outer winning grid entries, "inner_best":
    float64 (k_outer,), each winner's inner cross-validated mean}. The mean of "scores" estimates the
    error of the procedure (select, then refit), which no single validation score of a winner does.
    """
    search = grid_search_cv if search is None else search
    metric = _mse if metric is None else metric
    scores, chosen, inner_best = [], [], []
    for train, val in kfold_indices(len(X), k_outer, shuffle=True, seed=seed):
        best, means = search(make_fit_predict, grid, X[train], y[train], k=k_inner, seed=seed, metric=metric,
                             greater_is_better=greater_is_better)
        j = next(i for i, g in enumerate(grid) if g == best)
        chosen.append(best)
        inner_best.append(float(means[j]))
        scores.append(float(metric(y[val], make_fit_predict(**best)(X[train], y[train], X[val]))))
    return {"scores": np.array(scores), "chosen": chosen, "inner_best": np.array(inner_best)}


def paired_bootstrap_ci(metric: Metric, y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                        n_boot: int = 1000, alpha: float = 0.05, seed: int = 0) -> dict[str, Any]:
    r"""Paired bootstrap of a difference between two models scored on the same test set:
    $d_b = \text{metric}(y_{I_b}, a_{I_b}) - \text{metric}(y_{I_b}, b_{I_b})$ on the resamples $I$ of
    `bootstrap_ci` (same seed, same rows for both models), and its percentile interval.

    Returns {"diff": the difference on the full test set, "low", "high": the interval, "share_not_above_0":
    the fraction of resamples with $d_b \le 0$, "a": (low, high) and "b": (low, high), each model's own
    interval from the same resamples (equal to `bootstrap_ci` with the same seed)}.
    """
    n = len(y_true)
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    sa = np.array([metric(y_true[r], pred_a[r]) for r in idx], dtype=np.float64)
    sb = np.array([metric(y_true[r], pred_b[r]) for r in idx], dtype=np.float64)
    q = [100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)]
    d = sa - sb
    low, high = np.percentile(d, q)
    return {"diff": float(metric(y_true, pred_a) - metric(y_true, pred_b)), "low": float(low), "high": float(high),
            "share_not_above_0": float(np.mean(d <= 0)),
            "a": tuple(float(v) for v in np.percentile(sa, q)), "b": tuple(float(v) for v in np.percentile(sb, q))}


def _batched_poly(x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, degree: int) -> np.ndarray:
    """Minimum-norm least-squares polynomials fitted to every row of (x_train, y_train) at once, evaluated at x_eval."""
    V = np.polynomial.legendre.legvander(x_train, degree)                    # (R, n, d + 1)
    coef = np.linalg.pinv(V) @ y_train[:, :, None]                           # (R, d + 1, 1)
    return (np.polynomial.legendre.legvander(x_eval, degree) @ coef)[:, :, 0]


def _batched_cv(x: np.ndarray, y: np.ndarray, degrees: Sequence[int], k: int, seed: int) -> np.ndarray:
    """(R, D) mean k-fold MSE of each degree on each row, with the folds of `cross_val_score(k, seed)`."""
    cv = np.zeros((x.shape[0], len(degrees)))
    folds = kfold_indices(x.shape[1], k, shuffle=True, seed=seed)
    for j, d in enumerate(degrees):
        fold_mse = [np.mean((_batched_poly(x[:, tr], y[:, tr], x[:, va], d) - y[:, va]) ** 2, axis=1)
                    for tr, va in folds]
        cv[:, j] = np.mean(fold_mse, axis=0)
    return cv


def _winners_predict(x_train: np.ndarray, y_train: np.ndarray, x_eval: np.ndarray, winner: np.ndarray,
                     degrees: Sequence[int]) -> np.ndarray:
    """Row r fitted with degree degrees[winner[r]] and evaluated at x_eval[r]."""
    out = np.empty(x_eval.shape)
    for j, d in enumerate(degrees):
        rows = winner == j
        if rows.any():
            out[rows] = _batched_poly(x_train[rows], y_train[rows], x_eval[rows], d)
    return out


def selection_bias(n_repeats: int = 400, n_train: int = 25, n_test: int = 1000, degrees: Sequence[int] = range(9),
                   k: int = 5, noise: float = 1.0, seed: int = 0, nested: bool = True) -> dict[str, np.ndarray]:
    r"""Selection bias of a cross-validated winner, over `n_repeats` independent data sets at once.

    Each repeat draws n_train training points and n_test fresh test points of $y = f(x) + \varepsilon$
    (`complexity.true_curve`, $\varepsilon \sim N(0, \text{noise}^2)$), runs what `grid_search_cv` with
    `make_poly_fit_predict` does over `degrees` (k folds, the given seed, MSE), refits the winner on all
    n_train points and measures its test MSE; with `nested`, it also runs `nested_cv` (k outer and k inner
    folds). Returns per-repeat float64 arrays "cv" (R, D): every degree's mean CV MSE; "test" (R, D): every
    degree refitted on all points, test MSE; "winner" (R,) int64 index into degrees; "winner_cv", "winner_test";
    and "nested" (R,), the nested-CV estimate.
    """
    rng = np.random.default_rng(seed)
    degrees = list(degrees)
    x = rng.uniform(-1.0, 1.0, size=(n_repeats, n_train))
    y = complexity.true_curve(x) + rng.normal(0.0, noise, size=x.shape)
    x_test = rng.uniform(-1.0, 1.0, size=(n_repeats, n_test))
    y_test = complexity.true_curve(x_test) + rng.normal(0.0, noise, size=x_test.shape)
    cv = _batched_cv(x, y, degrees, k, seed)
    test = np.stack([np.mean((_batched_poly(x, y, x_test, d) - y_test) ** 2, axis=1) for d in degrees], axis=1)
    winner = np.argmin(np.where(np.isnan(cv), np.inf, cv), axis=1)
    rows = np.arange(n_repeats)
    out = {"degrees": np.array(degrees), "cv": cv, "test": test, "winner": winner.astype(np.int64),
           "winner_cv": cv[rows, winner], "winner_test": test[rows, winner]}
    if nested:
        fold_scores = []
        for tr, va in kfold_indices(n_train, k, shuffle=True, seed=seed):
            inner = _batched_cv(x[:, tr], y[:, tr], degrees, k, seed)
            chosen = np.argmin(np.where(np.isnan(inner), np.inf, inner), axis=1)
            pred = _winners_predict(x[:, tr], y[:, tr], x[:, va], chosen, degrees)
            fold_scores.append(np.mean((pred - y[:, va]) ** 2, axis=1))
        out["nested"] = np.mean(fold_scores, axis=0)
    return out
