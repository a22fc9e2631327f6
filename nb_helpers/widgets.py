"""Interactive explorers (core ipywidgets API only: works with ipywidgets 7 and 8, in JupyterLab and
in Colab): activation functions, a steep sigmoid and softmax temperature (lesson 01), and model
capacity against the training-set size (lesson 02). The activation explorers take the functions to
show, so a lesson can pass the student's own implementations once they pass their checks."""

from __future__ import annotations

from typing import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import ipywidgets as widgets

from . import activations as ref
from .complexity import complexity_curve, make_curve_data, poly_fit, poly_predict, true_curve

Fn = Callable[..., np.ndarray]


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


#: Analytic derivatives of the lesson's activations (leaky ReLU takes the slope alpha).
DERIVATIVES: dict[str, Fn] = {
    "step": lambda x: np.zeros_like(x),                        # 0 wherever it exists (undefined at 0)
    "sigmoid": ref.sigmoid_grad,
    "tanh": ref.tanh_grad,
    "relu": ref.relu_grad,
    "leaky_relu": lambda x, alpha=0.01: np.where(x > 0, 1.0, alpha),
    "gelu": lambda x: 0.5 * (1 + _erf(x / np.sqrt(2))) + x * _phi(x),   # Φ(x) + x φ(x)
}


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return erf(x)


def activation_explorer(functions: Mapping[str, Fn], derivatives: Mapping[str, Fn] | None = None) -> Callable[..., None]:
    """Pick an activation, a leaky-ReLU slope and an input range; see f(x) and f'(x) side by side."""
    slopes = {**DERIVATIVES, **(derivatives or {})}

    def show(name: str, alpha: float, x_range: float) -> None:
        x = np.linspace(-x_range, x_range, 800)          # an even count: the grid avoids x = 0 exactly
        args = (alpha,) if name == "leaky_relu" else ()
        fx, dfx = functions[name](x, *args), slopes[name](x, *args)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained")
        a1.plot(x, fx, color="C0")
        a1.set(title=f"{name}(x): from {fx.min():.2f} to {fx.max():.2f}", xlabel="x", ylabel="f(x)")
        a2.plot(x, dfx, color="C1")
        a2.set(title=f"{name}'(x): largest slope {dfx.max():.3f} at x = {x[np.argmax(dfx)]:.2f}", xlabel="x", ylabel="f'(x)")
        plt.show()

    return widgets.interact(
        show,
        name=widgets.Dropdown(options=list(functions), value=list(functions)[1], description="activation"),
        alpha=widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="leaky α"),
        x_range=widgets.FloatSlider(value=5.0, min=1.0, max=20.0, step=0.5, description="|x| ≤"),
    )


def steep_sigmoid_explorer(sigmoid: Fn = ref.sigmoid) -> Callable[..., None]:
    r"""The same sigmoid with every weight multiplied by a scale s: predictions, loss and slope.

    Two training points, (1, 1) with label 1 and (-1, -1) with label 0, and the model
    $p = \sigma(s\,(x_1 + x_2))$. Larger s fits the training points better (lower BCE) but makes the
    model certain everywhere, and the slope $dp/dz = s\,\sigma(sz)(1-\sigma(sz))$ vanishes away from
    the boundary (what a steep sigmoid inside a network passes back).
    """

    def show(scale: float) -> None:
        z = np.linspace(-4, 4, 800)
        p = sigmoid(scale * z)
        slope = scale * sigmoid(scale * z) * sigmoid(-scale * z)
        loss = float(np.logaddexp(0.0, -2.0 * scale))      # mean BCE of the two points, computed stably
        slope_at_2 = scale * float(sigmoid(np.array([2.0 * scale]))[0] * sigmoid(np.array([-2.0 * scale]))[0])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained")
        a1.plot(z, sigmoid(z), "--", color="gray", label="σ(z)  (scale 1)")
        a1.plot(z, p, color="C0", label=f"σ({scale:g}·z)")
        a1.scatter([2, -2], [1, 0], color="C3", zorder=3, label="training points (z = x₁ + x₂)")
        a1.set(title=f"training BCE {loss:.2e}, Σw² = {2 * scale**2:.0f}", xlabel="z = x₁ + x₂", ylabel="p(y = 1)")
        a1.legend(loc="upper left", fontsize=8)
        a2.semilogy(z, np.maximum(slope, 1e-30), color="C1")
        a2.set(title=f"slope dp/dz: {scale / 4:.2f} at 0, {slope_at_2:.1e} at z = 2",
               xlabel="z", ylabel="dp/dz (log scale)", ylim=(1e-12, 20))
        plt.show()

    return widgets.interact(show, scale=widgets.FloatSlider(value=1.0, min=0.5, max=20.0, step=0.5, description="weight scale"))


def temperature_explorer(softmax: Fn = ref.softmax, logits: tuple[float, ...] = (2.0, 1.0, 0.1)) -> Callable[..., None]:
    """softmax(z / T): low temperatures sharpen the distribution, high temperatures flatten it."""
    z = np.asarray(logits, dtype=np.float64)

    def show(temperature: float) -> None:
        p = softmax(z / temperature)
        fig, ax = plt.subplots(figsize=(5.5, 3.0), layout="constrained")
        bars = ax.bar([f"class {i + 1}\nz = {v:g}" for i, v in enumerate(z)], p, color=["C0", "C1", "C2"][: len(z)])
        ax.bar_label(bars, labels=[f"{v:.3f}" for v in p])
        ax.set(ylim=(0, 1.05), ylabel="probability", title=f"softmax(z / {temperature:g}): largest share {p.max():.2f}")
        plt.show()

    return widgets.interact(
        show, temperature=widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.05, description="T"))


def capacity_widget(max_degree: int = 15, noise: float = 0.3, seed: int = 0):
    """Slider for the polynomial degree (capacity) and the training-set size: the fit on the left,
    the model-complexity graph on the right with the chosen degree marked."""
    x_val, y_val = make_curve_data(300, noise, seed + 1)
    x_all, y_all = make_curve_data(400, noise, seed)
    grid = np.linspace(-1.0, 1.0, 400)
    degrees = np.arange(max_degree + 1)

    def show(degree: int = 3, n_train: int = 20) -> None:
        x, y = x_all[:n_train], y_all[:n_train]
        tr, va = complexity_curve(x, y, x_val, y_val, degrees)
        coef = poly_fit(x, y, degree)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
        a1.scatter(x, y, s=18, color="C0", marker="o", label=f"{n_train} training points")
        a1.plot(grid, true_curve(grid), color="0.5", ls="--", label="true f(x)")
        a1.plot(grid, poly_predict(coef, grid), color="C3", ls="-", label=f"degree {degree} fit")
        a1.set(ylim=(-2.5, 2.5), xlabel="x", ylabel="y",
               title=f"train MSE {tr[degree]:.3f}, validation MSE {va[degree]:.3f}")
        a1.legend(loc="lower right", fontsize=8)
        a2.semilogy(degrees, tr, color="C0", ls="-", marker="o", label="training")
        a2.semilogy(degrees, va, color="C1", ls="--", marker="s", label="validation")
        a2.axvline(degree, color="C3", lw=1)
        a2.axhline(noise ** 2, color="0.5", ls=":", label="noise floor σ²")
        a2.set(xlabel="polynomial degree (capacity)", ylabel="MSE (log scale)",
               title=f"best validation degree: {int(np.argmin(va))}")
        a2.legend(fontsize=8)
        plt.show()

    return widgets.interact(
        show,
        degree=widgets.IntSlider(value=3, min=0, max=max_degree, description="degree", continuous_update=False),
        n_train=widgets.SelectionSlider(options=[10, 15, 20, 30, 50, 100, 200, 400], value=20,
                                        description="n train", continuous_update=False),
    )
