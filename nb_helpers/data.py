"""Small generated datasets for the demos (nothing is downloaded; everything is seeded)."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import make_blobs, make_moons


def as_tensors(X: np.ndarray, y: np.ndarray, y_dtype: torch.dtype = torch.float32,
               device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """NumPy features/targets -> float32 feature tensor and targets of `y_dtype` on `device`."""
    return (torch.as_tensor(X, dtype=torch.float32, device=device),
            torch.as_tensor(y, dtype=y_dtype, device=device))


def moons(n: int = 400, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-circles: a binary problem no straight line separates. y in {0, 1}."""
    return make_moons(n_samples=n, noise=noise, random_state=seed)


def blobs(n: int = 450, classes: int = 3, seed: int = 0, spread: float = 1.6) -> tuple[np.ndarray, np.ndarray]:
    """`classes` Gaussian clusters in 2-D, standardised: a multiclass problem whose clusters overlap
    a little at the default spread (so no model reaches 100 %). y in {0, ..., classes-1}."""
    X, y = make_blobs(n_samples=n, centers=classes, cluster_std=spread, random_state=seed)
    return (X - X.mean(0)) / X.std(0), y


def wave(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine on [-3, 3]: a 1-D regression problem. Returns X (n, 1), y (n,)."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-3, 3, n))
    return x[:, None], np.sin(x) + noise * rng.normal(size=n)


def make_moons_tensors(n_train: int, n_val: int, n_test: int = 0, noise: float = 0.35, flip: float = 0.0,
                       seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Two interleaving half-moons (scikit-learn's `make_moons`), optionally with a fraction `flip` of
    training labels flipped; split into float32 tensors {"train": (X, y), "val": …, "test": …}."""
    n = n_train + n_val + n_test
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    X, y = X[order], y[order].astype(np.float64)
    flipped = rng.random(n_train) < flip
    y[:n_train] = np.where(flipped, 1 - y[:n_train], y[:n_train])
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, n)}
    return {k: (torch.tensor(X[a:b], dtype=torch.float32), torch.tensor(y[a:b], dtype=torch.float32))
            for k, (a, b) in bounds.items() if b > a}
