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

from ._base import Explorer, LiveFigure

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


ANGLES = np.linspace(0, 2 * np.pi, 361)


def penalty_ball(level: float, l1_ratio: float) -> np.ndarray:
    """Points ``(a, b)`` where the elastic-net penalty equals ``level`` (a closed curve, (361, 2)).

    Along each direction u the penalty is ``r·ρ·|u|₁ + (1 − r)/2·ρ²``: a
    quadratic in the radius ρ, solved in closed form.
    """
    u = np.column_stack([np.cos(ANGLES), np.sin(ANGLES)])
    spread = np.abs(u).sum(axis=1)
    r = l1_ratio
    if r >= 1.0:
        radius = level / spread
    else:
        radius = (np.sqrt((r * spread) ** 2 + 2 * (1 - r) * level) - r * spread) / (1 - r)
    return u * radius[:, None]


def data_loss_ellipse(level: float, X, y) -> np.ndarray:
    """Points where the 2-feature data loss ``½·mean((Xw − y)²)`` equals ``level`` ((361, 2)).

    The loss is ``minimum + ½ (w − ŵ)ᵀ H (w − ŵ)`` with ``H = XᵀX / n``: an ellipse
    around the least-squares ``ŵ``.
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    excess = max(level - data_loss(w_hat, X, y), 0.0)
    chol = np.linalg.cholesky(X.T @ X / len(X))
    u = np.column_stack([np.cos(ANGLES), np.sin(ANGLES)])
    return w_hat + np.sqrt(2 * excess) * np.linalg.solve(chol.T, u.T).T


def _build_regularization(state: dict):
    """Left: fitted and true coefficients. Right: data-loss contours, penalty ball, solution."""
    fig, (ax_w, ax_2d) = figure(2, width=11, height=4.8)
    color = PENALTY_COLORS[state["penalty"]]
    k = np.arange(state["w"].size)
    parts = {"bars": list(ax_w.bar(k, state["w"], color=color, label=f"fitted, {state['penalty']}"))}
    ax_w.plot(k, state["w_true"], "o", ms=4, color=LOSS_COLORS["data"], label="true weight")
    ax_w.axhline(0, color="#999999", lw=0.8)
    ax_w.set_ylim(-3.2, 3.6)
    finish(ax_w, "", "feature index (0-4 relevant)", "coefficient", legend=False)
    ax_w.legend(loc="upper right")
    parts["w_title"] = ax_w.title

    a, b = np.meshgrid(*GRID)
    grid = state["data_loss_grid"]
    ax_2d.contour(a, b, grid, levels=np.quantile(grid, [0.01, 0.04, 0.1, 0.2, 0.35]),
                  colors="#bbbbbb", linewidths=0.8)
    parts["ellipse"] = ax_2d.plot([], [], color=LOSS_COLORS["mse"], lw=1.5,
                                  label="data loss through the solution")[0]
    parts["ball"] = ax_2d.plot([], [], color=color, lw=2, label="penalty ball through the solution")[0]
    ols = state["w2_ols"]
    ax_2d.plot(*ols, "x", ms=9, mew=2, color=LOSS_COLORS["data"], label="unpenalized minimum")
    parts["solution"] = ax_2d.plot([], [], "o", ms=8, color=OKABE_ITO["vermillion"],
                                   label="solution (0.00, 0.00)")[0]
    ax_2d.axhline(0, color="#999999", lw=0.8)
    ax_2d.axvline(0, color="#999999", lw=0.8)
    ax_2d.set_xlim(GRID[0][0], GRID[0][-1])
    ax_2d.set_ylim(GRID[1][0], GRID[1][-1])
    ax_2d.set_aspect("equal")
    finish(ax_2d, "Two features: where the ball touches the contours", "weight 1", "weight 2",
           legend=False)
    parts["legend"] = ax_2d.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    return fig, parts


def _refresh_regularization(parts: dict, state: dict) -> list:
    for bar, height in zip(parts["bars"], state["w"]):
        bar.set_height(height)
    parts["w_title"].set_text(f"λ = {state['lam']:.3g}: {state['nonzero']} of {state['w'].size} "
                              "weights nonzero")
    X2, y2 = two_feature_data()
    ellipse = data_loss_ellipse(state["data_loss_at_w2"], X2, y2)
    ball = penalty_ball(state["penalty_at_w2"], state["l1_ratio"])
    parts["ellipse"].set_data(ellipse[:, 0], ellipse[:, 1])
    parts["ball"].set_data(ball[:, 0], ball[:, 1])
    w2 = state["w2"]
    parts["solution"].set_data([w2[0]], [w2[1]])
    parts["legend"].get_texts()[3].set_text(f"solution ({w2[0]:.2f}, {w2[1]:.2f})")
    return [*parts["bars"], parts["w_title"], parts["ellipse"], parts["ball"], parts["solution"],
            parts["legend"]]


draw_regularization = LiveFigure(_build_regularization, _refresh_regularization,
                                 rebuild_on=("penalty",))


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
