"""Checks for solutions/12_choosing_a_loss.ipynb: turning error costs into a loss or a decision.

The learner's functions have the signatures of :mod:`course.lessons.choosing`:
``quantile_for_costs(under_cost, over_cost)``, ``bayes_threshold(cost_fp,
cost_fn)``, ``pos_weight_for_costs(cost_fp, cost_fn)`` (costs > 0, scalars or
arrays that broadcast; anything else raises ``ValueError``) and
``expected_cost(probs, y, cost_fp, cost_fn, threshold)`` (mean cost per
example of flagging ``probs >= threshold``).
"""

from __future__ import annotations

import numpy as np

from course.lessons import choosing as C

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _cost_pairs(rng):
    """Scalar cost pairs, one of each order of magnitude, drawn fresh each time."""
    a = rng.uniform(0.5, 5.0, 3) * np.array([1.0, 10.0, 0.1])
    b = rng.uniform(0.5, 5.0, 3) * np.array([1.0, 0.1, 100.0])
    return [Case((float(x), float(y)), {}, f"costs {x:.3g} and {y:.3g}") for x, y in zip(a, b)]


def _cost_equal(rng):
    c = float(rng.uniform(0.1, 10.0))
    return [Case((c, c), {}, "equal costs")]


def _cost_arrays(rng):
    return [Case((rng.uniform(0.1, 10.0, 5), rng.uniform(0.1, 10.0, 5)), {}, "arrays of 5 cost pairs"),
            Case((rng.uniform(0.1, 10.0, (3, 1)), float(rng.uniform(1.0, 2.0))), {},
                 "a (3, 1) array against a scalar")]


def _cost_extreme(rng):
    big = float(10 ** rng.uniform(8, 10))
    return [Case((1.0, big), {}, "a ratio of 1e8 or more"), Case((big, 1.0), {}, "the other way round")]


def _cost_bad(rng):
    c = float(rng.uniform(1.0, 5.0))
    return [Case((0.0, c), {}, "a zero cost"), Case((c, -1.0), {}, "a negative cost"),
            Case((np.nan, c), {}, "a NaN cost")]


def _screen(rng, n=40, prevalence=0.2):
    y = (rng.random(n) < prevalence).astype(float)
    y[0], y[-1] = 1.0, 0.0
    probs = np.clip(0.5 * y + rng.uniform(0, 0.6, n), 0.0, 1.0)
    return probs, y


def _expected_basic(rng):
    probs, y = _screen(rng)
    return [Case((probs, y, 1.0, 5.0, 0.5), {}, "costs 1 and 5, threshold 0.5"),
            Case((probs, y, 2.0, 30.0, float(rng.uniform(0.05, 0.3))), {}, "a low threshold")]


def _expected_costs(rng):
    probs, y = _screen(rng, n=60)
    return [Case((probs, y, float(rng.uniform(0.5, 3)), float(rng.uniform(5, 50)), t), {},
                 f"threshold {t}") for t in (0.1, 0.5, 0.9)]


def _expected_ties(rng):
    order = rng.permutation(5)
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])[order]
    probs = np.array([0.3, 0.3, 0.7, 0.1, 0.9])[order]
    return [Case((probs, y, 1.0, 10.0, 0.3), {}, "probabilities exactly at the threshold (flagged)")]


def _expected_extremes(rng):
    probs, y = _screen(rng)
    return [Case((probs, y, 1.0, 50.0, 0.0), {}, "threshold 0: flag everyone"),
            Case((probs, y, 1.0, 50.0, 1.01), {}, "threshold above 1: flag nobody")]


def _expected_bad(rng):
    probs, y = _screen(rng, n=6)
    return [Case((probs, y[:-1], 1.0, 5.0, 0.5), {}, "probs and y of different lengths"),
            Case((probs, y, 0.0, 5.0, 0.5), {}, "a zero cost"),
            Case((probs, y * 2, 1.0, 5.0, 0.5), {}, "labels that are not 0/1")]


# ------------------------------------------------------ classic mistakes
def _flipped(first, second):
    return C.quantile_for_costs(second, first)


def _ratio(first, second):
    return np.asarray(first, dtype=float) / np.asarray(second, dtype=float)


def _inverse_ratio(first, second):
    return np.asarray(second, dtype=float) / np.asarray(first, dtype=float)


def _total_cost(probs, y, cost_fp, cost_fn, threshold):
    return C.expected_cost(probs, y, cost_fp, cost_fn, threshold) * len(np.asarray(y))


def _swapped_costs(probs, y, cost_fp, cost_fn, threshold):
    return C.expected_cost(probs, y, cost_fn, cost_fp, threshold)


def _strict(probs, y, cost_fp, cost_fn, threshold):
    return C.expected_cost(probs, y, cost_fp, cost_fn, np.nextafter(threshold, np.inf))


def _mean_over_errors(probs, y, cost_fp, cost_fn, threshold):
    p, t = np.asarray(probs), np.asarray(y)
    flagged = p >= threshold
    errors = np.sum(flagged & (t == 0)) + np.sum(~flagged & (t == 1))
    total = cost_fp * np.sum(flagged & (t == 0)) + cost_fn * np.sum(~flagged & (t == 1))
    return total / max(errors, 1)


def _shared_groups(what):
    return (
        CaseGroup("scalar costs", _cost_pairs, points=1),
        CaseGroup("equal costs", _cost_equal, points=0.5),
        CaseGroup("arrays of costs broadcast", _cost_arrays, points=0.5, hidden=True,
                  probes="arrays of costs, and an array against a scalar"),
        CaseGroup("extreme cost ratios", _cost_extreme, points=0.5, hidden=True,
                  probes=f"{what} with costs 1e8 times apart"),
        CaseGroup("bad costs raise ValueError", _cost_bad, points=0.5, hidden=True,
                  probes="a zero, a negative and a NaN cost"),
    )


ASSIGNMENT = Assignment(
    notebook="12_choosing_a_loss",
    title="Choosing a loss: costs into numbers",
    exercises=(
        Exercise(
            "quantile_for_costs",
            C.quantile_for_costs,
            _shared_groups("the quantile level"),
            mistakes=(
                Mistake("costs swapped", "this is the over-stock share: a unit short costs "
                        "under_cost, so q = under / (under + over) leans towards under-forecast "
                        "costs", _flipped),
                Mistake("a ratio, not a share", "q must lie in (0, 1): divide by the sum of the "
                        "two costs, not by one of them", _ratio),
            ),
            summary="the pinball level that matches two forecast costs",
        ),
        Exercise(
            "bayes_threshold",
            C.bayes_threshold,
            _shared_groups("the threshold"),
            mistakes=(
                Mistake("costs swapped", "flagging costs cost_fp with probability 1 - p, passing "
                        "costs cost_fn with probability p; they balance at "
                        "p = cost_fp / (cost_fp + cost_fn)", _flipped),
                Mistake("a ratio, not a probability", "the threshold is a probability: "
                        "cost_fp / (cost_fp + cost_fn), not cost_fp / cost_fn", _ratio),
            ),
            summary="the probability above which flagging is cheaper",
        ),
        Exercise(
            "pos_weight_for_costs",
            C.pos_weight_for_costs,
            _shared_groups("the weight"),
            mistakes=(
                Mistake("inverted", "the positives (whose miss costs cost_fn) get the larger "
                        "weight: cost_fn / cost_fp", _ratio),
                Mistake("the threshold instead", "this is the Bayes threshold; the weight that "
                        "moves 0.5 there is cost_fn / cost_fp",
                        lambda a, b: C.bayes_threshold(a, b)),
            ),
            summary="the pos_weight that moves 0.5 to the Bayes threshold",
        ),
        Exercise(
            "expected_cost",
            C.expected_cost,
            (
                CaseGroup("a screen at two thresholds", _expected_basic, points=1),
                CaseGroup("several costs and thresholds", _expected_costs, points=1),
                CaseGroup("ties at the threshold are flagged", _expected_ties, points=0.5,
                          hidden=True, probes="probabilities exactly equal to the threshold"),
                CaseGroup("flag everyone, flag nobody", _expected_extremes, points=0.5, hidden=True,
                          probes="thresholds 0 and above 1"),
                CaseGroup("bad input raises ValueError", _expected_bad, points=0.5, hidden=True,
                          probes="lengths that differ, a zero cost, labels other than 0/1"),
            ),
            mistakes=(
                Mistake("total, not mean", "return the mean cost per example: divide the total "
                        "by the number of examples", _total_cost),
                Mistake("costs swapped", "a false alarm (flagged, y = 0) costs cost_fp and a miss "
                        "(not flagged, y = 1) cost_fn; yours has them the other way round",
                        _swapped_costs),
                Mistake("divided by the errors", "divide by all the examples, not by the number "
                        "of errors", _mean_over_errors),
                Mistake("strict inequality", "flag when probs >= threshold: a probability equal "
                        "to the threshold is flagged", _strict),
            ),
            summary="mean cost per example of a thresholded screen",
        ),
        EXPERIMENTS["12_choosing_a_loss"],
    ),
    written=WRITTEN["12_choosing_a_loss"],
)
