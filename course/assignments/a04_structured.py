"""Checks for solutions/04_structured.ipynb: pairwise IoU, the GIoU loss, the triplet loss.

The learner's functions have the library's signatures:
``box_iou(boxes1, boxes2)`` (torchvision's pairwise IoU, ``(N, 4)`` and
``(M, 4)`` corner boxes in, ``(N, M)`` out, no eps),
``generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7)``
(matched pairs, torchvision's eps placement) and
``triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6,
swap=False, reduction="mean")`` (torch's, with ``eps`` added to the
difference). Cases use ``p=2`` only.
"""

from __future__ import annotations

import numpy as np

from course.losses import structured as S

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _boxes(rng, n, spread=3.0, dtype=np.float64):
    """``n`` proper boxes (x1 < x2, y1 < y2) scattered so that some overlap and some do not."""
    corner = rng.uniform(0, spread, size=(n, 2))
    size = rng.uniform(0.3, 2.0, size=(n, 2))
    return np.concatenate([corner, corner + size], axis=1).astype(dtype)


def _iou_pairwise(rng):
    return [Case((_boxes(rng, 3), _boxes(rng, 4)), {}, "3 boxes against 4"),
            Case((_boxes(rng, 5), _boxes(rng, 2)), {}, "5 boxes against 2")]


def _iou_special(rng):
    a = np.array([[0.0, 0.0, 2.0, 2.0]])
    b = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0], [2.0, 0.0, 4.0, 2.0],
                  [5.0, 5.0, 6.0, 6.0], [0.5, 0.5, 1.5, 1.5]])
    a, b = _moved(rng, a, b)
    return [Case((a, b), {}, "identical, overlapping, touching, far apart, nested")]


def _moved(rng, *boxes):
    """The same configuration shifted and scaled (touching stays touching, nested nested)."""
    shift, scale = rng.integers(-8, 9, size=2).astype(float), float(2.0 ** rng.integers(-2, 3))
    return tuple((b.reshape(-1, 2, 2) * scale + shift).reshape(b.shape) for b in boxes)


def _iou_empty(rng):
    return [Case((np.zeros((0, 4)), _boxes(rng, 3)), {}, "no boxes in boxes1")]


def _iou_float32(rng):
    return [Case((_boxes(rng, 3, dtype=np.float32), _boxes(rng, 2, dtype=np.float32)), {},
                 "float32 boxes")]


def _iou_bad(rng):
    return [Case((rng.uniform(size=(3, 3)), _boxes(rng, 2)), {}, "boxes1 of shape (3, 3)"),
            Case((_boxes(rng, 2), rng.uniform(size=4)), {}, "boxes2 of shape (4,)")]


def _giou_matched(rng):
    return [Case((_boxes(rng, 6), _boxes(rng, 6)), {}, "6 matched pairs, reduction='none'")]


def _giou_reductions(rng):
    return [Case((_boxes(rng, 5), _boxes(rng, 5)), {"reduction": r}, f"reduction={r!r}")
            for r in ("mean", "sum")]


def _giou_special(rng):
    a = np.array([[0.0, 0.0, 2.0, 2.0]] * 4)
    b = np.array([[0.0, 0.0, 2.0, 2.0], [2.0, 0.0, 4.0, 2.0], [10.0, 0.0, 12.0, 2.0],
                  [3.0, 3.0, 4.0, 4.0]])
    a, b = _moved(rng, a, b)
    return [Case((a, b), {}, "identical, touching, far apart, diagonal")]


def _giou_eps(rng):
    return [Case((_boxes(rng, 4), _boxes(rng, 4)), {"eps": 0.5}, "eps=0.5")]


def _giou_float32(rng):
    return [Case((_boxes(rng, 4, dtype=np.float32), _boxes(rng, 4, dtype=np.float32)), {},
                 "float32 boxes")]


def _giou_bad(rng):
    return [Case((_boxes(rng, 3), _boxes(rng, 2)), {}, "3 boxes against 2"),
            Case((_boxes(rng, 2), _boxes(rng, 2)), {"reduction": "average"}, "unknown reduction")]


def _triplets(rng, n=6, d=4, dtype=np.float64):
    return tuple(rng.normal(size=(n, d)).astype(dtype) for _ in range(3))


def _triplet_default(rng):
    return [Case(_triplets(rng), {}, "6 triplets in 4-D, defaults"),
            Case(_triplets(rng, 8, 2), {}, "8 triplets in 2-D, defaults")]


def _triplet_margins(rng):
    return [Case(_triplets(rng), {"margin": m, "reduction": r}, f"margin={m}, reduction={r!r}")
            for m, r in ((0.5, "none"), (2.0, "sum"), (0.1, "mean"))]


def _triplet_inactive(rng):
    a = rng.normal(size=(4, 3))
    p = a + 0.01 * rng.normal(size=(4, 3))
    n = a + 10.0
    return [Case((a, p, n), {"reduction": "none"}, "every negative far beyond the margin")]


def _triplet_coincident(rng):
    a = rng.normal(size=(3, 5))
    return [Case((a, a.copy(), a + 0.3), {"reduction": "none"},
                 "positive equal to the anchor: d(a, a) is eps * sqrt(D), not 0")]


def _triplet_swap(rng):
    return [Case(_triplets(rng), {"swap": True, "reduction": "none"}, "swap=True")]


def _triplet_float32(rng):
    return [Case(_triplets(rng, dtype=np.float32), {"reduction": "none"}, "float32 embeddings")]


def _triplet_bad(rng):
    a, p, n = _triplets(rng)
    return [Case((a, p, n[:4]), {}, "negative with fewer rows"),
            Case((a, p, n), {"margin": -1.0}, "margin=-1")]


# ------------------------------------------------------ classic mistakes
def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _iou_no_clip(boxes1, boxes2):
    """Overlap width and height not clipped at 0: disjoint boxes get a nonzero 'intersection'."""
    b1, b2 = np.asarray(boxes1, dtype=float), np.asarray(boxes2, dtype=float)
    area1 = (b1[:, 2] - b1[:, 0]) * (b1[:, 3] - b1[:, 1])
    area2 = (b2[:, 2] - b2[:, 0]) * (b2[:, 3] - b2[:, 1])
    wh = np.minimum(b1[:, None, 2:], b2[None, :, 2:]) - np.maximum(b1[:, None, :2], b2[None, :, :2])
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area1[:, None] + area2[None, :] - inter)


def _one_minus_iou(boxes1, boxes2, reduction="none", eps=1e-7):
    b1, b2 = np.asarray(boxes1, dtype=float), np.asarray(boxes2, dtype=float)
    iou = np.array([S.box_iou(x[None], y[None])[0, 0] for x, y in zip(b1, b2)])
    return _reduce(1 - iou, reduction)


def _squared_distances(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                       reduction="mean"):
    a, pos, neg = (np.asarray(v, dtype=float) for v in (anchor, positive, negative))
    d_pos = np.sum((a - pos + eps) ** 2, axis=-1)
    d_neg = np.sum((a - neg + eps) ** 2, axis=-1)
    return _reduce(np.maximum(margin + d_pos - d_neg, 0), reduction)


def _no_hinge(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
              reduction="mean"):
    a, pos, neg = (np.asarray(v, dtype=float) for v in (anchor, positive, negative))
    d_pos = np.linalg.norm(a - pos + eps, axis=-1)
    d_neg = np.linalg.norm(a - neg + eps, axis=-1)
    return _reduce(margin + d_pos - d_neg, reduction)


ASSIGNMENT = Assignment(
    notebook="04_structured",
    title="Losses for structured outputs",
    exercises=(
        Exercise(
            "box_iou",
            S.box_iou,
            (
                CaseGroup("pairwise IoU of two sets", _iou_pairwise, points=1),
                CaseGroup("identical, touching, disjoint, nested", _iou_special, points=1),
                CaseGroup("an empty set of boxes", _iou_empty, points=0.5, probes="boxes1 of shape (0, 4)"),
                CaseGroup("float32 stays float32", _iou_float32, points=0.5, probes="float32 boxes"),
            ),
            mistakes=(
                Mistake("overlap not clipped", "when boxes do not overlap, max(lower) > min(upper): "
                        "clip the width and height of the intersection at 0", _iou_no_clip),
                Mistake("matched pairs", "box_iou is pairwise: entry (i, j) compares boxes1[i] with "
                        "boxes2[j], an (N, M) matrix",
                        lambda boxes1, boxes2: np.diag(S.box_iou(boxes1, boxes2))),
            ),
            summary="torchvision's pairwise intersection over union",
        ),
        Exercise(
            "generalized_box_iou_loss",
            S.generalized_box_iou_loss,
            (
                CaseGroup("matched pairs, reduction='none'", _giou_matched, points=1),
                CaseGroup("mean and sum", _giou_reductions, points=0.5),
                CaseGroup("identical, touching, far apart", _giou_special, points=1),
                CaseGroup("eps in both denominators", _giou_eps, points=0.5, probes="a large eps"),
                CaseGroup("float32 stays float32", _giou_float32, points=0.5, probes="float32 boxes"),
            ),
            mistakes=(
                Mistake("plain 1 - IoU", "this is 1 - IoU: add the enclosing-box penalty "
                        "(|E| - U) / |E| (E the enclosing box), which keeps a gradient for disjoint boxes",
                        _one_minus_iou),
                Mistake("GIoU, not its loss", "this is GIoU itself; the loss is 1 - GIoU",
                        lambda boxes1, boxes2, reduction="none", eps=1e-7:
                            _reduce(1 - S.generalized_box_iou_loss(boxes1, boxes2, "none", eps),
                                    reduction)),
            ),
            summary="torchvision's generalized IoU loss on matched boxes",
        ),
        Exercise(
            "triplet_margin_loss",
            S.triplet_margin_loss,
            (
                CaseGroup("defaults", _triplet_default, points=1),
                CaseGroup("margins and reductions", _triplet_margins, points=1),
                CaseGroup("inactive triplets give 0", _triplet_inactive, points=0.5),
                CaseGroup("positive equal to the anchor", _triplet_coincident, points=0.5,
                          probes="anchor == positive (where eps matters)"),
                CaseGroup("swap", _triplet_swap, points=0.5, probes="swap=True"),
                CaseGroup("float32 stays float32", _triplet_float32, points=0.5, probes="float32 embeddings"),
            ),
            mistakes=(
                Mistake("squared distances", "torch's triplet loss uses distances, not squared "
                        "distances (FaceNet squares them; F.triplet_margin_loss does not)",
                        _squared_distances),
                Mistake("no hinge", "clip at 0: a triplet whose negative is already farther than "
                        "the positive by the margin costs nothing", _no_hinge),
            ),
            summary="torch's triplet margin loss with the Euclidean distance",
        ),
        EXPERIMENTS["04_structured"],
    ),
    written=WRITTEN["04_structured"],
)
