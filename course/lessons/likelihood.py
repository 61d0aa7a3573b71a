"""Lesson 03: noise models and the fits they imply.

* :func:`noisy_line` samples a line plus noise of a chosen family
  (:data:`NOISES`), scaled to a chosen standard deviation;
* :func:`fit_heteroscedastic` learns a mean *and* a variance that depend on
  ``x`` by minimising :func:`course.losses.gaussian_nll_loss` with Adam, on
  data such as :func:`funnel_data`.
"""

from __future__ import annotations

import numpy as np

from course import losses
from course.lessons.optim import adam_moments, adam_step

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


# ----------------------------------------------------- heteroscedastic fit
def funnel_data(n: int = 300, seed: int = 1):
    """``x`` uniform on [0, 5], ``y = 2 + 0.5 x + sigma(x) * N(0, 1)`` with
    ``sigma(x) = 0.25 exp(0.4 x)``: the noise grows sevenfold from left to right."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 5.0, n))
    sigma = 0.25 * np.exp(0.4 * x)
    return x, 2.0 + 0.5 * x + sigma * rng.normal(size=n), sigma


def fit_heteroscedastic(x, y, steps: int = 1500, learning_rate: float = 0.05):
    """Learn ``mean(x) = a_0 + a_1 x`` and ``log var(x) = c_0 + c_1 x`` by minimising the Gaussian NLL.

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
    moments = adam_moments([params])
    history = np.empty(steps)
    for step in range(1, steps + 1):
        mean, var = features @ params[:2], np.exp(features @ params[2:])
        d_mean, d_var = losses.gaussian_nll_loss_grad(mean, y, var)
        grad = np.concatenate([features.T @ d_mean, features.T @ (d_var * var)])
        adam_step([params], [grad], moments, step, learning_rate)
        history[step - 1] = losses.gaussian_nll_loss(features @ params[:2], y,
                                                      np.exp(features @ params[2:]))

    def linear(weights):
        return lambda new_x: weights[0] + weights[1] * (np.asarray(new_x, dtype=np.float64)
                                                        - center) / spread

    mean_head, logvar_head = linear(params[:2].copy()), linear(params[2:].copy())
    return mean_head, lambda new_x: np.exp(logvar_head(new_x)), history
