"""The numerical primitives of course.losses._common (public as course.losses.softplus, ...)
against torch, on moderate and extreme inputs, float32 and float64."""

import numpy as np
import pytest
import torch

from course import losses

torch.set_num_threads(1)

DTYPES = [np.float32, np.float64]


def _inputs(dtype):
    """Moderate values, values near 0, and magnitudes where naive forms overflow."""
    rng = np.random.default_rng(0)
    extreme = np.array([-1e4, -800.0, -100.0, -30.0, -1e-8, 0.0, 1e-8, 30.0, 100.0, 800.0, 1e4])
    return np.concatenate([rng.normal(0.0, 3.0, 50), extreme]).astype(dtype)


def _tol(dtype):
    return {"rtol": 1e-6, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("ours, theirs", [
    # torch's softplus switches to x above a threshold; logaddexp(x, 0) is exact everywhere
    (losses.softplus, lambda t: torch.logaddexp(t, torch.zeros_like(t))),
    (losses.sigmoid, torch.sigmoid),
    (lambda x: losses._common.log_sigmoid(x), torch.nn.functional.logsigmoid),
], ids=["softplus", "sigmoid", "log_sigmoid"])
def test_elementwise_primitives_match_torch(ours, theirs, dtype):
    x = _inputs(dtype)
    got = ours(x)
    expected = theirs(torch.tensor(x)).numpy()
    assert got.dtype == dtype and got.shape == x.shape
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, **_tol(dtype))


def test_softplus_is_exact_where_the_naive_formula_is():
    x = np.linspace(-20.0, 20.0, 81)
    np.testing.assert_allclose(losses.softplus(x), np.log1p(np.exp(x)), rtol=1e-13, atol=0)


@pytest.mark.parametrize("fn", [losses.softplus, losses.sigmoid])
def test_elementwise_primitives_take_scalars(fn):
    assert np.asarray(fn(np.float64(0.5))).shape == ()
    assert float(fn(0.5)) == pytest.approx(float(fn(np.array([0.5]))[0]), rel=1e-15)


def _rows(dtype):
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 5.0, (6, 7))
    x[1] = [-np.inf] * 7                      # every entry -inf: log(0) = -inf, not NaN
    x[2, :3] = -np.inf                        # some entries -inf
    x[3] = [1e4, -1e4, 3.0, 1e4, 0.0, 2.0, 1.0]  # exp overflows without the shift
    x[4] = -1e4                               # exp underflows without the shift
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [1, 0, -1])
def test_logsumexp_matches_torch_including_all_minus_inf_rows(dtype, axis):
    x = _rows(dtype)
    got = losses.logsumexp(x, axis=axis)
    expected = torch.logsumexp(torch.tensor(x), dim=axis).numpy()
    assert got.dtype == dtype
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(expected))
    assert not np.any(np.isnan(got))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(got[finite], expected[finite], **_tol(dtype))
    keep = losses.logsumexp(x, axis=axis, keepdims=True)
    assert keep.shape == torch.logsumexp(torch.tensor(x), dim=axis, keepdim=True).shape


def test_logsumexp_of_an_all_minus_inf_row_is_minus_inf():
    x = np.full((2, 3), -np.inf)
    with np.errstate(all="raise"):  # and no warning on the way
        got = losses.logsumexp(x, axis=1)
    assert np.all(np.isneginf(got))


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_and_softmax_match_torch(dtype):
    x = _rows(dtype)
    x = x[np.isfinite(x).any(axis=1)]  # torch gives NaN on an all -inf row too
    got_log = losses.log_softmax(x, axis=1)
    expected_log = torch.log_softmax(torch.tensor(x), dim=1).numpy()
    np.testing.assert_array_equal(np.isneginf(got_log), np.isneginf(expected_log))
    finite = np.isfinite(expected_log)
    np.testing.assert_allclose(got_log[finite], expected_log[finite], **_tol(dtype))
    np.testing.assert_allclose(losses.softmax(x, axis=1), torch.softmax(torch.tensor(x), dim=1).numpy(),
                               **_tol(dtype))
