"""Surrogate losses: smooth stand-ins for overlap metrics (IoU, Dice, F1).

Hard IoU and F1 count pixels after thresholding, so their gradient is zero
almost everywhere. Replacing the counts by sums of probabilities gives soft
versions that can be trained directly (lesson: the surrogate-metric gap):

* soft intersection  ``I = Σ p·t``,
* soft "sizes"       ``P = Σ p`` and ``T = Σ t``,
* soft union         ``U = P + T − I``.

All three losses take probabilities ``input`` (N, ...) and a target of the
same shape, both in [0, 1], and compute one score per sample over all
non-batch axes; ``reduction`` then averages or sums over the batch. When
``input`` and ``target`` hold exactly 0 and 1 the soft scores equal the hard
ones of :mod:`course.metrics` (up to ``eps``).

Where ``eps`` goes: it is added to both numerator and denominator, so a
sample whose prediction and target are both empty (all zeros) scores 1 and
loses 0, with a finite gradient (``1/eps`` per element, pushing the
prediction towards the empty mask it already is). A larger ``eps`` (1 is the
"smooth" of many tutorials) softens the jump from 0 to almost 1 that an
empty target's loss makes as soon as ``Σ p`` exceeds ``eps``.
segmentation_models_pytorch uses ``eps=1e-7`` too, but differently: as a
clamp on the denominator (with ``smooth=0`` added to both), with counts
summed over the whole batch per class, and the loss of a class absent from
the target set to 0.

Soft targets: with the product intersection ``Σ p·t`` the loss is not
minimised at ``p = t`` when ``t`` is fractional (``p = t = 0.5`` gives a
Dice of 0.5, not 1); segmentation_models_pytorch switched to an L1-based
intersection for that reason (its PR #927). Here the product form is kept,
as in the papers.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float, as_floats, check_positive, reduce, scaled

__all__ = [
    "soft_jaccard_loss", "soft_jaccard_loss_grad",
    "soft_dice_loss", "soft_dice_loss_grad",
    "soft_f1_loss", "soft_f1_loss_grad",
]


def _probabilities(input, target):
    """Validated ``(input, target)`` flattened to (N, M), plus input's shape.

    Integer or boolean masks take the dtype of ``input``, so a float32
    prediction with a uint8 mask stays float32.
    """
    raw_target = np.asarray(target)
    if raw_target.dtype.kind in "biu":
        input = as_float(input, "input")
        target = as_float(raw_target, "target", dtype=input.dtype)
    else:
        input, target = as_floats(input=input, target=target)
    if input.ndim < 1:
        raise ValueError(f"input must be at least 1-D (N, ...), got shape {input.shape}")
    if target.shape != input.shape:
        raise ValueError(
            f"target must have the same shape as input {input.shape}, got {target.shape}"
        )
    for name, array in (("input", input), ("target", target)):
        # written so that NaN fails the check too
        if not np.all((array >= 0) & (array <= 1)):
            raise ValueError(f"{name} must hold probabilities in [0, 1]")
    shape = input.shape
    flat = (shape[0], int(np.prod(shape[1:])))  # not (N, -1): that fails for N = 0
    return input.reshape(flat), target.reshape(flat), shape


def _check_eps(eps: float) -> None:
    check_positive(eps, "eps")


# ------------------------------------------------------------ soft Jaccard
def _jaccard_parts(input, target, eps):
    p, t, shape = _probabilities(input, target)
    e = p.dtype.type(eps)
    intersection = np.sum(p * t, axis=1)
    union = np.sum(p, axis=1) + np.sum(t, axis=1) - intersection
    union += e
    score = (intersection + e) / union
    return p, t, shape, score, union


def soft_jaccard_loss(input, target, eps: float = 1e-7, reduction: str = "mean") -> np.ndarray:
    r"""Soft Jaccard (IoU) loss on probabilities.

    For sample ``i``, with sums over its non-batch axes,

    .. math::
        J_i = \frac{\sum p t + \varepsilon}{\sum p + \sum t - \sum p t + \varepsilon},
        \qquad \ell_i = 1 - J_i .

    Parameters
    ----------
    input : array_like, shape (N, ...)
        Predicted probabilities in [0, 1].
    target : array_like, same shape
        Target mask (or soft labels) in [0, 1].
    eps : float, > 0
        Added to numerator and denominator: empty prediction and target give
        ``J = 1``, loss 0, and a finite gradient.
    reduction : {"mean", "sum", "none"}
        Over the batch: "none" returns the N per-sample losses.

    References
    ----------
    Rahman & Wang (2016), "Optimizing intersection-over-union in deep neural
    networks for image segmentation", ISVC.
    """
    _check_eps(eps)
    *_, score, _ = _jaccard_parts(input, target, eps)
    return reduce(1 - score, reduction)


def soft_jaccard_loss_grad(
    input, target, eps: float = 1e-7, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`soft_jaccard_loss` w.r.t. ``input``.

    With :math:`\partial I/\partial p_k = t_k` and :math:`\partial U/\partial p_k = 1 - t_k`
    the quotient rule simplifies to

    .. math::
        \frac{\partial \ell_i}{\partial p_k}
        = \frac{J_i - t_k\,(1 + J_i)}{U_i + \varepsilon},

    divided by N for "mean". Written with ``J`` rather than ``(U + eps)²`` so
    that a tiny ``eps`` cannot overflow the square.
    """
    _check_eps(eps)
    p, t, shape, score, union = _jaccard_parts(input, target, eps)
    j = score[:, None]
    grad = (j - t * (1 + j)) / union[:, None]
    return scaled(grad.reshape(shape), shape[0], reduction)


# --------------------------------------------------------------- soft Dice
def _dice_parts(input, target, eps):
    p, t, shape = _probabilities(input, target)
    e = p.dtype.type(eps)
    intersection = np.sum(p * t, axis=1)
    total = np.sum(p, axis=1) + np.sum(t, axis=1) + e
    score = (2 * intersection + e) / total
    return p, t, shape, score, total


def soft_dice_loss(input, target, eps: float = 1e-7, reduction: str = "mean") -> np.ndarray:
    r"""Soft Dice loss on probabilities.

    For sample ``i``, with sums over its non-batch axes,

    .. math::
        D_i = \frac{2 \sum p t + \varepsilon}{\sum p + \sum t + \varepsilon},
        \qquad \ell_i = 1 - D_i .

    Dice and IoU are monotone in each other (``D = 2J / (1 + J)`` without
    eps), so they rank hard predictions alike, but their gradients weigh
    errors differently. Milletari et al. square ``p`` and ``t`` in the
    denominator; the plain sums used here are the form of
    segmentation_models_pytorch and Keras.

    Parameters
    ----------
    input : array_like, shape (N, ...)
        Predicted probabilities in [0, 1].
    target : array_like, same shape
        Target mask (or soft labels) in [0, 1].
    eps : float, > 0
        Added to numerator and denominator (empty masks: loss 0).
    reduction : {"mean", "sum", "none"}

    References
    ----------
    Milletari, Navab & Ahmadi (2016), "V-Net: Fully convolutional neural
    networks for volumetric medical image segmentation", 3DV.
    """
    _check_eps(eps)
    *_, score, _ = _dice_parts(input, target, eps)
    return reduce(1 - score, reduction)


def soft_dice_loss_grad(input, target, eps: float = 1e-7, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`soft_dice_loss` w.r.t. ``input``.

    With :math:`S_i = \sum p + \sum t + \varepsilon`,

    .. math:: \frac{\partial \ell_i}{\partial p_k} = \frac{D_i - 2 t_k}{S_i},

    divided by N for "mean".
    """
    _check_eps(eps)
    p, t, shape, score, total = _dice_parts(input, target, eps)
    grad = (score[:, None] - 2 * t) / total[:, None]
    return scaled(grad.reshape(shape), shape[0], reduction)


# ----------------------------------------------------------------- soft F1
def _f1_parts(input, target, eps):
    p, t, shape = _probabilities(input, target)
    e = p.dtype.type(eps)
    tp = np.sum(p * t, axis=1)
    fp = np.sum(p * (1 - t), axis=1)
    fn = np.sum((1 - p) * t, axis=1)
    denominator = 2 * tp + fp + fn + e
    score = (2 * tp + e) / denominator
    return p, t, shape, score, denominator


def soft_f1_loss(input, target, eps: float = 1e-7, reduction: str = "mean") -> np.ndarray:
    r"""Soft F1 loss: F1 computed from soft confusion counts.

    For sample ``i``, with sums over its non-batch axes,

    .. math::
        \mathrm{TP} = \sum p t,\quad \mathrm{FP} = \sum p (1 - t),\quad
        \mathrm{FN} = \sum (1 - p) t,

    .. math::
        F_i = \frac{2\,\mathrm{TP} + \varepsilon}
                   {2\,\mathrm{TP} + \mathrm{FP} + \mathrm{FN} + \varepsilon},
        \qquad \ell_i = 1 - F_i .

    Since ``2TP + FP + FN = Σp + Σt``, this is *the same function* as
    :func:`soft_dice_loss` (F1 and Dice coincide for binary labels); it is
    kept under its own name because classification texts reach it from the
    confusion matrix, and the two may differ in the last bits of rounding.

    The "macro soft-F1" of multi-label classification counts TP, FP, FN per
    *class over the batch* and averages over classes; with ``input`` of shape
    (N, C) that is ``soft_f1_loss(input.T, target.T)``.

    Parameters
    ----------
    input : array_like, shape (N, ...)
        Predicted probabilities in [0, 1].
    target : array_like, same shape
        Target labels in [0, 1].
    eps : float, > 0
        Added to numerator and denominator (no positives anywhere: loss 0).
    reduction : {"mean", "sum", "none"}

    References
    ----------
    Van Rijsbergen (1979), "Information Retrieval", ch. 7 (the F-measure);
    Milletari et al. (2016) for its soft, trainable form.
    """
    _check_eps(eps)
    *_, score, _ = _f1_parts(input, target, eps)
    return reduce(1 - score, reduction)


def soft_f1_loss_grad(input, target, eps: float = 1e-7, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`soft_f1_loss` w.r.t. ``input``.

    :math:`\partial(2\mathrm{TP})/\partial p_k = 2t_k` and the denominator
    :math:`Q = 2\mathrm{TP}+\mathrm{FP}+\mathrm{FN}+\varepsilon` has
    :math:`\partial Q/\partial p_k = 2t_k + (1 - t_k) - t_k = 1`, so

    .. math:: \frac{\partial \ell_i}{\partial p_k} = \frac{F_i - 2 t_k}{Q_i},

    as for Dice; divided by N for "mean".
    """
    _check_eps(eps)
    p, t, shape, score, denominator = _f1_parts(input, target, eps)
    grad = (score[:, None] - 2 * t) / denominator[:, None]
    return scaled(grad.reshape(shape), shape[0], reduction)
