"""Box losses of course.losses.structured against torchvision's formulas.

torchvision does not import in this environment, so the oracle is a
line-by-line torch-autograd transcription of ``torchvision.ops``
(``box_iou``, ``_loss_inter_union``, ``generalized_box_iou_loss``,
``_diou_iou_loss``), plus the literal values the research notes measured
with torchvision 0.28 (research/losses.md section 4), plus finite
differences (course.gradcheck).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import (
    box_iou,
    detection_loss,
    detection_loss_grad,
    distance_box_iou_loss,
    distance_box_iou_loss_grad,
    generalized_box_iou_loss,
    generalized_box_iou_loss_grad,
)

REDUCTIONS = ["none", "mean", "sum"]


# ------------------------------------------------ torchvision, transcribed
def tv_box_iou(boxes1, boxes2):
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    lt = torch.max(boxes1[:, None, :2], boxes2[:, :2])
    rb = torch.min(boxes1[:, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter / (area1[:, None] + area2 - inter)


def tv_inter_union(boxes1, boxes2):
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def tv_reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    return loss.sum() if reduction == "sum" else loss


def tv_giou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    intsctk, unionk = tv_inter_union(boxes1, boxes2)
    iouk = intsctk / (unionk + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    return tv_reduce(1 - miouk, reduction)


def tv_diou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    intsct, union = tv_inter_union(boxes1, boxes2)
    iou = intsct / (union + eps)
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xc1, yc1 = torch.min(x1, x1g), torch.min(y1, y1g)
    xc2, yc2 = torch.max(x2, x2g), torch.max(y2, y2g)
    diagonal_distance_squared = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    x_p, y_p = (x2 + x1) / 2, (y2 + y1) / 2
    x_g, y_g = (x1g + x2g) / 2, (y1g + y2g) / 2
    centers_distance_squared = ((x_p - x_g) ** 2) + ((y_p - y_g) ** 2)
    return tv_reduce(1 - iou + (centers_distance_squared / diagonal_distance_squared), reduction)


LOSSES = {
    "giou": (generalized_box_iou_loss, generalized_box_iou_loss_grad, tv_giou_loss),
    "diou": (distance_box_iou_loss, distance_box_iou_loss_grad, tv_diou_loss),
}


def torchvision_value_and_grad(tv_loss, boxes1, boxes2, **options):
    b1 = torch.tensor(boxes1, requires_grad=True)
    loss = tv_loss(b1, torch.tensor(boxes2), **options)
    loss.sum().backward()
    return loss.detach().numpy(), b1.grad.numpy()


def random_boxes(rng, n, spread=3.0):
    corner = rng.uniform(0, spread, size=(n, 2))
    size = rng.uniform(0.2, 2.0, size=(n, 2))
    return np.concatenate([corner, corner + size], axis=1)


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_torchvision_on_random_boxes(rng, name, reduction, dtype):
    loss, grad, tv_loss = LOSSES[name]
    boxes1, boxes2 = random_boxes(rng, 50).astype(dtype), random_boxes(rng, 50).astype(dtype)
    value, g = loss(boxes1, boxes2, reduction), grad(boxes1, boxes2, reduction)
    ref_value, ref_grad = torchvision_value_and_grad(tv_loss, boxes1, boxes2, reduction=reduction)
    rtol, atol = (1e-6, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    assert value.dtype == dtype and g.dtype == dtype and g.shape == boxes1.shape
    np.testing.assert_allclose(value, ref_value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(g, ref_grad, rtol=rtol, atol=atol)


# (boxes1, boxes2, GIoU loss, DIoU loss), measured with torchvision 0.28 (research §4)
PUBLISHED = {
    "identical": ([0, 0, 1, 1], [0, 0, 1, 1], 0.0, 0.0),
    "disjoint": ([0, 0, 1, 1], [10, 10, 11, 11], 1.9835, 1.8264),
    "touching": ([0, 0, 1, 1], [1, 0, 2, 1], 1.0, 1.2),
    "nested": ([0, 0, 4, 4], [1, 1, 2, 2], 0.9375, 0.953125),
    "zero-area identical": ([0, 0, 0, 0], [0, 0, 0, 0], 1.0, 1.0),
    "zero-width prediction": ([0, 0, 0, 1], [0, 0, 1, 1], 1.0, 1.125),
    "inverted prediction": ([1, 0, 0, 1], [0, 0, 1, 1], 2.0, 1.0),
}


@pytest.mark.parametrize("case", PUBLISHED)
def test_published_torchvision_values_and_gradients(case):
    boxes1, boxes2, giou, diou = PUBLISHED[case]
    boxes1, boxes2 = np.array([boxes1], float), np.array([boxes2], float)
    np.testing.assert_allclose(generalized_box_iou_loss(boxes1, boxes2), [giou], atol=1e-4)
    np.testing.assert_allclose(distance_box_iou_loss(boxes1, boxes2), [diou], atol=1e-4)
    for name, (loss, grad, tv_loss) in LOSSES.items():
        value, g = loss(boxes1, boxes2), grad(boxes1, boxes2)
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(g)), name
        ref_value, ref_grad = torchvision_value_and_grad(tv_loss, boxes1, boxes2)
        np.testing.assert_allclose(value, ref_value, rtol=1e-12)
        np.testing.assert_allclose(g, ref_grad, rtol=1e-9, atol=1e-12)  # ties split like torch


def test_identical_boxes_have_zero_gradient_and_inverted_diou_too():
    b = np.array([[0.0, 0.0, 1.0, 1.0]])
    # zero up to eps (5e-8 here, the same in torch: I / (U + eps) is just below 1)
    np.testing.assert_allclose(generalized_box_iou_loss_grad(b, b), 0, atol=1e-7)
    np.testing.assert_allclose(distance_box_iou_loss_grad(b, b), 0, atol=1e-7)
    inverted = np.array([[1.0, 0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(distance_box_iou_loss_grad(inverted, b), 0)


@pytest.mark.parametrize("name", LOSSES)
def test_gradcheck_finite_differences(rng, name):
    loss, grad, _ = LOSSES[name]
    boxes1, boxes2 = random_boxes(rng, 6, spread=1.5), random_boxes(rng, 6, spread=1.5)
    assert gradcheck(loss, grad, boxes1, boxes2, reduction="mean")


@pytest.mark.parametrize("name", LOSSES)
def test_empty_unbatched_and_integer_boxes(name):
    loss, grad, tv_loss = LOSSES[name]
    empty = np.zeros((0, 4))
    assert loss(empty, empty, "mean") == 0 and loss(empty, empty, "sum") == 0  # torchvision
    assert loss(empty, empty).shape == (0,) and grad(empty, empty, "mean").shape == (0, 4)
    b1, b2 = np.array([0.0, 0.0, 2.0, 1.0]), np.array([1.0, 0.5, 3.0, 2.0])
    assert loss(b1, b2).shape == () and grad(b1, b2).shape == (4,)
    np.testing.assert_allclose(loss(b1, b2), loss(b1[None], b2[None])[0])
    ints = loss(np.array([[0, 0, 2, 2]]), np.array([[1, 1, 3, 3]]))
    assert ints.dtype == np.float64  # torchvision upcasts to float32; we default to float64
    np.testing.assert_allclose(ints, loss(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 1, 3, 3]])))


@pytest.mark.parametrize("name", LOSSES)
def test_eps_is_used_as_torchvision_does(rng, name):
    loss, grad, tv_loss = LOSSES[name]
    boxes1, boxes2 = random_boxes(rng, 5), random_boxes(rng, 5)
    ref_value, ref_grad = torchvision_value_and_grad(tv_loss, boxes1, boxes2, eps=0.1)
    np.testing.assert_allclose(loss(boxes1, boxes2, eps=0.1), ref_value, rtol=1e-10)
    np.testing.assert_allclose(grad(boxes1, boxes2, eps=0.1), ref_grad, rtol=1e-10)


def test_box_iou_matches_torchvision(rng):
    boxes1, boxes2 = random_boxes(rng, 7), random_boxes(rng, 4)
    boxes2[0] = boxes1[0]
    iou = box_iou(boxes1, boxes2)
    assert iou.shape == (7, 4)
    np.testing.assert_allclose(iou, tv_box_iou(torch.tensor(boxes1), torch.tensor(boxes2)),
                               rtol=1e-12)
    assert iou[0, 0] == 1.0
    assert box_iou(boxes1.astype(np.float32), boxes2.astype(np.float32)).dtype == np.float32
    # two zero-area boxes: 0/0 is NaN in torchvision too (box_iou has no eps)
    zero = np.zeros((1, 4))
    assert np.isnan(box_iou(zero, zero)[0, 0])
    assert np.isnan(tv_box_iou(torch.tensor(zero), torch.tensor(zero))[0, 0].item())


# --------------------------------------------------------------- detection
def torch_detection_loss(logits, boxes, classes, target_boxes, reduction="mean", cls_weight=1.0,
                         l1_weight=1.0, giou_weight=1.0, beta=1.0, eps=1e-7):
    ce = F.cross_entropy(logits, classes, reduction="none")
    l1 = F.smooth_l1_loss(boxes, target_boxes, reduction="none", beta=beta).sum(dim=1)
    loss = cls_weight * ce + l1_weight * l1 + giou_weight * tv_giou_loss(boxes, target_boxes,
                                                                          eps=eps)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", [
    {}, {"cls_weight": 2.0, "l1_weight": 5.0, "giou_weight": 2.0, "beta": 0.0},
    {"cls_weight": 0.0, "l1_weight": 1.0, "giou_weight": 0.5, "beta": 0.3},
])
def test_detection_loss_matches_torch(rng, reduction, dtype, weights):
    n, c = 12, 5
    logits = rng.normal(size=(n, c)).astype(dtype)
    boxes, target_boxes = random_boxes(rng, n).astype(dtype), random_boxes(rng, n).astype(dtype)
    classes = rng.integers(0, c, size=n)
    value = detection_loss(logits, boxes, classes, target_boxes, reduction, **weights)
    d_logits, d_boxes = detection_loss_grad(logits, boxes, classes, target_boxes, reduction,
                                            **weights)
    z, b = torch.tensor(logits, requires_grad=True), torch.tensor(boxes, requires_grad=True)
    ref = torch_detection_loss(z, b, torch.tensor(classes), torch.tensor(target_boxes),
                               reduction, **weights)
    ref.sum().backward()
    rtol, atol = (1e-6, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    assert value.dtype == d_logits.dtype == d_boxes.dtype == dtype
    np.testing.assert_allclose(value, ref.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(d_logits, z.grad.numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(d_boxes, b.grad.numpy(), rtol=rtol, atol=atol)


def test_detection_loss_gradcheck(rng):
    logits, classes = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])
    boxes, target_boxes = random_boxes(rng, 4, 1.0), random_boxes(rng, 4, 1.0)
    assert gradcheck(detection_loss, detection_loss_grad, logits, boxes, classes, target_boxes,
                     argnums=(0, 1), l1_weight=2.0, beta=0.5)


@pytest.mark.parametrize("call", [
    lambda: generalized_box_iou_loss(np.zeros((2, 4)), np.zeros((3, 4))),
    lambda: generalized_box_iou_loss(np.zeros((2, 3)), np.zeros((2, 3))),
    lambda: distance_box_iou_loss(np.zeros(()), np.zeros(())),
    lambda: distance_box_iou_loss(np.zeros((2, 4)), np.zeros((1, 4))),
    lambda: generalized_box_iou_loss(np.zeros((2, 4)), np.zeros((2, 4)), reduction="avg"),
    lambda: generalized_box_iou_loss(np.zeros((2, 4)), np.zeros((2, 4)), eps=-1.0),
    lambda: box_iou(np.zeros((2, 3)), np.zeros((2, 4))),
    lambda: box_iou(np.zeros(4), np.zeros((2, 4))),
    lambda: detection_loss(np.zeros((2, 3)), np.zeros((2, 4)), [0, 3], np.zeros((2, 4))),
    lambda: detection_loss(np.zeros((2, 3)), np.zeros((2, 4)), [0.0, 1.0], np.zeros((2, 4))),
    lambda: detection_loss(np.zeros((2, 3)), np.zeros((3, 4)), [0, 1], np.zeros((2, 4))),
    lambda: detection_loss(np.zeros((2, 3)), np.zeros((2, 4)), [0, 1], np.zeros((2, 4)),
                           giou_weight=-1.0),
    lambda: detection_loss(np.zeros(3), np.zeros((1, 4)), [0], np.zeros((1, 4))),
], ids=lambda _: "")
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
