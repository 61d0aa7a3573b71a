"""Structured losses: sequences (CTC), boxes (IoU family), and embeddings (metric learning).

Each loss is a pair ``name(...)`` and ``name_grad(...)`` with PyTorch's (or
torchvision's) names and semantics. The sequence and box losses live in the
private modules :mod:`._ctc` and :mod:`._boxes` and are re-exported here;
this module holds the embedding losses, which compare vectors rather than
predict labels:

* ``margin_ranking_loss``: is ``x1`` ranked above ``x2``, by a margin?
* ``cosine_embedding_loss``: are two embeddings pointing the same way?
* ``triplet_margin_loss``: is the anchor closer to the positive than to the
  negative, by a margin?
* ``contrastive_loss``: pull similar pairs together, push dissimilar ones
  at least a margin apart (Hadsell, Chopra, LeCun 2006);
* ``info_nce_loss``: pick the true partner out of a batch (InfoNCE).

Gradients are taken with respect to every embedding argument and returned
as a tuple in the argument order. At a hinge's kink (exactly at the margin)
the hinge counts as active and passes the gradient, as torch's
``clamp_min`` does. An empty batch gives torch's result: "mean" NaN, "sum" 0.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float, as_floats, check_positive, reduce, scaled
from ._ctc import ctc_loss, ctc_loss_grad
from .structured_boxes import (
    box_iou,
    detection_loss,
    detection_loss_grad,
    distance_box_iou_loss,
    distance_box_iou_loss_grad,
    generalized_box_iou_loss,
    generalized_box_iou_loss_grad,
)

__all__ = [
    "ctc_loss", "ctc_loss_grad",
    "box_iou",
    "generalized_box_iou_loss", "generalized_box_iou_loss_grad",
    "distance_box_iou_loss", "distance_box_iou_loss_grad",
    "detection_loss", "detection_loss_grad",
    "margin_ranking_loss", "margin_ranking_loss_grad",
    "cosine_embedding_loss", "cosine_embedding_loss_grad",
    "triplet_margin_loss", "triplet_margin_loss_grad",
    "contrastive_loss", "contrastive_loss_grad",
    "info_nce_loss", "info_nce_loss_grad",
]

_NORM_EPS = 1e-12  # torch's guard inside cosine norms (cosine_embedding_loss, F.normalize)
_DISTANCE_EPS = 1e-6  # F.pairwise_distance's default eps, added to the difference


# ------------------------------------------------------------------ helpers
def _embeddings(names, arrays, min_ndim=1):
    """Same-shape float arrays (common dtype) with at least ``min_ndim`` dimensions."""
    arrays = as_floats(**dict(zip(names, arrays, strict=True)))
    first = arrays[0]
    if first.ndim < min_ndim:
        raise ValueError(f"{names[0]} must have at least {min_ndim} dimension(s) (..., D), "
                         f"got shape {first.shape}")
    for name, a in zip(names[1:], arrays[1:], strict=True):
        if a.shape != first.shape:
            raise ValueError(f"{name} must have the same shape as {names[0]} {first.shape}, "
                             f"got {a.shape}")
    return arrays


def _labels(target, name, shape, dtype):
    """``target`` as ``dtype`` with exactly ``shape`` (one label per pair)."""
    target = as_float(target, name, dtype=dtype)
    if target.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, one label per pair, got {target.shape}")
    return target


def _pairwise_distance(diff, p, eps=_DISTANCE_EPS, with_grad=True):
    """``||diff + eps||_p`` over the last axis (torch's pairwise_distance) and its gradient.

    The gradient is that of torch's norm: 0 at the zero vector, and for
    p = inf shared equally by the entries that attain the maximum.
    """
    d = diff + diff.dtype.type(eps)
    if p == 2:
        dist = np.sqrt(np.einsum("...i,...i->...", d, d))
        if not with_grad:
            return dist, None
        with np.errstate(invalid="ignore", divide="ignore"):
            grad = np.where(dist[..., None] > 0, d / dist[..., None], 0)
        return dist, grad.astype(d.dtype, copy=False)
    a = np.abs(d)
    if p == np.inf:
        dist = a.max(axis=-1, initial=0)
        if not with_grad:
            return dist, None
        is_max = a == dist[..., None]
        grad = np.sign(d) * is_max / np.maximum(is_max.sum(axis=-1, keepdims=True), 1)
        return dist, grad.astype(d.dtype, copy=False)
    if p == 1:
        return a.sum(axis=-1), np.sign(d) if with_grad else None
    dist = (a ** p).sum(axis=-1) ** (1 / p)
    if not with_grad:
        return dist, None
    with np.errstate(invalid="ignore", divide="ignore"):
        grad = np.sign(d) * (a / dist[..., None]) ** (p - 1)
    grad = np.where(dist[..., None] > 0, grad, 0)
    return dist, grad.astype(d.dtype, copy=False)


# -------------------------------------------------------- margin ranking
def _ranking(input1, input2, target, margin):
    input1, input2 = _embeddings(("input1", "input2"), (input1, input2), min_ndim=0)
    target = _labels(target, "target", input1.shape, input1.dtype)
    return input1, input2, target, -target * (input1 - input2) + margin


def margin_ranking_loss(input1, input2, target, margin: float = 0.0,
                        reduction: str = "mean") -> np.ndarray:
    r"""Margin ranking loss, ``F.margin_ranking_loss``.

    .. math:: \ell_i = \max(0,\; -y_i (x^{(1)}_i - x^{(2)}_i) + m)

    ``y = 1`` asks for ``x1 > x2 + m``, ``y = -1`` for ``x2 > x1 + m``. Any
    real ``y`` is accepted, as in torch (it just scales the hinge).

    Parameters
    ----------
    input1, input2, target : array_like, same shape (no broadcasting)
    margin : float
    reduction : {"mean", "sum", "none"}; the mean of an empty batch is NaN.
    """
    *_, hinge = _ranking(input1, input2, target, margin)
    return reduce(np.maximum(hinge, 0), reduction)


def margin_ranking_loss_grad(input1, input2, target, margin: float = 0.0,
                             reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`margin_ranking_loss`: ``(-y, y)`` where the hinge is active (>= 0)."""
    *_, target, hinge = _ranking(input1, input2, target, margin)
    g1 = np.where(hinge >= 0, -target, 0).astype(target.dtype)
    g1 = scaled(g1, g1.size, reduction)
    return g1, -g1


# -------------------------------------------------------- cosine embedding
def _cosine(input1, input2, target):
    input1, input2 = _embeddings(("input1", "input2"), (input1, input2))
    if input1.ndim > 2:
        raise ValueError(f"input1 must be (N, D) or (D,), got shape {input1.shape}")
    target = _labels(target, "target", input1.shape[:-1], input1.dtype)
    product = np.einsum("...i,...i->...", input1, input2)
    square1 = np.einsum("...i,...i->...", input1, input1) + _NORM_EPS
    square2 = np.einsum("...i,...i->...", input2, input2) + _NORM_EPS
    denom = np.sqrt(square1 * square2)
    return input1, input2, target, product / denom, square1, square2, denom


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0,
                          reduction: str = "mean") -> np.ndarray:
    r"""Cosine embedding loss, ``F.cosine_embedding_loss``.

    .. math::
        \cos_i = \frac{x_i \cdot z_i}{\sqrt{(\|x_i\|^2 + 10^{-12})(\|z_i\|^2 + 10^{-12})}},\qquad
        \ell_i = \begin{cases} 1 - \cos_i & y_i = 1 \\
                 \max(0, \cos_i - m) & y_i = -1 \\ 0 & \text{otherwise} \end{cases}

    The ``1e-12`` inside the norms is torch's: a zero vector has cosine 0
    instead of 0/0.

    Parameters
    ----------
    input1, input2 : array_like, (N, D) or (D,)
    target : array_like, (N,) or ()
        1 for similar pairs, -1 for dissimilar; other values contribute 0.
    margin : float
    reduction : {"mean", "sum", "none"}
    """
    _, _, target, cos, *_ = _cosine(input1, input2, target)
    loss = (np.where(target == 1, 1 - cos, 0)
            + np.where(target == -1, np.maximum(cos - margin, 0), 0))
    return reduce(loss.astype(cos.dtype, copy=False), reduction)


def cosine_embedding_loss_grad(input1, input2, target, margin: float = 0.0,
                               reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`cosine_embedding_loss` w.r.t. ``(input1, input2)``.

    With ``cos = x.z / sqrt(s_x s_z)``, ``s = ||.||^2 + 1e-12``:
    ``d cos/dx = z / sqrt(s_x s_z) - cos x / s_x`` (and symmetrically), times
    -1 where ``y = 1`` and +1 where ``y = -1`` and ``cos >= margin`` (active at the tie).
    """
    input1, input2, target, cos, square1, square2, denom = _cosine(input1, input2, target)
    d_cos = np.where(target == 1, -1.0, 0.0) + np.where((target == -1) & (cos >= margin), 1.0, 0.0)
    d_cos = scaled(d_cos.astype(cos.dtype), cos.size, reduction)[..., None]
    g1 = d_cos * (input2 / denom[..., None] - (cos / square1)[..., None] * input1)
    g2 = d_cos * (input1 / denom[..., None] - (cos / square2)[..., None] * input2)
    return g1, g2


# --------------------------------------------------------------- triplet
def _triplet(anchor, positive, negative, margin, p, eps, swap, with_grad):
    check_positive(margin, "margin")
    if not (p == np.inf or (np.isfinite(p) and p >= 1)):
        raise ValueError(f"p must be >= 1 (a norm) or inf, got {p!r}")
    check_positive(eps, "eps", strict=False)
    anchor, positive, negative = _embeddings(("anchor", "positive", "negative"),
                                             (anchor, positive, negative))
    dist_pos, grad_pos = _pairwise_distance(anchor - positive, p, eps, with_grad)
    dist_neg, grad_neg = _pairwise_distance(anchor - negative, p, eps, with_grad)
    dist_swap = grad_swap = None
    if swap:
        dist_swap, grad_swap = _pairwise_distance(positive - negative, p, eps, with_grad)
    return anchor, dist_pos, grad_pos, dist_neg, grad_neg, dist_swap, grad_swap


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False,
                        reduction: str = "mean") -> np.ndarray:
    r"""Triplet margin loss, ``F.triplet_margin_loss``.

    .. math::
        \ell_i = \max\big(0,\; m + d(a_i, p_i) - d(a_i, n_i)\big),\qquad
        d(u, v) = \|u - v + \epsilon\|_p

    ``eps`` is added to the *difference*, as torch's ``pairwise_distance``
    does, so ``d(a, a) = eps * D^{1/p}`` and the gradient of the distance is
    defined at ``a = p``. ``swap=True`` uses ``min(d(a, n), d(p, n))`` as the
    negative distance (Balntas et al. 2016); a tie splits the gradient, as
    torch's ``min`` does.

    Parameters
    ----------
    anchor, positive, negative : array_like, (N, D) or (D,), same shape
    margin : float > 0
    p : float >= 1 or inf
        Norm degree (torch also computes p < 1, which is not a distance).
    eps : float
    swap : bool
    reduction : {"mean", "sum", "none"}

    References
    ----------
    Schroff, Kalenichenko, Philbin (2015), "FaceNet", CVPR;
    Balntas, Riba, Ponsa, Mikolajczyk (2016), "Learning local feature
    descriptors with triplets and shallow convolutional neural networks", BMVC.
    """
    _, dist_pos, _, dist_neg, _, dist_swap, _ = _triplet(
        anchor, positive, negative, margin, p, eps, swap, with_grad=False)
    if swap:
        dist_neg = np.minimum(dist_neg, dist_swap)
    return reduce(np.maximum(margin + dist_pos - dist_neg, 0), reduction)


def triplet_margin_loss_grad(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                             eps: float = 1e-6, swap: bool = False, reduction: str = "mean"):
    r"""Gradients of :func:`triplet_margin_loss`: ``(d_anchor, d_positive, d_negative)``.

    Where the hinge is active (``>= 0``): ``d_anchor = g(a - p) - g(a - n)``,
    ``d_positive = -g(a - p)``, ``d_negative = g(a - n)`` with ``g`` the
    gradient of the p-norm (``v / ||v||`` for p = 2, 0 at 0); with ``swap``
    the negative distance's share goes to whichever of ``d(a, n)``,
    ``d(p, n)`` is smaller.
    """
    anchor, dist_pos, grad_pos, dist_neg, grad_neg, dist_swap, grad_swap = _triplet(
        anchor, positive, negative, margin, p, eps, swap, with_grad=True)
    w_neg = np.ones_like(dist_neg)
    if swap:
        w_neg = np.where(dist_neg < dist_swap, 1.0, np.where(dist_neg == dist_swap, 0.5, 0.0))
        dist_neg = np.minimum(dist_neg, dist_swap)
    active = (margin + dist_pos - dist_neg >= 0).astype(anchor.dtype)
    active = scaled(active, active.size, reduction)[..., None]
    w_neg = w_neg.astype(anchor.dtype)[..., None]
    d_anchor = active * (grad_pos - w_neg * grad_neg)
    d_positive = -active * grad_pos
    d_negative = active * w_neg * grad_neg
    if swap:
        w_swap = 1 - w_neg
        d_positive -= active * w_swap * grad_swap
        d_negative += active * w_swap * grad_swap
    return d_anchor, d_positive, d_negative


# ----------------------------------------------------------- contrastive
def _contrastive(x1, x2, same, with_grad=True):
    x1, x2 = _embeddings(("x1", "x2"), (x1, x2))
    same = _labels(same, "same", x1.shape[:-1], x1.dtype)
    if np.any((same < 0) | (same > 1)):
        raise ValueError("same must lie in [0, 1] (1 for a similar pair, 0 for a dissimilar one)")
    dist, grad_dist = _pairwise_distance(x1 - x2, 2, with_grad=with_grad)
    return x1, same, dist, grad_dist


def contrastive_loss(x1, x2, same, margin: float = 1.0, reduction: str = "mean") -> np.ndarray:
    r"""Contrastive loss of Hadsell, Chopra and LeCun (2006).

    .. math::
        \ell_i = \tfrac12\big(y_i\, d_i^2 + (1 - y_i)\max(0, m - d_i)^2\big),\qquad
        d_i = \|x^{(1)}_i - x^{(2)}_i + \epsilon\|_2

    ``y = same = 1`` for a similar pair (pulled together), 0 for a dissimilar
    one (pushed until at least ``m`` apart, then left alone). Note the paper
    writes ``Y = 0`` for similar; we name the argument ``same`` so that 1
    reads as "same". ``eps = 1e-6`` is added to the difference exactly as in
    ``F.pairwise_distance``, so ``d`` is never 0 for identical inputs and its
    gradient exists there (it points along (1, ..., 1)); the squared term is
    smooth anyway.

    Parameters
    ----------
    x1, x2 : array_like, (N, D) or (D,)
    same : array_like, (N,) or ()
        1 (similar) or 0 (dissimilar); soft labels in [0, 1] interpolate.
    margin : float >= 0
    reduction : {"mean", "sum", "none"}

    References
    ----------
    Hadsell, Chopra, LeCun (2006), "Dimensionality reduction by learning an
    invariant mapping", CVPR.
    """
    check_positive(margin, "margin", strict=False)
    _, same, dist, _ = _contrastive(x1, x2, same, with_grad=False)
    gap = np.maximum(margin - dist, 0)
    loss = 0.5 * (same * dist * dist + (1 - same) * gap * gap)
    return reduce(loss, reduction)


def contrastive_loss_grad(x1, x2, same, margin: float = 1.0,
                          reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`contrastive_loss` w.r.t. ``(x1, x2)``.

    ``dl/dd = y d - (1 - y) max(0, m - d)`` and ``dd/dx1 = (x1 - x2 + eps) / d
    = -dd/dx2``.
    """
    check_positive(margin, "margin", strict=False)
    _, same, dist, grad_dist = _contrastive(x1, x2, same)
    d_dist = same * dist - (1 - same) * np.maximum(margin - dist, 0)
    d_dist = scaled(d_dist, d_dist.size, reduction)
    g1 = d_dist[..., None] * grad_dist
    return g1, -g1


# -------------------------------------------------------------- InfoNCE
def _info_nce(z1, z2, temperature):
    """Unit vectors, norms, e^(s_ij - max_j s_ij), its row sums, and the per-row losses."""
    check_positive(temperature, "temperature")
    z1, z2 = _embeddings(("z1", "z2"), (z1, z2), min_ndim=2)
    if z1.ndim != 2:
        raise ValueError(f"z1 must be (N, D), got shape {z1.shape}")
    norm1 = np.sqrt(np.einsum("ij,ij->i", z1, z1))[:, None]
    norm2 = np.sqrt(np.einsum("ij,ij->i", z2, z2))[:, None]
    # F.normalize: divide by max(||z||, 1e-12)
    u = z1 / np.maximum(norm1, _NORM_EPS)
    v = z2 / np.maximum(norm2, _NORM_EPS)
    # A softmax with the row maximum shifted out, written in place: at N = 1024
    # the (N, N) passes, not the matmul, are what a generic log_softmax costs.
    shifted = (u / u.dtype.type(temperature)) @ v.T
    if shifted.size == 0:  # an empty batch (its mean is then NaN)
        nothing = np.zeros(0, dtype=shifted.dtype)
        return u, v, norm1, norm2, shifted, nothing, nothing
    shifted -= shifted.max(axis=1, keepdims=True)
    positive = shifted.diagonal().copy()
    exp_shifted = np.exp(shifted, out=shifted)
    total = exp_shifted.sum(axis=1)
    loss = np.log(total) - positive  # logsumexp_j s_ij - s_ii, both shifted alike
    return u, v, norm1, norm2, exp_shifted, total, loss


def info_nce_loss(z1, z2, temperature: float = 0.1, reduction: str = "mean") -> np.ndarray:
    r"""InfoNCE loss over a batch of positive pairs (one direction).

    .. math::
        s_{ij} = \frac{\cos(z^{(1)}_i, z^{(2)}_j)}{\tau},\qquad
        \ell_i = -\log \frac{e^{s_{ii}}}{\sum_j e^{s_{ij}}}

    Row ``i`` of ``z1`` must pick its partner ``z2[i]`` out of all rows of
    ``z2``; the other rows are its negatives. This is cross-entropy over
    cosine similarities with the labels ``0..N-1``. Vectors are normalised as
    ``F.normalize`` does (``z / max(||z||, 1e-12)``). SimCLR's NT-Xent
    averages this loss over both directions and also uses same-view
    negatives; CLIP averages the two directions.

    Parameters
    ----------
    z1, z2 : array_like, (N, D), same shape
    temperature : float > 0
        Smaller values sharpen the softmax and weight hard negatives more.
    reduction : {"mean", "sum", "none"}

    References
    ----------
    van den Oord, Li, Vinyals (2018), "Representation learning with
    contrastive predictive coding", arXiv:1807.03748; Chen et al. (2020),
    "A simple framework for contrastive learning of visual representations", ICML.
    """
    *_, loss = _info_nce(z1, z2, temperature)
    return reduce(loss, reduction)


def info_nce_loss_grad(z1, z2, temperature: float = 0.1,
                       reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`info_nce_loss` w.r.t. ``(z1, z2)``.

    With ``G = softmax(S) - I`` (scaled by the reduction):
    ``dL/du = G v / tau``, ``dL/dv = G^T u / tau``, then through the
    normalisation: ``dz = (du - u (u . du)) / ||z||`` (``du / 1e-12`` for a
    row shorter than ``1e-12``, where the norm is clamped).
    """
    u, v, norm1, norm2, g, total, _ = _info_nce(z1, z2, temperature)
    g /= total[:, None]  # softmax(S)
    g[np.diag_indices_from(g)] -= 1
    g = scaled(g, g.shape[0], reduction)
    g /= g.dtype.type(temperature)
    return _through_normalize(g @ v, u, norm1), _through_normalize(g.T @ u, v, norm2)


def _through_normalize(d_unit, unit, norm):
    """Back-propagate through ``z / max(||z||, eps)``."""
    radial = np.einsum("ij,ij->i", unit, d_unit)[:, None]
    clamped = norm < _NORM_EPS
    return np.where(clamped, d_unit / _NORM_EPS,
                    (d_unit - unit * radial) / np.maximum(norm, _NORM_EPS)).astype(unit.dtype)
