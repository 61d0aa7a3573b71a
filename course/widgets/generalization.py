"""Lesson 10 widget: temperature scaling on a reliability diagram.

One slider, the temperature ``T``. The pure part, :func:`temperature_state`,
divides the test logits of the lesson's label-smoothed model by ``T`` and
returns the reliability bins, the expected calibration error, the NLL and
the accuracy (which no temperature changes); :func:`temperature_explorer`
only wires the slider to it.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.generalization import (
    calibration_logits,
    expected_calibration_error,
    fitted_temperature,
    reliability_bins,
    temperature_nll,
    top_label,
)
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

N_BINS = 10


def temperature_state(temperature: float = 1.0) -> dict:
    """Reliability bins, ECE, NLL and accuracy of ``softmax(z_test / T)``."""
    T = float(temperature)
    _, _, z, y = calibration_logits()
    probs = losses.softmax(z / T, axis=1)
    confidence, correct = top_label(probs, y)
    return {
        "temperature": T,
        "fitted": fitted_temperature(),
        "bins": reliability_bins(confidence, correct, N_BINS),
        "confidence": confidence,
        "ece": expected_calibration_error(probs, y, N_BINS),
        "nll": temperature_nll(z, y, T),
        "accuracy": float(correct.mean()),
        "mean_confidence": float(confidence.mean()),
    }


def draw_reliability(state: dict, ax=None, label: str = "model"):
    """A reliability diagram: accuracy per confidence bin against the diagonal."""
    fig = None
    if ax is None:
        fig, ax = figure(1, width=5.6, height=4.2)
    bins = state["bins"]
    edges = bins["edges"]
    width = edges[1] - edges[0]
    used = bins["count"] > 0
    ax.bar(edges[:-1][used], bins["accuracy"][used], width=width, align="edge",
           color=OKABE_ITO["sky"], edgecolor=OKABE_ITO["blue"], label=f"{label}: accuracy per bin")
    ax.plot(bins["confidence"][used], bins["accuracy"][used], "o", color=OKABE_ITO["vermillion"],
            label="(mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], "--", color=LOSS_COLORS["accuracy"], label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    finish(ax, f"T = {state['temperature']:.2f}: ECE {state['ece']:.3f}, NLL {state['nll']:.3f}",
           "confidence (largest probability)", "accuracy")
    ax.legend(loc="upper left")
    return fig if fig is not None else ax.figure


def _build_reliability(state: dict):
    """The explorer's reliability diagram: bars per confidence bin, legend beside the axes."""
    fig, ax = figure(1, width=8.4, height=4.2)
    edges = state["bins"]["edges"]
    parts = {"bars": list(ax.bar(edges[:-1], np.zeros(len(edges) - 1), width=edges[1] - edges[0],
                                 align="edge", color=OKABE_ITO["sky"], edgecolor=OKABE_ITO["blue"],
                                 label="model: accuracy per bin")),
             "dots": ax.plot([], [], "o", color=OKABE_ITO["vermillion"],
                             label="(mean confidence, accuracy)")[0]}
    # redrawn with the bars, so that it stays on top of them
    parts["diagonal"] = ax.plot([0, 1], [0, 1], "--", color=LOSS_COLORS["accuracy"],
                                label="perfect calibration")[0]
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    finish(ax, "", "confidence (largest probability)", "accuracy", legend=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))  # beside the bars, never on them
    parts["title"] = ax.title
    return fig, parts


def _refresh_reliability(parts: dict, state: dict) -> list:
    bins = state["bins"]
    used = bins["count"] > 0
    for bar, height, shown in zip(parts["bars"], bins["accuracy"], used):
        bar.set_height(height if shown else 0.0)
    parts["dots"].set_data(bins["confidence"][used], bins["accuracy"][used])
    parts["title"].set_text(f"T = {state['temperature']:.2f}: ECE {state['ece']:.3f}, "
                            f"NLL {state['nll']:.3f}")
    return [*parts["bars"], parts["diagonal"], parts["dots"], parts["title"]]


live_reliability = LiveFigure(_build_reliability, _refresh_reliability)


def temperature_readout(state: dict) -> str:
    return (
        f"<b>T = {state['temperature']:.2f}</b> → test ECE <b>{state['ece']:.3f}</b>, "
        f"NLL <b>{state['nll']:.3f}</b>, mean confidence {state['mean_confidence']:.3f}, "
        f"accuracy {state['accuracy']:.3f} (the same at every T); "
        f"T fitted on validation NLL: {state['fitted']:.2f}"
    )


def temperature_explorer(render: bool | None = None) -> Explorer:
    """One slider: the temperature dividing the logits."""
    controls = {
        "temperature": widgets.FloatSlider(value=1.0, min=0.2, max=3.0, step=0.05,
                                           description="temperature T"),
    }
    return Explorer(controls, temperature_state, live_reliability, temperature_readout,
                    name="temperature-scaling", render=render)
