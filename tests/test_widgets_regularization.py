"""Lesson 08's regularization explorer, driven without a browser."""

import numpy as np
import pytest

from course import losses
from course.lessons.regularization import PENALTIES, data_loss, lesson_data, objective, two_feature_data
from course.widgets.regularization import regularization_explorer, regularization_state


def test_dropdown_switches_the_penalty():
    explorer = regularization_explorer(render=False)
    explorer.controls["penalty"].value = "L2 (ridge)"
    state = explorer.state
    assert state["penalty"] == "L2 (ridge)" and "L2 (ridge)" in explorer.readout.value
    assert state["nonzero"] == 30  # ridge shrinks, it does not select


@pytest.mark.parametrize("penalty", list(PENALTIES))
def test_solution_minimizes_the_penalized_objective(penalty):
    state = regularization_state(-0.7, penalty)
    (X, y, _), _ = lesson_data()
    lam, r = state["lam"], state["l1_ratio"]
    best = objective(state["w"], X, y, lam, r)
    rng = np.random.default_rng(0)
    for _ in range(20):  # no nearby point does better
        assert objective(state["w"] + 1e-3 * rng.normal(size=30), X, y, lam, r) >= best - 1e-12
    X2, y2 = two_feature_data()
    assert state["data_loss_at_w2"] == pytest.approx(data_loss(state["w2"], X2, y2))
    assert state["penalty_at_w2"] == pytest.approx(float(losses.elastic_net_penalty(state["w2"], r)))


def test_larger_lambda_zeros_more_lasso_weights_and_test_error_is_u_shaped():
    logs = np.round(np.arange(-3.0, 0.51, 0.5), 1)
    states = [regularization_state(g, "L1 (lasso)") for g in logs]
    nonzero = [s["nonzero"] for s in states]
    test = np.array([s["test_mse"] for s in states])
    train = np.array([s["train_mse"] for s in states])
    assert nonzero[0] == 30 and nonzero[-1] <= 1
    assert all(a >= b for a, b in zip(nonzero, nonzero[1:]))
    assert np.all(np.diff(train) > 0)  # the penalty always costs training error
    best = int(np.argmin(test))
    assert 0 < best < len(logs) - 1
    assert test[best] < 0.7 * test[0] and test[best] < 0.2 * test[-1]
    assert states[best]["relevant_kept"] == 5


def test_l1_corner_gives_an_exact_zero_in_two_dimensions_and_l2_does_not():
    lasso = regularization_state(0.0, "L1 (lasso)")["w2"]
    ridge = regularization_state(0.0, "L2 (ridge)")["w2"]
    assert lasso[1] == 0 and lasso[0] > 1
    assert np.all(ridge != 0)


def test_figure_draws_what_the_state_holds():
    explorer = regularization_explorer(render=False)
    explorer.controls["log10_lam"].value = -0.5
    fig = explorer.figure()
    ax_w, ax_2d = fig.axes
    for ax in (ax_w, ax_2d):
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    heights = [p.get_height() for p in ax_w.patches]
    np.testing.assert_allclose(heights, explorer.state["w"])
    assert f"{explorer.state['nonzero']} of 30" in ax_w.get_title()
    point = [line for line in ax_2d.get_lines() if line.get_label().startswith("solution")][0]
    np.testing.assert_allclose([point.get_xdata()[0], point.get_ydata()[0]], explorer.state["w2"])
    fig.clf()


def test_unknown_penalty_raises():
    with pytest.raises(ValueError, match="penalty"):
        regularization_state(0.0, "L0")
