"""Lesson 04: a predicted box sliding past its target, scored by IoU-based losses."""

from __future__ import annotations

import numpy as np

from course import losses

TARGET = np.array([0.0, 0.0, 2.0, 2.0])


WIDTH, HEIGHT = 2.0, 1.5


_H = 1e-6


def predicted_boxes(offset, gap_y: float = 0.0) -> np.ndarray:
    """Boxes ``(x1, y1, x2, y2)`` of width 2 and height 1.5 whose left edge is at ``offset``."""
    offset = np.atleast_1d(np.asarray(offset, dtype=np.float64))
    x1, y1 = offset, np.full_like(offset, 0.25 + gap_y)
    return np.stack([x1, y1, x1 + WIDTH, y1 + HEIGHT], axis=-1)


def box_slide_curves(offsets, gap_y: float = 0.0) -> dict:
    """IoU, the IoU, GIoU and DIoU losses and their derivatives in the horizontal
    position, for :func:`predicted_boxes` at each of ``offsets`` against :data:`TARGET`.

    ``d_iou_loss`` is a central difference (IoU has no course gradient);
    the others come from the losses' ``_grad`` functions.
    """
    boxes = predicted_boxes(offsets, gap_y)
    target = np.broadcast_to(TARGET, boxes.shape)

    def iou_of(b):
        return losses.box_iou(b, TARGET[None, :])[:, 0]

    iou = iou_of(boxes)
    shift = np.array([_H, 0.0, _H, 0.0])
    d_iou_loss = -(iou_of(boxes + shift) - iou_of(boxes - shift)) / (2 * _H)
    giou = losses.generalized_box_iou_loss(boxes, target)
    diou = losses.distance_box_iou_loss(boxes, target)
    g_giou = losses.generalized_box_iou_loss_grad(boxes, target)
    g_diou = losses.distance_box_iou_loss_grad(boxes, target)
    return {
        "iou": iou,
        "iou_loss": 1 - iou,
        "giou_loss": giou,
        "diou_loss": diou,
        "d_iou_loss": d_iou_loss,
        "d_giou_loss": g_giou[:, 0] + g_giou[:, 2],
        "d_diou_loss": g_diou[:, 0] + g_diou[:, 2],
    }
