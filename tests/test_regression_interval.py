"""Lesson 01's prediction interval: pinball lines checked against a linear program and by counting."""

import numpy as np
import pytest
from scipy.optimize import linprog

from course import losses
from course.lessons.likelihood import funnel_data
from course.lessons.regression import (
    constant_width_band,
    fit_interval,
    fit_line,
    interval_coverage,
)


def pinball_line_by_linear_program(x, y, q):
    """Quantile regression as a linear program (Koenker and Bassett 1978), solved by HiGHS.

    minimise  Σ q·u⁺ + (1 − q)·u⁻  subject to  a·x + b + u⁺ − u⁻ = y,  u± ≥ 0.
    """
    n = len(x)
    cost = np.r_[0.0, 0.0, q * np.ones(n), (1 - q) * np.ones(n)]
    equalities = np.hstack([np.column_stack([x, np.ones(n)]), np.eye(n), -np.eye(n)])
    bounds = [(None, None)] * 2 + [(0, None)] * (2 * n)
    solution = linprog(cost, A_eq=equalities, b_eq=y, bounds=bounds, method="highs")
    assert solution.success
    return solution.x[:2]


@pytest.mark.parametrize("q", [0.05, 0.3, 0.5, 0.95])
@pytest.mark.parametrize("seed", [0, 3])
def test_pinball_line_reaches_the_linear_programs_minimum(q, seed):
    x, y, _ = funnel_data(n=120, seed=seed)
    slope, intercept = fit_line(x, y, "quantile", quantile=q, iterations=300)
    a, b = pinball_line_by_linear_program(x, y, q)
    ours = losses.quantile_loss(slope * x + intercept, y, quantile=q)
    best = losses.quantile_loss(a * x + b, y, quantile=q)
    assert ours <= best + 1e-6
    np.testing.assert_allclose([slope, intercept], [a, b], atol=2e-3)


@pytest.mark.parametrize("q", [0.1, 0.9])
def test_a_fraction_q_of_the_points_lies_below_the_pinball_line(q):
    """Optimality of the pinball loss: #below ≤ qN ≤ #below + #on the line (up to the fit's tolerance)."""
    x, y, _ = funnel_data(n=200, seed=2)
    slope, intercept = fit_line(x, y, "quantile", quantile=q, iterations=300)
    residual = y - (slope * x + intercept)
    on_line = np.abs(residual) < 1e-5
    below = np.sum((residual < 0) & ~on_line)
    assert below <= q * len(y) <= below + on_line.sum()


def test_fit_interval_is_the_pair_of_pinball_lines():
    x, y, _ = funnel_data(n=150, seed=4)
    lower, upper = fit_interval(x, y, coverage=0.8, iterations=300)
    np.testing.assert_allclose(lower, pinball_line_by_linear_program(x, y, 0.1), atol=2e-3)
    np.testing.assert_allclose(upper, pinball_line_by_linear_program(x, y, 0.9), atol=2e-3)


def test_constant_width_band_shifts_least_squares_by_residual_quantiles():
    x, y, _ = funnel_data(n=200, seed=5)
    (a_low, b_low), (a_high, b_high) = constant_width_band(x, y, coverage=0.9)
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    assert np.isclose(a_low, slope) and np.isclose(a_high, slope)
    np.testing.assert_allclose([b_low - intercept, b_high - intercept],
                               np.quantile(residual, [0.05, 0.95]), atol=1e-9)


def test_interval_coverage_counts_points_on_or_between_the_lines():
    band = ((1.0, -1.0), (1.0, 1.0))                     # the strip |y − x| ≤ 1
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = np.array([0.0, 2.0, 3.5, 1.0, 4.9])              # inside, on the edge, out, out, inside
    assert interval_coverage(band, x, y) == pytest.approx(3 / 5)


def test_pinball_band_holds_its_level_on_fresh_points():
    x, y, _ = funnel_data(n=300, seed=7)
    x_new, y_new, _ = funnel_data(n=4000, seed=77)
    assert 0.84 < interval_coverage(fit_interval(x, y, 0.9), x_new, y_new) < 0.95


@pytest.mark.parametrize("call, name", [
    (lambda x, y: fit_line(x, y, "quantile", quantile=1.0), "quantile"),
    (lambda x, y: fit_line(x, y, "quantile", quantile=0.0), "quantile"),
    (lambda x, y: fit_line(x, y, "pinball"), "loss"),
    (lambda x, y: fit_interval(x, y, coverage=1.2), "coverage"),
    (lambda x, y: constant_width_band(x, y, coverage=0.0), "coverage"),
    (lambda x, y: interval_coverage(((1, 0), (1, 1)), x, y[:-1]), "x and y"),
])
def test_bad_settings_raise_value_errors_naming_the_argument(call, name):
    x, y, _ = funnel_data(n=20, seed=0)
    with pytest.raises(ValueError, match=name):
        call(x, y)
