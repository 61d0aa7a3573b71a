"""Checks for solutions/06_imbalance.ipynb: focal loss, its gradient, class-balanced weights.

The learner's functions have the library's signatures:
``sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none")``
and its ``_grad`` twin (torchvision's conventions: ``alpha`` weights the
positives, a negative ``alpha`` turns the weighting off, the default
reduction is "none"), and ``class_balanced_weights(counts, beta=0.999)``
(weights proportional to one over the effective number, normalized to sum to
the number of classes that occur; an empty class gets 0).
"""

from __future__ import annotations

import numpy as np

from course.losses import imbalance as I

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _logits(rng, shape=(10,), scale=3.0, dtype=np.float64):
    """Logits and 0/1 targets of one shape, with at least one of each label."""
    x = rng.normal(0.0, scale, shape).astype(dtype)
    y = (rng.uniform(size=shape) < 0.4).astype(dtype)
    flat = y.reshape(-1)
    flat[0], flat[-1] = 1, 0
    return x, y


def _focal_defaults(rng):
    return [Case(_logits(rng), {}, "default alpha, gamma and reduction ('none')"),
            Case(_logits(rng, (3, 4)), {}, "a (3, 4) batch, defaults")]


def _focal_reductions(rng):
    cases = []
    for alpha, gamma in ((0.25, 2.0), (0.75, 1.0), (0.5, 3.0)):
        for reduction in ("mean", "sum"):
            cases.append(Case(_logits(rng), {"alpha": alpha, "gamma": gamma, "reduction": reduction},
                              f"alpha={alpha}, gamma={gamma}, reduction={reduction!r}"))
    return cases


def _focal_large(rng):
    x = np.array([50.0, -50.0, 50.0, -50.0, 30.0, -40.0]) * rng.uniform(0.8, 1.0)  # |x| <= 50
    y = np.array([1.0, 1.0, 0.0, 0.0, 0.0, 1.0])  # right and wrong, each way
    return [Case((x, y), {"reduction": "none"}, "logits of ±50, right and wrong"),
            Case((x * rng.choice([1.0, 0.9]), y), {"alpha": 0.6, "reduction": "sum"}, "large logits, sum")]


def _focal_alpha_off(rng):
    return [Case(_logits(rng), {"alpha": -1.0}, "alpha=-1: no class weighting"),
            Case(_logits(rng), {"alpha": -1.0, "gamma": 0.5, "reduction": "mean"}, "alpha=-1, mean")]


def _focal_gamma_zero(rng):
    return [Case(_logits(rng), {"gamma": 0.0}, "gamma=0: alpha-weighted cross-entropy"),
            Case(_logits(rng), {"gamma": 0.0, "alpha": -1.0, "reduction": "mean"},
                 "gamma=0 and no alpha: plain BCE")]


def _focal_fractional_gamma(rng):
    x, y = _logits(rng, scale=4.0)
    # confidently right: 1 - p_t rounds to 0
    sure = np.array([60.0, -60.0, 45.0, -45.0]) + rng.uniform(0, 5, 4) * np.array([1, -1, 1, -1])
    return [Case((x, y), {"gamma": 0.5, "alpha": 0.4}, "gamma=0.5"),
            Case((sure, np.array([1.0, 0.0, 1.0, 0.0])), {"gamma": 0.5},
                 "gamma=0.5, confidently right (1 - p_t is 0: take the ratio dm/m as 0, no NaN)")]


def _focal_float32(rng):
    return [Case(_logits(rng, dtype=np.float32), {"reduction": r}, f"float32, reduction={r!r}")
            for r in ("none", "mean")]


def _focal_bad_shape(rng):
    return [Case((rng.normal(size=(4, 1)), np.ones(4)), {}, "inputs (4, 1) vs targets (4,)")]


def _weights_two(rng):
    rare = int(rng.integers(50, 200))
    counts = np.array([99 * rare, rare])
    return [Case((counts,), {"beta": b}, f"counts ({99 * rare}, {rare}), beta={b}")
            for b in (0.9, 0.999, 0.9999)]


def _weights_many(rng):
    counts = rng.integers(1, 5000, size=6)
    return [Case((counts,), {"beta": 0.99}, "six classes, beta=0.99"),
            Case((counts,), {}, "six classes, default beta")]


def _weights_beta_zero(rng):
    return [Case((rng.integers(1, 100, size=4),), {"beta": 0.0}, "beta=0: equal weights")]


def _weights_zero_counts(rng):
    counts = rng.integers(5, 500, size=5)
    counts[[1, 3]] = 0
    return [Case((counts,), {"beta": 0.99}, "two classes with count 0")]


def _weights_float32(rng):
    return [Case((rng.uniform(1, 1000, size=4).astype(np.float32),), {"beta": 0.999},
                 "float32 counts")]


def _weights_near_one(rng):
    counts = np.array([1, 10, 1_000_000]) * rng.integers(1, 4, 3)
    return [Case((counts,), {"beta": 0.999999}, "beta=0.999999")]


def _weights_bad(rng):
    return [Case((np.array([10, 5]),), {"beta": 1.0}, "beta=1"),
            Case((np.array([10, 5]),), {"beta": -0.1}, "beta=-0.1"),
            Case((np.array([10, -5]),), {"beta": 0.9}, "a negative count")]


# ------------------------------------------------------ classic mistakes
def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _focal_with_p(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """(1 - p)^gamma for every example, instead of (1 - p_t)^gamma."""
    x, y = np.asarray(inputs, dtype=float), np.asarray(targets, dtype=float)
    bce = I.sigmoid_focal_loss(x, y, alpha=-1.0, gamma=0.0)
    loss = (1 - _sigmoid(x)) ** gamma * bce
    if alpha >= 0:
        loss = loss * (alpha * y + (1 - alpha) * (1 - y))
    return _reduce(loss, reduction)


def _swapped_alpha(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    if alpha < 0:
        raise ValueError("not this mistake")
    return I.sigmoid_focal_loss(inputs, targets, 1 - alpha, gamma, reduction)


def _grad_without_modulator_derivative(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """The factor (1 - p_t)^gamma treated as a constant weight."""
    x, y = np.asarray(inputs, dtype=float), np.asarray(targets, dtype=float)
    p = _sigmoid(x)
    grad = (p * (1 - y) + (1 - p) * y) ** gamma * (p - y)
    if alpha >= 0:
        grad = grad * (alpha * y + (1 - alpha) * (1 - y))
    return grad / grad.size if reduction == "mean" else grad


def _effective_number_unnormalized(counts, beta=0.999):
    n = np.asarray(counts, dtype=float)
    return (1 - beta) / (1 - beta**n)


def _normalized_to_one(counts, beta=0.999):
    w = I.class_balanced_weights(counts, beta)
    return w / w.sum()


def _inverse_frequency(counts, beta=0.999):
    n = np.asarray(counts, dtype=float)
    return (1 / n) * n.size / (1 / n).sum()


FOCAL_MISTAKES = (
    Mistake("alpha on the wrong class", "alpha weights the positives (target 1) and 1 - alpha the "
            "negatives; yours has them the other way round", _swapped_alpha),
    Mistake("(1 - p) instead of (1 - p_t)", "the modulating factor is (1 - p_t)^gamma, where p_t is "
            "the probability of the *true* label: p for a positive, 1 - p for a negative",
            _focal_with_p),
    Mistake("gamma ignored", "this is the alpha-weighted cross-entropy: multiply by (1 - p_t)^gamma",
            lambda inputs, targets, alpha=0.25, gamma=2.0, reduction="none":
                I.sigmoid_focal_loss(inputs, targets, alpha, 0.0, reduction)),
)

ASSIGNMENT = Assignment(
    notebook="06_imbalance",
    title="Losses for imbalanced classes",
    exercises=(
        Exercise(
            "sigmoid_focal_loss",
            I.sigmoid_focal_loss,
            (
                CaseGroup("defaults (reduction='none')", _focal_defaults, points=1),
                CaseGroup("alpha, gamma, mean and sum", _focal_reductions, points=1),
                CaseGroup("large logits", _focal_large, points=0.5,
                          probes="logits of ±50, correct and badly wrong"),
                CaseGroup("negative alpha turns weighting off", _focal_alpha_off, points=0.5,
                          probes="alpha=-1"),
                CaseGroup("gamma=0 is cross-entropy", _focal_gamma_zero, points=0.5, probes="gamma=0"),
                CaseGroup("float32 stays float32", _focal_float32, points=0.5, probes="float32 inputs"),
            ),
            mistakes=FOCAL_MISTAKES,
            summary="torchvision's sigmoid focal loss",
        ),
        Exercise(
            "sigmoid_focal_loss_grad",
            I.sigmoid_focal_loss_grad,
            (
                CaseGroup("defaults (reduction='none')", _focal_defaults, points=1),
                CaseGroup("alpha, gamma, mean and sum", _focal_reductions, points=1),
                CaseGroup("large logits", _focal_large, points=0.5,
                          probes="logits of ±50, correct and badly wrong"),
                CaseGroup("negative alpha turns weighting off", _focal_alpha_off, points=0.5,
                          probes="alpha=-1"),
                CaseGroup("gamma=0 is the cross-entropy gradient", _focal_gamma_zero, points=0.5,
                          probes="gamma=0"),
                CaseGroup("fractional gamma", _focal_fractional_gamma, points=0.5, probes="gamma=0.5"),
                CaseGroup("float32 stays float32", _focal_float32, points=0.5, probes="float32 inputs"),
            ),
            mistakes=(
                Mistake("modulating factor held constant", "(1 - p_t)^gamma depends on the logit "
                        "too: the product rule adds gamma (1 - p_t)^(gamma - 1) d(1 - p_t)/dx times "
                        "the cross-entropy", _grad_without_modulator_derivative),
                Mistake("mean ignored", "for reduction='mean' divide the gradient by the number of "
                        "elements",
                        lambda inputs, targets, alpha=0.25, gamma=2.0, reduction="none":
                            I.sigmoid_focal_loss_grad(inputs, targets, alpha, gamma, "sum")),
            ),
            summary="gradient of the focal loss with respect to the logits",
        ),
        Exercise(
            "class_balanced_weights",
            I.class_balanced_weights,
            (
                CaseGroup("two classes, 99 to 1", _weights_two, points=1),
                CaseGroup("several classes", _weights_many, points=1),
                CaseGroup("beta=0 gives equal weights", _weights_beta_zero, points=0.5),
                CaseGroup("zero counts", _weights_zero_counts, points=0.5, probes="classes with count 0"),
                CaseGroup("float32 stays float32", _weights_float32, points=0.5, probes="float32 counts"),
                CaseGroup("beta close to 1", _weights_near_one, points=0.5,
                          probes="beta=0.999999 with a million examples"),
            ),
            mistakes=(
                Mistake("not normalized", "the weights must be normalized to sum to the number of "
                        "classes", _effective_number_unnormalized),
                Mistake("normalized to 1", "normalize to sum to the number of classes (that occur), "
                        "not to 1", _normalized_to_one),
                Mistake("inverse frequency", "this is inverse frequency, the beta -> 1 limit; use the "
                        "effective number (1 - beta^n) / (1 - beta)", _inverse_frequency),
            ),
            summary="Cui et al.'s class-balanced weights from class counts",
        ),
        EXPERIMENTS["06_imbalance"],
    ),
    written=WRITTEN["06_imbalance"],
)
