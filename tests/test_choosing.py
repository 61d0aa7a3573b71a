"""Lesson 12's laboratory: the closed forms against brute force, and the case studies' pieces."""

import numpy as np
import pytest

from course import losses
from course.lessons import choosing as C


def test_pinball_level_from_costs_minimizes_the_money_cost_of_a_constant():
    """Brute force: the cheapest constant stock is the q-quantile with q from the costs."""
    rng = np.random.default_rng(0)
    demand = rng.gamma(2.0, 5.0, 4001)
    for under, over in ((3.0, 1.0), (1.0, 4.0), (2.0, 2.0)):
        grid = np.linspace(demand.min(), demand.max(), 2001)
        cheapest = grid[np.argmin([C.money_cost(s, demand, under, over) for s in grid])]
        q = C.quantile_for_costs(under, over)
        assert abs(np.mean(demand <= cheapest) - q) < 0.01
        # and the pinball loss at q is the money cost divided by under + over
        money = C.money_cost(cheapest, demand, under, over)
        pinball = losses.quantile_loss(np.full_like(demand, cheapest), demand, quantile=q)
        assert abs(money / (under + over) - pinball) < 1e-9


def test_bayes_threshold_minimizes_expected_cost_on_calibrated_probabilities():
    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 4.0, 200_000)
    y = (rng.random(p.size) < p).astype(float)
    for cost_fp, cost_fn in ((1.0, 9.0), (1.0, 1.0), (3.0, 1.0)):
        grid = np.linspace(0.01, 0.95, 95)
        best = grid[np.argmin([C.expected_cost(p, y, cost_fp, cost_fn, t) for t in grid])]
        assert abs(best - C.bayes_threshold(cost_fp, cost_fn)) < 0.03


def test_pos_weight_moves_the_half_point_to_the_bayes_threshold():
    for cost_fp, cost_fn in ((1.0, 50.0), (2.0, 3.0), (10.0, 1.0)):
        w = C.pos_weight_for_costs(cost_fp, cost_fn)
        assert abs(1 / (1 + w) - C.bayes_threshold(cost_fp, cost_fn)) < 1e-15


def test_cost_helpers_broadcast_and_reject_bad_costs():
    out = C.bayes_threshold(np.array([1.0, 2.0]), np.array([[1.0], [3.0]]))
    assert out.shape == (2, 2)
    assert isinstance(C.quantile_for_costs(1.0, 2.0), float)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError):
            C.bayes_threshold(bad, 1.0)
        with pytest.raises(ValueError):
            C.quantile_for_costs(1.0, bad)


def test_expected_cost_counts_by_hand():
    probs = np.array([0.9, 0.2, 0.5, 0.1])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    # flagged at 0.5: examples 0 (false alarm) and 2 (hit); example 1 is a miss
    assert C.expected_cost(probs, y, 2.0, 7.0, 0.5) == pytest.approx((2.0 + 7.0) / 4)
    with pytest.raises(ValueError):
        C.expected_cost(probs, y[:3], 1.0, 1.0, 0.5)
    with pytest.raises(ValueError):
        C.expected_cost(probs, y * 2, 1.0, 1.0, 0.5)


def test_stock_line_fits_the_chosen_quantile():
    x, demand = C.bakery_demand(2000, seed=3)
    for q in (0.5, 0.75, 0.9):
        slope, intercept = C.fit_stock_line(x, demand, "pinball", q)
        assert abs(np.mean(demand <= slope * x + intercept) - q) < 0.02
    with pytest.raises(ValueError):
        C.fit_stock_line(x, demand, "huber")


def test_lesion_scans_and_features():
    images, masks = C.lesion_scans(50, seed=0, empty_fraction=0.4)
    empty = masks.reshape(50, -1).sum(1) == 0
    assert 0.2 < empty.mean() < 0.6 and 0.005 < masks[~empty].mean() < 0.06
    F = C.pixel_features(images)
    assert F.shape == (50, 24, 24, 4)
    np.testing.assert_allclose(F[..., 0], images)


def test_segmentation_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    z = rng.normal(size=(2, 5, 5))
    m = (rng.random((2, 5, 5)) < 0.3).astype(float)

    def value(zz):
        p = losses.sigmoid(zz)
        return float(losses.binary_cross_entropy_with_logits(zz, m) + losses.soft_dice_loss(p, m))

    grad = C._segmentation_grad("BCE + soft Dice", z, m)
    h, index = 1e-6, (1, 2, 3)
    up, down = z.copy(), z.copy()
    up[index] += h
    down[index] -= h
    assert abs((value(up) - value(down)) / (2 * h) - grad[index]) < 1e-6
    with pytest.raises(ValueError):
        C._segmentation_grad("focal", z, m)


def test_cost_curve_equals_expected_cost_threshold_by_threshold():
    """The sorted, vectorised curve against the one-threshold count, ties on the cut included."""
    rng = np.random.default_rng(5)
    probs = np.round(rng.uniform(0, 1, 3_000), 2)  # many exact ties with the grid below
    y = (rng.uniform(0, 1, 3_000) < probs).astype(float)
    thresholds = np.concatenate([np.linspace(0, 1, 101), [-1.0, 2.0]])
    curve = C.expected_cost_curve(probs, y, 1.0, 7.5, thresholds)
    for t, value in zip(thresholds, curve):
        assert value == pytest.approx(C.expected_cost(probs, y, 1.0, 7.5, t), abs=1e-12)
    with pytest.raises(ValueError, match="y must"):
        C.expected_cost_curve(probs, y + 2, 1.0, 1.0, thresholds)
