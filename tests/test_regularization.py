"""Weight penalties and soft thresholding against torch, finite differences and argmins.

Oracles: torch autograd of each penalty written in torch (``abs`` has
gradient 0 at 0 there too), ``F.softshrink``, scikit-learn's ElasticNet
objective, finite differences (``course.gradcheck``) away from 0, and a
brute-force minimisation of ``0.5 (x - w)^2 + t |x|`` for the proximal step.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.gradcheck import gradcheck
from course.losses import regularization as R

torch.set_num_threads(1)

TOL = {np.float64: dict(rtol=1e-12, atol=0), np.float32: dict(rtol=1e-5, atol=1e-6)}
SHAPES = [(), (7,), (3, 4), (2, 3, 2)]


def torch_penalties(w, l1_ratio=0.5):
    return {
        "l2": (R.l2_penalty, R.l2_penalty_grad, lambda t: 0.5 * (t * t).sum()),
        "l1": (R.l1_penalty, R.l1_penalty_grad, lambda t: t.abs().sum()),
        "elastic": (
            lambda a: R.elastic_net_penalty(a, l1_ratio),
            lambda a: R.elastic_net_penalty_grad(a, l1_ratio),
            lambda t: l1_ratio * t.abs().sum() + (1 - l1_ratio) * 0.5 * (t * t).sum(),
        ),
    }


@pytest.mark.parametrize("name", ["l2", "l1", "elastic"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_penalty_matches_torch_autograd(rng, name, shape, dtype):
    w = rng.normal(size=shape).astype(dtype)
    if w.size > 2:
        w.reshape(-1)[1] = 0.0  # the subgradient convention at 0
    penalty, grad, torch_fn = torch_penalties(w, l1_ratio=0.3)[name]
    wt = torch.tensor(np.asarray(w, np.float64), requires_grad=True)
    expected = torch_fn(wt)
    expected.backward()
    value, g = penalty(w), grad(w)
    assert value.shape == () and isinstance(value, np.ndarray)
    assert value.dtype == g.dtype == dtype and g.shape == np.shape(w)
    assert isinstance(g, np.ndarray)
    np.testing.assert_allclose(value, expected.item(), **TOL[dtype])
    np.testing.assert_allclose(g, wt.grad.numpy(), **TOL[dtype])


@pytest.mark.parametrize("name", ["l2", "l1", "elastic"])
def test_penalty_gradcheck_away_from_zero(rng, name):
    w = rng.normal(size=(3, 5))
    w[np.abs(w) < 0.05] = 0.5  # finite differences cannot straddle the kink at 0
    penalty, grad, _ = torch_penalties(w, l1_ratio=0.7)[name]
    result = gradcheck(penalty, grad, w)
    assert result, str(result)


def test_penalty_subgradient_is_zero_at_zero():
    zeros = np.zeros(4)
    np.testing.assert_array_equal(R.l1_penalty_grad(zeros), 0)
    np.testing.assert_array_equal(R.elastic_net_penalty_grad(zeros, 0.4), 0)
    np.testing.assert_array_equal(R.l2_penalty_grad(zeros), 0)


def test_elastic_net_endpoints_and_sklearn_objective(rng):
    from sklearn.linear_model import ElasticNet

    w = rng.normal(size=6)
    np.testing.assert_allclose(R.elastic_net_penalty(w, 1.0), R.l1_penalty(w))
    np.testing.assert_allclose(R.elastic_net_penalty(w, 0.0), R.l2_penalty(w))
    # scikit-learn minimises ||y - Xw||^2/(2n) + alpha * penalty(w); at its solution
    # the subgradient optimality condition X^T(y - Xw)/n = alpha * penalty_grad(w)
    # holds on the nonzero coordinates, which checks our gradient's convention.
    X, y = rng.normal(size=(40, 6)), rng.normal(size=40)
    alpha, l1_ratio = 0.05, 0.6
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-12,
                       max_iter=100_000).fit(X, y)
    coef = model.coef_
    active = coef != 0
    residual_slope = X.T @ (y - X @ coef) / len(y)
    np.testing.assert_allclose(residual_slope[active],
                               alpha * R.elastic_net_penalty_grad(coef, l1_ratio)[active],
                               atol=1e-8)


def test_l2_penalty_does_not_alias_its_input():
    w = np.ones(3)
    g = R.l2_penalty_grad(w)
    g[0] = 5.0
    assert w[0] == 1.0


@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5, np.nan])
def test_elastic_net_bad_ratio(l1_ratio):
    for fn in (R.elastic_net_penalty, R.elastic_net_penalty_grad):
        with pytest.raises(ValueError, match="l1_ratio"):
            fn(np.ones(3), l1_ratio)


def test_penalties_reject_non_numbers():
    for fn in (R.l2_penalty, R.l1_penalty, R.elastic_net_penalty, R.l2_penalty_grad):
        with pytest.raises(ValueError, match="w"):
            fn(np.array(["a", "b"]))


# ------------------------------------------------------------ soft threshold
@pytest.mark.parametrize("threshold", [0.0, 0.3, 1.0, 5.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_soft_threshold_is_torch_softshrink(rng, threshold, dtype):
    w = (rng.normal(size=(4, 5)) * 2).astype(dtype)
    w[0, :3] = [threshold, -threshold, 0.0]  # exactly at the threshold
    expected = F.softshrink(torch.from_numpy(w), threshold).numpy()
    out = R.soft_threshold(w, threshold)
    assert out.dtype == dtype and out.shape == w.shape
    np.testing.assert_array_equal(out, expected)


def test_soft_threshold_is_the_argmin_by_brute_force(rng):
    grid = np.linspace(-6, 6, 1_200_001)  # step 1e-5
    for w, t in zip(rng.normal(size=12) * 2, rng.random(12) * 2, strict=True):
        objective = 0.5 * (grid - w) ** 2 + t * np.abs(grid)
        assert abs(R.soft_threshold(w, t) - grid[np.argmin(objective)]) <= 1e-5


def test_soft_threshold_satisfies_optimality_conditions(rng):
    w, t = rng.normal(size=200) * 2, 0.7
    x = R.soft_threshold(w, t)
    nonzero = x != 0
    # 0 in x - w + t * d|x|: equality off zero, |w| <= t where x = 0
    np.testing.assert_allclose((x - w + t * np.sign(x))[nonzero], 0, atol=1e-15)
    assert np.all(np.abs(w[~nonzero]) <= t)


def test_soft_threshold_per_coordinate_thresholds(rng):
    w, t = rng.normal(size=(3, 4)), rng.random((3, 4))
    expected = np.sign(w) * np.maximum(np.abs(w) - t, 0)
    np.testing.assert_allclose(R.soft_threshold(w, t), expected, rtol=1e-15)


@pytest.mark.parametrize("threshold, match", [
    (-0.1, ">= 0"), (np.nan, ">= 0"), (np.inf, ">= 0"), (np.ones(2), "shape"),
])
def test_soft_threshold_bad_threshold(threshold, match):
    with pytest.raises(ValueError, match=match):
        R.soft_threshold(np.ones(3), threshold)
