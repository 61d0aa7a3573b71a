"""course.lessons.basics (lesson 00 helpers) against independent oracles: torch autograd,
closed forms, and plain counting."""

import numpy as np
import pytest
import torch

from course.lessons import basics


@pytest.fixture
def line(rng):
    x = rng.uniform(0.5, 8.0, 15)
    return x, 9.0 * x + rng.normal(0.0, 6.0, 15)


@pytest.fixture
def students(rng):
    x = rng.uniform(0.0, 8.0, 30)
    return x, (x + rng.normal(0.0, 1.5, 30) > 4.0).astype(float)


def _torch_slope_loss_and_grad(w, x, y):
    wt = torch.tensor(float(w), dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.mse_loss(wt * torch.from_numpy(x), torch.from_numpy(y))
    loss.backward()
    return loss.item(), wt.grad.item()


@pytest.mark.parametrize("w", [-3.0, 0.0, 4.2, 15.0])
def test_slope_loss_and_derivative_match_torch_autograd(line, w):
    x, y = line
    value, grad = _torch_slope_loss_and_grad(w, x, y)
    assert np.isclose(basics.slope_loss(w, x, y), value, rtol=1e-12)
    assert np.isclose(basics.slope_loss_derivative(w, x, y), grad, rtol=1e-12)


def test_gradient_descent_step_is_w_minus_rate_times_torch_gradient(line):
    x, y = line
    _, grad = _torch_slope_loss_and_grad(2.0, x, y)
    assert np.isclose(basics.gradient_descent_step(2.0, x, y, 0.01), 2.0 - 0.01 * grad, rtol=1e-12)


def test_gradient_descent_converges_to_the_closed_form_and_diverges_past_two_over_curvature(line):
    x, y = line
    w_star = np.linalg.lstsq(x[:, None], y, rcond=None)[0][0]  # least squares through the origin
    assert np.isclose(basics.best_slope(x, y), w_star)
    curvature = 2 * np.mean(x**2)
    assert np.isclose(basics.gradient_descent(0.0, x, y, 0.5 / curvature, 200)[-1], w_star)
    assert np.isclose(basics.gradient_descent(0.0, x, y, 1.0 / curvature, 1)[-1], w_star)
    path = basics.gradient_descent(0.0, x, y, 2.05 / curvature, 30)
    assert abs(path[-1] - w_star) > abs(path[1] - w_star)


@pytest.mark.parametrize("eps", [1e-6, 0.5, 3.0])
def test_numerical_derivative_is_exact_for_the_quadratic_at_any_eps(line, eps):
    x, y = line
    _, grad = _torch_slope_loss_and_grad(5.0, x, y)
    assert np.isclose(basics.numerical_derivative(5.0, x, y, eps=eps), grad, rtol=1e-7)


def test_threshold_accuracy_counts_correct_predictions(students):
    x, y = students
    for t in (-1.0, 2.5, 4.0, 9.0):
        correct = sum(int((xi > t) == (yi == 1)) for xi, yi in zip(x, y))
        assert basics.threshold_accuracy(x, y, t) == correct / len(x)
    tie = np.array([1.0, 2.0, 3.0])
    assert basics.threshold_accuracy(tie, np.array([0, 0, 1]), 2.0) == 1.0  # x == t predicts 0


def test_accuracy_is_a_staircase_with_zero_slope_between_points(students):
    x, y = students
    gaps = np.sort(x)
    midpoints = (gaps[:-1] + gaps[1:]) / 2
    for t in midpoints:
        assert basics.accuracy_derivative(x, y, t, eps=1e-6) == 0.0
        assert basics.threshold_accuracy(x, y, t - 1e-7) == basics.threshold_accuracy(x, y, t + 1e-7)


def test_threshold_cross_entropy_and_its_derivative_match_torch(students):
    x, y = students
    for t in (1.0, 4.0, 6.5):
        tt = torch.tensor(t, dtype=torch.float64, requires_grad=True)
        logits = 1.7 * (torch.from_numpy(x) - tt)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y))
        loss.backward()
        assert np.isclose(basics.threshold_cross_entropy(x, y, t, 1.7), loss.item(), rtol=1e-12)
        assert np.isclose(basics.threshold_cross_entropy_derivative(x, y, t, 1.7), tt.grad.item(),
                          rtol=1e-10)
        assert basics.threshold_cross_entropy_derivative(x, y, t, 1.7) != 0.0


def test_screening_log_odds_are_bayes_posterior_log_odds():
    score, label = basics.screening_data(n=500, positive_rate=0.02, separation=2.0, seed=1)
    assert label.sum() == 10 and score.shape == label.shape == (500,)
    s = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64)
    normal = torch.distributions.Normal
    log_pos = torch.log(torch.tensor(0.02, dtype=torch.float64)) + normal(2.0, 1.0).log_prob(s)
    log_neg = torch.log(torch.tensor(0.98, dtype=torch.float64)) + normal(0.0, 1.0).log_prob(s)
    np.testing.assert_allclose(basics.screening_log_odds(s.numpy(), 0.02, 2.0),
                               (log_pos - log_neg).numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda: basics.threshold_accuracy(np.ones(3), np.ones(4), 0.0),
    lambda: basics.threshold_accuracy(np.ones(3), np.array([0, 1, 2]), 0.0),
    lambda: basics.threshold_accuracy(np.ones((3, 1)), np.ones((3, 1)), 0.0),
    lambda: basics.numerical_derivative(1.0, np.ones(3), np.ones(2)),
    lambda: basics.numerical_derivative(1.0, np.ones(3), np.ones(3), eps=0.0),
    lambda: basics.gradient_descent_step(1.0, np.ones(3), np.ones(3), 0.0),
    lambda: basics.gradient_descent_step(1.0, np.ones(3), np.ones(3), -0.1),
    lambda: basics.slope_loss(1.0, np.ones(3), np.ones(2)),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()
