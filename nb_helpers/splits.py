r"""Reference dataset splits (NumPy): hold-out, stratified, k-fold and time-ordered.

Every function returns int64 index arrays, sorted inside each part, so the parts can index any
array of n samples (`X[train_idx]`). Random splits draw one permutation from
`np.random.default_rng(seed)`: the same seed gives the same split.
Lesson 02 asks students to write these themselves; demos and later lessons use them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["train_val_test_split", "stratified_split", "kfold_indices", "time_series_split", "fold_sizes"]


def _part_sizes(n: int, val_frac: float, test_frac: float) -> tuple[int, int]:
    if not (0.0 <= val_frac <= 1.0 and 0.0 <= test_frac <= 1.0):
        raise ValueError("val_frac and test_frac must lie in [0, 1]")
    n_val, n_test = round(n * val_frac), round(n * test_frac)
    if n_val + n_test > n:
        raise ValueError(f"val_frac + test_frac leave no room for training ({n_val} + {n_test} > {n})")
    return n_val, n_test


def train_val_test_split(n: int, val_frac: float = 0.1, test_frac: float = 0.1,
                         seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Random hold-out split of range(n) into (train, val, test) index arrays.

    $n_\text{val} = \mathrm{round}(n\cdot\text{val\_frac})$, $n_\text{test} = \mathrm{round}(n\cdot\text{test\_frac})$
    (Python's `round`, which rounds halves to even), $n_\text{train} = n - n_\text{val} - n_\text{test}$;
    the three parts are disjoint and cover range(n).
    """
    n_val, n_test = _part_sizes(n, val_frac, test_frac)
    perm = np.random.default_rng(seed).permutation(n).astype(np.int64)
    val, test, train = perm[:n_val], perm[n_val:n_val + n_test], perm[n_val + n_test:]
    return np.sort(train), np.sort(val), np.sort(test)


def stratified_split(y: np.ndarray, val_frac: float = 0.1, test_frac: float = 0.1,
                     seed: int | None = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Hold-out split that keeps each class's share: class $c$ (with $n_c$ samples) sends
    $\mathrm{round}(n_c\cdot\text{val\_frac})$ of its indices, chosen at random, to validation,
    $\mathrm{round}(n_c\cdot\text{test\_frac})$ to test and the rest to training.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError("y must be 1-D")
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c)).astype(np.int64)
        n_val, n_test = _part_sizes(idx.size, val_frac, test_frac)
        parts[1].append(idx[:n_val])
        parts[2].append(idx[n_val:n_val + n_test])
        parts[0].append(idx[n_val + n_test:])
    train, val, test = (np.sort(np.concatenate(p)) if p else np.zeros(0, np.int64) for p in parts)
    return train, val, test


def fold_sizes(n: int, k: int) -> np.ndarray:
    r"""Sizes of k folds of n samples as scikit-learn's `KFold`: $\lfloor n/k\rfloor$ each, plus one
    for the first $n \bmod k$ folds (n=11, k=5 gives [3, 2, 2, 2, 2])."""
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[: n % k] += 1
    return sizes


def kfold_indices(n: int, k: int, shuffle: bool = False,
                  seed: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""k (train, val) pairs: fold $i$ is validation once, the other k−1 folds train.

    Folds are consecutive blocks of range(n) (of a seeded permutation when `shuffle`) with the
    sizes of `fold_sizes` — equal to `sklearn.model_selection.KFold(k, shuffle=False)` unshuffled.
    """
    if not 2 <= k <= n:
        raise ValueError(f"need 2 <= k <= n, got k={k}, n={n}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    order = order.astype(np.int64)
    folds = []
    stop = 0
    for i in range(k):
        size = n // k + (1 if i < n % k else 0)  # the first n % k folds take one extra sample
        start, stop = stop, stop + size
        val = order[start:stop]
        train = np.concatenate([order[:start], order[stop:]])
        folds.append((np.sort(train), np.sort(val)))
    return folds


def time_series_split(n: int, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    r"""Expanding-window splits for time-ordered samples (= `sklearn.model_selection.TimeSeriesSplit`).

    With $m = \lfloor n/(\text{n\_splits}+1)\rfloor$, split $i$ (0-based) validates on the block of $m$
    samples starting at $s_i = n - (\text{n\_splits} - i)\,m$ and trains on everything before it: the
    model never sees the future.
    """
    if not 2 <= n_splits < n:
        raise ValueError(f"need 2 <= n_splits < n, got n_splits={n_splits}, n={n}")
    m = n // (n_splits + 1)
    splits = []
    for i in range(n_splits):
        start = n - (n_splits - i) * m
        splits.append((np.arange(start, dtype=np.int64), np.arange(start, start + m, dtype=np.int64)))
    return splits
