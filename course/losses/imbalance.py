"""Losses for rare classes and noisy labels: focal, generalized CE, class weights.

Cross-entropy treats every example alike, so a flood of easy negatives can
drown the few hard positives (lesson 06). The losses here change that:

- :func:`sigmoid_focal_loss` and :func:`softmax_focal_loss` multiply each
  example's cross-entropy by ``(1 - p_t)^gamma``, which fades out examples the
  model already gets right (Lin et al. 2017);
- :func:`generalized_cross_entropy` bounds the loss of a badly wrong example,
  so a mislabelled one cannot dominate (Zhang & Sabuncu 2018);
- :func:`class_balanced_weights` turns class counts into per-class weights by
  the "effective number" of examples (Cui et al. 2019).

Each loss has a ``_grad`` twin with the same arguments, returning the
gradient with respect to the logits (for ``reduction="none"``: of the sum).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ._class_rows import (
    class_targets,
    class_weight,
    from_rows,
    log_prob_of_label,
    logit_rows,
    per_row_shape,
    softmax_minus_onehot,
)
from ._common import as_float, check_ndim, check_reduction, reduce, reduction_scale, scaled

__all__ = [
    "sigmoid_focal_loss", "sigmoid_focal_loss_grad",
    "softmax_focal_loss", "softmax_focal_loss_grad",
    "generalized_cross_entropy", "generalized_cross_entropy_grad",
    "class_balanced_weights",
]


# ----------------------------------------------------------- sigmoid focal
def _binary_pair(inputs, targets) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Validated logits and targets in one float dtype, flattened, and their shape.

    Integer or boolean targets take the logits' dtype, so float32 logits with
    0/1 labels stay float32; float targets share the wider of the two dtypes.
    (Flat 1-D views keep every in-place step an array, even for 0-d input.)
    """
    x = as_float(inputs, "inputs")
    y = np.asarray(targets)
    if y.dtype.kind in "biu":
        y = y.astype(x.dtype)
    elif y.dtype != x.dtype:
        y = as_float(y, "targets")
        dtype = np.result_type(x.dtype, y.dtype)
        x, y = x.astype(dtype, copy=False), y.astype(dtype, copy=False)
    if x.shape != y.shape:
        raise ValueError(f"targets must have the same shape as inputs {x.shape}, got {y.shape}")
    if y.size and not (y.min() >= 0 and y.max() <= 1):  # also catches NaN
        raise ValueError("targets must lie in [0, 1] (labels or probabilities)")
    return x.reshape(-1), y.reshape(-1), x.shape


def _check_gamma(gamma) -> None:
    if not (math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0, got {gamma!r}")


def _check_focal(alpha, gamma) -> None:
    if alpha is not None and not (math.isfinite(alpha) and alpha <= 1):
        raise ValueError(f"alpha must be a finite number <= 1 (negative: off), got {alpha!r}")
    _check_gamma(gamma)


def _focal_terms(x: np.ndarray, y: np.ndarray):
    """sigmoid(x), sigmoid(-x) and BCE-with-logits, each without cancellation.

    ``sigmoid(-x)`` is computed as ``1 / (1 + exp(x))``, not as
    ``1 - sigmoid(x)``, so it keeps its digits where ``sigmoid(x)`` rounds
    to 1. (Two exponentials and no branch: faster than selecting between
    ``exp(-|x|)`` forms with a mask, which stalls on random signs.)
    """
    with np.errstate(over="ignore"):  # exp overflows to inf past |x| ~ 88 / 709: 1/inf = 0
        p = np.exp(-x)
        q = np.exp(x)
    bce = np.maximum(x, 0)  # softplus(x) - x y = max(x, 0) - x y + log1p(exp(-|x|))
    bce -= x * y  # before the log1p term, so that x - x cancels exactly for y = 1
    bce += np.log1p(np.minimum(p, q))
    p += 1
    np.reciprocal(p, out=p)
    q += 1
    np.reciprocal(q, out=q)
    return p, q, bce


def _focal_power(m: np.ndarray, gamma: float) -> np.ndarray:
    """m**gamma; np.square for the default gamma=2 skips the power dispatch."""
    return np.square(m) if gamma == 2 else m**gamma


def _apply_alpha(values: np.ndarray, y: np.ndarray, alpha: float, scale: float = 1.0) -> None:
    """Multiply in place by scale * alpha_t, alpha_t = alpha y + (1 - alpha)(1 - y).

    ``alpha`` None or negative means no weighting. ``scale`` (the
    reduction's 1/N) rides along in the same pass.
    """
    if alpha is not None and alpha >= 0:
        alpha_t = y * ((2 * alpha - 1) * scale)
        alpha_t += (1 - alpha) * scale
        values *= alpha_t
    elif scale != 1:
        values *= values.dtype.type(scale)


def sigmoid_focal_loss(
    inputs, targets, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "none"
) -> np.ndarray:
    r"""Binary focal loss on logits, ``torchvision.ops.sigmoid_focal_loss``.

    With :math:`p = \sigma(x)` and :math:`p_t = p\,y + (1 - p)(1 - y)`:

    .. math::
        \ell_i = \alpha_t\,(1 - p_t)^\gamma\,\mathrm{BCE}(x_i, y_i),
        \qquad \alpha_t = \alpha\,y + (1 - \alpha)(1 - y)

    where BCE is binary cross-entropy with logits. ``gamma=0`` and ``alpha``
    negative (torchvision's "off") give plain BCE; ``alpha`` weights the
    *positives* (0.25 down-weights them, which surprises many readers).
    Note torchvision's default ``reduction="none"``.

    Parameters
    ----------
    inputs : array_like, any shape
        Logits.
    targets : array_like, same shape
        Labels in {0, 1} or probabilities in [0, 1]; integer labels take the
        dtype of ``inputs``.
    alpha : float <= 1, or None
        Weight of the positive class; a negative value (torchvision's -1) or
        None (optax's convention) turns the weighting off.
    gamma : float >= 0
        Focusing exponent.
    reduction : {"none", "mean", "sum"}

    Notes
    -----
    ``1 - p_t`` is computed as ``sigmoid(x)(1 - y) + sigmoid(-x) y``, which
    is accurate even where ``p_t`` rounds to 1.

    Reference: Lin, Goyal, Girshick, He, Dollar (2017), "Focal loss for dense
    object detection".
    """
    check_reduction(reduction)
    _check_focal(alpha, gamma)
    x, y, shape = _binary_pair(inputs, targets)
    p, q, loss = _focal_terms(x, y)
    if gamma != 0:
        m = p * (1 - y)  # 1 - p_t, a mix of two non-negative terms: never cancels
        m += q * y
        loss *= _focal_power(m, gamma)
    _apply_alpha(loss, y, alpha)
    return reduce(loss.reshape(shape), reduction)


def sigmoid_focal_loss_grad(
    inputs, targets, alpha: float = 0.25, gamma: float = 2.0, reduction: str = "none"
) -> np.ndarray:
    r"""Gradient of :func:`sigmoid_focal_loss` w.r.t. ``inputs``.

    With :math:`m = 1 - p_t`, :math:`m' = p(1-p)(1-2y)` and BCE' :math:`= p - y`:

    .. math::
        \frac{\partial \ell}{\partial x}
        = \alpha_t\, m^\gamma \Big[\gamma\,\frac{m'}{m}\,\mathrm{BCE} + (p - y)\Big]

    Written this way, with the bounded ratio :math:`|m'/m| \le 1` instead of
    :math:`m^{\gamma-1}`, the gradient is finite for every finite logit and
    every ``gamma >= 0``. Autograd through torchvision's formula instead
    multiplies :math:`m^{\gamma-1} = \infty` by :math:`m' = 0` once ``p_t``
    rounds to 1 (``gamma < 1``; e.g. ``x=100, y=1``), and returns NaN where
    the true gradient is tiny (it tends to 0); elsewhere the two agree.
    """
    check_reduction(reduction)
    _check_focal(alpha, gamma)
    x, y, shape = _binary_pair(inputs, targets)
    p, q, bce = _focal_terms(x, y)
    from_negative = p * (1 - y)
    from_positive = q * y
    grad = from_negative - from_positive  # p - y, exact for hard targets (p - 1 is not)
    if gamma != 0:
        ratio = q * from_negative  # m' = p q (1 - y) - p q y
        p *= from_positive
        ratio -= p
        m = from_negative
        m += from_positive
        # m'/m. m is 0 only for a hard target whose p_t rounded to 1; there
        # both products above are 0, so m' = 0 and dividing it by the
        # smallest subnormal instead of 0 gives the right limit, 0.
        ratio /= np.maximum(m, np.finfo(m.dtype).smallest_subnormal)
        ratio *= bce
        ratio *= gamma
        grad += ratio
        grad *= _focal_power(m, gamma)
    _apply_alpha(grad, y, alpha, reduction_scale(grad.size, reduction))
    return grad.reshape(shape)


# ----------------------------------------------------------- softmax focal
def _class_alpha(alpha, classes: int, dtype) -> np.ndarray | None:
    a = class_weight(alpha, classes, dtype, name="alpha")
    if a is None:
        return None
    if not (np.isfinite(a).all() and (a >= 0).all()):
        raise ValueError("alpha must hold finite weights >= 0")
    return a


class _FocalRows(NamedTuple):
    """What both softmax-focal twins compute first, one entry per row (sample)."""

    labels: np.ndarray  # class index, 0 where ignored
    valid: np.ndarray  # False where the target is ignore_index
    target_shape: tuple
    weight: np.ndarray  # alpha_y, 1 without alpha, 0 where ignored
    log_p: np.ndarray  # log p_y
    one_minus: np.ndarray  # 1 - p_y
    modulator: np.ndarray  # (1 - p_y)^gamma
    shifted: np.ndarray  # logits minus the row max (M, C)
    lse: np.ndarray  # log-sum-exp of the shifted row


def _softmax_focal_rows(input, target, alpha, gamma, ignore_index) -> _FocalRows:
    _check_gamma(gamma)
    x, rows = logit_rows(input)
    targets = class_targets(target, x.shape, ignore_index, None)
    labels, valid = targets.index, targets.kept()
    a = _class_alpha(alpha, rows.shape[1], rows.dtype)
    weight = valid.astype(rows.dtype) if a is None else np.where(valid, a[labels], 0)
    log_p, shifted, lse = log_prob_of_label(rows, labels)
    one_minus = -np.expm1(log_p)  # 1 - p_y with all its digits when p_y -> 1
    return _FocalRows(labels, valid, per_row_shape(x.shape), weight, log_p, one_minus,
                      one_minus**gamma, shifted, lse)


def _weighted_mean_scale(weight: np.ndarray, valid: np.ndarray, reduction: str):
    """1 / sum of target weights for "mean" (as weighted ``F.cross_entropy``), else 1."""
    if reduction != "mean":
        return 1.0
    if not valid.any():
        return 0.0  # nothing counted: every per-sample gradient is already 0
    with np.errstate(divide="ignore"):
        return 1.0 / weight.sum(dtype=np.float64)  # all weights 0: inf, and 0 * inf = NaN


def softmax_focal_loss(
    input, target, alpha=None, gamma: float = 2.0, ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Multiclass focal loss on logits with class-index targets.

    .. math:: \ell_i = -\alpha_{y_i}\,(1 - p_{i,y_i})^\gamma \log p_{i,y_i},
              \qquad p_i = \mathrm{softmax}(x_i)

    At ``gamma=0`` it is exactly ``F.cross_entropy(input, target,
    weight=alpha, ignore_index=ignore_index, reduction=reduction)``; in
    particular "mean" divides by the sum of the target weights
    :math:`\sum_i \alpha_{y_i}` over non-ignored targets (their number when
    ``alpha`` is None), so an all-ignored batch gives NaN, as in torch.

    Parameters
    ----------
    input : array_like, (N, C), (N, C, d1, ...) or (C,)
        Logits, classes on axis 1 (axis 0 for one unbatched sample).
    target : int array_like, (N,), (N, d1, ...) or ()
        Class indices in ``[0, C)``, or ``ignore_index``.
    alpha : None or array_like (C,)
        Per-class weights >= 0, playing the role of ``weight`` in
        ``F.cross_entropy``. A scalar is refused: under the weighted mean it
        would cancel out (binary alpha-balancing is :func:`sigmoid_focal_loss`'s).
    gamma : float >= 0
    ignore_index : int
        Targets equal to it contribute 0 and are left out of the mean.
    reduction : {"mean", "sum", "none"}
        "none" returns the target's shape, 0 at ignored positions.

    Reference: Lin et al. (2017), "Focal loss for dense object detection",
    with the class weights of ``F.cross_entropy``.
    """
    check_reduction(reduction)
    r = _softmax_focal_rows(input, target, alpha, gamma, ignore_index)
    loss = np.where(r.valid, -r.log_p * r.modulator * r.weight, 0).astype(r.log_p.dtype)
    if reduction == "none":
        return loss.reshape(r.target_shape)
    total = loss.sum(dtype=np.float64)
    if reduction == "sum":
        return np.asarray(total, dtype=loss.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0 / 0 -> NaN, as torch
        return np.asarray(total / r.weight.sum(dtype=np.float64), dtype=loss.dtype)


def softmax_focal_loss_grad(
    input, target, alpha=None, gamma: float = 2.0, ignore_index: int = -100,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`softmax_focal_loss` w.r.t. ``input``.

    With :math:`s = p_{i,y}` and :math:`g = -s \log s / (1 - s) \in [0, 1]`:

    .. math::
        \frac{\partial \ell_i}{\partial x_{ij}}
        = \alpha_{y}\,(1 - s)^\gamma\,(1 + \gamma g)\,(p_{ij} - [j = y])

    At ``gamma=0`` this is cross-entropy's ``p - onehot``. Writing
    :math:`g` (limit 1 as :math:`s \to 1`) rather than
    :math:`(1-s)^{\gamma-1}` keeps it finite for ``gamma < 1``.
    "mean" divides by the summed target weights; an all-ignored batch gives
    zeros and a batch whose targets all have weight 0 gives NaN, as torch's
    cross-entropy does.
    """
    check_reduction(reduction)
    r = _softmax_focal_rows(input, target, alpha, gamma, ignore_index)
    s = np.exp(r.log_p)
    with np.errstate(invalid="ignore"):  # s = 0 with log_p = -inf: g is 0 there
        g = np.divide(-s * r.log_p, r.one_minus, out=np.ones_like(s), where=r.one_minus > 0)
    g[s == 0] = 0
    coef = r.weight * r.modulator * (1 + gamma * g)
    grad = softmax_minus_onehot(r.shifted, r.lse, r.labels, r.one_minus)
    grad *= np.where(r.valid, coef, 0)[:, None]
    with np.errstate(invalid="ignore"):
        grad *= grad.dtype.type(_weighted_mean_scale(r.weight, r.valid, reduction))
    return from_rows(grad, np.shape(input))


# ------------------------------------------------------ generalized CE
def _check_q(q: float) -> None:
    if not (math.isfinite(q) and 0 < q <= 1):
        raise ValueError(f"q must lie in (0, 1], got {q!r}")


def generalized_cross_entropy(input, target, q: float = 0.7, reduction: str = "mean") -> np.ndarray:
    r"""Generalized cross-entropy (the :math:`L_q` loss) on logits.

    .. math:: \ell_i = \frac{1 - p_{i,y_i}^{\,q}}{q}, \qquad p_i = \mathrm{softmax}(x_i)

    A Box-Cox transform of the likelihood: it tends to cross-entropy
    :math:`-\log p_y` as ``q -> 0`` and is the mean absolute error
    :math:`1 - p_y` at ``q = 1``. Bounded by :math:`1/q`, so a confidently
    wrong (possibly mislabelled) example cannot dominate the batch. Computed
    as ``-expm1(q log p_y) / q``, exact for small ``q`` and extreme logits.

    Parameters
    ----------
    input : array_like, (N, C), (N, C, d1, ...) or (C,)
    target : int array_like, (N,), (N, d1, ...) or ()
        Class indices in ``[0, C)``.
    q : float in (0, 1]
    reduction : {"mean", "sum", "none"}

    Reference: Zhang & Sabuncu (2018), "Generalized cross entropy loss for
    training deep neural networks with noisy labels".
    """
    check_reduction(reduction)
    _check_q(q)
    x, rows = logit_rows(input)
    labels = class_targets(target, x.shape, None, None).index
    log_p, _, _ = log_prob_of_label(rows, labels)
    loss = -np.expm1(q * log_p)
    loss /= loss.dtype.type(q)
    return reduce(loss.reshape(per_row_shape(x.shape)), reduction)


def generalized_cross_entropy_grad(
    input, target, q: float = 0.7, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`generalized_cross_entropy`: :math:`p_y^{\,q}\,(p - \mathrm{onehot}(y))`.

    Cross-entropy's gradient scaled by :math:`p_y^q`: examples the model
    finds implausible (small :math:`p_y`) are pushed less.
    """
    check_reduction(reduction)
    _check_q(q)
    x, rows = logit_rows(input)
    labels = class_targets(target, x.shape, None, None).index
    log_p, shifted, lse = log_prob_of_label(rows, labels)
    grad = softmax_minus_onehot(shifted, lse, labels, -np.expm1(log_p))
    grad *= np.exp(q * log_p)[:, None]
    return from_rows(scaled(grad, labels.size, reduction), x.shape)


# ------------------------------------------------- class-balanced weights
def class_balanced_weights(counts, beta: float = 0.999) -> np.ndarray:
    r"""Per-class weights from the "effective number" of examples (Cui et al. 2019).

    .. math:: E_c = \frac{1 - \beta^{n_c}}{1 - \beta}, \qquad
              w_c \propto \frac{1}{E_c} = \frac{1 - \beta}{1 - \beta^{n_c}}

    normalised so that the weights sum to the number of classes that occur
    (the paper's "sum to C" when every count is positive); so equal counts
    always give weights of 1. ``beta=0`` gives equal weights, ``beta -> 1``
    inverse class frequency. Pass the result as ``weight=`` to a
    cross-entropy or as ``alpha=`` to :func:`softmax_focal_loss`.

    Parameters
    ----------
    counts : array_like (C,)
        Number of training examples per class, finite and >= 0 (need not be
        integers). A class with count 0 gets weight 0: it never appears as a
        target, and 0 keeps every weight finite (its :math:`1/E_c` is infinite).
    beta : float in [0, 1)

    Returns
    -------
    ndarray (C,), float64 (float32 for float32 counts). No gradient.

    Reference: Cui, Jia, Lin, Song, Belongie (2019), "Class-balanced loss
    based on effective number of samples".
    """
    if not (np.isfinite(beta) and 0 <= beta < 1):
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    n = as_float(counts, "counts")
    check_ndim(n, "counts", (1,), "(one count per class)")
    if not np.isfinite(n).all() or (n < 0).any():
        raise ValueError("counts must be finite and >= 0")
    present = n > 0
    if not present.any():
        raise ValueError("counts must contain at least one positive count")
    if beta == 0:
        inverse_effective = present.astype(n.dtype)
    else:
        # 1 - beta**n as -expm1(n log beta): keeps its digits when beta is near 1
        effective = -np.expm1(n[present] * np.log(beta)) / (1 - beta)
        inverse_effective = np.zeros_like(n)
        inverse_effective[present] = 1 / effective
    return (inverse_effective * (present.sum() / inverse_effective.sum())).astype(n.dtype)
