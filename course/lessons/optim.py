"""The one optimiser the lessons write in NumPy: Adam.

Several lessons train small models without torch (a per-pixel logistic
model, a softmax layer on random features, a two-parameter likelihood, a
grid detector, a digit embedding); they all take their steps with
:func:`adam_step`, so the update rule is written once and tested once
against ``torch.optim.Adam``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adam_moments", "adam_step"]


def adam_moments(params) -> list:
    """Zeroed first and second moments ``[m, v]`` for each array of ``params``."""
    return [[np.zeros_like(p), np.zeros_like(p)] for p in params]


def adam_step(params, grads, moments, step: int, lr: float,
              betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
    r"""One Adam update of ``params`` in place (Kingma & Ba 2015, "Adam", Algorithm 1).

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \qquad
        \theta \leftarrow \theta - \eta\,\frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    ``params`` and ``grads`` are sequences of float arrays of matching
    shapes; ``moments`` holds a pair ``(m, v)`` per parameter (see
    :func:`adam_moments`), updated in place; ``step`` counts from 1 (it sets
    the bias correction). These are ``torch.optim.Adam``'s defaults and steps.
    """
    if step < 1:
        raise ValueError(f"step counts from 1, got {step}")
    b1, b2 = betas
    for p, g, (m, v) in zip(params, grads, moments, strict=True):
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        p -= lr * (m / (1 - b1**step)) / (np.sqrt(v / (1 - b2**step)) + eps)
