r"""Non-convex test surfaces and an optimizer race on them (lesson 04): a rippled 1-D bowl, five wells,
a saddle and a curved ravine; gradient descent with momentum and annealed noise on them (`descend`),
the paths of several optimizers from one start (`race`), their figure and a widget.

Not graded; the lesson's references (random restarts, cyclical learning rates, SWA, snapshot
ensembles) are in `nb_helpers.restarts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["Surface", "WAVY_1D", "BUMPY_2D", "SADDLE_2D", "RAVINE_2D", "descend", "race", "plot_race", "race_widget"]


# ----------------------------------------------------------------- test surfaces

@dataclass(frozen=True)
class Surface:
    """A loss surface for demos: value `f(p)` and gradient `grad(p)` of a point (array of shape (dim,) or (..., dim))."""

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray], np.ndarray]
    extent: tuple[float, ...]          # (xmin, xmax) or (xmin, xmax, ymin, ymax) for plots
    start: tuple[float, ...]           # a default starting point
    minimum: float = 0.0               # the global minimum value (for "distance to optimum" plots)

    def grid(self, n: int = 121) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, Y, f) on an n × n grid over the extent (2-D surfaces)."""
        x0, x1, y0, y1 = self.extent
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self.f(np.stack([X, Y], axis=-1))


def _wavy_f(p: np.ndarray) -> np.ndarray:
    x = np.asarray(p, dtype=np.float64)[..., 0]
    return 0.15 * x**2 + 1.0 - np.cos(3.0 * x)


def _wavy_g(p: np.ndarray) -> np.ndarray:
    x = np.asarray(p, dtype=np.float64)[..., :1]
    return 0.3 * x + 3.0 * np.sin(3.0 * x)


#: 1-D: $f(x) = 0.15x^2 + 1 - \cos 3x$, a bowl covered in ripples: local minima near $\pm 2.05, \pm 4.1, \dots$,
#: the global minimum $f(0) = 0$.
WAVY_1D = Surface("wavy 1-D", _wavy_f, _wavy_g, (-7.0, 7.0), (-4.0,), minimum=0.0)

_BUMP_CENTRES = np.array([[1.5, 1.0], [-1.5, 1.2], [0.5, -1.5], [-1.2, -1.2], [2.0, -1.0]])
_BUMP_DEPTHS = np.array([2.0, 1.4, 1.7, 1.2, 1.0])
_BUMP_WIDTH = 0.55


def _bumpy_f(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    d2 = np.sum((p[..., None, :] - _BUMP_CENTRES) ** 2, axis=-1)
    return 0.08 * np.sum(p**2, axis=-1) - np.sum(_BUMP_DEPTHS * np.exp(-d2 / (2 * _BUMP_WIDTH**2)), axis=-1)


def _bumpy_g(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    diff = p[..., None, :] - _BUMP_CENTRES
    e = _BUMP_DEPTHS * np.exp(-np.sum(diff**2, axis=-1) / (2 * _BUMP_WIDTH**2))
    return 0.16 * p + np.sum(e[..., None] * diff, axis=-2) / _BUMP_WIDTH**2


def _polish(grad: Callable[[np.ndarray], np.ndarray], p: Sequence[float], steps: int = 2000) -> np.ndarray:
    p = np.array(p, dtype=np.float64)
    for _ in range(steps):
        p = p - 0.05 * grad(p)
    return p


#: 2-D: a shallow bowl $0.08\|p\|^2$ with five Gaussian wells of different depths: five local minima, one global.
BUMPY_2D = Surface("five wells", _bumpy_f, _bumpy_g, (-3.0, 3.0, -3.0, 3.0), (-2.5, 2.5),
                   minimum=float(_bumpy_f(_polish(_bumpy_g, (1.46, 0.98)))))


def _saddle_f(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2 + 0.25


def _saddle_g(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 1] ** 3 - p[..., 1]], axis=-1)


#: 2-D: $f = x^2/2 + y^4/4 - y^2/2 + 1/4$: a saddle at the origin (Hessian diag(1, −1)), minima $f = 0$ at $(0, \pm 1)$.
SADDLE_2D = Surface("saddle", _saddle_f, _saddle_g, (-1.5, 1.5, -1.5, 1.5), (1.2, 1e-6))


def _ravine_f(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    return 0.5 * (1.0 - x) ** 2 + 10.0 * (y - 0.5 * x**2) ** 2


def _ravine_g(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    r = y - 0.5 * x**2
    return np.stack([-(1.0 - x) - 20.0 * r * x, 20.0 * r], axis=-1)


#: 2-D: a curved, steep-walled valley $f = \frac12(1-x)^2 + 10(y - x^2/2)^2$ (a gentle Rosenbrock); minimum 0 at (1, 0.5).
RAVINE_2D = Surface("curved ravine", _ravine_f, _ravine_g, (-2.2, 1.8, -0.8, 2.6), (-1.8, 2.2))


def descend(surface: Surface, start: Sequence[float], lr: float, steps: int, momentum: float = 0.0,
            noise: float = 0.0, seed: int = 0, anneal: float = 0.0) -> np.ndarray:
    r"""Gradient descent on a surface, optionally with heavy-ball momentum ($v \leftarrow \mu v + g$,
    $p \leftarrow p - \eta v$) and Gaussian gradient noise $g + \sigma_t\,\xi$ with
    $\sigma_t = \sigma / (1 + t)^{\text{anneal}}$. Returns the path, shape (steps + 1, dim)."""
    rng = np.random.default_rng(seed)
    p = np.array(start, dtype=np.float64)
    v = np.zeros_like(p)
    path = [p.copy()]
    for t in range(steps):
        g = surface.grad(p)
        if noise:
            g = g + noise / (1.0 + t) ** anneal * rng.normal(size=p.shape)
        v = momentum * v + g
        p = p - lr * v
        path.append(p.copy())
    return np.array(path)


# ----------------------------------------------------------------- optimizer race

def race(optimizers: Mapping[str, Callable[[list[np.ndarray]], Any]], surface: Surface, steps: int = 150,
         start: Sequence[float] | None = None) -> dict[str, np.ndarray]:
    """Run each optimizer (a factory `params -> optimizer` with `.step(grads)`) from the same start.

    Returns {name: path of shape (steps + 1, 2)}; a diverging run is cut where it leaves the plot."""
    paths = {}
    for name, make in optimizers.items():
        p = np.array(surface.start if start is None else start, dtype=np.float64)
        opt = make([p])
        path = [p.copy()]
        for _ in range(steps):
            opt.step([surface.grad(p)])
            if not np.all(np.isfinite(p)) or np.max(np.abs(p)) > 1e3:
                break
            path.append(p.copy())
        paths[name] = np.array(path)
    return paths


def plot_race(paths: Mapping[str, np.ndarray], surface: Surface, ax=None, title: str | None = None):
    """Contours of the surface with each optimizer's path (log-spaced levels)."""
    import matplotlib.pyplot as plt

    from .plots import style_of

    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.6), layout="constrained")
    X, Y, Z = surface.grid(161)
    levels = surface.minimum + np.geomspace(1e-3, float(Z.max() - surface.minimum) + 1e-3, 20)
    ax.contour(X, Y, Z, levels=levels, cmap="Greys", linewidths=0.7)
    for i, (name, path) in enumerate(paths.items()):   # colour, dash and marker per optimizer
        ax.plot(path[:, 0], path[:, 1], ms=3, lw=1.2, markevery=max(1, len(path) // 15),
                label=f"{name} ({surface.f(path[-1]):.2g})", **style_of(i))
    ax.plot(*surface.start, "ko", ms=5)
    ax.set(xlim=surface.extent[:2], ylim=surface.extent[2:], xlabel="$\\theta_1$", ylabel="$\\theta_2$",
           title=title or f"{surface.name}: paths (final loss)")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def race_widget(optimizers: Mapping[str, Callable[..., Any]], surfaces: Sequence[Surface] = (), steps: int = 150):
    """An `interact` widget: choose the surface, a learning-rate multiplier and the number of steps.

    `optimizers` maps a name to `factory(params, lr_scale)`; redraws in well under a second."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    surfaces = list(surfaces) or [RAVINE_2D, BUMPY_2D, SADDLE_2D]
    by_name = {s.name: s for s in surfaces}

    def show(surface: str, lr_scale: float, n_steps: int) -> None:
        s = by_name[surface]
        makers = {name: (lambda params, f=f: f(params, lr_scale)) for name, f in optimizers.items()}
        plot_race(race(makers, s, steps=n_steps), s, title=f"{s.name}: lr × {lr_scale:g}, {n_steps} steps (final loss)")
        plt.show()

    return widgets.interact(
        show,
        surface=widgets.Dropdown(options=list(by_name), value=surfaces[0].name, description="surface"),
        lr_scale=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1, step=0.1, description="lr ×"),
        n_steps=widgets.IntSlider(value=steps, min=10, max=400, step=10, description="steps"),
    )
