"""Loss landscapes: pictures of a loss over parameter space, and how to measure them.

Two halves, one per lesson-05 scale:

* **Two parameters** (pure NumPy, this module): a linear model whose mean
  squared error is a convex bowl, and a two-unit tanh network whose same
  loss has a saddle, plateaus and two minima of different depth; momentum
  gradient descent on either; the tools behind the exercises
  (:func:`filter_normalize`, :func:`top_eigenvalue`, :func:`logistic_hvp`,
  :func:`quadratic_momentum_path`).
* **Thousands of parameters** (torch, in :mod:`course.lessons._landscape_torch`, loaded
  only when one of its names is first used): a small MLP on sklearn's
  digits, linear interpolation (Goodfellow et al. 2015), filter-normalised
  slices (Li et al. 2018), sharpness as the top Hessian eigenvalue, and the
  layer rescaling of Dinh et al. (2017).

Every loss value here comes from :mod:`course.losses` (``mse_loss`` and
``binary_cross_entropy_with_logits`` and their gradients).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from course import losses

__all__ = [
    "PROBLEMS", "named_problem", "named_surface", "minima", "curvature_bound",
    "TwoParameterProblem", "bowl_problem", "two_unit_net_problem", "loss_surface",
    "gradient_descent_path", "quadratic_momentum_path", "filter_normalize",
    "power_iteration", "top_eigenvalue", "logistic_hvp", "logistic_grad", "finite_difference_hvp",
    "logistic_hessian", "loss_along_segment",
]

# the torch half, resolved lazily by __getattr__ (importing torch takes a second or two)
_TORCH_NAMES = frozenset({
    "digits_data", "init_mlp", "mlp_logits", "mlp_loss", "mlp_accuracy", "mlp_gradient", "train_mlp",
    "hessian_vector_product", "sharpness", "random_direction", "filter_normalize_direction",
    "interpolation_losses", "slice_1d", "slice_2d", "rescale_layer", "flatten", "copy_of",
})


def __getattr__(name: str):
    """Import the torch half only when a lesson first asks for it."""
    if name in _TORCH_NAMES:
        from course.lessons import _landscape_torch

        return getattr(_landscape_torch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _TORCH_NAMES)


# ------------------------------------------------------------- two parameters
@dataclass(frozen=True)
class TwoParameterProblem:
    """A model with two parameters ``w = (w1, w2)``, fitted by mean squared error.

    ``predict(w1, w2, x)`` and ``predict_grad(w1, w2, x)`` broadcast: ``w1``
    and ``w2`` may be grids of shape ``G``; predictions then have shape
    ``G + (n,)`` and ``predict_grad`` returns the pair of partial derivatives,
    each of that shape.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    predict: Callable
    predict_grad: Callable
    extent: tuple[float, float, float, float]  # w1 min, w1 max, w2 min, w2 max
    labels: tuple[str, str] = ("w1", "w2")

    def loss(self, w1, w2) -> np.ndarray:
        """Mean squared error at ``(w1, w2)``; grids give a grid of losses."""
        prediction = self.predict(np.asarray(w1, dtype=float)[..., None],
                                  np.asarray(w2, dtype=float)[..., None], self.x)
        target = np.broadcast_to(self.y, prediction.shape)
        return losses.mse_loss(prediction, target, reduction="none").mean(axis=-1)

    def grad(self, w) -> np.ndarray:
        """Gradient of :meth:`loss` at one point ``w`` (shape ``(2,)``), by the chain rule."""
        w1, w2 = np.asarray(w, dtype=float)
        prediction = self.predict(w1, w2, self.x)
        d_prediction = losses.mse_loss_grad(prediction, self.y, reduction="mean")
        d_w1, d_w2 = self.predict_grad(w1, w2, self.x)
        return np.array([np.sum(d_prediction * d_w1), np.sum(d_prediction * d_w2)])


def bowl_problem(n: int = 30, noise: float = 0.3, seed: int = 0) -> TwoParameterProblem:
    """A line ``y_hat = w1 x + w2`` fitted to noisy points of ``y = 1.5 x - 1`` on ``[0, 2]``.

    The loss is a quadratic in ``(w1, w2)``: a convex bowl with one minimum,
    the least-squares fit. Its Hessian is constant,
    ``H = (2/n) [[sum x², sum x], [sum x, n]]``; because the inputs are not
    centred the bowl is a long, tilted valley (condition number about 14).
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 2.0, n)
    y = 1.5 * x - 1.0 + rng.normal(0.0, noise, n)
    return TwoParameterProblem(
        "linear model (convex bowl)", x, y,
        predict=lambda w1, w2, x: w1 * x + w2,
        predict_grad=lambda w1, w2, x: (np.broadcast_to(x, np.broadcast(w1, x).shape),
                                        np.ones(np.broadcast(w2, x).shape)),
        extent=(-4.0, 4.0, -4.0, 4.0), labels=("slope w1", "intercept w2"))


NET_BIAS, NET_OUTPUT_WEIGHT, NET_TEACHER = 1.0, 0.7, (2.0, -1.0)


def two_unit_net_problem(n: int = 40, noise: float = 0.05, seed: int = 0) -> TwoParameterProblem:
    """A two-unit tanh network with two trainable weights, on data from a teacher network.

    ``y_hat = tanh(w1 x + 1) + 0.7 tanh(w2 x + 1)``: one hidden layer of two
    tanh units whose input weights ``w1, w2`` are trained, with biases and
    output weights held fixed. Targets come from the same network at
    ``(w1, w2) = (2, -1)`` plus Gaussian noise. The mean squared error of
    this model has a deep minimum near the teacher, a shallower one near
    ``(-0.65, 3)``, a saddle between them and plateaus where the units saturate.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(-2.0, 2.0, n)

    def predict(w1, w2, x):
        return np.tanh(w1 * x + NET_BIAS) + NET_OUTPUT_WEIGHT * np.tanh(w2 * x + NET_BIAS)

    def predict_grad(w1, w2, x):
        return (x * (1.0 - np.tanh(w1 * x + NET_BIAS) ** 2),
                NET_OUTPUT_WEIGHT * x * (1.0 - np.tanh(w2 * x + NET_BIAS) ** 2))

    y = predict(*NET_TEACHER, x) + rng.normal(0.0, noise, n)
    return TwoParameterProblem("two-unit tanh network", x, y, predict, predict_grad,
                               extent=(-4.0, 4.0, -4.0, 4.0))


def loss_surface(problem: TwoParameterProblem, n: int = 101) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The loss on an ``n x n`` grid over ``problem.extent``: ``(W1, W2, L)``, each ``(n, n)``.

    Rows run along ``w2`` and columns along ``w1`` (``np.meshgrid``'s "xy"
    order), so ``plt.contour(W1, W2, L)`` draws it directly.
    """
    lo1, hi1, lo2, hi2 = problem.extent
    w1, w2 = np.meshgrid(np.linspace(lo1, hi1, n), np.linspace(lo2, hi2, n))
    return w1, w2, problem.loss(w1, w2)


def gradient_descent_path(grad_fn: Callable, start, lr: float, momentum: float = 0.0,
                          steps: int = 50, escape: float = 1e6) -> np.ndarray:
    """Heavy-ball gradient descent from ``start``; returns every iterate, shape ``(k + 1, d)``.

    ``v ← momentum · v - lr · grad(w)``, then ``w ← w + v``, from ``v = 0``
    (Polyak 1964; PyTorch's SGD with ``momentum`` and ``dampening=0`` takes
    the same steps). With ``momentum = 0`` this is plain gradient descent.
    A run that diverges stops early, at the first iterate with a coordinate
    beyond ``escape``, so ``k <= steps``.
    """
    if lr <= 0 or not 0 <= momentum < 1 or steps < 0:
        raise ValueError(f"need lr > 0, 0 <= momentum < 1 and steps >= 0; got {lr}, {momentum}, {steps}")
    w = np.array(start, dtype=float)
    velocity = np.zeros_like(w)
    path = [w.copy()]
    for _ in range(steps):
        velocity = momentum * velocity - lr * grad_fn(w)
        w = w + velocity
        path.append(w.copy())
        if not np.all(np.abs(w) < escape):
            break
    return np.array(path)


def quadratic_momentum_path(A, b, start, lr: float, momentum: float, steps: int) -> np.ndarray:
    """Heavy-ball iterates on ``f(w) = ½ wᵀ A w - bᵀ w`` (gradient ``A w - b``): exercise reference.

    Returns an array of shape ``(steps + 1, d)`` whose first row is ``start``.
    On a quadratic, plain gradient descent converges exactly when
    ``lr < 2 / λ_max(A)``; with momentum ``m`` the bound is ``2 (1 + m) / λ_max``.
    """
    A, b, w = (np.asarray(a, dtype=float) for a in (A, b, start))
    d = w.shape[0] if w.ndim == 1 else -1
    if w.ndim != 1 or A.shape != (d, d) or b.shape != (d,):
        raise ValueError(f"start must be (d,), A (d, d) and b (d,); got {w.shape}, {A.shape}, {b.shape}")
    velocity = np.zeros_like(w)
    path = np.empty((int(steps) + 1, d))
    path[0] = w
    for t in range(int(steps)):
        velocity = momentum * velocity - lr * (A @ w - b)
        w = w + velocity
        path[t + 1] = w
    return path


# ------------------------------------------------------ high-dimensional tools
def filter_normalize(direction, weights, eps: float = 1e-10) -> np.ndarray:
    """Rescale each filter of ``direction`` to the norm of the same filter of ``weights``.

    A *filter* is a slice along the first axis: one row of a dense layer's
    weight matrix in PyTorch's ``(out, in)`` layout (the weights into one
    unit), one ``(in, kh, kw)`` kernel of a convolution. Li et al. (2018):

        d_i  ←  d_i / (‖d_i‖ + eps) · ‖w_i‖

    so that a step of size 1 along the direction changes each unit by as
    much as its own weights are large, whatever scale the layer happens to
    have. ``eps`` keeps a zero filter at zero. float32 stays float32.

    Reference: H. Li, Z. Xu, G. Taylor, C. Studer, T. Goldstein, "Visualizing
    the Loss Landscape of Neural Nets", NeurIPS 2018, section 4.
    """
    d = np.asarray(direction)
    w = np.asarray(weights)
    if d.ndim == 0 or d.shape != w.shape:
        raise ValueError(f"direction and weights must have the same shape with ndim >= 1; "
                         f"got {d.shape} and {w.shape}")
    dtype = np.result_type(d.dtype, w.dtype, np.float32)
    d, w = d.astype(dtype), w.astype(dtype)
    axes = tuple(range(1, d.ndim))
    d_norm = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
    w_norm = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
    return (d / (d_norm + dtype.type(eps)) * w_norm).astype(dtype)


def power_iteration(matvec: Callable, v0, steps: int = 100) -> tuple[float, np.ndarray]:
    """Largest-magnitude eigenvalue of a symmetric operator given only as ``v -> M v``.

    ``v ← M v / ‖M v‖`` repeated ``steps`` times from ``v0 / ‖v0‖``; the
    estimate is the Rayleigh quotient ``vᵀ M v`` of the last iterate before
    its final normalisation. The error shrinks like ``(λ₂/λ₁)^(2k)``.
    Returns ``(eigenvalue, unit eigenvector)``.
    """
    v = np.asarray(v0, dtype=float)
    norm = np.linalg.norm(v)
    if norm == 0 or steps < 1:
        raise ValueError("v0 must be non-zero and steps >= 1")
    v = v / norm
    eigenvalue = 0.0
    for _ in range(int(steps)):
        product = np.asarray(matvec(v), dtype=float)
        eigenvalue = float(v @ product)
        size = np.linalg.norm(product)
        if size == 0:
            return 0.0, v
        v = product / size
    return eigenvalue, v


def top_eigenvalue(matrix, v0, steps: int) -> np.float64:
    """Power iteration on a symmetric ``(n, n)`` matrix from ``v0``: exercise reference.

    Returns the Rayleigh-quotient estimate of the largest-magnitude
    eigenvalue after ``steps`` matrix-vector products (sign included: a
    dominant negative eigenvalue comes back negative).
    """
    matrix, v0 = np.asarray(matrix, dtype=float), np.asarray(v0, dtype=float)
    n = matrix.shape[0] if matrix.ndim == 2 else -1
    if matrix.shape != (n, n) or v0.shape != (n,):
        raise ValueError(f"matrix must be (n, n) and v0 (n,); got {matrix.shape} and {v0.shape}")
    if not np.any(v0):
        raise ValueError("v0 must be non-zero")
    return np.float64(power_iteration(lambda v: matrix @ v, v0, steps)[0])


def logistic_hvp(w, X, y, v) -> np.ndarray:
    """Hessian-vector product ``H v`` of the mean logistic loss, without forming ``H``.

    ``L(w) = mean_i BCEWithLogits(x_i · w, y_i)`` has gradient
    ``Xᵀ (σ(X w) - y) / n`` and Hessian ``Xᵀ diag(σ(1 - σ)) X / n``, so

        H v = Xᵀ (σ(X w) ⊙ (1 - σ(X w)) ⊙ (X v)) / n,

    two matrix-vector products. Note that ``y`` drops out: the curvature of
    the logistic loss does not depend on the labels. Exercise reference;
    a central difference of the gradient,
    ``(∇L(w + εv) - ∇L(w - εv)) / 2ε``, agrees to about ``ε²``.
    """
    w, X, y, v = (np.asarray(a, dtype=float) for a in (w, X, y, v))
    if X.ndim != 2 or w.shape != (X.shape[1],) or v.shape != w.shape or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d), w and v (d,), y (n,); got X {X.shape}, w {w.shape}, "
                         f"v {v.shape}, y {y.shape}")
    p = losses.sigmoid(X @ w)
    return X.T @ (p * (1.0 - p) * (X @ v)) / X.shape[0]


def logistic_hessian(w, X) -> np.ndarray:
    """The Hessian ``Xᵀ S X / n`` of the mean logistic loss, ``S = diag(σ(X w) (1 - σ(X w)))``: (d, d).

    It is positive semidefinite at every ``w``: for any ``v``,
    ``vᵀ H v = mean_i σ_i (1 - σ_i) (x_i · v)² ≥ 0``, so the logistic loss of a
    linear model is convex in its weights (Boyd and Vandenberghe, *Convex
    Optimization*, 2004, sections 3.1.4 and 3.2.2). Directions ``v`` with
    ``X v = 0`` have zero curvature: there the loss is flat, convex but not
    strictly. The labels do not appear (see :func:`logistic_hvp`).
    """
    w, X = np.asarray(w, dtype=float), np.asarray(X, dtype=float)
    if X.ndim != 2 or w.shape != (X.shape[1],):
        raise ValueError(f"X must be (n, d) and w (d,); got X {X.shape}, w {w.shape}")
    p = losses.sigmoid(X @ w)
    return X.T @ ((p * (1.0 - p))[:, None] * X) / X.shape[0]


def loss_along_segment(problem: TwoParameterProblem, start, end, n: int = 101):
    """The loss on the straight segment from ``start`` to ``end`` and the chord between its ends.

    Returns ``(t, loss, chord)``, each of shape ``(n,)``, with ``t`` from 0 to 1,
    ``loss[k] = L((1 - t_k) start + t_k end)`` and ``chord[k] = (1 - t_k) L(start) + t_k L(end)``.
    A convex loss never rises above its chord, on any segment: that is the definition.
    """
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if start.shape != (2,) or end.shape != (2,) or n < 2:
        raise ValueError(f"start and end must be (2,) and n >= 2; got {start.shape}, {end.shape}, {n}")
    t = np.linspace(0.0, 1.0, n)
    points = (1.0 - t)[:, None] * start + t[:, None] * end
    loss = problem.loss(points[:, 0], points[:, 1])
    return t, loss, (1.0 - t) * loss[0] + t * loss[-1]


def logistic_grad(w, X, y) -> np.ndarray:
    """Gradient of the mean logistic loss, from ``course.losses`` by the chain rule."""
    return X.T @ losses.binary_cross_entropy_with_logits_grad(X @ w, y, reduction="mean")


def finite_difference_hvp(grad_fn: Callable, w, v, eps: float = 1e-4) -> np.ndarray:
    """``H v ≈ (∇f(w + εv) - ∇f(w - εv)) / 2ε``: a Hessian-vector product from two gradients."""
    w, v = np.asarray(w, dtype=float), np.asarray(v, dtype=float)
    return (grad_fn(w + eps * v) - grad_fn(w - eps * v)) / (2 * eps)


# the descent widget's landscapes, by name
PROBLEMS = {"bowl": bowl_problem, "two-unit net": two_unit_net_problem}


# known minima, for markers: found once by running long gradient descent from nearby points
_MINIMUM_STARTS = {"bowl": [(1.0, 0.0)], "two-unit net": [(2.0, -1.0), (-0.6, 3.0)]}


@lru_cache(maxsize=None)
def named_problem(name: str) -> TwoParameterProblem:
    if name not in PROBLEMS:
        raise ValueError(f"landscape must be one of {sorted(PROBLEMS)}, got {name!r}")
    return PROBLEMS[name]()


@lru_cache(maxsize=None)
def named_surface(name: str, n: int = 121):
    """``(W1, W2, loss)`` on an ``n x n`` grid, computed once per landscape (read-only)."""
    arrays = loss_surface(named_problem(name), n)
    for a in arrays:
        a.flags.writeable = False
    return arrays


@lru_cache(maxsize=None)
def minima(name: str) -> tuple:
    """The landscape's minima as ``((w1, w2), loss)`` pairs, deepest first."""
    found = []
    for start in _MINIMUM_STARTS[name]:
        w = gradient_descent_path(named_problem(name).grad, start, lr=0.3, momentum=0.8, steps=600)[-1]
        found.append((tuple(float(v) for v in w), float(named_problem(name).loss(*w))))
    return tuple(sorted(found, key=lambda item: item[1]))


def curvature_bound(name: str) -> float:
    """``2 / λ_max`` of the Hessian at the deepest minimum (finite differences of the gradient)."""
    point = np.array(minima(name)[0][0])
    grad = named_problem(name).grad
    hessian = np.array([finite_difference_hvp(grad, point, e, eps=1e-5) for e in np.eye(2)])
    return float(2.0 / np.linalg.eigvalsh((hessian + hessian.T) / 2)[-1])
