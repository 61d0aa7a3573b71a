"""Focal losses, generalized cross-entropy and class-balanced weights against oracles.

Oracles: ``F.cross_entropy`` (softmax focal at gamma=0), torch-autograd
transcriptions of each formula (torchvision's ``sigmoid_focal_loss``, which
cannot be installed here, copied from its definition; a log-space variant of
it that stays finite at extreme logits), finite differences
(``course.gradcheck``), closed-form limits, and Cui et al.'s reference code
for the class weights.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import imbalance as I

torch.set_num_threads(1)

REDUCTIONS = ["none", "mean", "sum"]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-5)}


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def value_and_grad(fn, x, *args, **kwargs):
    """Value of a torch loss and the gradient of its sum w.r.t. ``x`` (float64)."""
    xt = t64(x, grad=True)
    out = fn(xt, *args, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def assert_close(actual, expected, dtype=np.float64):
    np.testing.assert_allclose(actual, expected, **TOL[dtype])


# ------------------------------------------------------------------ oracles
def tv_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, transcribed from its definition."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def logspace_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """The same loss in log space, accurate and with finite gradients at any logit.

    (1 - p_t)^gamma = exp(gamma log(1 - p_t)), and BCE from two log-sigmoids
    (torch's BCE-with-logits computes log(1 + tiny) and loses digits at x=-20).
    """
    log_p, log_q = F.logsigmoid(inputs), F.logsigmoid(-inputs)
    log_m = torch.logaddexp(torch.log1p(-targets) + log_p, torch.log(targets) + log_q)
    bce = -(targets * log_p + (1 - targets) * log_q)
    loss = torch.exp(gamma * log_m) * bce
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


def torch_softmax_focal(x, y, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"):
    """-alpha_y (1 - p_y)^gamma log p_y, mean over the summed target weights."""
    y = torch.as_tensor(y)
    logp = F.log_softmax(x, dim=0 if x.ndim == 1 else 1)
    valid = y != ignore_index
    safe = torch.where(valid, y, 0)
    if x.ndim == 1:
        log_py = logp[safe]
    else:
        log_py = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
    w = torch.ones_like(log_py) if alpha is None else t64(alpha)[safe]
    w = w * valid
    loss = -w * (1 - log_py.exp()) ** gamma * log_py
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.sum() / w.sum()


def torch_gce(x, y, q=0.7, reduction="mean"):
    """(1 - p_y^q) / q from the softmax probabilities."""
    y = torch.as_tensor(y)
    p = F.softmax(x, dim=0 if x.ndim == 1 else 1)
    p_y = p[y] if x.ndim == 1 else p.gather(1, y.unsqueeze(1)).squeeze(1)
    loss = (1 - p_y**q) / q
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def cui_reference_weights(samples_per_cls, beta):
    """Cui et al.'s published recipe: 1 - beta^n, (1 - beta)/that, normalised to C."""
    effective_num = 1.0 - np.power(beta, samples_per_cls)
    weights = (1.0 - beta) / np.array(effective_num)
    return weights / np.sum(weights) * len(samples_per_cls)


# ------------------------------------------------------- sigmoid focal loss
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.5, 0.0), (-1.0, 1.5), (0.9, 0.5)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_focal_matches_torchvision(rng, reduction, alpha, gamma, dtype):
    x = (rng.normal(size=(6, 5)) * 3).astype(dtype)
    y = (rng.random((6, 5)) < 0.3).astype(dtype)
    y[0] = rng.random(5)  # soft targets too
    expected, expected_grad = value_and_grad(
        tv_sigmoid_focal_loss, x, t64(y), alpha, gamma, reduction)
    value = I.sigmoid_focal_loss(x, y, alpha, gamma, reduction)
    grad = I.sigmoid_focal_loss_grad(x, y, alpha, gamma, reduction)
    assert value.dtype == grad.dtype == dtype
    assert value.shape == expected.shape and grad.shape == x.shape
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


def test_sigmoid_focal_defaults_are_torchvisions(rng):
    x, y = rng.normal(size=7), (rng.random(7) < 0.5).astype(float)
    expected = tv_sigmoid_focal_loss(t64(x), t64(y)).numpy()
    assert I.sigmoid_focal_loss(x, y).shape == (7,)  # reduction "none" by default
    assert_close(I.sigmoid_focal_loss(x, y), expected)


def test_sigmoid_focal_without_alpha_and_gamma_is_bce_with_logits(rng):
    x, y = rng.normal(size=20) * 4, rng.random(20)
    expected, expected_grad = value_and_grad(
        F.binary_cross_entropy_with_logits, x, t64(y), reduction="mean")
    assert_close(I.sigmoid_focal_loss(x, y, alpha=-1, gamma=0, reduction="mean"), expected)
    assert_close(I.sigmoid_focal_loss_grad(x, y, alpha=-1, gamma=0, reduction="mean"),
                 expected_grad)


def test_sigmoid_focal_alpha_none_means_no_weighting_and_0d_input_works(rng):
    x, y = rng.normal(size=5), (rng.random(5) < 0.5).astype(float)
    np.testing.assert_array_equal(I.sigmoid_focal_loss(x, y, alpha=None),
                                  I.sigmoid_focal_loss(x, y, alpha=-1))
    np.testing.assert_array_equal(I.sigmoid_focal_loss_grad(x, y, alpha=None),
                                  I.sigmoid_focal_loss_grad(x, y, alpha=-1))
    expected, expected_grad = value_and_grad(tv_sigmoid_focal_loss, np.float64(1.5), t64(1.0))
    value, grad = I.sigmoid_focal_loss(1.5, 1.0), I.sigmoid_focal_loss_grad(1.5, 1.0)
    assert np.shape(value) == np.shape(grad) == ()
    assert_close(value, expected)
    assert_close(grad, expected_grad)


EXTREME_X = [-1e4, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e4]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_focal_extreme_logits_match_logspace_oracle(gamma, dtype):
    x = np.repeat(EXTREME_X, 3).astype(dtype)
    y = np.tile([0.0, 1.0, 0.3], len(EXTREME_X)).astype(dtype)
    expected, expected_grad = value_and_grad(logspace_sigmoid_focal_loss, x, t64(y), 0.25, gamma)
    value = I.sigmoid_focal_loss(x, y, gamma=gamma)
    grad = I.sigmoid_focal_loss_grad(x, y, gamma=gamma)
    assert np.isfinite(value).all() and np.isfinite(grad).all()
    assert value.dtype == grad.dtype == dtype
    np.testing.assert_allclose(value, expected, rtol=TOL[dtype]["rtol"], atol=1e-30)
    np.testing.assert_allclose(grad, expected_grad, rtol=TOL[dtype]["rtol"], atol=1e-30)


@pytest.mark.parametrize("x, dtype", [(100.0, np.float64), (20.0, np.float32)])
def test_sigmoid_focal_gradient_finite_where_torchvision_gives_nan(x, dtype):
    # gamma < 1 and p_t rounding to 1: autograd of torchvision's formula
    # computes 0 * inf. The true gradient, from the closed form for y = 1,
    # l = alpha s^g softplus(-x) with s = sigmoid(-x), is
    # -alpha s^g (g sigmoid(x) softplus(-x) + s), which is tiny but finite.
    gamma, alpha = 0.5, 0.25
    xt = torch.tensor([x], dtype=getattr(torch, np.dtype(dtype).name), requires_grad=True)
    tv_sigmoid_focal_loss(xt, torch.ones_like(xt), alpha, gamma).sum().backward()
    assert torch.isnan(xt.grad).all()

    grad = I.sigmoid_focal_loss_grad(np.array([x], dtype), np.array([1], dtype), alpha, gamma)
    s, softplus = np.exp(-x), np.log1p(np.exp(-x))  # float64, exact enough at x >= 20
    closed = -alpha * s**gamma * (gamma * (1 / (1 + s)) * softplus + s / (1 + s))
    assert np.isfinite(grad).all() and grad.dtype == dtype
    np.testing.assert_allclose(grad, [closed], rtol=TOL[dtype]["rtol"])


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_sigmoid_focal_gradcheck(rng, gamma, reduction):
    x = rng.normal(size=(3, 4)) * 4
    y = np.where(rng.random((3, 4)) < 0.5, 1.0, 0.0)
    y[0] = rng.random(4)
    result = gradcheck(I.sigmoid_focal_loss, I.sigmoid_focal_loss_grad, x, y,
                       alpha=0.3, gamma=gamma, reduction=reduction)
    assert result, str(result)


def test_sigmoid_focal_near_saturation_gradcheck():
    # p_t = 1 - 1e-7..1e-11: the regime where m^(gamma-1) would blow up
    x = np.array([16.0, 20.0, 25.0, -16.0, -25.0])
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0])
    result = gradcheck(I.sigmoid_focal_loss, I.sigmoid_focal_loss_grad, x, y,
                       gamma=0.5, eps=1e-4, rtol=1e-6, atol=1e-20)
    assert result, str(result)


def test_sigmoid_focal_integer_targets_keep_float32(rng):
    x = rng.normal(size=8).astype(np.float32)
    y = rng.integers(0, 2, size=8)
    assert I.sigmoid_focal_loss(x, y).dtype == np.float32
    assert I.sigmoid_focal_loss_grad(x, y, reduction="mean").dtype == np.float32
    assert I.sigmoid_focal_loss(x, y.astype(bool)).dtype == np.float32


def test_sigmoid_focal_empty_batch():
    x, y = np.zeros((0, 3)), np.zeros((0, 3))
    assert np.isnan(I.sigmoid_focal_loss(x, y, reduction="mean"))
    assert np.isnan(tv_sigmoid_focal_loss(t64(x), t64(y), reduction="mean").item())
    assert I.sigmoid_focal_loss(x, y, reduction="sum") == 0
    assert I.sigmoid_focal_loss(x, y).shape == (0, 3)
    assert I.sigmoid_focal_loss_grad(x, y, reduction="mean").shape == (0, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=1.5), "alpha"), (dict(alpha=np.nan), "alpha"),
    (dict(gamma=-0.5), "gamma"), (dict(gamma=np.inf), "gamma"), (dict(gamma=np.nan), "gamma"),
    (dict(reduction="batchmean"), "reduction"),
])
@pytest.mark.parametrize("fn", [I.sigmoid_focal_loss, I.sigmoid_focal_loss_grad])
def test_sigmoid_focal_bad_options(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(np.zeros(3), np.zeros(3), **kwargs)


@pytest.mark.parametrize("targets, match", [
    (np.zeros(4), "same shape"), (np.array([0.0, 1.5, 0.0]), r"\[0, 1\]"),
    (np.array([0.0, -1.0, 1.0]), r"\[0, 1\]"), (np.array([0.0, np.nan, 1.0]), r"\[0, 1\]"),
    (np.array(["a", "b", "c"]), "targets"),
])
def test_sigmoid_focal_bad_targets(targets, match):
    with pytest.raises(ValueError, match=match):
        I.sigmoid_focal_loss(np.zeros(3), targets)


# ------------------------------------------------------- softmax focal loss
def _class_data(rng, shape, classes_axis_size, ignore=None, dtype=np.float64):
    x = (rng.normal(size=shape) * 2).astype(dtype)
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    y = rng.integers(0, classes_axis_size, size=target_shape)
    if ignore is not None and y.ndim:
        y.reshape(-1)[::3] = ignore
    return x, y


SHAPES = [(7, 4), (3, 4, 2, 3), (5,)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_softmax_focal_at_gamma_zero_is_cross_entropy(rng, shape, reduction, weighted,
                                                      ignore_index):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x, y = _class_data(rng, shape, classes, ignore=ignore_index)
    alpha = rng.random(classes) + 0.1 if weighted else None
    expected, expected_grad = value_and_grad(
        F.cross_entropy, x, torch.as_tensor(y), weight=None if alpha is None else t64(alpha),
        ignore_index=ignore_index, reduction=reduction)
    options = dict(alpha=alpha, gamma=0.0, ignore_index=ignore_index, reduction=reduction)
    value = I.softmax_focal_loss(x, y, **options)
    assert value.shape == expected.shape
    assert_close(value, expected)
    assert_close(I.softmax_focal_loss_grad(x, y, **options), expected_grad)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("gamma", [0.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_focal_matches_torch_transcription(rng, shape, reduction, gamma, dtype):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x, y = _class_data(rng, shape, classes, ignore=-100, dtype=dtype)
    alpha = rng.random(classes) + 0.1
    expected, expected_grad = value_and_grad(
        torch_softmax_focal, x, y, alpha, gamma, -100, reduction)
    value = I.softmax_focal_loss(x, y, alpha, gamma, reduction=reduction)
    grad = I.softmax_focal_loss_grad(x, y, alpha, gamma, reduction=reduction)
    assert value.dtype == grad.dtype == dtype and grad.shape == x.shape
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("gamma", [0.0, 0.3, 2.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_softmax_focal_gradcheck(rng, gamma, reduction):
    x, y = _class_data(rng, (4, 3, 2), 3, ignore=-100)
    x[0, :, 0] = [9.0, -9.0, 0.0]  # a nearly certain correct row: the g -> 1 regime
    y[0, 0] = 0
    result = gradcheck(I.softmax_focal_loss, I.softmax_focal_loss_grad, x, y,
                       alpha=np.array([0.5, 1.0, 2.0]), gamma=gamma, reduction=reduction)
    assert result, str(result)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_softmax_focal_extreme_logits(dtype, gamma):
    x = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], dtype=dtype)
    y = np.array([0, 1])
    value = I.softmax_focal_loss(x, y, gamma=gamma, reduction="none")
    grad = I.softmax_focal_loss_grad(x, y, gamma=gamma, reduction="sum")
    # row 0 is certain and right: loss 0, gradient 0 (and 0 * (1 + gamma) = 0);
    # row 1 is certain and wrong: p_y = 0, so (1 - p_y)^gamma = 1 and it is cross-entropy
    np.testing.assert_array_equal(value, np.array([0.0, 2e4], dtype))
    np.testing.assert_array_equal(grad, np.array([[0, 0, 0], [1, -1, 0]], dtype))
    assert value.dtype == grad.dtype == dtype


def test_softmax_focal_gradient_finite_where_autograd_gives_nan():
    x, y = np.array([[50.0, 0.0, 0.0]]), np.array([0])  # p_y rounds to 1 in float64
    xt = t64(x, grad=True)
    torch_softmax_focal(xt, y, gamma=0.5).backward()
    assert torch.isnan(xt.grad).any()
    grad = I.softmax_focal_loss_grad(x, y, gamma=0.5)
    # exact: (1-s)^0.5 (1 + 0.5 g) (p - onehot) with 1 - s = 2e^-50: about 1e-33
    one_minus = 2 * np.exp(-50.0)
    closed = np.sqrt(one_minus) * 1.5 * np.array([-one_minus, np.exp(-50.0), np.exp(-50.0)])
    np.testing.assert_allclose(grad, [closed], rtol=1e-9)


def test_softmax_focal_all_ignored_and_zero_weight_follow_cross_entropy():
    x, ignored = np.ones((3, 4)), np.full(3, -100)
    assert np.isnan(I.softmax_focal_loss(x, ignored))
    assert I.softmax_focal_loss(x, ignored, reduction="sum") == 0
    np.testing.assert_array_equal(I.softmax_focal_loss(x, ignored, reduction="none"), 0)
    np.testing.assert_array_equal(I.softmax_focal_loss_grad(x, ignored), 0)
    _, torch_grad = value_and_grad(F.cross_entropy, x, torch.as_tensor(ignored))
    np.testing.assert_array_equal(torch_grad, 0)
    # every target in a class of weight 0: 0/0 for the mean and its gradient, as torch
    alpha, y = np.array([0.0, 1.0, 1.0, 1.0]), np.zeros(3, dtype=int)
    expected, expected_grad = value_and_grad(F.cross_entropy, x, torch.as_tensor(y),
                                             weight=t64(alpha))
    assert np.isnan(expected) and np.isnan(expected_grad).all()
    assert np.isnan(I.softmax_focal_loss(x, y, alpha, gamma=0.0))
    assert np.isnan(I.softmax_focal_loss_grad(x, y, alpha, gamma=0.0)).all()


def test_softmax_focal_empty_batch():
    x, y = np.zeros((0, 4)), np.zeros(0, dtype=int)
    expected = F.cross_entropy(t64(x), torch.as_tensor(y)).item()
    assert np.isnan(expected) and np.isnan(I.softmax_focal_loss(x, y))
    assert I.softmax_focal_loss(x, y, reduction="sum") == 0
    assert I.softmax_focal_loss_grad(x, y).shape == (0, 4)


@pytest.mark.parametrize("target, match", [
    (np.array([0, 4, 1]), r"\[0, 4\)"), (np.array([0, -1, 1]), r"\[0, 4\)"),
    (np.array([0.0, 1.0, 2.0]), "integer"), (np.array([0, 1]), "shape"),
])
@pytest.mark.parametrize("fn", [I.softmax_focal_loss, I.softmax_focal_loss_grad,
                                I.generalized_cross_entropy, I.generalized_cross_entropy_grad])
def test_class_losses_bad_targets(fn, target, match):
    with pytest.raises(ValueError, match=match):
        fn(np.zeros((3, 4)), target)


@pytest.mark.parametrize("kwargs, match", [
    (dict(alpha=0.25), "alpha"), (dict(alpha=np.ones(3)), "alpha"),
    (dict(alpha=np.array([1.0, -1.0, 1.0, 1.0])), "alpha"), (dict(gamma=-1.0), "gamma"),
    (dict(reduction="avg"), "reduction"),
])
def test_softmax_focal_bad_options(kwargs, match):
    for fn in (I.softmax_focal_loss, I.softmax_focal_loss_grad):
        with pytest.raises(ValueError, match=match):
            fn(np.zeros((3, 4)), np.array([0, 1, 2]), **kwargs)


def test_class_losses_bad_input_shape():
    for fn in (I.softmax_focal_loss, I.generalized_cross_entropy):
        with pytest.raises(ValueError, match="input"):
            fn(np.float64(1.0), np.int64(0))
        with pytest.raises(ValueError, match="class"):
            fn(np.zeros((3, 0)), np.zeros(3, dtype=int))


# --------------------------------------------------- generalized cross-entropy
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("q", [0.1, 0.7, 1.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gce_matches_torch_transcription(rng, shape, reduction, q, dtype):
    classes = shape[0] if len(shape) == 1 else shape[1]
    x, y = _class_data(rng, shape, classes, dtype=dtype)
    expected, expected_grad = value_and_grad(torch_gce, x, y, q, reduction)
    value = I.generalized_cross_entropy(x, y, q, reduction)
    grad = I.generalized_cross_entropy_grad(x, y, q, reduction)
    assert value.dtype == grad.dtype == dtype and value.shape == expected.shape
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gce_gradcheck(rng, reduction):
    x, y = _class_data(rng, (5, 4), 4)
    result = gradcheck(I.generalized_cross_entropy, I.generalized_cross_entropy_grad,
                       x, y, q=0.4, reduction=reduction)
    assert result, str(result)


@pytest.mark.parametrize("q", [1e-4, 1e-7, 1e-10])
def test_gce_tends_to_cross_entropy_as_q_goes_to_zero(rng, q):
    x, y = _class_data(rng, (6, 5), 5)
    x[0] = [30.0, -30.0, 0.0, 1.0, 2.0]  # include a very small and a very large -log p_y
    y[0] = 1
    expected, expected_grad = value_and_grad(F.cross_entropy, x, torch.as_tensor(y),
                                             reduction="none")
    # L_q = CE - q CE^2 / 2 + ...: relative gap about q * CE / 2
    rtol = q * expected.max()
    np.testing.assert_allclose(I.generalized_cross_entropy(x, y, q, "none"), expected, rtol=rtol)
    np.testing.assert_allclose(I.generalized_cross_entropy_grad(x, y, q, "none"), expected_grad,
                               rtol=rtol, atol=rtol)


def test_gce_at_q_one_is_one_minus_p(rng):
    x, y = _class_data(rng, (6, 5), 5)
    p_y = F.softmax(t64(x), 1).numpy()[np.arange(6), y]
    assert_close(I.generalized_cross_entropy(x, y, q=1.0, reduction="none"), 1 - p_y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gce_extreme_logits_are_bounded_by_one_over_q(dtype):
    x = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], dtype=dtype)
    y = np.array([0, 1])
    value = I.generalized_cross_entropy(x, y, q=0.5, reduction="none")
    grad = I.generalized_cross_entropy_grad(x, y, q=0.5, reduction="sum")
    np.testing.assert_array_equal(value, np.array([0.0, 2.0], dtype))
    np.testing.assert_array_equal(grad, np.zeros((2, 3), dtype))  # p_y^q kills the wrong row
    assert value.dtype == grad.dtype == dtype


def test_gce_empty_batch():
    x, y = np.zeros((0, 3)), np.zeros(0, dtype=int)
    assert np.isnan(torch_gce(t64(x), y).item()) and np.isnan(I.generalized_cross_entropy(x, y))
    assert I.generalized_cross_entropy(x, y, reduction="sum") == 0
    assert I.generalized_cross_entropy_grad(x, y).shape == (0, 3)


@pytest.mark.parametrize("q", [0.0, -0.1, 1.5, np.nan])
def test_gce_bad_q(q):
    for fn in (I.generalized_cross_entropy, I.generalized_cross_entropy_grad):
        with pytest.raises(ValueError, match="q must"):
            fn(np.zeros((2, 3)), np.array([0, 1]), q=q)


# ------------------------------------------------------ class-balanced weights
@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99, 0.999, 0.9999])
def test_class_balanced_weights_match_cui_reference(rng, beta):
    counts = rng.integers(1, 5000, size=6)
    expected = cui_reference_weights(counts, beta)
    weights = I.class_balanced_weights(counts, beta)
    np.testing.assert_allclose(weights, expected, rtol=1e-10)
    assert weights.dtype == np.float64
    np.testing.assert_allclose(weights.sum(), 6)


def test_class_balanced_weights_limits():
    counts = np.array([10, 100, 1000, 1])
    np.testing.assert_array_equal(I.class_balanced_weights(counts, beta=0.0), 1.0)
    np.testing.assert_allclose(I.class_balanced_weights([7, 7, 7], beta=0.99), 1.0)
    # beta -> 1: inverse class frequency, normalised to sum to C
    inverse = (1 / counts) / np.sum(1 / counts) * 4
    np.testing.assert_allclose(I.class_balanced_weights(counts, beta=1 - 1e-12), inverse,
                               rtol=1e-8)


def test_class_balanced_weights_zero_counts_get_weight_zero():
    counts = np.array([0, 10, 100, 0, 1000])
    weights = I.class_balanced_weights(counts, beta=0.99)
    assert np.isfinite(weights).all()
    np.testing.assert_array_equal(weights[[0, 3]], 0)
    np.testing.assert_allclose(weights[[1, 2, 4]], cui_reference_weights(counts[[1, 2, 4]], 0.99))
    np.testing.assert_allclose(weights.sum(), 3)


def test_class_balanced_weights_float32_and_float_counts():
    weights = I.class_balanced_weights(np.array([3.0, 30.5, 300.0], np.float32), beta=0.9)
    assert weights.dtype == np.float32
    np.testing.assert_allclose(weights, cui_reference_weights([3.0, 30.5, 300.0], 0.9),
                               rtol=1e-6)


@pytest.mark.parametrize("counts, beta, match", [
    ([1, 2], 1.0, "beta"), ([1, 2], -0.1, "beta"), ([1, 2], np.nan, "beta"),
    ([1, -2], 0.9, "counts"), ([1, np.nan], 0.9, "counts"), ([1, np.inf], 0.9, "counts"),
    ([[1, 2]], 0.9, "counts"), (5, 0.9, "counts"), ([0, 0], 0.9, "positive"), ([], 0.9, "positive"),
])
def test_class_balanced_weights_bad_input(counts, beta, match):
    with pytest.raises(ValueError, match=match):
        I.class_balanced_weights(counts, beta)
