"""Checks for solutions/10_generalization.ipynb: ECE, smoothed targets, generalized cross-entropy.

The learner's functions have the library's signatures:
``expected_calibration_error(probs, labels, n_bins=15)`` (top-label ECE; bin
``b`` holds confidences in ``(b/B, (b+1)/B]``, a confidence of 0 goes to bin
0; returns a float), ``smoothed_targets(target, num_classes, eps)`` (PyTorch's
label smoothing: ``(1 - eps) * onehot + eps / C``, float64) and
``generalized_cross_entropy(input, target, q=0.7, reduction="mean")`` on
logits, as :func:`course.losses.generalized_cross_entropy`.
"""

from __future__ import annotations

import numpy as np

from course.lessons import generalization as K
from course.losses import imbalance as I

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _probs(rng, n=40, classes=4, sharp=1.0, dtype=np.float64):
    """Random probability rows (no ties) and labels, roughly 70 % right."""
    p = rng.dirichlet(np.full(classes, sharp), size=n)
    right = rng.random(n) < 0.7
    labels = np.where(right, p.argmax(1), rng.integers(0, classes, n))
    return p.astype(dtype), labels


def _ece_basic(rng):
    return [Case(_probs(rng), {"n_bins": 10}, "40 rows, 4 classes, 10 bins"),
            Case(_probs(rng, 200, 10, 0.3), {}, "200 rows, 10 classes, default 15 bins")]


def _ece_bins(rng):
    p, y = _probs(rng, 60, 3)
    return [Case((p, y), {"n_bins": b}, f"n_bins={b}") for b in (1, 2, 5, 20)]


def _ece_empty_bins(rng):
    p, y = _probs(rng, 12, 3, 0.2)
    return [Case((p, y), {"n_bins": 50}, "50 bins for 12 rows (most bins empty)")]


def _ece_one_hot(rng):
    labels = rng.integers(0, 5, 30)
    p = np.eye(5)[rng.integers(0, 5, 30)]
    q, y = _probs(rng, 20, 5)
    return [Case((p, labels), {"n_bins": 10}, "one-hot rows: confidence exactly 1"),
            Case((np.vstack([p, q]), np.r_[labels, y]), {"n_bins": 7}, "some rows one-hot")]


def _ece_edges(rng):
    """Confidences exactly on bin edges (k/8, exact in binary): right-closed bins matter."""
    n = 24
    top = rng.choice([0.5, 0.625, 0.75, 0.875, 1.0], size=n)
    rest = (1.0 - top) / 2
    p = np.column_stack([top, rest, rest])
    for i in range(n):  # the top class anywhere in the row
        p[i] = np.roll(p[i], rng.integers(0, 3))
    labels = np.where(rng.random(n) < 0.6, p.argmax(1), rng.integers(0, 3, n))
    return [Case((p, labels), {"n_bins": b}, f"confidences of exactly k/8, n_bins={b}") for b in (4, 8)]


def _ece_float32(rng):
    return [Case(_probs(rng, dtype=np.float32), {"n_bins": 10}, "float32 probabilities")]


def _ece_bad(rng):
    p, y = _probs(rng, 10, 3)
    return [Case((p[0], y[:1]), {}, "probs of shape (3,) instead of (N, C)"),
            Case((p, y[:5]), {}, "labels (5,) for probs (10, 3)"),
            Case((p, y), {"n_bins": 0}, "n_bins=0")]


def _targets_basic(rng):
    y = rng.integers(0, 5, 8)
    return [Case((y, 5, 0.1), {}, "eight labels, 5 classes, eps=0.1"),
            Case((rng.integers(0, 10, 20), 10, 0.3), {}, "twenty labels, 10 classes, eps=0.3")]


def _targets_edges(rng):
    y = rng.integers(0, 4, 6)
    return [Case((y, 4, 0.0), {}, "eps=0: one-hot"), Case((y, 4, 1.0), {}, "eps=1: uniform"),
            Case((y, 7, 0.05), {}, "classes that never occur")]


def _targets_bad(rng):
    y = rng.integers(0, 4, 6)
    return [Case((y, 4, 1.5), {}, "eps=1.5"), Case((y, 4, -0.1), {}, "eps=-0.1"),
            Case((np.array([0, 4, 1]), 4, 0.1), {}, "a label equal to num_classes")]


def _logits(rng, n=8, classes=5, scale=2.0, dtype=np.float64):
    return rng.normal(0, scale, (n, classes)).astype(dtype), rng.integers(0, classes, n)


def _gce_basic(rng):
    return [Case(_logits(rng), {}, "default q=0.7, mean"),
            Case(_logits(rng, 6, 3), {"q": 0.3, "reduction": "none"}, "q=0.3, reduction='none'")]


def _gce_q(rng):
    return [Case(_logits(rng), {"q": q, "reduction": r}, f"q={q}, reduction={r!r}")
            for q, r in ((1.0, "sum"), (0.5, "mean"), (1e-6, "none"))]


def _gce_large(rng):
    x, y = _logits(rng, 6, 4)
    x[np.arange(6), y] += np.array([60.0, -60.0, 60.0, -60.0, 0.0, 40.0])
    return [Case((x * 10, y), {"reduction": "none"}, "logits in the hundreds, right and wrong"),
            Case((x, y), {"q": 0.01, "reduction": "none"}, "small q, large logits"),
            Case((x * 20, y), {"reduction": "none"}, "logits beyond ±1000: exp overflows unless shifted")]


def _gce_tiny_q(rng):
    return [Case(_logits(rng), {"q": q, "reduction": "none"}, f"q={q}: close to cross-entropy")
            for q in (1e-9, 1e-12)]


def _gce_float32(rng):
    return [Case(_logits(rng, dtype=np.float32), {"reduction": r}, f"float32, {r!r}")
            for r in ("none", "mean")]


def _gce_bad(rng):
    x, y = _logits(rng)
    return [Case((x, y), {"q": 0.0}, "q=0"), Case((x, y), {"q": 1.5}, "q=1.5"),
            Case((x, y[:3]), {}, "targets (3,) for logits (8, 5)")]


# ------------------------------------------------------ classic mistakes
def _ece_unweighted(probs, labels, n_bins=15):
    conf, ok = K.top_label(probs, labels)
    bins = K.reliability_bins(conf, ok, n_bins)
    used = bins["count"] > 0
    return float(np.mean(np.abs(bins["accuracy"][used] - bins["confidence"][used])))


def _ece_left_closed(probs, labels, n_bins=15):
    conf, ok = K.top_label(probs, labels)
    idx = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(ok[m].mean() - conf[m].mean())
    return float(total / conf.size)


def _ece_signed(probs, labels, n_bins=15):
    conf, ok = K.top_label(probs, labels)
    bins = K.reliability_bins(conf, ok, n_bins)
    used = bins["count"] > 0
    return float(abs(np.sum(bins["count"][used] * (bins["accuracy"][used]
                                                   - bins["confidence"][used])) / conf.size))


def _gce_one_minus_power(input, target, q=0.7, reduction="mean"):
    """(1 - p**q) / q computed literally: every digit cancels for tiny q."""
    x = np.asarray(input, dtype=float)
    log_p = x - x.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    p = np.exp(log_p[np.arange(len(target)), target])
    loss = (1 - p**q) / q
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _targets_over_others(target, num_classes, eps):
    out = np.full((len(target), num_classes), eps / (num_classes - 1))
    out[np.arange(len(target)), target] = 1 - eps
    return out


def _gce_on_log(input, target, q=0.7, reduction="mean"):
    """(1 - log p)^q-style slip: q applied to -log p instead of p."""
    x = np.asarray(input, dtype=float)
    log_p = x - x.max(1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(1, keepdims=True))
    loss = (-log_p[np.arange(len(target)), target]) ** q / q
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


ASSIGNMENT = Assignment(
    notebook="10_generalization",
    title="Generalization: calibration, label smoothing, robust losses",
    exercises=(
        Exercise(
            "expected_calibration_error",
            K.expected_calibration_error,
            (
                CaseGroup("ordinary predictions", _ece_basic, points=1),
                CaseGroup("different numbers of bins", _ece_bins, points=1),
                CaseGroup("confidences on a bin edge", _ece_edges, points=1,
                          probes="confidences of exactly k/8 with 4 and 8 bins"),
                CaseGroup("empty bins add nothing", _ece_empty_bins, points=0.5,
                          probes="many more bins than rows"),
                CaseGroup("confidence exactly 1", _ece_one_hot, points=0.5,
                          probes="one-hot probability rows"),
                CaseGroup("float32 probabilities", _ece_float32, points=0.5, probes="float32 input"),
            ),
            mistakes=(
                Mistake("bins not weighted", "weight each bin's gap by its share of the rows, "
                        "n_b / N, instead of averaging the bins equally", _ece_unweighted),
                Mistake("signed gaps", "take the absolute value of each bin's gap before "
                        "summing: over- and under-confident bins must not cancel", _ece_signed),
                Mistake("left-closed bins", "bins are closed on the right: (b/B, (b+1)/B]; "
                        "floor(B c) puts a confidence of exactly b/B one bin too high",
                        _ece_left_closed),
            ),
            summary="top-label expected calibration error with equal-width bins",
        ),
        Exercise(
            "smoothed_targets",
            K.smoothed_targets,
            (
                CaseGroup("ordinary labels", _targets_basic, points=1),
                CaseGroup("eps=0, eps=1, unused classes", _targets_edges, points=1),
                CaseGroup("bad input raises ValueError", _targets_bad, points=0.5, hidden=True,
                          probes="eps outside [0, 1] and a label out of range"),
            ),
            mistakes=(
                Mistake("eps spread over the other classes", "PyTorch spreads eps over all C "
                        "classes, the true one included: (1 - eps) * onehot + eps / C",
                        _targets_over_others),
            ),
            summary="label-smoothed target rows, PyTorch's convention",
        ),
        Exercise(
            "generalized_cross_entropy",
            I.generalized_cross_entropy,
            (
                CaseGroup("defaults and reduction='none'", _gce_basic, points=1),
                CaseGroup("q from tiny to 1, every reduction", _gce_q, points=1),
                CaseGroup("tiny q keeps its digits", _gce_tiny_q, points=0.5, rtol=1e-6, atol=0.0,
                          probes="q of 1e-9 and 1e-12"),
                CaseGroup("extreme logits", _gce_large, points=0.5,
                          probes="logits in the hundreds and a small q"),
                CaseGroup("float32 stays float32", _gce_float32, points=0.5, probes="float32 logits"),
                CaseGroup("bad input raises ValueError", _gce_bad, points=0.5, hidden=True,
                          probes="q outside (0, 1] and mismatched shapes"),
            ),
            mistakes=(
                Mistake("1 - p**q cancels", "for tiny q, p**q is 1 to the last digit and 1 - p**q "
                        "cancels: write 1 - p^q = -expm1(q * log p) with log p from the log-sum-exp "
                        "trick", _gce_one_minus_power),
                Mistake("q on the log-likelihood", "the loss is (1 - p_y^q) / q with p_y the "
                        "softmax probability of the label, not a power of -log p_y", _gce_on_log),
            ),
            summary="generalized cross-entropy (1 - p_y^q) / q on logits",
        ),
        EXPERIMENTS["10_generalization"],
    ),
    written=WRITTEN["10_generalization"],
)
