"""Lesson 01: a line fitted under MSE, L1 or Huber, and the outlier data it meets.
"""

from __future__ import annotations

import numpy as np

from course import losses

TRUE_SLOPE, TRUE_INTERCEPT = 1.5, 2.0


def outlier_data(outlier: float = 30.0, n: int = 40, n_outliers: int = 4, seed: int = 0):
    """Points near ``y = 1.5 x + 2`` with Gaussian noise; the last ``n_outliers``
    (at the right end) are pushed up by ``outlier``."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, n)
    y = TRUE_SLOPE * x + TRUE_INTERCEPT + rng.normal(0.0, 1.0, n)
    y[-n_outliers:] += outlier
    return x, y


def fit_line(x, y, loss: str = "mse", delta: float = 1.0, iterations: int = 100):
    """Fit ``y ≈ slope * x + intercept`` by minimising a course loss.

    Iteratively reweighted least squares: at the current fit, each point gets
    the weight ``g_i / r_i`` (its loss gradient over its residual), and a
    weighted least-squares solve gives the next fit. For MSE the weights are
    constant (one ordinary solve); for Huber they are ``min(1, delta/|r|)``;
    for L1 ``1/|r|``. The gradients come from :mod:`course.losses`.

    Returns ``(slope, intercept)``.
    """
    gradients = {
        "mse": lambda p: losses.mse_loss_grad(p, y, reduction="none"),
        "l1": lambda p: losses.l1_loss_grad(p, y, reduction="none"),
        "huber": lambda p: losses.huber_loss_grad(p, y, reduction="none", delta=delta),
    }
    if loss not in gradients:
        raise ValueError(f"loss must be one of {sorted(gradients)}, got {loss!r}")
    design = np.column_stack([x, np.ones_like(x)])
    theta = np.linalg.lstsq(design, y, rcond=None)[0]
    if loss == "mse":
        return float(theta[0]), float(theta[1])
    for _ in range(iterations):
        residual = design @ theta - y
        # keep |r| away from 0 so g/r stays finite (the limit for Huber is 1)
        safe = np.where(np.abs(residual) < 1e-6, np.copysign(1e-6, residual), residual)
        weight = gradients[loss](y + safe) / safe
        root = np.sqrt(weight)
        new = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)[0]
        if np.allclose(new, theta, rtol=1e-10, atol=1e-12):
            break
        theta = new
    return float(theta[0]), float(theta[1])
