r"""Measuring and taming gradients: per-layer gradient norms, global-norm clipping, deep test networks.

`layer_grad_norms` and `clip_grad_norm` are the references of lesson 03's exercises (students write
their own); `deep_mlp` and `weight_grad_profile` build the vanishing/exploding-gradient experiments.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterable

import torch
from torch import nn

__all__ = ["layer_grad_norms", "clip_grad_norm", "deep_mlp", "weight_grad_profile", "capture_activations"]


def layer_grad_norms(model: nn.Module) -> dict[str, float]:
    r"""$\{\text{name}: \|\nabla_{\theta} L\|_2\}$ for each of `model.named_parameters()` whose `.grad` is not None (Python floats)."""
    return {name: float(torch.linalg.vector_norm(p.grad.detach()))
            for name, p in model.named_parameters() if p.grad is not None}


def clip_grad_norm(params: Iterable[torch.Tensor], max_norm: float) -> float:
    r"""Global-norm clipping: $g \leftarrow g\cdot\min\!\big(1,\ \tfrac{\text{max\_norm}}{\|g\|_2 + 10^{-6}}\big)$ in place.

    $\|g\|_2 = \sqrt{\sum_i \|g_i\|_2^2}$ is the norm of *all* gradients together (parameters whose
    `.grad` is None are skipped). Returns that total norm, measured before clipping (a float).
    Same result as `torch.nn.utils.clip_grad_norm_` on finite gradients. `params` may be a
    one-shot generator (`model.parameters()`): it is read once.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    total = math.sqrt(sum(float(g.detach().pow(2).sum()) for g in grads))
    coef = min(1.0, max_norm / (total + 1e-6))
    with torch.no_grad():
        for g in grads:
            g.mul_(coef)
    return total


def _linear(fan_in: int, fan_out: int, dtype: torch.dtype) -> nn.Linear:
    """An `nn.Linear` whose construction leaves the global RNG untouched (it is re-initialised below)."""
    with torch.random.fork_rng(devices=[]):
        return nn.Linear(fan_in, fan_out, dtype=dtype)


_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "identity": nn.Identity}


def deep_mlp(depth: int = 10, width: int = 64, activation: str = "sigmoid", init: str = "default",
             in_features: int = 16, out_features: int = 1, gain: float = 1.0, seed: int = 0,
             dtype: torch.dtype = torch.float64) -> nn.Sequential:
    r"""`depth` hidden layers `fc1 … fc{depth}` of `width` units with `activation`, then a linear `out` layer.

    init: "default" keeps PyTorch's `nn.Linear` initialisation ($U(\pm 1/\sqrt{\text{fan\_in}})$, *not* He);
    "he" draws $W \sim \mathcal N(0, 2/\text{fan\_in})$ (`kaiming_normal_(nonlinearity="relu")`);
    "xavier" uses `xavier_normal_` ($\mathcal N(0, 2/(\text{fan\_in}+\text{fan\_out}))$). The hidden
    weights are then multiplied by `gain` (gain > 1 makes gradients explode). Biases start at 0
    unless init is "default". Built from its own seeded generator: the global RNG is untouched.

    Not `nb_helpers.training.mlp`, on purpose: the experiments read layers by name (`fc1`, `act1`, …,
    `out`: `weight_grad_profile`, `capture_activations`), compute in float64, re-initialise every
    layer from `seed` (with `gain`) without drawing from the global RNG, whereas `training.mlp` builds
    an unnamed float32 `nn.Sequential` with PyTorch's initialisation drawn from the global RNG.
    """
    gen = torch.Generator().manual_seed(seed)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    fan_in = in_features
    for i in range(1, depth + 1):
        layers[f"fc{i}"] = _linear(fan_in, width, dtype)
        layers[f"act{i}"] = _ACTIVATIONS[activation]()
        fan_in = width
    layers["out"] = _linear(fan_in, out_features, dtype)
    model = nn.Sequential(layers)
    with torch.no_grad():
        for name, module in model.named_children():
            if not isinstance(module, nn.Linear):
                continue
            fi, fo = module.in_features, module.out_features
            if init == "default":
                bound = 1.0 / math.sqrt(fi)
                module.weight.uniform_(-bound, bound, generator=gen)
                module.bias.uniform_(-bound, bound, generator=gen)
            elif init in ("he", "xavier"):
                std = math.sqrt(2.0 / fi) if init == "he" else math.sqrt(2.0 / (fi + fo))
                module.weight.normal_(0.0, std, generator=gen)
                module.bias.zero_()
            else:
                raise ValueError("init is 'default', 'he' or 'xavier'")
            if name != "out":
                module.weight.mul_(gain)
    return model


def weight_grad_profile(norms: dict[str, float]) -> tuple[list[str], list[float]]:
    """The `*.weight` entries of a {name: gradient norm} dict, input layer first: (layer names, norms)."""
    names = [n for n in norms if n.endswith(".weight")]
    return [n.removesuffix(".weight") for n in names], [norms[n] for n in names]


def capture_activations(model: nn.Sequential) -> dict[str, torch.Tensor]:
    r"""Keep each hidden activation output $h_l$ (children named `act*`) of the next forward pass, with its gradient.

    Returns a dict that the forward pass fills, `{"act1": h_1, ...}` in input-to-output order; after
    `loss.backward()`, `h.grad` is $\partial L/\partial h_l$, the backward signal arriving at layer $l$.
    The hooks stay registered, so use it on a network you run forward once.
    """
    acts: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(module, inputs, output):
            if output.requires_grad:
                output.retain_grad()
            acts[name] = output
        return hook

    for name, module in model.named_children():
        if name.startswith("act"):
            module.register_forward_hook(keep(name))
    return acts
