"""Checks for solutions/08_regularization.ipynb: the L1 subgradient, soft thresholding, one ISTA step.

The learner's functions have the library's signatures:
``l1_penalty_grad(w)`` (``sign(w)``, 0 at 0, any shape),
``soft_threshold(w, threshold)`` (``sign(w) * max(|w| - threshold, 0)``;
a scalar threshold or one per coordinate; a negative threshold raises
ValueError) and ``ista_step(w, X, y, lr, lam)`` (one proximal-gradient step
on ``0.5 * mean((X @ w - y)**2) + lam * ||w||_1``, from
:mod:`course.lessons.regularization`).
"""

from __future__ import annotations

import numpy as np

from course.lessons import regularization as lab
from course.losses import regularization as R

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _weights_with_zeros(rng, shape=(8,), dtype=np.float64):
    w = rng.normal(0.0, 2.0, shape).astype(dtype)
    flat = w.reshape(-1)
    flat[::3] = 0.0
    return w


def _grad_basic(rng):
    return [Case((_weights_with_zeros(rng),), {}, "a vector with some exact zeros"),
            Case((rng.normal(size=5),), {}, "no zeros")]


def _grad_shapes(rng):
    return [Case((_weights_with_zeros(rng, (3, 4)),), {}, "a (3, 4) weight matrix"),
            Case((np.zeros(int(rng.integers(3, 8))),), {}, "all zeros")]


def _grad_float32(rng):
    return [Case((_weights_with_zeros(rng, dtype=np.float32),), {}, "float32 weights")]


def _grad_tiny(rng):
    tiny = np.array([1e-300, -1e-300, 0.0, -0.0, 5e-324]) * rng.choice([1.0, 3.0])
    return [Case((rng.permutation(tiny),), {}, "tiny nonzero weights")]


def _soft_scalar(rng):
    w = rng.normal(0.0, 2.0, 9)
    return [Case((w, t), {}, f"threshold {t}") for t in (0.5, 1.5)]


def _soft_edges(rng):
    t = float(rng.choice([0.25, 0.5, 1.0, 2.0]))  # a power of 2: w = ±t is exactly at it
    w = t * rng.permutation(np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]))
    return [Case((w, t), {}, "entries at, below and above the threshold"),
            Case((w * rng.uniform(1, 2), 0.0), {}, "threshold 0 changes nothing")]


def _soft_per_coordinate(rng):
    w = rng.normal(0.0, 2.0, 6)
    return [Case((w, rng.uniform(0, 2, 6)), {}, "one threshold per coordinate")]


def _soft_matrix(rng):
    return [Case((rng.normal(0.0, 2.0, (3, 4)), 0.8), {}, "a (3, 4) matrix")]


def _soft_float32(rng):
    return [Case((rng.normal(0.0, 2.0, 6).astype(np.float32), 0.7), {}, "float32 weights")]


def _soft_negative(rng):
    return [Case((rng.normal(size=4), -0.1), {}, "a negative threshold")]


def _problem(rng, n=12, d=5):
    X = rng.normal(size=(n, d))
    w = rng.normal(0.0, 1.0, d)
    y = X @ rng.normal(0.0, 1.0, d) + 0.3 * rng.normal(size=n)
    return w, X, y


def _ista_basic(rng):
    w, X, y = _problem(rng)
    return [Case((w, X, y), {"lr": 0.1, "lam": 0.2}, "lr=0.1, lam=0.2"),
            Case((w, X, y), {"lr": 0.05, "lam": 0.5}, "lr=0.05, lam=0.5")]


def _ista_zero_lam(rng):
    w, X, y = _problem(rng)
    return [Case((w, X, y), {"lr": 0.1, "lam": 0.0}, "lam=0: a plain gradient step")]


def _ista_zeros(rng):
    w, X, y = _problem(rng, n=20, d=8)
    return [Case((w, X, y), {"lr": 0.1, "lam": 1.0}, "lam large enough to zero some weights"),
            Case((np.zeros(8), X, y), {"lr": 0.1, "lam": 0.3}, "starting from w = 0")]


def _ista_tall(rng):
    w, X, y = _problem(rng, n=200, d=3)
    return [Case((w, X, y), {"lr": 0.5, "lam": 0.1}, "200 examples: the mean, not the sum")]


# ------------------------------------------------------ classic mistakes
def _hard_threshold(w, threshold):
    w = np.asarray(w, dtype=float)
    return np.where(np.abs(w) > threshold, w, 0.0)


def _shift_without_stop(w, threshold):
    w = np.asarray(w, dtype=float)
    return w - threshold * np.sign(w)


def _ista_sum(w, X, y, lr, lam):
    X = np.asarray(X, dtype=float)
    return R.soft_threshold(np.asarray(w) - lr * X.T @ (X @ w - y), lr * lam)


def _ista_threshold_lam(w, X, y, lr, lam):
    X = np.asarray(X, dtype=float)
    return R.soft_threshold(np.asarray(w) - lr * X.T @ (X @ w - y) / X.shape[0], lam)


def _ista_subgradient(w, X, y, lr, lam):
    X = np.asarray(X, dtype=float)
    grad = X.T @ (X @ w - y) / X.shape[0] + lam * np.sign(w)
    return np.asarray(w) - lr * grad


def _ista_full_mse(w, X, y, lr, lam):
    X = np.asarray(X, dtype=float)
    return R.soft_threshold(np.asarray(w) - lr * 2 * X.T @ (X @ w - y) / X.shape[0], lr * lam)


ASSIGNMENT = Assignment(
    notebook="08_regularization",
    title="Regularization: the L1 penalty and its proximal step",
    exercises=(
        Exercise(
            "l1_penalty_grad",
            R.l1_penalty_grad,
            (
                CaseGroup("signs, with zeros", _grad_basic, points=1),
                CaseGroup("any shape", _grad_shapes, points=1),
                CaseGroup("float32 stays float32", _grad_float32, points=0.5, probes="float32 weights"),
                CaseGroup("tiny weights", _grad_tiny, points=0.5,
                          probes="weights of 1e-300 and the smallest float"),
            ),
            mistakes=(
                Mistake("the weights themselves", "that is the gradient of the L2 penalty 0.5 w^2; "
                        "the L1 norm's is sign(w)", lambda w: np.asarray(w, dtype=float)),
                Mistake("1 at zero", "at w = 0 the subgradient to return is 0 (torch's choice), not 1",
                        lambda w: np.where(np.asarray(w) >= 0, 1.0, -1.0)),
            ),
            summary="subgradient of the L1 norm, 0 at 0",
        ),
        Exercise(
            "soft_threshold",
            R.soft_threshold,
            (
                CaseGroup("a scalar threshold", _soft_scalar, points=1),
                CaseGroup("at the threshold and threshold 0", _soft_edges, points=1),
                CaseGroup("one threshold per coordinate", _soft_per_coordinate, points=0.5,
                          probes="an array of thresholds"),
                CaseGroup("any shape", _soft_matrix, points=0.5, probes="a (3, 4) weight matrix"),
                CaseGroup("float32 stays float32", _soft_float32, points=0.5, probes="float32 weights"),
                CaseGroup("a negative threshold raises ValueError", _soft_negative, points=0.5,
                          hidden=True, probes="threshold < 0"),
            ),
            mistakes=(
                Mistake("hard thresholding", "small entries become 0, but the large ones must also "
                        "move `threshold` towards 0", _hard_threshold),
                Mistake("no stop at zero", "an entry smaller than the threshold must stop at 0, "
                        "not cross to the other sign", _shift_without_stop),
            ),
            summary="the proximal operator of threshold * ||w||_1",
        ),
        Exercise(
            "ista_step",
            lab.ista_step,
            (
                CaseGroup("one step", _ista_basic, points=1),
                CaseGroup("lam=0 is a gradient step", _ista_zero_lam, points=1),
                CaseGroup("weights set to zero", _ista_zeros, points=0.5,
                          probes="a large lam, and w = 0 as the start"),
                CaseGroup("many examples", _ista_tall, points=0.5, probes="200 examples"),
            ),
            mistakes=(
                Mistake("sum instead of mean", "the data loss is 0.5 * the MEAN squared error: "
                        "divide X.T @ (X w - y) by the number of examples", _ista_sum),
                Mistake("threshold lam", "the proximal step of lr * lam * ||w||_1 thresholds at "
                        "lr * lam, not lam", _ista_threshold_lam),
                Mistake("subgradient step", "this is a subgradient step with sign(w); ISTA takes a "
                        "gradient step on the data loss only, then soft-thresholds", _ista_subgradient),
                Mistake("gradient of the full MSE", "the data loss has a factor 0.5: its gradient "
                        "is X.T @ (X w - y) / n, without the 2", _ista_full_mse),
            ),
            summary="one proximal-gradient step for the lasso",
        ),
        EXPERIMENTS["08_regularization"],
    ),
    written=WRITTEN["08_regularization"],
)
