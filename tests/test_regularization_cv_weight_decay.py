"""Lesson 08's cross-validation and weight-decay experiments against closed forms and scikit-learn.

Oracles: the leave-one-out shortcut of ridge regression (the residual divided
by one minus the leverage, a closed form); scikit-learn's ``Lasso`` refitted
on every leave-one-out fold by brute force; and, for the weight-decay
experiment, the identity of Adam and AdamW without decay and the pattern the
lesson states, rerun over seeds 0-5.
"""

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from course.lessons.regularization import (
    FEATURE_SCALES,
    kfold_cv_errors,
    scaled_features_data,
    shrinkage_by_scale,
    sparse_regression,
    train_with_weight_decay,
)

X, Y, _ = sparse_regression(24, n_features=6, n_relevant=3, seed=4)


@pytest.mark.parametrize("lam", [0.01, 0.3, 2.0])
def test_leave_one_out_ridge_matches_the_leverage_shortcut(lam):
    """k = n with l1_ratio 0 is leave-one-out ridge: error_i = (r_i / (1 - H_ii))^2 with alpha = (n-1) lam."""
    n = Y.size
    errors = kfold_cv_errors(X, Y, [lam], k=n, l1_ratio=0.0)
    assert errors.shape == (n, 1)
    # each fold fits on n - 1 rows: (X'X/(n-1) + lam I)^-1 X'y/(n-1) = (X'X + (n-1) lam I)^-1 X'y
    H = X @ np.linalg.solve(X.T @ X + (n - 1) * lam * np.eye(X.shape[1]), X.T)
    loo = ((Y - H @ Y) / (1 - np.diag(H))) ** 2
    np.testing.assert_allclose(np.sort(errors[:, 0]), np.sort(loo), rtol=1e-9)
    np.testing.assert_allclose(errors.mean(), loo.mean(), rtol=1e-9)


def test_leave_one_out_lasso_matches_sklearn_refitted_on_every_fold():
    lams = np.array([0.02, 0.1, 0.5])
    errors = kfold_cv_errors(X, Y, lams, k=Y.size, tol=1e-12)
    expected = np.empty((Y.size, lams.size))
    for i in range(Y.size):
        keep = np.arange(Y.size) != i
        for j, lam in enumerate(lams):
            w = Lasso(alpha=lam, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X[keep], Y[keep]).coef_
            expected[i, j] = (X[i] @ w - Y[i]) ** 2
    np.testing.assert_allclose(np.sort(errors, axis=0), np.sort(expected, axis=0), rtol=1e-5, atol=1e-8)


def test_five_folds_use_every_row_once_and_the_seed_moves_them():
    # with lam huge every weight is 0, so a fold's error is the mean of y^2 over its rows
    errors = kfold_cv_errors(X, Y, [1e6], k=5, seed=0)[:, 0]
    sizes = np.array([5, 5, 5, 5, 4])          # 24 rows in 5 nearly equal folds
    np.testing.assert_allclose((errors * sizes).sum(), (Y**2).sum(), rtol=1e-12)
    assert not np.allclose(errors, kfold_cv_errors(X, Y, [1e6], k=5, seed=1)[:, 0])


@pytest.mark.parametrize("k", [1, 0, 25, 2.5, True])
def test_bad_k_is_refused(k):
    with pytest.raises(ValueError, match="k must"):
        kfold_cv_errors(X, Y, [0.1], k=k)


def test_scaled_features_differ_only_in_scale():
    X_scaled, y = scaled_features_data(seed=3, n=4000)
    assert X_scaled.shape == (4000, 12) and y.shape == (4000,)
    np.testing.assert_allclose(X_scaled.std(axis=0) / FEATURE_SCALES, 1.0, atol=0.05)


def test_shrinkage_by_scale_averages_column_norm_ratios_per_group():
    reference = np.ones((3, 12))
    factors = np.arange(1, 13, dtype=float)
    np.testing.assert_allclose(shrinkage_by_scale(reference * factors, reference),
                               [2.5, 6.5, 10.5])


def test_without_decay_adam_and_adamw_train_the_same_network():
    a = train_with_weight_decay("adam", 0.0, seed=1, steps=40)
    b = train_with_weight_decay("adamw", 0.0, seed=1, steps=40)
    np.testing.assert_allclose(a["first_layer"], b["first_layer"], rtol=1e-12, atol=1e-14)


def test_unknown_optimizer_and_negative_decay_are_refused():
    with pytest.raises(ValueError, match="optimizer"):
        train_with_weight_decay("sgd", 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        train_with_weight_decay("adam", -0.1)


@pytest.mark.parametrize("seed", range(6))
def test_l2_under_adam_spares_loud_features_and_adamw_does_not(seed):
    """The lesson's pattern over seeds 0-5: with L2 in the loss the quiet features' weights lose most."""
    reference = train_with_weight_decay("adam", 0.0, seed=seed)["first_layer"]
    adam = shrinkage_by_scale(train_with_weight_decay("adam", 0.01, seed=seed)["first_layer"], reference)
    adamw = shrinkage_by_scale(train_with_weight_decay("adamw", 0.1, seed=seed)["first_layer"], reference)
    assert adam[0] < 0.3 and adam[2] > 3 * adam[0]
    assert np.all((adamw > 0.7) & (adamw < 0.95)) and adamw[2] < 1.0 * adamw[0]
