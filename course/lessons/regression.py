"""Lesson 01: a line fitted under MSE, L1, Huber or the pinball loss, and the data it meets.

* :func:`outlier_data` makes the line with four lying points;
* :func:`fit_line` fits a line under any of the lesson's losses;
* :func:`fit_interval` fits a prediction interval from two pinball losses,
  :func:`constant_width_band` the naive band around least squares, and
  :func:`interval_coverage` measures either on held-out points.
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


def fit_line(x, y, loss: str = "mse", delta: float = 1.0, iterations: int = 100,
             quantile: float = 0.5):
    """Fit ``y ≈ slope * x + intercept`` by minimising a course loss.

    Iteratively reweighted least squares: at the current fit, each point gets
    the weight ``g_i / r_i`` (its loss gradient over its residual), and a
    weighted least-squares solve gives the next fit. For MSE the weights are
    constant (one ordinary solve); for Huber they are ``min(1, delta/|r|)``;
    for L1 ``1/|r|``; for the pinball loss (``loss="quantile"``) they are
    ``(1 - q)/|r|`` for points below the line and ``q/|r|`` for points above
    it, so the line settles where a fraction ``q`` of the points lies below
    it (Koenker and Bassett 1978; Koenker, *Quantile Regression*, 2005,
    section 6.9, on reweighting). The gradients come from :mod:`course.losses`.

    Returns ``(slope, intercept)``.
    """
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile!r}")
    gradients = {
        "mse": lambda p: losses.mse_loss_grad(p, y, reduction="none"),
        "l1": lambda p: losses.l1_loss_grad(p, y, reduction="none"),
        "huber": lambda p: losses.huber_loss_grad(p, y, reduction="none", delta=delta),
        "quantile": lambda p: losses.quantile_loss_grad(p, y, quantile=quantile, reduction="none"),
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


# --------------------------------------------------------- prediction intervals
def fit_interval(x, y, coverage: float = 0.9, iterations: int = 200):
    """A prediction interval from two pinball losses: lines at the quantiles ``(1 ± coverage) / 2``.

    For ``coverage = 0.9`` the lower line minimises the pinball loss at
    q = 0.05 and the upper one at q = 0.95 (each by :func:`fit_line`), so
    about 5 % of the points should fall below the band and 5 % above it,
    wherever the noise is wide or narrow (Koenker and Bassett 1978,
    "Regression Quantiles", Econometrica 46(1)).

    Returns ``((slope, intercept) of the lower line, (slope, intercept) of the upper line)``.
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie strictly between 0 and 1, got {coverage!r}")
    low, high = (1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0
    return (fit_line(x, y, "quantile", quantile=low, iterations=iterations),
            fit_line(x, y, "quantile", quantile=high, iterations=iterations))


def constant_width_band(x, y, coverage: float = 0.9):
    """The naive interval: the least-squares line shifted by quantiles of its residuals.

    Both lines have the least-squares slope; their intercepts move by the
    ``(1 ± coverage) / 2`` empirical quantiles of the training residuals
    ``y - ŷ``, so the band has the same width everywhere. Returns the same
    shape as :func:`fit_interval`.
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie strictly between 0 and 1, got {coverage!r}")
    slope, intercept = fit_line(x, y, "mse")
    below, above = np.quantile(np.asarray(y) - (slope * np.asarray(x) + intercept),
                               [(1.0 - coverage) / 2.0, (1.0 + coverage) / 2.0])
    return (slope, intercept + float(below)), (slope, intercept + float(above))


def interval_coverage(band, x, y) -> float:
    """The fraction of points ``(x, y)`` on or between the band's lower and upper line."""
    (slope_low, intercept_low), (slope_high, intercept_high) = band
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    inside = (y >= slope_low * x + intercept_low) & (y <= slope_high * x + intercept_high)
    return float(inside.mean())
