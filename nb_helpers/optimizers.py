r"""SGD (with momentum), RMSprop, Adam and AdamW in NumPy, step for step equal to `torch.optim`.

Every optimizer has the same call shape (CS231n-style, so they can be swapped):

    opt = Adam(params, lr=1e-3)      # params: a list of float64 arrays, kept by reference
    opt.step(grads)                  # grads[i] is dL/dparams[i]; each params[i] is updated *in place*

The state (momentum buffers, moving averages, step counters) belongs to the optimizer object:
`opt.state[i]` is a dict for parameter `i`, and `opt.state_floats()` counts the extra numbers kept.
The gradients passed to `step` are never modified.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW"]


class Optimizer:
    """Common part: the parameter list and one state dict per parameter."""

    def __init__(self, params: Iterable[np.ndarray], lr: float) -> None:
        self.params: list[np.ndarray] = list(params)
        self.lr = float(lr)
        self.state: list[dict] = [{} for _ in self.params]

    def step(self, grads: Sequence[np.ndarray]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state_floats(self) -> int:
        """How many floats the optimizer stores besides the parameters (buffers, not counters)."""
        return sum(v.size for s in self.state for v in s.values() if isinstance(v, np.ndarray))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} params, lr={self.lr:g})"


class SGD(Optimizer):
    r"""Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay
    (= `torch.optim.SGD` with dampening 0):

    $d = g + \lambda\theta$; with momentum $v \leftarrow \mu v + d$ ($v_1 = d$) and
    $d \leftarrow v$ (or $d + \mu v$ with Nesterov); then $\theta \leftarrow \theta - \eta\, d$.
    """

    def __init__(self, params: Iterable[np.ndarray], lr: float, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        if nesterov and momentum <= 0:
            raise ValueError("Nesterov momentum requires momentum > 0")
        super().__init__(params, lr)
        self.momentum, self.nesterov, self.weight_decay = float(momentum), bool(nesterov), float(weight_decay)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        for p, g, state in zip(self.params, grads, self.state):
            d = g + self.weight_decay * p  # a new array: the caller's gradient stays untouched
            if self.momentum != 0.0:
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = d.copy()
                else:
                    state["momentum_buffer"] = self.momentum * state["momentum_buffer"] + d
                buf = state["momentum_buffer"]
                d = d + self.momentum * buf if self.nesterov else buf
            p -= self.lr * d


class RMSprop(Optimizer):
    r"""RMSprop as in PyTorch (`torch.optim.RMSprop`, not centered, no momentum):

    $g \leftarrow g + \lambda\theta$, $s \leftarrow \alpha s + (1-\alpha) g^2$ (from $s_0 = 0$),
    $\theta \leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon)$ — $\epsilon$ *outside* the square root
    (Keras/TF put it inside), $\alpha = 0.99$ and $\eta = 10^{-2}$ by default.
    """

    def __init__(self, params: Iterable[np.ndarray], lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.alpha, self.eps, self.weight_decay = float(alpha), float(eps), float(weight_decay)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        for p, g, state in zip(self.params, grads, self.state):
            g = g + self.weight_decay * p
            if "square_avg" not in state:
                state["step"], state["square_avg"] = 0, np.zeros_like(p)
            state["step"] += 1
            state["square_avg"] = self.alpha * state["square_avg"] + (1.0 - self.alpha) * g * g
            p -= self.lr * g / (np.sqrt(state["square_avg"]) + self.eps)


class _AdamFamily(Optimizer):
    r"""Shared Adam step: $t \leftarrow t + 1$ (the first step is $t = 1$),
    $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
    $\hat m = m/(1-\beta_1^t)$, $\hat v = v/(1-\beta_2^t)$, $\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)$.
    `decoupled` chooses how weight decay enters (Adam: in $g$; AdamW: on $\theta$)."""

    decoupled = False

    def __init__(self, params: Iterable[np.ndarray], lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps, self.weight_decay = float(eps), float(weight_decay)

    def step(self, grads: Sequence[np.ndarray]) -> None:
        beta1, beta2 = self.betas
        for p, g, state in zip(self.params, grads, self.state):
            if self.decoupled:
                p *= 1.0 - self.lr * self.weight_decay  # AdamW: shrink the weights, outside the moments
            else:
                g = g + self.weight_decay * p  # Adam: L2 term added to the gradient
            if "exp_avg" not in state:
                state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, np.zeros_like(p), np.zeros_like(p)
            state["step"] += 1
            t = state["step"]
            state["exp_avg"] = beta1 * state["exp_avg"] + (1.0 - beta1) * g
            state["exp_avg_sq"] = beta2 * state["exp_avg_sq"] + (1.0 - beta2) * g * g
            m_hat = state["exp_avg"] / (1.0 - beta1**t)
            v_hat = state["exp_avg_sq"] / (1.0 - beta2**t)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class Adam(_AdamFamily):
    r"""Adam with coupled L2 weight decay (= `torch.optim.Adam`): $g \leftarrow g + \lambda\theta$, then
    $m \leftarrow \beta_1 m + (1-\beta_1) g$, $v \leftarrow \beta_2 v + (1-\beta_2) g^2$ from $m_0 = v_0 = 0$,
    $\hat m = m/(1-\beta_1^t)$, $\hat v = v/(1-\beta_2^t)$ (bias correction, $t = 1, 2, \dots$) and
    $\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)$, $\epsilon$ outside the root."""

    decoupled = False


class AdamW(_AdamFamily):
    r"""Adam with decoupled weight decay (= `torch.optim.AdamW`, Loshchilov & Hutter 2019):
    first $\theta \leftarrow \theta(1 - \eta\lambda)$, then the Adam step on the plain gradient $g$.
    Default $\lambda = 0.01$ (Adam's is 0)."""

    decoupled = True

    def __init__(self, params: Iterable[np.ndarray], lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.01) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
