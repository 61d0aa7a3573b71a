"""Bounding-box losses: IoU, GIoU, DIoU, and a matched-pair detection loss.

Part of the structured family: :mod:`course.losses.structured` re-exports every name.
The detection loss is built from the losses it is made of: cross-entropy, smooth L1, GIoU.

Boxes are ``(x1, y1, x2, y2)`` corners. torchvision documents
``0 <= x1 < x2`` and ``0 <= y1 < y2`` but does not check it and computes its
formulas on any numbers; we do the same, so a degenerate or inverted box gets
torchvision's value (an inverted box has a negative "area"). Nothing here is
undefined for finite input and ``eps > 0``, so nothing raises on values;
shapes are checked.

The gradients are written out by hand along torchvision's own computation.
Where that computation takes ``max(a, b)`` or ``min(a, b)`` of two equal
numbers, torch's autograd splits the gradient half and half between them;
we do the same, so identical boxes get torch's gradient (zero).
"""

from __future__ import annotations

import numpy as np

from ._common import (
    as_floats,
    as_index,
    check_ndim,
    check_positive,
    check_reduction,
    scaled,
)
from ._common import reduce as _reduce
from .classification import cross_entropy, cross_entropy_grad
from .regression import smooth_l1_loss, smooth_l1_loss_grad

__all__ = [
    "box_iou",
    "generalized_box_iou_loss", "generalized_box_iou_loss_grad",
    "distance_box_iou_loss", "distance_box_iou_loss_grad",
    "detection_loss", "detection_loss_grad",
]


def _boxes(boxes1, boxes2):
    """Validated pair of box arrays of one float dtype, same shape (..., 4)."""
    boxes1, boxes2 = as_floats(boxes1=boxes1, boxes2=boxes2)
    if boxes1.ndim == 0 or boxes1.shape[-1] != 4:
        raise ValueError(f"boxes1 must have shape (N, 4) (or (4,)), got {boxes1.shape}")
    if boxes2.shape != boxes1.shape:
        raise ValueError(f"boxes2 must have the same shape as boxes1 {boxes1.shape}, "
                         f"got {boxes2.shape}")
    return boxes1, boxes2


def _box_reduce(loss, reduction):
    """torchvision's reductions: like torch's, except the mean of no boxes is 0."""
    check_reduction(reduction)
    if reduction == "mean" and loss.size == 0:
        return np.zeros((), dtype=loss.dtype)
    return _reduce(loss, reduction)


def _pick_max(a, b):
    """d max(a, b) / da with torch's tie rule: 1, 0, or 1/2 when a == b."""
    return np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0))


def _pick_min(a, b):
    """d min(a, b) / da with torch's tie rule."""
    return np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))


# ------------------------------------------------------------------- IoU
def box_iou(boxes1, boxes2) -> np.ndarray:
    r"""Pairwise intersection over union, ``torchvision.ops.box_iou``.

    .. math:: \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}

    Parameters
    ----------
    boxes1 : array_like, (N, 4)
    boxes2 : array_like, (M, 4)

    Returns
    -------
    ndarray, (N, M)
        No ``eps``, as in torchvision: two zero-area boxes give 0/0 = NaN.
    """
    boxes1, boxes2 = as_floats(boxes1=boxes1, boxes2=boxes2)
    for name, b in (("boxes1", boxes1), ("boxes2", boxes2)):
        if b.ndim != 2 or b.shape[1] != 4:
            raise ValueError(f"{name} must have shape (N, 4), got {b.shape}")
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lower = np.maximum(boxes1[:, None, :2], boxes2[None, :, :2])
    upper = np.minimum(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = np.clip(upper - lower, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return inter / union


# -------------------------------------------------- shared forward pieces
class _Pair:
    """Everything torchvision's GIoU/DIoU compute for matched pairs, kept for the backward pass."""

    def __init__(self, boxes1, boxes2, eps):
        self.b1, self.b2, self.eps = boxes1, boxes2, eps
        x1, y1, x2, y2 = np.moveaxis(boxes1, -1, 0)
        g1, h1, g2, h2 = np.moveaxis(boxes2, -1, 0)
        self.w, self.h = x2 - x1, y2 - y1
        # intersection: counted only where both sides are strictly positive
        self.ix1, self.iy1 = np.maximum(x1, g1), np.maximum(y1, h1)
        self.ix2, self.iy2 = np.minimum(x2, g2), np.minimum(y2, h2)
        self.mask = (self.iy2 > self.iy1) & (self.ix2 > self.ix1)
        self.iw = np.where(self.mask, self.ix2 - self.ix1, 0)
        self.ih = np.where(self.mask, self.iy2 - self.iy1, 0)
        self.inter = self.iw * self.ih
        self.union = self.w * self.h + (g2 - g1) * (h2 - h1) - self.inter
        self.iou = self.inter / (self.union + eps)
        # smallest enclosing box
        self.cw = np.maximum(x2, g2) - np.minimum(x1, g1)
        self.ch = np.maximum(y2, h2) - np.minimum(y1, h1)

    def backward(self, d_inter, d_union, d_cw, d_ch):
        """Gradient w.r.t. boxes1 from the gradients of the intermediate quantities."""
        x1, y1, x2, y2 = np.moveaxis(self.b1, -1, 0)
        g1, h1, g2, h2 = np.moveaxis(self.b2, -1, 0)
        d_inter = d_inter - d_union  # union = area1 + area2 - inter
        d_iw = np.where(self.mask, d_inter * self.ih, 0)
        d_ih = np.where(self.mask, d_inter * self.iw, 0)
        grad = np.empty_like(self.b1)
        grad[..., 0] = (-d_iw * _pick_max(x1, g1) - d_union * self.h
                        - d_cw * _pick_min(x1, g1))
        grad[..., 1] = (-d_ih * _pick_max(y1, h1) - d_union * self.w
                        - d_ch * _pick_min(y1, h1))
        grad[..., 2] = (d_iw * _pick_min(x2, g2) + d_union * self.h
                        + d_cw * _pick_max(x2, g2))
        grad[..., 3] = (d_ih * _pick_min(y2, h2) + d_union * self.w
                        + d_ch * _pick_max(y2, h2))
        return grad


def _pair(boxes1, boxes2, eps):
    check_positive(eps, "eps", strict=False)
    boxes1, boxes2 = _boxes(boxes1, boxes2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _Pair(boxes1, boxes2, eps)


# ------------------------------------------------------------------ GIoU
def _giou_parts(pair):
    area_c = pair.cw * pair.ch
    return area_c, 1 - (pair.iou - (area_c - pair.union) / (area_c + pair.eps))


def generalized_box_iou_loss(boxes1, boxes2, reduction: str = "none",
                             eps: float = 1e-7) -> np.ndarray:
    r"""Generalized IoU loss, ``torchvision.ops.generalized_box_iou_loss``.

    For matched boxes ``A`` (prediction) and ``B`` (target), with ``E`` the
    smallest box enclosing both (Rezatofighi et al. 2019 call it ``C``; the course
    writes ``E``), ``I`` the intersection and ``U`` the union:

    .. math::
        \ell = 1 - \Big(\frac{I}{U + \epsilon} - \frac{|E| - U}{|E| + \epsilon}\Big)

    In ``[0, 2)`` for proper boxes: 0 for identical boxes, 1 for touching
    ones, approaching 2 as disjoint boxes drift apart, so it still has a
    gradient where plain IoU is flat at 0.

    Parameters
    ----------
    boxes1, boxes2 : array_like, (N, 4) or (4,), same shape
        ``(x1, y1, x2, y2)``. Integer boxes become float64 (torchvision
        makes them float32).
    reduction : {"none", "mean", "sum"}
        Default "none", as in torchvision. The mean of no boxes is 0.
    eps : float
        Added to the denominators.

    Notes
    -----
    Inverted boxes (``x2 < x1``) are not rejected, because torchvision
    computes on them too: a prediction that is its target mirrored,
    ``(1, 0, 0, 1)`` against ``(0, 0, 1, 1)``, has "area" -1, union 0, and
    loss 2.0 here as there (DIoU: 1.0, with gradient 0).

    References
    ----------
    Rezatofighi et al. (2019), "Generalized intersection over union: a metric
    and a loss for bounding box regression", CVPR.
    """
    pair = _pair(boxes1, boxes2, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        _, loss = _giou_parts(pair)
    return _box_reduce(loss, reduction)


def generalized_box_iou_loss_grad(boxes1, boxes2, reduction: str = "none",
                                  eps: float = 1e-7) -> np.ndarray:
    r"""Gradient of :func:`generalized_box_iou_loss` w.r.t. ``boxes1``.

    With ``loss = 1 - I/(U+eps) + (|E| - U)/(|E| + eps)``:
    ``dI = -1/(U+eps)``, ``dU = I/(U+eps)^2 - 1/(|E|+eps)``,
    ``d|E| = (U+eps)/(|E|+eps)^2``, then through the corners.
    """
    pair = _pair(boxes1, boxes2, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        area_c, _ = _giou_parts(pair)
        u, c = pair.union + eps, area_c + eps
        d_area_c = u / (c * c)
        grad = pair.backward(-1 / u, pair.inter / (u * u) - 1 / c,
                             d_area_c * pair.ch, d_area_c * pair.cw)
    return scaled(grad, grad[..., 0].size, reduction)


# ------------------------------------------------------------------ DIoU
def _diou_parts(pair):
    x1, y1, x2, y2 = np.moveaxis(pair.b1, -1, 0)
    g1, h1, g2, h2 = np.moveaxis(pair.b2, -1, 0)
    dx = (x2 + x1) / 2 - (g1 + g2) / 2
    dy = (y2 + y1) / 2 - (h1 + h2) / 2
    centres = dx * dx + dy * dy
    diagonal = pair.cw * pair.cw + pair.ch * pair.ch + pair.eps
    return dx, dy, centres, diagonal, 1 - pair.iou + centres / diagonal


def distance_box_iou_loss(boxes1, boxes2, reduction: str = "none",
                          eps: float = 1e-7) -> np.ndarray:
    r"""Distance IoU loss, ``torchvision.ops.distance_box_iou_loss``.

    .. math::
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{\rho^2}{c^2 + \epsilon}

    where ``rho`` is the distance between the two boxes' centres and ``c``
    the diagonal of the smallest enclosing box. The centre term pulls
    disjoint boxes together directly, whatever their size.

    Parameters are those of :func:`generalized_box_iou_loss`.

    References
    ----------
    Zheng et al. (2020), "Distance-IoU loss: faster and better learning for
    bounding box regression", AAAI.
    """
    pair = _pair(boxes1, boxes2, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss = _diou_parts(pair)[-1]
    return _box_reduce(loss, reduction)


def distance_box_iou_loss_grad(boxes1, boxes2, reduction: str = "none",
                               eps: float = 1e-7) -> np.ndarray:
    r"""Gradient of :func:`distance_box_iou_loss` w.r.t. ``boxes1``.

    ``dI = -1/(U+eps)``, ``dU = I/(U+eps)^2``; the centre term gives
    ``d(rho^2)/dx1 = dx`` (half of ``2 dx`` per corner) and
    ``d/dc^2 = -rho^2 / c^4``, then through the corners.
    """
    pair = _pair(boxes1, boxes2, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx, dy, centres, diagonal, _ = _diou_parts(pair)
        u = pair.union + eps
        d_diag = -centres / (diagonal * diagonal)
        grad = pair.backward(-1 / u, pair.inter / (u * u),
                             2 * pair.cw * d_diag, 2 * pair.ch * d_diag)
        d_centre_x, d_centre_y = dx / diagonal, dy / diagonal  # d/dx1 = d/dx2 = dx / c^2
        grad[..., 0] += d_centre_x
        grad[..., 2] += d_centre_x
        grad[..., 1] += d_centre_y
        grad[..., 3] += d_centre_y
    return scaled(grad, grad[..., 0].size, reduction)


# ------------------------------------------------------------- detection
def _detection_inputs(logits, boxes, target_classes, target_boxes, weights, beta, eps):
    logits, boxes, target_boxes = as_floats(logits=logits, boxes=boxes, target_boxes=target_boxes)
    check_ndim(logits, "logits", (2,), "(N, C)")
    n, c = logits.shape
    if boxes.shape != (n, 4):
        raise ValueError(f"boxes must have shape ({n}, 4), got {boxes.shape}")
    if target_boxes.shape != (n, 4):
        raise ValueError(f"target_boxes must have shape ({n}, 4), got {target_boxes.shape}")
    classes = as_index(target_classes, "target_classes")
    if classes.shape != (n,):
        raise ValueError(f"target_classes must have shape ({n},), got {classes.shape}")
    if classes.size and (classes.min() < 0 or classes.max() >= c):
        raise ValueError(f"target_classes must be class indices in [0, {c}), got values in "
                         f"[{classes.min()}, {classes.max()}]")
    for name, value in weights.items():
        check_positive(value, name, strict=False)
    check_positive(beta, "beta", strict=False)
    check_positive(eps, "eps", strict=False)
    return logits, boxes, classes, target_boxes


def detection_loss(logits, boxes, target_classes, target_boxes, reduction: str = "mean",
                   cls_weight: float = 1.0, l1_weight: float = 1.0, giou_weight: float = 1.0,
                   beta: float = 1.0, eps: float = 1e-7) -> np.ndarray:
    r"""Loss of a detector on matched prediction/target pairs (DETR-style sum of three terms).

    .. math::
        \ell_i = \lambda_{cls}\,\mathrm{CE}(z_i, c_i)
               + \lambda_{L1} \sum_{k=1}^{4} \mathrm{SmoothL1}_\beta(b_{ik} - t_{ik})
               + \lambda_{GIoU}\,\mathrm{GIoU}(b_i, t_i)

    Cross-entropy on the class logits, smooth L1 on the four corner
    coordinates (summed over them), and the generalized IoU loss of
    :func:`generalized_box_iou_loss`. ``beta=0`` gives plain L1, DETR's
    choice; ``beta=1`` is Fast R-CNN's smooth L1. Matching predictions to
    targets (DETR's Hungarian step) and any "no object" rows are the
    caller's business: every row here is a matched pair.

    Parameters
    ----------
    logits : array_like, (N, C)
    boxes : array_like, (N, 4)
        Predicted ``(x1, y1, x2, y2)``.
    target_classes : array_like of int, (N,)
    target_boxes : array_like, (N, 4)
    reduction : {"mean", "sum", "none"}
        Over the N pairs; "none" gives ``(N,)``; the mean of no pairs is NaN.
    cls_weight, l1_weight, giou_weight : float >= 0
    beta : float >= 0
        Smooth-L1 threshold.
    eps : float
        The GIoU ``eps``.

    References
    ----------
    Carion et al. (2020), "End-to-end object detection with transformers", ECCV;
    Girshick (2015), "Fast R-CNN", ICCV.
    """
    weights = {"cls_weight": cls_weight, "l1_weight": l1_weight, "giou_weight": giou_weight}
    logits, boxes, classes, target_boxes = _detection_inputs(
        logits, boxes, target_classes, target_boxes, weights, beta, eps)
    classification = cross_entropy(logits, classes, reduction="none")
    l1 = smooth_l1_loss(boxes, target_boxes, "none", beta).sum(axis=1)
    giou = generalized_box_iou_loss(boxes, target_boxes, "none", eps)
    loss = cls_weight * classification + l1_weight * l1 + giou_weight * giou
    return _reduce(loss.astype(logits.dtype, copy=False), reduction)


def detection_loss_grad(logits, boxes, target_classes, target_boxes, reduction: str = "mean",
                        cls_weight: float = 1.0, l1_weight: float = 1.0, giou_weight: float = 1.0,
                        beta: float = 1.0, eps: float = 1e-7) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradients of :func:`detection_loss`: ``(d_logits, d_boxes)``.

    ``d_logits = cls_weight (softmax(z) - onehot(c))``;
    ``d_boxes = l1_weight clip(b - t, -beta, beta) / beta`` (``sign`` at
    beta=0, 0 at a zero residual) plus ``giou_weight`` times the GIoU
    gradient.
    """
    weights = {"cls_weight": cls_weight, "l1_weight": l1_weight, "giou_weight": giou_weight}
    logits, boxes, classes, target_boxes = _detection_inputs(
        logits, boxes, target_classes, target_boxes, weights, beta, eps)
    n = classes.size
    d_logits = cross_entropy_grad(logits, classes, reduction="none")
    d_logits *= logits.dtype.type(cls_weight)
    d_l1 = smooth_l1_loss_grad(boxes, target_boxes, "none", beta)
    d_boxes = l1_weight * d_l1 + giou_weight * generalized_box_iou_loss_grad(
        boxes, target_boxes, "none", eps)
    d_boxes = d_boxes.astype(boxes.dtype, copy=False)
    return scaled(d_logits, n, reduction), scaled(d_boxes, n, reduction)
