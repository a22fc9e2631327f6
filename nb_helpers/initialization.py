r"""Initialisation from the variance argument, and deep networks to profile layer by layer (lesson 03).

`init_weights` is the reference of lesson 03's second-edition exercise (students write their own; the
`torch.nn.init` routines are forbidden there). The other functions build the lesson's figures: a deep
MLP with a chosen initialisation, an optional normalisation step after each hidden linear layer and
optional residual connections (`ProfileMLP`), the spread of every hidden activation in one forward
pass (`forward_spread`) and the gradient norm of every hidden layer's weights after one backward pass
(`backward_profile`).

The variance argument: for $z = \sum_{i=1}^{n} w_i x_i$ with independent zero-mean weights,
$\mathrm{Var}(z) = n\,\mathrm{Var}(w)\,\mathbb{E}[x^2]$ ($n$ = fan-in). Keeping $\mathbb{E}[x^2]$ (ReLU: He,
$\mathrm{Var}(w) = 2/n_\text{in}$) or $\mathrm{Var}(x)$ forward and the gradient backward (Xavier/Glorot,
the compromise $\mathrm{Var}(w) = 2/(n_\text{in} + n_\text{out})$) fixes the scale; a uniform law
$U(-a, a)$ has variance $a^2/3$.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["SCHEMES", "ProfileMLP", "backward_profile", "forward_spread", "init_weights", "scheme_variance"]

#: The schemes `init_weights` accepts.
SCHEMES = ("xavier_uniform", "xavier_normal", "he_uniform", "he_normal")


def scheme_variance(fan_in: int, fan_out: int, scheme: str) -> float:
    r"""$\mathrm{Var}(w)$ of a scheme: Xavier $2/(n_\text{in} + n_\text{out})$, He $2/n_\text{in}$; another scheme → ValueError."""
    if scheme in ("xavier_uniform", "xavier_normal"):
        return 2.0 / (fan_in + fan_out)
    if scheme in ("he_uniform", "he_normal"):
        return 2.0 / fan_in
    raise ValueError(f"unknown scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def init_weights(fan_in: int, fan_out: int, scheme: str, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A new (fan_out, fan_in) weight of the default dtype drawn from `generator`:
    $U(-a, a)$ with $a = \sqrt{3\,\mathrm{Var}(w)}$ ("*_uniform") or $\mathcal N(0, \mathrm{Var}(w))$ ("*_normal"),
    with $\mathrm{Var}(w)$ of `scheme_variance` (Xavier: $a = \sqrt{6/(n_\text{in}+n_\text{out})}$; He: $a = \sqrt{6/n_\text{in}}$).
    """
    var = scheme_variance(fan_in, fan_out, scheme)
    w = torch.empty(fan_out, fan_in)
    if scheme.endswith("_uniform"):
        bound = math.sqrt(3.0 * var)
        return w.uniform_(-bound, bound, generator=generator)
    return w.normal_(0.0, math.sqrt(var), generator=generator)


# ----------------------------------------------------------------------------- profiling networks (not graded)

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}

#: batch_norm(x, gamma, beta, running_mean, running_var, training) -> normalised x, the signature of the exercise.
NormFunction = Callable[..., torch.Tensor]


class ProfileMLP(nn.Module):
    r"""`depth` hidden layers of `width` units: $h_l = f(\mathrm{norm}(W_l h_{l-1} + b_l))$, plus $h_{l-1}$ when `residual`.

    init: "default" (PyTorch's `nn.Linear` weight draw $U(\pm 1/\sqrt{n_\text{in}})$), or a scheme of `SCHEMES`
    drawn with `init_fn` (the lesson passes the student's `init_weights`). Whatever the scheme, the biases
    are PyTorch's default $U(\pm 1/\sqrt{n_\text{in}})$ (`nn.init.*_` on `layer.weight` leaves them so), so
    that schemes differ only in the weights.
    norm: None, or a batch-norm function with the exercise's signature, applied to every hidden
    pre-activation with a learnable-shaped gamma = 1, beta = 0 and its own running statistics.
    residual: each hidden layer after the first adds its input (a skip connection of equal width).
    Built from its own seeded generator; the global RNG is untouched.
    """

    def __init__(self, depth: int = 20, width: int = 32, in_features: int = 16, activation: str = "tanh",
                 init: str = "default", norm: NormFunction | None = None, residual: bool = False, seed: int = 0,
                 init_fn: Callable[..., torch.Tensor] | None = None, dtype: torch.dtype = torch.float64):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        draw = init_weights if init_fn is None else init_fn
        self.activation, self.norm, self.residual = _ACTIVATIONS[activation], norm, residual
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        fan_in = in_features
        for _ in range(depth):
            bound = 1.0 / math.sqrt(fan_in)
            if init == "default":
                w = torch.empty(width, fan_in, dtype=dtype).uniform_(-bound, bound, generator=gen)
            else:
                w = draw(fan_in, width, init, generator=gen).to(dtype)
            b = torch.empty(width, dtype=dtype).uniform_(-bound, bound, generator=gen)
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(b))
            fan_in = width
        self.register_buffer("gamma", torch.ones(width, dtype=dtype))
        self.register_buffer("beta", torch.zeros(width, dtype=dtype))
        self.running_means = [torch.zeros(width, dtype=dtype) for _ in range(depth)]
        self.running_vars = [torch.ones(width, dtype=dtype) for _ in range(depth)]
        self.hidden: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.hidden = []
        h = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = h @ w.T + b
            if self.norm is not None:
                z = self.norm(z, self.gamma, self.beta, self.running_means[i], self.running_vars[i], self.training)
            out = self.activation(z)
            h = h + out if (self.residual and i > 0) else out
            if h.requires_grad:
                h.retain_grad()
            self.hidden.append(h)
        return h


def forward_spread(model: ProfileMLP, x: torch.Tensor) -> list[float]:
    """The standard deviation of every hidden layer's output (input side first) on one forward pass of x."""
    with torch.no_grad():
        model(x)
    return [float(h.std()) for h in model.hidden]


def backward_profile(model: ProfileMLP, x: torch.Tensor) -> list[float]:
    r"""The norm $\lVert\partial L/\partial W_l\rVert_2$ of every hidden layer's weight gradient (input side first)
    after one backward pass of $L = \mathrm{mean}(h_\text{last}^2)$ on x (gradients zeroed before)."""
    model.zero_grad(set_to_none=True)
    model(x).pow(2).mean().backward()
    return [float(w.grad.norm()) for w in model.weights]
