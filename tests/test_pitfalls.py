"""The naive version of every pitfall an exercise's instructions warn about fails the PUBLIC check.

Each row below is code a learner could plausibly write: it follows the formula literally and
walks into the trap the notebook describes (overflowing exp, sigma before log, floor-binned ECE,
``1 - p**q``, float64 promotion...). The learner's ``check(fn)`` must fail on it, in the notebook,
with a hint that names the trap, not only the instructor's grader later.
"""

from __future__ import annotations

import numpy as np
import pytest

from course.assignments import checker, get
from course.assignments.experiments import EXPERIMENTS

F64 = np.float64


def _reduce(loss, reduction):
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def _named(name, fn):
    fn.__name__ = name
    return fn


def _promoted(notebook, exercise):
    """The reference computed in float64 whatever comes in: the 'float32 stays float32' trap."""
    reference = get(notebook).exercise(exercise).reference

    def fn(*args, **kwargs):
        args = [a.astype(F64) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a for a in args]
        out = reference(*args, **kwargs)
        return tuple(np.asarray(o, F64) for o in out) if isinstance(out, tuple) else np.asarray(out, F64)

    return _named(exercise, fn)


# ------------------------------------------------------------------ 00
def threshold_accuracy_ge(x, y, threshold):
    return np.mean((np.asarray(x) >= threshold) == np.asarray(y))


def numerical_derivative_forward(w, x, y, eps=1e-6):
    loss = lambda v: np.mean((v * x - y) ** 2)  # noqa: E731
    return (loss(w + eps) - loss(w)) / eps


def gradient_descent_step_no_chain(w, x, y, learning_rate):
    return w - learning_rate * np.mean(2 * (w * x - y))


# ------------------------------------------------------------------ 01
def huber_loss_sum(input, target, reduction="mean", delta=1.0):
    d = np.abs(input - target)
    loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
    return loss.sum() if reduction != "none" else loss


def huber_loss_broadcasts(input, target, reduction="mean", delta=1.0):
    d = np.abs(np.asarray(input) - np.asarray(target))  # no shape check: (4, 1) - (4,) is (4, 4)
    loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
    return _reduce(loss, reduction)


def huber_loss_grad_sum(input, target, reduction="mean", delta=1.0):
    return np.clip(input - target, -delta, delta)


def quantile_loss_flipped(input, target, quantile=0.5, reduction="mean"):
    r = input - target  # input minus target: the costs are swapped
    return _reduce(np.maximum(quantile * r, (quantile - 1) * r), reduction)


# ------------------------------------------------------------------ 02
def log_softmax_naive(x):
    with np.errstate(all="ignore"):
        return np.log(np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True))


def log_softmax_log_sum_exp(x):
    with np.errstate(all="ignore"):
        return x - np.log(np.sum(np.exp(x), axis=-1, keepdims=True))


def cross_entropy_naive(input, target, reduction="mean"):
    loss = -log_softmax_log_sum_exp(input)[np.arange(len(target)), target]
    return _reduce(loss, reduction)


def cross_entropy_grad_naive(input, target, reduction="mean"):
    with np.errstate(all="ignore"):
        p = np.exp(input) / np.exp(input).sum(axis=1, keepdims=True)
    p[np.arange(len(target)), target] -= 1
    return p / len(target) if reduction == "mean" else p


def binary_cross_entropy_with_logits_sigmoid_first(input, target, reduction="mean"):
    with np.errstate(all="ignore"):
        p = 1 / (1 + np.exp(-input))
        loss = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits_clipped(input, target, reduction="mean"):
    with np.errstate(all="ignore"):
        p = np.clip(1 / (1 + np.exp(-input)), 1e-7, 1 - 1e-7)
    return _reduce(-(target * np.log(p) + (1 - target) * np.log(1 - p)), reduction)


# ------------------------------------------------------------------ 03
def gaussian_nll_loss_added_eps(input, target, var, full=False, eps=1e-6, reduction="mean"):
    v = var + eps
    loss = 0.5 * (np.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return _reduce(loss, reduction)


def gaussian_nll_loss_grad_blocked(input, target, var, full=False, eps=1e-6, reduction="mean"):
    v = np.maximum(var, eps)
    d_input = (input - target) / v
    d_var = np.where(var < eps, 0.0, 0.5 * (1 / v - (input - target) ** 2 / v**2))
    n = input.size if reduction == "mean" else 1
    return d_input / n, d_var / n


def poisson_nll_loss_stirling_everywhere(input, target, log_input=True, full=False, eps=1e-8,
                                         reduction="mean"):
    loss = np.exp(input) - target * input if log_input else input - target * np.log(input + eps)
    if full:
        with np.errstate(all="ignore"):
            stirling = target * np.log(target) - target + 0.5 * np.log(2 * np.pi * target)
        loss = loss + np.nan_to_num(stirling, nan=0.0, neginf=0.0, posinf=0.0)
    return _reduce(loss, reduction)


# ------------------------------------------------------------------ 04
def box_iou_unclipped(boxes1, boxes2):
    a, b = boxes1[:, None, :], boxes2[None, :, :]
    wh = np.minimum(a[..., 2:], b[..., 2:]) - np.maximum(a[..., :2], b[..., :2])
    inter = wh[..., 0] * wh[..., 1]
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def generalized_box_iou_loss_plain(boxes1, boxes2, reduction="none", eps=1e-7):
    lo = np.maximum(boxes1[..., :2], boxes2[..., :2])
    hi = np.minimum(boxes1[..., 2:], boxes2[..., 2:])
    wh = np.clip(hi - lo, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])  # noqa: E731
    loss = 1 - inter / (area(boxes1) + area(boxes2) - inter + eps)
    return _reduce(loss, reduction)


def triplet_margin_loss_no_eps(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                               reduction="mean"):
    d_pos = np.linalg.norm(anchor - positive, ord=p, axis=-1)
    d_neg = np.linalg.norm(anchor - negative, ord=p, axis=-1)
    if swap:
        d_neg = np.minimum(d_neg, np.linalg.norm(positive - negative, ord=p, axis=-1))
    return _reduce(np.maximum(margin + d_pos - d_neg, 0.0), reduction)


# ------------------------------------------------------------------ 05
def filter_normalize_no_eps(direction, weights):
    d = direction.reshape(len(direction), -1)
    w = weights.reshape(len(weights), -1)
    with np.errstate(all="ignore"):
        out = d / np.linalg.norm(d, axis=1, keepdims=True) * np.linalg.norm(w, axis=1, keepdims=True)
    return out.reshape(direction.shape)


def top_eigenvalue_norm(matrix, v0, steps=100):
    v = v0
    for _ in range(steps):
        v = v / np.linalg.norm(v)
        u = matrix @ v
        value = np.linalg.norm(u)
        v = u
    return value


def logistic_hvp_sigmoid_only(w, X, y, v):
    z = X @ w
    s = 1 / (1 + np.exp(-z))
    return X.T @ (s * (X @ v)) / len(X)


def quadratic_momentum_path_no_start(A, b, start, lr, momentum, steps):
    w, v, path = start.astype(float), np.zeros_like(start, dtype=float), []
    for _ in range(steps):
        v = momentum * v - lr * (A @ w - b)
        w = w + v
        path.append(w)
    return np.array(path).reshape(steps, len(start))


# ------------------------------------------------------------------ 06
def sigmoid_focal_loss_log_pt(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    with np.errstate(all="ignore"):
        p = 1 / (1 + np.exp(-inputs))
        p_t = p * targets + (1 - p) * (1 - targets)
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets) if alpha >= 0 else 1.0
        loss = alpha_t * (1 - p_t) ** gamma * -np.log(p_t)
    return _reduce(loss, reduction)


def sigmoid_focal_loss_grad_first_form(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    with np.errstate(all="ignore"):
        p = 1 / (1 + np.exp(-inputs))
        m = 1 - (p * targets + (1 - p) * (1 - targets))
        bce = np.maximum(inputs, 0) - inputs * targets + np.log1p(np.exp(-np.abs(inputs)))
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets) if alpha >= 0 else 1.0
        dm = p * (1 - p) * (1 - 2 * targets)
        grad = alpha_t * (gamma * m ** (gamma - 1) * dm * bce + m**gamma * (p - targets))
    return grad / grad.size if reduction == "mean" else grad


def class_balanced_weights_zero_count(counts, beta=0.999):
    with np.errstate(all="ignore"):
        w = (1 - beta) / (1 - beta ** np.asarray(counts, dtype=float))
        return w / w.sum() * np.count_nonzero(counts)


# ------------------------------------------------------------------ 07
def _flat(p):
    return p.reshape(len(p), -1)


def soft_jaccard_loss_eps_below(input, target, eps=1e-7, reduction="mean"):
    p, t = _flat(input), _flat(target)
    inter = (p * t).sum(1)
    union = p.sum(1) + t.sum(1) - inter
    return _reduce(1 - inter / (union + eps), reduction)


def soft_jaccard_loss_grad_eps_below(input, target, eps=1e-7, reduction="mean"):
    p, t = _flat(input), _flat(target)
    inter = (p * t).sum(1, keepdims=True)
    union = p.sum(1, keepdims=True) + t.sum(1, keepdims=True) - inter
    grad = -(t * (union + eps) - inter * (1 - t)) / (union + eps) ** 2
    grad = grad.reshape(input.shape)
    return grad / len(input) if reduction == "mean" else grad


def iou_strict(pred, target, threshold=0.5, per_sample=False):
    hard = pred > threshold
    t = target.astype(bool)
    axes = tuple(range(1, pred.ndim)) if per_sample else None
    tp = np.sum(hard & t, axis=axes)
    union = np.sum(hard | t, axis=axes)
    with np.errstate(all="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), 1.0)


# ------------------------------------------------------------------ 08
def l1_penalty_grad_ratio(w):
    with np.errstate(all="ignore"):
        return np.nan_to_num(w / np.abs(w)).astype(F64)


def soft_threshold_no_stop(w, threshold):
    if np.any(np.asarray(threshold) < 0):
        raise ValueError("negative threshold")
    return w - threshold * np.sign(w)


def ista_step_subgradient(w, X, y, lr, lam):
    return w - lr * (X.T @ (X @ w - y) / len(y) + lam * np.sign(w))


# ------------------------------------------------------------------ 09
def gaussian_kl_cancels(mu, logvar, reduction="mean"):
    kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=-1)
    return _reduce(kl, reduction)


def gaussian_kl_grad_over_all(mu, logvar, reduction="mean"):
    n = mu.size if reduction == "mean" else 1
    return mu / n, 0.5 * np.expm1(logvar) / n


def uncertainty_weighted_loss_multiplied(losses, log_vars):
    return np.sum(np.exp(log_vars) * losses + log_vars)


# ------------------------------------------------------------------ 10
def expected_calibration_error_floor(probs, labels, n_bins=15):
    conf, pred = probs.max(1), probs.argmax(1)
    ok = (pred == labels).astype(float)
    idx = np.minimum(np.floor(conf * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in range(n_bins):
        m = idx == b
        if m.any():
            total += m.sum() * abs(ok[m].mean() - conf[m].mean())
    return total / len(conf)


def smoothed_targets_others(target, num_classes, eps):
    out = np.full((len(target), num_classes), eps / (num_classes - 1))
    out[np.arange(len(target)), target] = 1 - eps
    return out


def generalized_cross_entropy_power(input, target, q=0.7, reduction="mean"):
    x = input - input.max(1, keepdims=True)
    log_p = x - np.log(np.exp(x).sum(1, keepdims=True))
    p = np.exp(log_p[np.arange(len(target)), target])
    return _reduce((1 - p**q) / q, reduction)


def generalized_cross_entropy_unshifted(input, target, q=0.7, reduction="mean"):
    with np.errstate(all="ignore"):
        p = np.exp(input) / np.exp(input).sum(1, keepdims=True)
        py = p[np.arange(len(target)), target]
        return _reduce(-np.expm1(q * np.log(py)) / q, reduction)


# ------------------------------------------------------------------ 11
def ema_smooth_uncorrected(values, beta=0.9):
    m, out = 0.0, []
    for x in values:
        m = beta * m + (1 - beta) * x
        out.append(m)
    return np.array(out)


def per_example_cross_entropy_unshifted(logits, labels):
    with np.errstate(all="ignore"):
        return np.log(np.exp(logits).sum(1)) - logits[np.arange(len(labels)), labels]


def precision_at_k_unstable(scores, is_flipped, k):
    order = np.argsort(scores)[::-1]  # reversed ascending sort: ties come out highest index first
    return float(np.mean(np.asarray(is_flipped, bool)[order[:k]]))


# naive answer, the words the public check's report must contain
PITFALLS = {
    "00_what_is_a_loss": [
        ("threshold_accuracy", threshold_accuracy_ge, "must be predicted 0"),
        ("numerical_derivative", numerical_derivative_forward, "forward difference"),
        ("gradient_descent_step", gradient_descent_step_no_chain, "chain rule"),
    ],
    "01_regression": [
        ("huber_loss", huber_loss_sum, "a sum where a mean"),
        ("huber_loss", huber_loss_broadcasts, "should raise ValueError"),
        ("huber_loss", _promoted("01_regression", "huber_loss"), "keep the input's dtype"),
        ("huber_loss_grad", huber_loss_grad_sum, "divide the gradient by the number of elements"),
        ("quantile_loss", quantile_loss_flipped, "swapped"),
    ],
    "02_classification": [
        ("log_softmax", log_softmax_naive, "subtract"),
        ("log_softmax", log_softmax_log_sum_exp, "subtract"),
        ("log_softmax", _promoted("02_classification", "log_softmax"), "keep the input's dtype"),
        ("cross_entropy", cross_entropy_naive, "log-sum-exp"),
        ("cross_entropy_grad", cross_entropy_grad_naive, "subtract"),
        ("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits_sigmoid_first, "stable form"),
        ("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits_clipped,
         "never compute sigmoid"),
    ],
    "03_likelihood": [
        ("gaussian_nll_loss", gaussian_nll_loss_added_eps, "eps is a floor"),
        ("gaussian_nll_loss", _promoted("03_likelihood", "gaussian_nll_loss"), "keep the input's dtype"),
        ("gaussian_nll_loss_grad", gaussian_nll_loss_grad_blocked, "derivative at"),
        ("poisson_nll_loss", poisson_nll_loss_stirling_everywhere, "only where target > 1"),
    ],
    "04_structured": [
        ("box_iou", box_iou_unclipped, "clip"),
        ("generalized_box_iou_loss", generalized_box_iou_loss_plain, "enclosing"),
        ("triplet_margin_loss", triplet_margin_loss_no_eps, "eps"),
    ],
    "05_landscapes": [
        ("filter_normalize", filter_normalize_no_eps, "NaN"),
        ("top_eigenvalue", top_eigenvalue_norm, "sign"),
        ("logistic_hvp", logistic_hvp_sigmoid_only, "σ(z)(1 - σ(z))"),
        ("quadratic_momentum_path", quadratic_momentum_path_no_start, "start"),
    ],
    "06_imbalance": [
        ("sigmoid_focal_loss", sigmoid_focal_loss_log_pt, "log of zero"),
        ("sigmoid_focal_loss_grad", sigmoid_focal_loss_grad_first_form, "NaN"),
        ("class_balanced_weights", class_balanced_weights_zero_count, "count 0"),
    ],
    "07_surrogates": [
        ("soft_jaccard_loss", soft_jaccard_loss_eps_below, "eps"),
        ("soft_jaccard_loss_grad", soft_jaccard_loss_grad_eps_below, "eps"),
        ("iou", iou_strict, "counts as object"),
    ],
    "08_regularization": [
        ("l1_penalty_grad", l1_penalty_grad_ratio, "keep the input's dtype"),
        ("soft_threshold", soft_threshold_no_stop, "stop at 0"),
        ("ista_step", ista_step_subgradient, "subgradient step"),
    ],
    "09_composite": [
        ("gaussian_kl", gaussian_kl_cancels, "expm1"),
        ("gaussian_kl_grad", gaussian_kl_grad_over_all, "number of samples"),
        ("uncertainty_weighted_loss", uncertainty_weighted_loss_multiplied, "divide each loss"),
    ],
    "10_generalization": [
        ("expected_calibration_error", expected_calibration_error_floor, "closed on the right"),
        ("smoothed_targets", smoothed_targets_others, "all C classes"),
        ("generalized_cross_entropy", generalized_cross_entropy_power, "expm1"),
        ("generalized_cross_entropy", generalized_cross_entropy_unshifted, "subtract"),
    ],
    "11_diagnostics": [
        ("ema_smooth", ema_smooth_uncorrected, "1 - beta**t"),
        ("per_example_cross_entropy", per_example_cross_entropy_unshifted, "subtract"),
        ("precision_at_k", precision_at_k_unstable, "lower index"),
    ],
}

CASES = [(nb, name, fn, words) for nb, rows in PITFALLS.items() for name, fn, words in rows]


@pytest.mark.parametrize("notebook, name, fn, words", CASES,
                         ids=[f"{nb[:2]}-{fn.__name__}" for nb, _, fn, _ in CASES])
def test_the_public_check_catches_the_naive_version_with_a_hint(notebook, name, fn, words, capsys):
    report = checker(notebook)(_named(name, fn))
    out = capsys.readouterr().out
    assert not report, f"{fn.__name__} passed the public check of {notebook}"
    assert "❌" in out
    assert words in out, out


def test_every_exercise_has_a_naive_version_tested():
    for notebook, rows in PITFALLS.items():
        experiment = EXPERIMENTS[notebook].name  # runs the others: tested in test_experiments.py
        assert {name for name, _, _ in rows} == {e.name for e in get(notebook).exercises} - {experiment}
