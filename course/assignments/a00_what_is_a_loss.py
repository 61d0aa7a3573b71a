"""Checks for solutions/00_what_is_a_loss.ipynb: accuracy, a central difference, a descent step."""

from __future__ import annotations

import numpy as np

from course.lessons import basics as B

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


def _students(rng, n=20):
    """Hours in [0, 8] and pass/fail labels that mostly follow the hours."""
    x = rng.uniform(0.0, 8.0, n)
    y = (x + rng.normal(0.0, 1.5, n) > 4.0).astype(float)
    return x, y


def _line(rng, n=15):
    x = rng.uniform(0.5, 8.0, n)
    return x, 9.0 * x + rng.normal(0.0, 6.0, n)


# ------------------------------------------------------- threshold_accuracy
def _accuracy_basic(rng):
    x, y = _students(rng)
    return [Case((x, y, t), {}, f"threshold={t}") for t in (2.0, 4.0, 5.5)]


def _accuracy_ties(rng):
    x, y = _students(rng, 10)
    x[:3] = 4.0  # points exactly on the threshold are predicted 0
    y[:3] = [0.0, 1.0, 1.0]
    return [Case((x, y, 4.0), {}, "three points exactly at the threshold")]


def _accuracy_outside(rng):
    x, y = _students(rng, 12)
    return [Case((x, y, t), {}, f"threshold={t}") for t in (-1.0, 9.0)]


def _accuracy_int_labels(rng):
    x, y = _students(rng, 12)
    return [Case((x, y.astype(np.int64), 3.0), {}, "integer labels")]


def _accuracy_bad_labels(rng):
    x, y = _students(rng, 6)
    y[0] = 2.0
    return [Case((x, y, 4.0), {}, "a label 2")]


def _accuracy_bad_shape(rng):
    x, y = _students(rng, 6)
    return [Case((x, y[:5], 4.0), {}, "x of 6 and y of 5")]


# ------------------------------------------------------ numerical_derivative
def _derivative_small_eps(rng):
    x, y = _line(rng)
    return [Case((w, x, y), {"eps": 1e-6}, f"w={w}") for w in (0.0, 4.5, 12.0)]


def _derivative_coarse_eps(rng):
    x, y = _line(rng)
    return [Case((w, x, y), {"eps": e}, f"w={w}, eps={e}") for w, e in ((3.0, 0.5), (10.0, 2.0))]


def _derivative_default_eps(rng):
    x, y = _line(rng, 8)
    return [Case((7.0, x, y), {}, "default eps")]


def _derivative_bad_shape(rng):
    x, y = _line(rng, 6)
    return [Case((1.0, x, y[:4]), {}, "x of 6 and y of 4")]


def _derivative_bad_eps(rng):
    x, y = _line(rng, 6)
    return [Case((1.0, x, y), {"eps": e}, f"eps={e}") for e in (0.0, -1e-3)]


def _forward_difference(w, x, y, eps=1e-6):
    return (B.slope_loss(w + eps, x, y) - B.slope_loss(w, x, y)) / eps


def _no_half(w, x, y, eps=1e-6):
    return (B.slope_loss(w + eps, x, y) - B.slope_loss(w - eps, x, y)) / eps


# ----------------------------------------------------- gradient_descent_step
def _step_cases(rng):
    x, y = _line(rng)
    return [Case((w, x, y, lr), {}, f"w={w}, learning_rate={lr}")
            for w, lr in ((0.0, 0.001), (5.0, 0.01), (15.0, 0.002))]


def _step_at_optimum(rng):
    x, y = _line(rng)
    return [Case((B.best_slope(x, y), x, y, 0.01), {}, "starting at the best slope")]


def _step_bad_shape(rng):
    x, y = _line(rng, 6)
    return [Case((1.0, x, y[:5], 0.01), {}, "x of 6 and y of 5")]


def _step_bad_rate(rng):
    x, y = _line(rng, 6)
    return [Case((1.0, x, y, lr), {}, f"learning_rate={lr}") for lr in (0.0, -0.1)]


def _uphill(w, x, y, learning_rate):
    return float(w) + learning_rate * B.slope_loss_derivative(w, x, y)


def _no_two(w, x, y, learning_rate):
    return float(w) - learning_rate * B.slope_loss_derivative(w, x, y) / 2


def _sum_not_mean(w, x, y, learning_rate):
    return float(w) - learning_rate * len(np.atleast_1d(x)) * B.slope_loss_derivative(w, x, y)


def _no_x(w, x, y, learning_rate):
    return float(w) - learning_rate * 2 * np.mean(float(w) * np.asarray(x) - np.asarray(y))


ASSIGNMENT = Assignment(
    notebook="00_what_is_a_loss",
    title="What is a loss?",
    exercises=(
        Exercise(
            "threshold_accuracy",
            B.threshold_accuracy,
            (
                CaseGroup("a few thresholds", _accuracy_basic, points=1),
                CaseGroup("points exactly at the threshold are predicted 0", _accuracy_ties, points=1),
                CaseGroup("thresholds below and above every point", _accuracy_outside, points=0.5),
                CaseGroup("integer labels", _accuracy_int_labels, points=0.5,
                          probes="labels given as integers"),
            ),
            mistakes=(
                Mistake("greater or equal", "a point exactly at the threshold must be predicted 0: "
                        "use x > threshold, not x >= threshold",
                        lambda x, y, t: np.mean((np.asarray(x) >= t) == (np.asarray(y) == 1))),
                Mistake("error rate", "this is the error rate (1 - accuracy): count the predictions "
                        "that equal the label",
                        lambda x, y, t: 1.0 - B.threshold_accuracy(x, y, t)),
            ),
            summary="accuracy of the rule 'predict 1 when x > threshold'",
        ),
        Exercise(
            "numerical_derivative",
            B.numerical_derivative,
            (
                CaseGroup("small eps at several slopes", _derivative_small_eps, points=1),
                CaseGroup("a coarse eps (central, not forward, difference)", _derivative_coarse_eps,
                          points=1),
                CaseGroup("the default eps", _derivative_default_eps, points=0.5),
            ),
            mistakes=(
                Mistake("forward difference", "this is the forward difference (L(w+eps) - L(w)) / eps; "
                        "use the central one, (L(w+eps) - L(w-eps)) / (2 eps)", _forward_difference),
                Mistake("no half", "the two evaluations are 2*eps apart: divide by 2*eps, not eps",
                        _no_half),
            ),
            summary="central-difference derivative of the squared-error loss of y ≈ w x",
        ),
        Exercise(
            "gradient_descent_step",
            B.gradient_descent_step,
            (
                CaseGroup("steps from several slopes", _step_cases, points=1),
                CaseGroup("at the optimum the step is zero", _step_at_optimum, points=1),
            ),
            mistakes=(
                Mistake("uphill", "you stepped uphill: subtract learning_rate * dL/dw, do not add it",
                        _uphill),
                Mistake("missing 2", "the derivative of (w x - y)^2 is 2 (w x - y) x: the factor 2 "
                        "is missing", _no_two),
                Mistake("sum", "the loss is a mean over the samples: average the per-sample "
                        "derivatives instead of adding them", _sum_not_mean),
                Mistake("chain rule", "the chain rule needs the factor x_i: dL/dw = mean(2 (w x_i - "
                        "y_i) x_i)", _no_x),
            ),
            summary="one gradient-descent step on the mean squared error of y ≈ w x",
        ),
        EXPERIMENTS["00_what_is_a_loss"],
    ),
    written=WRITTEN["00_what_is_a_loss"],
)
