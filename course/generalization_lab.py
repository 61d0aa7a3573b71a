"""Lesson 10's laboratory: noisy labels, a small model on digits, calibration data.

* :func:`flip_labels`: symmetric label noise, each flipped label moved to a
  *different* class chosen uniformly;
* :func:`digits_split`: sklearn's bundled 8x8 digits, scaled and split;
* :func:`random_features`: a fixed random ReLU layer, so that a softmax layer
  on top is a wide one-hidden-layer network whose first layer is frozen;
* :func:`fit_softmax`: full-batch Adam on the softmax layer for any loss of
  :mod:`course.losses` given as its ``_grad`` function, recording test
  accuracy along the way.

The losses themselves live in :mod:`course.losses`; nothing here repeats
their formulas.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["flip_labels", "digits_split", "random_features", "fit_softmax"]


def flip_labels(labels, rate: float, num_classes: int, seed: int = 0):
    """Symmetric label noise: each label, with probability ``rate``, moves to another class.

    The new class is uniform over the ``num_classes - 1`` *other* classes, so
    every selected label really changes (Ghosh et al. 2017 call this
    symmetric noise at rate ``rate``).

    Returns ``(noisy, flipped)``: the new integer labels and a boolean mask
    of the labels that changed.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must lie in [0, 1], got {rate!r}")
    if num_classes < 2 or (y.size and (y.min() < 0 or y.max() >= num_classes)):
        raise ValueError(f"labels must lie in [0, num_classes) with num_classes >= 2, got {num_classes}")
    rng = np.random.default_rng(seed)
    flipped = rng.random(y.size) < rate
    noisy = y.astype(np.int64)
    noisy[flipped] = (noisy[flipped] + rng.integers(1, num_classes, flipped.sum())) % num_classes
    return noisy, flipped


def digits_split(seed: int = 0, test_size: float = 0.3):
    """sklearn's digits (1,797 images, 10 classes), pixels in [0, 1], a stratified split.

    Returns ``X_train, X_test, y_train, y_test``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=test_size, random_state=seed, stratify=y)


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
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    history = []
    FT = np.ascontiguousarray(F.T)
    with threadpool_limits(1):
        for t in range(1, steps + 1):
            G = loss_grad(F @ params[0] + params[1], y)
            for p, g, (m, v) in zip(params, (FT @ G, G.sum(0)), moments):
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * g * g
                p -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
            if eval_features is not None and t % eval_every == 0:
                pred = (eval_features @ params[0] + params[1]).argmax(1)
                history.append((t, float((pred == eval_labels).mean())))
    return params[0], params[1], history
