"""Checks for solutions/07_surrogates.ipynb: soft IoU loss, its gradient, hard IoU.

The learner's ``soft_jaccard_loss`` and ``soft_jaccard_loss_grad`` have the
library's signatures ``(input, target, eps=1e-7, reduction="mean")``; their
``iou`` is ``course.metrics.iou`` without ``zero_division`` (cases never pass
it, so the reference uses its default of 1.0: an empty prediction of an empty
target is a perfect score).
"""

from __future__ import annotations

import numpy as np

from course import metrics
from course.losses import surrogates as S

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ case makers
def _maps(rng, shape=(4, 5, 5), share=0.3, dtype=np.float64):
    """Probabilities and a 0/1 target of one shape, the target never empty."""
    p = rng.uniform(0.0, 1.0, shape).astype(dtype)
    t = (rng.uniform(size=shape) < share).astype(dtype)
    t.reshape(shape[0], -1)[:, 0] = 1
    return p, t


def _soft_mean(rng):
    return [Case(_maps(rng), {"reduction": "mean"}, "(4, 5, 5) probability maps"),
            Case(_maps(rng, (3, 8)), {"reduction": "mean"}, "(3, 8): three samples of 8 pixels")]


def _soft_sum_none(rng):
    return [Case(_maps(rng, (3, 4, 4)), {"reduction": r}, f"reduction={r!r}")
            for r in ("sum", "none")]


def _soft_shapes(rng):
    return [Case(_maps(rng, (2, 3, 4, 2)), {"reduction": "none"}, "(2, 3, 4, 2): 4-D maps"),
            Case(_maps(rng, (5,)), {"reduction": "none"}, "(5,): five samples of one pixel")]


def _soft_eps(rng):
    return [Case(_maps(rng, (3, 6)), {"eps": 1.0, "reduction": "none"}, "eps=1 (the 'smooth' term)")]


def _soft_empty(rng):
    p = rng.uniform(0.0, 0.4, (3, 4, 4))
    t = np.zeros((3, 4, 4))
    p[0] = 0.0  # prediction and target empty: a perfect score
    return [Case((p, t), {"reduction": "none"}, "empty targets, one empty prediction"),
            Case((np.zeros(shape := (int(rng.integers(1, 5)), int(rng.integers(4, 40)))), np.zeros(shape)),
                 {"reduction": "mean"}, "all empty")]


def _soft_all_ones(rng):
    t = np.ones((3, 5))
    p = rng.uniform(0.2, 1.0, (3, 5))
    p[0] = 1.0
    return [Case((p, t), {"reduction": "none"}, "all-object targets")]


def _soft_float32(rng):
    return [Case(_maps(rng, dtype=np.float32), {"reduction": r}, "float32 inputs")
            for r in ("mean", "none")]


def _soft_binary(rng):
    p = (rng.uniform(size=(4, 6, 6)) < 0.3).astype(float)
    _, t = _maps(rng, (4, 6, 6))
    p[1] = t[1]  # one perfect prediction
    return [Case((p, t), {"reduction": "none"}, "predictions of exactly 0 and 1")]


def _soft_bad_shape(rng):
    return [Case((rng.uniform(size=(3, 4)), np.ones((3, 1))), {"reduction": "mean"},
                 "input (3, 4) vs target (3, 1)")]


def _scores(rng, shape=(4, 6, 6), dtype=np.float64):
    p = rng.uniform(0.0, 1.0, shape).astype(dtype)
    t = (rng.uniform(size=shape) < 0.35).astype(np.int64)
    return p, t


def _iou_flat(rng):
    return [Case(_scores(rng), {}, "(4, 6, 6) probabilities, all pixels counted together"),
            Case(_scores(rng, (30,)), {"threshold": 0.3}, "30 probabilities, threshold 0.3")]


def _iou_per_sample(rng):
    return [Case(_scores(rng), {"per_sample": True}, "per_sample=True: one IoU per image"),
            Case(_scores(rng, (3, 2, 2, 3)), {"per_sample": True, "threshold": 0.6},
                 "(3, 2, 2, 3) maps, per sample, threshold 0.6")]


def _iou_logits(rng):
    z = rng.normal(0.0, 2.0, (5, 8))
    t = (rng.uniform(size=(5, 8)) < 0.4).astype(float)
    return [Case((z, t), {"threshold": 0.0, "per_sample": True}, "logits, threshold=0")]


def _iou_at_threshold(rng):
    p = rng.choice([0.2, 0.5, 0.8], size=(3, 10))
    t = (rng.uniform(size=(3, 10)) < 0.5).astype(float)
    return [Case((p, t), {"per_sample": True}, "probabilities of exactly 0.5")]


def _iou_empty(rng):
    p = rng.uniform(0.0, 0.45, (4, 5, 5))
    t = (rng.uniform(size=(4, 5, 5)) < 0.3).astype(float)
    t[0] = 0.0            # nothing to find, nothing predicted: IoU 1
    t[1] = 0.0
    p[1, 2, 2] = 0.9      # nothing to find, one false alarm: IoU 0
    return [Case((p, t), {"per_sample": True}, "empty masks, per sample"),
            Case((p[:1], t[:1]), {}, "an empty prediction of an empty target")]


def _iou_all_ones(rng):
    p = rng.uniform(0.3, 1.0, (3, 4, 4))
    p[0] = 1.0
    return [Case((p, np.ones((3, 4, 4))), {"per_sample": True}, "all-object targets"),
            Case((np.ones((2, n := int(rng.integers(3, 8)))), np.ones((2, n))), {},
                 "everything predicted, everything object")]


def _iou_float32(rng):
    p, t = _scores(rng, dtype=np.float32)
    return [Case((p, t.astype(np.float32)), {"per_sample": r}, "float32 inputs")
            for r in (False, True)]


def _iou_binary(rng):
    p, t = _scores(rng)
    return [Case(((p < 0.3).astype(np.int64), t), {"per_sample": True},
                 "0/1 integer predictions")]


def _iou_bad_shape(rng):
    return [Case((rng.uniform(size=(4, 3)), np.ones((4, 1))), {}, "pred (4, 3) vs target (4, 1)")]


# ------------------------------------------------------ classic mistakes
def _flat(input, target):
    p, t = np.asarray(input), np.asarray(target)
    n = p.shape[0]
    return p.reshape(n, -1), t.reshape(n, -1)


def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _jaccard_eps_below(input, target, eps=1e-7, reduction="mean"):
    p, t = _flat(input, target)
    i = (p * t).sum(1)
    return _reduce(1 - i / (p.sum(1) + t.sum(1) - i + eps), reduction)


def _jaccard_no_minus(input, target, eps=1e-7, reduction="mean"):
    p, t = _flat(input, target)
    i = (p * t).sum(1)
    return _reduce(1 - (i + eps) / (p.sum(1) + t.sum(1) + eps), reduction)


def _jaccard_whole_batch(input, target, eps=1e-7, reduction="mean"):
    p, t = np.asarray(input), np.asarray(target)
    i = (p * t).sum()
    return 1 - (i + eps) / (p.sum() + t.sum() - i + eps)


def _grad_no_batch_mean(input, target, eps=1e-7, reduction="mean"):
    return S.soft_jaccard_loss_grad(input, target, eps, reduction="sum")


def _grad_over_elements(input, target, eps=1e-7, reduction="mean"):
    grad = S.soft_jaccard_loss_grad(input, target, eps, reduction="sum")
    return grad / grad.size if reduction == "mean" else grad


def _grad_of_eps_below(input, target, eps=1e-7, reduction="mean"):
    p, t = _flat(input, target)
    i = (p * t).sum(1, keepdims=True)
    u = p.sum(1, keepdims=True) + t.sum(1, keepdims=True) - i + eps
    grad = -(t * u - i * (1 - t)) / u**2
    grad = grad.reshape(np.shape(input))
    return grad / len(p) if reduction == "mean" else grad


def _iou_strict(pred, target, threshold=0.5, per_sample=False):
    return metrics.iou(np.asarray(pred) > threshold, target, 0.5, per_sample)


def _iou_empty_zero(pred, target, threshold=0.5, per_sample=False):
    return metrics.iou(pred, target, threshold, per_sample, zero_division=0.0)


def _iou_per_sample_mean(pred, target, threshold=0.5, per_sample=False):
    scores = metrics.iou(pred, target, threshold, per_sample=True)
    return scores if per_sample else float(np.mean(scores))


def _iou_pooled(pred, target, threshold=0.5, per_sample=False):
    return metrics.iou(pred, target, threshold, per_sample=False)


def _float32(name):
    return CaseGroup("float32 inputs", name, points=0.5, probes="float32 inputs")


ASSIGNMENT = Assignment(
    notebook="07_surrogates",
    title="Surrogate losses: soft IoU and hard IoU",
    exercises=(
        Exercise(
            "soft_jaccard_loss",
            S.soft_jaccard_loss,
            (
                CaseGroup("mean over a batch of maps", _soft_mean, points=1),
                CaseGroup("reduction='sum' and 'none'", _soft_sum_none, points=1),
                CaseGroup("any number of non-batch axes", _soft_shapes, points=0.5),
                CaseGroup("eps on top and bottom", _soft_eps, points=0.5),
                CaseGroup("shape mismatch raises ValueError", _soft_bad_shape, points=0.5),
                CaseGroup("empty masks", _soft_empty, points=1,
                          probes="empty targets, with empty and non-empty predictions"),
                CaseGroup("all-object masks", _soft_all_ones, points=0.5,
                          probes="targets that are object everywhere"),
                _float32(_soft_float32),
                CaseGroup("predictions of exactly 0 and 1", _soft_binary, points=0.5,
                          probes="0/1 predictions (the soft loss is then 1 - hard IoU)"),
            ),
            mistakes=(
                Mistake("eps only below", "an empty prediction of an empty target should lose 0: "
                        "add eps to the intersection as well as to the union",
                        _jaccard_eps_below),
                Mistake("union without the intersection", "the union is sum(p) + sum(t) - "
                        "sum(p*t); without the subtraction the score is half the Dice",
                        _jaccard_no_minus),
                Mistake("one score for the batch", "compute one score per sample (sum over every "
                        "axis except the first), then reduce over the batch",
                        _jaccard_whole_batch),
                Mistake("Dice", "this is the soft Dice loss (2I / (P + T)); the IoU divides I by "
                        "the union P + T - I", S.soft_dice_loss),
                Mistake("score, not loss", "this is the soft IoU itself; the loss is 1 - IoU",
                        lambda *a, **k: 1 - S.soft_jaccard_loss(*a, **k)),
            ),
            summary="soft IoU loss, one score per sample, eps on top and bottom",
        ),
        Exercise(
            "soft_jaccard_loss_grad",
            S.soft_jaccard_loss_grad,
            (
                CaseGroup("mean over a batch of maps", _soft_mean, points=1),
                CaseGroup("reduction='sum' and 'none'", _soft_sum_none, points=1),
                CaseGroup("any number of non-batch axes", _soft_shapes, points=0.5),
                CaseGroup("eps on top and bottom", _soft_eps, points=0.5),
                CaseGroup("empty masks", _soft_empty, points=1,
                          probes="empty targets, with empty and non-empty predictions"),
                CaseGroup("all-object masks", _soft_all_ones, points=0.5,
                          probes="targets that are object everywhere"),
                _float32(_soft_float32),
                CaseGroup("predictions of exactly 0 and 1", _soft_binary, points=0.5,
                          probes="0/1 predictions"),
            ),
            mistakes=(
                Mistake("not divided by N", "for reduction='mean' divide by N, the number of "
                        "samples (the loss is a mean of per-sample losses)", _grad_no_batch_mean),
                Mistake("divided by every element", "divide by N, the number of samples, not by "
                        "the number of elements", _grad_over_elements),
                Mistake("sign flipped", "this is the gradient of the score J; the loss is 1 - J",
                        lambda *a, **k: -S.soft_jaccard_loss_grad(*a, **k)),
                Mistake("eps only below", "differentiate (I + eps) / (U + eps): eps belongs in the "
                        "numerator too", _grad_of_eps_below),
            ),
            summary="gradient of the soft IoU loss: (J - t (1 + J)) / (U + eps), per sample",
        ),
        Exercise(
            "iou",
            metrics.iou,
            (
                CaseGroup("all pixels counted together", _iou_flat, points=1),
                CaseGroup("per_sample=True", _iou_per_sample, points=1),
                CaseGroup("logits with threshold 0", _iou_logits, points=0.5),
                CaseGroup("a score equal to the threshold counts as object", _iou_at_threshold,
                          points=0.5),
                CaseGroup("shape mismatch raises ValueError", _iou_bad_shape, points=0.5),
                CaseGroup("empty masks", _iou_empty, points=1,
                          probes="empty targets, with empty and non-empty predictions"),
                CaseGroup("all-object masks", _iou_all_ones, points=0.5,
                          probes="targets that are object everywhere"),
                _float32(_iou_float32),
                CaseGroup("predictions of exactly 0 and 1", _iou_binary, points=0.5,
                          probes="0/1 integer predictions"),
            ),
            mistakes=(
                Mistake("strict threshold", "a score equal to the threshold counts as object: "
                        "use >=, not >", _iou_strict),
                Mistake("empty is 0", "an empty prediction of an empty target is a perfect "
                        "answer: return 1.0 when the union is empty", _iou_empty_zero),
                Mistake("mean of per-sample IoUs", "with per_sample=False count TP, FP and FN over "
                        "all pixels together, then divide once", _iou_per_sample_mean),
                Mistake("ignored per_sample", "with per_sample=True return one IoU per sample, "
                        "shape (N,)", _iou_pooled),
                Mistake("F1", "this is F1 (2TP / (2TP + FP + FN)); IoU is TP / (TP + FP + FN)",
                        metrics.f1),
            ),
            summary="hard IoU with a threshold, pooled or per sample, empty masks scoring 1",
        ),
        EXPERIMENTS["07_surrogates"],
    ),
    written=WRITTEN["07_surrogates"],
)
