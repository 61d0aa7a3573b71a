"""Checks for solutions/02_classification.ipynb: log-softmax, cross-entropy and its
gradient, binary cross-entropy on logits.

The learner's functions take simplified signatures (no ``weight``,
``ignore_index``, ``label_smoothing`` or ``pos_weight``); every case passes
``reduction`` by keyword, so the reference in :mod:`course.losses` is called
with exactly the same arguments and its defaults do the rest.
"""

from __future__ import annotations

import numpy as np

from course.losses import classification as K
from course.losses import log_softmax as reference_log_softmax

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake

REDUCTIONS = ("mean", "sum", "none")


# ------------------------------------------------------------ case makers
def _logits(rng, n=6, c=4, scale=3.0, dtype=np.float64):
    return rng.normal(0.0, scale, (n, c)).astype(dtype)


def _labels(rng, n=6, c=4):
    return rng.integers(0, c, n)


def _huge_logits(rng, n=5, c=3):
    """Rows holding +1e4, -1e4 and 0 in a random order: exp(1e4) overflows."""
    rows = np.array([rng.permutation([1e4, -1e4, 0.0]) for _ in range(n)])
    return rows if c == 3 else np.column_stack([rows, np.zeros((n, c - 3))])


def _softmax_batches(rng):
    return [Case((_logits(rng),), {}, "(6, 4) logits"),
            Case((_logits(rng, 3, 7, scale=10.0),), {}, "(3, 7) logits of scale 10")]


def _softmax_shapes(rng):
    return [Case((rng.normal(0, 2, 5),), {}, "a single vector of 5 logits"),
            Case((rng.normal(0, 2, (2, 3, 4)),), {}, "(2, 3, 4): classes on the last axis")]


def _softmax_huge(rng):
    return [Case((_huge_logits(rng),), {}, "logits of ±1e4"),
            Case((rng.normal(0, 1, (3, 4)) - 800.0,), {}, "every logit near -800")]


def _softmax_float32(rng):
    return [Case((_logits(rng, dtype=np.float32),), {}, "float32 logits")]


def _ce_reduction(reduction):
    def make(rng):
        return [Case((_logits(rng, n, c), _labels(rng, n, c)), {"reduction": reduction},
                     f"({n}, {c}) logits, reduction={reduction!r}")
                for n, c in ((6, 4), (3, 2))]
    return make


def _ce_sum_none(rng):
    return _ce_reduction("sum")(rng) + _ce_reduction("none")(rng)


def _ce_huge(rng):
    return [Case((_huge_logits(rng), _labels(rng, 5, 3)), {"reduction": r}, "logits of ±1e4")
            for r in ("mean", "none")]


def _ce_float32(rng):
    return [Case((_logits(rng, dtype=np.float32), _labels(rng)), {"reduction": r}, "float32 logits")
            for r in ("mean", "none")]


def _ce_out_of_range(rng):
    labels = _labels(rng)
    labels[rng.integers(0, 6)] = 4
    return [Case((_logits(rng), labels), {"reduction": "mean"}, "a target equal to C = 4")]


def _ce_bad_reduction(rng):
    return [Case((_logits(rng), _labels(rng)), {"reduction": "average"}, "reduction='average'")]


def _bce_binary(rng):
    x = rng.normal(0, 3, 8)
    return [Case((x, rng.integers(0, 2, 8).astype(float)), {"reduction": "mean"},
                 "8 logits with 0/1 targets")]


def _bce_multilabel(rng):
    x = rng.normal(0, 3, (4, 3))
    y = rng.integers(0, 2, (4, 3)).astype(float)
    return [Case((x, y), {"reduction": r}, f"(4, 3) multi-label, reduction={r!r}") for r in REDUCTIONS]


def _bce_soft(rng):
    x = rng.normal(0, 2, 6)
    return [Case((x, rng.uniform(0, 1, 6)), {"reduction": "none"}, "targets between 0 and 1")]


def _bce_huge(rng):
    x = rng.choice([-1.0, 1.0], size=6) * 1e4
    y = rng.integers(0, 2, 6).astype(float)
    return [Case((x, y), {"reduction": r}, "logits of ±1e4") for r in ("none", "mean")]


def _bce_float32(rng):
    x = rng.normal(0, 3, (3, 2)).astype(np.float32)
    y = rng.integers(0, 2, (3, 2)).astype(np.float32)
    return [Case((x, y), {"reduction": "mean"}, "float32 logits and targets")]


def _bce_bad_shape(rng):
    return [Case((rng.normal(size=(4, 3)), np.ones((4, 1))), {"reduction": "mean"},
                 "input (4, 3) vs target (4, 1)")]


# ------------------------------------------------------ classic mistakes
def _naive_log_softmax(x):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        e = np.exp(x)
        return np.log(e / e.sum(axis=-1, keepdims=True))


def _naive_softmax(x):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)


def _one_hot(target, classes):
    return np.eye(classes)[target]


def _ce_without_logsumexp(input, target, reduction="mean"):
    loss = -input[np.arange(len(target)), target]
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _ce_grad_unshifted(input, target, reduction="mean"):
    grad = _naive_softmax(input) - _one_hot(target, input.shape[1])
    return grad / len(target) if reduction == "mean" else grad


def _ce_grad_without_softmax(input, target, reduction="mean"):
    grad = input - _one_hot(target, input.shape[1])
    return grad / len(target) if reduction == "mean" else grad


def _ce_grad_over_all_entries(input, target, reduction="mean"):
    grad = K.cross_entropy_grad(input, target, reduction="sum")
    return grad / grad.size if reduction == "mean" else grad


def _bce_rows_summed(input, target, reduction="mean"):
    loss = K.binary_cross_entropy_with_logits(input, target, reduction="none")
    if reduction == "mean" and loss.ndim == 2:
        return loss.sum(axis=1).mean()
    return K.binary_cross_entropy_with_logits(input, target, reduction=reduction)


def _float32(name):
    return CaseGroup("float32 stays float32", name, points=0.5, probes="float32 inputs")


ASSIGNMENT = Assignment(
    notebook="02_classification",
    title="Classification losses",
    exercises=(
        Exercise(
            "log_softmax",
            reference_log_softmax,
            (
                CaseGroup("batches of logits", _softmax_batches, points=1),
                CaseGroup("any shape, classes on the last axis", _softmax_shapes, points=1),
                CaseGroup("huge logits stay finite", _softmax_huge, points=1,
                          probes="logits of ±1e4 and logits near -800"),
                _float32(_softmax_float32),
            ),
            mistakes=(
                Mistake("no max shift", "exp overflows or underflows: subtract each row's maximum "
                        "before exp, log p = x - max - log(sum(exp(x - max)))", _naive_log_softmax),
                Mistake("wrong axis", "normalised over axis 0; the classes are on the last axis "
                        "(use axis=-1 with keepdims=True)", lambda x: reference_log_softmax(x, axis=0)),
                Mistake("softmax", "these are the probabilities themselves; return their logarithm",
                        lambda x: np.exp(reference_log_softmax(x))),
            ),
            summary="stable log-softmax over the last axis",
        ),
        Exercise(
            "cross_entropy",
            K.cross_entropy,
            (
                CaseGroup("mean over a batch", _ce_reduction("mean"), points=1),
                CaseGroup("reduction='sum' and 'none'", _ce_sum_none, points=1),
                CaseGroup("huge logits stay finite", _ce_huge, points=1, probes="logits of ±1e4"),
                _float32(_ce_float32),
                CaseGroup("target out of range raises ValueError", _ce_out_of_range, points=0.5,
                          hidden=True, probes="a target index equal to the number of classes"),
            ),
            mistakes=(
                Mistake("no log-sum-exp", "this is minus the target's logit alone; the loss is "
                        "logsumexp(x) - x[target], the log-sum-exp term is missing",
                        _ce_without_logsumexp),
            ),
            summary="softmax cross-entropy for (N, C) logits and class indices",
        ),
        Exercise(
            "cross_entropy_grad",
            K.cross_entropy_grad,
            (
                CaseGroup("mean over a batch", _ce_reduction("mean"), points=1),
                CaseGroup("reduction='sum' and 'none'", _ce_sum_none, points=1),
                CaseGroup("huge logits stay finite", _ce_huge, points=1, probes="logits of ±1e4"),
                _float32(_ce_float32),
                CaseGroup("target out of range raises ValueError", _ce_out_of_range, points=0.5,
                          hidden=True, probes="a target index equal to the number of classes"),
            ),
            mistakes=(
                Mistake("not divided by N", "for reduction='mean' divide the gradient by N, the "
                        "number of rows (the loss is a mean over rows)",
                        lambda x, t, reduction="mean": K.cross_entropy_grad(x, t, reduction="sum")),
                Mistake("divided by N*C", "divide by N, the number of rows, not by N*C: the mean "
                        "is over samples, each of which already sums over its classes",
                        _ce_grad_over_all_entries),
                Mistake("sign flipped", "this is one-hot minus softmax; the gradient of the loss is "
                        "softmax(x) - one_hot(target)",
                        lambda x, t, reduction="mean": -K.cross_entropy_grad(x, t, reduction=reduction)),
                Mistake("softmax without max shift", "exp overflows: subtract each row's maximum "
                        "before exp when computing the softmax", _ce_grad_unshifted),
                Mistake("no softmax", "the gradient is softmax(x) - one_hot, not x - one_hot",
                        _ce_grad_without_softmax),
            ),
            summary="gradient of cross-entropy: (softmax - one-hot) / N",
        ),
        Exercise(
            "binary_cross_entropy_with_logits",
            K.binary_cross_entropy_with_logits,
            (
                CaseGroup("binary targets, mean", _bce_binary, points=1),
                CaseGroup("multi-label (N, C), all reductions", _bce_multilabel, points=1),
                CaseGroup("probabilities as targets", _bce_soft, points=0.5),
                CaseGroup("logits of ±1e4 (never compute sigmoid(x) first)", _bce_huge, points=1,
                          probes="logits of ±1e4"),
                _float32(_bce_float32),
            ),
            mistakes=(
                Mistake("opposite class", "this is the loss of the other class: sigmoid(x) is the "
                        "probability that the target is 1",
                        lambda x, y, reduction="mean": K.binary_cross_entropy_with_logits(
                            -x, y, reduction=reduction)),
                Mistake("rows summed", "'mean' averages over all N*C entries, not over rows of "
                        "summed labels", _bce_rows_summed),
            ),
            summary="binary cross-entropy on logits, stable for any finite logit",
        ),
        EXPERIMENTS["02_classification"],
    ),
    written=WRITTEN["02_classification"],
)
