"""Weight penalties and the proximal step of the L1 penalty.

A penalty is added to a data loss to prefer some weights over others
(lesson 09): ``loss(w) + lam * penalty(w)``. The squared L2 norm shrinks
every weight towards 0 in proportion to its size; the L1 norm pulls each
weight by a constant amount and so sets small ones exactly to 0; the
elastic net mixes the two.

Each penalty takes one array of any shape and returns a 0-d array; its
``_grad`` twin returns an array of the same shape. For a model's list of
parameter arrays, add the penalties up: ``sum(l2_penalty(p) for p in params)``.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float

__all__ = [
    "l2_penalty", "l2_penalty_grad",
    "l1_penalty", "l1_penalty_grad",
    "elastic_net_penalty", "elastic_net_penalty_grad",
    "soft_threshold",
]


def _weights(w) -> np.ndarray:
    return as_float(w, "w")


def _total(values: np.ndarray) -> np.ndarray:
    """Sum as a 0-d array of the input's dtype."""
    return np.asarray(values.sum(), dtype=values.dtype)


def l2_penalty(w) -> np.ndarray:
    r"""Half the squared L2 norm: :math:`\tfrac12 \lVert w \rVert_2^2 = \tfrac12\sum_k w_k^2`.

    The 1/2 makes the gradient ``w`` itself, so a step of plain gradient
    descent with rate ``lr`` and strength ``lam`` multiplies ``w`` by
    ``1 - lr * lam`` ("weight decay"). Some texts (and ``torch.optim``'s
    ``weight_decay``, which adds ``lam * w`` to the gradient) use this
    convention; others drop the 1/2 and double the gradient.

    Reference: Hoerl & Kennard (1970), "Ridge regression".
    """
    w = _weights(w)
    half_squares = w * w
    half_squares *= w.dtype.type(0.5)
    return _total(half_squares)


def l2_penalty_grad(w) -> np.ndarray:
    """Gradient of :func:`l2_penalty`: ``w`` (a copy)."""
    return np.array(_weights(w), copy=True)


def l1_penalty(w) -> np.ndarray:
    r"""L1 norm: :math:`\lVert w \rVert_1 = \sum_k |w_k|`.

    Reference: Tibshirani (1996), "Regression shrinkage and selection via the lasso".
    """
    return _total(np.abs(_weights(w)))


def l1_penalty_grad(w) -> np.ndarray:
    r"""Subgradient of :func:`l1_penalty`: :math:`\operatorname{sign}(w)`, 0 at ``w = 0``.

    Any value in [-1, 1] is a valid subgradient at 0; 0 is torch's choice
    for ``abs``. Gradient steps on the L1 norm make weights oscillate around
    0 rather than land on it; :func:`soft_threshold` is the step that does.
    """
    w = _weights(w)
    return np.sign(w, out=np.empty_like(w))  # out=: an array even for 0-d w


def _check_l1_ratio(l1_ratio: float) -> None:
    if not (np.isfinite(l1_ratio) and 0 <= l1_ratio <= 1):
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")


def elastic_net_penalty(w, l1_ratio: float = 0.5) -> np.ndarray:
    r"""Elastic-net penalty, scikit-learn's convention.

    .. math:: r\,\lVert w \rVert_1 + (1 - r)\,\tfrac12 \lVert w \rVert_2^2

    with ``r = l1_ratio`` in [0, 1]: ``r = 1`` is :func:`l1_penalty`,
    ``r = 0`` is :func:`l2_penalty`. This is the penalty of
    ``sklearn.linear_model.ElasticNet`` with ``alpha = 1`` (its objective
    adds ``alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2``).
    Zou & Hastie write the same family as
    :math:`\lambda_1 \lVert w \rVert_1 + \lambda_2 \lVert w \rVert_2^2`, without the 1/2.

    Reference: Zou & Hastie (2005), "Regularization and variable selection
    via the elastic net".
    """
    _check_l1_ratio(l1_ratio)
    w = _weights(w)
    r = w.dtype.type(l1_ratio)
    return np.asarray(r * l1_penalty(w) + (1 - r) * l2_penalty(w), dtype=w.dtype)


def elastic_net_penalty_grad(w, l1_ratio: float = 0.5) -> np.ndarray:
    r"""Subgradient of :func:`elastic_net_penalty`: ``r sign(w) + (1 - r) w``, 0 at 0."""
    _check_l1_ratio(l1_ratio)
    w = _weights(w)
    r = w.dtype.type(l1_ratio)
    grad = np.sign(w, out=np.empty_like(w))
    grad *= r
    grad += (1 - r) * w
    return grad


def soft_threshold(w, threshold) -> np.ndarray:
    r"""Soft thresholding, the proximal operator of ``threshold * ||.||_1``.

    .. math::
        \operatorname{prox}_{t\lVert\cdot\rVert_1}(w)
        = \arg\min_x \tfrac12\lVert x - w\rVert_2^2 + t\lVert x\rVert_1
        = \operatorname{sign}(w)\,\max(|w| - t,\ 0)

    Each coordinate moves ``t`` towards 0 and stops there: entries with
    :math:`|w_k| \le t` become exactly 0. One gradient step on the data loss
    followed by this step (with ``t = lr * lam``) is proximal gradient
    descent (ISTA) for the lasso. ``torch.nn.functional.softshrink`` is the
    same function.

    Parameters
    ----------
    w : array_like, any shape
    threshold : float >= 0, or array_like of ``w``'s shape (one per coordinate)

    Reference: Donoho (1995), "De-noising by soft-thresholding"; Parikh &
    Boyd (2014), "Proximal algorithms", section 6.5.2.
    """
    w = _weights(w)
    t = np.asarray(threshold)
    if t.shape not in ((), w.shape):
        raise ValueError(
            f"threshold must be a scalar or have the shape of w {w.shape}, got {t.shape}"
        )
    t = as_float(t, "threshold", dtype=w.dtype)
    if not (np.isfinite(t).all() and (t >= 0).all()):
        raise ValueError("threshold must be finite and >= 0")
    shrunk = np.subtract(np.abs(w), t, out=np.empty_like(w))
    np.maximum(shrunk, 0, out=shrunk)
    shrunk *= np.sign(w)
    return shrunk
