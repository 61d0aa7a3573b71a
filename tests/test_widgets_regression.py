"""Lesson 01's explorer, driven without a browser."""

import numpy as np
import pytest

from course import losses
from course.lessons.regression import fit_line, outlier_data
from course.widgets.regression import huber_fit_explorer, huber_fit_state


def test_moving_delta_changes_fit_curve_and_readout():
    explorer = huber_fit_explorer(render=False)
    before = explorer.state
    text_before = explorer.readout.value
    explorer.controls["delta"].value = 8.0
    after = explorer.state
    assert after["delta"] == 8.0
    assert after["fits"]["huber"] != before["fits"]["huber"]
    assert not np.allclose(after["curves"]["huber"], before["curves"]["huber"])
    assert after["huber_value"] != before["huber_value"]
    assert explorer.readout.value != text_before and "δ = 8.0" in explorer.readout.value


def test_moving_the_outlier_slider_moves_the_data_and_the_least_squares_line():
    explorer = huber_fit_explorer(render=False)
    y_before = explorer.state["y"].copy()
    mse_before = explorer.state["fits"]["mse"]
    explorer.controls["outlier"].value = 0.0
    assert not np.allclose(explorer.state["y"], y_before)
    assert explorer.state["fits"]["mse"][0] < mse_before[0]


def test_figure_draws_what_the_state_holds():
    explorer = huber_fit_explorer(render=False)
    fig = explorer.figure()
    ax_fit, ax_loss = fig.axes
    assert ax_fit.get_title() and ax_fit.get_xlabel() and ax_fit.get_legend() is not None
    huber_line = [line for line in ax_loss.get_lines() if line.get_label().startswith("Huber")][0]
    np.testing.assert_allclose(huber_line.get_ydata(), explorer.state["curves"]["huber"])


@pytest.mark.parametrize("name, loss", [("mse", losses.mse_loss), ("l1", losses.l1_loss),
                                        ("huber", losses.huber_loss)])
def test_fit_line_minimises_its_loss(name, loss):
    """No nearby line has a lower loss than the fitted one (independent check by perturbation)."""
    x, y = outlier_data(30.0)
    slope, intercept = fit_line(x, y, name, delta=1.0)
    best = loss(slope * x + intercept, y)
    for ds in (-1e-3, 0, 1e-3):
        for di in (-1e-3, 0, 1e-3):
            assert loss((slope + ds) * x + intercept + di, y) >= best - 1e-9


def test_huge_delta_is_least_squares_and_tiny_delta_resists_outliers():
    x, y = outlier_data(30.0)
    assert np.allclose(fit_line(x, y, "huber", delta=100.0), fit_line(x, y, "mse"))
    assert abs(huber_fit_state(delta=0.1, outlier=30.0)["fits"]["huber"][0] - 1.5) < 0.15


@pytest.mark.parametrize("delta", [0.3, 1.0, 2.5, 7.0])
def test_huber_value_uses_the_sliders_delta(delta):
    """The readout's mean Huber loss, against the closed form at the slider's delta."""
    state = huber_fit_state(delta=delta, outlier=30.0)
    slope, intercept = state["fits"]["huber"]
    r = np.abs(slope * state["x"] + intercept - state["y"])
    closed_form = np.mean(np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)))
    assert state["huber_value"] == pytest.approx(closed_form, rel=1e-12)


def test_a_negative_intercept_reads_as_minus_not_plus_minus():
    from course.widgets.regression import huber_fit_readout, huber_fit_state

    state = huber_fit_state(delta=10.0, outlier=30.0)
    assert state["fits"]["huber"][1] < 0
    text = huber_fit_readout(state)
    assert f"x − {abs(state['fits']['huber'][1]):.2f}" in text and "+ -" not in text
