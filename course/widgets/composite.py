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

from ._base import Explorer

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


def draw_beta(state: dict):
    """Left: eigenvalues and the water level beta/2. Right: the terms against beta."""
    fig, (ax_bars, ax_terms) = figure(2, width=10.5, height=3.9)
    lam = state["eigenvalues"]
    k = np.arange(1, lam.size + 1)
    in_latent = k <= LATENT_DIMS
    active = in_latent & (lam > state["level"])
    ax_bars.bar(k[active], lam[active], color=REC_COLOR, label="active latent dimension")
    ax_bars.bar(k[in_latent & ~active], lam[in_latent & ~active], color="#bbbbbb",
                label="collapsed (posterior = prior)")
    ax_bars.bar(k[~in_latent], lam[~in_latent], color="white", edgecolor="#999999",
                label="beyond the 8 latents")
    ax_bars.axhline(state["level"], color=KL_COLOR, lw=2, label=f"water level β/2 = {state['level']:.2f}")
    ax_bars.set_ylim(0, 0.9)
    finish(ax_bars, f"β = {state['beta']:.2f}: {state['active']} of {LATENT_DIMS} latents active",
           "principal direction of the digits", "variance σ_j²")

    ax_terms.plot(state["beta_grid"], state["rec_grid"], color=REC_COLOR, lw=2,
                  label="reconstruction (sum of squares)")
    ax_terms.plot(state["beta_grid"], state["kl_grid"], color=KL_COLOR, lw=2, label="KL (nats)")
    ax_terms.plot([state["beta"]], [state["rec"]], "o", color=REC_COLOR, ms=8, markeredgecolor="black")
    ax_terms.plot([state["beta"]], [state["kl"]], "o", color=KL_COLOR, ms=8, markeredgecolor="black")
    ax_terms.axvline(state["beta"], color=TOTAL_COLOR, lw=1, ls=":", label="current β")
    finish(ax_terms, "The two terms at the optimum", "β", "value per image")
    return fig


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


