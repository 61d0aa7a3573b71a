"""Lesson 00 widget: slide a classifier's threshold, watch accuracy step and cross-entropy glide.

The pure part is :func:`exam_data` and :func:`threshold_state`; the
:func:`threshold_explorer` builder only wires two sliders to them.
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons import basics
from course.lessons.basics import exam_data
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

T_MIN, T_MAX = 0.0, 8.0
SHARPNESS_MAX = 5.0


@lru_cache(maxsize=16)
def _curves(sharpness: float, n_grid: int) -> tuple[np.ndarray, ...]:
    """Accuracy and cross-entropy (and its slope) on the grid of thresholds.

    They do not depend on the chosen threshold, so moving it reuses them; the
    arrays are shared between states and must not be written to.
    """
    x, y = exam_data()
    grid = np.linspace(T_MIN, T_MAX, n_grid)
    accuracy = np.array([basics.threshold_accuracy(x, y, t) for t in grid])
    cross_entropy = np.array([basics.threshold_cross_entropy(x, y, t, sharpness) for t in grid])
    ce_slope = np.array([basics.threshold_cross_entropy_derivative(x, y, t, sharpness) for t in grid])
    for array in (grid, accuracy, cross_entropy, ce_slope):
        array.flags.writeable = False
    return grid, accuracy, cross_entropy, ce_slope


def threshold_state(threshold: float = 2.0, sharpness: float = 1.5, n_grid: int = 401) -> dict:
    """Everything the lesson-00 figure shows, for one threshold and sharpness.

    Returns the data, the classifier's probability curve, and accuracy and
    cross-entropy (and their slopes in the threshold) both on a grid of
    thresholds and at the chosen one.
    """
    x, y = exam_data()
    grid, accuracy, cross_entropy, ce_slope = _curves(float(sharpness), int(n_grid))
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


def _legend_below(ax, ncol: int = 1) -> None:
    """Under the axes, where no data and no moving line can run through it."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol)


def _build_threshold(state: dict):
    """Left: the students and the classifier. Middle: both scores vs t. Right: their slopes."""
    fig, (ax_data, ax_loss, ax_slope) = figure(3, width=12, height=4.6)
    x, grid = state["x"], state["grid"]
    empty = np.empty((0, 2))
    parts = {
        "right": ax_data.scatter(empty[:, 0], empty[:, 1], s=30, color=LOSS_COLORS["data"],
                                 label="classified right", zorder=3),
        "wrong": ax_data.scatter(empty[:, 0], empty[:, 1], s=60, marker="x",
                                 color=OKABE_ITO["vermillion"], label="classified wrong", zorder=3),
        "probability": ax_data.plot(state["hours"], state["probability"],
                                    color=LOSS_COLORS["cross_entropy"], lw=2,
                                    label="p(pass) = σ(s·(x − t))")[0],
    }
    ax_data.set_xlim(T_MIN - 0.3, T_MAX + 0.3)
    ax_data.set_ylim(-0.12, 1.12)
    finish(ax_data, "Students and the classifier", "hours studied x", "passed (1) / failed (0)",
           legend=False)

    ax_loss.plot(grid, 1 - state["accuracy_curve"], color=LOSS_COLORS["accuracy"], lw=2,
                 drawstyle="steps-post", label="error rate = 1 − accuracy")
    parts["ce_curve"] = ax_loss.plot(grid, state["cross_entropy_curve"],
                                     color=LOSS_COLORS["cross_entropy"], lw=2,
                                     label="cross-entropy")[0]
    parts["error_dot"] = ax_loss.plot([], [], "o", color=LOSS_COLORS["accuracy"])[0]
    parts["ce_dot"] = ax_loss.plot([], [], "o", color=LOSS_COLORS["cross_entropy"])[0]
    ax_loss.set_xlim(T_MIN, T_MAX)
    ax_loss.set_ylim(0, 2.5)
    finish(ax_loss, "Two scores for the same classifier", "threshold t", "value (lower is better)",
           legend=False)

    ax_slope.axhline(0, color=LOSS_COLORS["accuracy"], lw=2, label="slope of error rate (0 between jumps)")
    ax_slope.plot(x, np.zeros_like(x), "|", color=LOSS_COLORS["accuracy"], ms=14,
                  label="jumps at the data points")
    parts["slope_curve"] = ax_slope.plot(grid, state["cross_entropy_slope_curve"],
                                         color=LOSS_COLORS["cross_entropy"], lw=2,
                                         label="slope of cross-entropy")[0]
    parts["slope_dot"] = ax_slope.plot([], [], "o", color=LOSS_COLORS["cross_entropy"])[0]
    # fixed limits (the figure is updated in place): room for the steepest sharpness
    steepest = np.abs(_curves(SHARPNESS_MAX, len(grid))[3]).max()
    ax_slope.set_xlim(T_MIN, T_MAX)
    ax_slope.set_ylim(-1.1 * steepest, 1.1 * steepest)
    finish(ax_slope, "Slopes: which way should t move?", "threshold t", "d(value) / dt",
           legend=False)
    for ax in (ax_data, ax_loss, ax_slope):
        parts.setdefault("lines", []).append(
            ax.axvline(state["threshold"], color="black", ls="--", lw=1, label="threshold t"))
    _legend_below(ax_data)
    _legend_below(ax_loss)
    _legend_below(ax_slope)
    parts["title"] = ax_data.title
    return fig, parts


def _refresh_threshold(parts: dict, state: dict) -> list:
    t, x, y = state["threshold"], state["x"], state["y"]
    wrong = (x > t) != (y == 1)
    parts["right"].set_offsets(np.column_stack([x[~wrong], y[~wrong]]))
    parts["wrong"].set_offsets(np.column_stack([x[wrong], y[wrong]]))
    parts["probability"].set_ydata(state["probability"])
    parts["ce_curve"].set_ydata(state["cross_entropy_curve"])
    parts["error_dot"].set_data([t], [1 - state["accuracy"]])
    parts["ce_dot"].set_data([t], [state["cross_entropy"]])
    parts["slope_curve"].set_ydata(state["cross_entropy_slope_curve"])
    parts["slope_dot"].set_data([t], [state["cross_entropy_slope"]])
    for line in parts["lines"]:
        line.set_xdata([t, t])
    parts["title"].set_text(f"Students and the classifier, t = {t:.2f}")
    return [parts[key] for key in ("right", "wrong", "probability", "ce_curve", "error_dot",
                                   "ce_dot", "slope_curve", "slope_dot", "title")] + parts["lines"]


draw_threshold = LiveFigure(_build_threshold, _refresh_threshold)


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
        "sharpness": widgets.FloatSlider(value=1.5, min=0.5, max=SHARPNESS_MAX, step=0.5,
                                         description="sharpness s"),
    }
    return Explorer(controls, threshold_state, draw_threshold, threshold_readout,
                    name="threshold", render=render)
