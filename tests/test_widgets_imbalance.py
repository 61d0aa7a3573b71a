"""Lesson 06's focal-loss explorer, driven without a browser."""

import numpy as np
import pytest

from course.lessons.imbalance import lesson_data
from course.widgets.imbalance import focal_explorer, focal_state


def test_moving_gamma_changes_curve_boundary_and_readout():
    explorer = focal_explorer(render=False)
    before = explorer.state
    text = explorer.readout.value
    explorer.controls["gamma"].value = 5.0
    after = explorer.state
    assert after["gamma"] == 5.0 and "γ = 5.0" in explorer.readout.value
    assert explorer.readout.value != text
    assert not np.allclose(after["focal_rare"], before["focal_rare"])
    assert not np.allclose(after["w"], before["w"])


def test_modulation_is_one_minus_p_t_to_the_gamma():
    for gamma in (0.0, 0.5, 2.0, 5.0):
        state = focal_state(gamma=gamma, alpha=0.25)
        np.testing.assert_allclose(state["modulation"], (1 - state["p_t"]) ** gamma, rtol=1e-9)
        # alpha scales the rare class's curve, 1 - alpha the common class's
        np.testing.assert_allclose(state["focal_rare"] / 0.25, state["focal_common"] / 0.75,
                                   rtol=1e-12)


def test_raising_gamma_lowers_the_gradient_share_of_easy_examples():
    shares = [focal_state(gamma=g, alpha=0.25)["easy_share"] for g in (0.0, 0.5, 1.0, 2.0, 5.0)]
    assert all(a > b for a, b in zip(shares, shares[1:]))
    assert shares[0] > 0.1 and shares[-2] < 0.01


def test_raising_alpha_raises_rare_class_recall_and_lowers_precision():
    states = [focal_state(gamma=2.0, alpha=a) for a in (0.05, 0.25, 0.5, 0.75, 0.95)]
    recalls = [s["report"]["recall_rare"] for s in states]
    precisions = [s["report"]["precision_rare"] for s in states]
    assert all(a < b for a, b in zip(recalls, recalls[1:]))
    assert precisions[0] > precisions[-1] + 0.3
    assert recalls[-1] > recalls[0] + 0.5


def test_default_focal_does_not_raise_recall_but_keeps_the_ranking():
    """The lesson's claim: alpha = 0.25 down-weights the rare class."""
    state = focal_state(gamma=2.0, alpha=0.25)
    report, ce = state["report"], state["report_ce"]
    assert report["recall_rare"] < ce["recall_rare"] - 0.1
    assert abs(report["average_precision"] - ce["average_precision"]) < 0.01


def test_gamma_zero_and_even_alpha_is_cross_entropy():
    state = focal_state(gamma=0.0, alpha=0.5)
    # half the cross-entropy: same minimiser, so (nearly) the same model
    np.testing.assert_allclose(state["w"], state["w_ce"], rtol=2e-3)
    assert abs(state["report"]["recall_rare"] - state["report_ce"]["recall_rare"]) <= 0.01


def test_figure_draws_what_the_state_holds():
    explorer = focal_explorer(render=False)
    explorer.controls["alpha"].value = 0.75
    fig = explorer.figure()
    ax_loss, ax_data = fig.axes
    for ax in (ax_loss, ax_data):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    rare = [line for line in ax_loss.get_lines() if "rare" in line.get_label()][0]
    np.testing.assert_allclose(rare.get_ydata(), explorer.state["focal_rare"])
    boundary = [line for line in ax_data.get_lines() if line.get_label() == "focal boundary"][0]
    w, b = explorer.state["w"], explorer.state["b"]
    xs, ys = boundary.get_xdata(), boundary.get_ydata()
    np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0, atol=1e-9)
    assert "recall" in ax_data.get_title()
    fig.clf()


def test_lesson_data_is_ninety_nine_to_one():
    (X, y), (X_test, y_test) = lesson_data()
    assert y.size == 10_000 and y.sum() == 100
    assert y_test.size == 40_000 and y_test.sum() == 400


@pytest.mark.parametrize("gamma, alpha", [(0.0, 0.05), (5.0, 0.95)])
def test_extreme_settings_give_finite_states(gamma, alpha):
    state = focal_state(gamma=gamma, alpha=alpha)
    assert np.all(np.isfinite(state["w"])) and np.isfinite(state["b"])
    assert 0 <= state["report"]["recall_rare"] <= 1
