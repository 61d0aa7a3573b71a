"""Checks for solutions/03_likelihood.ipynb: Gaussian NLL and its gradients, Poisson NLL."""

from __future__ import annotations

import math

import numpy as np

from course.losses import likelihood as LK
from course.losses import regression as R

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


def _gaussian(rng, n=8, dtype=np.float64):
    mean = rng.normal(0.0, 2.0, n).astype(dtype)
    target = rng.normal(0.0, 2.0, n).astype(dtype)
    var = rng.uniform(0.2, 3.0, n).astype(dtype)
    return mean, target, var


# ------------------------------------------------------------- Gaussian NLL
def _gaussian_mean(rng):
    return [Case(_gaussian(rng), {}, "reduction='mean'")]


def _gaussian_reductions(rng):
    args = _gaussian(rng)
    return [Case(args, {"reduction": r}, f"reduction={r!r}") for r in ("sum", "none")]


def _gaussian_full(rng):
    return [Case(_gaussian(rng), {"full": True, "reduction": r}, f"full=True, reduction={r!r}")
            for r in ("mean", "none")]


def _gaussian_tiny_var(rng):
    mean, target, var = _gaussian(rng, 6)
    var[:3] = [0.0, 1e-9, 1e-7]  # below eps=1e-6: clamped to eps
    return [Case((mean, target, var), {"reduction": "none"}, "variances 0, 1e-9, 1e-7"),
            Case((mean, target, var), {"eps": 1e-3, "reduction": "none"}, "eps=1e-3")]


def _gaussian_matrix(rng):
    mean, target, var = _gaussian(rng, 12)
    return [Case((mean.reshape(3, 4), target.reshape(3, 4), var.reshape(3, 4)), {}, "shape (3, 4)")]


def _gaussian_float32(rng):
    return [Case(_gaussian(rng, 6, np.float32), {"full": True}, "float32 inputs")]


def _gaussian_negative_var(rng):
    mean, target, var = _gaussian(rng, 5)
    var[2] = -0.5
    return [Case((mean, target, var), {}, "a variance of -0.5")]


def _gaussian_bad_shape(rng):
    mean, target, var = _gaussian(rng, 6)
    return [Case((mean.reshape(6, 1), target, var), {}, "input (6, 1) vs target (6,)")]


def _gaussian_bad_reduction(rng):
    return [Case(_gaussian(rng, 3), {"reduction": "average"}, "reduction='average'")]


def _added_eps(input, target, var, full=False, eps=1e-6, reduction="mean"):
    return LK.gaussian_nll_loss(input, target, np.asarray(var) + eps, full, 0.0, reduction)


def _no_half(input, target, var, full=False, eps=1e-6, reduction="mean"):
    return 2 * LK.gaussian_nll_loss(input, target, var, full, eps, reduction)


def _mse_only(input, target, var, full=False, eps=1e-6, reduction="mean"):
    return R.mse_loss(input, target, reduction)


def _full_without_half(input, target, var, full=False, eps=1e-6, reduction="mean"):
    loss = LK.gaussian_nll_loss(input, target, var, False, eps, reduction)
    return loss + math.log(2 * math.pi) if full else loss


def _grad_std_not_var(input, target, var, full=False, eps=1e-6, reduction="mean"):
    d_input, d_var = LK.gaussian_nll_loss_grad(input, target, var, full, eps, reduction)
    return d_input, d_var * 2 * np.sqrt(np.maximum(var, eps))


def _grad_zero_when_clamped(input, target, var, full=False, eps=1e-6, reduction="mean"):
    d_input, d_var = LK.gaussian_nll_loss_grad(input, target, var, full, eps, reduction)
    return d_input, np.where(np.asarray(var) < eps, 0.0, d_var)


def _grad_wrong_sign(input, target, var, full=False, eps=1e-6, reduction="mean"):
    d_input, d_var = LK.gaussian_nll_loss_grad(input, target, var, full, eps, reduction)
    return -d_input, d_var


def _grad_sum(input, target, var, full=False, eps=1e-6, reduction="mean"):
    return LK.gaussian_nll_loss_grad(input, target, var, full, eps,
                                     "sum" if reduction == "mean" else reduction)


def _gaussian_groups(extra=()):
    return (
        CaseGroup("mean over a batch", _gaussian_mean, points=1),
        CaseGroup("reduction='sum' and 'none'", _gaussian_reductions, points=1),
        CaseGroup("full=True adds the constant", _gaussian_full, points=1),
        CaseGroup("variances below eps are clamped", _gaussian_tiny_var, points=1),
        CaseGroup("2-D inputs", _gaussian_matrix, points=0.5, probes="inputs of shape (3, 4)"),
        CaseGroup("float32 stays float32", _gaussian_float32, points=0.5, probes="float32 inputs"),
        CaseGroup("negative variance raises ValueError", _gaussian_negative_var, points=0.5,
                  hidden=True, probes="a negative variance"),
        *extra,
    )


# -------------------------------------------------------------- Poisson NLL
def _counts(rng, n=10, dtype=np.float64):
    log_rate = rng.normal(1.0, 1.0, n).astype(dtype)
    counts = rng.poisson(3.0, n).astype(dtype)
    return log_rate, counts


def _poisson_mean(rng):
    return [Case(_counts(rng), {}, "log-rates, reduction='mean'")]


def _poisson_reductions(rng):
    args = _counts(rng)
    return [Case(args, {"reduction": r}, f"reduction={r!r}") for r in ("sum", "none")]


def _poisson_rates(rng):
    rate = rng.uniform(0.5, 6.0, 8)
    counts = rng.poisson(3.0, 8).astype(float)
    counts[0], rate[1] = 0.0, 0.0  # log(0 + eps) stays finite
    return [Case((rate, counts), {"log_input": False}, "rates (log_input=False), one rate of 0")]


def _poisson_full(rng):
    log_rate = rng.normal(1.0, 1.0, 7)
    counts = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 7.0, 20.0])
    return [Case((log_rate, counts), {"full": True, "reduction": "none"},
                 "full=True with counts 0, 1, 1.5, 2, 3, 7, 20 (Stirling's term only where target > 1)")]


def _poisson_float32(rng):
    return [Case(_counts(rng, 6, np.float32), {}, "float32 inputs")]


def _poisson_large(rng):
    log_rate = np.array([-30.0, -5.0, 0.0, 20.0, 50.0]) + rng.uniform(-1, 1, 5)
    counts = np.array([0.0, 1.0, 4.0, 100.0, 3.0]) + rng.integers(0, 3, 5)
    return [Case((log_rate, counts), {"reduction": "none"},
                 "log-rates from -30 to 50")]


def _poisson_bad_shape(rng):
    log_rate, counts = _counts(rng, 6)
    return [Case((log_rate, counts[:4]), {}, "input of 6 and target of 4")]


def _poisson_exact_factorial(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    loss = LK.poisson_nll_loss(input, target, log_input, False, eps, "none")
    if full:
        loss = loss + np.vectorize(math.lgamma)(np.asarray(target) + 1.0)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)


def _poisson_stirling_everywhere(input, target, log_input=True, full=False, eps=1e-8,
                                 reduction="mean"):
    loss = LK.poisson_nll_loss(input, target, log_input, False, eps, "none")
    if full:
        y = np.asarray(target, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            loss = loss + y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y)
    return {"mean": loss.mean(), "sum": loss.sum()}.get(reduction, loss)


def _poisson_rate_as_log(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    return LK.poisson_nll_loss(input, target, not log_input, full, eps, reduction)


ASSIGNMENT = Assignment(
    notebook="03_likelihood",
    title="Losses as likelihoods",
    exercises=(
        Exercise(
            "gaussian_nll_loss",
            LK.gaussian_nll_loss,
            _gaussian_groups(()),
            mistakes=(
                Mistake("added eps", "eps is a floor, not an offset: use max(var, eps), not var + eps",
                        _added_eps),
                Mistake("no half", "the Gaussian NLL has a factor 1/2: 0.5 * (log var + (x - y)^2 / var)",
                        _no_half),
                Mistake("mse", "this is the mean squared error: divide by the variance and add log var",
                        _mse_only),
                Mistake("full constant", "full=True adds 0.5 * log(2 pi), not log(2 pi)",
                        _full_without_half),
            ),
            summary="Gaussian negative log-likelihood with a clamped variance",
        ),
        Exercise(
            "gaussian_nll_loss_grad",
            LK.gaussian_nll_loss_grad,
            _gaussian_groups(),
            mistakes=(
                Mistake("zero when clamped", "below eps the variance gradient is the derivative at "
                        "var = eps (as in PyTorch), not 0", _grad_zero_when_clamped),
                Mistake("std", "this is the gradient with respect to the standard deviation; "
                        "differentiate with respect to var", _grad_std_not_var),
                Mistake("sign", "d_input has the wrong sign: it is (input - target) / var",
                        _grad_wrong_sign),
                Mistake("mean ignored", "for reduction='mean' divide both gradients by the number "
                        "of elements", _grad_sum),
            ),
            summary="gradients of the Gaussian NLL with respect to input and var",
        ),
        Exercise(
            "poisson_nll_loss",
            LK.poisson_nll_loss,
            (
                CaseGroup("log-rates, mean", _poisson_mean, points=1),
                CaseGroup("reduction='sum' and 'none'", _poisson_reductions, points=1),
                CaseGroup("rates with log_input=False", _poisson_rates, points=1),
                CaseGroup("full=True adds Stirling's term where target > 1", _poisson_full, points=1),
                CaseGroup("float32 stays float32", _poisson_float32, points=0.5, probes="float32 inputs"),
                CaseGroup("extreme log-rates", _poisson_large, points=0.5,
                          probes="log-rates between -30 and 50"),
            ),
            mistakes=(
                Mistake("exact factorial", "full=True adds Stirling's approximation of log(y!), "
                        "as PyTorch does, not the exact log-factorial", _poisson_exact_factorial),
                Mistake("stirling everywhere", "Stirling's term is added only where target > 1 "
                        "(it is 0 for counts 0 and 1)", _poisson_stirling_everywhere),
                Mistake("log_input flipped", "log_input says what input is: log(rate) when True "
                        "(loss exp(input) - target * input), the rate itself when False "
                        "(loss input - target * log(input + eps))", _poisson_rate_as_log),
            ),
            summary="Poisson negative log-likelihood of counts",
        ),
        EXPERIMENTS["03_likelihood"],
    ),
    written=WRITTEN["03_likelihood"],
)
