"""Random case families shared by the check declarations (drawn from a seeded Generator)."""

from __future__ import annotations

import numpy as np

from .declaration import Case


def random_shape(rng: np.random.Generator, max_ndim: int = 3, max_len: int = 5) -> tuple[int, ...]:
    ndim = int(rng.integers(1, max_ndim + 1))
    return tuple(int(n) for n in rng.integers(1, max_len + 1, size=ndim))


def float_arrays(rng: np.random.Generator, count: int = 4, scale: float = 3.0) -> list[Case]:
    """`count` float64 arrays of 1-3 dimensions with entries ~ N(0, scale²)."""
    return [Case((rng.normal(0.0, scale, size=random_shape(rng)),)) for _ in range(count)]


def logits_and_targets(rng: np.random.Generator, count: int = 3, scale: float = 3.0) -> list[Case]:
    """(N, C) float64 scores with int64 class indices in [0, C)."""
    cases = []
    for _ in range(count):
        n, c = int(rng.integers(2, 9)), int(rng.integers(2, 7))
        cases.append(Case((rng.normal(0.0, scale, size=(n, c)), rng.integers(0, c, size=n).astype(np.int64))))
    return cases
