"""ctc_loss and ctc_loss_grad against torch's F.ctc_loss and finite differences.

torch's leaf gradient for log_probs is the true gradient plus exp(log_probs)
(its backward assumes a log_softmax upstream, pytorch#52241), so gradients
are compared the way torch's own OpInfo does: raw logits go through
log_softmax in torch and torch back-propagates to the logits; ours is chained
by hand, grad_logits = g - softmax(logits) * sum_c g. Finite differences
(course.gradcheck) check the true gradient directly, on raw scores too.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import ctc_loss, ctc_loss_grad, log_softmax, softmax

REDUCTIONS = ["mean", "sum", "none"]


def torch_ctc(logits, targets, input_lengths, target_lengths, **options):
    """torch's loss on log_softmax(logits), and its gradient w.r.t. the logits."""
    x = torch.tensor(logits, requires_grad=True)
    loss = F.ctc_loss(x.log_softmax(-1), torch.as_tensor(targets),
                      torch.as_tensor(input_lengths), torch.as_tensor(target_lengths), **options)
    loss.sum().backward()
    return loss.detach().numpy(), x.grad.numpy()


def ours_ctc(logits, targets, input_lengths, target_lengths, **options):
    """Our loss on log_softmax(logits), and our gradient chained through log_softmax."""
    log_probs = log_softmax(logits, axis=-1)
    loss = ctc_loss(log_probs, targets, input_lengths, target_lengths, **options)
    g = ctc_loss_grad(log_probs, targets, input_lengths, target_lengths, **options)
    assert g.shape == log_probs.shape and g.dtype == log_probs.dtype
    return loss, g - softmax(logits, axis=-1) * g.sum(axis=-1, keepdims=True)


def assert_matches_torch(logits, targets, input_lengths, target_lengths, rtol=1e-5, **options):
    value, grad = ours_ctc(logits, targets, input_lengths, target_lengths, **options)
    ref_value, ref_grad = torch_ctc(logits, targets, input_lengths, target_lengths, **options)
    assert value.dtype == logits.dtype and value.shape == ref_value.shape
    atol = 1e-10 if logits.dtype == np.float64 else 1e-6
    np.testing.assert_allclose(value, ref_value, rtol=rtol, atol=atol)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=atol)
    return value, grad


def batch(rng, T=15, N=6, C=5, S=6):
    """Mixed lengths, a repeated label, an empty target and a short input."""
    logits = rng.normal(size=(T, N, C)) * 2
    targets = rng.integers(1, C, size=(N, S))
    targets[0, :4] = [2, 2, 3, 3]  # repeats need blanks between them
    input_lengths = np.array([T, T - 2, 9, T, 4, 11])[:N]
    target_lengths = np.array([S, 4, 0, 5, 1, 3])[:N]
    return logits, targets, input_lengths, target_lengths


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("blank", [0, 2, 4])
def test_matches_torch_float64(rng, reduction, blank):
    logits, targets, il, tl = batch(rng)
    targets = np.where(targets == blank, 0, targets) if blank else targets
    assert_matches_torch(logits, targets, il, tl, blank=blank, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_in_float32_out(rng, reduction):
    logits, targets, il, tl = batch(rng)
    assert_matches_torch(logits.astype(np.float32), targets, il, tl, rtol=1e-4,
                         reduction=reduction)


def test_concatenated_targets_equal_padded(rng):
    logits, targets, il, tl = batch(rng)
    log_probs = log_softmax(logits, axis=-1)
    concatenated = np.concatenate([row[:n] for row, n in zip(targets, tl, strict=True)])
    for reduction in REDUCTIONS:
        np.testing.assert_array_equal(ctc_loss(log_probs, concatenated, il, tl, reduction=reduction),
                                      ctc_loss(log_probs, targets, il, tl, reduction=reduction))
    np.testing.assert_array_equal(ctc_loss_grad(log_probs, concatenated, il, tl),
                                  ctc_loss_grad(log_probs, targets, il, tl))
    assert_matches_torch(logits, concatenated, il, tl, reduction="none")


def test_padding_past_the_target_length_is_ignored(rng):
    logits, targets, il, tl = batch(rng)
    log_probs = log_softmax(logits, axis=-1)
    garbage = targets.copy()
    garbage[2, :] = 99  # target length 0: nothing of this row is used
    garbage[4, 1:] = -7
    np.testing.assert_array_equal(ctc_loss(log_probs, garbage, il, tl, reduction="none"),
                                  ctc_loss(log_probs, targets, il, tl, reduction="none"))


def test_unbatched_equals_batched(rng):
    logits, targets, il, tl = batch(rng)
    log_probs = log_softmax(logits, axis=-1)
    for reduction in REDUCTIONS:
        batched = ctc_loss(log_probs[:, :1], targets[:1], il[:1], tl[:1], reduction=reduction)
        single = ctc_loss(log_probs[:, 0], targets[0], il[0], tl[0], reduction=reduction)
        assert single.shape == ()
        np.testing.assert_allclose(single, np.reshape(batched, ()), rtol=1e-14)
    np.testing.assert_allclose(ctc_loss_grad(log_probs[:, 0], targets[0], [il[0]], [tl[0]]),
                               ctc_loss_grad(log_probs[:, :1], targets[:1], il[:1], tl[:1])[:, 0])
    ref, _ = torch_ctc(logits[:, 0], targets[0], torch.tensor(il[0]), torch.tensor(tl[0]),
                       reduction="none")
    np.testing.assert_allclose(ctc_loss(log_probs[:, 0], targets[0], il[0], tl[0],
                                        reduction="none"), ref, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_true_gradient_by_finite_differences(rng, reduction):
    T, N, C = 6, 3, 4
    targets = np.array([[1, 1, 0], [2, 3, 1], [3, 0, 0]])
    il, tl = np.array([6, 5, 3]), np.array([2, 3, 1])
    log_probs = log_softmax(rng.normal(size=(T, N, C)), axis=-1)
    assert gradcheck(ctc_loss, ctc_loss_grad, log_probs, targets, il, tl, reduction=reduction)
    raw_scores = rng.normal(size=(T, N, C))  # not normalised: torch's leaf gradient is off here
    assert gradcheck(ctc_loss, ctc_loss_grad, raw_scores, targets, il, tl, reduction=reduction)


def test_repeated_labels_need_room_for_blanks(rng):
    # research §4: target [1,1,1] at input lengths 3 / 4 / 5 gives inf / inf / finite;
    # target [1,2,3] is finite at 3 and inf at 2
    logits = rng.normal(size=(5, 1, 4))
    log_probs = log_softmax(logits, axis=-1)
    for length, finite in [(3, False), (4, False), (5, True)]:
        value = ctc_loss(log_probs, [[1, 1, 1]], [length], [3], reduction="none")
        assert np.isfinite(value[0]) == finite
        ref, _ = torch_ctc(logits, [[1, 1, 1]], [length], [3], reduction="none")
        np.testing.assert_allclose(value, ref, rtol=1e-10)
    assert np.isfinite(ctc_loss(log_probs, [[1, 2, 3]], [3], [3]))
    assert np.isinf(ctc_loss(log_probs, [[1, 2, 3]], [2], [3]))
    # with exactly one alignment, 1 _ 1 _ 1, the loss is minus its log-probability
    expected = -(log_probs[0, 0, 1] + log_probs[1, 0, 0] + log_probs[2, 0, 1]
                 + log_probs[3, 0, 0] + log_probs[4, 0, 1])
    np.testing.assert_allclose(ctc_loss(log_probs, [[1, 1, 1]], [5], [3], reduction="sum"), expected)


def test_empty_target_is_all_blanks(rng):
    logits = rng.normal(size=(7, 2, 3))
    log_probs = log_softmax(logits, axis=-1)
    il, tl = np.array([7, 4]), np.array([0, 0])
    expected = -np.array([log_probs[:7, 0, 0].sum(), log_probs[:4, 1, 0].sum()])
    np.testing.assert_allclose(ctc_loss(log_probs, np.zeros((2, 0), int), il, tl, reduction="none"),
                               expected, rtol=1e-14)
    # 'mean' divides by max(target_length, 1) = 1
    np.testing.assert_allclose(ctc_loss(log_probs, np.zeros((2, 0), int), il, tl), expected.mean())
    assert_matches_torch(logits, np.zeros((2, 0), int), il, tl)


def test_zero_input_length_matches_torch(rng):
    logits = rng.normal(size=(4, 3, 3))
    targets, il, tl = np.array([[1, 2], [1, 0], [2, 2]]), np.array([0, 0, 4]), np.array([0, 1, 2])
    value, _ = assert_matches_torch(logits, targets, il, tl, reduction="sum", zero_infinity=True)
    loss = ctc_loss(log_softmax(logits, axis=-1), targets, il, tl, reduction="none")
    assert loss[0] == 0 and np.isinf(loss[1])


def test_infeasible_alignment_gives_inf_and_nan_where_torch_does(rng):
    logits = rng.normal(size=(5, 3, 4))
    log_probs = log_softmax(logits, axis=-1)
    targets, il, tl = np.array([[1, 1, 1], [1, 2, 0], [3, 3, 0]]), [3, 5, 4], [3, 2, 2]
    for reduction in REDUCTIONS:
        value = ctc_loss(log_probs, targets, il, tl, reduction=reduction)
        ref, _ = torch_ctc(logits, targets, il, tl, reduction=reduction)
        np.testing.assert_allclose(value, ref, rtol=1e-10)
    assert np.isinf(ctc_loss(log_probs, targets, il, tl))
    grad = ctc_loss_grad(log_probs, targets, il, tl)
    x = torch.tensor(log_probs, requires_grad=True)  # torch's leaf gradient: NaN pattern only
    F.ctc_loss(x, torch.tensor(targets), torch.tensor(il), torch.tensor(tl)).backward()
    np.testing.assert_array_equal(np.isnan(grad), np.isnan(x.grad.numpy()))
    assert np.isnan(grad[:3, 0]).all() and not np.isnan(grad[3:, 0]).any()
    _, chained = ours_ctc(logits, targets, il, tl)
    _, ref_chained = torch_ctc(logits, targets, il, tl)
    np.testing.assert_allclose(chained[:, 1:], ref_chained[:, 1:], rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_zero_infinity_zeroes_loss_and_gradient(rng, reduction):
    logits = rng.normal(size=(5, 3, 4))
    targets, il, tl = np.array([[1, 1, 1], [1, 2, 0], [3, 3, 0]]), [3, 5, 4], [3, 2, 2]
    value, grad = assert_matches_torch(logits, targets, il, tl, reduction=reduction,
                                       zero_infinity=True)
    assert np.all(grad[:, 0] == 0)
    if reduction == "none":
        assert value[0] == 0


def test_blank_inside_a_target_is_accepted_as_torch_does(rng):
    logits, targets, il, tl = batch(rng)
    targets[1, 1] = 0
    assert_matches_torch(logits, targets, il, tl, reduction="none")


def test_long_sequences_do_not_underflow(rng):
    logits = rng.normal(size=(400, 2, 20)) * 3
    targets = rng.integers(1, 20, size=(2, 120))
    value, _ = assert_matches_torch(logits, targets, [400, 350], [120, 100], reduction="none")
    assert np.all(np.isfinite(value)) and np.all(value > 300)


@pytest.mark.parametrize("call", [
    lambda lp, tg: ctc_loss(lp, tg, [6, 5], [3, 2]),  # input length > T
    lambda lp, tg: ctc_loss(lp, tg, [5, 5], [4, 2]),  # target length > S
    lambda lp, tg: ctc_loss(lp, tg, [-1, 5], [3, 2]),
    lambda lp, tg: ctc_loss(lp, tg, [5, 5], [3, -2]),
    lambda lp, tg: ctc_loss(lp, tg, [5, 5, 5], [3, 2, 1]),  # one length per sample
    lambda lp, tg: ctc_loss(lp, tg, [5.0, 5.0], [3, 2]),  # lengths are integers
    lambda lp, tg: ctc_loss(lp, tg, [5, 5], [3, 2], blank=4),
    lambda lp, tg: ctc_loss(lp, tg, [5, 5], [3, 2], blank=-1),
    lambda lp, tg: ctc_loss(lp, tg + 3, [5, 5], [3, 2]),  # label 4 with C = 4
    lambda lp, tg: ctc_loss(lp, tg.astype(float), [5, 5], [3, 2]),
    lambda lp, tg: ctc_loss(lp, tg.ravel(), [5, 5], [3, 2]),  # 1-D must be concatenated
    lambda lp, tg: ctc_loss(lp, tg[None], [5, 5], [3, 2]),
    lambda lp, tg: ctc_loss(lp[..., None], tg, [5, 5], [3, 2]),
    lambda lp, tg: ctc_loss(lp[:0], tg, [0, 0], [0, 0]),  # torch: must not be empty
    lambda lp, tg: ctc_loss(lp[:, 0], tg[0], [5, 5], [3, 2]),  # unbatched takes one length
    lambda lp, tg: ctc_loss(lp, tg, [5, 5], [3, 2], reduction="batchmean"),
    lambda lp, tg: ctc_loss_grad(lp, tg, [6, 5], [3, 2]),
], ids=lambda _: "")
def test_bad_input_raises_value_error(rng, call):
    log_probs = log_softmax(rng.normal(size=(5, 2, 4)), axis=-1)
    targets = np.array([[1, 2, 3], [1, 1, 0]])
    with pytest.raises(ValueError):
        call(log_probs, targets)
