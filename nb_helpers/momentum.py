r"""Reference SGD with momentum (PyTorch's convention, NumPy).

`sgd_momentum_step` is the reference of lesson 03's exercise. PyTorch's rule, with momentum $\mu$
and learning rate $\eta$ (dampening 0), is

    $v \leftarrow \mu v + g$ (the first buffer is a copy of $g$),
    $\theta \leftarrow \theta - \eta\, v$, or with Nesterov $\theta \leftarrow \theta - \eta\,(g + \mu v)$.

The exponential-moving-average form $v \leftarrow \beta v + (1-\beta) g$, $\theta \leftarrow \theta - \alpha v$
is the same algorithm with $\eta = \alpha(1-\beta)$, $\mu = \beta$.

The ravine on which lesson 03 shows what momentum does is in `nb_helpers.ravine`.
"""

from __future__ import annotations

from typing import Iterable, MutableSequence, Sequence

import numpy as np

__all__ = ["sgd_momentum_step"]


def sgd_momentum_step(params: Iterable[np.ndarray], grads: Sequence[np.ndarray], velocities: MutableSequence[np.ndarray],
                      lr: float, momentum: float = 0.9, nesterov: bool = False) -> None:
    r"""One step of `torch.optim.SGD(lr, momentum, nesterov)`, in place: $v \leftarrow \mu v + g$; $\theta \leftarrow \theta - \eta v$
    (Nesterov: $\theta \leftarrow \theta - \eta (g + \mu v)$).

    `params` (float64 arrays, possibly a one-shot generator) are updated in place; `grads` are left
    unchanged; `velocities` is the optimizer's state: an empty list on the first call, which this
    step fills with one new buffer per parameter (a copy of its gradient, as PyTorch does); later
    calls update those buffers. `lr` may change from one call to the next (a scheduler).
    """
    first = len(velocities) == 0
    for i, (p, g) in enumerate(zip(params, grads)):
        if first:
            v = np.array(g, dtype=np.float64, copy=True)
            velocities.append(v)
        else:
            v = velocities[i]
            v *= momentum
            v += g
        p -= lr * (g + momentum * v if nesterov else v)
