"""Lesson 12's laboratory: four decisions, each scored by the metric that matters.

* **Costs into numbers** (pure functions, the closed forms the lesson
  derives): :func:`quantile_for_costs` (the pinball level that matches an
  under- and an over-forecast cost), :func:`bayes_threshold` and
  :func:`pos_weight_for_costs` (the threshold, or the positive-class weight,
  that matches the cost of a false alarm and of a miss), and
  :func:`expected_cost` (what a thresholded screen costs per patient).
* **Case 1, a bakery** (:func:`bakery_demand`, :func:`fit_stock_line`,
  :func:`money_cost`): demand whose spread grows with the forecast, a line
  fitted under MSE, MAE or the pinball loss.
* **Case 2, a screen** uses lesson 06's data and fits
  (:mod:`course.lessons.imbalance`); :func:`screen_costs` scores one seed.
* **Case 3, crowd labels** (:func:`crowd_label_accuracies`): lesson 10's
  random-feature model on digits with flipped labels, scored on clean labels.
* **Case 4, lesion outlines** (:func:`lesion_scans`, :func:`pixel_features`,
  :func:`fit_pixel_model`, :func:`lesion_scores`): small disks in noise, a
  per-pixel logistic model trained with BCE, soft Dice or both.

The losses live in :mod:`course.losses`; nothing here repeats their formulas.
"""

from __future__ import annotations

from functools import lru_cache, partial

import numpy as np

from course import losses, metrics
from course.lessons.optim import adam_moments, adam_step

__all__ = [
    "quantile_for_costs", "bayes_threshold", "pos_weight_for_costs", "expected_cost", "expected_cost_curve",
    "bakery_demand", "fit_stock_line", "money_cost",
    "screen_costs", "screen_data", "screen_fit",
    "CROWD_LOSSES", "crowd_label_accuracies",
    "lesion_scans", "pixel_features", "fit_pixel_model", "lesion_scores", "SEGMENTATION_LOSSES",
]


# ------------------------------------------------------------ costs into numbers
def _positive(**values) -> list[np.ndarray]:
    out = []
    for name, value in values.items():
        array = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(array)) or np.any(array <= 0):
            raise ValueError(f"{name} must be finite and > 0, got {value!r}")
        out.append(array)
    return out


def _number(array):
    return float(array) if np.ndim(array) == 0 else array


def quantile_for_costs(under_cost, over_cost):
    """The quantile level ``q`` whose pinball loss is the business cost, up to a factor.

    Each unit short costs ``under_cost``, each unit left over ``over_cost``.
    The pinball loss charges ``q`` per unit under and ``1 - q`` per unit over,
    so matching the ratio gives ``q = under / (under + over)``: stock the
    ``q``-th quantile of demand. Costs broadcast; each must be > 0.
    """
    under, over = _positive(under_cost=under_cost, over_cost=over_cost)
    return _number(under / (under + over))


def bayes_threshold(cost_fp, cost_fn):
    """The probability above which flagging costs less, on average, than not flagging.

    Flagging an example with probability ``p`` of being positive costs
    ``(1 - p) cost_fp`` on average, passing it costs ``p cost_fn``; they are
    equal at ``p = cost_fp / (cost_fp + cost_fn)``. Costs broadcast; each > 0.
    """
    fp, fn = _positive(cost_fp=cost_fp, cost_fn=cost_fn)
    return _number(fp / (fp + fn))


def pos_weight_for_costs(cost_fp, cost_fn):
    """The ``pos_weight`` that moves cross-entropy's 0.5 cut to :func:`bayes_threshold`.

    Weighting the positives by ``w`` multiplies the optimal odds by ``w``, so
    the weighted model says 0.5 where the plain one says ``1 / (1 + w)``;
    ``w = cost_fn / cost_fp`` puts that at the Bayes threshold.
    """
    fp, fn = _positive(cost_fp=cost_fp, cost_fn=cost_fn)
    return _number(fn / fp)


def _scores_and_labels(probs, y):
    """``probs`` and ``y`` as float64, checked: 1-D, the same non-zero length, ``y`` in {0, 1}."""
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if p.ndim != 1 or t.shape != p.shape or p.size == 0:
        raise ValueError(f"probs and y must be 1-D of the same non-zero length, got {p.shape}, {t.shape}")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("y must hold labels in {0, 1}")
    return p, t


def expected_cost(probs, y, cost_fp, cost_fn, threshold) -> float:
    """Mean cost per example of flagging ``probs >= threshold``.

    A false alarm (flagged, ``y = 0``) costs ``cost_fp``, a miss (not
    flagged, ``y = 1``) ``cost_fn``; right calls cost nothing. ``probs`` and
    ``y`` are 1-D of the same length (at least one example), ``y`` in {0, 1}.
    """
    p, t = _scores_and_labels(probs, y)
    fp, fn = _positive(cost_fp=cost_fp, cost_fn=cost_fn)
    flagged = p >= threshold
    false_alarms = np.sum(flagged & (t == 0))
    misses = np.sum(~flagged & (t == 1))
    return float((fp * false_alarms + fn * misses) / p.size)


def expected_cost_curve(probs, y, cost_fp, cost_fn, thresholds) -> np.ndarray:
    """:func:`expected_cost` at every threshold of ``thresholds`` at once.

    The same rule (flag ``probs >= t``), counted by sorting the scores once
    and finding each threshold by binary search, so a curve of a few hundred
    thresholds over 40,000 examples costs a few milliseconds rather than a
    pass over the data per threshold. Returns float64 of ``thresholds``' shape.
    """
    p, t = _scores_and_labels(probs, y)
    cuts = np.asarray(thresholds, dtype=np.float64)
    fp, fn = _positive(cost_fp=cost_fp, cost_fn=cost_fn)
    healthy, ill = np.sort(p[t == 0]), np.sort(p[t == 1])
    false_alarms = healthy.size - np.searchsorted(healthy, cuts, side="left")  # scores >= t
    misses = np.searchsorted(ill, cuts, side="left")  # scores < t
    return (fp * false_alarms + fn * misses) / p.size


# ------------------------------------------------------------------ case 1: bakery
def bakery_demand(n: int, seed: int = 0):
    """Daily demand for loaves against the morning's footfall forecast ``x`` in [0, 10].

    The mean grows with ``x`` (``20 + 4 x``) and so does the spread
    (``2 + 1.2 x``); the noise is a centred gamma(2), skewed to the right:
    busy days bring the occasional rush. Returns ``x`` and ``demand``, (n,).
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 10.0, n)
    noise = (rng.gamma(2.0, 1.0, n) - 2.0) / np.sqrt(2.0)  # mean 0, variance 1
    return x, 20.0 + 4.0 * x + (2.0 + 1.2 * x) * noise


def fit_stock_line(x, demand, loss: str = "mse", quantile: float = 0.5, iterations: int = 200):
    """Fit ``stock = slope * x + intercept`` under ``"mse"`` or ``"pinball"`` (``quantile``).

    Lesson 01's :func:`course.lessons.regression.fit_line` does the work: MSE
    is one least-squares solve, the pinball loss is minimized by iteratively
    reweighted least squares (each point weighted by its
    ``quantile_loss_grad`` over its residual). ``quantile=0.5`` is the MAE
    fit. Returns ``(slope, intercept)``.
    """
    from course.lessons.regression import fit_line

    if loss not in ("mse", "pinball"):
        raise ValueError(f"loss must be 'mse' or 'pinball', got {loss!r}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(demand, dtype=np.float64)
    if loss == "mse":
        return fit_line(x, y, "mse")
    return fit_line(x, y, "quantile", quantile=quantile, iterations=iterations)


def money_cost(stock, demand, under_cost: float, over_cost: float) -> float:
    """Mean daily cost: ``under_cost`` per loaf short, ``over_cost`` per loaf left over."""
    short = np.maximum(np.asarray(demand) - np.asarray(stock), 0.0)
    left = np.maximum(np.asarray(stock) - np.asarray(demand), 0.0)
    return float(np.mean(under_cost * short + over_cost * left))


# ------------------------------------------------------------------ case 2: screen
def screen_costs(seed: int, cost_fp: float, cost_fn: float, n_train: int = 10_000,
                 n_test: int = 40_000) -> dict:
    """Cost per patient of four screens trained on lesson 06's 99:1 data (one seed).

    ``"cross-entropy, cut at 0.5"``, ``"cross-entropy, Bayes threshold"``,
    ``"weighted cross-entropy, cut at 0.5"`` (``pos_weight_for_costs``) and
    ``"focal (γ = 2, α = 0.25), cut at 0.5"``, each scored with
    :func:`expected_cost` on a fresh test set; also ``"flag nobody"``.
    """
    from course.lessons.imbalance import fit_linear, imbalanced_blobs, objective

    X, y = imbalanced_blobs(n_train, seed=seed)
    X_test, y_test = imbalanced_blobs(n_test, seed=1000 + seed)
    plain = fit_linear(X, y, objective())
    weighted = fit_linear(X, y, objective(pos_weight=pos_weight_for_costs(cost_fp, cost_fn)))
    focal = fit_linear(X, y, objective("focal", alpha=0.25, gamma=2.0))

    def probs(model):
        w, b = model
        return losses.sigmoid(X_test @ w + b)

    cost = partial(expected_cost, y=y_test, cost_fp=cost_fp, cost_fn=cost_fn)
    return {
        "cross-entropy, cut at 0.5": cost(probs(plain), threshold=0.5),
        "cross-entropy, Bayes threshold": cost(probs(plain), threshold=bayes_threshold(cost_fp, cost_fn)),
        "weighted cross-entropy, cut at 0.5": cost(probs(weighted), threshold=0.5),
        "focal (γ = 2, α = 0.25), cut at 0.5": cost(probs(focal), threshold=0.5),
        "flag nobody": cost(np.zeros(y_test.size), threshold=0.5),
    }


@lru_cache(maxsize=1)
def screen_data():
    """The widget's screen: lesson 06's training set (10,000, 100 ill) and test set (40,000, 400)."""
    from course.lessons.imbalance import lesson_data

    return lesson_data()


@lru_cache(maxsize=128)
def screen_fit(pos_weight: float):
    """``(w, b)`` of the linear screen fitted to :func:`screen_data` with that ``pos_weight``; cached."""
    from course.lessons.imbalance import fit_linear, objective

    (X, y), _ = screen_data()
    return fit_linear(X, y, objective(pos_weight=pos_weight))


# ------------------------------------------------------------ case 3: crowd labels
#: the losses case 3 compares, as gradients of the mean loss w.r.t. the logits
CROWD_LOSSES = {
    "cross-entropy": losses.cross_entropy_grad,
    "label smoothing 0.1": partial(losses.cross_entropy_grad, label_smoothing=0.1),
    "MAE (GCE, q = 1)": partial(losses.generalized_cross_entropy_grad, q=1.0),
    "GCE, q = 0.7": partial(losses.generalized_cross_entropy_grad, q=0.7),
}


def crowd_label_accuracies(seed: int, flip_rate: float = 0.4, steps: int = 300,
                           lr: float = 0.04) -> dict:
    """Clean-test accuracy of lesson 10's digits model trained on flipped labels, per loss.

    ``flip_rate`` of the training labels move to another class (uniformly,
    :func:`course.data.flip_fraction_of_labels`); the test labels are left
    clean, because what the model is for is the true digit.
    """
    from course.data import flip_fraction_of_labels
    from course.lessons.generalization import digits_split, fit_softmax, random_features

    X_train, X_test, y_train, y_test = digits_split(seed)
    noisy, _ = flip_fraction_of_labels(y_train, flip_rate, 10, seed=seed)
    features = random_features(256, seed=seed)
    F_train, F_test = features(X_train), features(X_test)
    scores = {}
    for name, grad in CROWD_LOSSES.items():
        W, b, _ = fit_softmax(F_train, noisy, grad, steps=steps, lr=lr)
        scores[name] = float(np.mean((F_test @ W + b).argmax(1) == y_test))
    return scores


# ---------------------------------------------------------- case 4: lesion outlines
#: the losses case 4 compares
SEGMENTATION_LOSSES = ("BCE", "soft Dice", "BCE + soft Dice")


def lesion_scans(n: int, seed: int = 0, empty_fraction: float = 0.0, size: int = 24):
    """Scans with one small lesion (a disk of radius 1.5 to 3) in noise, or none.

    Built on lesson 07's :func:`~course.lessons.surrogates.noisy_disks`
    (signal 0.8, noise 0.6). A share ``empty_fraction`` of the scans, drawn
    at random, hold no lesion. Returns ``images`` and 0/1 ``masks``, (n, size, size).
    """
    from course.lessons.surrogates import noisy_disks

    images, masks = noisy_disks(n, size=size, seed=seed, radius=(1.5, 3.0), max_disks=1)
    empty = np.random.default_rng([seed, 12]).random(n) < empty_fraction
    images[empty] -= 0.8 * masks[empty]
    masks[empty] = 0.0
    return images, masks


def pixel_features(images) -> np.ndarray:
    """Per pixel: its value and the means of the 3x3, 5x5 and 7x7 squares around it, (N, H, W, 4)."""
    from scipy.ndimage import uniform_filter

    images = np.asarray(images, dtype=np.float64)
    smoothed = [uniform_filter(images, size=(1, k, k), mode="nearest") for k in (3, 5, 7)]
    return np.stack([images, *smoothed], axis=-1)


def _segmentation_grad(loss: str, logits, masks):
    """Gradient of the chosen loss (a mean over images) with respect to the logits."""
    if loss not in SEGMENTATION_LOSSES:
        raise ValueError(f"loss must be one of {SEGMENTATION_LOSSES}, got {loss!r}")
    grad = np.zeros_like(logits)
    if "BCE" in loss:
        grad += losses.binary_cross_entropy_with_logits_grad(logits, masks)   # mean over pixels
    if "Dice" in loss:
        p = losses.sigmoid(logits)
        grad += losses.soft_dice_loss_grad(p, masks) * p * (1.0 - p)
    return grad


def fit_pixel_model(features, masks, loss: str, steps: int = 300, lr: float = 0.05,
                    prior: float = 0.02):
    """A logistic model per pixel, ``z = features @ w + b``, fitted by full-batch Adam.

    ``loss`` is one of :data:`SEGMENTATION_LOSSES`: BCE is the mean over
    every pixel, soft Dice the mean over images of ``soft_dice_loss``, and
    the combination their plain sum, the usual recipe. The bias starts at
    the logit of ``prior``, the share of lesion pixels. Returns ``(w, b)``.
    """
    F = np.asarray(features, dtype=np.float64)
    M = np.asarray(masks, dtype=np.float64)
    params = [np.zeros(F.shape[-1]), np.array(np.log(prior / (1.0 - prior)))]
    moments = adam_moments(params)
    for t in range(1, steps + 1):
        g = _segmentation_grad(loss, F @ params[0] + params[1], M)
        adam_step(params, (np.tensordot(g, F, axes=g.ndim), g.sum()), moments, t, lr)
    return params[0], float(params[1])


def lesion_scores(probs, masks) -> dict:
    """Mean IoU at 0.5 on scans with a lesion, and on empty scans (1 only when nothing is marked)."""
    probs = np.asarray(probs, dtype=np.float64)
    masks = np.asarray(masks, dtype=np.float64)
    per_scan = metrics.iou(probs, masks, 0.5, per_sample=True)
    has_lesion = masks.reshape(len(masks), -1).sum(1) > 0
    return {
        "iou_lesion": float(per_scan[has_lesion].mean()) if has_lesion.any() else float("nan"),
        "iou_empty": float(per_scan[~has_lesion].mean()) if (~has_lesion).any() else float("nan"),
        "marked_pixels_empty": float((probs[~has_lesion] >= 0.5).sum(axis=(1, 2)).mean())
        if (~has_lesion).any() else float("nan"),
    }
