r"""Mini-batches from NumPy arrays, the way `torch.utils.data.DataLoader` cuts a dataset.

One pass (an epoch) visits a permutation $\pi$ of the $n$ rows and yields the slices
$\pi[i:i+m]$ for $i = 0, m, 2m, \dots$: $\lceil n/m \rceil$ batches, the last one shorter when $m \nmid n$
(or $\lfloor n/m \rfloor$ batches with `drop_last`).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Iterator

import numpy as np

__all__ = ["iterate_minibatches", "n_batches", "mean_of_batch_means", "digits_arrays"]


def iterate_minibatches(X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True,
                        drop_last: bool = False, seed: int | None = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    r"""Yield `(X[idx], y[idx])` for the consecutive slices `idx = order[i:i + batch_size]` of
    `order = default_rng(seed).permutation(n)` (or `arange(n)` without `shuffle`); the last short batch is
    kept unless `drop_last`. Rows of `X` and `y` stay aligned; the same seed gives the same batches."""
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


def n_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    r"""Number of batches in one epoch: $\lfloor n/m \rfloor$ with `drop_last`, else $\lceil n/m \rceil$ (= `len(DataLoader)`)."""
    return n // batch_size if drop_last else -(-n // batch_size)


def mean_of_batch_means(per_sample: np.ndarray, batch_size: int) -> float:
    r"""$\frac1K\sum_k \bar\ell_{B_k}$: what `running_loss / len(dataloader)` reports; it differs from the per-sample
    mean $\frac1n\sum_i \ell_i$ when the last batch is shorter (weight it by its size to fix that)."""
    per_sample = np.asarray(per_sample, dtype=np.float64)
    means = [per_sample[i:i + batch_size].mean() for i in range(0, len(per_sample), batch_size)]
    return float(np.mean(means))


def digits_arrays(dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    r"""scikit-learn's offline digits data: `X` (1797, 64) with pixels scaled to $[0, 1]$ ($x/16$) and labels `y`
    (int64, 0–9) — the same numbers as `sklearn.datasets.load_digits(return_X_y=True)`.

    Read straight from the CSV file that ships with scikit-learn, so a lesson does not pay about a second
    for importing scikit-learn; falls back to `load_digits` if that file is not where it is expected.
    """
    spec = importlib.util.find_spec("sklearn")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    path = os.path.join(folders[0], "datasets", "data", "digits.csv.gz") if folders else ""
    if path and os.path.exists(path):
        data = np.loadtxt(path, delimiter=",")
        X, y = data[:, :-1], data[:, -1]
    else:  # pragma: no cover - a scikit-learn release that moved its data files
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(dtype), y.astype(np.int64)
