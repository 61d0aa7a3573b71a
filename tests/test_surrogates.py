"""Soft Jaccard / Dice / F1 losses against torch-autograd transcriptions of their formulas.

PyTorch has no such losses, so the oracle is the formula of each docstring
written once more in torch, differentiated by autograd; finite differences
(course.gradcheck) check the gradients independently of torch, and the hard
metrics of course.metrics check the 0/1 limit.
"""

import numpy as np
import pytest
import torch

from course import metrics
from course.gradcheck import gradcheck
from course.losses import surrogates

torch.set_num_threads(1)

EPS = 1e-7


# -------------------------------------------------------------- torch oracles
def _per_sample(x):
    """(N, M) view of x; torch's sum over an empty tuple of dims would sum everything."""
    return x.reshape(x.shape[0], -1)


def _sums(p, t):
    p, t = _per_sample(p), _per_sample(t)
    return (p * t).sum(1), p.sum(1), t.sum(1)


def torch_soft_jaccard(p, t, eps):
    inter, sp, st = _sums(p, t)
    return 1 - (inter + eps) / (sp + st - inter + eps)


def torch_soft_dice(p, t, eps):
    inter, sp, st = _sums(p, t)
    return 1 - (2 * inter + eps) / (sp + st + eps)


def torch_soft_f1(p, t, eps):
    p, t = _per_sample(p), _per_sample(t)
    tp = (p * t).sum(1)
    fp = (p * (1 - t)).sum(1)
    fn = ((1 - p) * t).sum(1)
    return 1 - (2 * tp + eps) / (2 * tp + fp + fn + eps)


LOSSES = {
    "jaccard": (surrogates.soft_jaccard_loss, surrogates.soft_jaccard_loss_grad,
                torch_soft_jaccard),
    "dice": (surrogates.soft_dice_loss, surrogates.soft_dice_loss_grad, torch_soft_dice),
    "f1": (surrogates.soft_f1_loss, surrogates.soft_f1_loss_grad, torch_soft_f1),
}
SHAPES = [(5,), (4, 7), (3, 2, 4, 5)]


def torch_reference(torch_fn, p, t, eps, reduction, dtype=torch.float64):
    """(value, gradient w.r.t. p) of the torch transcription."""
    pt = torch.tensor(p, dtype=dtype, requires_grad=True)
    tt = torch.tensor(t, dtype=dtype)
    per_sample = torch_fn(pt, tt, eps)
    value = {"none": per_sample, "sum": per_sample.sum(), "mean": per_sample.mean()}[reduction]
    value.sum().backward()
    return value.detach().numpy(), pt.grad.numpy()


def random_case(rng, shape, soft_target=False):
    p = rng.uniform(0.01, 0.99, size=shape)
    if soft_target:
        t = rng.uniform(0, 1, size=shape)
    else:
        t = (rng.uniform(size=shape) < 0.4).astype(np.float64)
    return p, t


@pytest.fixture
def gen():
    return np.random.default_rng(20261126)


# ------------------------------------------------------- values and gradients
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("soft_target", [False, True])
def test_matches_torch_float64(gen, name, shape, reduction, soft_target):
    loss, loss_grad, torch_fn = LOSSES[name]
    p, t = random_case(gen, shape, soft_target)
    expected, expected_grad = torch_reference(torch_fn, p, t, EPS, reduction)
    value = loss(p, t, reduction=reduction)
    grad = loss_grad(p, t, reduction=reduction)
    assert value.dtype == np.float64 and grad.dtype == np.float64
    assert value.shape == expected.shape and grad.shape == p.shape
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_float32_preserved_and_close_to_torch(gen, name, reduction):
    loss, loss_grad, torch_fn = LOSSES[name]
    p, t = random_case(gen, (6, 3, 5))
    p32, t32 = p.astype(np.float32), t.astype(np.float32)
    expected, expected_grad = torch_reference(torch_fn, p32, t32, EPS, reduction, torch.float32)
    value = loss(p32, t32, reduction=reduction)
    grad = loss_grad(p32, t32, reduction=reduction)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", LOSSES)
def test_integer_mask_keeps_float32_input_dtype(gen, name):
    loss, loss_grad, _ = LOSSES[name]
    p, t = random_case(gen, (3, 8))
    mask = t.astype(np.uint8)
    assert loss(p.astype(np.float32), mask).dtype == np.float32
    assert loss_grad(p.astype(np.float32), mask.astype(bool)).dtype == np.float32
    np.testing.assert_allclose(loss(p, mask), loss(p, t), rtol=1e-15)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradient_matches_finite_differences(gen, name, reduction):
    loss, loss_grad, _ = LOSSES[name]
    p, t = random_case(gen, (3, 2, 4))
    result = gradcheck(loss, loss_grad, p, t, reduction=reduction)
    assert result, str(result)


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_with_large_eps_matches_finite_differences(gen, name):
    loss, loss_grad, _ = LOSSES[name]
    p, t = random_case(gen, (2, 6), soft_target=True)
    # eps passed by position: gradcheck's own ``eps`` keyword is its step
    result = gradcheck(loss, loss_grad, p, t, 1.0, reduction="sum")
    assert result, str(result)


def test_soft_f1_is_soft_dice(gen):
    p, t = random_case(gen, (5, 9), soft_target=True)
    np.testing.assert_allclose(
        surrogates.soft_f1_loss(p, t, reduction="none"),
        surrogates.soft_dice_loss(p, t, reduction="none"), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(
        surrogates.soft_f1_loss_grad(p, t), surrogates.soft_dice_loss_grad(p, t),
        rtol=1e-12, atol=1e-15)


def test_dice_and_jaccard_are_related_without_eps(gen):
    # D = 2J / (1 + J) holds exactly for the eps-free scores
    p, t = random_case(gen, (4, 10))
    j = 1 - surrogates.soft_jaccard_loss(p, t, eps=1e-300, reduction="none")
    d = 1 - surrogates.soft_dice_loss(p, t, eps=1e-300, reduction="none")
    np.testing.assert_allclose(d, 2 * j / (1 + j), rtol=1e-13)


def test_macro_soft_f1_by_transposing(gen):
    # per class over the batch, then averaged over classes
    p, t = random_case(gen, (20, 3))
    tp = (p * t).sum(0)
    fp = (p * (1 - t)).sum(0)
    fn = ((1 - p) * t).sum(0)
    macro = np.mean(1 - (2 * tp + EPS) / (2 * tp + fp + fn + EPS))
    np.testing.assert_allclose(surrogates.soft_f1_loss(p.T, t.T), macro, rtol=1e-13)


# ------------------------------------------------------------------- edges
@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_empty_and_full_masks_give_zero_loss_and_finite_gradient(name, fill):
    loss, loss_grad, torch_fn = LOSSES[name]
    p = np.full((2, 3, 3), fill)
    value = loss(p, p, reduction="none")
    grad = loss_grad(p, p, reduction="none")
    np.testing.assert_allclose(value, 0.0, atol=1e-15)
    assert np.all(np.isfinite(grad))
    expected, expected_grad = torch_reference(torch_fn, p, p, EPS, "none")
    np.testing.assert_allclose(value, expected, atol=1e-15)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10)
    if fill == 0.0:
        # with an empty target any predicted mass raises the loss: gradient 1/eps
        np.testing.assert_allclose(grad, 1 / EPS, rtol=1e-12)


@pytest.mark.parametrize("name", LOSSES)
def test_probabilities_exactly_zero_and_one_match_torch(gen, name):
    loss, loss_grad, torch_fn = LOSSES[name]
    p = (gen.uniform(size=(6, 10)) < 0.5).astype(np.float64)
    t = (gen.uniform(size=(6, 10)) < 0.5).astype(np.float64)
    p[0], t[0] = 0.0, 1.0  # nothing predicted: loss 1 (up to eps)
    p[1], t[1] = 1.0, 0.0  # everything wrong
    expected, expected_grad = torch_reference(torch_fn, p, t, EPS, "none")
    np.testing.assert_allclose(loss(p, t, reduction="none"), expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(loss_grad(p, t, reduction="none"), expected_grad, rtol=1e-10)
    assert loss(p, t, reduction="none")[1] == pytest.approx(1.0, abs=1e-8)


def test_soft_iou_equals_hard_iou_on_binary_predictions(gen):
    p = (gen.uniform(size=(8, 4, 4)) < 0.5).astype(np.float64)
    t = (gen.uniform(size=(8, 4, 4)) < 0.3).astype(np.float64)
    p[0], t[0] = 0.0, 0.0  # both empty: 1 by both conventions
    p[1], t[1] = 0.0, 1.0
    hard_iou = metrics.iou(p, t, per_sample=True)
    hard_f1 = metrics.f1(p, t, per_sample=True)
    # with a negligible eps the soft and hard scores agree to rounding ...
    soft_iou = 1 - surrogates.soft_jaccard_loss(p, t, eps=1e-300, reduction="none")
    soft_dice = 1 - surrogates.soft_dice_loss(p, t, eps=1e-300, reduction="none")
    np.testing.assert_allclose(soft_iou, hard_iou, rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(soft_dice, hard_f1, rtol=1e-15, atol=1e-15)
    # ... and with the default eps up to O(eps)
    np.testing.assert_allclose(
        1 - surrogates.soft_jaccard_loss(p, t, reduction="none"), hard_iou, atol=1e-6)
    assert hard_iou[0] == 1.0 and hard_iou[1] == 0.0


def test_soft_iou_differs_from_hard_iou_on_fractional_predictions():
    # the surrogate-metric gap: hard IoU only sees which side of 0.5 p lies on
    t = np.array([[1.0, 1.0, 0.0, 0.0]])
    confident = np.array([[0.99, 0.99, 0.01, 0.01]])
    hesitant = np.array([[0.51, 0.51, 0.49, 0.49]])
    assert metrics.iou(confident, t) == metrics.iou(hesitant, t) == 1.0
    assert surrogates.soft_jaccard_loss(confident, t) < 0.03
    assert surrogates.soft_jaccard_loss(hesitant, t) > 0.6


@pytest.mark.parametrize("name", LOSSES)
def test_empty_batch_follows_torch(name):
    loss, loss_grad, _ = LOSSES[name]
    p = np.zeros((0, 3, 2))
    assert np.isnan(loss(p, p))
    assert loss(p, p, reduction="sum") == 0.0
    assert loss(p, p, reduction="none").shape == (0,)
    assert loss_grad(p, p).shape == (0, 3, 2)


# -------------------------------------------------------------- validation
@pytest.mark.parametrize("name", LOSSES)
def test_bad_input_raises_value_error(name):
    loss, loss_grad, _ = LOSSES[name]
    p = np.full((2, 3), 0.5)
    for fn in (loss, loss_grad):
        with pytest.raises(ValueError, match="target must have the same shape"):
            fn(p, np.full((2, 4), 0.5))
        with pytest.raises(ValueError, match="target must have the same shape"):
            fn(p, np.full((3,), 0.5))  # would broadcast in NumPy
        with pytest.raises(ValueError, match=r"input must hold probabilities in \[0, 1\]"):
            fn(p + 0.6, p)
        with pytest.raises(ValueError, match=r"input must hold probabilities"):
            fn(np.where(p > 0, np.nan, p), p)
        with pytest.raises(ValueError, match=r"target must hold probabilities"):
            fn(p, p - 0.6)
        with pytest.raises(ValueError, match="at least 1-D"):
            fn(0.5, 0.5)
        with pytest.raises(ValueError, match="eps"):
            fn(p, p, eps=0.0)
        with pytest.raises(ValueError, match="reduction"):
            fn(p, p, reduction="batchmean")
