"""Softmax pieces shared by the multiclass losses of :mod:`course.losses.imbalance`.

Logits arrive as (N, C), (N, C, d1, ...) or (C,); these helpers turn them
into rows (M, C) with one label each, compute log p_y accurately, and put a
gradient computed on rows back into the input's shape.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float, as_index


def class_rows(input, target, ignore_index: int | None):
    """Logits as rows (M, C), labels (M,), and the target's shape for "none".

    Accepts (N, C) with target (N,), (N, C, d1, ...) with target (N, d1, ...)
    (the class axis second, as in ``F.cross_entropy``), and one unbatched
    sample (C,) with a 0-d target. Labels must be in ``[0, C)`` or equal
    ``ignore_index``.
    """
    x = as_float(input, "input")
    t = as_index(target, "target")
    if x.ndim == 0:
        raise ValueError("input must be (C,), (N, C) or (N, C, d1, ...), got a 0-d array")
    expected = () if x.ndim == 1 else (x.shape[0],) + x.shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"target must have shape {expected} for input of shape {x.shape}, got {t.shape}"
        )
    classes = x.shape[0] if x.ndim == 1 else x.shape[1]
    if classes == 0:
        raise ValueError(f"input must have at least one class, got shape {x.shape}")
    rows = x.reshape(1, -1) if x.ndim == 1 else np.moveaxis(x, 1, -1).reshape(-1, classes)
    labels = t.reshape(-1)
    valid = labels != ignore_index if ignore_index is not None else np.ones(labels.shape, bool)
    bad = valid & ((labels < 0) | (labels >= classes))
    if bad.any():
        raise ValueError(
            f"target must hold class indices in [0, {classes})"
            + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
            + f", got {labels[bad][0]}"
        )
    return rows, np.where(valid, labels, 0), valid, t.shape


def rows_back(grad_rows: np.ndarray, input_shape: tuple) -> np.ndarray:
    """Undo :func:`class_rows`: (M, C) gradient rows to the input's shape."""
    if len(input_shape) == 1:
        return grad_rows.reshape(input_shape)
    moved = (input_shape[0],) + input_shape[2:] + (input_shape[1],)
    return np.ascontiguousarray(np.moveaxis(grad_rows.reshape(moved), -1, 1))


def log_prob_of_label(rows: np.ndarray, labels: np.ndarray):
    """log p_y per row, the shifted logits and the row log-sum-exp (max shifted out).

    After the shift the largest entry contributes exactly 1 to the sum of
    exponentials, so the log-sum-exp is ``log1p(rest)``: log p_y keeps its
    digits when p_y is close to 1, the easy examples focal loss is about.
    """
    index = np.arange(rows.shape[0])
    top = rows.argmax(axis=1)
    peak = rows[index, top][:, None]
    shifted = rows - np.where(np.isfinite(peak), peak, 0)
    exps = np.exp(shifted)
    exps[index, top] = 0
    lse = np.log1p(exps.sum(axis=1))
    return shifted[index, labels] - lse, shifted, lse


def softmax_minus_onehot(shifted: np.ndarray, lse: np.ndarray, labels, one_minus) -> np.ndarray:
    """softmax - onehot(labels), with the label's entry -(1 - p_y) given exactly."""
    grad = np.exp(shifted - lse[:, None])
    grad[np.arange(grad.shape[0]), labels] = -one_minus
    return grad
