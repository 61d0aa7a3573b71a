"""Lesson 05's explorer, driven without a browser."""

import ipywidgets as widgets
import numpy as np
import pytest

from course.lessons import landscape as L
from course.lessons.landscape import curvature_bound, minima
from course.widgets.landscape import STEPS, descent_explorer, descent_state


def _bowl_lambda_max():
    """Independent: the bowl's Hessian in closed form, 2/n XᵀX, and its top eigenvalue."""
    x = L.bowl_problem().x
    design = np.column_stack([x, np.ones_like(x)])
    return np.linalg.eigvalsh(2 / len(x) * design.T @ design)[-1]


def test_first_control_is_the_learning_rate_slider():
    explorer = descent_explorer(render=False)
    first_name, first = next(iter(explorer.controls.items()))
    assert first_name == "lr" and isinstance(first, widgets.FloatSlider)


def test_one_step_of_the_learning_rate_moves_the_path_and_the_readout():
    explorer = descent_explorer(render=False)
    before, text_before = explorer.state, explorer.readout.value
    slider = explorer.controls["lr"]
    slider.value = slider.value + slider.step
    after = explorer.state
    assert after["lr"] == pytest.approx(before["lr"] + slider.step)
    assert not np.allclose(after["path"][1:], before["path"][1:])
    assert explorer.readout.value != text_before
    assert f"lr = <b>{after['lr']:.2f}</b>" in explorer.readout.value


def test_bowl_converges_below_two_over_lambda_max_and_diverges_above():
    bound = 2 / _bowl_lambda_max()
    assert np.isclose(curvature_bound("bowl"), bound, rtol=1e-5)
    explorer = descent_explorer(render=False)
    explorer.controls["landscape"].value = "bowl"
    explorer.controls["momentum"].value = 0.0
    explorer.controls["lr"].value = round(0.9 * bound, 2)
    assert not explorer.state["diverged"]
    assert explorer.state["final_loss"] == pytest.approx(minima("bowl")[0][1], abs=1e-3)
    assert "diverged" not in explorer.readout.value
    explorer.controls["lr"].value = round(1.1 * bound, 2)
    assert explorer.state["diverged"] and explorer.state["final_loss"] > explorer.state["start_loss"]
    assert "diverged" in explorer.readout.value
    # momentum 0.5 raises the limit to 2(1 + 0.5)/λmax, so the same step converges again
    explorer.controls["momentum"].value = 0.5
    assert not explorer.state["diverged"]


def test_momentum_and_start_sliders_change_the_path():
    explorer = descent_explorer(render=False)
    path = explorer.state["path"].copy()
    explorer.controls["momentum"].value = 0.5
    assert not np.allclose(explorer.state["path"], path)
    explorer.controls["start_w1"].value = 1.0
    explorer.controls["start_w2"].value = -2.0
    assert np.allclose(explorer.state["path"][0], [1.0, -2.0])
    assert "start (+1.0, -2.0)" in explorer.readout.value


def test_the_start_decides_the_minimum_on_the_net():
    deep, shallow = minima("two-unit net")
    to_deep = descent_state(lr=0.5, momentum=0.0, start_w1=-2.0, start_w2=-2.5)
    to_shallow = descent_state(lr=0.5, momentum=0.0, start_w1=-2.5, start_w2=-2.0)
    assert to_deep["final_loss"] == pytest.approx(deep[1], abs=1e-3)
    assert to_shallow["final_loss"] == pytest.approx(shallow[1], abs=2e-3)
    assert deep[1] < 0.01 < shallow[1]


def test_path_is_what_gradient_descent_computes():
    state = descent_state(lr=0.3, momentum=0.6, start_w1=1.0, start_w2=1.0, landscape="two-unit net")
    expected = L.gradient_descent_path(L.two_unit_net_problem().grad, (1.0, 1.0), 0.3, 0.6, STEPS)
    np.testing.assert_allclose(state["path"], expected)
    assert state["final_loss"] == pytest.approx(L.two_unit_net_problem().loss(*expected[-1]))


def test_landscape_dropdown_switches_surface_and_minima():
    explorer = descent_explorer(render=False)
    net_surface = explorer.state["surface"][2]
    explorer.controls["landscape"].value = "bowl"
    assert len(explorer.state["minima"]) == 1 and len(minima("two-unit net")) == 2
    assert not np.allclose(explorer.state["surface"][2], net_surface)
    with pytest.raises(ValueError, match="landscape"):
        descent_state(landscape="volcano")


def test_figure_draws_the_state():
    explorer = descent_explorer(render=False)
    fig = explorer.figure()
    ax_map, ax_loss = fig.axes[:2]
    for ax in (ax_map, ax_loss):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    path_line = [line for line in ax_map.get_lines() if line.get_label().startswith("path")][0]
    np.testing.assert_allclose(path_line.get_xdata(), explorer.state["path"][:, 0])
    loss_line = ax_loss.get_lines()[0]
    np.testing.assert_allclose(loss_line.get_ydata(), explorer.state["path_losses"])
