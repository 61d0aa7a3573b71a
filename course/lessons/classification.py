"""Lesson 02: linear classifiers trained under cross-entropy, hinge or squared hinge.

:func:`two_blobs` and :func:`mislabelled_point` make the data;
:func:`train_linear` is the small training loop (Nesterov gradient descent
on the gradients of :mod:`course.losses`) both the widget and the lesson use.
"""

from __future__ import annotations

import numpy as np

from course import losses

MARGIN_LOSSES = {
    "cross_entropy": "cross-entropy (logistic)",
    "hinge": "hinge",
    "squared_hinge": "squared hinge",
}


LAM = 0.02  # strength of the L2 penalty on the weights (not on the bias)


STEPS = 400


# ----------------------------------------------------------------- data
def two_blobs(seed: int = 0, n_per_class: int = 25, n_far: int = 12):
    """A 2-D data set with labels in {-1, +1}.

    Class -1 is one blob left of the origin; class +1 is a blob just right
    of it plus ``n_far`` easy points far down to the right. The easy points
    are classified correctly with a wide margin by any sensible boundary,
    which is what separates the hinge loss (it ignores them) from
    cross-entropy (it never quite does).
    """
    rng = np.random.default_rng(seed)
    negative = rng.normal([-1.5, 0.0], [0.7, 0.9], (n_per_class, 2))
    near = rng.normal([1.0, 0.5], [0.5, 0.7], (n_per_class - n_far, 2))
    far = rng.normal([3.5, -2.5], [0.4, 0.4], (n_far, 2))
    X = np.vstack([negative, near, far])
    y = np.r_[-np.ones(n_per_class), np.ones(n_per_class)]
    return X, y


def mislabelled_point(distance: float) -> np.ndarray:
    """The widget's extra point labelled +1: ``distance`` up and left of (0, 0.5).

    That direction leads into (and past) class -1's blob, and a point there
    tilts the boundary as well as shifting it.
    """
    return np.array([0.0, 0.5]) + float(distance) * np.array([-1.0, 1.0]) / np.sqrt(2.0)


# -------------------------------------------------------------- training
def margin_loss(scores, y, loss: str, grad: bool = False):
    """Mean loss (or, with ``grad=True``, its gradient w.r.t. the scores) for labels in {-1, +1}.

    "cross_entropy" is binary cross-entropy on the logit ``score`` (targets
    mapped to {0, 1}); "hinge" and "squared_hinge" are
    :func:`course.losses.hinge_loss` with margin 1.
    """
    if loss == "cross_entropy":
        fn = losses.binary_cross_entropy_with_logits_grad if grad else \
            losses.binary_cross_entropy_with_logits
        return fn(scores, (y + 1) / 2)
    if loss in ("hinge", "squared_hinge"):
        fn = losses.hinge_loss_grad if grad else losses.hinge_loss
        return fn(scores, y, squared=loss == "squared_hinge")
    raise ValueError(f"loss must be one of {sorted(MARGIN_LOSSES)}, got {loss!r}")


def train_linear(X, y, loss: str = "cross_entropy", steps: int = STEPS, lam: float = LAM,
                 momentum: float = 0.9) -> dict:
    """Fit ``score = X @ w + b`` by gradient descent on mean loss + ``lam`` * ½‖w‖².

    Nesterov's accelerated gradient descent: the gradient (from
    :mod:`course.losses`) is taken at a look-ahead point ``theta + momentum * v``.
    The step is 1/L, with L the smoothness constant of the objective: the
    largest eigenvalue of the design's second-moment matrix times the loss's
    largest curvature (¼ for cross-entropy, 2 for squared hinge). The hinge
    loss has a kink, where a fixed step keeps zig-zagging around the
    minimum; for it the step is halved every ``steps // 10`` steps so that
    the zig-zag shrinks.

    Returns a dict with ``w`` (2,), ``b``, ``history`` (objective at each
    step's iterate, before the step) and ``lr`` (the first step size).
    """
    if loss not in MARGIN_LOSSES:
        raise ValueError(f"loss must be one of {sorted(MARGIN_LOSSES)}, got {loss!r}")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    design = np.column_stack([X, np.ones(len(X))])
    second_moment = np.linalg.eigvalsh(design.T @ design / len(X)).max()
    curvature = 2.0 if loss == "squared_hinge" else 0.25
    lr = 1.0 / (curvature * second_moment + lam)
    halve_every = max(steps // 10, 1) if loss == "hinge" else None
    theta, velocity = np.zeros(3), np.zeros(3)
    history = np.empty(steps)

    def objective(params):
        return float(margin_loss(design @ params, y, loss) + lam * losses.l2_penalty(params[:2]))

    def gradient(params):
        grad = design.T @ margin_loss(design @ params, y, loss, grad=True)
        grad[:2] += lam * losses.l2_penalty_grad(params[:2])
        return grad

    for step in range(steps):
        history[step] = objective(theta)
        step_size = lr * 0.5 ** (step // halve_every) if halve_every else lr
        grad = gradient(theta + momentum * velocity)
        velocity = momentum * velocity - step_size * grad
        theta = theta + velocity
    return {"w": theta[:2].copy(), "b": float(theta[2]), "history": history, "lr": lr}


def boundary_angle(w) -> float:
    """Direction of the normal vector ``w`` in degrees (0 = pointing right)."""
    return float(np.degrees(np.arctan2(w[1], w[0])))


def boundary_line(w, b, xs):
    """y-coordinates of the line ``w[0] x + w[1] y + b = 0`` at ``xs``."""
    return -(w[0] * np.asarray(xs) + b) / w[1]
