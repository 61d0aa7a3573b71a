"""Lesson 08 widget: the strength of a penalty, and which weights it keeps.

A slider for ``log10 lam`` (first control) and a dropdown for the penalty
(L1, L2, elastic net). The pure part, :func:`regularization_state`, fits the
lesson's 30-feature problem (5 relevant features) and a 2-feature problem
with the same objective ``0.5 * MSE + lam * penalty`` and returns the
coefficients, train and test errors, the number of nonzero weights, and the
grid for the 2-D constraint picture; :func:`regularization_explorer` only
wires the controls to it.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.regularization import (
    GRID,
    PENALTIES,
    data_loss,
    data_loss_grid,
    holdout_mse,
    lesson_data,
    penalty_fits,
    two_feature_data,
)
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer

PENALTY_COLORS = {"L1 (lasso)": OKABE_ITO["orange"], "L2 (ridge)": OKABE_ITO["purple"],
                  "elastic net": OKABE_ITO["green"]}


def regularization_state(log10_lam: float = -1.0, penalty: str = "L1 (lasso)") -> dict:
    """Everything the widget shows for one ``lam = 10**log10_lam`` and one penalty."""
    if penalty not in PENALTIES:
        raise ValueError(f"penalty must be one of {list(PENALTIES)}, got {penalty!r}")
    log10_lam = round(float(log10_lam), 6)
    lam = 10.0**log10_lam
    r = PENALTIES[penalty]
    (X, y, w_true), _ = lesson_data()
    w, w2 = penalty_fits(penalty, log10_lam)
    X2, y2 = two_feature_data()
    a, b = np.meshgrid(*GRID)
    penalty_grid = r * (np.abs(a) + np.abs(b)) + (1 - r) * 0.5 * (a**2 + b**2)
    return {
        "lam": lam,
        "log10_lam": log10_lam,
        "penalty": penalty,
        "l1_ratio": r,
        "w": w,
        "w_true": w_true,
        "nonzero": int(np.count_nonzero(w)),
        "relevant_kept": int(np.count_nonzero(w[w_true != 0])),
        "train_mse": float(losses.mse_loss(X @ w, y)),
        "test_mse": holdout_mse(w),
        "ols_test_mse": holdout_mse(np.linalg.lstsq(X, y, rcond=None)[0]),
        "w2": w2,
        "w2_ols": np.linalg.lstsq(X2, y2, rcond=None)[0],
        "data_loss_grid": data_loss_grid(),
        "data_loss_at_w2": data_loss(w2, X2, y2),
        "penalty_grid": penalty_grid,
        "penalty_at_w2": float(losses.elastic_net_penalty(w2, r)),
    }


def draw_regularization(state: dict):
    """Left: fitted and true coefficients. Right: data-loss contours, penalty ball, solution."""
    fig, (ax_w, ax_2d) = figure(2, width=10.5, height=4.0)
    color = PENALTY_COLORS[state["penalty"]]
    k = np.arange(state["w"].size)
    ax_w.bar(k, state["w"], color=color, label=f"fitted, {state['penalty']}")
    ax_w.plot(k, state["w_true"], "o", ms=4, color=LOSS_COLORS["data"], label="true weight")
    ax_w.axhline(0, color="#999999", lw=0.8)
    ax_w.set_ylim(-3.2, 3.6)
    finish(ax_w, f"λ = {state['lam']:.3g}: {state['nonzero']} of {k.size} weights nonzero",
           "feature index (0-4 relevant)", "coefficient")
    ax_w.legend(loc="upper right")

    a, b = np.meshgrid(*GRID)
    grid = state["data_loss_grid"]
    ax_2d.contour(a, b, grid, levels=np.quantile(grid, [0.01, 0.04, 0.1, 0.2, 0.35]),
                  colors="#bbbbbb", linewidths=0.8)
    level = state["data_loss_at_w2"]
    if level > grid.min() + 1e-9:
        ax_2d.contour(a, b, grid, levels=[level], colors=[LOSS_COLORS["mse"]], linewidths=1.5)
    if state["penalty_at_w2"] > 0:
        ax_2d.contour(a, b, state["penalty_grid"], levels=[state["penalty_at_w2"]], colors=[color],
                      linewidths=2)
    ax_2d.plot([], [], color=LOSS_COLORS["mse"], label="data loss through the solution")
    ax_2d.plot([], [], color=color, lw=2, label="penalty ball through the solution")
    ols, w2 = state["w2_ols"], state["w2"]
    ax_2d.plot(*ols, "x", ms=9, mew=2, color=LOSS_COLORS["data"], label="unpenalized minimum")
    ax_2d.plot(*w2, "o", ms=8, color=OKABE_ITO["vermillion"],
               label=f"solution ({w2[0]:.2f}, {w2[1]:.2f})")
    ax_2d.axhline(0, color="#999999", lw=0.8)
    ax_2d.axvline(0, color="#999999", lw=0.8)
    ax_2d.set_aspect("equal")
    finish(ax_2d, "Two features: where the ball touches the contours", "weight 1", "weight 2")
    ax_2d.legend(loc="lower right", fontsize=8)
    return fig


def regularization_readout(state: dict) -> str:
    return (
        f"<b>{state['penalty']}, λ = {state['lam']:.4g}</b> → nonzero weights "
        f"<b>{state['nonzero']} of {state['w'].size}</b> (relevant kept {state['relevant_kept']} of 5); "
        f"train MSE <b>{state['train_mse']:.3f}</b>, test MSE <b>{state['test_mse']:.3f}</b> "
        f"(no penalty: {state['ols_test_mse']:.3f}); two-feature solution "
        f"({state['w2'][0]:.3f}, {state['w2'][1]:.3f})"
    )


def regularization_explorer(render: bool | None = None) -> Explorer:
    """A slider for log10 λ (first) and a dropdown for the penalty."""
    controls = {
        "log10_lam": widgets.FloatSlider(value=-1.0, min=-3.0, max=0.5, step=0.1,
                                         description="log10 λ", readout_format=".1f"),
        "penalty": widgets.Dropdown(options=list(PENALTIES), value="L1 (lasso)",
                                    description="penalty"),
    }
    return Explorer(controls, regularization_state, draw_regularization, regularization_readout,
                    name="regularization", render=render)
