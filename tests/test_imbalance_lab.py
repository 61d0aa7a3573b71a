"""Lesson 06's laboratory helpers against independent oracles.

Oracles: torch autograd on the textbook formulas (objectives), scikit-learn's
LogisticRegression (fits), finite differences of the objective (first-order
conditions of the focal fit), ``sklearn.metrics`` (precision-recall points,
average precision, per-class recall and precision) and closed forms.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    precision_recall_curve,
    precision_score,
    recall_score,
)

from course.gradcheck import numerical_gradient
from course.lessons.imbalance import (
    average_precision,
    fit_linear,
    gradient_shares,
    imbalanced_blobs,
    objective,
    precision_recall_points,
    probability_of_label,
    rare_class_report,
    threshold_for_recall,
)

torch.set_num_threads(1)


def labelled_logits(rng, n=40):
    z = rng.normal(0, 3, n)
    y = (rng.random(n) < 0.3).astype(float)
    return z, y


def torch_focal(z, y, alpha, gamma, weights=None):
    """Textbook focal loss (Lin et al. 2017) in torch: mean value and gradient w.r.t. z.

    ``weights`` (w0, w1): per-class weights with the mean divided by their sum,
    as weighted cross-entropy does; otherwise alpha_t and a plain mean.
    """
    zt = torch.tensor(z, requires_grad=True)
    yt = torch.tensor(y)
    p = torch.sigmoid(zt)
    p_t = p * yt + (1 - p) * (1 - yt)
    loss = -((1 - p_t) ** gamma) * torch.log(p_t)
    if weights is not None:
        w = weights[0] * (1 - yt) + weights[1] * yt
        value = (w * loss).sum() / w.sum()
    else:
        if alpha is not None:
            loss = (alpha * yt + (1 - alpha) * (1 - yt)) * loss
        value = loss.mean()
    value.backward()
    return value.item(), zt.grad.numpy()


# --------------------------------------------------------------- data
def test_blobs_have_the_requested_imbalance_and_are_reproducible():
    X, y = imbalanced_blobs(1000, positive_fraction=0.01, seed=3)
    assert X.shape == (1000, 2) and y.shape == (1000,)
    assert y.sum() == 10 and set(np.unique(y)) == {0.0, 1.0}
    assert np.all(y[-10:] == 1)
    X2, _ = imbalanced_blobs(1000, positive_fraction=0.01, seed=3)
    np.testing.assert_array_equal(X, X2)
    # the rare class sits around its centre, the common one around the origin
    assert np.linalg.norm(X[y == 1].mean(axis=0) - np.array([2.2, 1.8])) < 0.6
    assert np.linalg.norm(X[y == 0].mean(axis=0)) < 0.15


@pytest.mark.parametrize("fraction, n", [(0.0, 100), (1.0, 100), (0.001, 100)])
def test_blobs_refuse_an_empty_class(fraction, n):
    with pytest.raises(ValueError, match="positive_fraction|empty"):
        imbalanced_blobs(n, positive_fraction=fraction)


# ---------------------------------------------------------- objectives
def test_weighted_cross_entropy_matches_torch(rng):
    z, y = labelled_logits(rng)
    obj = objective("cross_entropy", pos_weight=7.0)
    zt = torch.tensor(z, requires_grad=True)
    expected = F.binary_cross_entropy_with_logits(zt, torch.tensor(y), pos_weight=torch.tensor(7.0))
    expected.backward()
    np.testing.assert_allclose(obj.value(z, y), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(obj.grad(z, y), zt.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (None, 2.0), (0.75, 0.5), (0.5, 0.0)])
def test_focal_objective_matches_the_textbook_formula(rng, alpha, gamma):
    z, y = labelled_logits(rng)
    value, grad = torch_focal(z, y, alpha, gamma)
    obj = objective("focal", alpha=alpha, gamma=gamma)
    np.testing.assert_allclose(obj.value(z, y), value, rtol=1e-10)
    np.testing.assert_allclose(obj.grad(z, y), grad, rtol=1e-8, atol=1e-15)


def test_two_logit_softmax_focal_is_the_weighted_sigmoid_focal(rng):
    z, y = labelled_logits(rng)
    weights = np.array([0.3, 1.7])
    value, grad = torch_focal(z, y, None, 2.0, weights=weights)
    obj = objective("softmax_focal", alpha=weights, gamma=2.0)
    np.testing.assert_allclose(obj.value(z, y), value, rtol=1e-10)
    np.testing.assert_allclose(obj.grad(z, y), grad, rtol=1e-8, atol=1e-15)


def test_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="loss must be"):
        objective("dice")


# ------------------------------------------------------------------ fits
def small_problem(seed=0):
    return imbalanced_blobs(2000, positive_fraction=0.02, seed=seed)


@pytest.mark.parametrize("pos_weight", [1.0, 49.0])
def test_cross_entropy_fit_matches_sklearn_logistic_regression(pos_weight):
    X, y = small_problem()
    lam = 1e-3
    w, b = fit_linear(X, y, objective(pos_weight=pos_weight), lam=lam)
    # sklearn minimises C * sum_i c_i loss_i + ||w||^2 / 2: the same minimiser when C = 1/(lam N)
    model = LogisticRegression(C=1 / (lam * len(y)), class_weight={0: 1.0, 1: pos_weight},
                               tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(w, model.coef_[0], rtol=1e-5)
    np.testing.assert_allclose(b, model.intercept_[0], rtol=1e-5)


@pytest.mark.parametrize("alpha, gamma", [(0.25, 2.0), (0.75, 5.0), (None, 0.5)])
def test_focal_fit_is_a_stationary_point(alpha, gamma):
    """Finite differences of the full objective vanish at the fitted parameters."""
    X, y = small_problem(1)
    lam = 1e-4
    obj = objective("focal", alpha=alpha, gamma=gamma)
    w, b = fit_linear(X, y, obj, lam=lam)

    def total(theta):
        return obj.value(X @ theta[:2] + theta[2], y) + 0.5 * lam * theta[:2] @ theta[:2]

    theta = np.r_[w, b]
    slope = numerical_gradient(total, theta, eps=1e-6)
    assert np.max(np.abs(slope)) < 1e-7
    # and a minimum, not a saddle: every nearby point is higher
    for direction in np.eye(3):
        for step in (-1e-3, 1e-3):
            assert total(theta + step * direction) > total(theta)


def test_fit_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="X must be"):
        fit_linear(np.zeros((5, 2)), np.zeros(4), objective())


# --------------------------------------------------------------- shares
def test_shares_sum_to_one_and_follow_their_definition(rng):
    z, y = labelled_logits(rng, 60)
    obj = objective()
    shares = gradient_shares(z, y, obj.grad, easy=0.9)
    assert np.isclose(sum(shares.values()), 1.0)
    p = 1 / (1 + np.exp(-z))
    pull = np.abs(p - y)  # cross-entropy's gradient, written out
    p_t = np.where(y == 1, p, 1 - p)
    np.testing.assert_allclose(probability_of_label(z, y), p_t, rtol=1e-12)
    easy = (y == 0) & (p_t >= 0.9)
    np.testing.assert_allclose(shares["common, easy"], pull[easy].sum() / pull.sum(), rtol=1e-12)
    np.testing.assert_allclose(shares["rare"], pull[y == 1].sum() / pull.sum(), rtol=1e-12)


def test_rare_class_supplies_half_the_pull_at_the_cross_entropy_optimum():
    """The intercept's first-order condition: sum(p - y) = 0, so both classes pull equally."""
    X, y = small_problem()
    w, b = fit_linear(X, y, objective(), lam=1e-4)
    shares = gradient_shares(X @ w + b, y, objective().grad)
    assert abs(shares["rare"] - 0.5) < 1e-6


# -------------------------------------------------------------- metrics
def scores_with_ties(rng, n=200):
    y = (rng.random(n) < 0.1).astype(float)
    y[0] = 1
    scores = np.round(rng.normal(size=n) + 1.5 * y, 1)  # rounding makes ties
    return scores, y


def test_precision_recall_points_match_sklearn_with_ties(rng):
    scores, y = scores_with_ties(rng)
    precision, recall, thresholds = precision_recall_points(scores, y)
    sk_precision, sk_recall, sk_thresholds = precision_recall_curve(y, scores)
    # sklearn lists thresholds ascending and stops once recall reaches 1
    k = len(sk_thresholds)
    np.testing.assert_allclose(precision[:k][::-1], sk_precision[:-1], rtol=1e-12)
    np.testing.assert_allclose(recall[:k][::-1], sk_recall[:-1], rtol=1e-12)
    np.testing.assert_allclose(thresholds[:k][::-1], sk_thresholds)
    assert recall[k - 1] == 1.0


def test_average_precision_matches_sklearn_and_ignores_shifts(rng):
    scores, y = scores_with_ties(rng)
    ap = average_precision(scores, y)
    assert np.isclose(ap, average_precision_score(y, scores), rtol=1e-12)
    assert np.isclose(average_precision(3 * scores - 7, y), ap, rtol=1e-12)


def test_average_precision_closed_forms():
    y = np.array([0, 1, 0, 0, 1, 0], dtype=float)
    assert average_precision(y, y) == 1.0  # perfect ranking
    # positives ranked 2nd and 4th: AP = (1/2 + 2/4) / 2
    scores = np.array([6, 5, 4, 2, 3, 1], dtype=float)
    assert np.isclose(average_precision(scores, y), 0.5)
    with pytest.raises(ValueError, match="positive"):
        average_precision(scores, np.zeros(6))


@pytest.mark.parametrize("threshold", [-0.5, 0.0, 0.8])
def test_report_matches_sklearn_counts(rng, threshold):
    scores, y = scores_with_ties(rng)
    report = rare_class_report(scores, y, threshold=threshold)
    said = (scores >= threshold).astype(float)
    assert np.isclose(report["accuracy"], accuracy_score(y, said))
    assert np.isclose(report["recall_rare"], recall_score(y, said))
    assert np.isclose(report["recall_common"], recall_score(y, said, pos_label=0))
    assert np.isclose(report["precision_rare"], precision_score(y, said))
    assert np.isclose(report["average_precision"], average_precision_score(y, scores))


def test_report_of_a_model_that_never_says_yes():
    y = np.r_[np.zeros(99), 1.0]
    report = rare_class_report(np.full(100, -5.0), y)
    assert report["accuracy"] == 0.99 and report["recall_rare"] == 0.0
    assert report["recall_common"] == 1.0


def test_threshold_for_recall_is_the_highest_that_reaches_it(rng):
    scores, y = scores_with_ties(rng)
    for target in (0.3, 0.5, 0.9, 1.0):
        t = threshold_for_recall(scores, y, target)
        assert recall_score(y, scores >= t) >= target
        higher = scores[scores > t]
        if higher.size:
            assert recall_score(y, scores >= higher.min()) < target
    with pytest.raises(ValueError, match="recall"):
        threshold_for_recall(scores, y, 1.5)
