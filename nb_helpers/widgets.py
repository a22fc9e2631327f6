"""Interactive explorers for lesson 01 (core ipywidgets API only: works with ipywidgets 7 and 8,
in JupyterLab and in Colab). Each takes the functions to show, so a lesson can pass the
student's own implementations once they pass their checks."""

from __future__ import annotations

from typing import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import ipywidgets as widgets

from . import activations as ref

Fn = Callable[[np.ndarray], np.ndarray]


def numeric_derivative(f: Fn, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    r"""Central difference $f'(x) \approx (f(x+h) - f(x-h)) / 2h$ (for plotting only)."""
    return (f(x + h) - f(x - h)) / (2 * h)


def activation_explorer(functions: Mapping[str, Fn]):
    """Pick an activation, a leaky-ReLU slope and an input range; see f(x) and f'(x) side by side."""

    def show(name: str, alpha: float, x_range: float) -> None:
        x = np.linspace(-x_range, x_range, 801)
        f = functions[name]
        fx = f(x, alpha) if name == "leaky_relu" else f(x)
        g = (lambda t: f(t, alpha)) if name == "leaky_relu" else f
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained")
        a1.plot(x, fx, color="C0")
        a1.set(title=f"{name}(x): range [{fx.min():.2f}, {fx.max():.2f}]", xlabel="x", ylabel="f(x)")
        a2.plot(x, numeric_derivative(g, x), color="C1")
        a2.set(title=f"{name}'(x): largest slope {numeric_derivative(g, x).max():.3f}", xlabel="x", ylabel="f'(x)")
        plt.show()

    return widgets.interact(
        show,
        name=widgets.Dropdown(options=list(functions), value=list(functions)[1], description="activation"),
        alpha=widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="leaky α"),
        x_range=widgets.FloatSlider(value=5.0, min=1.0, max=20.0, step=0.5, description="|x| ≤"),
    )


def steep_sigmoid_explorer(sigmoid: Fn = ref.sigmoid):
    r"""The same sigmoid with every weight multiplied by a scale: predictions, loss and gradient.

    Two training points, (1, 1) with label 1 and (-1, -1) with label 0, and the model
    $p = \sigma(s\,(x_1 + x_2))$. Larger s fits the training points better (lower loss) but makes the
    model certain everywhere and its gradient vanish away from the boundary.
    """

    def show(scale: float) -> None:
        z = np.linspace(-4, 4, 801)
        p = sigmoid(scale * z)
        slope = scale * p * (1 - p)
        p_pos, p_neg = sigmoid(np.array([2.0 * scale, -2.0 * scale]))
        loss = -0.5 * (np.log(max(p_pos, 1e-300)) + np.log(max(1 - p_neg, 1e-300)))
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.3), layout="constrained")
        a1.plot(z, sigmoid(z), "--", color="gray", label="σ(z)  (scale 1)")
        a1.plot(z, p, color="C0", label=f"σ({scale:g}·z)")
        a1.scatter([2, -2], [1, 0], color="C3", zorder=3, label="training points (z = x₁ + x₂)")
        a1.set(title=f"training BCE {loss:.2e}, Σw² = {2 * scale**2:.0f}", xlabel="z = x₁ + x₂", ylabel="p(y = 1)")
        a1.legend(loc="upper left", fontsize=8)
        a2.semilogy(z, np.maximum(slope, 1e-30), color="C1")
        a2.set(title=f"slope dp/dz: {slope[400]:.2f} at 0, {scale * p_pos * (1 - p_pos):.1e} at z = 2",
               xlabel="z", ylabel="dp/dz (log scale)", ylim=(1e-12, 20))
        plt.show()

    return widgets.interact(show, scale=widgets.FloatSlider(value=1.0, min=0.5, max=20.0, step=0.5, description="weight scale"))


def temperature_explorer(softmax: Callable[..., np.ndarray] = ref.softmax, logits=(2.0, 1.0, 0.1)):
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
