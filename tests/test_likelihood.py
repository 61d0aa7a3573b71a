"""course.losses.likelihood against torch.nn.functional (values and autograd gradients).

float64 at rtol 1e-10, float32 at rtol 1e-4 with the dtype preserved;
the Laplace loss, which PyTorch lacks, against an autograd transcription;
finite differences through course.gradcheck; and the edge cases of
research/losses.md section 4 (variance below eps, zero counts, the
Stirling term, KL at zero targets, empty batches).
"""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import likelihood as L

DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]
TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=1e-4, atol=1e-6)}
INF = np.inf


def torch_run(fn, args, grad_positions, **kwargs):
    """Value of ``fn(*args)`` and the gradients of its sum w.r.t. the chosen arguments."""
    tensors = []
    for i, a in enumerate(args):
        if isinstance(a, np.ndarray):
            a = torch.from_numpy(a.copy()).requires_grad_(i in grad_positions)
        tensors.append(a)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div warns about reduction="mean"
        out = fn(*tensors, **kwargs)
    out.sum().backward()
    return out.detach().numpy(), [tensors[i].grad.numpy() for i in grad_positions]


def assert_matches(ours, reference, dtype):
    ours = np.asarray(ours)
    assert ours.dtype == dtype, f"dtype {ours.dtype}, expected {np.dtype(dtype)}"
    assert ours.shape == reference.shape, f"shape {ours.shape}, expected {reference.shape}"
    np.testing.assert_allclose(ours, reference, equal_nan=True, **TOL[dtype])


def check(ours, ours_grad, torch_fn, dtype, args, grad_positions=(0,), **kwargs):
    value, grads = torch_run(torch_fn, args, grad_positions, **kwargs)
    assert_matches(ours(*args, **kwargs), value, dtype)
    our_grads = ours_grad(*args, **kwargs)
    our_grads = our_grads if isinstance(our_grads, tuple) else (our_grads,)
    assert len(our_grads) == len(grads)
    for mine, theirs in zip(our_grads, grads):
        assert_matches(mine, theirs, dtype)


# ================================================================= Gaussian
# (input shape, var shape): every layout torch accepts
SPREAD_SHAPES = [
    ((3, 4), (3, 4)),  # one variance per element
    ((3, 4), (3,)),  # one per row: the input's shape without its last axis
    ((3, 4), (3, 1)),
    ((3, 4), (1, 4)),
    ((2, 3, 4), (2, 1, 4)),
    ((2, 3, 4), (2, 3)),
    ((4,), ()),
    ((4,), (1,)),
    ((3, 1), (3,)),
]
BAD_SPREAD_SHAPES = [((3, 4), (1, 1)), ((3, 4), (4,)), ((3, 4), ()), ((3, 4), (1,)),
                     ((2, 3, 4), (2, 1, 1)), ((2, 3, 4), (3, 4)), ((3, 4), (3, 4, 1))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", SPREAD_SHAPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss_matches_torch(rng, dtype, shapes, full, reduction):
    input_shape, var_shape = shapes
    x = rng.normal(size=input_shape).astype(dtype)
    y = rng.normal(size=input_shape).astype(dtype)
    var = rng.uniform(0.1, 3.0, size=var_shape).astype(dtype)
    check(L.gaussian_nll_loss, L.gaussian_nll_loss_grad, F.gaussian_nll_loss, dtype,
          (x, y, var), (0, 2), full=full, reduction=reduction)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_nll_loss_scalar_var(rng, dtype):
    x, y = rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=(3, 2)).astype(dtype)
    value, (d_input, d_var) = torch_run(F.gaussian_nll_loss, (x, y, np.full((3, 2), 0.7, dtype)),
                                        (0, 2), reduction="sum")
    assert_matches(L.gaussian_nll_loss(x, y, 0.7, reduction="sum"), value, dtype)
    ours_input, ours_var = L.gaussian_nll_loss_grad(x, y, 0.7, reduction="sum")
    assert_matches(ours_input, d_input, dtype)
    assert_matches(ours_var, np.asarray(d_var.sum()), dtype)
    np.testing.assert_allclose(L.gaussian_nll_loss(x, y, 0.7), F.gaussian_nll_loss(
        torch.from_numpy(x), torch.from_numpy(y), 0.7).numpy(), **TOL[dtype])


def test_gaussian_nll_loss_var_below_eps_is_clamped_with_gradient_at_eps():
    x, y, var = np.array([0.5]), np.array([0.0]), np.array([1e-9])
    np.testing.assert_allclose(L.gaussian_nll_loss(x, y, var), 0.5 * (math.log(1e-6) + 0.25e6))
    d_input, d_var = L.gaussian_nll_loss_grad(x, y, var)
    np.testing.assert_allclose(d_var, [-1.25e11 + 0.5e6], rtol=1e-12)  # not 0
    np.testing.assert_allclose(d_input, [0.5e6])
    for v in (np.array([1e-9]), np.array([0.0]), np.array([1e-6])):
        for full in (False, True):
            check(L.gaussian_nll_loss, L.gaussian_nll_loss_grad, F.gaussian_nll_loss,
                  np.float64, (x, y, v), (0, 2), full=full)


def test_gaussian_nll_loss_rejects_bad_var(rng):
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="var must be non-negative"):
        L.gaussian_nll_loss(x, x, -np.ones((3, 4)))
    with pytest.raises(ValueError, match="var must be non-negative"):
        L.gaussian_nll_loss_grad(x, x, -1.0)
    for input_shape, var_shape in BAD_SPREAD_SHAPES:
        z = np.zeros(input_shape)
        with pytest.raises(ValueError, match="var must have"):
            L.gaussian_nll_loss(z, z, np.ones(var_shape))
        with pytest.raises(ValueError):  # torch refuses the same shapes
            F.gaussian_nll_loss(torch.zeros(input_shape), torch.zeros(input_shape),
                                torch.ones(var_shape))
    with pytest.raises(ValueError, match="same shape"):
        L.gaussian_nll_loss(x, np.zeros(4), np.ones((3, 4)))
    with pytest.raises(ValueError, match="reduction"):
        L.gaussian_nll_loss(x, x, 1.0, reduction="batchmean")


# ================================================================== Laplace
def torch_laplace(input, target, scale, full=False, eps=1e-6, reduction="mean"):
    """Laplace NLL transcribed for torch autograd, clamping like F.gaussian_nll_loss."""
    if scale.shape != input.shape and scale.shape == input.shape[:-1]:
        scale = scale.unsqueeze(-1)
    scale = scale.clone()
    with torch.no_grad():
        scale.clamp_(min=eps)
    loss = torch.log(scale) + (input - target).abs() / scale
    if full:
        loss = loss + math.log(2)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shapes", SPREAD_SHAPES)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_laplace_nll_loss_matches_torch_transcription(rng, dtype, shapes, full, reduction):
    input_shape, scale_shape = shapes
    x = rng.normal(size=input_shape).astype(dtype)
    y = rng.normal(size=input_shape).astype(dtype)
    scale = rng.uniform(0.1, 3.0, size=scale_shape).astype(dtype)
    check(L.laplace_nll_loss, L.laplace_nll_loss_grad, torch_laplace, dtype, (x, y, scale),
          (0, 2), full=full, reduction=reduction)


def test_laplace_nll_loss_edges(rng):
    x, y = np.array([0.5, 0.0]), np.array([0.0, 0.0])
    scale = np.array([1e-9, 2.0])  # the first is clamped at eps
    check(L.laplace_nll_loss, L.laplace_nll_loss_grad, torch_laplace, np.float64,
          (x, y, scale), (0, 2), reduction="none")
    d_input, d_scale = L.laplace_nll_loss_grad(x, y, scale, reduction="none")
    np.testing.assert_allclose(d_scale, [1e6 - 0.5e12, 0.5])  # derivative at eps, not 0
    assert d_input[1] == 0  # x == y: subgradient 0
    # with a fixed scale of 1 it is the L1 loss
    a, b = rng.normal(size=5), rng.normal(size=5)
    np.testing.assert_allclose(L.laplace_nll_loss(a, b, 1.0), np.mean(np.abs(a - b)))
    # full adds log 2: the density integrates to 1
    np.testing.assert_allclose(L.laplace_nll_loss(a, b, 1.0, full=True)
                               - L.laplace_nll_loss(a, b, 1.0), math.log(2))
    with pytest.raises(ValueError, match="scale must be non-negative"):
        L.laplace_nll_loss(a, b, -np.ones(5))
    with pytest.raises(ValueError, match="scale must have"):
        L.laplace_nll_loss_grad(a, b, np.ones(4))


# ================================================================== Poisson
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("log_input", [True, False])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_poisson_nll_loss_matches_torch(rng, dtype, log_input, full, reduction):
    counts = rng.poisson(2.0, size=(5, 4)).astype(dtype)
    counts[0, :3] = [0, 1, 1.5]  # zero counts, the Stirling boundary, a non-integer count
    x = (rng.normal(size=(5, 4)) if log_input else rng.uniform(0.1, 4, size=(5, 4))).astype(dtype)
    check(L.poisson_nll_loss, L.poisson_nll_loss_grad, F.poisson_nll_loss, dtype, (x, counts),
          log_input=log_input, full=full, reduction=reduction)


def test_poisson_nll_loss_edges():
    # Stirling's term only where target > 1: 0 at y = 1, 0.2299 at y = 1.5
    x = np.zeros(3)
    y = np.array([0.0, 1.0, 1.5])
    extra = (L.poisson_nll_loss(x, y, full=True, reduction="none")
             - L.poisson_nll_loss(x, y, reduction="none"))
    np.testing.assert_allclose(extra, [0, 0, 0.2299], atol=5e-5)
    # zero counts: the loss is the rate itself
    np.testing.assert_allclose(L.poisson_nll_loss(np.array([0.3]), np.array([0.0])),
                               math.exp(0.3))
    np.testing.assert_allclose(L.poisson_nll_loss(np.array([0.0]), np.array([0.0]),
                                                  log_input=False), 0.0)
    # exp(100) overflows float32 to inf, as in torch
    big = np.array([100.0], dtype=np.float32)
    assert L.poisson_nll_loss(big, np.ones(1, np.float32)) == INF
    odd = (np.array([0.0, 0.5, -0.5, 0.0]), np.array([0.0, 1.0, 1.5, 2.0]))
    check(L.poisson_nll_loss, L.poisson_nll_loss_grad, F.poisson_nll_loss, np.float64, odd,
          log_input=False, reduction="none")
    check(L.poisson_nll_loss, L.poisson_nll_loss_grad, F.poisson_nll_loss, np.float64,
          (np.full(5, 0.5), np.array([0.0, 1.0, 1.5, 3.0, -2.0])), full=True, reduction="none")
    with pytest.raises(ValueError, match="same shape"):
        L.poisson_nll_loss(np.zeros((3, 4)), np.zeros(4))


# ======================================================================= KL
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(6,), (4, 5), (2, 3, 4)])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
def test_kl_div_matches_torch(rng, dtype, shape, log_target, reduction):
    x = np.log(rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])).astype(dtype)
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    p.reshape(-1)[::4] = 0  # zero targets: 0 log 0 = 0
    with np.errstate(divide="ignore"):  # log 0 = -inf: a zero target in log space
        t = (np.log(p) if log_target else p).astype(dtype)
    check(L.kl_div, L.kl_div_grad, F.kl_div, dtype, (x, t), reduction=reduction,
          log_target=log_target)


def test_kl_div_edges():
    x = np.array([-INF, -1.0, -1.0, 0.0])
    t = np.array([0.0, 0.0, -0.5, 0.5])
    loss = L.kl_div(x, t, reduction="none")
    assert np.isnan(loss[0]) and loss[1] == 0 and np.isnan(loss[2])  # 0 * -inf; negative p
    assert L.kl_div_grad(x, t, reduction="none")[1] == 0  # gradient at a zero target
    for log_target, target in [(False, t), (True, np.array([-INF, 0.0, -0.5, 0.5]))]:
        check(L.kl_div, L.kl_div_grad, F.kl_div, np.float64, (x, target), reduction="none",
              log_target=log_target)
    # batchmean is the true KL divergence per sample
    q = np.array([[0.5, 0.5], [0.9, 0.1]])
    p = np.array([[0.25, 0.75], [0.5, 0.5]])
    true_kl = np.sum(p * np.log(p / q), axis=1).mean()
    np.testing.assert_allclose(L.kl_div(np.log(q), p, reduction="batchmean"), true_kl)
    # a 0-d input's batchmean is its sum, as in torch
    check(L.kl_div, L.kl_div_grad, F.kl_div, np.float64, (np.array(-1.0), np.array(0.5)),
          reduction="batchmean")
    for shape in [(0, 3), (3, 0)]:
        check(L.kl_div, L.kl_div_grad, F.kl_div, np.float64, (np.zeros(shape), np.zeros(shape)),
              reduction="batchmean")
    with pytest.raises(ValueError, match="reduction"):
        L.kl_div(x, t, reduction="foo")
    with pytest.raises(ValueError, match="same shape"):
        L.kl_div(np.zeros((3, 4)), np.zeros(4))


# ======================================================= shared behaviour
def all_losses(rng, shape):
    x, y = rng.normal(size=shape), rng.uniform(0.1, 2.0, size=shape)
    return [
        (L.gaussian_nll_loss, L.gaussian_nll_loss_grad, F.gaussian_nll_loss,
         (x, y, rng.uniform(0.5, 2, size=shape)), (0, 2)),
        (L.laplace_nll_loss, L.laplace_nll_loss_grad, torch_laplace,
         (x, y, rng.uniform(0.5, 2, size=shape)), (0, 2)),
        (L.poisson_nll_loss, L.poisson_nll_loss_grad, F.poisson_nll_loss, (x, y), (0,)),
        (L.kl_div, L.kl_div_grad, F.kl_div, (x, y), (0,)),
    ]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch_gives_what_torch_gives(rng, reduction):
    for loss, grad, torch_fn, args, positions in all_losses(rng, (0, 3)):
        check(loss, grad, torch_fn, np.float64, args, positions, reduction=reduction)
        if reduction == "mean":
            assert np.isnan(loss(*args, reduction=reduction))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_single_numbers_work_as_in_torch(rng, reduction):
    for loss, grad, torch_fn, args, positions in all_losses(rng, ()):
        check(loss, grad, torch_fn, np.float64, args, positions, reduction=reduction)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck(rng, reduction):
    for loss, grad, _, args, positions in all_losses(rng, (3, 4)):
        result = gradcheck(loss, grad, *args, argnums=positions, reduction=reduction)
        assert result, f"{loss.__name__}: {result}"
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    result = gradcheck(L.gaussian_nll_loss, L.gaussian_nll_loss_grad, x, y,
                       rng.uniform(0.5, 2, size=3), argnums=(0, 2), full=True)
    assert result, str(result)
    result = gradcheck(L.laplace_nll_loss, L.laplace_nll_loss_grad, x, y,
                       rng.uniform(0.5, 2, size=(1, 4)), argnums=(0, 2))
    assert result, str(result)
    result = gradcheck(L.poisson_nll_loss, L.poisson_nll_loss_grad, rng.uniform(0.5, 2, (3, 4)),
                       y ** 2, log_input=False, full=True)
    assert result, str(result)
    result = gradcheck(L.kl_div, L.kl_div_grad, x, y, log_target=True, reduction="batchmean"
                       if reduction == "mean" else reduction)
    assert result, str(result)


def test_float32_is_preserved_with_scalar_spreads():
    x = np.array([0.2, -0.4], dtype=np.float32)
    for fn in (L.gaussian_nll_loss, L.laplace_nll_loss):
        assert fn(x, x, 0.5).dtype == np.float32
    for grad in (L.gaussian_nll_loss_grad, L.laplace_nll_loss_grad):
        d_input, d_spread = grad(x, x, 0.5)
        assert d_input.dtype == np.float32 and d_spread.dtype == np.float32
        assert d_spread.shape == ()
