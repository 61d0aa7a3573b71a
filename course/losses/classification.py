"""Classification losses: scores (logits) or probabilities against labels.

Each loss is a pair ``name(input, target, ...)`` and ``name_grad(...)`` with
PyTorch's names, arguments and semantics. The gradient is taken with respect
to ``input``; for ``reduction="none"`` it is the gradient of the sum of the
per-element losses.

Two families live here (lesson 04):

* likelihood losses, the negative log-probability of the label under a
  softmax (:func:`cross_entropy`, :func:`nll_loss`) or a sigmoid
  (:func:`binary_cross_entropy_with_logits`, :func:`soft_margin_loss`,
  :func:`multilabel_soft_margin_loss`, :func:`binary_cross_entropy`);
* margin losses, zero once the right score beats the others by a margin
  (:func:`hinge_loss`, :func:`hinge_embedding_loss`,
  :func:`multi_margin_loss`, :func:`multilabel_margin_loss`).

inf and NaN appear exactly where PyTorch gives them (a ``-inf`` logit on the
target, an all-ignored batch with ``reduction="mean"``); they are results,
not accidents, so NumPy's floating-point warnings are silenced inside these
functions.
"""

from __future__ import annotations

import numpy as np

from ._class_rows import (
    class_count,
    class_targets,
    class_weight,
    exp_rows,
    from_rows,
    input_and_labels,
    log_softmax_rows,
    logit_rows,
    per_row_shape,
    target_nll,
    to_rows,
)
from ._common import (
    as_float,
    as_floats,
    check_reduction,
    check_same_shape,
    log1p_exp_neg_abs,
    log_softmax,
    quiet,
    reduce,
    reduction_scale,
    scaled,
    sigmoid,
    softmax,
    softplus,
)
from ._zero_d import accept_0d
from .classification_margins import (
    hinge_embedding_loss,
    hinge_embedding_loss_grad,
    hinge_loss,
    hinge_loss_grad,
    multi_margin_loss,
    multi_margin_loss_grad,
    multilabel_margin_loss,
    multilabel_margin_loss_grad,
)

__all__ = [
    "cross_entropy", "cross_entropy_grad",
    "nll_loss", "nll_loss_grad",
    "binary_cross_entropy", "binary_cross_entropy_grad",
    "binary_cross_entropy_with_logits", "binary_cross_entropy_with_logits_grad",
    "soft_margin_loss", "soft_margin_loss_grad",
    "multilabel_soft_margin_loss", "multilabel_soft_margin_loss_grad",
    "multi_margin_loss", "multi_margin_loss_grad",
    "multilabel_margin_loss", "multilabel_margin_loss_grad",
    "hinge_embedding_loss", "hinge_embedding_loss_grad",
    "hinge_loss", "hinge_loss_grad",
    "softmax", "log_softmax",
]

def _reduce_rows(loss: np.ndarray, reduction: str, shape: tuple, denominator) -> np.ndarray:
    """Reduce one loss per row of a (rows, C) view: "none" keeps the batch's shape."""
    return reduce(loss.reshape(per_row_shape(shape)), reduction, denominator)


# ------------------------------------------------------------ cross-entropy
def _prepare_cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing):
    """Validate the arguments once for the loss and its gradient.

    Returns ``(x, rows, soft, targets, w)``: the input, its (rows, C) view,
    whether the targets are probabilities, the targets (a (rows, C) matrix of
    probabilities, or a :class:`ClassTargets`), and the class weights.
    """
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {label_smoothing!r}")
    x, rows = logit_rows(input)
    classes = rows.shape[1]
    t = np.asarray(target)
    soft = t.dtype.kind == "f"
    if soft:
        if t.shape != x.shape:
            raise ValueError(
                f"target must be class indices (integers) of shape {per_row_shape(x.shape)} "
                f"or class probabilities of the input's shape {x.shape}, "
                f"got {t.dtype} of shape {t.shape}"
            )
        if ignore_index >= 0:
            raise ValueError(
                "ignore_index is not supported with probability targets, "
                f"got ignore_index={ignore_index}"
            )
        x, t = as_floats(input=x, target=t)
        rows = to_rows(x)
        w = class_weight(weight, classes, x.dtype)
        return x, rows, True, to_rows(t), w
    w = class_weight(weight, classes, x.dtype)
    return x, rows, False, class_targets(t, x.shape, ignore_index, w), w


def _smoothed_probabilities(probs, w, label_smoothing):
    """(1 - eps) t + eps / C, times the class weights: what multiplies -log p."""
    classes = probs.shape[1]
    if label_smoothing:
        probs = probs * (1.0 - label_smoothing) + label_smoothing / classes
    return probs if w is None else probs * w


@quiet
def cross_entropy(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    r"""Softmax cross-entropy, ``F.cross_entropy``.

    ``input`` holds logits of shape (C,), (N, C) or (N, C, d1, ..., dk)
    (classes on axis 1). ``target`` is either integer class indices of shape
    (), (N,) or (N, d1, ..., dk), or float probabilities of the input's shape.
    With :math:`\log p_{ic} = x_{ic} - \log\sum_k e^{x_{ik}}` (log-softmax),

    .. math::
        \ell_i = (1-\varepsilon)\, w_{y_i} (-\log p_{i y_i})
                 + \frac{\varepsilon}{C} \sum_c w_c (-\log p_{ic})

    for index targets (0 for rows whose target is ``ignore_index``), and
    :math:`\ell_i = -\sum_c w_c \tilde t_{ic} \log p_{ic}` with
    :math:`\tilde t = (1-\varepsilon)t + \varepsilon/C` for probabilities.

    "mean" follows PyTorch exactly: with index targets it divides by the sum
    of the target weights :math:`\sum_i w_{y_i}` over rows not ignored (the
    number of such rows when ``weight`` is None), so a batch whose targets are
    all ignored, or all in classes of weight 0, gives NaN (0/0), as in
    PyTorch; with probability targets it divides by the number of rows. Class
    weights also weigh the smoothing term, so a row whose class has weight 0
    still gets ``eps/C * sum_c w_c (-log p_c)`` in "none".

    Log-sum-exp keeps logits like ±1e4 finite; a ``-inf`` logit on the target
    gives ``inf``, and ``0 * -inf`` (a zero probability on a ``-inf`` logit,
    or a zero weight) gives NaN, both as in PyTorch.

    Parameters
    ----------
    input : array_like, (C,), (N, C) or (N, C, d1, ...)
    target : array_like of int, or of float with the input's shape
        Any integer dtype is accepted (PyTorch wants int64).
    weight : array_like, (C,), optional
        Weight of each class.
    ignore_index : int
        Index targets equal to it contribute nothing (index targets only;
        a value >= 0 with probability targets raises ``ValueError``).
    reduction : {"mean", "sum", "none"}
    label_smoothing : float in [0, 1]

    References
    ----------
    Szegedy et al. (2016), "Rethinking the Inception architecture", sec. 7
    (label smoothing).
    """
    x, rows, soft, targets, w = _prepare_cross_entropy(
        input, target, weight, ignore_index, reduction, label_smoothing)
    classes = rows.shape[1]
    # probability targets weigh every log p, so they take PyTorch's row-max shift
    _, sums, shift = exp_rows(rows, shift_by_max=soft)
    if soft:
        log_p = log_softmax_rows(rows, sums, shift)
        loss = np.negative((log_p * _smoothed_probabilities(targets, w, label_smoothing)).sum(1))
        return _reduce_rows(loss, reduction, x.shape, rows.shape[0])
    loss = target_nll(rows, targets.flat(classes), sums, shift)
    if targets.ignored is not None:
        loss[targets.ignored] = 0
    if targets.weight is not None:
        loss *= targets.weight
    if label_smoothing:
        log_p = log_softmax_rows(rows, sums, shift)
        smooth = np.negative(log_p.sum(1) if w is None else (log_p * w).sum(1))
        if targets.ignored is not None:
            smooth[targets.ignored] = 0
        loss *= 1.0 - label_smoothing
        smooth *= label_smoothing / classes
        loss += smooth
    return _reduce_rows(loss, reduction, x.shape, targets.total_weight())


@quiet
def cross_entropy_grad(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` w.r.t. ``input``.

    Per row, with :math:`p = \mathrm{softmax}(x)` and one-hot :math:`e_y`:

    .. math::
        \nabla_x \ell = (1-\varepsilon) w_y (p - e_y)
                        + \frac{\varepsilon}{C}\Big(p \sum_c w_c - w\Big)

    for index targets (0 on ignored rows), and
    :math:`p \sum_c \tilde t_c w_c - w \odot \tilde t` for probabilities;
    divided by the same denominator as the loss for "mean". Where that
    denominator is 0 (all weights zero) the gradient is NaN, and where every
    target is ignored it is 0, both as in PyTorch. A ``-inf`` logit has
    probability 0, so logits ``[0, -inf]`` with target 1 give ``[1, -1]``.
    """
    x, rows, soft, targets, w = _prepare_cross_entropy(
        input, target, weight, ignore_index, reduction, label_smoothing)
    count, classes = rows.shape
    grad, sums, _ = exp_rows(rows)  # exp(x - shift): becomes the gradient in place
    if soft:
        probs = _smoothed_probabilities(targets, w, label_smoothing)
        scale = reduction_scale(count, reduction, denominator=count)
        grad *= (probs.sum(1) * scale / sums)[:, None]
        grad -= probs * scale
        return from_rows(grad, x.shape)

    scale = reduction_scale(len(rows), reduction, denominator=targets.total_weight())
    ignored = targets.ignored
    row_weight = targets.weight if targets.weight is not None else np.ones(count, x.dtype)
    # row i of the gradient is on_softmax[i] * softmax - on_target[i] * one_hot
    on_target = row_weight * ((1.0 - label_smoothing) * scale)
    if ignored is not None:  # ignored rows stay 0 even when scale is NaN, as in PyTorch
        on_target[ignored] = 0
    on_softmax = on_target
    if label_smoothing:
        total_class_weight = classes if w is None else float(w.sum())
        on_softmax = on_target + label_smoothing / classes * total_class_weight * scale
        if ignored is not None:
            on_softmax[ignored] = 0
    grad *= (on_softmax / sums)[:, None]
    grad.reshape(-1)[targets.flat(classes)] -= on_target
    if label_smoothing:
        uniform = (label_smoothing / classes * scale) * (1.0 if w is None else w)
        if ignored is None:
            grad -= uniform
        else:
            grad[~ignored] -= uniform
    return from_rows(grad, x.shape)


# ----------------------------------------------------------------- NLL
def _prepare_nll(input, target, weight, ignore_index, reduction):
    check_reduction(reduction)
    x = as_float(input, "input")
    rows = to_rows(x)
    w = class_weight(weight, class_count(x.shape), x.dtype)
    return x, rows, class_targets(target, x.shape, ignore_index, w)


@quiet
def nll_loss(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> np.ndarray:
    r"""Negative log-likelihood of log-probabilities, ``F.nll_loss``.

    .. math:: \ell_i = -w_{y_i}\, x_{i y_i}

    ``input`` holds log-probabilities (for example :func:`log_softmax` of
    logits; it is not checked), with the shapes and target rules of
    :func:`cross_entropy` for index targets. ``cross_entropy(x, y)`` equals
    ``nll_loss(log_softmax(x, axis=1), y)``. "mean" divides by the sum of the
    target weights over rows not ignored; all ignored gives NaN as in PyTorch.
    A ``-inf`` entry with weight 0 gives ``0 * inf = NaN``, as in PyTorch.
    """
    x, rows, targets = _prepare_nll(input, target, weight, ignore_index, reduction)
    loss = np.negative(rows.reshape(-1)[targets.flat(rows.shape[1])])
    if targets.weight is not None:
        loss *= targets.weight
    if targets.ignored is not None:
        loss[targets.ignored] = 0
    return _reduce_rows(loss, reduction, x.shape, targets.total_weight())


@quiet
def nll_loss_grad(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`nll_loss`: :math:`-w_{y_i}` at each target entry, 0 elsewhere.

    Divided by the sum of target weights for "mean" (NaN when that sum is 0
    and some row is not ignored, 0 when every row is ignored, as in PyTorch).
    """
    x, rows, targets = _prepare_nll(input, target, weight, ignore_index, reduction)
    count, classes = rows.shape
    scale = reduction_scale(len(rows), reduction, denominator=targets.total_weight())
    row_weight = targets.weight if targets.weight is not None else np.ones(count, x.dtype)
    on_target = row_weight * -scale
    if targets.ignored is not None:
        on_target[targets.ignored] = 0
    grad = np.zeros((count, classes), dtype=x.dtype)
    grad.reshape(-1)[targets.flat(classes)] = on_target
    return from_rows(grad, x.shape)


# ------------------------------------------------------------------ binary
def _broadcast_weight(weight, shape: tuple, dtype, name: str):
    """A weight that broadcasts to ``shape`` without enlarging it (PyTorch's rule)."""
    if weight is None:
        return None
    w = as_float(weight, name, dtype=dtype)
    try:
        fits = np.broadcast_shapes(w.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"{name} must broadcast to the input's shape {shape}, got shape {w.shape}")
    return w


def _check_unit_interval(a: np.ndarray, name: str) -> None:
    # min/max propagate NaN, so NaN fails the test too
    if a.size and not (a.min() >= 0 and a.max() <= 1):
        raise ValueError(f"{name} must lie in [0, 1], got values in [{a.min()}, {a.max()}]")


def _prepare_bce(input, target, weight):
    p, y = input_and_labels(input, target)
    check_same_shape(p, y)
    _check_unit_interval(p, "input")
    _check_unit_interval(y, "target")
    return p, y, _broadcast_weight(weight, p.shape, p.dtype, "weight")


@quiet
@accept_0d
def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> np.ndarray:
    r"""Binary cross-entropy of probabilities, ``F.binary_cross_entropy``.

    .. math:: \ell_i = -w_i\,[\,y_i \log p_i + (1 - y_i)\log(1 - p_i)\,]

    with each log clamped at -100, as PyTorch does, so ``p = 0`` with
    ``y = 1`` costs 100 instead of inf. ``input`` and ``target`` must lie in
    [0, 1]; ``weight`` broadcasts to the input's shape. Prefer
    :func:`binary_cross_entropy_with_logits`: a sigmoid that rounds to 1 makes
    this loss saturate (``sigmoid(20)`` in float32 costs 100, not 20).
    """
    check_reduction(reduction)
    p, y, w = _prepare_bce(input, target, weight)
    log_p = np.maximum(np.log(p), -100.0)
    log_q = np.maximum(np.log1p(-p), -100.0)
    loss = (y - 1.0) * log_q
    loss -= y * log_p
    if w is not None:
        loss *= w
    return reduce(loss, reduction)


# PyTorch's backward clamps p(1 - p) at the float32 constant 1e-12 (9.99999996e-13)
_BCE_GRAD_FLOOR = float(np.float32(1e-12))


@quiet
@accept_0d
def binary_cross_entropy_grad(input, target, weight=None, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy`: :math:`w\,(p - y) / \max(p(1-p),\ 10^{-12})`.

    The denominator is clamped at 1e-12 (as float32) as PyTorch's backward does,
    so at ``p = 0, y = 1`` the gradient is ``-1e12`` (finite) although the
    clamped loss is flat there; away from 0 and 1 it is the true derivative.
    """
    check_reduction(reduction)
    p, y, w = _prepare_bce(input, target, weight)
    denominator = np.maximum(p * (1.0 - p), _BCE_GRAD_FLOOR)
    grad = p - y
    grad /= denominator
    if w is not None:
        grad *= w
    return scaled(grad, grad.size, reduction)


def _prepare_logits(input, target, weight, reduction, pos_weight=None):
    check_reduction(reduction)
    x, y = input_and_labels(input, target)
    check_same_shape(x, y)
    w = _broadcast_weight(weight, x.shape, x.dtype, "weight")
    return x, y, w, _broadcast_weight(pos_weight, x.shape, x.dtype, "pos_weight")


@quiet
@accept_0d
def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
) -> np.ndarray:
    r"""Sigmoid binary cross-entropy on logits, ``F.binary_cross_entropy_with_logits``.

    .. math::
        \ell_i = -w_i\,[\,p\,y_i \log\sigma(x_i) + (1-y_i)\log\sigma(-x_i)\,]
               = w_i\,[\,(1 - y_i)\,x_i + (1 + (p - 1)y_i)\,\mathrm{softplus}(-x_i)\,]

    The second form is PyTorch's: ``softplus(-x) = log1p(exp(-|x|)) - min(x, 0)``
    never overflows, so logits of ±1e4 give 0 or 1e4. ``pos_weight`` (p)
    weighs the positive term and ``weight`` each element; both broadcast to
    the input's shape (``pos_weight`` of shape (C,) weighs each class of the
    last axis), but input and target must have the same shape. "mean" is the
    plain mean of ``w * loss``. Infinite logits give NaN or inf as PyTorch's do.
    """
    x, y, w, pw = _prepare_logits(input, target, weight, reduction, pos_weight)
    loss = softplus(-x)
    if pw is not None:
        loss *= (pw - 1.0) * y + 1.0
    loss += (1.0 - y) * x
    if w is not None:
        loss *= w
    return reduce(loss, reduction)


@quiet
@accept_0d
def binary_cross_entropy_with_logits_grad(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
) -> np.ndarray:
    r"""Gradient of :func:`binary_cross_entropy_with_logits`.

    :math:`w\,(\sigma(x) - y)`, or with ``pos_weight``
    :math:`w\,[(1 + (p - 1)y)\,\sigma(x) - p\,y]`.
    """
    x, y, w, pw = _prepare_logits(input, target, weight, reduction, pos_weight)
    grad = sigmoid(x)
    if pw is None:
        grad -= y
    else:
        positive = pw * y
        grad *= positive - y + 1.0
        grad -= positive
    if w is not None:
        grad *= w
    return scaled(grad, grad.size, reduction)


@quiet
@accept_0d
def soft_margin_loss(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Two-class logistic loss, ``F.soft_margin_loss``: :math:`\ell_i = \log(1 + e^{-y_i x_i})`.

    Targets are meant to be ±1 (any real is accepted, as in PyTorch). Written
    as ``softplus(-y x)``, so it stays finite where PyTorch's direct
    ``log(1 + exp(-y x))`` overflows (x = -1000, y = 1 gives 1000, PyTorch
    inf; x = -100 in float32 likewise).
    """
    check_reduction(reduction)
    x, y = input_and_labels(input, target)
    check_same_shape(x, y)
    return reduce(softplus(-(y * x)), reduction)


@quiet
@accept_0d
def soft_margin_loss_grad(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`soft_margin_loss`: :math:`-y\,\sigma(-y x)`."""
    check_reduction(reduction)
    x, y = input_and_labels(input, target)
    check_same_shape(x, y)
    grad = sigmoid(np.negative(y * x))
    grad *= -y
    return scaled(grad, grad.size, reduction)


def _prepare_multilabel(input, target, weight, reduction):
    x, y, w, _ = _prepare_logits(input, target, weight, reduction)
    if x.ndim == 0:
        raise ValueError("input must have a class dimension (its last axis), got shape ()")
    return x, y, w


@quiet
def multilabel_soft_margin_loss(
    input, target, weight=None, reduction: str = "mean"
) -> np.ndarray:
    r"""Multi-label one-vs-all logistic loss, ``F.multilabel_soft_margin_loss``.

    Classes lie on the last axis; targets are 0/1 (or soft) labels of the
    input's shape; ``weight`` (typically (C,)) broadcasts to the input:

    .. math::
        \ell_i = \frac1C \sum_c w_c\,[\,y_{ic}\,\mathrm{softplus}(-x_{ic})
                 + (1 - y_{ic})\,\mathrm{softplus}(x_{ic})\,]

    the mean over classes of a sigmoid BCE, one value per sample (shape
    ``input.shape[:-1]`` for "none"); "mean" averages the samples.
    """
    x, y, w = _prepare_multilabel(input, target, weight, reduction)
    # both softplus(±x) from one log1p(exp(-|x|)); neither loses the small
    # term to cancellation the way softplus(-x) + x would for x << 0
    shared = log1p_exp_neg_abs(x)
    loss = (shared - np.minimum(x, 0.0)) * y
    loss += (shared + np.maximum(x, 0.0)) * (1.0 - y)
    if w is not None:
        loss *= w
    per_sample = loss.sum(-1)
    per_sample /= x.shape[-1]
    return reduce(per_sample, reduction)


@quiet
def multilabel_soft_margin_loss_grad(
    input, target, weight=None, reduction: str = "mean"
) -> np.ndarray:
    r"""Gradient of :func:`multilabel_soft_margin_loss`: :math:`w\,(\sigma(x) - y) / C`."""
    x, y, w = _prepare_multilabel(input, target, weight, reduction)
    grad = sigmoid(x)
    grad -= y
    if w is not None:
        grad *= w
    grad /= x.shape[-1]
    return scaled(grad, grad.size // max(x.shape[-1], 1), reduction)
