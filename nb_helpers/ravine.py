r"""A ravine where momentum shows its worth (lesson 03): $f(w) = \tfrac12 w^\top H w$, 40 times steeper
across the valley than along it; the paths of gradient descent with and without momentum, their
figure and an explorer widget.

Not graded; the reference `sgd_momentum_step` is in `nb_helpers.momentum`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .momentum import sgd_momentum_step

__all__ = ["RAVINE_H", "RAVINE_START", "ravine_loss", "ravine_grad", "ravine_path", "plot_ravine", "momentum_explorer"]

#: Hessian of the ravine $f(w) = \tfrac12 w^\top H w$: 40 times steeper across the valley than along it.
RAVINE_H = np.array([0.5, 20.0])
RAVINE_START = np.array([-4.5, 1.0])


def ravine_loss(w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    r"""$f(w) = \tfrac12 (h_1 w_1^2 + h_2 w_2^2)$ with $h = (0.5, 20)$: a long, narrow valley along $w_1$."""
    return 0.5 * (RAVINE_H[0] * w1 ** 2 + RAVINE_H[1] * w2 ** 2)


def ravine_grad(w: np.ndarray) -> np.ndarray:
    r"""$\nabla f(w) = (h_1 w_1,\ h_2 w_2)$."""
    return RAVINE_H * w


def ravine_path(step: Callable[..., None], lr: float, momentum: float, nesterov: bool = False, steps: int = 60,
                start: np.ndarray = RAVINE_START) -> np.ndarray:
    """Positions visited by `step` (a `sgd_momentum_step`-like function) from `start`: shape (steps + 1, 2)."""
    w = np.array(start, dtype=np.float64)
    velocities: list[np.ndarray] = []
    path = [w.copy()]
    for _ in range(steps):
        step([w], [ravine_grad(w)], velocities, lr, momentum=momentum, nesterov=nesterov)
        path.append(w.copy())
        if not np.all(np.isfinite(w)) or np.abs(w).max() > 1e6:
            break
    return np.array(path)


_GRID: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def plot_ravine(ax, paths: dict[str, np.ndarray] | None = None) -> None:
    """Contours of the ravine on `ax` and, optionally, labelled paths {label: (k, 2) array}."""
    from .plots import style_of

    global _GRID
    if _GRID is None:
        W1, W2 = np.meshgrid(np.linspace(-5, 1.5, 220), np.linspace(-1.6, 1.6, 160))
        _GRID = (W1, W2, ravine_loss(W1, W2))
    W1, W2, Z = _GRID
    ax.contour(W1, W2, Z, levels=np.geomspace(0.01, 30, 12), colors="0.6", linewidths=0.8)
    for i, (label, path) in enumerate((paths or {}).items()):   # colour, dash and marker per path
        shown = path[np.all(np.abs(path) < 50, axis=1)]
        ax.plot(shown[:, 0], shown[:, 1], ms=3, lw=1.2, label=label, **style_of(i))
    ax.plot(0, 0, "k*", ms=10)
    ax.set_xlim(-5, 1.5)
    ax.set_ylim(-1.6, 1.6)
    ax.set_xlabel("$w_1$ (gentle direction)")
    ax.set_ylabel("$w_2$ (steep direction)")
    if paths:
        ax.legend(loc="lower right", fontsize=8)


def momentum_explorer(step: Callable[..., None] | None = None, steps: int = 60):
    """An `interact` widget: learning-rate and momentum sliders, heavy-ball or Nesterov, on the ravine.

    Plain gradient descent (momentum 0, same lr) is drawn for comparison; the title reports the
    loss after `steps` steps. `step` defaults to the reference `sgd_momentum_step`.
    """
    import matplotlib.pyplot as plt
    from ipywidgets import Dropdown, FloatLogSlider, FloatSlider, interact

    step = sgd_momentum_step if step is None else step

    def draw(lr: float = 0.03, momentum: float = 0.8, method: str = "heavy ball") -> None:
        nesterov = method == "Nesterov" and momentum > 0
        fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
        gd = ravine_path(step, lr, 0.0, steps=steps)
        mom = ravine_path(step, lr, momentum, nesterov=nesterov, steps=steps)
        plot_ravine(ax, {"plain GD (momentum 0)": gd, f"{method}, momentum {momentum:.2f}": mom})
        f_gd, f_mom = (float(ravine_loss(*p[-1])) for p in (gd, mom))
        ax.set_title(f"lr = {lr:.3g}: loss after {steps} steps: plain {f_gd:.2e}, with momentum {f_mom:.2e}"
                     + ("  (diverged)" if len(mom) < steps + 1 or f_mom > 1e3 else ""), fontsize=10)
        plt.show()

    return interact(draw,
                    lr=FloatLogSlider(value=0.03, base=10, min=-3, max=-0.9, step=0.05, description="lr",
                                      continuous_update=False),
                    momentum=FloatSlider(value=0.8, min=0.0, max=0.99, step=0.01, description="momentum",
                                         continuous_update=False),
                    method=Dropdown(options=["heavy ball", "Nesterov"], value="heavy ball", description="method"))
