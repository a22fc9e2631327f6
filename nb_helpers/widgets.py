"""Interactive explorers for lesson 01 (core ipywidgets API only: works with ipywidgets 7 and 8,
in JupyterLab and in Colab). Each takes the functions to show, so a lesson can pass the
student's own implementations once they pass their checks."""

from __future__ import annotations

from typing import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import ipywidgets as widgets

from . import activations as ref

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
