"""Lesson 03 widgets and fits: a loss is a noise model.

* :func:`noise_fit_state` samples a line plus noise of a chosen family and
  standard deviation, fits it with squared error and with absolute error,
  estimates each model's noise scale by maximum likelihood, and scores both
  with their negative log-likelihoods; :func:`noise_fit_explorer` wires a
  slider and a dropdown to it.
* :func:`fit_heteroscedastic` learns a mean *and* a variance that depend on
  ``x`` by minimising :func:`course.losses.gaussian_nll_loss` with Adam.

Every density drawn here is ``exp(-NLL)`` of a loss from :mod:`course.losses`,
so the picture and the loss are the same formula.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer
from .regression import fit_line

TRUE_SLOPE, TRUE_INTERCEPT = 0.8, 1.0
NOISES = ("Gaussian", "Laplace", "Student t (3 dof)", "Uniform")


def standard_noise(noise: str, n: int, seed: int = 0) -> np.ndarray:
    """``n`` draws of the named noise, scaled to mean 0 and standard deviation 1.

    Laplace with scale ``1/sqrt(2)``, Student t with 3 degrees of freedom
    divided by ``sqrt(3)``, uniform on ``[-sqrt(3), sqrt(3)]``: all have
    variance 1, so one slider ("standard deviation") means the same for each.
    """
    rng = np.random.default_rng(seed)
    if noise == "Gaussian":
        return rng.normal(0.0, 1.0, n)
    if noise == "Laplace":
        return rng.laplace(0.0, 1.0 / np.sqrt(2.0), n)
    if noise == "Student t (3 dof)":
        return rng.standard_t(3, n) / np.sqrt(3.0)
    if noise == "Uniform":
        return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), n)
    raise ValueError(f"noise must be one of {NOISES}, got {noise!r}")


def noisy_line(noise: str = "Gaussian", scale: float = 1.0, n: int = 300, seed: int = 0):
    """``x`` on [0, 10] and ``y = 0.8 x + 1 + scale * noise`` (the same draws for every scale)."""
    x = np.linspace(0.0, 10.0, n)
    return x, TRUE_SLOPE * x + TRUE_INTERCEPT + scale * standard_noise(noise, n, seed)


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
    residual = {name: y - p for name, p in prediction.items()}
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


def draw_noise_fit(state: dict):
    """Left: data, truth and the two fitted lines. Right: residuals against both densities."""
    fig, (ax_fit, ax_res) = figure(2, width=10, height=3.7)
    x, y = state["x"], state["y"]
    ax_fit.scatter(x, y, s=8, color=LOSS_COLORS["data"], alpha=0.6, label="data", zorder=2)
    ends = np.array([x.min(), x.max()])
    ax_fit.plot(ends, TRUE_SLOPE * ends + TRUE_INTERCEPT, color="black", lw=1,
                label=f"truth: {TRUE_SLOPE} x + {TRUE_INTERCEPT}")
    for name, label, style in (("mse", "MSE (Gaussian)", "--"), ("l1", "MAE (Laplace)", ":")):
        slope, intercept = state["fits"][name]
        ax_fit.plot(ends, slope * ends + intercept, style, lw=2.4, color=LOSS_COLORS[name],
                    label=f"{label}: {slope:.3f} x + {intercept:.2f}")
    finish(ax_fit, f"{state['noise']} noise, standard deviation {state['scale']:.2f}", "x", "y")

    grid = state["grid"]
    ax_res.hist(state["residuals"]["mse"], bins=40, range=(grid[0], grid[-1]), density=True,
                color=OKABE_ITO["sky"], alpha=0.55, label="residuals of the MSE fit")
    ax_res.plot(grid, state["density"]["gaussian"], "--", lw=2.2, color=LOSS_COLORS["mse"],
                label=f"Gaussian, σ̂ = {state['sigma']:.2f} (NLL {state['nll']['gaussian']:.3f})")
    ax_res.plot(grid, state["density"]["laplace"], ":", lw=2.4, color=LOSS_COLORS["l1"],
                label=f"Laplace, b̂ = {state['laplace_scale']:.2f} (NLL {state['nll']['laplace']:.3f})")
    peak = max(state["density"]["gaussian"].max(), state["density"]["laplace"].max())
    ax_res.set_ylim(0, 1.45 * peak)
    finish(ax_res, "Residuals against each assumed noise density", "residual y − prediction",
           "density")
    return fig


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
        "scale": widgets.FloatSlider(value=1.0, min=0.1, max=3.0, step=0.1,
                                     description="noise standard deviation"),
        "noise": widgets.Dropdown(options=list(NOISES), value="Gaussian", description="noise"),
    }
    return Explorer(controls, noise_fit_state, draw_noise_fit, noise_fit_readout,
                    name="noise-fit", render=render)


# ----------------------------------------------------- heteroscedastic fit
def funnel_data(n: int = 300, seed: int = 1):
    """``x`` uniform on [0, 5], ``y = 2 + 0.5 x + sigma(x) * N(0, 1)`` with
    ``sigma(x) = 0.25 exp(0.4 x)``: the noise grows sevenfold from left to right."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 5.0, n))
    sigma = 0.25 * np.exp(0.4 * x)
    return x, 2.0 + 0.5 * x + sigma * rng.normal(size=n), sigma


def fit_heteroscedastic(x, y, steps: int = 1500, learning_rate: float = 0.05):
    """Learn ``mean(x) = a + b x`` and ``log var(x) = c + d x`` by minimising the Gaussian NLL.

    The loss and its gradients ``(d_input, d_var)`` come from
    :func:`course.losses.gaussian_nll_loss` and its ``_grad``; the chain rule
    through ``var = exp(log var)`` multiplies ``d_var`` by ``var``. Adam
    (Kingma & Ba, 2015) takes the steps, because the mean's gradient is scaled
    by ``1/var``, which differs sevenfold across the data. The model sees
    ``x`` standardised; the returned functions take raw ``x``.

    Returns
    -------
    mean, variance : callables of ``x`` (any shape; the result has that shape)
    history : numpy.ndarray
        The mean NLL after each step.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    center, spread = x.mean(), x.std()
    features = np.column_stack([np.ones_like(x), (x - center) / spread])
    mean_w = np.linalg.lstsq(features, y, rcond=None)[0]
    logvar_w = np.array([np.log(np.mean((features @ mean_w - y) ** 2)), 0.0])
    params = np.concatenate([mean_w, logvar_w])
    first, second = np.zeros(4), np.zeros(4)
    history = np.empty(steps)
    for step in range(1, steps + 1):
        mean, var = features @ params[:2], np.exp(features @ params[2:])
        d_mean, d_var = losses.gaussian_nll_loss_grad(mean, y, var)
        grad = np.concatenate([features.T @ d_mean, features.T @ (d_var * var)])
        first = 0.9 * first + 0.1 * grad
        second = 0.999 * second + 0.001 * grad**2
        params -= learning_rate * (first / (1 - 0.9**step)) / (
            np.sqrt(second / (1 - 0.999**step)) + 1e-8)
        history[step - 1] = losses.gaussian_nll_loss(features @ params[:2], y,
                                                      np.exp(features @ params[2:]))

    def linear(weights):
        return lambda new_x: weights[0] + weights[1] * (np.asarray(new_x, dtype=np.float64)
                                                        - center) / spread

    mean_head, logvar_head = linear(params[:2].copy()), linear(params[2:].copy())
    return mean_head, lambda new_x: np.exp(logvar_head(new_x)), history
