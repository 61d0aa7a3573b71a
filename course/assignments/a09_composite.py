"""Checks for solutions/09_composite.ipynb: the Gaussian KL, its gradient, uncertainty weights.

The learner's functions have the library's signatures:
``gaussian_kl(mu, logvar, reduction="mean")`` (KL of N(mu, e^logvar) from
N(0, I), summed over the last axis, then reduced over the samples; "mean"
averages over samples, not latent dimensions), its ``_grad`` twin returning
``(d_mu, d_logvar)``, and ``uncertainty_weighted_loss(losses, log_vars)``
(``sum_i e^{-s_i} L_i + s_i``, a 0-d array).
"""

from __future__ import annotations

import numpy as np

from course.losses import composite as C

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _latent(rng, shape=(5, 3), dtype=np.float64):
    return (rng.normal(0.0, 1.5, shape).astype(dtype), rng.normal(0.0, 1.0, shape).astype(dtype))


def _kl_default(rng):
    return [Case(_latent(rng), {}, "a (5, 3) batch, default reduction ('mean')"),
            Case(_latent(rng, (4, 1)), {}, "one latent dimension")]


def _kl_reductions(rng):
    return [Case(_latent(rng, (6, 4)), {"reduction": r}, f"reduction={r!r}") for r in ("sum", "none")]


def _kl_batch_shapes(rng):
    return [Case(_latent(rng, (2, 3, 4)), {"reduction": "none"}, "a (2, 3, 4) batch, 'none'"),
            Case(_latent(rng, (2, 3, 4)), {"reduction": "mean"}, "a (2, 3, 4) batch, 'mean'"),
            Case(_latent(rng, (5,)), {"reduction": "none"}, "a single sample of shape (5,)")]


def _kl_near_zero(rng):
    mu = np.zeros((3, 4))
    logvar = rng.choice([-1.0, 1.0], size=(3, 4)) * 10.0 ** rng.uniform(-7, -5, size=(3, 4))
    return [Case((mu, logvar), {"reduction": "none"},
                 "mu = 0, logvar within 1e-5 of 0 (exp(s) - 1 cancels here: np.expm1)")]


def _kl_float32(rng):
    return [Case(_latent(rng, dtype=np.float32), {"reduction": r}, f"float32, reduction={r!r}")
            for r in ("mean", "none")]


def _kl_bad(rng):
    return [Case((rng.normal(size=(4, 3)), rng.normal(size=(4, 2))), {}, "mu (4, 3), logvar (4, 2)"),
            Case(_latent(rng), {"reduction": "batchmean"}, "reduction='batchmean'")]


def _tasks(rng, k=3, dtype=np.float64):
    losses = np.exp(rng.normal(0.0, 2.0, k)).astype(dtype)
    return losses, rng.normal(0.0, 1.5, k).astype(dtype)


def _uw_basic(rng):
    return [Case(_tasks(rng), {}, "three tasks"), Case(_tasks(rng, 1), {}, "one task")]


def _uw_optimum(rng):
    losses = np.exp(rng.normal(0.0, 2.0, 4))
    return [Case((losses, np.log(losses)), {}, "log_vars = log(losses), the optimum")]


def _uw_scales(rng):
    losses = np.array([1e-4, 3.0, 2e4])
    return [Case((losses, rng.normal(0.0, 3.0, 3)), {}, "losses from 1e-4 to 2e4")]


def _uw_float32(rng):
    return [Case(_tasks(rng, 4, np.float32), {}, "float32 losses and log_vars")]


def _uw_bad(rng):
    return [Case((np.ones(3), np.zeros(2)), {}, "3 losses, 2 log_vars"),
            Case((np.ones((2, 2)), np.zeros((2, 2))), {}, "a 2-D losses array")]


# ------------------------------------------------------ classic mistakes
def _kl_naive(mu, logvar, reduction="mean"):
    mu, s = np.asarray(mu, dtype=float), np.asarray(logvar, dtype=float)
    per = -0.5 * np.sum(1 + s - mu**2 - np.exp(s), axis=-1)
    return {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]


def _kl_mean_over_everything(mu, logvar, reduction="mean"):
    if reduction != "mean":
        raise ValueError("not this mistake")
    mu = np.asarray(mu, dtype=float)
    return C.gaussian_kl(mu, logvar, "sum") / mu.size


def _kl_sigma_not_logvar(mu, logvar, reduction="mean"):
    """logvar read as log sigma (the standard deviation)."""
    return C.gaussian_kl(mu, 2 * np.asarray(logvar, dtype=float), reduction)


def _grad_var_not_half(mu, logvar, reduction="mean"):
    d_mu, d_s = C.gaussian_kl_grad(mu, logvar, reduction)
    return d_mu, 2 * d_s


def _grad_mean_over_everything(mu, logvar, reduction="mean"):
    d_mu, d_s = C.gaussian_kl_grad(mu, logvar, "sum")
    if reduction == "mean":
        n = np.asarray(mu).size
        return d_mu / n, d_s / n
    return d_mu, d_s


def _uw_no_regularizer(losses, log_vars):
    return np.sum(np.exp(-np.asarray(log_vars, dtype=float)) * np.asarray(losses, dtype=float))


def _uw_times_sigma2(losses, log_vars):
    s = np.asarray(log_vars, dtype=float)
    return np.sum(np.exp(s) * np.asarray(losses, dtype=float) + s)


KL_GROUPS = (
    CaseGroup("default reduction ('mean')", _kl_default, points=1),
    CaseGroup("'sum' and 'none'", _kl_reductions, points=1),
    CaseGroup("any batch shape (..., D)", _kl_batch_shapes, points=0.5,
              probes="batches of shape (2, 3, 4) and a single sample (D,)"),
    CaseGroup("float32 stays float32", _kl_float32, points=0.5, probes="float32 inputs"),
)

ASSIGNMENT = Assignment(
    notebook="09_composite",
    title="Composite losses: the VAE's KL term and uncertainty weights",
    exercises=(
        Exercise(
            "gaussian_kl",
            C.gaussian_kl,
            KL_GROUPS + (
                CaseGroup("logvar close to 0 keeps its digits", _kl_near_zero, points=0.5,
                          probes="mu = 0 and |logvar| below 1e-5", rtol=1e-6, atol=0.0),
            ),
            mistakes=(
                Mistake("exp(s) - 1 - s loses digits", "near logvar = 0, exp(s) - 1 cancels; write "
                        "np.expm1(s) - s", _kl_naive),
                Mistake("mean over latent dimensions too", "'mean' averages over samples only: sum "
                        "over the last axis first", _kl_mean_over_everything),
                Mistake("logvar read as log sigma", "logvar is the log of the variance, so the "
                        "variance is exp(logvar), not exp(2 logvar)", _kl_sigma_not_logvar),
            ),
            summary="KL of a diagonal Gaussian from the standard normal",
        ),
        Exercise(
            "gaussian_kl_grad",
            C.gaussian_kl_grad,
            KL_GROUPS,
            mistakes=(
                Mistake("no factor 1/2", "d KL / d logvar = (exp(logvar) - 1) / 2", _grad_var_not_half),
                Mistake("mean over latent dimensions too", "for 'mean' divide by the number of "
                        "samples, not of all elements", _grad_mean_over_everything),
            ),
            summary="gradient of the Gaussian KL: (d_mu, d_logvar)",
        ),
        Exercise(
            "uncertainty_weighted_loss",
            C.uncertainty_weighted_loss,
            (
                CaseGroup("one and three tasks", _uw_basic, points=1),
                CaseGroup("at the optimum log_vars = log(losses)", _uw_optimum, points=1),
                CaseGroup("losses of very different scales", _uw_scales, points=0.5,
                          probes="losses from 1e-4 to 2e4"),
                CaseGroup("float32 stays float32", _uw_float32, points=0.5, probes="float32 inputs"),
            ),
            mistakes=(
                Mistake("no + s_i term", "without + log_vars the weights grow without bound; add "
                        "the sum of log_vars", _uw_no_regularizer),
                Mistake("multiplied by the variance", "divide each loss by its variance: "
                        "exp(-log_vars) * losses", _uw_times_sigma2),
            ),
            summary="Kendall et al.'s uncertainty-weighted multi-task loss",
        ),
        EXPERIMENTS["09_composite"],
    ),
    written=WRITTEN["09_composite"],
)
