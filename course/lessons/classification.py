"""Lesson 02: linear classifiers trained under cross-entropy, hinge or squared hinge.

:func:`two_blobs` and :func:`mislabelled_point` make the data;
:func:`train_linear` is the small training loop (Nesterov gradient descent
on the gradients of :mod:`course.losses`) both the widget and the lesson use.
"""

from __future__ import annotations

import numpy as np

from course import losses, metrics

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


# ------------------------------------------------------------ multi-label
TAGS = ("even", "greater than 4", "has a loop")
LOOP_DIGITS = (0, 6, 8, 9)  # the convention: a 4 is counted open, as most people write it


def digit_tags(digits) -> np.ndarray:
    """Three yes/no tags per digit, shape (N, 3), float 0/1, in the order of :data:`TAGS`.

    "even", "greater than 4" and "has a loop"; a digit can carry any number
    of them (1 and 3 carry none, 6 and 8 all three), which is what makes
    the problem multi-label rather than multiclass.
    """
    d = np.asarray(digits)
    if d.ndim != 1 or d.dtype.kind not in "iu" or (d.size and (d.min() < 0 or d.max() > 9)):
        raise ValueError(f"digits must be a 1-D integer array of values 0-9, got {d.dtype} {d.shape}")
    return np.column_stack([d % 2 == 0, d > 4, np.isin(d, LOOP_DIGITS)]).astype(np.float64)


def thumbnails(images) -> np.ndarray:
    """Shrink 8x8 digit images, given as rows of 64 pixels, to 4x4 (means of 2x2 blocks): (N, 16)."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 2 or images.shape[1] != 64:
        raise ValueError(f"images must have shape (N, 64), got {images.shape}")
    return images.reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16)


def multilabel_split(seed: int = 0, n_train: int = 900, n_val: int = 450) -> dict:
    """sklearn's digits as 4x4 thumbnails with their tags, split at random into train / val / test.

    Returns a dict with ``X_train, Y_train, X_val, Y_val, X_test, Y_test``
    (``X``: (n, 16) pixels, ``Y``: (n, 3) tags) and ``digits_test``.
    """
    from course.data import digits as load_digits

    images, labels = load_digits()
    if n_train < 1 or n_val < 1 or n_train + n_val >= len(labels):
        raise ValueError(f"n_train and n_val must be positive and leave a test split, got {n_train}, {n_val}")
    order = np.random.default_rng(seed).permutation(len(labels))
    parts = {"train": order[:n_train], "val": order[n_train:n_train + n_val], "test": order[n_train + n_val:]}
    X, Y = thumbnails(images), digit_tags(labels)
    split = {f"{letter}_{name}": array[index] for name, index in parts.items()
             for letter, array in (("X", X), ("Y", Y))}
    split["digits_test"] = labels[parts["test"]]
    return split


def train_multilabel(X, Y, steps: int = 300, lam: float = 1e-3, momentum: float = 0.9):
    """One sigmoid per label: logits ``X @ W + b`` trained on mean BCE-with-logits + ``lam``·½‖W‖².

    The loss and its gradient are :func:`course.losses.binary_cross_entropy_with_logits`
    over all N x K entries; the optimiser is Nesterov's accelerated gradient
    with step ``1/(smoothness + lam)`` (smoothness: the largest eigenvalue of
    the design's second moment times ¼, the sigmoid's largest slope, over K
    because the mean runs over K labels too). Returns ``(W, b)`` of shapes (D, K), (K,).
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise ValueError(f"X must be (N, D) and Y (N, K) with the same N, got {X.shape} and {Y.shape}")
    design = np.column_stack([X, np.ones(len(X))])
    step = 1.0 / (np.linalg.eigvalsh(design.T @ design / len(X)).max() / (4.0 * Y.shape[1]) + lam)
    params, velocity = np.zeros((design.shape[1], Y.shape[1])), np.zeros((design.shape[1], Y.shape[1]))
    for _ in range(steps):
        ahead = params + momentum * velocity
        grad = design.T @ losses.binary_cross_entropy_with_logits_grad(design @ ahead, Y)
        grad[:-1] += lam * losses.l2_penalty_grad(ahead[:-1])
        velocity = momentum * velocity - step * grad
        params = params + velocity
    return params[:-1], params[-1]


def tune_thresholds(probs, Y, grid=None) -> np.ndarray:
    """For each label, the threshold of ``grid`` with the highest F1 on ``(probs, Y)``: shape (K,).

    Choose it on a validation split, never on the test split. Ties go to
    the lowest threshold. F1 comes from :func:`course.metrics.f1`.
    """
    probs, Y = np.asarray(probs, dtype=np.float64), np.asarray(Y)
    if probs.ndim != 2 or probs.shape != Y.shape:
        raise ValueError(f"probs and Y must both be (N, K), got {probs.shape} and {Y.shape}")
    grid = np.linspace(0.05, 0.95, 91) if grid is None else np.asarray(grid, dtype=np.float64)
    return np.array([grid[np.argmax([metrics.f1(probs[:, k], Y[:, k], threshold=t) for t in grid])]
                     for k in range(Y.shape[1])])


def per_label_scores(probs, Y, thresholds) -> dict:
    """Precision, recall and F1 of each label at its own threshold: a dict of (K,) arrays."""
    probs, Y = np.asarray(probs, dtype=np.float64), np.asarray(Y)
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (probs.shape[-1],))
    if probs.ndim != 2 or probs.shape != Y.shape:
        raise ValueError(f"probs and Y must both be (N, K), got {probs.shape} and {Y.shape}")
    return {name: np.array([score(probs[:, k], Y[:, k], threshold=t) for k, t in enumerate(thresholds)])
            for name, score in (("precision", metrics.precision), ("recall", metrics.recall),
                                ("f1", metrics.f1))}
