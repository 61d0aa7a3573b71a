"""Private helpers for losses over classes: a (rows, C) view, class-index targets, softmax.

``cross_entropy``, ``nll_loss``, ``softmax_focal_loss`` and
``generalized_cross_entropy`` accept logits of shape ``(C,)``, ``(N, C)`` or
``(N, C, d1, ..., dk)``, with the classes on axis 1. Everything here works
on one matrix with one row per prediction and the classes along the last
axis, which is what :func:`to_rows` makes (:func:`logit_rows` also converts
and checks the input); :func:`from_rows` puts a gradient back into the
input's layout, and :func:`class_targets` checks the class-index targets.

The log-probability of the label comes in two forms with different
trade-offs. :func:`exp_rows` with :func:`target_nll` is the fast route that
``cross_entropy`` takes: ``-log p_y`` to within a few ulps of 1, as in
PyTorch. :func:`log_prob_of_label` shifts by the row max and takes
``log1p`` of the rest, so ``log p_y`` keeps its relative precision as
``p_y -> 1``; the focal and generalized losses need that, because they
compute ``1 - p_y`` from it.

:func:`input_and_labels` converts the (score, label) pairs of the binary
and margin losses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import as_float, as_floats, as_index


def to_rows(x: np.ndarray) -> np.ndarray:
    """``x`` as a ``(rows, C)`` matrix: (C,) -> (1, C); (N, C, d...) -> (N*d..., C).

    (C,) and (N, C) are views; K-dimensional inputs are copied once, with the
    class axis moved last.
    """
    if x.ndim == 0:
        raise ValueError(
            "input must have a class dimension: shape (C,), (N, C) or (N, C, d1, ...), "
            "got shape ()"
        )
    if x.ndim == 1:
        return x[None, :]
    if x.ndim == 2:
        return x
    return np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])


def logit_rows(input) -> tuple[np.ndarray, np.ndarray]:
    """``input`` as a float array and its :func:`to_rows` view; at least one class."""
    x = as_float(input, "input")
    rows = to_rows(x)
    if rows.shape[1] == 0:
        raise ValueError(f"input must have at least one class, got shape {x.shape}")
    return x, rows


def from_rows(rows: np.ndarray, shape: tuple) -> np.ndarray:
    """Inverse of :func:`to_rows` for an array with ``prod(shape)`` entries."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = (shape[0],) + tuple(shape[2:]) + (shape[1],)
    return np.ascontiguousarray(np.moveaxis(rows.reshape(moved), -1, 1))


def class_count(shape: tuple) -> int:
    """Number of classes C of an input of this shape (axis 0 unbatched, else axis 1)."""
    return shape[0] if len(shape) == 1 else shape[1]


def per_row_shape(shape: tuple) -> tuple:
    """Shape of one value per prediction: () for (C,), (N, d1, ...) for (N, C, d1, ...)."""
    return () if len(shape) == 1 else (shape[0],) + tuple(shape[2:])


@dataclass
class ClassTargets:
    """Validated class-index targets, one per row of :func:`to_rows`.

    ``index`` holds a usable class for every row (ignored rows point at class
    0); ``ignored`` is the boolean mask of rows whose target equals
    ``ignore_index``, or None when no row is ignored; ``weight`` is each row's
    class weight ``w[target]`` (0 on ignored rows), or None when every row
    weighs 1.
    """

    index: np.ndarray
    ignored: np.ndarray | None
    weight: np.ndarray | None

    def flat(self, classes: int) -> np.ndarray:
        """Positions of the target entries in the flattened (rows, C) matrix."""
        return np.arange(self.index.size) * classes + self.index

    def total_weight(self):
        """Denominator of reduction="mean": the sum of the target weights.

        Without class weights that is the number of rows not ignored.
        """
        if self.weight is not None:
            return self.weight.sum()
        if self.ignored is not None:
            return self.index.size - int(np.count_nonzero(self.ignored))
        return self.index.size

    def kept(self) -> np.ndarray:
        """Boolean mask of the rows whose target is not ignored."""
        if self.ignored is None:
            return np.ones(self.index.size, dtype=bool)
        return ~self.ignored


def class_targets(target, shape: tuple, ignore_index: int | None, weight) -> ClassTargets:
    """Check integer targets against an input of ``shape`` and gather their weights.

    Raises ``ValueError`` unless the targets have shape :func:`per_row_shape`
    and every entry is a class in ``[0, C)`` or equals ``ignore_index``
    (None: no target is ignored).
    """
    t = as_index(target, "target")
    expected = per_row_shape(shape)
    if t.shape != expected:
        raise ValueError(
            f"target must hold class indices of shape {expected} for input of shape "
            f"{shape}, got shape {t.shape}"
        )
    classes = class_count(shape)
    t = t.reshape(-1)
    ignored = None if ignore_index is None else t == ignore_index
    if ignored is not None and not ignored.any():
        ignored = None
    kept = t if ignored is None else t[~ignored]
    if kept.size and (kept.min() < 0 or kept.max() >= classes):
        bad = kept[(kept < 0) | (kept >= classes)][0]
        or_ignored = "" if ignore_index is None else f" or equal ignore_index={ignore_index}"
        raise ValueError(f"target class indices must lie in [0, {classes}){or_ignored}, got {bad}")
    if ignored is not None:
        t = np.where(ignored, 0, t)
    row_weight = None
    if weight is not None:
        row_weight = weight[t]
        if ignored is not None:
            row_weight[ignored] = 0
    return ClassTargets(t, ignored, row_weight)


def class_weight(weight, classes: int, dtype, name: str = "weight") -> np.ndarray | None:
    """``weight`` as an array of shape (C,) in ``dtype``, or None (the argument's ``name``
    goes into the error message)."""
    if weight is None:
        return None
    w = as_float(weight, name, dtype=dtype)
    if w.shape != (classes,):
        raise ValueError(
            f"{name} must be None or per-class weights of shape ({classes},), one entry per class, "
            f"got shape {w.shape}"
        )
    return w


def exp_rows(x: np.ndarray, shift_by_max: bool = False):
    """``exp(x - shift)`` for a (rows, C) matrix, its row sums, and the shift.

    Log-sum-exp is ``log(sums) + shift`` and softmax is ``exps / sums[:, None]``.

    The textbook shift is each row's max, which keeps every exponent <= 0.
    In NumPy that costs a slow reduction along short rows plus a full extra
    pass, so by default ``exp(x)`` is tried unshifted (shift 0) and kept
    unless a row sum overflowed or underflowed (large logits, rows of very
    negative ones, inf, NaN): those batches are redone with the row max.
    ``shift_by_max=True`` always takes the row max.
    """
    if not shift_by_max:
        exps = np.exp(x)
        sums = _row_sums(exps)
        info = np.finfo(x.dtype)
        # both tests fail for NaN; the first also for inf
        if not sums.size or (sums.max() < info.max and sums.min() > np.sqrt(info.tiny)):
            return exps, sums, 0.0
    shift = x.max(axis=1)
    exps = np.subtract(x, shift[:, None])
    np.exp(exps, out=exps)
    return exps, _row_sums(exps), shift


def _row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)``, several times faster for short rows.

    (A product with a vector of ones would be faster still, but goes through
    multithreaded BLAS, which stalls badly on a busy machine.)
    """
    return np.einsum("ij->i", a)


def target_nll(rows: np.ndarray, flat: np.ndarray, sums: np.ndarray, shift) -> np.ndarray:
    """``-log softmax(rows)`` at the targets, from the parts :func:`exp_rows` returns.

    This is ``log(sums) - (x_target - shift)``. With the row max as shift (as
    in PyTorch) a confident row's small loss ``log(1 + tiny)`` is off by a
    few ulps of 1. Unshifted, ``log(sums)`` is close to ``x_target`` and
    their difference would be off by ulps of ``|x|`` (1e-14 for logits of
    50), so the loss is taken as ``log(sums * exp(-x_target))`` instead: the
    same number, with the target logit as the shift.
    """
    picked = rows.reshape(-1)[flat]
    if np.ndim(shift) == 0:
        rescale = np.exp(-picked)
        info = np.finfo(rows.dtype)
        if not rescale.size or (rescale.max() < info.max and rescale.min() >= info.tiny):
            rescale *= sums
            return np.log(rescale, out=rescale)
    picked -= shift
    return np.subtract(np.log(sums), picked, out=picked)


def log_softmax_rows(rows: np.ndarray, sums: np.ndarray, shift) -> np.ndarray:
    """``(x - shift) - log(sums)``: log-softmax from the parts :func:`exp_rows` returns.

    Subtracting the shift before the log-sum keeps the small differences
    between huge logits (the way PyTorch's log_softmax does).
    """
    log_p = np.subtract(rows, np.asarray(shift, dtype=rows.dtype).reshape(-1, 1))
    log_p -= np.log(sums)[:, None]
    return log_p


def log_prob_of_label(rows: np.ndarray, labels: np.ndarray):
    """log p_y per row, the shifted logits and the row log-sum-exp (max shifted out).

    After the shift the largest entry contributes exactly 1 to the sum of
    exponentials, so the log-sum-exp is ``log1p(rest)``: log p_y keeps its
    digits when p_y is close to 1, the easy examples focal loss is about.
    (:func:`target_nll` is faster but only good to ulps of 1 there.)
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
    """softmax - onehot(labels) from :func:`log_prob_of_label`'s parts.

    The label's entry is set to ``-one_minus``, the caller's exact ``1 - p_y``.
    """
    grad = np.exp(shifted - lse[:, None])
    grad[np.arange(grad.shape[0]), labels] = -one_minus
    return grad


def input_and_labels(input, target):
    """``input`` and ``target`` as floating arrays of one dtype.

    Integer or boolean labels take the input's dtype, so float32 scores with
    labels like ``np.array([1, -1])`` stay float32; float targets follow
    :func:`as_floats` (float32 only if both are).
    """
    x = as_float(input, "input")
    t = np.asarray(target)
    if t.dtype == x.dtype:
        return x, t
    if t.dtype.kind in "biu":
        return x, t.astype(x.dtype)
    return as_floats(input=x, target=t)

