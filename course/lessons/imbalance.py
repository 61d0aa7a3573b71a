"""Lesson 06's laboratory: a 99:1 problem, a linear model, and honest metrics.

Everything the imbalance lesson computes, as plain functions:

* :func:`imbalanced_blobs`: a two-dimensional data set with one rare class;
* :func:`objective`: one of the lesson's training losses (cross-entropy,
  class-weighted cross-entropy, focal loss, class-balanced focal loss) as a
  pair ``(value(z, y), grad(z, y))`` of functions of the logits, built from
  :mod:`course.losses`;
* :func:`fit_linear`: fit ``z = X @ w + b`` to any such objective;
* :func:`rare_class_report`, :func:`average_precision`,
  :func:`precision_recall_points`: what the model is worth, per class and
  over every threshold, not only its accuracy;
* :func:`gradient_shares`: which examples supply the gradient.

The losses themselves live in :mod:`course.losses`; nothing here repeats
their formulas.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from course import losses

__all__ = [
    "lesson_data", "focal_fit",
    "Objective", "imbalanced_blobs", "objective", "fit_linear", "probability_of_label",
    "gradient_shares", "precision_recall_points", "average_precision", "rare_class_report",
    "threshold_for_recall",
]

RARE_CENTER = (2.2, 1.8)
RARE_SPREAD = 0.6


class Objective(NamedTuple):
    """A training loss on one logit per example: mean ``value(z, y)`` and its ``grad`` w.r.t. z."""

    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[np.ndarray, np.ndarray], np.ndarray]
    label: str


def imbalanced_blobs(n: int = 10_000, positive_fraction: float = 0.01, seed: int = 0,
                     center=RARE_CENTER, spread: float = RARE_SPREAD):
    """Two Gaussian classes in the plane, the positive (label 1) one rare.

    The common class is a standard normal cloud around the origin; the rare
    class a tighter cloud (standard deviation ``spread``) around ``center``,
    overlapping the edge of the common one. Exactly
    ``round(n * positive_fraction)`` examples are positive, listed last.

    Returns ``X`` (n, 2) and ``y`` (n,), float 0/1 labels.
    """
    if not 0 < positive_fraction < 1:
        raise ValueError(f"positive_fraction must lie in (0, 1), got {positive_fraction!r}")
    n_pos = int(round(n * positive_fraction))
    if not 0 < n_pos < n:
        raise ValueError(f"n={n} with positive_fraction={positive_fraction} leaves a class empty")
    rng = np.random.default_rng(seed)
    common = rng.normal(size=(n - n_pos, 2))
    rare = np.asarray(center, dtype=float) + spread * rng.normal(size=(n_pos, 2))
    return np.vstack([common, rare]), np.r_[np.zeros(n - n_pos), np.ones(n_pos)]


def objective(loss: str = "cross_entropy", pos_weight: float = 1.0, alpha=0.25,
              gamma: float = 2.0) -> Objective:
    """One of the lesson's losses as a function of the logits ``z`` and 0/1 labels ``y``.

    Parameters
    ----------
    loss : {"cross_entropy", "focal", "softmax_focal"}
        * ``"cross_entropy"``: ``binary_cross_entropy_with_logits`` with
          ``pos_weight`` (each positive counts ``pos_weight`` times);
        * ``"focal"``: ``sigmoid_focal_loss(z, y, alpha, gamma)``, averaged;
        * ``"softmax_focal"``: ``softmax_focal_loss`` on the two logits
          ``(0, z)`` with per-class weights ``alpha`` (e.g. from
          ``class_balanced_weights``): Cui et al.'s class-balanced focal loss.
    pos_weight : float
        Weight of the positive class for ``"cross_entropy"``.
    alpha : float or None, or array (2,) for ``"softmax_focal"``
    gamma : float

    The two logits ``(0, z)`` give ``softmax = (1 - sigmoid(z), sigmoid(z))``,
    so a two-class softmax model is the same as a one-logit sigmoid model.
    """
    if loss == "cross_entropy":
        weight = np.asarray(pos_weight, dtype=float)
        return Objective(
            lambda z, y: losses.binary_cross_entropy_with_logits(z, y, pos_weight=weight),
            lambda z, y: losses.binary_cross_entropy_with_logits_grad(z, y, pos_weight=weight),
            "cross-entropy" if pos_weight == 1 else f"cross-entropy, pos_weight {pos_weight:.3g}",
        )
    if loss == "focal":
        return Objective(
            lambda z, y: losses.sigmoid_focal_loss(z, y, alpha=alpha, gamma=gamma, reduction="mean"),
            lambda z, y: losses.sigmoid_focal_loss_grad(z, y, alpha=alpha, gamma=gamma,
                                                        reduction="mean"),
            f"focal, γ = {gamma:g}, α = {'off' if alpha is None or alpha < 0 else f'{alpha:g}'}",
        )
    if loss == "softmax_focal":
        def two_logits(z):
            z = np.asarray(z, dtype=float)
            return np.column_stack([np.zeros_like(z), z])

        return Objective(
            lambda z, y: losses.softmax_focal_loss(two_logits(z), y.astype(int), alpha=alpha,
                                                   gamma=gamma),
            # only the second logit depends on the model: the chain rule keeps column 1
            lambda z, y: losses.softmax_focal_loss_grad(two_logits(z), y.astype(int), alpha=alpha,
                                                        gamma=gamma)[:, 1],
            f"class-balanced focal, γ = {gamma:g}",
        )
    raise ValueError(f"loss must be 'cross_entropy', 'focal' or 'softmax_focal', got {loss!r}")


def fit_linear(X, y, objective: Objective, lam: float = 1e-6, max_iter: int = 60,
               tol: float = 1e-10):
    """Minimise ``objective(X @ w + b, y) + lam/2 ||w||^2`` by Newton's method.

    The gradient is the chain rule on the course loss's gradient,
    ``X^T g``. The curvature each example's loss has along its own logit,
    ``d g_i / d z_i``, is measured by a central difference of that same
    gradient, which gives the Hessian ``X^T diag(g') X``. Focal loss is not
    convex everywhere, so negative curvature is clipped before solving, and
    a backtracking line search keeps every step downhill. With three
    parameters a step costs little more than one gradient.

    Returns ``(w, b)``: weights (d,) and intercept.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got {X.shape} and {y.shape}")
    design = np.column_stack([X, np.ones(len(X))])
    penalty = np.r_[np.full(X.shape[1], lam), 0.0]  # the intercept is not penalised

    def total(theta):
        return float(objective.value(design @ theta, y)) + 0.5 * float(penalty @ theta**2)

    theta = np.zeros(design.shape[1])
    h = 1e-5
    for _ in range(max_iter):
        z = design @ theta
        grad = design.T @ objective.grad(z, y) + penalty * theta
        curvature = (objective.grad(z + h, y) - objective.grad(z - h, y)) / (2 * h)
        hessian = design.T @ (design * curvature[:, None]) + np.diag(penalty)
        values, vectors = np.linalg.eigh(hessian)
        values = np.maximum(values, 1e-3 * max(values.max(), 1e-12))
        step = -vectors @ ((vectors.T @ grad) / values)
        start, size = total(theta), 1.0
        while total(theta + size * step) > start + 1e-4 * size * (grad @ step) and size > 1e-10:
            size /= 2
        theta = theta + size * step
        if np.max(np.abs(size * step)) < tol:
            break
    return theta[:-1], float(theta[-1])


def probability_of_label(logits, y) -> np.ndarray:
    """``p_t``: the probability the model gives each example's own label."""
    y = np.asarray(y, dtype=float)
    return losses.sigmoid(np.where(y == 1, 1.0, -1.0) * np.asarray(logits, dtype=float))


def gradient_shares(logits, y, grad, easy: float = 0.9) -> dict:
    """Share of the total ``|d loss / d logit|`` each group of examples supplies.

    Groups: ``"rare"`` (label 1), ``"common, hard"`` (label 0 with
    ``p_t < easy``) and ``"common, easy"`` (label 0, ``p_t >= easy``). The
    shares sum to 1. ``grad`` is an :class:`Objective`'s ``grad``.
    """
    y = np.asarray(y, dtype=float)
    magnitude = np.abs(grad(np.asarray(logits, dtype=float), y))
    easy_mask = probability_of_label(logits, y) >= easy
    groups = {
        "rare": y == 1,
        "common, hard": (y == 0) & ~easy_mask,
        "common, easy": (y == 0) & easy_mask,
    }
    total = magnitude.sum()
    return {name: float(magnitude[mask].sum() / total) for name, mask in groups.items()}


def precision_recall_points(scores, y):
    """Precision and recall of ``scores >= t`` at every distinct score ``t``, highest first.

    Returns ``(precision, recall, thresholds)``, each of length = number of
    distinct scores. Ties are taken together, as ``sklearn.metrics`` does.
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=float)
    if scores.shape != y.shape or scores.ndim != 1:
        raise ValueError(f"scores and y must be 1-D of the same shape, got {scores.shape}, {y.shape}")
    if not (y == 1).any():
        raise ValueError("y must contain at least one positive")
    order = np.argsort(-scores, kind="stable")
    s, labels = scores[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    true_pos = np.cumsum(labels)[last_of_tie]
    predicted = last_of_tie + 1.0
    return true_pos / predicted, true_pos / labels.sum(), s[last_of_tie]


def average_precision(scores, y) -> float:
    """Area under the step precision-recall curve: ``sum_k (R_k - R_{k-1}) P_k``.

    The mean, over the positives, of the precision at the threshold that
    first admits them. It depends only on the *ranking* of the scores: a
    model shifted by a constant, or thresholded anywhere, has the same AP.
    A random ranking scores about the positive fraction, a perfect one 1.
    """
    precision, recall, _ = precision_recall_points(scores, y)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def rare_class_report(scores, y, threshold: float = 0.0) -> dict:
    """Per-class recall, precision of the rare class, accuracy and AP.

    ``scores`` are logits; an example is called positive when
    ``score >= threshold`` (logit 0 is probability 0.5).
    """
    scores = np.asarray(scores, dtype=float)
    y = np.asarray(y, dtype=float)
    said_yes = scores >= threshold
    positive = y == 1
    true_pos = np.sum(said_yes & positive)
    return {
        "accuracy": float(np.mean(said_yes == positive)),
        "recall_common": float(np.sum(~said_yes & ~positive) / np.sum(~positive)),
        "recall_rare": float(true_pos / np.sum(positive)),
        "precision_rare": float(true_pos / said_yes.sum()) if said_yes.any() else 1.0,
        "average_precision": average_precision(scores, y),
    }


def threshold_for_recall(scores, y, recall: float) -> float:
    """The highest score threshold whose recall of the rare class reaches ``recall``."""
    precision, recalls, thresholds = precision_recall_points(scores, y)
    reached = np.flatnonzero(recalls >= recall)
    if reached.size == 0:
        raise ValueError(f"recall must be at most 1, got {recall!r}")
    return float(thresholds[reached[0]])


# the focal-loss widget's fixed problem
TRAIN_SEED, TEST_SEED = 0, 1000


N_TRAIN, N_TEST = 10_000, 40_000


@lru_cache(maxsize=1)
def lesson_data():
    """The lesson's training set (10,000 points, 100 rare) and test set (40,000, 400 rare)."""
    return imbalanced_blobs(N_TRAIN, seed=TRAIN_SEED), imbalanced_blobs(N_TEST, seed=TEST_SEED)


@lru_cache(maxsize=256)
def focal_fit(gamma: float, alpha: float | None):
    """``(w, b)`` of the linear model fitted to :func:`lesson_data` with focal loss (``alpha=None``
    and ``gamma=0``: plain cross-entropy); cached."""
    (X, y), _ = lesson_data()
    loss = objective() if gamma == 0 and alpha is None else objective("focal", alpha=alpha, gamma=gamma)
    return fit_linear(X, y, loss)
