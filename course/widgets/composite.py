"""Lesson 09 widget: beta in a linear VAE on the 8x8 digits, in closed form.

:func:`beta_state` reads the optimum's terms from
:func:`course.lessons.composite.water_filling` (reverse water-filling with the
water level ``beta/2``); :func:`beta_explorer` puts a slider on beta.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course.lessons.composite import LATENT_DIMS, centered_digits, water_filling
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

REC_COLOR, KL_COLOR, TOTAL_COLOR = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["black"]


BETA_GRID = np.linspace(0.02, 1.6, 160)


def beta_state(beta: float = 0.5) -> dict:
    """What the widget shows for one beta: eigenvalues, water level, the two terms."""
    beta = float(beta)
    _, lam, _ = centered_digits()
    rec, kl, active = water_filling(beta)
    rec_grid, kl_grid, _ = water_filling(BETA_GRID)
    return {
        "beta": beta,
        "eigenvalues": lam[:LATENT_DIMS + 4],
        "level": beta / 2,
        "rec": float(rec),
        "kl": float(kl),
        "total": float(rec + beta * kl),
        "active": int(active),
        "beta_grid": BETA_GRID,
        "rec_grid": rec_grid,
        "kl_grid": kl_grid,
    }


def _build_beta(state: dict):
    """Left: eigenvalues and the water level beta/2. Right: the terms against beta."""
    from matplotlib.patches import Patch

    fig, (ax_bars, ax_terms) = figure(2, width=11, height=4.6)
    lam = state["eigenvalues"]
    k = np.arange(1, lam.size + 1)
    in_latent = k <= LATENT_DIMS
    parts = {"bars": list(ax_bars.bar(k, lam, color="#bbbbbb", edgecolor="#999999")),
             "level": ax_bars.axhline(state["level"], color=KL_COLOR, lw=2, label="water level β/2")}
    for bar in np.array(parts["bars"])[~in_latent]:
        bar.set_facecolor("white")
    handles = [Patch(color=REC_COLOR, label="active latent dimension"),
               Patch(color="#bbbbbb", label="collapsed (posterior = prior)"),
               Patch(facecolor="white", edgecolor="#999999", label=f"beyond the {LATENT_DIMS} latents"),
               parts["level"]]
    ax_bars.set_ylim(0, 0.9)
    finish(ax_bars, "", "principal direction of the digits", "variance σ_j²", legend=False)
    ax_bars.legend(handles=handles, loc="upper right")
    parts["title"] = ax_bars.title
    parts["in_latent"] = in_latent

    ax_terms.plot(state["beta_grid"], state["rec_grid"], color=REC_COLOR, lw=2,
                  label="reconstruction (sum of squares)")
    ax_terms.plot(state["beta_grid"], state["kl_grid"], color=KL_COLOR, lw=2, label="KL (nats)")
    parts["rec_dot"] = ax_terms.plot([], [], "o", color=REC_COLOR, ms=8, markeredgecolor="black")[0]
    parts["kl_dot"] = ax_terms.plot([], [], "o", color=KL_COLOR, ms=8, markeredgecolor="black")[0]
    parts["now"] = ax_terms.axvline(state["beta"], color=TOTAL_COLOR, lw=1, ls=":", label="current β")
    finish(ax_terms, "The two terms at the optimum", "β", "value per image")
    return fig, parts


def _refresh_beta(parts: dict, state: dict) -> list:
    lam, level = state["eigenvalues"], state["level"]
    for bar, value, latent in zip(parts["bars"], lam, parts["in_latent"]):
        if latent:
            bar.set_facecolor(REC_COLOR if value > level else "#bbbbbb")
    parts["level"].set_ydata([level, level])
    parts["title"].set_text(f"β = {state['beta']:.2f}: {state['active']} of {LATENT_DIMS} "
                            "latents active")
    parts["rec_dot"].set_data([state["beta"]], [state["rec"]])
    parts["kl_dot"].set_data([state["beta"]], [state["kl"]])
    parts["now"].set_xdata([state["beta"], state["beta"]])
    return [*parts["bars"], parts["level"], parts["title"], parts["rec_dot"], parts["kl_dot"],
            parts["now"]]


draw_beta = LiveFigure(_build_beta, _refresh_beta)


def beta_readout(state: dict) -> str:
    return (
        f"<b>β = {state['beta']:.2f}</b> → active latents <b>{state['active']}</b> of {LATENT_DIMS}; "
        f"reconstruction <b>{state['rec']:.3f}</b>, KL <b>{state['kl']:.3f}</b> nats, "
        f"total rec + β·KL <b>{state['total']:.3f}</b>"
    )


def beta_explorer(render: bool | None = None) -> Explorer:
    """One slider: the KL weight beta of the linear VAE on the digits."""
    controls = {
        "beta": widgets.FloatSlider(value=0.5, min=0.02, max=1.6, step=0.02, description="β (KL weight)"),
    }
    return Explorer(controls, beta_state, draw_beta, beta_readout, name="composite-beta", render=render)


