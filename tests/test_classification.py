"""course.losses.classification against torch.nn.functional (values and autograd gradients).

Every comparison runs the same NumPy data through PyTorch: float64 at
rtol 1e-10, float32 at rtol 1e-4 with the dtype preserved. Finite
differences (course.gradcheck) check the gradients once more, and the edge
cases of research/losses.md section 4 are pinned down one by one.
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import classification as C

DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-6)}
INF = np.inf


def to_torch(value, requires_grad=False):
    if isinstance(value, (np.ndarray, np.generic)):
        tensor = torch.from_numpy(np.array(value))
        return tensor.requires_grad_(True) if requires_grad else tensor
    return value


def torch_loss(fn, input, *args, **kwargs):
    """Value of ``fn`` and the gradient of its sum w.r.t. ``input``, as NumPy arrays."""
    x = to_torch(input, requires_grad=True)
    args = [to_torch(a) for a in args]
    kwargs = {k: to_torch(v) for k, v in kwargs.items()}
    out = fn(x, *args, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


def assert_matches(ours, reference, dtype):
    ours = np.asarray(ours)
    assert ours.dtype == dtype, f"dtype {ours.dtype}, expected {np.dtype(dtype)}"
    assert ours.shape == reference.shape, f"shape {ours.shape}, expected {reference.shape}"
    np.testing.assert_allclose(ours, reference, equal_nan=True, **TOL[dtype])


def check_against_torch(ours, ours_grad, torch_fn, dtype, input, *args, **kwargs):
    """Compare a course loss and its gradient with torch on the same arguments."""
    value, grad = torch_loss(torch_fn, input, *args, **kwargs)
    assert_matches(ours(input, *args, **kwargs), value, dtype)
    assert_matches(ours_grad(input, *args, **kwargs), grad, dtype)


def test_importing_course_losses_does_not_import_torch():
    code = "import course.losses, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_softmax_helpers_are_exported():
    assert {"softmax", "log_softmax"} <= set(C.__all__)
    x = np.array([[1e4, -1e4, 0.0]])
    np.testing.assert_allclose(C.softmax(x), [[1.0, 0.0, 0.0]])
    np.testing.assert_allclose(C.log_softmax(x), [[0.0, -2e4, -1e4]])


# ============================================================ cross-entropy
CE_SHAPES = [(5,), (6, 5), (3, 5, 4), (2, 5, 3, 2)]


def index_targets(rng, shape, ignore):
    """Integer targets for logits of ``shape``, some set to the ignored value."""
    classes = shape[0] if len(shape) == 1 else shape[1]
    batch = () if len(shape) == 1 else (shape[0],) + shape[2:]
    target = rng.integers(0, classes, size=batch)
    ignore_index = -100
    if ignore == "some":
        target.reshape(-1)[::3] = -100
    elif ignore == "class 1":
        ignore_index = 1  # a real class, ignored
    return target, ignore_index


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("ignore", ["none", "some", "class 1"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_index_targets_match_torch(
    rng, dtype, shape, ignore, weighted, label_smoothing, reduction
):
    x = (3 * rng.normal(size=shape)).astype(dtype)
    target, ignore_index = index_targets(rng, shape, ignore)
    classes = shape[0] if len(shape) == 1 else shape[1]
    weight = rng.uniform(0.2, 2.0, size=classes).astype(dtype) if weighted else None
    options = dict(weight=weight, ignore_index=ignore_index, reduction=reduction,
                   label_smoothing=label_smoothing)
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, dtype,
                        x, target, **options)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probability_targets_match_torch(
    rng, dtype, shape, weighted, label_smoothing, reduction
):
    x = rng.normal(size=shape).astype(dtype)
    axis = 0 if len(shape) == 1 else 1
    target = C.softmax(rng.normal(size=shape), axis=axis).astype(dtype)
    if len(shape) >= 2:
        target[0] *= 0.7  # targets need not sum to 1
    weight = rng.uniform(0.2, 2.0, size=shape[axis]).astype(dtype) if weighted else None
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, dtype, x,
                        target, weight=weight, reduction=reduction,
                        label_smoothing=label_smoothing)


@pytest.mark.parametrize("seed", range(12))
def test_cross_entropy_random_shapes_match_torch(seed):
    rng = np.random.default_rng(seed)
    ndim = rng.integers(1, 5)
    shape = tuple(int(n) for n in rng.integers(1, 6, size=ndim))
    if ndim >= 2 and rng.random() < 0.3:
        shape = (0,) + shape[1:]  # an empty batch now and then
    x = rng.normal(scale=rng.uniform(0.1, 20), size=shape)
    target, ignore_index = index_targets(rng, shape, rng.choice(["none", "some"]))
    options = dict(ignore_index=ignore_index, reduction=str(rng.choice(REDUCTIONS)),
                   label_smoothing=float(rng.choice([0.0, 0.3])))
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, np.float64,
                        x, target, **options)


def test_cross_entropy_k_dim_equals_flattened(rng):
    x = rng.normal(size=(2, 4, 3, 5))
    target = rng.integers(0, 4, size=(2, 3, 5))
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, 4)
    weight = rng.random(4)
    np.testing.assert_allclose(
        C.cross_entropy(x, target, weight), C.cross_entropy(flat_x, target.reshape(-1), weight),
        rtol=1e-12)
    grad = C.cross_entropy_grad(x, target, weight)
    flat_grad = C.cross_entropy_grad(flat_x, target.reshape(-1), weight)
    np.testing.assert_allclose(np.moveaxis(grad, 1, -1).reshape(-1, 4), flat_grad, rtol=1e-12)


def test_token_level_cross_entropy_over_padded_sequences(rng):
    """Language-model loss: logits (N, T, C) -> (N, C, T), padding ignored."""
    batch, steps, vocab, pad = 4, 7, 11, -100
    lengths = np.array([7, 3, 5, 1])
    logits = rng.normal(size=(batch, steps, vocab))
    tokens = rng.integers(0, vocab, size=(batch, steps))
    tokens[np.arange(steps)[None, :] >= lengths[:, None]] = pad
    x = np.transpose(logits, (0, 2, 1))
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, np.float64,
                        x, tokens, ignore_index=pad)
    # the mean runs over real tokens only: sum(lengths) of them
    per_token = [-C.log_softmax(logits[b, t])[tokens[b, t]]
                 for b in range(batch) for t in range(lengths[b])]
    np.testing.assert_allclose(C.cross_entropy(x, tokens, ignore_index=pad),
                               np.mean(per_token), rtol=1e-12)
    assert len(per_token) == lengths.sum()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradcheck(rng, label_smoothing, reduction):
    x = rng.normal(size=(4, 3, 2))
    target = rng.integers(0, 3, size=(4, 2))
    target[0, 0] = -100
    result = gradcheck(C.cross_entropy, C.cross_entropy_grad, x, target, rng.random(3),
                       reduction=reduction, label_smoothing=label_smoothing)
    assert result, str(result)
    probs = C.softmax(rng.normal(size=(4, 3)), axis=1)
    result = gradcheck(C.cross_entropy, C.cross_entropy_grad, rng.normal(size=(4, 3)), probs,
                       reduction=reduction, label_smoothing=label_smoothing)
    assert result, str(result)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_logits_1e4_stay_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], dtype=dtype)
    loss = C.cross_entropy(x, np.array([1, 0]), reduction="none")
    np.testing.assert_array_equal(loss, [2e4, 0.0])
    grad = C.cross_entropy_grad(x, np.array([1, 0]), reduction="sum")
    np.testing.assert_array_equal(grad, [[1, -1, 0], [0, 0, 0]])
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, dtype, x,
                        np.array([1, 0]), reduction="none", label_smoothing=0.1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_logits_near_1e7(dtype):
    x = np.array([[1e7, 1e7 + 1]], dtype=dtype)
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, dtype, x,
                        np.array([0]))
    np.testing.assert_allclose(C.cross_entropy(x, np.array([0])), 1.3132617, rtol=1e-3)


def test_cross_entropy_minus_inf_logits_behave_as_torch():
    x = np.array([[0.0, -INF]])
    assert C.cross_entropy(x, np.array([0])) == 0
    assert C.cross_entropy(x, np.array([1])) == INF
    np.testing.assert_array_equal(C.cross_entropy_grad(x, np.array([1])), [[1, -1]])
    np.testing.assert_array_equal(C.cross_entropy_grad(x, np.array([0])), [[0, 0]])
    assert C.cross_entropy(x, np.array([0]), label_smoothing=0.1) == INF
    assert np.isnan(C.cross_entropy(x, np.array([[1.0, 0.0]])))  # 0 * -inf
    assert np.isnan(C.cross_entropy(np.full((1, 3), -INF), np.array([0])))
    cases = [
        (x, np.array([1]), {}),
        (x, np.array([0]), dict(label_smoothing=0.1)),
        (x, np.array([1]), dict(label_smoothing=1.0)),
        (x, np.array([[1.0, 0.0]]), {}),
        (np.array([[0.0, -INF, 0.0]]), np.array([0]),
         dict(label_smoothing=0.1, weight=np.array([1.0, 0.0, 1.0]))),
        (np.array([[0.0, -INF, 0.0]]), np.array([1]), dict(weight=np.array([1.0, 0.0, 1.0]))),
        (np.array([[-INF, -INF, -INF], [1.0, 0.0, 0.0]]), np.array([-100, 1]), {}),
        (np.array([[INF, 0.0, 0.0]]), np.array([1]), {}),
    ]
    for logits, target, options in cases:
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy,
                            np.float64, logits, target, **options)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_cross_entropy_every_target_ignored(rng, label_smoothing):
    x = rng.normal(size=(3, 4))
    target = np.full(3, -100)
    options = dict(label_smoothing=label_smoothing)
    assert np.isnan(C.cross_entropy(x, target, **options))  # 0 / 0, as in PyTorch
    assert C.cross_entropy(x, target, reduction="sum", **options) == 0
    np.testing.assert_array_equal(C.cross_entropy(x, target, reduction="none", **options), 0)
    np.testing.assert_array_equal(C.cross_entropy_grad(x, target, **options), 0)
    check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, np.float64,
                        x, target, **options)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_zero_weight_classes(rng, label_smoothing, reduction):
    x = rng.normal(size=(4, 3))
    weight = np.array([0.0, 0.0, 2.0])
    every_target_weightless = np.array([0, 1, 1, 0])
    mixed = np.array([0, 2, 1, -100])
    for target in (every_target_weightless, mixed):
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy,
                            np.float64, x, target, weight=weight, reduction=reduction,
                            label_smoothing=label_smoothing)
    if reduction == "mean":
        assert np.isnan(C.cross_entropy(x, every_target_weightless, weight))
    if reduction == "none" and label_smoothing:
        # a weightless row still pays the (weighted) smoothing term
        loss = C.cross_entropy(x, every_target_weightless, weight, reduction="none",
                               label_smoothing=label_smoothing)
        assert np.all(loss > 0)


def test_cross_entropy_torch_denominators():
    """Weighted mean divides by the sum of target weights; probabilities by N."""
    x = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    weight = np.array([1.0, 2.0, 10.0])
    target = np.array([1, 2])
    per_row = -np.array([C.log_softmax(x[0])[1], C.log_softmax(x[1])[2]])
    expected = (2.0 * per_row[0] + 10.0 * per_row[1]) / 12.0
    np.testing.assert_allclose(C.cross_entropy(x, target, weight), expected, rtol=1e-14)
    probs = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(C.cross_entropy(x, probs, weight),
                               (2.0 * per_row[0] + 10.0 * per_row[1]) / 2, rtol=1e-14)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_empty_batch(reduction):
    for x, target in [(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
                      (np.zeros((0, 3)), np.zeros((0, 3))),
                      (np.zeros((2, 3, 0)), np.zeros((2, 0), dtype=np.int64))]:
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy,
                            np.float64, x, target, reduction=reduction)
    loss = C.cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction=reduction)
    if reduction == "mean":
        assert np.isnan(loss)
    elif reduction == "sum":
        assert loss == 0


@pytest.mark.parametrize(
    "target, options, message",
    [
        (np.array([0, 3]), {}, "target class indices"),
        (np.array([0, -1]), {}, "target class indices"),
        (np.array([0, -7]), dict(ignore_index=-1), "target class indices"),
        (np.array([0, 1, 2]), {}, "shape"),
        (np.array([[0], [1]]), {}, "shape"),
        (np.array([0.0, 1.0]), {}, "class indices"),
        (np.array([0, 1]), dict(label_smoothing=1.5), "label_smoothing"),
        (np.array([0, 1]), dict(label_smoothing=-0.1), "label_smoothing"),
        (np.array([0, 1]), dict(weight=np.ones(2)), "weight"),
        (np.array([0, 1]), dict(weight=np.ones((1, 3))), "weight"),
        (np.array([0, 1]), dict(reduction="batchmean"), "reduction"),
        (np.full((2, 3), 1 / 3), dict(ignore_index=0), "ignore_index"),
    ],
)
def test_cross_entropy_rejects_bad_input(target, options, message):
    x = np.zeros((2, 3))
    for fn in (C.cross_entropy, C.cross_entropy_grad):
        with pytest.raises(ValueError, match=message):
            fn(x, target, **options)


def test_cross_entropy_accepts_any_integer_targets(rng):
    """torch insists on int64 targets; NumPy code often has int32 (or uint8) labels."""
    x = rng.normal(size=(4, 3))
    target = np.array([0, 2, 1, 2])
    expected = C.cross_entropy(x, target)
    for dtype in (np.int32, np.uint8, np.int16):
        assert C.cross_entropy(x, target.astype(dtype)) == expected
        np.testing.assert_array_equal(C.cross_entropy_grad(x, target.astype(dtype)),
                                      C.cross_entropy_grad(x, target))


def test_cross_entropy_ignore_index_minus_one_allows_minus_one():
    x = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_allclose(C.cross_entropy(x, np.array([-1, 1]), ignore_index=-1),
                               C.cross_entropy(x[1:], np.array([1])))
    # with probability targets a negative ignore_index is accepted and unused, as in torch
    probs = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    assert C.cross_entropy(x, probs, ignore_index=-1) == C.cross_entropy(x, probs)


def test_cross_entropy_large_batch_uses_both_softmax_paths(rng):
    """Small logits take the unshifted exp path, huge or -inf ones the row-max path."""
    x = rng.normal(size=(64, 10))
    target = rng.integers(0, 10, 64)
    for logits in (x, x + 500.0, x - 500.0, np.where(x > 1.5, -INF, x)):
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy,
                            np.float64, logits, target)
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy,
                            np.float32, logits.astype(np.float32), target)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("base", [0.0, 40.0, -60.0, 500.0])
def test_cross_entropy_of_confident_rows_keeps_relative_precision(dtype, base):
    """The error of a small loss is a few ulps of 1, as in torch, whatever the logits' offset.

    (Computing log(sums) - x_target without a shift would make it ulps of |x|.)
    """
    gaps = np.array([30.0, 20.0, 12.0, 5.0]) if dtype == np.float64 else np.array([15.0, 8.0])
    x = np.stack([base + gaps, np.full_like(gaps, base)], axis=1).astype(dtype)
    loss = C.cross_entropy(x, np.zeros(len(gaps), dtype=np.int64), reduction="none")
    exact = np.log1p(np.exp(-gaps))  # log(1 + e^-gap), in float64
    np.testing.assert_allclose(loss, exact, rtol=0, atol=4 * np.finfo(dtype).eps)
    for soft in (False, True):
        target = np.eye(2, dtype=dtype)[np.zeros(len(gaps), dtype=int)] if soft else np.zeros(
            len(gaps), dtype=np.int64)
        check_against_torch(C.cross_entropy, C.cross_entropy_grad, F.cross_entropy, dtype, x,
                            target, reduction="none")


def test_cross_entropy_equals_nll_of_log_softmax(rng):
    x = rng.normal(size=(5, 4, 3))
    target = rng.integers(0, 4, size=(5, 3))
    weight = rng.random(4)
    np.testing.assert_allclose(C.cross_entropy(x, target, weight),
                               C.nll_loss(C.log_softmax(x, axis=1), target, weight), rtol=1e-12)


# ====================================================================== NLL
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("ignore", ["none", "some", "class 1"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(rng, dtype, shape, ignore, weighted, reduction):
    axis = 0 if len(shape) == 1 else 1
    x = C.log_softmax(rng.normal(size=shape), axis=axis).astype(dtype)
    target, ignore_index = index_targets(rng, shape, ignore)
    weight = rng.uniform(0.2, 2.0, size=shape[axis]).astype(dtype) if weighted else None
    check_against_torch(C.nll_loss, C.nll_loss_grad, F.nll_loss, dtype, x, target,
                        weight=weight, ignore_index=ignore_index, reduction=reduction)


def test_nll_loss_edges_match_torch(rng):
    x = np.log(C.softmax(rng.normal(size=(2, 2)), axis=1))
    cases = [
        (x, np.array([1, 0]), dict(weight=np.zeros(2))),  # mean 0/0: NaN, gradient NaN
        (x, np.array([-100, -100]), {}),  # all ignored: NaN, gradient 0
        (np.array([[-1.0, -INF], [-3.0, -4.0]]), np.array([1, 0]),
         dict(weight=np.array([1.0, 0.0]), reduction="none")),  # 0 * inf
        (np.array([-1.0, -2.0]), np.array(1), {}),  # unbatched
        (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), {}),
        (np.zeros((0, 3)), np.zeros(0, dtype=np.int64), dict(reduction="sum")),
    ]
    for logits, target, options in cases:
        check_against_torch(C.nll_loss, C.nll_loss_grad, F.nll_loss, np.float64, logits,
                            target, **options)
    with pytest.raises(ValueError, match="target class indices"):
        C.nll_loss(x, np.array([0, 2]))
    assert gradcheck(C.nll_loss, C.nll_loss_grad, x, np.array([1, 0]), rng.random(2))


# ====================================================== binary cross-entropy
def weights_for(rng, kind, shape, dtype):
    """No weight, or one per element, per class (last axis), or per sample (a column)."""
    if kind == "none":
        return None
    shapes = {"full": shape, "last axis": shape[-1:],
              "column": shape[:1] + (1,) * (len(shape) - 1)}
    return rng.uniform(0.1, 2.0, size=shapes[kind]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize("weight", ["none", "full", "last axis", "column"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(rng, dtype, shape, weight, reduction):
    p = rng.uniform(0.01, 0.99, size=shape).astype(dtype)
    y = rng.uniform(size=shape).astype(dtype)
    y.reshape(-1)[::2] = np.round(y.reshape(-1)[::2])
    check_against_torch(C.binary_cross_entropy, C.binary_cross_entropy_grad,
                        F.binary_cross_entropy, dtype, p, y,
                        weight=weights_for(rng, weight, shape, dtype), reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_at_probabilities_0_and_1(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-13, 1 - 1e-7], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0], dtype=dtype)
    check_against_torch(C.binary_cross_entropy, C.binary_cross_entropy_grad,
                        F.binary_cross_entropy, dtype, p, y, reduction="none")
    loss = C.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_array_equal(loss[:4], [100, 100, 0, 0])  # logs clamped at -100
    grad = C.binary_cross_entropy_grad(p, y, reduction="none")
    np.testing.assert_allclose(grad[:4], [-1e12, 1e12, 0, 0], rtol=1e-6)


def test_binary_cross_entropy_of_a_saturated_sigmoid():
    for dtype, expected in [(np.float32, 100.0), (np.float64, 20.0)]:
        p = np.array([1 / (1 + np.exp(-20.0))], dtype=dtype)
        np.testing.assert_allclose(C.binary_cross_entropy(p, np.zeros(1, dtype)), expected,
                                   rtol=1e-6)


@pytest.mark.parametrize(
    "p, y, weight, message",
    [
        (np.array([0.5, 1.5]), np.array([0.0, 1.0]), None, "input must lie in"),
        (np.array([0.5, -0.1]), np.array([0.0, 1.0]), None, "input must lie in"),
        (np.array([0.5, np.nan]), np.array([0.0, 1.0]), None, "input must lie in"),
        (np.array([0.5, 0.5]), np.array([0.0, 2.0]), None, "target must lie in"),
        (np.array([0.5, 0.5]), np.array([0.0, 1.0, 1.0]), None, "same shape"),
        (np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.ones(3), "weight must broadcast"),
        (np.array([0.5, 0.5]), np.array([0.0, 1.0]), np.ones((2, 2)), "weight must broadcast"),
    ],
)
def test_binary_cross_entropy_rejects_bad_input(p, y, weight, message):
    for fn in (C.binary_cross_entropy, C.binary_cross_entropy_grad):
        with pytest.raises(ValueError, match=message):
            fn(p, y, weight)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize("weight", ["none", "full", "last axis", "column"])
@pytest.mark.parametrize("pos_weight", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_matches_torch(rng, dtype, shape, weight, pos_weight, reduction):
    x = (4 * rng.normal(size=shape)).astype(dtype)
    y = rng.uniform(size=shape).astype(dtype)
    y.reshape(-1)[::2] = np.round(y.reshape(-1)[::2])
    pw = rng.uniform(0.5, 4.0, size=shape[-1:]).astype(dtype) if pos_weight else None
    check_against_torch(C.binary_cross_entropy_with_logits,
                        C.binary_cross_entropy_with_logits_grad,
                        F.binary_cross_entropy_with_logits, dtype, x, y,
                        weight=weights_for(rng, weight, shape, dtype), reduction=reduction,
                        pos_weight=pw)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme_logits(dtype):
    x = np.array([1e4, -1e4, 1e4, -1e4, -1e4, 40.0, -40.0], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0], dtype=dtype)
    pw = np.full(7, 3.0, dtype=dtype)
    loss = C.binary_cross_entropy_with_logits(x[:4], y[:4], reduction="none")
    np.testing.assert_array_equal(loss, [0, 0, 1e4, 1e4])
    loss = C.binary_cross_entropy_with_logits(x[4:5], y[4:5], pos_weight=pw[4:5])
    assert loss == 3e4
    for options in ({}, dict(pos_weight=pw)):
        check_against_torch(C.binary_cross_entropy_with_logits,
                            C.binary_cross_entropy_with_logits_grad,
                            F.binary_cross_entropy_with_logits, dtype, x, y,
                            reduction="none", **options)


def test_bce_with_logits_infinite_logits_as_torch():
    x = np.array([INF, INF, INF, -INF, -INF, -INF])
    y = np.array([0.0, 1.0, 0.5, 0.0, 1.0, 0.5])
    check_against_torch(C.binary_cross_entropy_with_logits,
                        C.binary_cross_entropy_with_logits_grad,
                        F.binary_cross_entropy_with_logits, np.float64, x, y, reduction="none")


def test_bce_with_logits_pos_weight_broadcasts_like_torch(rng):
    x, y = rng.normal(size=(2, 3)), rng.uniform(size=(2, 3))
    check_against_torch(C.binary_cross_entropy_with_logits,
                        C.binary_cross_entropy_with_logits_grad,
                        F.binary_cross_entropy_with_logits, np.float64, x, y,
                        pos_weight=rng.uniform(size=(2, 1)), reduction="none")
    for bad in (np.ones(2), np.ones((3, 1)), np.ones((1, 2, 3))):
        with pytest.raises(ValueError, match="pos_weight must broadcast"):
            C.binary_cross_entropy_with_logits(x, y, pos_weight=bad)
        with pytest.raises(ValueError, match="weight must broadcast"):
            C.binary_cross_entropy_with_logits_grad(x, y, weight=bad)
    with pytest.raises(ValueError, match="same shape"):
        C.binary_cross_entropy_with_logits(x, y[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses_gradcheck(rng, reduction):
    x, y = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    options = dict(weight=rng.random(4), reduction=reduction)
    assert gradcheck(C.binary_cross_entropy_with_logits, C.binary_cross_entropy_with_logits_grad,
                     x, y, pos_weight=rng.random(4) + 0.5, **options)
    assert gradcheck(C.binary_cross_entropy, C.binary_cross_entropy_grad,
                     rng.uniform(0.05, 0.95, size=(3, 4)), y, **options)
    assert gradcheck(C.multilabel_soft_margin_loss, C.multilabel_soft_margin_loss_grad,
                     x, y, **options)
    assert gradcheck(C.soft_margin_loss, C.soft_margin_loss_grad, x, np.sign(y - 0.5),
                     reduction=reduction)


# ========================================================= soft margin losses
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_loss_matches_torch(rng, dtype, reduction):
    x = (3 * rng.normal(size=(5, 4))).astype(dtype)
    y = rng.choice([-1.0, 1.0], size=(5, 4)).astype(dtype)
    y[0, 0] = 0.5  # any real label is accepted, as in torch
    check_against_torch(C.soft_margin_loss, C.soft_margin_loss_grad, F.soft_margin_loss,
                        dtype, x, y, reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_loss_stays_finite_where_torch_overflows(dtype):
    x = np.array([-100.0, -1000.0, 1000.0], dtype=dtype)
    y = np.ones(3, dtype=dtype)
    np.testing.assert_allclose(C.soft_margin_loss(x, y, reduction="none"), [100, 1000, 0])
    np.testing.assert_allclose(C.soft_margin_loss_grad(x, y, reduction="none"), [-1, -1, 0])
    # torch computes log(1 + exp(-y x)) directly: inf at -1000 (and at -100 in float32)
    torch_value = F.soft_margin_loss(torch.from_numpy(x), torch.from_numpy(y), reduction="none")
    assert torch.isinf(torch_value[1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss_matches_torch(rng, dtype, shape, weighted, reduction):
    x = (3 * rng.normal(size=shape)).astype(dtype)
    y = rng.integers(0, 2, size=shape).astype(dtype)
    weight = rng.uniform(0.1, 2.0, size=shape[-1]).astype(dtype) if weighted else None
    check_against_torch(C.multilabel_soft_margin_loss, C.multilabel_soft_margin_loss_grad,
                        F.multilabel_soft_margin_loss, dtype, x, y, weight=weight,
                        reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_soft_margin_loss_extreme_logits(dtype):
    x = np.array([[-1e4, 1e4], [40.0, -40.0]], dtype=dtype)
    y = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=dtype)
    np.testing.assert_allclose(C.multilabel_soft_margin_loss(x[:1], y[:1]), 1e4)
    check_against_torch(C.multilabel_soft_margin_loss, C.multilabel_soft_margin_loss_grad,
                        F.multilabel_soft_margin_loss, dtype, x, y, reduction="none")


# ============================================================ margin losses
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("margin", [1.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("unbatched", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss_matches_torch(rng, dtype, p, margin, weighted, unbatched, reduction):
    x = rng.normal(size=(6, 4)).astype(dtype)
    target = rng.integers(0, 4, size=6)
    if unbatched:
        x, target = x[0], target[0]
    weight = rng.uniform(0.1, 3.0, size=4).astype(dtype) if weighted else None
    check_against_torch(C.multi_margin_loss, C.multi_margin_loss_grad, F.multi_margin_loss,
                        dtype, x, target, p=p, margin=margin, weight=weight,
                        reduction=reduction)


def test_multi_margin_loss_tie_and_errors():
    x = np.array([[1.0, 0.0, 0.5]])  # class 1 sits exactly at the margin
    for p in (1, 2):
        check_against_torch(C.multi_margin_loss, C.multi_margin_loss_grad,
                            F.multi_margin_loss, np.float64, x, np.array([0]), p=p,
                            reduction="none")
    np.testing.assert_allclose(C.multi_margin_loss_grad(x, np.array([0])), [[-1/3, 0, 1/3]])
    assert gradcheck(C.multi_margin_loss, C.multi_margin_loss_grad,
                     np.array([[0.3, 0.1, 0.9], [2.0, -1.0, 0.2]]), np.array([0, 2]), p=2)
    bad = [
        (np.array([0]), dict(p=3), "p must be 1 or 2"),
        (np.array([3]), {}, "target class indices"),
        (np.array([-1]), {}, "target class indices"),
        (np.array([0, 1]), {}, "target must have shape"),
        (np.array([0]), dict(weight=np.ones(2)), "weight"),
    ]
    for target, options, message in bad:
        with pytest.raises(ValueError, match=message):
            C.multi_margin_loss(x, target, **options)
    with pytest.raises(ValueError, match="empty batch"):
        C.multi_margin_loss(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="empty batch"):
        C.multi_margin_loss_grad(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        C.multi_margin_loss(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64))


def multilabel_targets(rng, count, classes):
    """Rows listing target classes up to a -1, with junk after it and the odd duplicate."""
    target = rng.integers(-1, classes, size=(count, classes))
    target[0] = -1  # no targets
    target[1] = np.arange(classes)  # every class a target
    target[2, :3] = [1, 1, -1]  # a duplicate counts twice
    return target


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin_loss_matches_torch(rng, dtype, reduction):
    x = rng.normal(size=(8, 5)).astype(dtype)
    target = multilabel_targets(rng, 8, 5)
    check_against_torch(C.multilabel_margin_loss, C.multilabel_margin_loss_grad,
                        F.multilabel_margin_loss, dtype, x, target, reduction=reduction)
    check_against_torch(C.multilabel_margin_loss, C.multilabel_margin_loss_grad,
                        F.multilabel_margin_loss, dtype, x[3], target[3], reduction=reduction)


def test_multilabel_margin_loss_tie_and_errors(rng):
    x = np.array([[1.0, 0.0]])  # target 0 beats class 1 by exactly the margin
    target = np.array([[0, -1]])
    assert C.multilabel_margin_loss(x, target) == 0
    np.testing.assert_array_equal(C.multilabel_margin_loss_grad(x, target), [[0, 0]])
    check_against_torch(C.multilabel_margin_loss, C.multilabel_margin_loss_grad,
                        F.multilabel_margin_loss, np.float64, x, target)
    assert gradcheck(C.multilabel_margin_loss, C.multilabel_margin_loss_grad,
                     rng.normal(size=(3, 4)), np.array([[3, 0, -1, 1], [2, -1, 0, 0],
                                                        [0, 1, 2, -1]]))
    for bad in (np.array([[0, -2]]), np.array([[2, -1]]), np.array([[0, -1, 5]])):
        with pytest.raises(ValueError, match="target"):
            C.multilabel_margin_loss(x, bad)
    with pytest.raises(ValueError, match="empty batch"):
        C.multilabel_margin_loss(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="empty batch"):
        C.multilabel_margin_loss_grad(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("margin", [1.0, 0.5, -0.5])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding_loss_matches_torch(rng, dtype, margin, reduction):
    x = rng.normal(size=(4, 5)).astype(dtype)
    y = rng.choice([-1.0, 1.0], size=(4, 5)).astype(dtype)
    y[0, :3] = [0.0, 3.0, -2.0]  # other labels get both terms, as in torch
    x[1, 0], y[1, 0] = margin, -1.0  # exactly at the margin: active
    check_against_torch(C.hinge_embedding_loss, C.hinge_embedding_loss_grad,
                        F.hinge_embedding_loss, dtype, x, y, margin=margin,
                        reduction=reduction)


def test_hinge_embedding_loss_tie_is_active():
    x, y = np.array([1.0, 1.0, 0.5]), np.array([-1.0, 1.0, 0.0])
    np.testing.assert_array_equal(C.hinge_embedding_loss(x, y, reduction="none"), [0, 1, 1])
    np.testing.assert_array_equal(C.hinge_embedding_loss_grad(x, y, reduction="none"),
                                  [-1, 1, 0])


def torch_hinge(x, y, margin=1.0, squared=False, reduction="mean"):
    """Binary SVM hinge, transcribed for torch autograd."""
    loss = torch.clamp_min(margin - y * x, 0)
    loss = loss * loss if squared else loss
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("margin", [1.0, 2.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_loss_matches_torch_transcription(rng, dtype, squared, margin, reduction):
    x = (2 * rng.normal(size=(6, 3))).astype(dtype)
    y = rng.choice([-1.0, 1.0], size=(6, 3)).astype(dtype)
    x[0, 0], y[0, 0] = margin, 1.0  # exactly at the margin: active
    check_against_torch(C.hinge_loss, C.hinge_loss_grad, torch_hinge, dtype, x, y,
                        margin=margin, squared=squared, reduction=reduction)


def test_hinge_loss_labels_and_ties(rng):
    assert C.hinge_loss_grad(np.array([1.0]), np.array([1]), reduction="sum") == -1
    assert C.hinge_loss(np.array([1.0], dtype=np.float32), np.array([1])).dtype == np.float32
    assert gradcheck(C.hinge_loss, C.hinge_loss_grad, np.array([0.3, -2.0, 0.7]),
                     np.array([1.0, -1.0, -1.0]), squared=True)
    for bad in (np.array([0.0, 1.0]), np.array([2, -1]), np.array([np.nan, 1.0])):
        with pytest.raises(ValueError, match="-1 or \\+1"):
            C.hinge_loss(np.zeros(2), bad)


# ========================================================== shared behaviour
ELEMENTWISE = [
    (C.binary_cross_entropy, C.binary_cross_entropy_grad, F.binary_cross_entropy),
    (C.binary_cross_entropy_with_logits, C.binary_cross_entropy_with_logits_grad,
     F.binary_cross_entropy_with_logits),
    (C.soft_margin_loss, C.soft_margin_loss_grad, F.soft_margin_loss),
    (C.hinge_embedding_loss, C.hinge_embedding_loss_grad, F.hinge_embedding_loss),
    (C.multilabel_soft_margin_loss, C.multilabel_soft_margin_loss_grad,
     F.multilabel_soft_margin_loss),
    (C.hinge_loss, C.hinge_loss_grad, torch_hinge),
]


@pytest.mark.parametrize("loss, grad, torch_fn", ELEMENTWISE)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch_gives_what_torch_gives(loss, grad, torch_fn, reduction):
    x, y = np.zeros((0, 3)), np.zeros((0, 3))
    check_against_torch(loss, grad, torch_fn, np.float64, x, y, reduction=reduction)
    if reduction == "mean":
        assert np.isnan(loss(x, y, reduction=reduction))


@pytest.mark.parametrize(  # the multi-label loss needs a class axis
    "loss, grad, torch_fn", [e for e in ELEMENTWISE if e[0] is not C.multilabel_soft_margin_loss])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_single_numbers_work_as_in_torch(loss, grad, torch_fn, reduction):
    check_against_torch(loss, grad, torch_fn, np.float64, np.array(0.3), np.array(1.0),
                        reduction=reduction)


@pytest.mark.parametrize("loss, grad, torch_fn", ELEMENTWISE)
def test_unknown_reduction_is_rejected(loss, grad, torch_fn):
    for fn in (loss, grad):
        with pytest.raises(ValueError, match="reduction"):
            fn(np.zeros(2), np.ones(2), reduction="batchmean")


def test_integer_labels_keep_float32():
    x = np.array([0.3, -0.2], dtype=np.float32)
    labels = np.array([1, 0])
    for fn in (C.binary_cross_entropy_with_logits, C.binary_cross_entropy_with_logits_grad,
               C.soft_margin_loss, C.hinge_embedding_loss):
        assert fn(x, labels).dtype == np.float32
    assert C.cross_entropy(x[None], np.array([0])).dtype == np.float32
