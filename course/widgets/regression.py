"""Lesson 01 widget: how Huber's delta and an outlier's size move a fitted line.

The pure part is :func:`huber_fit_state` (the fits come from
:mod:`course.lessons.regression`); the
:func:`huber_fit_explorer` builder only wires two sliders to them.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.regression import TRUE_INTERCEPT, TRUE_SLOPE, fit_line, outlier_data
from course.plots import LOSS_COLORS, figure, finish

from ._base import Explorer


def huber_fit_state(delta: float = 1.0, outlier: float = 30.0) -> dict:
    """Everything the lesson-01 figure shows, for one setting of the sliders."""
    x, y = outlier_data(outlier)
    fits = {name: fit_line(x, y, name, delta=delta) for name in ("mse", "l1", "huber")}
    slope, intercept = fits["huber"]
    prediction = slope * x + intercept
    residual_grid = np.linspace(-6.0, 6.0, 241)
    zeros = np.zeros_like(residual_grid)
    return {
        "delta": delta,
        "outlier": outlier,
        "x": x,
        "y": y,
        "fits": fits,
        "residuals": prediction - y,
        "huber_value": float(losses.huber_loss(prediction, y, delta=delta)),
        "residual_grid": residual_grid,
        "curves": {
            "huber": losses.huber_loss(residual_grid, zeros, "none", delta=delta),
            "mse": 0.5 * losses.mse_loss(residual_grid, zeros, "none"),
            "l1": losses.l1_loss(residual_grid, zeros, "none"),
        },
    }


def draw_huber_fit(state: dict):
    """Left: data and three fitted lines. Right: the losses as functions of the residual."""
    fig, (ax_fit, ax_loss) = figure(2, width=9.5, height=3.6)
    x, y = state["x"], state["y"]
    ax_fit.scatter(x, y, s=14, color=LOSS_COLORS["data"], label="data", zorder=3)
    styles = {"mse": ("MSE (mean)", "--"), "l1": ("MAE (median)", ":"), "huber": ("Huber", "-")}
    grid = np.array([x.min(), x.max()])
    for name, (label, style) in styles.items():
        slope, intercept = state["fits"][name]
        ax_fit.plot(grid, slope * grid + intercept, style, lw=2.2, color=LOSS_COLORS[name],
                    label=f"{label}: slope {slope:.2f}")
    ax_fit.set_ylim(min(y.min(), 0) - 2, max(y.max(), 25) + 2)
    finish(ax_fit, f"Fits with an outlier push of {state['outlier']:.0f}", "x", "y")

    r = state["residual_grid"]
    ax_loss.plot(r, state["curves"]["mse"], "--", color=LOSS_COLORS["mse"], label="½ r² (squared)")
    ax_loss.plot(r, state["curves"]["l1"], ":", color=LOSS_COLORS["l1"], label="|r| (absolute)")
    ax_loss.plot(r, state["curves"]["huber"], lw=2.5, color=LOSS_COLORS["huber"],
                 label=f"Huber, δ = {state['delta']:.1f}")
    for edge in (-state["delta"], state["delta"]):
        ax_loss.axvline(edge, color=LOSS_COLORS["huber"], lw=0.8, alpha=0.6)
    ax_loss.set_ylim(0, 10)
    finish(ax_loss, "Loss as a function of the residual", "residual r = prediction − target", "loss")
    return fig


def huber_fit_readout(state: dict) -> str:
    slope, intercept = state["fits"]["huber"]
    return (
        f"<b>δ = {state['delta']:.1f}</b>, outlier push = {state['outlier']:.0f} → "
        f"Huber fit <b>y = {slope:.2f} x + {intercept:.2f}</b> "
        f"(truth y = {TRUE_SLOPE} x + {TRUE_INTERCEPT}); "
        f"mean Huber loss <b>{state['huber_value']:.3f}</b>"
    )


def huber_fit_explorer(render: bool | None = None) -> Explorer:
    """Two sliders: Huber's delta and the size of the outliers."""
    controls = {
        "delta": widgets.FloatSlider(value=1.0, min=0.1, max=10.0, step=0.1, description="Huber δ"),
        "outlier": widgets.FloatSlider(value=30.0, min=0.0, max=60.0, step=5.0,
                                       description="outlier push"),
    }
    return Explorer(controls, huber_fit_state, draw_huber_fit, huber_fit_readout,
                    name="huber-fit", render=render)
