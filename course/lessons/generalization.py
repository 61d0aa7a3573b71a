"""Lesson 10: noisy labels, a small model on digits, and calibration.

* :func:`digits_split`: the digits of :mod:`course.data`, stratified split;
  the label noise is :func:`course.data.flip_fraction_of_labels`;
* :func:`random_features`: a fixed random ReLU layer, so that a softmax layer
  on top is a wide one-hidden-layer network whose first layer is frozen;
* :func:`fit_softmax`: full-batch Adam on the softmax layer for any loss of
  :mod:`course.losses` given as its ``_grad`` function, recording test
  accuracy along the way;
* :func:`calibration_logits` and :func:`fitted_temperature`: the
  label-smoothed model whose confidence the lesson's widget rescales.

Calibration: is a model's confidence the probability that it is right?

* :func:`reliability_bins`: confidences grouped into equal-width bins, with
  the accuracy and the mean confidence of each bin (the reliability diagram);
* :func:`expected_calibration_error`: the bins' gaps, weighted by their size;
* :func:`temperature_nll` and :func:`fit_temperature`: temperature scaling
  (Guo et al. 2017), one scalar ``T`` fitted by minimizing the NLL of
  ``softmax(logits / T)`` on held-out data;
* :func:`smoothed_targets` and :func:`smoothing_logit_gap`: label smoothing
  with PyTorch's convention, and the logit gap its optimum has.

Binning, precisely: with ``B`` bins, bin ``b`` (0-based) holds the
confidences in ``(b/B, (b+1)/B]``; a confidence of exactly 0 goes to bin 0.
So bin ``b`` is ``ceil(B * c) - 1`` clipped to ``[0, B - 1]``, the
convention of Guo et al. and of ``sklearn.calibration.calibration_curve``.

The losses themselves live in :mod:`course.losses`; nothing here repeats
their formulas.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from course import losses
from course.data import digits
from course.lessons.optim import adam_moments, adam_step

__all__ = [
    "digits_split", "random_features", "fit_softmax",
    "bin_index", "reliability_bins", "top_label", "expected_calibration_error",
    "temperature_nll", "fit_temperature", "smoothed_targets", "smoothing_logit_gap",
    "SMOOTHING", "calibration_logits", "fitted_temperature",
]


def digits_split(seed: int = 0, test_size: float = 0.3):
    """sklearn's digits (1,797 images, 10 classes), pixels in [0, 1], a stratified split.

    Returns ``X_train, X_test, y_train, y_test``.
    """
    from sklearn.model_selection import train_test_split

    X, y = digits()
    return train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)


def random_features(width: int = 256, inputs: int = 64, seed: int = 0):
    """A frozen random ReLU layer ``x -> max(x W + b, 0)``, returned as a function."""
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 1.0 / np.sqrt(inputs), (inputs, width))
    b = rng.normal(0.0, 0.5, width)
    return lambda X: np.maximum(np.asarray(X, dtype=np.float64) @ W + b, 0.0)


def fit_softmax(features, labels, loss_grad: Callable, steps: int = 500, lr: float = 0.01,
                eval_features=None, eval_labels=None, eval_every: int = 25):
    """Train logits ``features @ W + b`` by full-batch Adam on a loss's gradient.

    ``loss_grad(logits, labels)`` is the gradient of the mean loss with
    respect to the logits (a ``course.losses`` ``_grad`` function, perhaps
    with its options bound). Starts from zero weights; runs on one BLAS
    thread (several threads only add overhead at this size).

    Returns ``(W, b, history)``: ``history`` lists ``(step, accuracy)`` on
    ``eval_features`` / ``eval_labels`` every ``eval_every`` steps (empty if
    none are given).
    """
    F = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if F.ndim != 2 or y.shape != (F.shape[0],):
        raise ValueError(f"features must be (N, D) and labels (N,), got {F.shape} and {y.shape}")
    classes = int(y.max()) + 1 if eval_labels is None else int(max(y.max(), np.max(eval_labels))) + 1
    params = [np.zeros((F.shape[1], classes)), np.zeros(classes)]
    moments = adam_moments(params)
    history = []
    FT = np.ascontiguousarray(F.T)
    with threadpool_limits(1):
        for t in range(1, steps + 1):
            G = loss_grad(F @ params[0] + params[1], y)
            adam_step(params, (FT @ G, G.sum(0)), moments, t, lr)
            if eval_features is not None and t % eval_every == 0:
                pred = (eval_features @ params[0] + params[1]).argmax(1)
                history.append((t, float((pred == eval_labels).mean())))
    return params[0], params[1], history


def _check_bins(n_bins):
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return int(n_bins)


def bin_index(confidence, n_bins: int = 15) -> np.ndarray:
    """The bin of each confidence in ``[0, 1]``: ``ceil(B c) - 1`` clipped to ``[0, B - 1]``."""
    c = np.asarray(confidence, dtype=np.float64)
    n_bins = _check_bins(n_bins)
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ValueError("confidence must lie in [0, 1]")
    return np.clip(np.ceil(c * n_bins).astype(np.int64) - 1, 0, n_bins - 1)


def reliability_bins(confidence, correct, n_bins: int = 15) -> dict:
    """Per-bin count, mean confidence and accuracy (NaN for an empty bin).

    ``confidence`` (N,) in [0, 1]; ``correct`` (N,) 0/1 or bool: whether each
    prediction was right (for a binary classifier's positive-class
    probability, the label itself, as in ``calibration_curve``).
    """
    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct, dtype=np.float64)
    if c.ndim != 1 or ok.shape != c.shape:
        raise ValueError(f"confidence and correct must both be (N,), got {c.shape} and {ok.shape}")
    idx = bin_index(c, n_bins)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.bincount(idx, c, n_bins) / count
        acc = np.bincount(idx, ok, n_bins) / count
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return {"edges": edges, "count": count, "confidence": conf, "accuracy": acc}


def top_label(probs, labels):
    """``(confidence, correct)`` of a (N, C) probability matrix: max probability, argmax == label."""
    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"probs must be (N, C) and labels (N,), got {p.shape} and {y.shape}")
    return p.max(1), (p.argmax(1) == y)


def expected_calibration_error(probs, labels, n_bins: int = 15) -> float:
    r"""Top-label expected calibration error (Guo et al. 2017, eq. 3).

    .. math:: \mathrm{ECE} = \sum_b \frac{n_b}{N}\,\big|\mathrm{acc}_b - \mathrm{conf}_b\big|

    over the bins of :func:`bin_index` applied to each row's largest
    probability; ``acc_b`` is the fraction of rows in bin ``b`` whose argmax
    is the label, ``conf_b`` their mean largest probability; empty bins add 0.

    Parameters
    ----------
    probs : (N, C) array of probabilities (rows summing to 1)
    labels : (N,) int array in [0, C)
    n_bins : int >= 1

    Reference: Guo, Pleiss, Sun & Weinberger (2017), "On calibration of
    modern neural networks", ICML.
    """
    conf, correct = top_label(probs, labels)
    bins = reliability_bins(conf, correct, n_bins)
    used = bins["count"] > 0
    gaps = np.abs(bins["accuracy"][used] - bins["confidence"][used])
    return float(np.sum(bins["count"][used] * gaps) / conf.size)


def temperature_nll(logits, labels, temperature: float) -> float:
    """Mean NLL of ``softmax(logits / T)``: ``course.losses.cross_entropy(logits / T, labels)``."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return float(losses.cross_entropy(np.asarray(logits, dtype=np.float64) / temperature, labels))


def fit_temperature(logits, labels, low: float = 0.05, high: float = 20.0, tol: float = 1e-7) -> float:
    """The temperature in ``[low, high]`` minimizing :func:`temperature_nll`.

    Golden-section search on ``log T``. The NLL is convex in ``1/T`` (a
    log-sum-exp of a linear function), so it has one minimum along the line
    and golden section finds it.
    """
    a, b = np.log(low), np.log(high)
    ratio = (np.sqrt(5.0) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = (temperature_nll(logits, labels, np.exp(v)) for v in (c, d))
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = temperature_nll(logits, labels, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = temperature_nll(logits, labels, np.exp(d))
    return float(np.exp((a + b) / 2))


def smoothed_targets(target, num_classes: int, eps: float) -> np.ndarray:
    r"""Label-smoothed target distributions, PyTorch's convention.

    .. math:: \tilde t_{ic} = (1 - \varepsilon)\,[c = y_i] + \varepsilon / C

    so the true class gets :math:`1 - \varepsilon + \varepsilon/C` and every
    other class :math:`\varepsilon / C`; ``cross_entropy(x, y,
    label_smoothing=eps)`` equals ``cross_entropy(x, smoothed_targets(y, C,
    eps))``. Returns a float64 (N, C) array for ``target`` of shape (N,).

    Reference: Szegedy et al. (2016), "Rethinking the Inception architecture".
    """
    y = np.asarray(target)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"target must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if int(num_classes) != num_classes or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"target must lie in [0, {num_classes})")
    if not 0 <= eps <= 1:
        raise ValueError(f"eps must lie in [0, 1], got {eps!r}")
    out = np.full((y.size, int(num_classes)), eps / num_classes)
    out[np.arange(y.size), y] += 1.0 - eps
    return out


def smoothing_logit_gap(eps: float, num_classes: int) -> float:
    r"""The logit gap (true class minus any other) that minimizes smoothed cross-entropy.

    The minimizer makes ``softmax(x)`` equal the smoothed target, so

    .. math:: x_y - x_c = \log\frac{1 - \varepsilon + \varepsilon/C}{\varepsilon/C}
              = \log\Big(1 + \frac{C(1-\varepsilon)}{\varepsilon}\Big),

    finite for every ``eps > 0`` (and infinite at ``eps = 0``).
    """
    if not 0 <= eps <= 1:
        raise ValueError(f"eps must lie in [0, 1], got {eps!r}")
    if eps == 0:
        return float("inf")
    return float(np.log1p(num_classes * (1 - eps) / eps))


SMOOTHING = 0.1


@lru_cache(maxsize=4)
def calibration_logits(seed: int = 0, eps: float = SMOOTHING):
    """Validation and test logits of a softmax layer on random features of clean digits.

    Trained with ``cross_entropy(label_smoothing=eps)`` (600 full-batch Adam
    steps); the digits' 30 % test part is split in two, even rows for
    validation (fitting ``T``), odd rows for the test. Returns
    ``(z_val, y_val, z_test, y_test)``.
    """
    X_train, X_rest, y_train, y_rest = digits_split(seed)
    features = random_features(256, seed=seed)
    W, b, _ = fit_softmax(features(X_train), y_train,
                          partial(losses.cross_entropy_grad, label_smoothing=eps), 600, 0.02)
    z = features(X_rest) @ W + b
    return z[::2], y_rest[::2], z[1::2], y_rest[1::2]


@lru_cache(maxsize=4)
def fitted_temperature(seed: int = 0, eps: float = SMOOTHING) -> float:
    z_val, y_val, _, _ = calibration_logits(seed, eps)
    return fit_temperature(z_val, y_val)
