"""Embedding losses of course.losses.structured against torch.

Oracles: torch.nn.functional where torch has the loss (margin ranking,
cosine embedding, triplet), a short torch-autograd transcription of the
formula where it has not (contrastive, InfoNCE), and finite differences
(course.gradcheck) for every gradient.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import (
    contrastive_loss,
    contrastive_loss_grad,
    cosine_embedding_loss,
    cosine_embedding_loss_grad,
    info_nce_loss,
    info_nce_loss_grad,
    margin_ranking_loss,
    margin_ranking_loss_grad,
    triplet_margin_loss,
    triplet_margin_loss_grad,
)

REDUCTIONS = ["mean", "sum", "none"]


def torch_value_and_grads(fn, arrays, n_diff):
    """fn(*tensors) in torch; gradient of its sum w.r.t. the first n_diff arrays."""
    tensors = [torch.tensor(a, requires_grad=i < n_diff) for i, a in enumerate(arrays)]
    loss = fn(*tensors)
    loss.sum().backward()
    return loss.detach().numpy(), [t.grad.numpy() for t in tensors[:n_diff]]


def assert_close(ours, theirs, dtype):
    rtol, atol = (1e-6, 1e-10) if dtype == np.float64 else (1e-4, 1e-6)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


def check_against(loss, grad, torch_fn, arrays, n_diff, dtype, **options):
    """Value, gradients and dtypes of ours against torch on the same arrays."""
    arrays = [a.astype(dtype) if a.dtype.kind == "f" else a for a in arrays]
    value, grads = loss(*arrays, **options), grad(*arrays, **options)
    ref_value, ref_grads = torch_value_and_grads(
        lambda *t: torch_fn(*t, **options), arrays, n_diff)
    assert value.dtype == dtype and value.shape == ref_value.shape
    assert_close(value, ref_value, dtype)
    assert len(grads) == n_diff
    for g, r, a in zip(grads, ref_grads, arrays, strict=False):
        assert g.dtype == dtype and g.shape == a.shape
        assert_close(g, r, dtype)


def signs(rng, n):
    return rng.choice([-1.0, 1.0], size=n)


# ------------------------------------------------------- margin ranking
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.5, -0.3])
def test_margin_ranking_matches_torch(rng, dtype, reduction, margin):
    x1, x2, y = rng.normal(size=40), rng.normal(size=40), signs(rng, 40)
    check_against(margin_ranking_loss, margin_ranking_loss_grad, F.margin_ranking_loss,
                  [x1, x2, y], 2, dtype, margin=margin, reduction=reduction)


def test_margin_ranking_accepts_any_shape_and_real_targets(rng):
    x1, x2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    y = rng.normal(size=(3, 4))  # torch just scales the hinge by y
    check_against(margin_ranking_loss, margin_ranking_loss_grad, F.margin_ranking_loss,
                  [x1, x2, y], 2, np.float64, margin=0.1, reduction="sum")


def test_margin_ranking_tie_is_active_like_torch():
    x1, x2, y = np.array([0.5]), np.array([0.0]), np.array([1.0])
    g1, g2 = margin_ranking_loss_grad(x1, x2, y, margin=0.5, reduction="sum")
    assert margin_ranking_loss(x1, x2, y, margin=0.5) == 0
    np.testing.assert_array_equal(g1, [-1.0])
    np.testing.assert_array_equal(g2, [1.0])
    _, (t1, t2) = torch_value_and_grads(
        lambda a, b, c: F.margin_ranking_loss(a, b, c, margin=0.5), [x1, x2, y], 2)
    np.testing.assert_array_equal(g1, t1)


def test_margin_ranking_gradcheck(rng):
    x1, x2, y = rng.normal(size=12), rng.normal(size=12), signs(rng, 12)
    assert gradcheck(margin_ranking_loss, margin_ranking_loss_grad, x1, x2, y,
                     argnums=(0, 1), margin=0.2)


# ------------------------------------------------------ cosine embedding
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.5])
def test_cosine_embedding_matches_torch(rng, dtype, reduction, margin):
    x1, x2 = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    y = rng.choice([-1.0, 1.0, 0.0], size=30)  # 0 contributes nothing, as in torch
    check_against(cosine_embedding_loss, cosine_embedding_loss_grad, F.cosine_embedding_loss,
                  [x1, x2, y], 2, dtype, margin=margin, reduction=reduction)


def test_cosine_embedding_unbatched_and_zero_vector(rng):
    x1, x2 = rng.normal(size=4), rng.normal(size=4)
    for y in (1.0, -1.0):
        check_against(cosine_embedding_loss, cosine_embedding_loss_grad,
                      F.cosine_embedding_loss, [x1, x2, np.array(y)], 2, np.float64,
                      margin=-1.0, reduction="none")
    # a zero vector: cosine 0 thanks to the 1e-12 inside the norms, no NaN
    zero = np.zeros((2, 4))
    y = np.array([1.0, -1.0])
    check_against(cosine_embedding_loss, cosine_embedding_loss_grad, F.cosine_embedding_loss,
                  [zero, rng.normal(size=(2, 4)), y], 2, np.float64, margin=-0.1)


def test_cosine_embedding_tie_is_active_like_torch():
    x1, x2, y = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]), np.array([-1.0])
    g1, g2 = cosine_embedding_loss_grad(x1, x2, y, margin=0.0)  # cos = 0 = margin exactly
    assert np.any(g1 != 0)
    _, (t1, t2) = torch_value_and_grads(
        lambda a, b, c: F.cosine_embedding_loss(a, b, c, margin=0.0), [x1, x2, y], 2)
    np.testing.assert_allclose(g1, t1, rtol=1e-12)
    np.testing.assert_allclose(g2, t2, rtol=1e-12)


def test_cosine_embedding_gradcheck(rng):
    x1, x2 = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    y = np.array([1.0, -1.0, 1.0, -1.0, -1.0, 1.0])
    assert gradcheck(cosine_embedding_loss, cosine_embedding_loss_grad, x1, x2, y,
                     argnums=(0, 1), margin=-0.9)


# ------------------------------------------------------------- triplet
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, swap", [(2, False), (2, True), (1, False), (3, True), (np.inf, False)])
def test_triplet_matches_torch(rng, dtype, reduction, p, swap):
    a, pos, neg = (rng.normal(size=(25, 6)) for _ in range(3))
    check_against(triplet_margin_loss, triplet_margin_loss_grad, F.triplet_margin_loss,
                  [a, pos, neg], 3, dtype, margin=1.5, p=p, swap=swap, reduction=reduction)


def test_triplet_unbatched_custom_eps_and_identical_anchor(rng):
    a = rng.normal(size=5)
    check_against(triplet_margin_loss, triplet_margin_loss_grad, F.triplet_margin_loss,
                  [a, rng.normal(size=5), rng.normal(size=5)], 3, np.float64,
                  eps=1e-3, reduction="none")
    # anchor == positive: d = eps * sqrt(D) (torch: 1.73e-6 for D = 3), finite gradient
    a = rng.normal(size=(2, 3))
    d = triplet_margin_loss(a, a, a + 5, margin=100.0, reduction="none") - 100.0
    np.testing.assert_allclose(d + np.linalg.norm(a - (a + 5) + 1e-6, axis=1),
                               np.sqrt(3) * 1e-6, rtol=1e-6)
    check_against(triplet_margin_loss, triplet_margin_loss_grad, F.triplet_margin_loss,
                  [a, a.copy(), a + 5], 3, np.float64, margin=100.0)


def test_triplet_tie_is_active_like_torch():
    a, pos, neg = np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.array([[3.0, 0.0]])
    # eps=0: d(a, p) = 1, d(a, n) = 3, so margin 2 puts the hinge exactly at 0
    _, g_pos, _ = triplet_margin_loss_grad(a, pos, neg, margin=2.0, eps=0.0)
    np.testing.assert_array_equal(g_pos, [[1.0, 0.0]])
    check_against(triplet_margin_loss, triplet_margin_loss_grad, F.triplet_margin_loss,
                  [a, pos, neg], 3, np.float64, margin=2.0, eps=0.0)


def test_triplet_gradcheck(rng):
    a, pos, neg = (rng.normal(size=(5, 3)) for _ in range(3))
    for swap in (False, True):
        assert gradcheck(triplet_margin_loss, triplet_margin_loss_grad, a, pos, neg,
                         argnums=(0, 1, 2), margin=2.0, swap=swap, p=3)


# ----------------------------------------------------------- contrastive
def torch_contrastive(x1, x2, same, margin=1.0, reduction="mean"):
    """Hadsell et al. (2006) transcribed in torch, with F.pairwise_distance as the distance."""
    d = F.pairwise_distance(x1, x2)
    loss = 0.5 * (same * d**2 + (1 - same) * torch.clamp(margin - d, min=0) ** 2)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_contrastive_matches_torch_transcription(rng, dtype, reduction):
    x1, x2 = rng.normal(size=(30, 4)), rng.normal(size=(30, 4)) * 0.3
    same = rng.integers(0, 2, size=30).astype(float)
    check_against(contrastive_loss, contrastive_loss_grad, torch_contrastive,
                  [x1, x2, same], 2, dtype, margin=2.0, reduction=reduction)


def test_contrastive_identical_inputs_have_a_finite_gradient(rng):
    x = rng.normal(size=(3, 4))
    g1, g2 = contrastive_loss_grad(x, x, np.zeros(3))  # dissimilar pairs on top of each other
    assert np.all(np.isfinite(g1)) and np.all(g1 != 0)
    check_against(contrastive_loss, contrastive_loss_grad, torch_contrastive,
                  [x, x.copy(), np.array([0.0, 1.0, 0.0])], 2, np.float64)


def test_contrastive_closed_form_and_gradcheck(rng):
    x1, x2 = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    d = np.hypot(3 - 1e-6, 4 - 1e-6)
    np.testing.assert_allclose(contrastive_loss(x1, x2, [1.0]), 0.5 * d**2)
    np.testing.assert_allclose(contrastive_loss(x1, x2, [0.0], margin=6.0), 0.5 * (6 - d) ** 2)
    x1, x2 = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    same = np.array([1.0, 0.0, 1.0, 0.0, 0.0, 0.5])
    assert gradcheck(contrastive_loss, contrastive_loss_grad, x1, x2, same,
                     argnums=(0, 1), margin=3.0)


# --------------------------------------------------------------- InfoNCE
def torch_info_nce(z1, z2, temperature=0.1, reduction="mean"):
    """One-directional InfoNCE transcribed in torch: CE over cosine similarities / tau."""
    logits = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(z1.shape[0]), reduction=reduction)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_info_nce_matches_torch_transcription(rng, dtype, reduction, temperature):
    z1 = rng.normal(size=(20, 8))
    z2 = z1 + 0.5 * rng.normal(size=(20, 8))
    check_against(info_nce_loss, info_nce_loss_grad, torch_info_nce, [z1, z2], 2, dtype,
                  temperature=temperature, reduction=reduction)


def test_info_nce_zero_row_and_gradcheck(rng):
    z1, z2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    z1[1] = 0  # F.normalize leaves it at 0: similarity 0 with everything
    check_against(info_nce_loss, info_nce_loss_grad, torch_info_nce, [z1, z2], 2, np.float64)
    z1, z2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    assert gradcheck(info_nce_loss, info_nce_loss_grad, z1, z2, argnums=(0, 1),
                     temperature=0.3)


def test_info_nce_perfect_pairs_approach_zero():
    z = np.eye(4)
    assert info_nce_loss(z, z, temperature=0.01) < 1e-10


# ---------------------------------------------------------- shared edges
EMPTY_CASES = [
    (margin_ranking_loss, margin_ranking_loss_grad, F.margin_ranking_loss,
     [np.zeros(0), np.zeros(0), np.zeros(0)], 2),
    (cosine_embedding_loss, cosine_embedding_loss_grad, F.cosine_embedding_loss,
     [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)], 2),
    (triplet_margin_loss, triplet_margin_loss_grad, F.triplet_margin_loss,
     [np.zeros((0, 3))] * 3, 3),
    (contrastive_loss, contrastive_loss_grad, torch_contrastive,
     [np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)], 2),
    (info_nce_loss, info_nce_loss_grad, torch_info_nce, [np.zeros((0, 3))] * 2, 2),
]


@pytest.mark.parametrize("loss, grad, torch_fn, arrays, n_diff", EMPTY_CASES)
def test_empty_batch_gives_torch_result(loss, grad, torch_fn, arrays, n_diff):
    for reduction in ("mean", "sum"):
        expected = torch_fn(*(torch.tensor(a) for a in arrays), reduction=reduction).item()
        value = loss(*arrays, reduction=reduction)
        np.testing.assert_equal(value, expected)  # mean NaN, sum 0
    assert np.isnan(loss(*arrays))
    for g, a in zip(grad(*arrays), arrays, strict=False):
        assert g.shape == a.shape


@pytest.mark.parametrize("call", [
    lambda: margin_ranking_loss(np.ones(3), np.ones(4), np.ones(3)),
    lambda: margin_ranking_loss(np.ones(3), np.ones(3), np.ones(1)),
    lambda: margin_ranking_loss(np.ones(3), np.ones(3), np.ones(3), reduction="avg"),
    lambda: cosine_embedding_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones(3)),
    lambda: cosine_embedding_loss(np.ones((1, 2, 3)), np.ones((1, 2, 3)), np.ones((1, 2))),
    lambda: triplet_margin_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((1, 3))),
    lambda: triplet_margin_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)), margin=0.0),
    lambda: triplet_margin_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3)), p=0.5),
    lambda: triplet_margin_loss(np.ones(()), np.ones(()), np.ones(())),
    lambda: contrastive_loss(np.ones((2, 3)), np.ones((2, 3)), np.array([1.0, 2.0])),
    lambda: contrastive_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones(3)),
    lambda: contrastive_loss(np.ones((2, 3)), np.ones((2, 3)), np.ones(2), margin=-1.0),
    lambda: info_nce_loss(np.ones(3), np.ones(3)),
    lambda: info_nce_loss(np.ones((2, 3)), np.ones((3, 3))),
    lambda: info_nce_loss(np.ones((2, 3)), np.ones((2, 3)), temperature=0.0),
], ids=lambda _: "")
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
