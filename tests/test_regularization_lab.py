"""Lesson 08's laboratory against scikit-learn (same objective scaling) and closed forms."""

import numpy as np
import pytest
from sklearn.linear_model import ElasticNet, Lasso, Ridge

from course import losses
from course.gradcheck import numerical_gradient
from course.lessons.regularization import (
    data_loss,
    data_loss_grad,
    ista_step,
    lipschitz,
    objective,
    proximal_gradient,
    regularization_path,
    ridge,
    sparse_regression,
    subgradient_descent,
)

X, Y, W_TRUE = sparse_regression(50, seed=0)


@pytest.mark.parametrize("lam", [1e-3, 0.05, 0.5])
def test_ridge_matches_sklearn_with_alpha_n_lam(lam):
    ref = Ridge(alpha=X.shape[0] * lam, fit_intercept=False, solver="cholesky").fit(X, Y).coef_
    np.testing.assert_allclose(ridge(X, Y, lam), ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("lam", [0.01, 0.1, 1.0])
def test_lasso_matches_sklearn(lam):
    ref = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, Y).coef_
    ours = proximal_gradient(X, Y, lam, n_steps=100_000, tol=1e-12)
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    assert np.array_equal(ours == 0, np.abs(ref) < 1e-12)  # the same exact zeros


@pytest.mark.parametrize("lam, r", [(0.05, 0.5), (0.3, 0.2)])
def test_elastic_net_matches_sklearn(lam, r):
    ref = ElasticNet(alpha=lam, l1_ratio=r, fit_intercept=False, tol=1e-12,
                     max_iter=100_000).fit(X, Y).coef_
    np.testing.assert_allclose(proximal_gradient(X, Y, lam, r, n_steps=100_000, tol=1e-12), ref,
                               atol=1e-6)


def test_ridge_through_proximal_gradient_is_the_closed_form():
    np.testing.assert_allclose(proximal_gradient(X, Y, 0.2, 0.0, n_steps=100_000, tol=1e-13),
                               ridge(X, Y, 0.2), atol=1e-8)


def test_data_loss_gradient_by_finite_differences():
    w = np.random.default_rng(1).normal(size=X.shape[1])
    num = numerical_gradient(data_loss, w, X, Y)
    np.testing.assert_allclose(data_loss_grad(w, X, Y), num, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(data_loss(w, X, Y), 0.5 * np.mean((X @ w - Y) ** 2))


def test_ista_step_closed_form_and_descent():
    rng = np.random.default_rng(2)
    w = rng.normal(size=X.shape[1])
    lr, lam = 0.1, 0.3
    v = w - lr * X.T @ (X @ w - Y) / X.shape[0]
    expected = np.sign(v) * np.maximum(np.abs(v) - lr * lam, 0)
    np.testing.assert_allclose(ista_step(w, X, Y, lr, lam), expected, rtol=1e-12)
    # with lr <= 1/L every step lowers the objective
    step = 1 / lipschitz(X)
    for _ in range(20):
        new = ista_step(w, X, Y, step, lam)
        assert objective(new, X, Y, lam) <= objective(w, X, Y, lam) + 1e-12
        w = new


def test_ista_step_rejects_bad_shapes_and_rates():
    with pytest.raises(ValueError, match="shape"):
        ista_step(np.zeros(3), X, Y, 0.1, 0.1)
    with pytest.raises(ValueError, match="lr"):
        ista_step(np.zeros(X.shape[1]), X, Y, -0.1, 0.1)


def test_subgradient_never_lands_on_zero_but_ista_does():
    lam = 0.3
    lasso = proximal_gradient(X, Y, lam)
    path = subgradient_descent(X, Y, lam, lr=0.05, n_steps=2000)
    assert np.count_nonzero(lasso == 0) >= 15
    assert np.count_nonzero(path[-1] == 0) == 0
    # it hovers near the lasso solution: about lr * lam away on the zero coordinates
    assert np.max(np.abs(path[-1][lasso == 0])) < 0.05


def test_path_is_sparser_for_larger_lambda_and_keeps_relevant_features_longest():
    lams = np.logspace(-3, 0.5, 15)
    coefs = regularization_path(X, Y, lams)
    nonzero = (coefs != 0).sum(axis=1)
    assert nonzero[0] == X.shape[1] and nonzero[-1] <= 1
    assert np.all(np.diff(nonzero) <= 2)  # mostly monotone (the lasso path may re-add a feature)
    for c in coefs[nonzero <= 4]:
        assert np.all(W_TRUE[c != 0] != 0)  # the last survivors are relevant features
    # warm starts do not change the answer
    np.testing.assert_allclose(coefs[7], proximal_gradient(X, Y, lams[7]), atol=1e-7)


def test_sparse_regression_shapes_and_truth():
    X2, y2, w2 = sparse_regression(10, n_features=7, n_relevant=3, seed=5)
    assert X2.shape == (10, 7) and y2.shape == (10,)
    np.testing.assert_allclose(w2, [3, -2, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(sparse_regression(20, seed=1)[2], W_TRUE)
    assert float(losses.l1_penalty(W_TRUE)) == pytest.approx(3 + 2.5 + 2 + 1.5 + 1)
    with pytest.raises(ValueError):
        sparse_regression(10, n_features=3, n_relevant=4)
