"""Hard evaluation metrics for binary predictions: IoU, F1, precision, recall, accuracy.

These are what a segmentation or classification model is *judged* by. They
count thresholded predictions, so they are piecewise constant in the
model's outputs and have no useful gradient; the soft losses of
:mod:`course.losses.surrogates` are their trainable stand-ins. Putting the
two side by side shows the surrogate-metric gap.

Conventions shared by every function here:

* ``pred`` holds scores (probabilities, logits or 0/1 labels); an element
  counts as positive when ``pred >= threshold`` (0.5 for probabilities, use
  ``threshold=0`` for logits). ``target`` holds 0/1 labels (bool, int or
  float) of the same shape.
* ``per_sample=False`` counts over every element of the arrays, giving one
  number (micro-averaged, as ``sklearn.metrics.jaccard_score`` does on the
  flattened arrays). ``per_sample=True`` counts over the non-batch axes of
  each sample and returns shape (N,); average it yourself for a per-image
  mean (sklearn's ``average="samples"``).
* A ratio with denominator 0 is ``zero_division`` (default 1.0): an empty
  prediction of an empty target has IoU 1 and F1 1 (a perfect answer), and
  precision with no predicted positive is 1. sklearn has the same
  parameter, with a default that warns and returns 0.

Pure NumPy, not differentiable: there are no ``_grad`` twins.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["ConfusionCounts", "confusion_counts", "iou", "f1", "precision", "recall", "accuracy"]


class ConfusionCounts(NamedTuple):
    """True/false positives and negatives: each an int or an (N,) int array."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray


def confusion_counts(
    pred, target, threshold: float = 0.5, per_sample: bool = False
) -> ConfusionCounts:
    """Count TP, FP, FN, TN of thresholded ``pred`` against 0/1 ``target``.

    Parameters
    ----------
    pred : array_like, shape (N, ...)
        Scores; positive where ``pred >= threshold``. NaN is rejected.
    target : array_like, same shape
        Labels in {0, 1}.
    threshold : float
    per_sample : bool
        Count per sample over the non-batch axes (arrays of shape (N,)), or
        over everything (ints).
    """
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.dtype.kind not in "biuf":
        raise ValueError(f"pred must hold real numbers, got dtype {pred.dtype}")
    if target.dtype.kind not in "biuf":
        raise ValueError(f"target must hold 0/1 labels, got dtype {target.dtype}")
    if target.shape != pred.shape:
        raise ValueError(
            f"target must have the same shape as pred {pred.shape}, got {target.shape}"
        )
    if per_sample and pred.ndim < 1:
        raise ValueError(
            f"pred must be at least 1-D (N, ...) when per_sample, got shape {pred.shape}"
        )
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if np.any(np.isnan(pred)):
        raise ValueError("pred must not contain NaN")
    if not np.all((target == 0) | (target == 1)):
        raise ValueError("target must hold labels in {0, 1}")

    positive = pred >= threshold
    truth = target == 1
    if per_sample:
        n = pred.shape[0]
        flat = (n, int(np.prod(pred.shape[1:])))
        positive, truth = positive.reshape(flat), truth.reshape(flat)
        axis = 1
    else:
        axis = None
    tp = np.sum(positive & truth, axis=axis)
    fp = np.sum(positive & ~truth, axis=axis)
    fn = np.sum(~positive & truth, axis=axis)
    tn = np.sum(~positive & ~truth, axis=axis)
    return ConfusionCounts(tp, fp, fn, tn)


def _ratio(numerator, denominator, zero_division: float):
    """numerator / denominator, with ``zero_division`` where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    out = np.where(denominator == 0, zero_division, numerator / safe)
    return float(out) if out.ndim == 0 else out


def iou(pred, target, threshold: float = 0.5, per_sample: bool = False,
        zero_division: float = 1.0):
    r"""Intersection over union (Jaccard index): :math:`TP / (TP + FP + FN)`.

    Both prediction and target empty: ``zero_division`` (1.0, a perfect
    answer). See the module docstring for ``threshold`` and ``per_sample``.

    Returns
    -------
    float, or np.ndarray of shape (N,) when ``per_sample``.

    References
    ----------
    Jaccard (1912); Everingham et al. (2010), "The PASCAL visual object
    classes (VOC) challenge", IJCV (IoU as the segmentation score).
    """
    c = confusion_counts(pred, target, threshold, per_sample)
    return _ratio(c.tp, c.tp + c.fp + c.fn, zero_division)


def f1(pred, target, threshold: float = 0.5, per_sample: bool = False,
       zero_division: float = 1.0):
    r"""F1 score (Dice coefficient): :math:`2TP / (2TP + FP + FN)`.

    The harmonic mean of precision and recall; ``F1 = 2·IoU / (1 + IoU)``.
    Both prediction and target empty: ``zero_division`` (1.0).

    Returns
    -------
    float, or np.ndarray of shape (N,) when ``per_sample``.
    """
    c = confusion_counts(pred, target, threshold, per_sample)
    return _ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn, zero_division)


def precision(pred, target, threshold: float = 0.5, per_sample: bool = False,
              zero_division: float = 1.0):
    r"""Precision: :math:`TP / (TP + FP)`; no predicted positive: ``zero_division``."""
    c = confusion_counts(pred, target, threshold, per_sample)
    return _ratio(c.tp, c.tp + c.fp, zero_division)


def recall(pred, target, threshold: float = 0.5, per_sample: bool = False,
           zero_division: float = 1.0):
    r"""Recall (sensitivity): :math:`TP / (TP + FN)`; no positive in target: ``zero_division``."""
    c = confusion_counts(pred, target, threshold, per_sample)
    return _ratio(c.tp, c.tp + c.fn, zero_division)


def accuracy(pred, target, threshold: float = 0.5, per_sample: bool = False,
             zero_division: float = 1.0):
    r"""Accuracy: :math:`(TP + TN) / (TP + FP + FN + TN)`.

    On an imbalanced mask (a small object, mostly background) accuracy is
    high even for an empty prediction, which is why segmentation reports IoU.
    No elements at all: ``zero_division``.
    """
    c = confusion_counts(pred, target, threshold, per_sample)
    return _ratio(c.tp + c.tn, c.tp + c.fp + c.fn + c.tn, zero_division)
