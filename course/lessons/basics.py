"""Lesson 00 helpers: a one-parameter model, its loss, its gradient, one step.

Two tiny models carry the whole of lesson 00:

* a line through the origin, ``prediction = w * x``, scored by the mean
  squared error ``L(w) = mean((w x - y)^2)`` (:func:`slope_loss`);
* a threshold classifier that says "class 1" when ``x > threshold``, scored
  by its accuracy (:func:`threshold_accuracy`) or, in its soft form
  ``p = sigmoid(sharpness * (x - threshold))``, by binary cross-entropy
  (:func:`threshold_cross_entropy`).

The losses themselves come from :mod:`course.losses`; this module only
chains them through the models (``dL/dw = sum_i dL/dprediction_i * x_i``).
Functions that are also exercise references (``gradient_descent_step``,
``numerical_derivative``, ``threshold_accuracy``) validate their input like
a library loss does: equal 1-D shapes, ``ValueError`` otherwise.
"""

from __future__ import annotations

import numpy as np

from course import losses
from course.gradcheck import numerical_gradient

__all__ = [
    "slope_loss", "slope_loss_derivative", "gradient_descent_step", "gradient_descent",
    "numerical_derivative", "best_slope",
    "threshold_accuracy", "threshold_logits", "threshold_cross_entropy",
    "threshold_cross_entropy_derivative", "accuracy_derivative",
    "screening_data", "screening_log_odds",
]


def _pair(x, y) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float64 1-D arrays of one shape, or ValueError."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D (one feature per sample), got shape {x.shape}")
    if y.shape != x.shape:
        raise ValueError(f"y must have the same shape as x {x.shape}, got {y.shape}")
    return x, y


# ------------------------------------------------ a line through the origin
def slope_loss(w: float, x, y) -> np.ndarray:
    r"""Mean squared error of the model ``prediction = w * x``.

    .. math:: L(w) = \frac1N \sum_i (w x_i - y_i)^2

    Returns a 0-d float64 array. The loss is :func:`course.losses.mse_loss`.
    """
    x, y = _pair(x, y)
    return losses.mse_loss(float(w) * x, y)


def slope_loss_derivative(w: float, x, y) -> np.ndarray:
    r"""dL/dw for :func:`slope_loss`, by the chain rule.

    .. math:: \frac{dL}{dw} = \sum_i \frac{\partial L}{\partial \hat y_i}\, x_i
              = \frac2N \sum_i (w x_i - y_i)\, x_i

    The per-prediction gradient is :func:`course.losses.mse_loss_grad`.
    """
    x, y = _pair(x, y)
    return np.asarray(np.sum(losses.mse_loss_grad(float(w) * x, y) * x))


def gradient_descent_step(w: float, x, y, learning_rate: float) -> np.ndarray:
    r"""One step of gradient descent on :func:`slope_loss`.

    .. math:: w \leftarrow w - \eta\, \frac{dL}{dw}(w)

    Parameters
    ----------
    w : float
        The current slope.
    x, y : array_like, shape (N,)
        Inputs and targets.
    learning_rate : float
        The step size :math:`\eta > 0`.

    Returns
    -------
    numpy.ndarray
        The new slope, a 0-d float64 array.

    References
    ----------
    Cauchy (1847), "Méthode générale pour la résolution des systèmes
    d'équations simultanées".
    """
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a finite number > 0, got {learning_rate!r}")
    return np.asarray(float(w) - learning_rate * slope_loss_derivative(w, x, y))


def gradient_descent(w0: float, x, y, learning_rate: float, steps: int) -> np.ndarray:
    """The slopes visited by ``steps`` gradient-descent steps from ``w0`` (``steps + 1`` values)."""
    path = [float(w0)]
    for _ in range(steps):
        path.append(float(gradient_descent_step(path[-1], x, y, learning_rate)))
    return np.array(path)


def best_slope(x, y) -> float:
    r"""The minimiser of :func:`slope_loss` in closed form: :math:`\sum x_i y_i / \sum x_i^2`."""
    x, y = _pair(x, y)
    return float(np.dot(x, y) / np.dot(x, x))


def numerical_derivative(w: float, x, y, eps: float = 1e-6) -> np.ndarray:
    r"""Central-difference estimate of dL/dw for :func:`slope_loss`.

    .. math:: \frac{dL}{dw} \approx \frac{L(w + \varepsilon) - L(w - \varepsilon)}{2\varepsilon}

    The error is :math:`O(\varepsilon^2)` for smooth ``L``; for this quadratic
    loss the central difference is exact for every ``eps`` (up to
    rounding), while the forward difference is off by :math:`\varepsilon L''/2`.
    Uses :func:`course.gradcheck.numerical_gradient`.
    """
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    x, y = _pair(x, y)
    return np.asarray(numerical_gradient(slope_loss, float(w), x, y, argnum=0, eps=eps))


# --------------------------------------------------- a threshold classifier
def _labels(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = _pair(x, y)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold class labels 0 and 1 only")
    return x, y


def threshold_accuracy(x, y, threshold: float) -> np.ndarray:
    r"""Accuracy of the rule "predict 1 when ``x > threshold``, else 0".

    .. math:: \mathrm{acc}(t) = \frac1N \sum_i [\,[x_i > t] = y_i\,]

    A point exactly at the threshold is predicted 0. As a function of ``t``
    this is a staircase: it changes only when ``t`` crosses a data point, so
    its derivative is zero almost everywhere.

    Parameters
    ----------
    x : array_like, shape (N,)
        One feature per sample.
    y : array_like, shape (N,)
        Labels, 0 or 1.
    threshold : float

    Returns
    -------
    numpy.ndarray
        A 0-d float64 array in [0, 1].
    """
    x, y = _labels(x, y)
    predicted = (x > threshold).astype(np.float64)
    return np.asarray(np.mean(predicted == y))


def threshold_logits(x, threshold: float, sharpness: float = 1.0) -> np.ndarray:
    """Logits of the soft threshold classifier: ``sharpness * (x - threshold)``."""
    return sharpness * (np.asarray(x, dtype=np.float64) - threshold)


def threshold_cross_entropy(x, y, threshold: float, sharpness: float = 1.0) -> np.ndarray:
    r"""Mean binary cross-entropy of ``p = sigmoid(sharpness * (x - threshold))``.

    .. math:: L(t) = -\frac1N \sum_i \big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\big]

    Computed from the logits with
    :func:`course.losses.binary_cross_entropy_with_logits` (stable for any
    logit). Unlike accuracy it is smooth in ``t``.
    """
    x, y = _labels(x, y)
    return losses.binary_cross_entropy_with_logits(threshold_logits(x, threshold, sharpness), y)


def threshold_cross_entropy_derivative(x, y, threshold: float, sharpness: float = 1.0) -> np.ndarray:
    r"""dL/dt of :func:`threshold_cross_entropy`.

    With :math:`z_i = s(x_i - t)`, :math:`dz_i/dt = -s`, so
    :math:`dL/dt = -s \sum_i \partial L/\partial z_i = -\frac sN \sum_i (p_i - y_i)`.
    """
    x, y = _labels(x, y)
    grad = losses.binary_cross_entropy_with_logits_grad(threshold_logits(x, threshold, sharpness), y)
    return np.asarray(-sharpness * np.sum(grad))


def accuracy_derivative(x, y, threshold: float, eps: float = 1e-4) -> np.ndarray:
    """Central-difference slope of :func:`threshold_accuracy` in the threshold.

    Zero unless a data point lies within ``eps`` of the threshold; then it is
    a spike of size ``1 / (2 N eps)``: the derivative of a step.
    """
    x, y = _labels(x, y)
    return np.asarray(numerical_gradient(
        lambda t: threshold_accuracy(x, y, float(t)), float(threshold), eps=eps))


# ------------------------------------------------ a rare class (lesson 00 §2)
def screening_data(n: int = 1000, positive_rate: float = 0.01, separation: float = 2.5,
                   seed: int = 0):
    """Scores and labels for a rare-event screen (fraud, disease).

    Exactly ``round(n * positive_rate)`` positives. Negatives score
    ``N(0, 1)``, positives ``N(separation, 1)``. Returns ``(score, label)``.
    """
    rng = np.random.default_rng(seed)
    positives = int(round(n * positive_rate))
    score = np.concatenate([rng.normal(0.0, 1.0, n - positives),
                            rng.normal(separation, 1.0, positives)])
    label = np.concatenate([np.zeros(n - positives), np.ones(positives)])
    return score, label


def screening_log_odds(score, positive_rate: float = 0.01, separation: float = 2.5) -> np.ndarray:
    r"""The true log-odds of "positive" given the score, for :func:`screening_data`.

    Bayes' rule with two unit-variance Gaussians:

    .. math:: \log\frac{p(1\mid s)}{p(0\mid s)} = \log\frac{\pi}{1-\pi} + \mu s - \tfrac12\mu^2

    where :math:`\pi` is ``positive_rate`` and :math:`\mu` the separation.
    These are the logits of the best possible probabilistic classifier.
    """
    score = np.asarray(score, dtype=np.float64)
    prior = np.log(positive_rate / (1.0 - positive_rate))
    return prior + separation * score - 0.5 * separation**2


def exam_data(n: int = 24, seed: int = 3):
    """Hours studied ``x`` and pass (1) / fail (0) ``y`` for ``n`` students.

    Half fail (hours around 3), half pass (hours around 5); the groups
    overlap, so no threshold separates them perfectly. Sorted by hours.
    """
    rng = np.random.default_rng(seed)
    half = n // 2
    x = np.concatenate([rng.normal(3.0, 1.1, half), rng.normal(5.0, 1.1, n - half)])
    x = np.clip(x, 0.2, 7.8)
    y = np.concatenate([np.zeros(half), np.ones(n - half)])
    order = np.argsort(x)
    return x[order], y[order]
