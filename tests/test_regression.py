"""course.losses.regression against torch.nn.functional: values and autograd gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import losses
from course.gradcheck import gradcheck

REDUCTIONS = ["mean", "sum", "none"]
SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]


def torch_log_cosh(x, y, reduction="mean"):
    d = x - y
    # stable: log cosh d = d + softplus(-2d) - log 2 (autograd gives tanh d)
    loss = d + F.softplus(-2 * d) - np.log(2.0)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


def torch_quantile(x, y, quantile=0.5, reduction="mean"):
    r = y - x
    # written so autograd takes our tie convention (gradient 0 at r = 0) as the subgradient:
    # q*relu(r) + (1-q)*relu(-r) has relu'(0) = 0 on both sides
    loss = quantile * torch.relu(r) + (1 - quantile) * torch.relu(-r)
    return {"mean": loss.mean, "sum": loss.sum, "none": lambda: loss}[reduction]()


# name -> (torch oracle, options to sweep)
ORACLES = {
    "mse_loss": (F.mse_loss, [{}]),
    "l1_loss": (F.l1_loss, [{}]),
    "huber_loss": (F.huber_loss, [{}, {"delta": 0.5}, {"delta": 2.5}]),
    "smooth_l1_loss": (F.smooth_l1_loss, [{}, {"beta": 0.3}, {"beta": 0.0}, {"beta": 4.0}]),
    "log_cosh_loss": (torch_log_cosh, [{}]),
    "quantile_loss": (torch_quantile, [{"quantile": 0.5}, {"quantile": 0.1}, {"quantile": 0.9}]),
}
CASES = [(name, options) for name, (_, sweep) in ORACLES.items() for options in sweep]


def torch_value_and_grad(name, x, y, reduction, options):
    oracle = ORACLES[name][0]
    tx = torch.tensor(x, requires_grad=True)
    out = oracle(tx, torch.tensor(y), reduction=reduction, **options)
    out.sum().backward()
    return out.detach().numpy(), tx.grad.numpy()


def check_against_torch(name, x, y, reduction, options, rtol):
    loss = getattr(losses, name)(x, y, reduction=reduction, **options)
    grad = getattr(losses, name + "_grad")(x, y, reduction=reduction, **options)
    want_loss, want_grad = torch_value_and_grad(name, x, y, reduction, options)
    assert loss.dtype == x.dtype and grad.dtype == x.dtype
    assert loss.shape == want_loss.shape and grad.shape == x.shape
    np.testing.assert_allclose(loss, want_loss, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(grad, want_grad, rtol=rtol, atol=rtol * 1e-3)


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_matches_torch_float64(name, options, reduction, shape, rng):
    x, y = rng.normal(0, 2, shape), rng.normal(0, 2, shape)
    check_against_torch(name, x, y, reduction, options, rtol=1e-10)


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_float32_stays_float32_and_matches(name, options, reduction, rng):
    x = rng.normal(0, 2, (5, 6)).astype(np.float32)
    y = rng.normal(0, 2, (5, 6)).astype(np.float32)
    check_against_torch(name, x, y, reduction, options, rtol=1e-5)


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_edges_match_torch(name, options, rng):
    """Residuals exactly at the kinks (±1, ±delta, ±beta), exactly zero, and huge."""
    y = rng.normal(size=12)
    kinks = [1.0, -1.0, 0.0, 0.0, 1e6, -1e6, 1e3, -1e3]
    for value in options.values():
        kinks += [value, -value]
    residual = np.array(kinks + [0.25] * (12 - len(kinks)))[:12]
    x = y + residual
    y = x - residual  # make the residual exact in floating point
    for reduction in REDUCTIONS:
        check_against_torch(name, x, y, reduction, options, rtol=1e-10)


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_gradient_matches_finite_differences(name, options, rng):
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    for reduction in REDUCTIONS:
        result = gradcheck(getattr(losses, name), getattr(losses, name + "_grad"), x, y,
                           reduction=reduction, **options)
        assert result.ok, str(result)


def test_log_cosh_is_finite_and_exact_for_residuals_of_1000():
    x = np.array([1000.0, -1000.0, 1e300, -1e300])
    value = losses.log_cosh_loss(x, np.zeros(4), reduction="none")
    np.testing.assert_allclose(value, np.abs(x) - np.log(2.0), rtol=1e-15)
    np.testing.assert_array_equal(losses.log_cosh_loss_grad(x, np.zeros(4), "none"), np.sign(x))
    f32 = losses.log_cosh_loss(np.float32([1000.0]), np.float32([0.0]), "none")
    assert f32.dtype == np.float32 and np.isfinite(f32).all()


def test_huber_is_delta_times_smooth_l1(rng):
    x, y = rng.normal(0, 3, 50), rng.normal(0, 3, 50)
    for delta in (0.5, 1.0, 2.0):
        np.testing.assert_allclose(losses.huber_loss(x, y, delta=delta),
                                   delta * losses.smooth_l1_loss(x, y, beta=delta), rtol=1e-12)


def test_reduced_values_are_zero_dimensional_arrays(rng):
    x, y = rng.normal(size=4), rng.normal(size=4)
    for name, _ in CASES:
        value = getattr(losses, name)(x, y)
        assert isinstance(value, np.ndarray) and value.shape == ()


def test_empty_batch_gives_nan_mean_and_zero_sum_like_torch():
    empty = np.zeros((0,))
    for name in ORACLES:
        assert np.isnan(getattr(losses, name)(empty, empty, reduction="mean"))
        assert getattr(losses, name)(empty, empty, reduction="sum") == 0
        assert getattr(losses, name + "_grad")(empty, empty).shape == (0,)
    assert np.isnan(F.mse_loss(torch.zeros(0), torch.zeros(0)).item())


def test_integer_inputs_become_float64():
    value = losses.mse_loss([1, 2, 3], [0, 0, 0])
    assert value.dtype == np.float64 and value == pytest.approx(14 / 3)


@pytest.mark.parametrize("name", list(ORACLES))
def test_shape_mismatch_raises_instead_of_broadcasting(name):
    for fn in (getattr(losses, name), getattr(losses, name + "_grad")):
        with pytest.raises(ValueError, match=r"target must have the same shape as input \(4, 1\)"):
            fn(np.zeros((4, 1)), np.zeros(4))


@pytest.mark.parametrize("name", list(ORACLES))
def test_unknown_reduction_raises(name):
    for fn in (getattr(losses, name), getattr(losses, name + "_grad")):
        with pytest.raises(ValueError, match="reduction must be one of"):
            fn(np.zeros(3), np.zeros(3), reduction="average")


def test_bad_options_raise():
    x = np.zeros(3)
    with pytest.raises(ValueError, match="delta"):
        losses.huber_loss(x, x, delta=0.0)
    with pytest.raises(ValueError, match="beta"):
        losses.smooth_l1_loss_grad(x, x, beta=-1.0)
    for q in (0.0, 1.0, -0.5, 2.0):
        with pytest.raises(ValueError, match="quantile"):
            losses.quantile_loss(x, x, quantile=q)
    with pytest.raises(ValueError, match="real numbers"):
        losses.mse_loss(np.array(["a"]), np.array(["b"]))


def test_best_constant_is_mean_median_and_quantile(rng):
    """The minimisers the lesson claims, found by brute force on a grid."""
    y = rng.exponential(size=31)
    grid = np.linspace(0, 5, 5001)

    def argmin(loss, **options):
        return grid[np.argmin([loss(np.full_like(y, c), y, **options) for c in grid])]

    step = grid[1]
    assert abs(argmin(losses.mse_loss) - y.mean()) <= step
    assert abs(argmin(losses.l1_loss) - np.median(y)) <= step
    q80 = np.quantile(y, 0.8, method="inverted_cdf")
    assert abs(argmin(losses.quantile_loss, quantile=0.8) - q80) <= step


@pytest.mark.parametrize("name, options", CASES, ids=[f"{n}-{o}" for n, o in CASES])
def test_zero_dimensional_inputs_match_torch(name, options):
    x, y = np.array(1.7), np.array(-0.4)
    for reduction in REDUCTIONS:
        check_against_torch(name, x, y, reduction, options, rtol=1e-12)
        assert isinstance(getattr(losses, name)(x, y, reduction=reduction, **options), np.ndarray)
        assert isinstance(getattr(losses, name + "_grad")(x, y, reduction=reduction, **options), np.ndarray)
