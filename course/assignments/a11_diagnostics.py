"""Checks for solutions/11_diagnostics.ipynb: EMA smoothing, per-example loss, precision@k.

The learner's functions have the library's signatures (references in
:mod:`course.lessons.diagnostics`):

* ``ema_smooth(values, beta=0.9)``: the bias-corrected exponential moving
  average ``m_t = beta m_{t-1} + (1 - beta) x_t`` (``m_0 = 0``), returned as
  ``m_t / (1 - beta**t)``; float32 stays float32; ``beta`` outside [0, 1) or
  values that are not 1-D raise ValueError;
* ``per_example_cross_entropy(logits, labels)``: (N, C) logits and integer
  labels (N,) give the (N,) softmax cross-entropies, stable for large logits;
* ``precision_at_k(scores, is_flipped, k)``: the fraction of flipped examples
  among the ``k`` highest scores (ties: lower index first).
"""

from __future__ import annotations

import numpy as np

from course.lessons import diagnostics as D

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _ema_public(rng):
    values = 2.0 + np.cumsum(rng.normal(0, 0.3, 25))
    return [Case((values,), {"beta": 0.9}, "25 noisy values, beta=0.9"),
            Case((values,), {"beta": 0.5}, "the same values, beta=0.5"),
            Case((rng.uniform(0, 3, 12),), {}, "default beta")]


def _ema_beta_zero(rng):
    return [Case((rng.normal(size=7),), {"beta": 0.0}, "beta=0 returns the values")]


def _ema_constant(rng):
    return [Case((np.full(30, rng.uniform(0.5, 3.0)),), {"beta": 0.95}, "a constant sequence, beta=0.95"),
            Case((rng.uniform(1, 5, 1),), {"beta": 0.99}, "a single value")]


def _ema_float32(rng):
    return [Case((rng.uniform(0, 2, 10).astype(np.float32),), {"beta": 0.8}, "float32 values")]


def _ema_bad(rng):
    return [Case((np.ones(5),), {"beta": 1.0}, "beta=1"),
            Case((np.ones(5),), {"beta": -0.2}, "beta=-0.2"),
            Case((np.ones((2, 3)),), {"beta": 0.5}, "2-D values")]


def _ce_cases(rng, n, c, scale=2.0, dtype=np.float64):
    return (rng.normal(0, scale, (n, c)).astype(dtype), rng.integers(0, c, n))


def _ce_public(rng):
    return [Case(_ce_cases(rng, 5, 3), {}, "5 examples, 3 classes"),
            Case(_ce_cases(rng, 8, 10), {}, "8 examples, 10 classes")]


def _ce_large(rng):
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 999.0], [-800.0, -800.0, 800.0]])
    logits += rng.integers(-5, 6, logits.shape)
    return [Case((logits, np.array([2, 1, 0])), {}, "logits of ±1000, right and wrong")]


def _ce_float32(rng):
    return [Case(_ce_cases(rng, 6, 4, dtype=np.float32), {}, "float32 logits")]


def _ce_bad(rng):
    logits = rng.normal(size=(4, 3))
    return [Case((logits, np.array([0, 1, 3, 2])), {}, "a label equal to C"),
            Case((logits, np.array([0, 1, 2])), {}, "3 labels for 4 rows"),
            Case((logits[0], np.array([1])), {}, "1-D logits")]


def _p_at_k_public(rng):
    order = rng.permutation(6)
    scores = (np.array([0.1, 2.5, 0.3, 1.7, 0.2, 3.0]) + rng.integers(0, 5))[order]
    flipped = np.array([False, True, False, False, False, True])[order]
    cases = [Case((scores, flipped, 2), {}, "six scores, k=2"),
             Case((scores, flipped, 3), {}, "six scores, k=3")]
    flipped = rng.uniform(size=40) < 0.25
    scores = rng.normal(size=40) + 1.5 * flipped
    cases.append(Case((scores, flipped, int(flipped.sum())), {}, "40 examples, k = number flipped"))
    return cases


def _p_at_k_ties(rng):
    scores = np.array([1.0, 2.0, 2.0, 2.0, 0.5]) + rng.uniform(0, 10)  # ties stay ties
    flipped = np.array([True, False, True, True, False])
    return [Case((scores, flipped, 2), {}, "three tied top scores, k=2"),
            Case((scores, flipped, 1), {}, "three tied top scores, k=1")]


def _p_at_k_edges(rng):
    flipped = (rng.uniform(size=12) < 0.3).astype(int)
    return [Case((rng.normal(size=12), flipped, 12), {}, "k = N, 0/1 flags"),
            Case((rng.normal(size=12), flipped, 1), {}, "k = 1")]


def _p_at_k_bad(rng):
    scores, flipped = rng.normal(size=6), np.zeros(6, dtype=bool)
    return [Case((scores, flipped, 0), {}, "k=0"),
            Case((scores, flipped, 7), {}, "k > N"),
            Case((scores, flipped[:5], 2), {}, "is_flipped of another length")]


# ------------------------------------------------------ classic mistakes
def _ema_uncorrected(values, beta=0.9):
    out, m = [], 0.0
    for value in np.asarray(values, dtype=float):
        m = beta * m + (1 - beta) * value
        out.append(m)
    return np.array(out)


def _ema_started_at_first(values, beta=0.9):
    x = np.asarray(values, dtype=float)
    out, m = [], x[0]
    for value in x:
        m = beta * m + (1 - beta) * value
        out.append(m)
    return np.array(out)


def _ema_swapped(values, beta=0.9):
    return D.ema_smooth(values, 1 - beta) if 0 < beta <= 1 else D.ema_smooth(values, beta)


def _ce_mean(logits, labels):
    return D.per_example_cross_entropy(logits, labels).mean()


def _ce_probability(logits, labels):
    return np.exp(-D.per_example_cross_entropy(logits, labels))


def _p_at_k_lowest(scores, is_flipped, k):
    return D.precision_at_k(-np.asarray(scores, dtype=float), is_flipped, k)


def _recall_at_k(scores, is_flipped, k):
    n_flipped = max(int(np.sum(is_flipped)), 1)
    return D.precision_at_k(scores, is_flipped, k) * k / n_flipped


ASSIGNMENT = Assignment(
    notebook="11_diagnostics",
    title="Diagnosing training from its losses",
    exercises=(
        Exercise(
            "ema_smooth",
            D.ema_smooth,
            (
                CaseGroup("noisy sequences", _ema_public, points=1),
                CaseGroup("beta=0 changes nothing", _ema_beta_zero, points=0.5),
                CaseGroup("constants stay constant", _ema_constant, points=0.5,
                          probes="a constant sequence and a single value"),
                CaseGroup("float32 stays float32", _ema_float32, points=0.5, probes="float32 values"),
            ),
            mistakes=(
                Mistake("no bias correction", "divide m_t by 1 - beta**t: without it the curve "
                        "starts near 0 and creeps up", _ema_uncorrected),
                Mistake("started at the first value", "start from m_0 = 0 and correct by "
                        "1 / (1 - beta**t); starting at x_1 weighs the first value too much",
                        _ema_started_at_first),
                Mistake("beta and 1 - beta swapped", "beta is the weight of the past: "
                        "m_t = beta m_(t-1) + (1 - beta) x_t", _ema_swapped),
            ),
            summary="bias-corrected exponential moving average of a loss curve",
        ),
        Exercise(
            "per_example_cross_entropy",
            D.per_example_cross_entropy,
            (
                CaseGroup("random logits", _ce_public, points=1),
                CaseGroup("large logits", _ce_large, points=0.5, probes="logits of ±1000"),
                CaseGroup("float32 stays float32", _ce_float32, points=0.5, probes="float32 logits"),
            ),
            mistakes=(
                Mistake("averaged", "return one loss per example (shape (N,)), not their mean",
                        _ce_mean),
                Mistake("probability instead of loss", "the loss is -log p of the label, not p",
                        _ce_probability),
            ),
            summary="softmax cross-entropy of each example (log-sum-exp)",
        ),
        Exercise(
            "precision_at_k",
            D.precision_at_k,
            (
                CaseGroup("small rankings", _p_at_k_public, points=1),
                CaseGroup("ties: lower index first", _p_at_k_ties, points=0.5, probes="tied scores"),
                CaseGroup("k = N and k = 1", _p_at_k_edges, points=0.5, probes="k at its limits, 0/1 flags"),
            ),
            mistakes=(
                Mistake("lowest scores first", "rank from the highest score down: a high loss "
                        "is the suspicious one", _p_at_k_lowest),
                Mistake("recall instead of precision", "divide the flipped examples found by k, "
                        "not by the number of flipped examples", _recall_at_k),
            ),
            summary="share of flipped labels among the k highest-scoring examples",
        ),
        EXPERIMENTS["11_diagnostics"],
    ),
    written=WRITTEN["11_diagnostics"],
)
