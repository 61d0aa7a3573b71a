"""Lesson 02's explorers and training loop, driven without a browser.

Oracles: torch for softmax and the cross-entropy gradient, scikit-learn's
LogisticRegression and SVC for the cross-entropy and hinge fits, SciPy's
BFGS on an objective written out here for the squared hinge.
"""

import time

import ipywidgets as widgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from course.lessons.classification import (
    LAM,
    MARGIN_LOSSES,
    boundary_angle,
    boundary_line,
    margin_loss,
    mislabelled_point,
    train_linear,
    two_blobs,
)
from course.widgets.classification import (
    boundary_explorer,
    boundary_state,
    softmax_explorer,
    softmax_state,
)


def _data(distance=None):
    X, y = two_blobs()
    if distance is None:
        return X, y
    return np.vstack([X, mislabelled_point(distance)]), np.r_[y, 1.0]


def _first_control(explorer):
    return next(iter(explorer.controls.values()))


# ------------------------------------------------------------ softmax explorer
def test_softmax_state_matches_torch():
    state = softmax_state(1.5, -0.5, 3.0, target=1)
    logits = torch.tensor([[1.5, -0.5, 3.0]], dtype=torch.float64, requires_grad=True)
    loss = F.cross_entropy(logits, torch.tensor([1]))
    loss.backward()
    np.testing.assert_allclose(state["probs"], F.softmax(logits, dim=1)[0].detach().numpy())
    assert np.isclose(state["loss"], loss.item())
    np.testing.assert_allclose(state["grad"], logits.grad[0].numpy())


def test_raising_a_logit_moves_probability_towards_it():
    explorer = softmax_explorer(render=False)
    before = explorer.state
    text = explorer.readout.value
    explorer.controls["z1"].value = 3.0  # above z0 = 2
    after = explorer.state
    assert np.isclose(after["probs"].sum(), 1.0)
    assert after["probs"][1] > before["probs"][1]
    assert after["probs"][0] < before["probs"][0] and after["probs"][2] < before["probs"][2]
    assert after["loss"] > before["loss"]  # the target (class 0) lost probability
    assert after["grad"][0] < before["grad"][0]  # the target is pulled up harder
    assert explorer.readout.value != text and f"{after['probs'][1]:.3f}" in explorer.readout.value


def test_target_dropdown_moves_the_minus_one():
    explorer = softmax_explorer(render=False)
    explorer.controls["target"].value = 2
    state = explorer.state
    one_hot = np.eye(3)[2]
    np.testing.assert_allclose(state["grad"], state["probs"] - one_hot)
    assert state["grad"][2] < 0 and np.all(state["grad"][:2] > 0)
    assert np.isclose(state["loss"], -np.log(state["probs"][2]))


def test_equal_logits_are_uniform_whatever_their_value():
    for level in (-6.0, 0.0, 6.0):
        state = softmax_state(level, level, level, target=0)
        np.testing.assert_allclose(state["probs"], 1 / 3)
        assert np.isclose(state["loss"], np.log(3))


def test_every_step_of_the_first_softmax_slider_changes_state_and_readout():
    explorer = softmax_explorer(render=False)
    slider = _first_control(explorer)
    assert isinstance(slider, (widgets.FloatSlider, widgets.IntSlider))
    seen = {explorer.readout.value}
    for value in np.arange(slider.min, slider.max + 1e-9, 1.0):
        previous = explorer.state["probs"].copy()
        slider.value = float(value)
        if not np.isclose(float(value), 2.0):  # 2.0 is the starting value
            assert not np.allclose(explorer.state["probs"], previous)
        seen.add(explorer.readout.value)
    assert len(seen) == len(np.arange(slider.min, slider.max + 1e-9, 1.0))


def test_softmax_figure_draws_the_state():
    explorer = softmax_explorer(render=False)
    fig = explorer.figure()
    ax_p, ax_g = fig.axes
    heights = [patch.get_height() for patch in ax_p.patches]
    np.testing.assert_allclose(heights, explorer.state["probs"])
    np.testing.assert_allclose([p.get_height() for p in ax_g.patches], explorer.state["grad"])
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend()


# ------------------------------------------------------------ training loop
def _reference_fit(X, y, loss, lam=LAM):
    C = 1.0 / (lam * len(X))  # mean loss + lam/2 |w|^2  ==  (C sum loss + 1/2 |w|^2) / (C N)
    if loss == "cross_entropy":
        model = LogisticRegression(C=C, tol=1e-12, max_iter=10_000).fit(X, y)
    elif loss == "hinge":
        model = SVC(kernel="linear", C=C, tol=1e-10).fit(X, y)
    else:
        design = np.column_stack([X, np.ones(len(X))])

        def objective(theta):
            slack = np.maximum(0.0, 1.0 - y * (design @ theta))
            return np.mean(slack**2) + 0.5 * lam * theta[:2] @ theta[:2]

        theta = minimize(objective, np.zeros(3), method="BFGS", options={"gtol": 1e-12}).x
        return theta[:2], theta[2]
    return model.coef_[0], model.intercept_[0]


@pytest.mark.parametrize("loss", list(MARGIN_LOSSES))
@pytest.mark.parametrize("distance", [None, 2.0, 6.0])
def test_train_linear_reaches_the_minimiser_found_by_other_solvers(loss, distance):
    X, y = _data(distance)
    fit = train_linear(X, y, loss)
    w_ref, b_ref = _reference_fit(X, y, loss)
    # the hinge objective is piecewise linear: gradient descent gets close, not exact
    tol = 2e-2 if loss == "hinge" else 1e-4
    assert abs(boundary_angle(fit["w"]) - boundary_angle(w_ref)) < (0.5 if loss == "hinge" else 1e-3)
    np.testing.assert_allclose(np.r_[fit["w"], fit["b"]], np.r_[w_ref, b_ref], atol=tol)


def test_train_linear_objective_decreases_overall_and_ends_at_the_minimum():
    X, y = _data(2.0)
    for loss in MARGIN_LOSSES:
        history = train_linear(X, y, loss)["history"]
        assert history[-1] < 0.5 * history[0]
        assert history[-1] <= history.min() + 1e-6


def test_unknown_loss_is_rejected():
    X, y = _data()
    with pytest.raises(ValueError, match="loss must be one of"):
        train_linear(X, y, "logistic")
    with pytest.raises(ValueError, match="loss must be one of"):
        margin_loss(np.zeros(3), np.ones(3), "exp")


def test_margin_loss_is_the_logistic_loss_for_cross_entropy():
    scores = np.array([-3.0, 0.0, 2.0])
    y = np.array([1.0, -1.0, -1.0])
    expected = np.mean(np.log1p(np.exp(-y * scores)))
    assert np.isclose(margin_loss(scores, y, "cross_entropy"), expected)
    # d/ds log(1 + exp(-y s)) = -y sigmoid(-y s), averaged
    expected_grad = -y / (1 + np.exp(y * scores)) / 3
    np.testing.assert_allclose(margin_loss(scores, y, "cross_entropy", grad=True), expected_grad)


def test_boundary_line_lies_on_the_zero_score():
    w, b = np.array([1.5, -0.7]), 0.3
    xs = np.linspace(-3, 3, 7)
    ys = boundary_line(w, b, xs)
    np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0, atol=1e-12)


# ----------------------------------------------------- decision-boundary explorer
def test_hinge_and_cross_entropy_boundaries_differ():
    explorer = boundary_explorer(render=False)
    ce = explorer.state
    text = explorer.readout.value
    explorer.controls["loss"].value = "hinge"
    hinge = explorer.state
    assert hinge["loss"] == "hinge" and "hinge" in explorer.readout.value
    assert explorer.readout.value != text
    assert abs(hinge["angle"] - ce["angle"]) > 10
    # the figure's comparison boundaries do not depend on the dropdown
    for name in MARGIN_LOSSES:
        np.testing.assert_allclose(hinge["fits"][name]["w"], ce["fits"][name]["w"])


def test_every_step_of_the_mislabelled_slider_changes_boundary_and_readout():
    explorer = boundary_explorer(render=False)
    slider = _first_control(explorer)
    assert isinstance(slider, (widgets.FloatSlider, widgets.IntSlider))
    values = np.arange(slider.min, slider.max + 1e-9, slider.step)
    for loss in MARGIN_LOSSES:
        explorer.controls["loss"].value = loss
        slider.value = float(values[0])
        for value in values[1:]:
            before, text = explorer.state, explorer.readout.value
            slider.value = float(value)
            after = explorer.state
            assert not np.allclose(after["X"][-1], before["X"][-1])
            assert not np.allclose(np.r_[after["w"], after["b"]], np.r_[before["w"], before["b"]])
            assert explorer.readout.value != text, (loss, value)


def test_mislabelled_point_costs_more_the_deeper_it_goes():
    near, far = boundary_state(0.0, "hinge"), boundary_state(6.0, "hinge")
    assert far["point_loss"] > near["point_loss"] > 0
    assert np.linalg.norm(mislabelled_point(6.0) - mislabelled_point(0.0)) == pytest.approx(6.0)


def test_squared_hinge_is_dragged_furthest_and_hinge_least():
    turn = {name: boundary_state(6.0, name)["angle"] - boundary_state(0.0, name)["angle"]
            for name in MARGIN_LOSSES}
    assert turn["squared_hinge"] > turn["cross_entropy"] > turn["hinge"] > 0


def test_readout_accuracy_counts_the_clean_points():
    state = boundary_state(6.0, "squared_hinge")
    X, y = two_blobs()
    expected = np.mean(np.sign(X @ state["w"] + state["b"]) == y)
    assert state["accuracy"] == expected < 1.0
    assert f"{expected:.0%}" in boundary_explorer(render=False).format_readout(state)


def test_boundary_figure_draws_the_state():
    explorer = boundary_explorer(render=False)
    explorer.controls["loss"].value = "squared_hinge"
    fig = explorer.figure()
    ax, ax_curve = fig.axes
    state = explorer.state
    bold = [line for line in ax.get_lines() if line.get_label() == "squared hinge boundary"][0]
    np.testing.assert_allclose(bold.get_ydata(), boundary_line(state["w"], state["b"], bold.get_xdata()))
    np.testing.assert_allclose(ax_curve.get_lines()[0].get_ydata(), state["history"])
    for axis in fig.axes:
        assert axis.get_title() and axis.get_xlabel() and axis.get_ylabel() and axis.get_legend()


def test_an_update_is_fast_enough_for_a_slider():
    boundary_state(1.0, "hinge")  # warm up imports and caches
    best = min(_timed(boundary_state, 3.5, "cross_entropy") for _ in range(3))
    assert best < 0.6  # about 0.07 s on a quiet 2-core machine; generous for busy CI


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start
