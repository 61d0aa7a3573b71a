"""Lesson 03 widget: a loss is a noise model.

* :func:`noise_fit_state` samples a line plus noise of a chosen family and
  standard deviation, fits it with squared error and with absolute error,
  estimates each model's noise scale by maximum likelihood, and scores both
  with their negative log-likelihoods; :func:`noise_fit_explorer` wires a
  slider and a dropdown to it.
* :func:`course.lessons.likelihood.fit_heteroscedastic` learns a mean *and* a variance that depend on
  ``x`` by minimising :func:`course.losses.gaussian_nll_loss` with Adam.

Every density drawn here is ``exp(-NLL)`` of a loss from :mod:`course.losses`,
so the picture and the loss are the same formula.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.likelihood import NOISES, TRUE_INTERCEPT, TRUE_SLOPE, noisy_line
from course.lessons.regression import fit_line
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

NOISE_MAX = 3.0


def noise_fit_state(scale: float = 1.0, noise: str = "Gaussian", n: int = 300) -> dict:
    """Fit the sampled data with MSE and MAE and score each as a likelihood.

    The MSE line with ``var = mean squared residual`` is the Gaussian maximum
    likelihood fit; the MAE line with ``scale = mean absolute residual`` is
    the Laplace one. Their mean negative log-likelihoods (``full=True``, so
    they are comparable) say which noise model explains the data better.
    """
    x, y = noisy_line(noise, scale, n)
    fits = {name: fit_line(x, y, name) for name in ("mse", "l1")}
    prediction = {name: slope * x + intercept for name, (slope, intercept) in fits.items()}
    residual = {name: p - y for name, p in prediction.items()}   # r = ŷ − y, as everywhere in the course
    variance = float(losses.mse_loss(prediction["mse"], y))
    laplace_scale = float(losses.l1_loss(prediction["l1"], y))
    ones = np.ones_like(x)
    nll = {
        "gaussian": float(losses.gaussian_nll_loss(prediction["mse"], y, variance * ones, full=True)),
        "laplace": float(losses.laplace_nll_loss(prediction["l1"], y, laplace_scale * ones,
                                                 full=True)),
    }
    reach = 4.0 * max(scale, 1e-3)
    grid = np.linspace(-reach, reach, 241)
    zeros, grid_ones = np.zeros_like(grid), np.ones_like(grid)
    density = {
        "gaussian": np.exp(-losses.gaussian_nll_loss(zeros, grid, variance * grid_ones, full=True,
                                                     reduction="none")),
        "laplace": np.exp(-losses.laplace_nll_loss(zeros, grid, laplace_scale * grid_ones, full=True,
                                                   reduction="none")),
    }
    return {
        "noise": noise,
        "scale": float(scale),
        "x": x,
        "y": y,
        "fits": fits,
        "residuals": residual,
        "sigma": float(np.sqrt(variance)),
        "laplace_scale": laplace_scale,
        "nll": nll,
        "better": min(nll, key=nll.get),
        "grid": grid,
        "density": density,
    }


FIT_STYLES = (("mse", "MSE (Gaussian)", "--"), ("l1", "MAE (Laplace)", ":"))
BINS = 40


def _build_noise_fit(state: dict):
    """Left: data, truth and the two fitted lines. Right: residuals against both densities."""
    fig, (ax_fit, ax_res) = figure(2, width=11, height=4.0)
    x, y = state["x"], state["y"]
    parts = {"data": ax_fit.scatter(x, y, s=8, color=LOSS_COLORS["data"], alpha=0.6, label="data",
                                    zorder=2)}
    ends = np.array([x.min(), x.max()])
    ax_fit.plot(ends, TRUE_SLOPE * ends + TRUE_INTERCEPT, color="black", lw=1,
                label=f"truth: {TRUE_SLOPE} x + {TRUE_INTERCEPT}")
    for name, label, style in FIT_STYLES:
        parts[name] = ax_fit.plot([], [], style, lw=2.4, color=LOSS_COLORS[name],
                                  label=f"{label}: 0.000 x + 0.00")[0]
    # fixed limits (the figure is updated in place): room for the widest noise
    reach = 3.5 * NOISE_MAX
    middle = TRUE_SLOPE * ends + TRUE_INTERCEPT
    ax_fit.set_xlim(ends[0] - 0.3, ends[1] + 0.3)
    ax_fit.set_ylim(middle.min() - reach, middle.max() + reach)
    finish(ax_fit, "", "x", "y", legend=False)
    parts["legend"] = ax_fit.legend(loc="upper left")
    parts["title"] = ax_fit.title

    # in units of the true noise scale, so the limits stay fixed while the slider moves
    parts["bars"] = list(ax_res.bar(np.zeros(BINS), np.zeros(BINS), width=1.0, align="edge",
                                    color=OKABE_ITO["sky"], alpha=0.55,
                                    label="residuals of the MSE fit"))
    parts["gaussian"] = ax_res.plot([], [], "--", lw=2.2, color=LOSS_COLORS["mse"], label="Gaussian")[0]
    parts["laplace"] = ax_res.plot([], [], ":", lw=2.4, color=LOSS_COLORS["l1"], label="Laplace")[0]
    ax_res.set_xlim(-4, 4)
    ax_res.set_ylim(0, 1.05)
    finish(ax_res, "Residuals against each assumed noise density",
           "residual ÷ the noise's standard deviation", "density", legend=False)
    parts["res_legend"] = ax_res.legend(loc="upper left")
    return fig, parts


def _refresh_noise_fit(parts: dict, state: dict) -> list:
    x, y = state["x"], state["y"]
    parts["data"].set_offsets(np.column_stack([x, y]))
    ends = np.array([x.min(), x.max()])
    for k, (name, label, _) in enumerate(FIT_STYLES, start=2):
        slope, intercept = state["fits"][name]
        parts[name].set_data(ends, slope * ends + intercept)
        parts["legend"].get_texts()[k].set_text(f"{label}: {slope:.3f} x {_signed(intercept)}")
    parts["title"].set_text(f"{state['noise']} noise, standard deviation {state['scale']:.2f}")

    scale = state["scale"]
    grid = state["grid"] / scale
    heights, edges = np.histogram(state["residuals"]["mse"] / scale, bins=BINS,
                                  range=(grid[0], grid[-1]), density=True)
    for bar, left, height in zip(parts["bars"], edges[:-1], heights):
        bar.set_x(left)
        bar.set_width(edges[1] - edges[0])
        bar.set_height(height)
    parts["gaussian"].set_data(grid, state["density"]["gaussian"] * scale)
    parts["laplace"].set_data(grid, state["density"]["laplace"] * scale)
    texts = parts["res_legend"].get_texts()
    texts[0].set_text(f"Gaussian, σ̂ = {state['sigma']:.2f} (NLL {state['nll']['gaussian']:.3f})")
    texts[1].set_text(f"Laplace, b̂ = {state['laplace_scale']:.2f} "
                      f"(NLL {state['nll']['laplace']:.3f})")
    return parts["bars"] + [parts[key] for key in ("data", "mse", "l1", "legend", "title",
                                                   "gaussian", "laplace", "res_legend")]


def _signed(value: float) -> str:
    """`+ 0.44` or `− 0.44`: a term added to a formula, its sign written once."""
    return f"{'−' if value < 0 else '+'} {abs(value):.2f}"


draw_noise_fit = LiveFigure(_build_noise_fit, _refresh_noise_fit)


def noise_fit_readout(state: dict) -> str:
    names = {"gaussian": "Gaussian (MSE)", "laplace": "Laplace (MAE)"}
    return (
        f"<b>{state['noise']}</b> noise, standard deviation <b>{state['scale']:.2f}</b> → "
        f"fitted σ̂ = <b>{state['sigma']:.3f}</b>, b̂ = <b>{state['laplace_scale']:.3f}</b>; "
        f"mean NLL: Gaussian {state['nll']['gaussian']:.4f}, Laplace {state['nll']['laplace']:.4f} "
        f"→ <b>{names[state['better']]}</b> explains the data better"
    )


def noise_fit_explorer(render: bool | None = None) -> Explorer:
    """A slider for the noise's standard deviation (first) and a dropdown for its family."""
    controls = {
        "scale": widgets.FloatSlider(value=1.0, min=0.1, max=NOISE_MAX, step=0.1,
                                     description="noise std. dev."),
        "noise": widgets.Dropdown(options=list(NOISES), value="Gaussian", description="noise"),
    }
    return Explorer(controls, noise_fit_state, draw_noise_fit, noise_fit_readout,
                    name="noise-fit", render=render)


