"""Lesson 03's noise explorer and heteroscedastic fit, driven without a browser."""

import numpy as np
import pytest
from scipy import stats

from course.lessons.likelihood import NOISES, fit_heteroscedastic, funnel_data, standard_noise
from course.widgets.likelihood import noise_fit_explorer, noise_fit_state


def test_fitted_scale_grows_in_proportion_to_the_noise_slider():
    explorer = noise_fit_explorer(render=False)
    sigmas, scales = [], []
    for value in (0.5, 1.0, 2.0):
        explorer.controls["scale"].value = value
        sigmas.append(explorer.state["sigma"])
        scales.append(explorer.state["laplace_scale"])
        assert f"standard deviation <b>{value:.2f}</b>" in explorer.readout.value
    np.testing.assert_allclose(np.array(sigmas) / sigmas[0], [1, 2, 4], rtol=1e-9)
    np.testing.assert_allclose(np.array(scales) / scales[0], [1, 2, 4], rtol=1e-7)
    assert 0.85 < sigmas[1] < 1.15  # sigma-hat estimates the true standard deviation


@pytest.mark.parametrize("noise, winner", [("Gaussian", "gaussian"), ("Laplace", "laplace"),
                                           ("Student t (3 dof)", "laplace"),
                                           ("Uniform", "gaussian")])
def test_dropdown_switches_noise_and_the_matching_likelihood_wins(noise, winner):
    explorer = noise_fit_explorer(render=False)
    explorer.controls["noise"].value = noise
    assert explorer.state["noise"] == noise and explorer.state["better"] == winner
    assert noise in explorer.readout.value


def test_scale_estimates_are_the_maximum_likelihood_ones():
    state = noise_fit_state(scale=1.5, noise="Laplace")
    assert np.isclose(state["sigma"] ** 2, np.mean(state["residuals"]["mse"] ** 2))
    assert np.isclose(state["laplace_scale"], np.mean(np.abs(state["residuals"]["l1"])))
    # independent oracle: scipy's fitted Laplace log-likelihood at the MAE line's residuals
    nll = -np.mean(stats.laplace.logpdf(state["residuals"]["l1"], scale=state["laplace_scale"]))
    assert np.isclose(state["nll"]["laplace"], nll)
    nll = -np.mean(stats.norm.logpdf(state["residuals"]["mse"], scale=state["sigma"]))
    assert np.isclose(state["nll"]["gaussian"], nll)


def test_drawn_densities_are_the_assumed_densities():
    state = noise_fit_state(scale=0.7, noise="Gaussian")
    grid = state["grid"]
    np.testing.assert_allclose(state["density"]["gaussian"], stats.norm.pdf(grid, scale=state["sigma"]))
    np.testing.assert_allclose(state["density"]["laplace"],
                               stats.laplace.pdf(grid, scale=state["laplace_scale"]))


@pytest.mark.parametrize("noise", NOISES)
def test_standard_noise_has_unit_variance(noise):
    draws = standard_noise(noise, 200_000, seed=3)
    assert abs(draws.mean()) < 0.02 and abs(draws.std() - 1) < 0.03


def test_unknown_noise_raises():
    with pytest.raises(ValueError, match="noise must be one of"):
        standard_noise("Cauchy", 10)


def test_figure_draws_what_the_state_holds():
    explorer = noise_fit_explorer(render=False)
    fig = explorer.figure()
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    ax_res = fig.axes[1]
    gaussian = [line for line in ax_res.get_lines() if line.get_label().startswith("Gaussian")][0]
    np.testing.assert_allclose(gaussian.get_ydata(), explorer.state["density"]["gaussian"])


def test_heteroscedastic_fit_recovers_growing_noise_and_lowers_the_nll():
    x, y, true_sigma = funnel_data()
    mean, variance, history = fit_heteroscedastic(x, y)
    assert history[-1] < history[0]
    assert np.ptp(history[-100:]) < 1e-5  # settled
    sigma = np.sqrt(variance(np.array([0.0, 5.0])))
    assert 4 < sigma[1] / sigma[0] < 12  # truth: e^2 ≈ 7.4
    np.testing.assert_allclose(np.sqrt(variance(x)), true_sigma, rtol=0.35)
    np.testing.assert_allclose(mean(np.array([0.0, 5.0])), [2.0, 4.5], atol=0.2)
    assert np.shape(variance(2.5)) == ()


def test_heteroscedastic_optimum_has_zero_gradient_in_closed_form():
    """At the fitted parameters the NLL gradient (computed here without course.losses) vanishes."""
    x, y, _ = funnel_data(n=200, seed=4)
    mean, variance, _ = fit_heteroscedastic(x, y, steps=3000)
    mu, v = mean(x), variance(x)
    u = (x - x.mean()) / x.std()
    d_mu = (mu - y) / v / len(x)
    d_logvar = 0.5 * (1 - (mu - y) ** 2 / v) / len(x)
    for g in (d_mu.sum(), (d_mu * u).sum(), d_logvar.sum(), (d_logvar * u).sum()):
        assert abs(g) < 1e-4
