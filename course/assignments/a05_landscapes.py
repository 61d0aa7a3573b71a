"""Checks for solutions/05_landscapes.ipynb: filter normalization, power iteration,
a Hessian-vector product, heavy-ball gradient descent.

Every argument is an array or a number (no callables), so the sandboxed
grader can ship each case as plain data; the random starting vector of the
power iteration is an argument, which makes every answer deterministic.
"""

from __future__ import annotations

import numpy as np

from course.lessons import landscape as L

from .experiments import EXPERIMENTS, WRITTEN
from .spec import Assignment, Case, CaseGroup, Exercise, Mistake


# ------------------------------------------------------------ filter_normalize
def _dense(rng):
    return [Case((rng.normal(size=(4, 3)), rng.normal(0, s, size=(4, 3))), {}, f"weights of scale {s}")
            for s in (1.0, 0.1)]


def _conv(rng):
    return [Case((rng.normal(size=(3, 2, 3, 3)), rng.normal(0, 0.3, size=(3, 2, 3, 3))), {},
                 "conv kernels (out=3, in=2, 3, 3)")]


def _vector(rng):
    return [Case((rng.normal(size=5), rng.normal(size=5)), {}, "a 1-D array: each entry is a filter")]


def _zero_filter(rng):
    d = rng.normal(size=(3, 4))
    d[1] = 0.0
    return [Case((d, rng.normal(size=(3, 4))), {}, "direction with an all-zero row")]


def _float32_filter(rng):
    return [Case((rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(3, 4)).astype(np.float32)),
                 {}, "float32 inputs")]


def _filter_mismatch(rng):
    return [Case((rng.normal(size=(3, 4)), rng.normal(size=(4, 3))), {}, "direction (3, 4), weights (4, 3)")]


def _whole_tensor(direction, weights, eps=1e-10):
    d, w = np.asarray(direction, float), np.asarray(weights, float)
    return d / np.linalg.norm(d) * np.linalg.norm(w)


def _columns(direction, weights, eps=1e-10):
    d, w = np.asarray(direction, float), np.asarray(weights, float)
    return d / np.linalg.norm(d, axis=0, keepdims=True) * np.linalg.norm(w, axis=0, keepdims=True)


def _unit_rows(direction, weights, eps=1e-10):
    d = np.asarray(direction, float)
    return d / np.linalg.norm(d.reshape(len(d), -1), axis=1).reshape((-1,) + (1,) * (d.ndim - 1))


FILTER_NORMALIZE = Exercise(
    "filter_normalize",
    L.filter_normalize,
    (
        CaseGroup("dense layer: each row is a filter", _dense, points=1),
        CaseGroup("conv kernels: each slice along axis 0 is a filter", _conv, points=1),
        CaseGroup("1-D arrays", _vector, points=0.5),
        CaseGroup("a zero filter stays zero", _zero_filter, points=0.5,
                  probes="a direction with an all-zero filter"),
        CaseGroup("float32 stays float32", _float32_filter, points=0.5, probes="float32 inputs"),
    ),
    mistakes=(
        Mistake("whole tensor", "this normalizes the whole array at once; Li et al. rescale each filter "
                "(each slice along axis 0) separately", _whole_tensor),
        Mistake("columns", "this normalizes columns (axis 0 sums); a filter is a slice along axis 0, "
                "so take norms over all the *other* axes", _columns),
        Mistake("unit rows", "each filter has norm 1: multiply by the norm of the matching filter of weights",
                _unit_rows),
    ),
    summary="Li et al.'s per-filter rescaling of a random direction",
)


# --------------------------------------------------------------- top_eigenvalue
def _symmetric(rng, eigenvalues):
    q, _ = np.linalg.qr(rng.normal(size=(len(eigenvalues), len(eigenvalues))))
    return (q * np.asarray(eigenvalues, float)) @ q.T


def _converged(rng):
    cases = []
    for values in ((5.0, 2.0, 1.0), (3.0, -1.0, 0.5, 0.2)):
        v0 = rng.normal(size=len(values)) * 3
        cases.append(Case((_symmetric(rng, values), v0, 200), {}, f"eigenvalues {values}, 200 steps"))
    return cases


def _few_steps(rng):
    matrix, v0 = _symmetric(rng, (4.0, 3.0, 1.0)), rng.normal(size=3)
    return [Case((matrix, v0, k), {}, f"{k} step(s): the estimate before convergence") for k in (1, 2, 5)]


def _negative(rng):
    return [Case((_symmetric(rng, (-6.0, 3.0, 1.0)), rng.normal(size=3), 200), {},
                 "dominant eigenvalue -6")]


def _large(rng):
    values = np.concatenate([[10.0], rng.uniform(-4, 4, 19)])
    return [Case((_symmetric(rng, values), rng.normal(size=20), 300), {}, "20 x 20")]


def _bad_matrix(rng):
    return [Case((rng.normal(size=(3, 4)), rng.normal(size=3), 10), {}, "non-square matrix")]


def _norm_estimate(matrix, v0, steps):
    matrix, v = np.asarray(matrix, float), np.asarray(v0, float)
    v = v / np.linalg.norm(v)
    estimate = 0.0
    for _ in range(int(steps)):
        w = matrix @ v
        estimate = np.linalg.norm(w)
        v = w / estimate
    return np.float64(estimate)


TOP_EIGENVALUE = Exercise(
    "top_eigenvalue",
    L.top_eigenvalue,
    (
        CaseGroup("converges to the largest-magnitude eigenvalue", _converged, points=1),
        CaseGroup("exactly `steps` products, Rayleigh quotient", _few_steps, points=1, rtol=1e-8),
        CaseGroup("dominant negative eigenvalue keeps its sign", _negative, points=0.5,
                  probes="a matrix whose largest-magnitude eigenvalue is negative"),
        CaseGroup("larger matrix", _large, points=0.5, probes="a 20 x 20 matrix"),
    ),
    mistakes=(
        Mistake("norm", "‖Av‖ loses the sign of the eigenvalue (and differs before convergence): "
                "use the Rayleigh quotient v · (A v) with the unit vector v", _norm_estimate),
        Mistake("one step too many", "this is the estimate after steps + 1 products: do exactly `steps`",
                lambda matrix, v0, steps: L.top_eigenvalue(matrix, v0, steps + 1)),
    ),
    summary="power iteration for the largest-magnitude eigenvalue",
)


# ----------------------------------------------------------------- logistic_hvp
def _logistic(rng, n=20, d=3, scale=1.0):
    X = rng.normal(size=(n, d))
    return rng.normal(0, scale, d), X, (rng.random(n) < 0.5).astype(float), rng.normal(size=d)


def _hvp_cases(rng):
    return [Case(_logistic(rng), {}, "n=20, d=3"), Case(_logistic(rng, 50, 5), {}, "n=50, d=5")]


def _labels_free(rng):
    w, X, y, v = _logistic(rng)
    return [Case((w, X, y, v), {}, "labels y"), Case((w, X, 1.0 - y, v), {}, "the same data, labels flipped")]


def _saturated(rng):
    return [Case(_logistic(rng, 20, 3, scale=12.0), {}, "large logits |x·w| up to about 50")]


def _hvp_mismatch(rng):
    w, X, y, v = _logistic(rng)
    return [Case((w, X, y, v[:2]), {}, "v of the wrong length")]


def _gradient_instead(w, X, y, v):
    return L.logistic_grad(np.asarray(w, float), np.asarray(X, float), np.asarray(y, float))


def _sum_instead(w, X, y, v):
    return L.logistic_hvp(w, X, y, v) * np.asarray(X).shape[0]


def _sigma_only(w, X, y, v):
    X, w, v = (np.asarray(a, float) for a in (X, w, v))
    p = 1 / (1 + np.exp(-(X @ w)))
    return X.T @ (p * (X @ v)) / X.shape[0]


LOGISTIC_HVP = Exercise(
    "logistic_hvp",
    L.logistic_hvp,
    (
        CaseGroup("Hessian-vector product", _hvp_cases, points=1, rtol=1e-5),
        CaseGroup("the labels do not matter", _labels_free, points=1, rtol=1e-5),
        CaseGroup("large logits", _saturated, points=0.5, rtol=1e-5, atol=1e-8,
                  probes="logits of size up to about 50"),
    ),
    mistakes=(
        Mistake("gradient", "this is the gradient of the loss, not the Hessian times v", _gradient_instead),
        Mistake("sum", "n times too big: the loss is a mean over the n examples, so divide by n",
                _sum_instead),
        Mistake("sigma", "the curvature of the logistic loss is σ(z)(1 - σ(z)), not σ(z)", _sigma_only),
    ),
    summary="H v for the mean logistic loss, without forming H",
)


# ------------------------------------------------------ quadratic_momentum_path
def _quadratic(rng, d=2, condition=10.0):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    values = np.geomspace(1.0, condition, d)
    return (q * values) @ q.T, rng.normal(size=d), rng.normal(0, 3, d), float(values[-1])


def _plain(rng):
    A, b, start, top = _quadratic(rng)
    return [Case((A, b, start, f / top, 0.0, 25), {}, f"lr = {f}/λmax, no momentum") for f in (0.5, 1.8)]


def _momentum(rng):
    A, b, start, top = _quadratic(rng)
    return [Case((A, b, start, 1.0 / top, m, 30), {}, f"momentum {m}") for m in (0.5, 0.9)]


def _diverging(rng):
    A, b, start, top = _quadratic(rng)
    return [Case((A, b, start, 2.2 / top, 0.0, 20), {}, "lr = 2.2/λmax (diverges)")]


def _five(rng):
    A, b, start, top = _quadratic(rng, d=5, condition=50.0)
    return [Case((A, b, start, 1.5 / top, 0.7, 40), {}, "5 dimensions, momentum 0.7")]


def _zero_steps(rng):
    A, b, start, top = _quadratic(rng)
    return [Case((A, b, start, 0.1, 0.5, 0), {}, "steps = 0")]


def _bad_quadratic(rng):
    A, b, start, _ = _quadratic(rng, d=3)
    return [Case((A, b, start[:2], 0.1, 0.0, 5), {}, "start of length 2 for a 3 x 3 A")]


def _nesterov(A, b, start, lr, momentum, steps):
    A, b, w = (np.asarray(a, float) for a in (A, b, start))
    v, path = np.zeros_like(w), [w.copy()]
    for _ in range(int(steps)):
        v = momentum * v - lr * (A @ (w + momentum * v) - b)
        w = w + v
        path.append(w.copy())
    return np.array(path)


def _dampened(A, b, start, lr, momentum, steps):
    A, b, w = (np.asarray(a, float) for a in (A, b, start))
    v, path = np.zeros_like(w), [w.copy()]
    for _ in range(int(steps)):
        v = momentum * v + (1 - momentum) * (A @ w - b)
        w = w - lr * v
        path.append(w.copy())
    return np.array(path)


QUADRATIC_MOMENTUM_PATH = Exercise(
    "quadratic_momentum_path",
    L.quadratic_momentum_path,
    (
        CaseGroup("plain gradient descent", _plain, points=1),
        CaseGroup("heavy-ball momentum", _momentum, points=1),
        CaseGroup("a diverging step size", _diverging, points=0.5, probes="lr beyond 2/λmax"),
        CaseGroup("five dimensions", _five, points=0.5, probes="a 5-dimensional quadratic"),
        CaseGroup("zero steps: the path is just the start", _zero_steps, points=0.5, probes="steps = 0"),
    ),
    mistakes=(
        Mistake("nesterov", "this is Nesterov's method (gradient at the look-ahead point w + μv); the "
                "heavy ball takes the gradient at w", _nesterov),
        Mistake("dampened", "this averages the gradients (v = μv + (1-μ)g); the heavy ball adds the full "
                "step: v = μv - lr·g", _dampened),
    ),
    summary="heavy-ball iterates on a quadratic bowl",
)


ASSIGNMENT = Assignment(
    notebook="05_landscapes",
    title="Loss landscapes",
    exercises=(FILTER_NORMALIZE, TOP_EIGENVALUE, LOGISTIC_HVP, QUADRATIC_MOMENTUM_PATH,
               EXPERIMENTS["05_landscapes"]),
    written=WRITTEN["05_landscapes"],
)
