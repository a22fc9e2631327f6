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
