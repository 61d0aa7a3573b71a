"""Lesson 09's beta explorer and linear-VAE closed form, checked without a browser."""

import numpy as np
import pytest

from course import losses
from course.lessons.composite import (
    centered_digits,
    linear_vae_grad,
    linear_vae_objective,
    linear_vae_optimum,
    noise_set,
    water_filling,
)
from course.widgets.composite import beta_explorer, beta_state


def test_moving_beta_updates_state_readout_and_figure():
    explorer = beta_explorer(render=False)
    explorer.controls["beta"].value = 1.0
    state = explorer.state
    assert state["active"] == 3 and "β = 1.00" in explorer.readout.value
    assert np.isclose(state["total"], state["rec"] + state["kl"])
    fig = explorer.figure()
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    water = [line for line in fig.axes[0].get_lines() if "water" in line.get_label()][0]
    np.testing.assert_allclose(water.get_ydata(), 0.5)
    assert "3 of 8" in fig.axes[0].get_title()
    fig.clf()


def test_noise_set_has_mean_zero_and_identity_covariance():
    eps = noise_set(5)
    np.testing.assert_allclose(eps.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(eps.T @ eps / len(eps), np.eye(5), atol=1e-12)


@pytest.mark.parametrize("beta", [0.1, 0.5, 1.0, 1.5])
def test_closed_form_matches_vae_loss_and_is_stationary(beta):
    W, V, logvar = linear_vae_optimum(beta)
    total, rec, kl = linear_vae_objective(W, V, logvar, beta)
    rec_f, kl_f, _ = water_filling(beta)
    assert np.isclose(rec, rec_f, rtol=1e-9) and np.isclose(kl, kl_f, rtol=1e-9, atol=1e-12)
    for g in linear_vae_grad(W, V, logvar, beta):
        assert np.abs(g).max() < 1e-10


def test_objective_matches_monte_carlo_vae_loss():
    """The exact noise set gives what plain random sampling estimates."""
    X = centered_digits()[0][:200]
    W, V, logvar = linear_vae_optimum(0.3)
    exact = linear_vae_objective(W, V, logvar, 0.3, X=X)[0]
    rng = np.random.default_rng(0)
    mu = np.repeat(X @ V.T, 200, axis=0)
    z = mu + np.exp(logvar / 2) * rng.standard_normal(mu.shape)
    sampled = losses.vae_loss(z @ W.T, np.repeat(X, 200, axis=0), mu, np.broadcast_to(logvar, mu.shape),
                              beta=0.3, reconstruction="mse")
    assert abs(float(sampled) - exact) < 0.02 * exact


def test_gradient_matches_finite_differences():
    X = centered_digits()[0][:30]
    rng = np.random.default_rng(1)
    W, V, logvar = (p + 0.05 * rng.standard_normal(p.shape) for p in linear_vae_optimum(0.5))
    dW, dV, ds = linear_vae_grad(W, V, logvar, 0.5, X=X)
    h = 1e-6
    for grad, arg in ((dW, 0), (dV, 1), (ds, 2)):
        params = [W, V, logvar]
        idx = tuple(rng.integers(0, n) for n in params[arg].shape)
        up = [p.copy() for p in params]
        down = [p.copy() for p in params]
        up[arg][idx] += h
        down[arg][idx] -= h
        plus, minus = linear_vae_objective(*up, 0.5, X=X)[0], linear_vae_objective(*down, 0.5, X=X)[0]
        numeric = (plus - minus) / (2 * h)
        assert np.isclose(grad[idx], numeric, rtol=1e-5, atol=1e-8)


def test_terms_are_monotone_in_beta_and_collapse_at_twice_the_top_variance():
    lam = centered_digits()[1]
    grid = np.linspace(0.02, 2.0, 100)
    rec, kl, active = water_filling(grid)
    assert np.all(np.diff(rec) >= 0) and np.all(np.diff(kl) <= 0) and np.all(np.diff(active) <= 0)
    assert water_filling(2 * lam[0] * 1.001)[2] == 0 and water_filling(2 * lam[0] * 0.999)[2] == 1
    assert beta_state(1.6)["kl"] == 0
