"""Checks for solutions/01_regression.ipynb: Huber loss, its gradient, the pinball loss."""

from __future__ import annotations

import numpy as np

from course.losses import regression as R

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


def _pairs(rng, n, scale=2.0, dtype=np.float64):
    return (rng.normal(0, scale, n).astype(dtype), rng.normal(0, scale, n).astype(dtype))


def _huber_cases(reduction):
    def make(rng):
        x, y = _pairs(rng, 8)
        return [Case((x, y), {"reduction": reduction, "delta": d}, f"delta={d}") for d in (1.0, 0.5, 3.0)]
    return make


def _kink(rng):
    y = rng.normal(size=4)
    x = y + np.array([1.0, -1.0, 0.0, 2.0])  # residuals exactly at delta=1, at zero, beyond
    return [Case((x, y), {"delta": 1.0, "reduction": "none"}, "residuals at the kink and at zero")]


def _float32(rng):
    x, y = _pairs(rng, 6, dtype=np.float32)
    return [Case((x, y), {"delta": 1.0}, "float32 inputs")]


def _huge(rng):
    x = rng.choice([-1.0, 1.0], size=5) * 1e8
    return [Case((x, np.zeros(5)), {"delta": 2.0, "reduction": "sum"}, "residuals of 1e8")]


def _huge_hidden(rng):
    x = rng.choice([-1.0, 1.0], size=5) * 10.0 ** rng.uniform(7.5, 8.5, 5)
    return [Case((x, rng.normal(size=5)), {"delta": 1.5, "reduction": "sum"}, "residuals near 1e8")]


def _bad_shape(rng):
    return [Case((rng.normal(size=(4, 1)), rng.normal(size=4)), {},
                 "input (4, 1) vs target (4,): broadcasting would make (4, 4)")]


def _bad_reduction(rng):
    x, y = _pairs(rng, 3)
    return [Case((x, y), {"reduction": "average"}, "unknown reduction")]


def _shared_groups(hidden_extra=()):
    return (
        CaseGroup("mean over a batch", _huber_cases("mean"), points=1),
        CaseGroup("reduction='none' and 'sum'",
                  lambda rng: _huber_cases("none")(rng) + _huber_cases("sum")(rng), points=1),
        CaseGroup("residuals at the kink", _kink, points=1),
        CaseGroup("float32 stays float32", _float32, points=0.5, probes="float32 inputs"),
        CaseGroup("huge residuals", _huge, points=0.5, probes="residuals of ±1e8"),
        CaseGroup("shape mismatch raises ValueError", _bad_shape, points=0.5,
                  probes="input and target of different shapes"),
        # the same pitfalls again, on inputs the learner never sees
        CaseGroup("float32 stays float32 (hidden)", _float32, points=0.5, hidden=True,
                  probes="float32 inputs"),
        CaseGroup("huge residuals (hidden)", _huge_hidden, points=0.5, hidden=True,
                  probes="residuals of ±1e8"),
        *hidden_extra,
    )


def _quantile_cases(rng):
    x, y = _pairs(rng, 10)
    return [Case((x, y), {"quantile": q}, f"quantile={q}") for q in (0.5, 0.1, 0.9)]


def _quantile_none(rng):
    x, y = _pairs(rng, 6)
    return [Case((x, y), {"quantile": 0.25, "reduction": "none"}, "per-element")]


def _quantile_bad(rng):
    x, y = _pairs(rng, 3)
    return [Case((x, y), {"quantile": q}, f"quantile={q}") for q in (0.0, 1.5)]


ASSIGNMENT = Assignment(
    notebook="01_regression",
    title="Regression losses",
    exercises=(
        Exercise(
            "huber_loss",
            R.huber_loss,
            _shared_groups(()),
            mistakes=(
                Mistake("smooth_l1", "this is smooth L1 (Huber divided by delta); Huber's "
                        "linear part is delta*(|d| - delta/2)",
                        lambda x, y, reduction="mean", delta=1.0:
                            R.smooth_l1_loss(x, y, reduction, beta=delta)),
                Mistake("mse", "this is the mean squared error: the quadratic piece needs 1/2, "
                        "and beyond delta the loss must grow linearly",
                        lambda x, y, reduction="mean", delta=1.0: R.mse_loss(x, y, reduction)),
            ),
            summary="Huber loss with delta, all three reductions",
        ),
        Exercise(
            "huber_loss_grad",
            R.huber_loss_grad,
            _shared_groups(),
            mistakes=(
                Mistake("wrong argument", "this is the gradient with respect to target; "
                        "differentiate with respect to input",
                        lambda x, y, reduction="mean", delta=1.0: -R.huber_loss_grad(x, y, reduction, delta)),
                Mistake("mean ignored", "for reduction='mean' divide the gradient by the number of elements",
                        lambda x, y, reduction="mean", delta=1.0: R.huber_loss_grad(x, y, "sum", delta)),
            ),
            summary="gradient of the Huber loss with respect to input",
        ),
        Exercise(
            "quantile_loss",
            R.quantile_loss,
            (
                CaseGroup("several quantiles, mean", _quantile_cases, points=1),
                CaseGroup("reduction='none'", _quantile_none, points=1),
                CaseGroup("quantile outside (0, 1) raises ValueError", _quantile_bad, points=0.5,
                          hidden=True, probes="quantile=0 and quantile=1.5"),
            ),
            mistakes=(
                Mistake("flipped quantile", "under- and over-prediction costs are swapped: "
                        "with r = target - input, the loss is max(q*r, (q-1)*r)",
                        lambda x, y, quantile=0.5, reduction="mean":
                            R.quantile_loss(x, y, 1 - quantile, reduction)),
            ),
            summary="pinball loss for a chosen quantile",
        ),
        EXPERIMENTS["01_regression"],
    ),
    written=WRITTEN["01_regression"],
)
