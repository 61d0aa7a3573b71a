"""Lesson 12's screening-cost explorer, driven without a browser."""

import numpy as np

from course.lessons.choosing import expected_cost, screen_data, screen_fit
from course.widgets.choosing import screening_explorer, screening_state


def test_threshold_is_the_closed_form_for_every_slider_value():
    for log10_ratio in (0.0, 0.7, 1.3, 2.5):
        state = screening_state(log10_ratio)
        k = 10.0**log10_ratio
        assert abs(state["ratio"] - k) < 1e-9 * k
        assert abs(state["threshold"] - 1 / (1 + k)) < 1e-12


def test_equal_costs_make_all_three_screens_the_same():
    state = screening_state(0.0)
    assert state["cost_plain"] == state["cost_bayes"]
    np.testing.assert_allclose(state["w_weighted"], state["w"], rtol=1e-6)
    assert abs(state["cost_weighted"] - state["cost_plain"]) < 1e-3


def test_cost_aware_screens_beat_the_default_when_misses_are_dear():
    state = screening_state(2.0)
    assert state["cost_plain"] > 3 * state["cost_bayes"]
    assert state["cost_plain"] > 3 * state["cost_weighted"]
    # the hindsight bound is a minimum over the curve, so nothing on the curve is below it
    assert state["best_cost"] <= state["cost_bayes"] + 1e-12
    assert state["best_cost"] == state["cost_curve"].min()


def test_cost_curve_is_expected_cost_of_the_plain_model():
    state = screening_state(1.0)
    _, (X_test, y_test) = screen_data()
    w, b = screen_fit(1.0)
    p = 1 / (1 + np.exp(-(X_test @ w + b)))
    for i in (0, 40, 119):
        t = state["thresholds"][i]
        assert abs(state["cost_curve"][i] - expected_cost(p, y_test, 1.0, 10.0, t)) < 1e-12


def test_weighted_boundary_follows_the_threshold_moved_boundary():
    """pos_weight = k shifts the optimal logit by log k: the two lines nearly coincide."""
    state = screening_state(1.5)
    angle = np.degrees(np.arccos(state["w"] @ state["w_weighted"]
                                 / np.linalg.norm(state["w"]) / np.linalg.norm(state["w_weighted"])))
    assert angle < 10
    assert abs(state["cost_weighted"] - state["cost_bayes"]) < 0.1 * state["cost_bayes"]


def test_moving_the_slider_changes_readout_and_figure():
    explorer = screening_explorer(render=False)
    text = explorer.readout.value
    explorer.controls["log10_ratio"].value = 2.0
    assert explorer.readout.value != text and "k = 100" in explorer.readout.value
    fig = explorer.figure()
    ax_cost, ax_data = fig.axes
    for ax in (ax_cost, ax_data):
        assert ax.get_title() and ax.get_xlabel() and ax.get_legend() is not None
    curve = ax_cost.get_lines()[0]
    np.testing.assert_allclose(curve.get_ydata(), explorer.state["cost_curve"])
    fig.clf()


def test_every_slider_value_stays_inside_the_fixed_axes():
    """The live figure never rescales its axes, so every state must fit the ones drawn once."""
    from course.widgets.choosing import COST_LIMITS, THRESHOLDS, screening_explorer

    slider = screening_explorer(render=False).controls["log10_ratio"]
    for log10_ratio in np.arange(slider.min, slider.max + 1e-9, slider.step):
        state = screening_state(log10_ratio)
        values = np.concatenate([state["cost_curve"], [state["cost_weighted"]]])
        assert COST_LIMITS[0] < values.min() and values.max() < COST_LIMITS[1], log10_ratio
        assert THRESHOLDS[0] < state["threshold"] < 1.0

