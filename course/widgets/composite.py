"""Lesson 09 widget: beta in a linear VAE on the 8x8 digits, in closed form.

A linear VAE with a Gaussian encoder ``q(z|x) = N(V x, diag(e^s))``, a
linear decoder ``r = W z`` and the ``"mse"`` reconstruction of
:func:`course.losses.vae_loss` has a closed-form optimum. Along the data's
principal directions (variances ``lambda_j``) each latent dimension is either

* **active**, when ``lambda_j > beta/2``: decoder weight ``w_j^2 = lambda_j - beta/2``,
  encoder ``v_j = w_j / lambda_j``, posterior variance ``beta / (2 lambda_j)``,
  reconstruction error ``beta/2`` and KL ``0.5 log(2 lambda_j / beta)``; or
* **collapsed** (posterior = prior), when ``lambda_j <= beta/2``: ``w_j = v_j = 0``,
  reconstruction error ``lambda_j``, KL 0.

This is reverse water-filling from Gaussian rate-distortion theory, with the
water level ``beta/2``. :func:`linear_vae_optimum` returns these parameters,
:func:`linear_vae_objective` evaluates :func:`course.losses.vae_loss` at any
parameters exactly (the reconstruction is quadratic in the noise, so a set
of noise vectors with mean 0 and covariance I gives the expectation), and
:func:`beta_explorer` puts a slider on beta.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

import ipywidgets as widgets
import numpy as np

from course import losses
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer

LATENT_DIMS = 8
# scikit-learn's copy of the UCI digits, read directly (importing sklearn.datasets takes seconds)
_DIGITS_CSV = Path(find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
REC_COLOR, KL_COLOR, TOTAL_COLOR = OKABE_ITO["blue"], OKABE_ITO["vermillion"], OKABE_ITO["black"]


@lru_cache(maxsize=1)
def digits():
    """The 1,797 8x8 digits scaled to [0, 1] and centered, and their covariance eigenpairs.

    Returns ``(X, lam, U)``: ``X`` (1797, 64) centered, ``lam`` the 64
    eigenvalues of its (biased) covariance in decreasing order, ``U`` the
    matching eigenvectors as columns.
    """
    X = np.loadtxt(_DIGITS_CSV, delimiter=",")[:, :64] / 16.0
    X = X - X.mean(axis=0)
    lam, U = np.linalg.eigh(X.T @ X / X.shape[0])
    order = np.argsort(lam)[::-1]
    return X, np.clip(lam[order], 0.0, None), U[:, order]


def linear_vae_optimum(beta: float, latent_dims: int = LATENT_DIMS):
    """Closed-form optimum of the linear VAE: ``(W, V, logvar)``.

    ``W`` (64, D) decoder, ``V`` (D, 64) encoder, ``logvar`` (D,).
    """
    _, lam, U = digits()
    lam_d, U_d = lam[:latent_dims], U[:, :latent_dims]
    active = lam_d > beta / 2
    w = np.sqrt(np.where(active, lam_d - beta / 2, 0.0))
    v = np.where(active, w / lam_d, 0.0)
    var = np.where(active, beta / (2 * lam_d), 1.0)
    return U_d * w, (U_d * v).T, np.log(var)


def noise_set(latent_dims: int):
    """2D noise vectors ``±sqrt(D) e_j``: sample mean 0, sample covariance exactly I."""
    eye = np.sqrt(latent_dims) * np.eye(latent_dims)
    return np.vstack([eye, -eye])


def linear_vae_objective(W, V, logvar, beta: float, X=None):
    """Exact expected ``vae_loss(..., "mse", "mean")`` of a linear VAE, and its two terms.

    Every sample is paired with every vector of :func:`noise_set`
    (reparameterization ``z = mu + e^{s/2} eps``); averaging a quadratic over
    that set gives its expectation exactly. Returns ``(total, rec, kl)``.
    """
    if X is None:
        X = digits()[0]
    eps = noise_set(len(logvar))
    mu = X @ V.T
    mu_rows = np.repeat(mu, len(eps), axis=0)
    z = mu_rows + np.exp(logvar / 2) * np.tile(eps, (len(X), 1))
    x_rows = np.repeat(X, len(eps), axis=0)
    logvar_rows = np.broadcast_to(logvar, mu_rows.shape)
    total = float(losses.vae_loss(z @ W.T, x_rows, mu_rows, logvar_rows, beta=beta,
                                  reconstruction="mse"))
    kl = float(losses.gaussian_kl(mu, np.broadcast_to(logvar, mu.shape)))
    return total, total - beta * kl, kl


def water_filling(beta, latent_dims: int = LATENT_DIMS):
    """Reconstruction error, KL and active dimensions at the optimum, from the eigenvalues."""
    _, lam, _ = digits()
    beta = np.asarray(beta, dtype=float)
    lam_d = lam[:latent_dims]
    level = beta[..., None] / 2
    rec = np.minimum(lam_d, level).sum(-1) + lam[latent_dims:].sum()
    kl = 0.5 * np.log(np.maximum(lam_d / level, 1.0)).sum(-1)
    active = (lam_d > level).sum(-1)
    return rec, kl, active


BETA_GRID = np.linspace(0.02, 1.6, 160)


def beta_state(beta: float = 0.5) -> dict:
    """What the widget shows for one beta: eigenvalues, water level, the two terms."""
    beta = float(beta)
    _, lam, _ = digits()
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


def linear_vae_grad(W, V, logvar, beta: float, X=None):
    """Gradient of :func:`linear_vae_objective`'s total: ``(dW, dV, dlogvar)``.

    Chain rule through the reparameterization, with the per-row gradients
    from :func:`course.losses.vae_loss_grad`.
    """
    if X is None:
        X = digits()[0]
    eps = np.tile(noise_set(len(logvar)), (len(X), 1))
    x_rows = np.repeat(X, len(eps) // len(X), axis=0)
    mu_rows = x_rows @ V.T
    scale = np.exp(logvar / 2)
    z = mu_rows + scale * eps
    logvar_rows = np.broadcast_to(logvar, mu_rows.shape)
    d_recon, d_mu, d_logvar = losses.vae_loss_grad(z @ W.T, x_rows, mu_rows, logvar_rows, beta=beta,
                                                   reconstruction="mse")
    d_z = d_recon @ W
    d_mu = d_mu + d_z
    d_logvar = (d_logvar + d_z * eps * scale / 2).sum(axis=0)
    return d_recon.T @ z, d_mu.T @ x_rows, d_logvar
