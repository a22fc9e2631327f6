r"""Batch normalisation written out (lesson 03, second edition).

`batchnorm_forward` is the reference of the lesson's exercise (students write their own; `F.batch_norm`,
`torch.batch_norm` and `nn.BatchNorm*` are forbidden there). It equals `F.batch_norm` call for call,
running statistics included.
"""

from __future__ import annotations

import torch

__all__ = ["batchnorm_forward"]


def batchnorm_forward(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor, running_mean: torch.Tensor,
                      running_var: torch.Tensor, training: bool, momentum: float = 0.1,
                      eps: float = 1e-5) -> torch.Tensor:
    r"""$y = \gamma\,(x - \mu)/\sqrt{\sigma^2 + \varepsilon} + \beta$ per feature of x (N, D).

    Training: $\mu, \sigma^2$ are the batch mean and *biased* batch variance, and the running statistics
    are updated in place, $r \leftarrow (1 - m)\,r + m\,s$ with the *unbiased* batch variance for
    `running_var`; N = 1 raises ValueError. Eval: $\mu, \sigma^2$ are the running statistics, unchanged.
    Differentiable in x, gamma and beta; the running statistics never join the autograd graph.
    """
    if training:
        n = x.shape[0]
        if n < 2:
            raise ValueError(f"batch normalisation needs more than 1 value per feature when training, got N = {n}")
        mean = x.mean(dim=0)
        centred = x - mean
        var = (centred * centred).mean(dim=0)
        with torch.no_grad():
            running_mean.mul_(1.0 - momentum).add_(momentum * mean.detach())
            running_var.mul_(1.0 - momentum).add_(momentum * var.detach() * (n / (n - 1)))
    else:
        mean, var = running_mean, running_var
        centred = x - mean
    return gamma * (centred / torch.sqrt(var + eps)) + beta
