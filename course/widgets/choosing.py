"""Lesson 12 widget: what a missed diagnosis costs, and what that does to the screen.

One slider, ``log10_ratio``: a missed case costs ``k = 10 ** log10_ratio``
false alarms. The pure part, :func:`screening_state`, takes lesson 06's 99:1
screen and returns the Bayes threshold ``1 / (1 + k)``, the expected cost
per patient of the plain cross-entropy model at every threshold, and the
cost of three screens: plain cross-entropy cut at 0.5, the same model cut at
the Bayes threshold, and cross-entropy with ``pos_weight = k`` cut at 0.5
(refitted for each ``k``). :func:`screening_explorer` only wires the slider.
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.choosing import (
    bayes_threshold,
    expected_cost,
    expected_cost_curve,
    pos_weight_for_costs,
    screen_data,
    screen_fit,
)
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

THRESHOLD_COLOR = OKABE_ITO["vermillion"]
WEIGHTED_COLOR = OKABE_ITO["green"]
ILL_COLOR = OKABE_ITO["orange"]
THRESHOLDS = np.geomspace(1e-3, 0.9, 120)
COST_LIMITS = (3e-3, 5.0)  # every k of the slider: lowest cost 0.007, highest 2.7
XS = np.array([-4.0, 5.0])


@lru_cache(maxsize=1)
def _plain_test_probabilities():
    """The plain model's probabilities on the test set: they do not depend on the slider."""
    _, (X_test, y_test) = screen_data()
    w, b = screen_fit(1.0)
    return losses.sigmoid(X_test @ w + b), y_test


def screening_state(log10_ratio: float = 1.0) -> dict:
    """Everything the widget shows when a miss costs ``10 ** log10_ratio`` false alarms.

    Costs are in units of one false alarm, per patient of the test set.
    ``best_cost`` is the lowest cost of the plain model over the threshold
    grid, chosen on the test set itself: a bound no honest screen beats.
    """
    log10_ratio = round(float(log10_ratio), 6)
    ratio = 10.0**log10_ratio
    cost_fp, cost_fn = 1.0, ratio
    _, (X_test, y_test) = screen_data()
    w, b = screen_fit(1.0)
    w_k, b_k = screen_fit(round(pos_weight_for_costs(cost_fp, cost_fn), 9))
    p_plain, _ = _plain_test_probabilities()
    p_weighted = losses.sigmoid(X_test @ w_k + b_k)
    threshold = bayes_threshold(cost_fp, cost_fn)
    curve = expected_cost_curve(p_plain, y_test, cost_fp, cost_fn, THRESHOLDS)
    return {
        "log10_ratio": log10_ratio,
        "ratio": ratio,
        "threshold": threshold,
        "thresholds": THRESHOLDS,
        "cost_curve": curve,
        "best_cost": float(curve.min()),
        "best_threshold": float(THRESHOLDS[curve.argmin()]),
        "cost_plain": expected_cost(p_plain, y_test, cost_fp, cost_fn, 0.5),
        "cost_bayes": expected_cost(p_plain, y_test, cost_fp, cost_fn, threshold),
        "cost_weighted": expected_cost(p_weighted, y_test, cost_fp, cost_fn, 0.5),
        "w": w, "b": b, "w_weighted": w_k, "b_weighted": b_k,
    }


def _boundary(w, b, xs, probability=0.5):
    """Points where the model ``sigmoid(w . x + b)`` equals ``probability``."""
    logit = np.log(probability / (1 - probability))
    return -(w[0] * xs + b - logit) / w[1]


def _build_screening(state: dict):
    """Left: cost per patient against the threshold (both axes logarithmic, fixed, so every k
    fits and the valley stays visible). Right: the screens on the data."""
    fig, (ax_cost, ax_data) = figure(2, width=11, height=4.4)
    parts = {
        "curve": ax_cost.plot(state["thresholds"], state["cost_curve"], lw=2,
                              color=LOSS_COLORS["cross_entropy"],
                              label="cross-entropy model, any threshold")[0],
        "bayes": ax_cost.axvline(state["threshold"], color=THRESHOLD_COLOR, lw=1.5,
                                 label="Bayes threshold 1/(1 + k)"),
        "weighted": ax_cost.plot([state["threshold"]], [state["cost_weighted"]], "D",
                                 color=WEIGHTED_COLOR, ms=7,
                                 label="weighted model (pos_weight = k) at 0.5")[0],
    }
    ax_cost.axvline(0.5, color="black", lw=1, ls="--", label="the default, 0.5")
    ax_cost.set_xscale("log")
    ax_cost.set_yscale("log")
    ax_cost.set_xlim(THRESHOLDS[0], 1.0)
    ax_cost.set_ylim(*COST_LIMITS)
    finish(ax_cost, "", "threshold on p (log scale)", "cost per patient (false alarms, log scale)",
           legend=False)
    ax_cost.legend(loc="lower left", fontsize=9, framealpha=0.95)  # no k puts the curve there
    parts["cost_title"] = ax_cost.title

    (X, y), _ = screen_data()
    healthy = X[y == 0][::4]
    ax_data.scatter(healthy[:, 0], healthy[:, 1], s=3, color=LOSS_COLORS["data"], alpha=0.35,
                    label="healthy (1 in 4 drawn)")
    ax_data.scatter(X[y == 1, 0], X[y == 1, 1], s=12, color=ILL_COLOR, label="ill")
    ax_data.plot(XS, _boundary(state["w"], state["b"], XS), "--", color="black",
                 label="cross-entropy, cut at 0.5")
    parts["bayes_line"] = ax_data.plot([], [], lw=2, color=THRESHOLD_COLOR,
                                       label="cross-entropy, Bayes threshold")[0]
    parts["weighted_line"] = ax_data.plot([], [], lw=2, ls=":", color=WEIGHTED_COLOR,
                                          label="weighted, cut at 0.5")[0]
    ax_data.set_xlim(-4, 5)
    ax_data.set_ylim(-4, 5)
    finish(ax_data, "Where each screen says 'refer'", "feature 1", "feature 2", legend=False)
    # beside the data, never on it
    ax_data.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9, markerscale=2)
    return fig, parts


def _refresh_screening(parts: dict, state: dict) -> list:
    parts["curve"].set_ydata(state["cost_curve"])
    parts["bayes"].set_xdata([state["threshold"]] * 2)
    parts["weighted"].set_data([state["threshold"]], [state["cost_weighted"]])
    parts["cost_title"].set_text(f"A miss costs k = {state['ratio']:.3g} false alarms: "
                                 f"threshold {state['threshold']:.3f}")
    parts["bayes_line"].set_data(XS, _boundary(state["w"], state["b"], XS, state["threshold"]))
    parts["weighted_line"].set_data(XS, _boundary(state["w_weighted"], state["b_weighted"], XS))
    return [parts[key] for key in ("curve", "bayes", "weighted", "cost_title", "bayes_line",
                                   "weighted_line")]


draw_screening = LiveFigure(_build_screening, _refresh_screening)


def screening_readout(state: dict) -> str:
    return (
        f"<b>a miss costs k = {state['ratio']:.3g} false alarms</b> (log10 k = {state['log10_ratio']:.2f}) "
        f"→ Bayes threshold <b>{state['threshold']:.4f}</b>; cost per patient on the test set: "
        f"cross-entropy at 0.5 <b>{state['cost_plain']:.4f}</b>, at the Bayes threshold "
        f"<b>{state['cost_bayes']:.4f}</b>, weighted (pos_weight = k) at 0.5 "
        f"<b>{state['cost_weighted']:.4f}</b>; best threshold in hindsight "
        f"{state['best_threshold']:.4f}, cost {state['best_cost']:.4f}"
    )


def screening_explorer(render: bool | None = None) -> Explorer:
    """One slider: how many false alarms a missed case is worth, log10(cost of a miss / cost of a
    false alarm), so 1 means a miss costs 10 false alarms."""
    controls = {
        "log10_ratio": widgets.FloatSlider(value=1.0, min=0.0, max=2.5, step=0.1,
                                           description="log10 cost ratio"),
    }
    return Explorer(controls, screening_state, draw_screening, screening_readout,
                    name="screening-costs", render=render)
