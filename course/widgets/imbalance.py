"""Lesson 06 widget: focal loss's gamma and alpha on a 99:1 problem.

Two sliders, ``gamma`` (the focusing exponent) and ``alpha`` (the weight of
the rare, positive class). The pure part, :func:`focal_state`, trains a
linear model with ``sigmoid_focal_loss(gamma, alpha)`` on the lesson's data
and returns the loss curves against ``p_t``, the decision boundary, the
rare-class recall, precision and average precision on a test set, and the
share of the gradient that easy examples supply;
:func:`focal_explorer` only wires the sliders to it.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.imbalance import (
    focal_fit,
    gradient_shares,
    lesson_data,
    objective,
    rare_class_report,
)
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

FOCAL_COLOR = OKABE_ITO["vermillion"]
RARE_COLOR = OKABE_ITO["orange"]


def focal_state(gamma: float = 2.0, alpha: float = 0.25) -> dict:
    """Everything the widget shows for one setting of ``gamma`` and ``alpha``.

    The model is trained on the lesson's training set with the mean
    ``sigmoid_focal_loss(z, y, alpha, gamma)``; plain cross-entropy
    (``gamma=0``, no alpha) is the reference. ``easy_share`` is the share of
    the total ``|d loss / d logit|`` from common-class examples with
    ``p_t >= 0.9``, measured at the cross-entropy model, so it shows how the
    loss itself re-weights the same examples.
    """
    gamma, alpha = float(gamma), float(alpha)
    (X, y), (X_test, y_test) = lesson_data()
    w, b = focal_fit(round(gamma, 6), round(alpha, 6))
    w_ce, b_ce = focal_fit(0.0, None)
    logits_ce = X @ w_ce + b_ce

    # loss of one example against the probability of its own label, p_t = sigmoid(z)
    z = np.linspace(-4.6, 6.9, 300)  # p_t from 0.01 to 0.999
    ones = np.ones_like(z)
    focal = losses.sigmoid_focal_loss(z, ones, alpha=None, gamma=gamma)
    cross_entropy = losses.binary_cross_entropy_with_logits(z, ones, reduction="none")
    shares = gradient_shares(logits_ce, y, objective("focal", alpha=alpha, gamma=gamma).grad)
    return {
        "gamma": gamma,
        "alpha": alpha,
        "p_t": losses.sigmoid(z),
        "cross_entropy": cross_entropy,
        "focal_rare": alpha * focal,
        "focal_common": (1 - alpha) * focal,
        "modulation": focal / cross_entropy,
        "w": w,
        "b": b,
        "w_ce": w_ce,
        "b_ce": b_ce,
        "report": rare_class_report(X_test @ w + b, y_test),
        "report_ce": rare_class_report(X_test @ w_ce + b_ce, y_test),
        "easy_share": shares["common, easy"],
        "rare_share": shares["rare"],
    }


def _boundary(w, b, xs):
    """Points of ``w . x + b = 0`` over ``xs`` (the model says 50 % there)."""
    return -(w[0] * xs + b) / w[1]


def _build_focal(state: dict):
    """Left: loss against p_t for each class. Right: data and decision boundaries."""
    fig, (ax_loss, ax_data) = figure(2, width=11, height=4.8)
    p_t = state["p_t"]
    ax_loss.plot(p_t, state["cross_entropy"], "--", color=LOSS_COLORS["cross_entropy"],
                 label="cross-entropy (γ = 0)")
    parts = {
        "rare": ax_loss.plot(p_t, state["focal_rare"], lw=2.2, color=RARE_COLOR,
                             label="focal, rare class (× α)")[0],
        "common": ax_loss.plot(p_t, state["focal_common"], lw=2.2, color=FOCAL_COLOR,
                               label="focal, common class (× 1 − α)")[0],
    }
    ax_loss.axvspan(0.9, 1.0, color="#999999", alpha=0.2, lw=0, label="easy: p_t ≥ 0.9")
    ax_loss.set_xlim(0, 1)
    ax_loss.set_ylim(0, 3)
    finish(ax_loss, "", "p_t (probability of the true label)", "loss per example", legend=False)
    ax_loss.legend(loc="upper right")
    parts["loss_title"] = ax_loss.title

    (X, y), _ = lesson_data()
    common = X[y == 0][::4]  # a quarter of the common class keeps the picture readable
    ax_data.scatter(common[:, 0], common[:, 1], s=3, color=LOSS_COLORS["data"], alpha=0.35,
                    label="common class (1 in 4 drawn)")
    ax_data.scatter(X[y == 1, 0], X[y == 1, 1], s=12, color=RARE_COLOR, label="rare class")
    xs = np.array([-4.0, 5.0])
    ax_data.plot(xs, _boundary(state["w_ce"], state["b_ce"], xs), "--",
                 color=LOSS_COLORS["cross_entropy"], label="cross-entropy boundary")
    parts["boundary"] = ax_data.plot([], [], lw=2.2, color=FOCAL_COLOR, label="focal boundary")[0]
    ax_data.set_xlim(-4, 5)
    ax_data.set_ylim(-4, 5)
    finish(ax_data, "", "feature 1", "feature 2", legend=False)
    # beside the data, never on it
    ax_data.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), markerscale=2)
    parts["data_title"] = ax_data.title
    return fig, parts


def _refresh_focal(parts: dict, state: dict) -> list:
    parts["rare"].set_ydata(state["focal_rare"])
    parts["common"].set_ydata(state["focal_common"])
    parts["loss_title"].set_text(f"Focal loss, γ = {state['gamma']:.1f}, α = {state['alpha']:.2f}")
    xs = np.array([-4.0, 5.0])
    parts["boundary"].set_data(xs, _boundary(state["w"], state["b"], xs))
    recall = state["report"]["recall_rare"]
    parts["data_title"].set_text(f"Decision boundary: rare-class recall {recall:.2f}")
    return [parts[key] for key in ("rare", "common", "loss_title", "boundary", "data_title")]


draw_focal = LiveFigure(_build_focal, _refresh_focal)


def focal_readout(state: dict) -> str:
    report, ce = state["report"], state["report_ce"]
    return (
        f"<b>γ = {state['gamma']:.1f}, α = {state['alpha']:.2f}</b> → on the test set: "
        f"rare-class recall <b>{report['recall_rare']:.3f}</b> (cross-entropy {ce['recall_rare']:.3f}), "
        f"precision <b>{report['precision_rare']:.3f}</b> ({ce['precision_rare']:.3f}), "
        f"average precision <b>{report['average_precision']:.3f}</b> ({ce['average_precision']:.3f}); "
        f"easy examples' share of the gradient <b>{state['easy_share']:.1%}</b>"
    )


def focal_explorer(render: bool | None = None) -> Explorer:
    """Two sliders: focal loss's gamma and alpha."""
    controls = {
        "gamma": widgets.FloatSlider(value=2.0, min=0.0, max=5.0, step=0.5, description="γ (focus)"),
        "alpha": widgets.FloatSlider(value=0.25, min=0.05, max=0.95, step=0.05,
                                     description="α (rare-class weight)"),
    }
    return Explorer(controls, focal_state, draw_focal, focal_readout, name="focal-imbalance",
                    render=render)
