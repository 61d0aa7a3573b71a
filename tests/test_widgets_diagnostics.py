"""Lesson 11's learning-rate explorer, driven without a browser."""

import numpy as np

from course.lessons.diagnostics import diagnose
from course.widgets.diagnostics import lr_explorer, lr_state


def test_every_slider_position_gives_a_named_regime_in_order():
    order = {"too slow": 0, "good fit": 1, "overfitting": 2, "unstable": 3, "diverging": 4}
    slider = lr_explorer(render=False).controls["log10_lr"]
    positions = np.arange(slider.min, slider.max + 1e-9, slider.step)
    regimes = [lr_state(g)["regime"] for g in positions]
    assert set(regimes) == set(order)
    # as the learning rate grows the regime only moves along too slow -> ... -> diverging
    assert all(order[a] <= order[b] for a, b in zip(regimes, regimes[1:]))


def test_state_agrees_with_diagnose_and_readout_names_it():
    explorer = lr_explorer(render=False)
    for value, regime in ((-2.5, "too slow"), (-1.5, "good fit"), (-0.5, "overfitting"),
                          (1.25, "diverging")):
        explorer.controls["log10_lr"].value = value
        state = explorer.state
        assert state["regime"] == regime == diagnose(state["train_loss"], state["val_loss"])[0]
        assert regime in explorer.readout.value
        assert np.isclose(state["lr"], 10**value)


def test_overfitting_epoch_is_the_validation_minimum_and_moves_earlier():
    a, b = lr_state(-1.0), lr_state(-0.5)
    for state in (a, b):
        assert state["regime"] == "overfitting"
        assert state["epoch"] == state["best_epoch"] == int(np.argmin(state["val_loss"]))
        assert state["final_val"] > 1.05 * state["best_val"]
        assert state["final_train"] < state["train_loss"][state["epoch"]]
    assert b["epoch"] < a["epoch"]
    assert "overfitting after epoch" in lr_explorer(render=False).readout.value


def test_overflow_is_shown_as_infinity():
    state = lr_state(1.0)
    assert state["regime"] == "diverging" and not np.isfinite(state["final_train"])
    explorer = lr_explorer(render=False)
    explorer.controls["log10_lr"].value = 1.0
    assert "∞" in explorer.readout.value
    explorer.figure()  # draws without error or warning


def test_figure_draws_what_the_state_holds():
    explorer = lr_explorer(render=False)
    fig = explorer.figure()
    (ax,) = fig.axes
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    train = [line for line in ax.get_lines() if line.get_label().startswith("training")][0]
    np.testing.assert_allclose(train.get_ydata(), explorer.state["train_loss"])
    val = [line for line in ax.get_lines() if line.get_label().startswith("validation")][0]
    np.testing.assert_allclose(val.get_ydata(), explorer.state["val_loss"])
