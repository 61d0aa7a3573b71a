"""Lesson 10's temperature-scaling explorer, driven without a browser."""

import numpy as np

from course import losses
from course.lessons.generalization import (
    calibration_logits,
    expected_calibration_error,
    fitted_temperature,
)
from course.widgets.generalization import temperature_explorer, temperature_state


def test_temperature_changes_confidence_but_never_accuracy():
    states = [temperature_state(t) for t in (0.3, 0.6, 1.0, 2.0, 3.0)]
    assert len({s["accuracy"] for s in states}) == 1
    confidences = [s["mean_confidence"] for s in states]
    assert all(a > b for a, b in zip(confidences, confidences[1:]))


def test_state_numbers_agree_with_the_library():
    _, _, z, y = calibration_logits()
    state = temperature_state(0.7)
    probs = losses.softmax(z / 0.7, axis=1)
    assert np.isclose(state["ece"], expected_calibration_error(probs, y, 10))
    assert np.isclose(state["nll"], losses.cross_entropy(z / 0.7, y))


def test_smoothed_model_is_underconfident_and_the_fitted_temperature_helps():
    T = fitted_temperature()
    at_one, at_fit = temperature_state(1.0), temperature_state(T)
    assert T < 0.6
    assert at_one["mean_confidence"] < at_one["accuracy"] - 0.05
    assert at_fit["ece"] < 0.5 * at_one["ece"] and at_fit["nll"] < at_one["nll"]


def test_readout_and_figure_show_the_state():
    explorer = temperature_explorer(render=False)
    explorer.controls["temperature"].value = 0.5
    assert "T = 0.50" in explorer.readout.value
    assert f"{explorer.state['ece']:.3f}" in explorer.readout.value
    fig = explorer.figure()
    (ax,) = fig.axes
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    assert "0.50" in ax.get_title()
    bars = ax.patches  # one per bin; an empty bin's bar has height 0
    used = explorer.state["bins"]["count"] > 0
    heights = np.array([bar.get_height() for bar in bars])
    np.testing.assert_allclose(heights[used], explorer.state["bins"]["accuracy"][used])
    assert np.all(heights[~used] == 0)
