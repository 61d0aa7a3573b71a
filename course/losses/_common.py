"""Shared helpers for every loss family: dtypes, shape checks, reductions.

Every public loss in :mod:`course.losses` follows the same small protocol:

1. turn array-likes into floating arrays with :func:`as_float` (float64 by
   default, float32 kept as float32);
2. check shapes up front with :func:`check_same_shape` and friends, so that
   nothing is ever broadcast by accident;
3. compute the per-element (or per-sample) loss;
4. reduce it with :func:`reduce` and, in the ``_grad`` twin, scale the
   per-element gradient with :func:`reduction_scale`.

Keeping these four steps in one place is what lets each loss module read
like its formula.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


def as_float(x, name: str, dtype=None) -> np.ndarray:
    """Return ``x`` as a floating NumPy array.

    float32 and float64 arrays pass through unchanged; integers and booleans
    become float64 (or ``dtype`` when given). Anything else (complex, object,
    strings) raises ``ValueError`` naming the argument.
    """
    array = np.asarray(x)
    if dtype is not None:
        if array.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
        return array.astype(dtype, copy=False)
    if array.dtype in (np.float32, np.float64):
        return array
    if array.dtype.kind in "biuf":
        return array.astype(np.float64)
    raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")


def common_float(*arrays: np.ndarray):
    """The floating dtype shared by ``arrays``: float32 only if all are float32."""
    return np.result_type(*[a.dtype for a in arrays], np.float32)


def as_floats(**named) -> list[np.ndarray]:
    """Convert several arguments with :func:`as_float` and cast them to one dtype.

    ``as_floats(input=x, target=y)`` returns ``[x, y]`` as arrays of the common
    dtype: float32 when every floating argument is float32, else float64.
    """
    arrays = [as_float(value, name) for name, value in named.items()]
    if all(a.dtype == arrays[0].dtype for a in arrays):
        return arrays  # the common case, kept cheap for small batches
    dtype = common_float(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays]


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def as_float_pair(a, b, names=("input", "target")) -> tuple[np.ndarray, np.ndarray]:
    """Two same-shape floating arrays of one dtype (:func:`as_floats` + :func:`check_same_shape`).

    The common case (two float arrays of one dtype and shape) takes a fast path,
    which matters for small batches, where checks cost as much as the arithmetic.
    """
    if (
        type(a) is np.ndarray and type(b) is np.ndarray
        and a.dtype == b.dtype and a.dtype in _FLOATS and a.shape == b.shape
    ):
        return a, b
    a, b = as_floats(**{names[0]: a, names[1]: b})
    check_same_shape(a, b, names)
    return a, b


def as_index(x, name: str) -> np.ndarray:
    """Return ``x`` as an int64 array of class indices (no float or bool accepted)."""
    array = np.asarray(x)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class indices, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def check_reduction(reduction: str, allowed: Iterable[str] = REDUCTIONS) -> None:
    """Raise ``ValueError`` unless ``reduction`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if reduction not in allowed:
        choices = ", ".join(repr(r) for r in allowed)
        raise ValueError(f"reduction must be one of {choices}, got {reduction!r}")


def check_same_shape(a: np.ndarray, b: np.ndarray, names=("input", "target")) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have exactly the same shape."""
    if a.shape != b.shape:
        raise ValueError(
            f"{names[1]} must have the same shape as {names[0]} {a.shape}, got {b.shape}"
        )


def check_ndim(a: np.ndarray, name: str, ndims: Iterable[int], meaning: str = "") -> None:
    """Raise ``ValueError`` unless ``a.ndim`` is one of ``ndims``."""
    ndims = tuple(ndims)
    if a.ndim not in ndims:
        expected = " or ".join(f"{n}-D" for n in ndims)
        hint = f" {meaning}" if meaning else ""
        raise ValueError(f"{name} must be {expected}{hint}, got shape {a.shape}")


def check_positive(value: float, name: str, strict: bool = True) -> None:
    """Raise ``ValueError`` unless a scalar option is > 0 (or >= 0 when not strict)."""
    if not math.isfinite(value) or (value <= 0 if strict else value < 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def reduce(loss: np.ndarray, reduction: str, denominator=None) -> np.ndarray:
    """Apply ``reduction`` to an array of per-element losses.

    "none" returns ``loss``; "sum" its sum; "mean" its sum divided by
    ``denominator`` (default: the number of elements; a weighted loss passes
    its total weight). Reduced values are 0-d arrays of ``loss.dtype``. A mean
    over nothing (an empty batch, every target ignored or weighted 0) is NaN,
    as PyTorch's 0/0 (computed without NumPy's "empty slice" warning).
    """
    if reduction == "none":
        return np.asarray(loss)  # a 0-d input may have produced a NumPy scalar
    if reduction == "sum":
        return np.asarray(np.add.reduce(loss, axis=None), dtype=loss.dtype)
    if reduction == "mean":
        count = loss.size if denominator is None else denominator
        if not count:
            return np.asarray(np.nan, dtype=loss.dtype)
        return np.asarray(np.add.reduce(loss, axis=None) / count, dtype=loss.dtype)
    check_reduction(reduction)  # raises with the list of valid choices


def reduction_scale(count: int, reduction: str, denominator=None) -> float:
    """d(reduced loss)/d(one element's loss): 1/count (or 1/denominator) for "mean", else 1.

    For "none" the gradient is that of the sum of the per-element losses. With
    no elements the scale multiplies nothing and is 1; a weighted mean whose
    ``denominator`` is 0 gives NaN, which is what PyTorch's gradient holds there.
    """
    check_reduction(reduction)
    if reduction != "mean":
        return 1.0
    if denominator is not None:
        return 1.0 / float(denominator) if denominator else float("nan")
    return 1.0 / count if count > 0 else 1.0


def scaled(grad: np.ndarray, count: int, reduction: str) -> np.ndarray:
    """Multiply a per-element gradient by :func:`reduction_scale`, in place, keeping dtype."""
    scale = reduction_scale(count, reduction)
    if scale != 1.0:
        grad *= grad.dtype.type(scale)
    return np.asarray(grad)


# np.errstate for the losses whose stable forms pass through inf or log(0) on purpose
quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")


def log1p_exp_neg_abs(x: np.ndarray) -> np.ndarray:
    """log1p(exp(-|x|)): the part of softplus(x) and softplus(-x) that never overflows.

    ``softplus(x) = max(x, 0) + log1p(exp(-|x|))``; losses that need both
    ``softplus(x)`` and ``softplus(-x)`` compute this once. Written in place:
    at a million elements every temporary array costs a page-faulted allocation.
    """
    out = np.abs(x)
    if out.ndim == 0:
        return np.log1p(np.exp(-out))
    np.negative(out, out=out)
    np.exp(out, out=out)
    return np.log1p(out, out=out)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exact and finite for huge |x|."""
    x = np.asarray(x)
    out = log1p_exp_neg_abs(x)
    out += np.maximum(x, 0)
    return out


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """log(sigmoid(x)) = -softplus(-x), computed without overflow for any finite x."""
    return -softplus(-np.asarray(x))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)).

    For x below about -709 (float64) or -88 (float32) ``exp(-x)`` overflows to
    inf and the quotient is then 0, exactly: the overflow is expected, not reported.
    """
    x = np.asarray(x)
    with np.errstate(over="ignore"):
        out = np.exp(-x)
    out += 1.0  # (a float: a Python int operand is several times slower)
    if out.ndim == 0:
        return np.asarray(1.0 / out, dtype=out.dtype)
    return np.reciprocal(out, out=out)


def _shift_out_max(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """``(x - peak, peak)`` with ``peak`` the max along ``axis`` (kept), or 0 where it is
    not finite, so that an all ``-inf`` slice stays ``-inf`` instead of becoming NaN."""
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0).astype(peak.dtype, copy=False)
    return x - peak, peak


def logsumexp(x: np.ndarray, axis: int, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(x))) along ``axis`` with the max shifted out first.

    An all ``-inf`` slice gives ``-inf`` (not NaN); a ``+inf`` entry gives ``+inf``.
    """
    shifted, peak = _shift_out_max(x, axis)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """(x - max) - log(sum(exp(x - max))): log-probabilities that never overflow.

    Subtracting the shifted log-sum-exp from the shifted ``x`` (not the full
    one from ``x``) keeps float32 precision when the logits are large.
    """
    shifted, _ = _shift_out_max(x, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(x - max) / sum(exp(x - max)): probabilities that never overflow."""
    return np.exp(log_softmax(x, axis=axis))
