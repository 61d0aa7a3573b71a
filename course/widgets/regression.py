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

from ._base import Explorer, LiveFigure


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


STYLES = {"mse": ("MSE (mean)", "--"), "l1": ("MAE (median)", ":"), "huber": ("Huber", "-")}
OUTLIER_MAX = 60.0


def _build_huber_fit(state: dict):
    """Left: data and three fitted lines. Right: the losses as functions of the residual."""
    fig, (ax_fit, ax_loss) = figure(2, width=10.5, height=4.0)
    parts = {"data": ax_fit.scatter(state["x"], state["y"], s=14, color=LOSS_COLORS["data"],
                                    label="data", zorder=3)}
    for name, (label, style) in STYLES.items():
        parts[name] = ax_fit.plot([], [], style, lw=2.2, color=LOSS_COLORS[name],
                                  label=f"{label}: slope 0.00")[0]
    # fixed limits (the figure is updated in place): room for the largest outlier push
    x, y_far = outlier_data(OUTLIER_MAX)
    ax_fit.set_xlim(x.min() - 0.5, x.max() + 0.5)
    ax_fit.set_ylim(min(y_far.min(), 0) - 2, y_far.max() + 2)
    finish(ax_fit, "", "x", "y", legend=False)
    parts["legend"] = ax_fit.legend(loc="upper left")
    parts["title"] = ax_fit.title

    r = state["residual_grid"]
    ax_loss.plot(r, state["curves"]["mse"], "--", color=LOSS_COLORS["mse"], label="½ r² (squared)")
    ax_loss.plot(r, state["curves"]["l1"], ":", color=LOSS_COLORS["l1"], label="|r| (absolute)")
    parts["huber_curve"] = ax_loss.plot(r, state["curves"]["huber"], lw=2.5,
                                        color=LOSS_COLORS["huber"], label="Huber, δ = 0.0")[0]
    parts["edges"] = [ax_loss.axvline(0, color=LOSS_COLORS["huber"], lw=0.8, alpha=0.6)
                      for _ in range(2)]
    ax_loss.set_xlim(r[0], r[-1])
    ax_loss.set_ylim(0, 10)
    finish(ax_loss, "Loss as a function of the residual", "residual r = prediction − target", "loss",
           legend=False)
    parts["loss_legend"] = ax_loss.legend(loc="upper center")
    return fig, parts


def _refresh_huber_fit(parts: dict, state: dict) -> list:
    x, y = state["x"], state["y"]
    parts["data"].set_offsets(np.column_stack([x, y]))
    grid = np.array([x.min(), x.max()])
    texts = parts["legend"].get_texts()
    for k, (name, (label, _)) in enumerate(STYLES.items(), start=1):
        slope, intercept = state["fits"][name]
        parts[name].set_data(grid, slope * grid + intercept)
        texts[k].set_text(f"{label}: slope {slope:.2f}")
    parts["title"].set_text(f"Fits with an outlier push of {state['outlier']:.0f}")
    parts["huber_curve"].set_ydata(state["curves"]["huber"])
    parts["loss_legend"].get_texts()[2].set_text(f"Huber, δ = {state['delta']:.1f}")
    for edge, line in zip((-state["delta"], state["delta"]), parts["edges"]):
        line.set_xdata([edge, edge])
    return [parts[key] for key in ("data", "mse", "l1", "huber", "legend", "title", "huber_curve",
                                   "loss_legend")] + parts["edges"]


draw_huber_fit = LiveFigure(_build_huber_fit, _refresh_huber_fit)


def _signed(value: float, spec: str = ".2f") -> str:
    """`+ 0.44` or `− 0.44`: a term added to a formula, its sign written once."""
    return f"{'−' if value < 0 else '+'} {format(abs(value), spec)}"


def huber_fit_readout(state: dict) -> str:
    slope, intercept = state["fits"]["huber"]
    return (
        f"<b>δ = {state['delta']:.1f}</b>, outlier push = {state['outlier']:.0f} → "
        f"Huber fit <b>y = {slope:.2f} x {_signed(intercept)}</b> "
        f"(truth y = {TRUE_SLOPE} x {_signed(TRUE_INTERCEPT, 'g')}); "
        f"mean Huber loss <b>{state['huber_value']:.3f}</b>"
    )


def huber_fit_explorer(render: bool | None = None) -> Explorer:
    """Two sliders: Huber's delta and the size of the outliers."""
    controls = {
        "delta": widgets.FloatSlider(value=1.0, min=0.1, max=10.0, step=0.1, description="Huber δ"),
        "outlier": widgets.FloatSlider(value=30.0, min=0.0, max=OUTLIER_MAX, step=5.0,
                                       description="outlier push"),
    }
    return Explorer(controls, huber_fit_state, draw_huber_fit, huber_fit_readout,
                    name="huber-fit", render=render)
