"""Margin losses for classification; re-exported by :mod:`course.losses.classification`.

A margin loss is zero once the right score beats the wrong ones by
``margin`` and grows linearly (or quadratically) below that: the hinge of the
support vector machine and its multi-class and multi-label relatives.

At the hinge itself the loss has a kink and any slope between the two sides
is a valid subgradient. These functions take PyTorch's choices, which the
docstrings repeat: :func:`hinge_loss` and :func:`hinge_embedding_loss` count
a point exactly at the margin as active (full slope), while
:func:`multi_margin_loss` and :func:`multilabel_margin_loss` count only
strict violations (slope 0 at the tie).
"""

from __future__ import annotations

import numpy as np

from ._class_rows import class_weight, input_and_labels
from ._common import as_float, as_index, check_reduction, check_same_shape, reduce, scaled
from ._zero_d import accept_0d

__all__ = [
    "multi_margin_loss", "multi_margin_loss_grad",
    "multilabel_margin_loss", "multilabel_margin_loss_grad",
    "hinge_embedding_loss", "hinge_embedding_loss_grad",
    "hinge_loss", "hinge_loss_grad",
]


# ------------------------------------------------------------- binary hinge
def _prepare_hinge(input, target, reduction):
    check_reduction(reduction)
    x, y = input_and_labels(input, target)
    check_same_shape(x, y)
    if y.size and not np.all(np.abs(y) == 1):
        raise ValueError("target must hold labels -1 or +1 for hinge_loss")
    return x, y


@accept_0d
def hinge_loss(
    input, target, margin: float = 1.0, squared: bool = False, reduction: str = "mean"
) -> np.ndarray:
    r"""Binary SVM hinge loss on scores, with labels in {-1, +1}.

    .. math:: \ell_i = \max(0,\ m - y_i x_i) \quad(\text{squared: } \max(0,\ m - y_i x_i)^2)

    Zero once the score has the right sign with room ``margin`` to spare.
    PyTorch has no function for it; ``torch.clamp_min(margin - y * x, 0)`` is
    the same loss. Any other label raises ``ValueError``.
    Reference: Cortes & Vapnik (1995), "Support-vector networks".
    """
    x, y = _prepare_hinge(input, target, reduction)
    loss = np.multiply(y, x)
    np.subtract(margin, loss, out=loss)
    np.maximum(loss, 0.0, out=loss)
    if squared:
        loss *= loss
    return reduce(loss, reduction)


@accept_0d
def hinge_loss_grad(
    input, target, margin: float = 1.0, squared: bool = False, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`hinge_loss`: :math:`-y\,[m - y x \ge 0]` (squared: :math:`-2y\max(0, m - yx)`).

    Tie: a score exactly at the margin counts as active (slope ``-y``), the
    subgradient ``torch.clamp_min`` gives; the squared hinge is smooth there.
    """
    x, y = _prepare_hinge(input, target, reduction)
    slack = np.multiply(y, x)
    np.subtract(margin, slack, out=slack)
    if squared:
        np.maximum(slack, 0.0, out=slack)
        grad = slack * (-2 * y)
    else:
        grad = np.where(slack >= 0, -y, 0).astype(x.dtype, copy=False)
    return scaled(grad, grad.size, reduction)


def _prepare_embedding(input, target, reduction):
    check_reduction(reduction)
    x, y = input_and_labels(input, target)
    check_same_shape(x, y)
    return x, y


@accept_0d
def hinge_embedding_loss(
    input, target, margin: float = 1.0, reduction: str = "mean"
) -> np.ndarray:
    r"""Hinge embedding loss, ``F.hinge_embedding_loss``.

    .. math::
        \ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0,\ m - x_i) & y_i = -1 \end{cases}

    ``input`` is typically a distance: pulled down for similar pairs (y = 1),
    pushed past ``margin`` for dissimilar ones (y = -1). As in PyTorch, a
    label that is neither gets both terms (y = 0 costs ``x + max(0, m - x)``).
    Reference: the Torch7 ``HingeEmbeddingCriterion``.
    """
    x, y = _prepare_embedding(input, target, reduction)
    loss = np.where(y != 1, np.maximum(margin - x, 0.0), 0.0).astype(x.dtype, copy=False)
    loss += np.where(y != -1, x, 0).astype(x.dtype, copy=False)
    return reduce(loss, reduction)


@accept_0d
def hinge_embedding_loss_grad(
    input, target, margin: float = 1.0, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`hinge_embedding_loss`: 1 where y = 1, :math:`-[m - x \ge 0]` where y = -1.

    Tie: ``x == margin`` counts as active (slope -1), as in PyTorch.
    """
    x, y = _prepare_embedding(input, target, reduction)
    grad = (y != -1).astype(x.dtype)
    grad -= (y != 1) & (margin - x >= 0)
    return scaled(grad, grad.size, reduction)


# ------------------------------------------------------------- multi-class
def _nonempty_rows(x: np.ndarray, loss: str):
    """(rows, N, C) of a (C,) or (N, C) input; ValueError for an empty batch.

    PyTorch returns uninitialised memory for these margin losses on an empty batch,
    so there is nothing to match: the course refuses it.
    """
    rows = x.reshape(-1, x.shape[-1])
    count, classes = rows.shape
    if count == 0:
        raise ValueError(f"{loss} of an empty batch is undefined (PyTorch returns uninitialised "
                         f"memory); got input of shape {x.shape}")
    return rows, count, classes


def _prepare_multi_margin(input, target, p, weight, reduction):
    check_reduction(reduction)
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    x = as_float(input, "input")
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"input must have shape (C,) or (N, C) with C >= 1, got {x.shape}")
    rows, count, classes = _nonempty_rows(x, "multi_margin_loss")
    t = as_index(target, "target")
    allowed = [(count,)] if x.ndim == 2 else [(), (1,)]
    if t.shape not in allowed:
        raise ValueError(
            f"target must have shape {' or '.join(map(str, allowed))} for input of shape "
            f"{x.shape}, got {t.shape}"
        )
    t = t.reshape(-1)
    if t.min() < 0 or t.max() >= classes:
        bad = t[(t < 0) | (t >= classes)][0]
        raise ValueError(f"target class indices must lie in [0, {classes}), got {bad}")
    w = class_weight(weight, classes, x.dtype)
    return x, rows, t, w


def _margin_violations(rows, t, margin):
    """z_ij = margin - x_iy + x_ij, with the target's own entry set to 0 (never counted)."""
    picked = np.arange(t.size), t
    z = rows - rows[picked][:, None]
    z += margin
    z[picked] = 0
    return z, picked


def multi_margin_loss(
    input, target, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"
) -> np.ndarray:
    r"""Multi-class hinge loss, ``F.multi_margin_loss``.

    .. math::
        \ell_i = \frac{1}{C} \sum_{j \ne y_i} w_{y_i} \max(0,\ m - x_{i y_i} + x_{ij})^p,
        \qquad p \in \{1, 2\}

    ``input`` is (N, C) or (C,); "mean" divides by N (not by the weights).
    An empty batch raises ``ValueError``: PyTorch's result there is undefined.
    Reference: Weston & Watkins (1999), "Support vector machines for
    multi-class pattern recognition".
    """
    x, rows, t, w = _prepare_multi_margin(input, target, p, weight, reduction)
    z, _ = _margin_violations(rows, t, margin)
    np.maximum(z, 0.0, out=z)
    if p == 2:
        z *= z
    loss = z.sum(1)
    loss /= rows.shape[1]
    if w is not None:
        loss *= w[t]
    return reduce(loss.reshape(x.shape[:-1]), reduction)


def multi_margin_loss_grad(
    input, target, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`multi_margin_loss`.

    For each violated class j, :math:`p\,z_{ij}^{p-1} w_y / C` on
    :math:`x_{ij}` and minus that on :math:`x_{iy}`. Tie: a class exactly at
    the margin (:math:`z = 0`) is not counted (strict ``>``), as in PyTorch.
    """
    x, rows, t, w = _prepare_multi_margin(input, target, p, weight, reduction)
    z, picked = _margin_violations(rows, t, margin)
    grad = (z > 0).astype(x.dtype)
    if p == 2:
        grad *= z
        grad *= 2.0
    grad[picked] = -grad.sum(1)
    coefficient = 1.0 / rows.shape[1] if w is None else (w[t] / rows.shape[1])[:, None]
    grad *= coefficient
    return scaled(grad.reshape(x.shape), rows.shape[0], reduction)


# ------------------------------------------------------------- multi-label
def _prepare_multilabel_margin(input, target, reduction):
    check_reduction(reduction)
    x = as_float(input, "input")
    if x.ndim not in (1, 2):
        raise ValueError(f"input must have shape (C,) or (N, C), got {x.shape}")
    rows, count, classes = _nonempty_rows(x, "multilabel_margin_loss")
    t = as_index(target, "target")
    if t.shape != x.shape:
        raise ValueError(f"target must have the input's shape {x.shape}, got {t.shape}")
    t = t.reshape(rows.shape)
    if t.size and (t.min() < -1 or t.max() >= classes):
        raise ValueError(
            f"target entries must be class indices in [0, {classes}) or -1 (end of the "
            f"list), got values in [{t.min()}, {t.max()}]"
        )
    # targets are read up to the first -1; a class listed twice counts twice
    listed = np.logical_and.accumulate(t >= 0, axis=1)
    counts = np.zeros(rows.shape, dtype=x.dtype)
    np.add.at(counts, (np.nonzero(listed)[0], t[listed]), 1)
    # weight[i, j, k]: how often j is a target times [k is not a target]
    weight = counts[:, :, None] * (counts == 0)[:, None, :]
    # z[i, j, k] = 1 - (x_ij - x_ik): how far target j fails to beat non-target k by 1
    z = 1.0 - rows[:, :, None] + rows[:, None, :]
    return x, z, weight


def multilabel_margin_loss(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Multi-label hinge loss, ``F.multilabel_margin_loss``.

    ``target`` has the input's shape, (N, C) or (C,), and lists each sample's
    classes up to the first -1 (``[3, 0, -1, 1]`` means classes {3, 0}):

    .. math::
        \ell_i = \frac{1}{C} \sum_{j \in T_i} \sum_{k \notin T_i} \max(0,\ 1 - (x_{ij} - x_{ik}))

    Every target class must beat every other class by 1. Uses C x C work per
    sample. An empty batch raises ``ValueError`` (undefined in PyTorch).
    Reference: the Torch7 ``MultiLabelMarginCriterion``.
    """
    x, z, weight = _prepare_multilabel_margin(input, target, reduction)
    np.maximum(z, 0.0, out=z)
    z *= weight
    loss = z.sum((1, 2)) / x.shape[-1]
    return reduce(loss.reshape(x.shape[:-1]), reduction)


def multilabel_margin_loss_grad(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`multilabel_margin_loss`.

    Each violated pair (j target, k not) adds :math:`-1/C` to
    :math:`x_{ij}` and :math:`+1/C` to :math:`x_{ik}`. Tie: a pair exactly
    at the margin (:math:`1 - (x_j - x_k) = 0`) is not counted, as in PyTorch.
    """
    x, z, weight = _prepare_multilabel_margin(input, target, reduction)
    active = (z > 0) * weight
    grad = active.sum(1) - active.sum(2)
    grad /= x.shape[-1]
    return scaled(grad.reshape(x.shape), grad.shape[0], reduction)
