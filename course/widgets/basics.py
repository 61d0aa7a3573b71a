"""Lesson 00 widget: slide a classifier's threshold, watch accuracy step and cross-entropy glide.

The pure part is :func:`exam_data` and :func:`threshold_state`; the
:func:`threshold_explorer` builder only wires two sliders to them.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons import basics
from course.lessons.basics import exam_data
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer

T_MIN, T_MAX = 0.0, 8.0


def threshold_state(threshold: float = 2.0, sharpness: float = 1.5, n_grid: int = 401) -> dict:
    """Everything the lesson-00 figure shows, for one threshold and sharpness.

    Returns the data, the classifier's probability curve, and accuracy and
    cross-entropy (and their slopes in the threshold) both on a grid of
    thresholds and at the chosen one.
    """
    x, y = exam_data()
    grid = np.linspace(T_MIN, T_MAX, n_grid)
    accuracy = np.array([basics.threshold_accuracy(x, y, t) for t in grid])
    cross_entropy = np.array([basics.threshold_cross_entropy(x, y, t, sharpness) for t in grid])
    ce_slope = np.array([basics.threshold_cross_entropy_derivative(x, y, t, sharpness) for t in grid])
    hours = np.linspace(T_MIN, T_MAX, 200)
    return {
        "threshold": float(threshold),
        "sharpness": float(sharpness),
        "x": x,
        "y": y,
        "hours": hours,
        "probability": losses.sigmoid(basics.threshold_logits(hours, threshold, sharpness)),
        "grid": grid,
        "accuracy_curve": accuracy,
        "cross_entropy_curve": cross_entropy,
        "cross_entropy_slope_curve": ce_slope,
        "accuracy": float(basics.threshold_accuracy(x, y, threshold)),
        "accuracy_slope": float(basics.accuracy_derivative(x, y, threshold)),
        "cross_entropy": float(basics.threshold_cross_entropy(x, y, threshold, sharpness)),
        "cross_entropy_slope": float(
            basics.threshold_cross_entropy_derivative(x, y, threshold, sharpness)),
    }


def draw_threshold(state: dict):
    """Left: the students and the classifier. Middle: both scores vs t. Right: their slopes."""
    fig, (ax_data, ax_loss, ax_slope) = figure(3, width=12, height=3.6)
    t, x, y = state["threshold"], state["x"], state["y"]
    wrong = (x > t) != (y == 1)
    ax_data.scatter(x[~wrong], y[~wrong], s=30, color=LOSS_COLORS["data"], label="classified right",
                    zorder=3)
    ax_data.scatter(x[wrong], y[wrong], s=60, marker="x", color=OKABE_ITO["vermillion"],
                    label="classified wrong", zorder=3)
    ax_data.plot(state["hours"], state["probability"], color=LOSS_COLORS["cross_entropy"], lw=2,
                 label="p(pass) = σ(s·(x − t))")
    ax_data.axvline(t, color="black", ls="--", lw=1, label=f"threshold t = {t:.2f}")
    finish(ax_data, "Students and the classifier", "hours studied x", "passed (1) / failed (0)")
    ax_data.legend(loc="center right", fontsize=8)

    grid = state["grid"]
    ax_loss.plot(grid, 1 - state["accuracy_curve"], color=LOSS_COLORS["accuracy"], lw=2,
                 drawstyle="steps-post", label="error rate = 1 − accuracy")
    ax_loss.plot(grid, state["cross_entropy_curve"], color=LOSS_COLORS["cross_entropy"], lw=2,
                 label="cross-entropy")
    ax_loss.plot([t], [1 - state["accuracy"]], "o", color=LOSS_COLORS["accuracy"])
    ax_loss.plot([t], [state["cross_entropy"]], "o", color=LOSS_COLORS["cross_entropy"])
    ax_loss.axvline(t, color="black", ls="--", lw=1)
    ax_loss.set_ylim(0, 2.5)
    finish(ax_loss, "Two scores for the same classifier", "threshold t", "value (lower is better)")

    ax_slope.axhline(0, color=LOSS_COLORS["accuracy"], lw=2, label="slope of error rate (0 between jumps)")
    ax_slope.plot(x, np.zeros_like(x), "|", color=LOSS_COLORS["accuracy"], ms=14,
                  label="jumps at the data points")
    ax_slope.plot(grid, state["cross_entropy_slope_curve"], color=LOSS_COLORS["cross_entropy"], lw=2,
                  label="slope of cross-entropy")
    ax_slope.plot([t], [state["cross_entropy_slope"]], "o", color=LOSS_COLORS["cross_entropy"])
    ax_slope.axvline(t, color="black", ls="--", lw=1)
    finish(ax_slope, "Slopes: which way should t move?", "threshold t", "d(value) / dt")
    ax_slope.legend(loc="upper left", fontsize=8)
    return fig


def threshold_readout(state: dict) -> str:
    ce_slope = state["cross_entropy_slope"]
    direction = "right" if ce_slope < 0 else "left"
    return (
        f"<b>t = {state['threshold']:.2f}</b>, sharpness s = {state['sharpness']:.1f} → "
        f"accuracy <b>{state['accuracy']:.3f}</b> (slope {state['accuracy_slope']:.3g}); "
        f"cross-entropy <b>{state['cross_entropy']:.4f}</b> (slope {ce_slope:+.4f}: "
        f"move t to the {direction})"
    )


def threshold_explorer(render: bool | None = None) -> Explorer:
    """Two sliders: the threshold t, and the sharpness s of the soft classifier."""
    controls = {
        "threshold": widgets.FloatSlider(value=2.0, min=T_MIN, max=T_MAX, step=0.05,
                                         description="threshold t"),
        "sharpness": widgets.FloatSlider(value=1.5, min=0.5, max=5.0, step=0.5,
                                         description="sharpness s"),
    }
    return Explorer(controls, threshold_state, draw_threshold, threshold_readout,
                    name="threshold", render=render)
