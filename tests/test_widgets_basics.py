"""Lesson 00's threshold explorer, driven without a browser."""

import numpy as np

from course.lessons import basics
from course.lessons.basics import exam_data
from course.widgets.basics import threshold_explorer, threshold_state


def _no_point_between(x, a, b):
    """True when no data point lies in (min, max] (so accuracy cannot change)."""
    low, high = sorted((a, b))
    return not np.any((x > low) & (x <= high))


def test_accuracy_is_piecewise_constant_while_cross_entropy_moves():
    explorer = threshold_explorer(render=False)
    x = explorer.state["x"]
    start = explorer.state
    explorer.controls["threshold"].value = 1.5
    assert _no_point_between(x, 1.5, 2.0)
    moved = explorer.state
    assert moved["accuracy"] == start["accuracy"] and moved["accuracy_slope"] == 0.0
    assert start["cross_entropy_slope"] < 0 < moved["cross_entropy"] - start["cross_entropy"]
    assert "accuracy <b>0.583</b>" in explorer.readout.value and "slope 0" in explorer.readout.value
    assert "move t to the right" in explorer.readout.value


def test_crossing_students_changes_accuracy_in_steps_of_one_over_n():
    x, y = exam_data()
    state = threshold_state(threshold=2.0)
    steps = np.diff(state["accuracy_curve"])
    assert set(np.round(np.abs(steps[steps != 0]) * len(x), 9)) <= {1.0, 2.0}
    assert np.all(np.diff(state["cross_entropy_curve"]) != 0)  # smooth: never flat
    explorer = threshold_explorer(render=False)
    explorer.controls["threshold"].value = 3.5
    assert explorer.state["accuracy"] > 0.583 + 0.2


def test_cross_entropy_slope_curve_is_the_derivative_of_the_cross_entropy_curve():
    state = threshold_state(threshold=4.0, sharpness=2.0)
    grid, ce = state["grid"], state["cross_entropy_curve"]
    finite_difference = np.gradient(ce, grid)
    np.testing.assert_allclose(state["cross_entropy_slope_curve"][1:-1], finite_difference[1:-1],
                               atol=2e-3)
    x, y = exam_data()
    assert state["cross_entropy"] == float(basics.threshold_cross_entropy(x, y, 4.0, 2.0))


def test_sharpness_slider_changes_the_cross_entropy_but_not_the_accuracy():
    explorer = threshold_explorer(render=False)
    before = explorer.state
    explorer.controls["sharpness"].value = 4.0
    after = explorer.state
    np.testing.assert_array_equal(after["accuracy_curve"], before["accuracy_curve"])
    assert after["cross_entropy"] != before["cross_entropy"]
    assert "sharpness s = 4.0" in explorer.readout.value


def test_figure_draws_what_the_state_holds():
    explorer = threshold_explorer(render=False)
    fig = explorer.figure()
    ax_data, ax_loss, ax_slope = fig.axes
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    ce_line = [line for line in ax_loss.get_lines() if line.get_label() == "cross-entropy"][0]
    np.testing.assert_allclose(ce_line.get_ydata(), explorer.state["cross_entropy_curve"])
    error_line = [line for line in ax_loss.get_lines() if line.get_label().startswith("error")][0]
    np.testing.assert_allclose(error_line.get_ydata(), 1 - explorer.state["accuracy_curve"])
