"""Likelihood losses: the negative log-likelihood of a predicted distribution.

Every loss here is ``-log p(target | prediction)`` for a named distribution,
constants dropped unless ``full=True``. Predicting a spread as well as a
centre (:func:`gaussian_nll_loss`, :func:`laplace_nll_loss`) lets a model say
how sure it is: a wide spread makes errors cheap but costs ``log(spread)``.
:func:`poisson_nll_loss` fits counts, and :func:`kl_div` compares whole
distributions.

Each loss ``name(...)`` has a twin ``name_grad(...)`` with the same arguments;
names and semantics follow ``torch.nn.functional`` where PyTorch has the
loss. NaN and inf appear exactly where PyTorch gives them (a negative target
in :func:`kl_div`, ``exp`` of a huge log-rate), so NumPy's floating-point
warnings are silenced inside these functions.
"""

from __future__ import annotations

import math

import numpy as np

from ._common import (
    REDUCTIONS,
    as_float,
    as_floats,
    check_reduction,
    check_same_shape,
    common_float,
    reduce,
    scaled,
)
from ._zero_d import accept_0d

__all__ = [
    "gaussian_nll_loss", "gaussian_nll_loss_grad",
    "laplace_nll_loss", "laplace_nll_loss_grad",
    "poisson_nll_loss", "poisson_nll_loss_grad",
    "kl_div", "kl_div_grad",
]

_LOG_2PI = math.log(2 * math.pi)
_LOG_2 = math.log(2)
_quiet = np.errstate(divide="ignore", invalid="ignore", over="ignore")


# ------------------------------------------------------- spread (var, scale)
def _spread_shape(shape: tuple, input_shape: tuple, name: str) -> tuple:
    """The shape a var/scale array takes to broadcast against the input (PyTorch's rule).

    Allowed: the input's shape; the input's shape without its last axis (one
    spread per row); or the input's shape with exactly one axis of size 1.
    """
    if shape == input_shape:
        return shape
    if input_shape and shape == input_shape[:-1]:
        return shape + (1,)
    if len(shape) == len(input_shape):
        differing = [s for s, n in zip(shape, input_shape) if s != n]
        if differing == [1]:
            return shape
    raise ValueError(
        f"{name} must have the input's shape {input_shape}, that shape without its last "
        f"axis {input_shape[:-1]}, or that shape with one axis of size 1; got {shape}"
    )


def _prepare_spread(input, target, spread, name: str, reduction: str):
    """Validated input, target and spread; the spread reshaped to broadcast.

    A Python or NumPy scalar spread applies to every element and keeps the
    input's dtype. Returns ``(x, y, spread_view, spread_shape)``.
    """
    check_reduction(reduction)
    x, y = as_floats(input=input, target=target)
    check_same_shape(x, y)
    if isinstance(spread, (int, float, np.number)) and not isinstance(spread, (bool, np.bool_)):
        view = np.asarray(spread, dtype=x.dtype)
        shape = ()
    else:
        s = as_float(spread, name)
        dtype = common_float(x, s)
        x, y, s = (a.astype(dtype, copy=False) for a in (x, y, s))
        shape = s.shape
        view = s.reshape(_spread_shape(shape, x.shape, name))
    if np.any(view < 0):
        raise ValueError(f"{name} must be non-negative, got a minimum of {view.min()}")
    return x, y, view, shape


def _sum_to(grad: np.ndarray, view: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a gradient of the input's shape back onto a broadcast spread of ``shape``."""
    if view.ndim == 0:
        return np.asarray(grad.sum(), dtype=grad.dtype)
    axes = tuple(i for i, (v, g) in enumerate(zip(view.shape, grad.shape)) if v == 1 and g != 1)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


# ------------------------------------------------------------------ Gaussian
@_quiet
@accept_0d
def gaussian_nll_loss(
    input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> np.ndarray:
    r"""Gaussian negative log-likelihood, ``F.gaussian_nll_loss``.

    .. math::
        \ell_i = \tfrac12\Big(\log \hat v_i + \frac{(x_i - y_i)^2}{\hat v_i}\Big)
                 \;\big(+\tfrac12 \log 2\pi \text{ if full}\big),
        \qquad \hat v = \max(\text{var}, \varepsilon)

    ``input`` is the predicted mean, ``var`` the predicted variance: the
    input's shape, that shape without its last axis, that shape with one
    axis of size 1, or a scalar. Negative ``var`` raises ``ValueError``. The
    clamp at ``eps`` (rather than adding it) follows PyTorch. With a fixed
    variance this is half the squared error plus a constant.
    Reference: Nix & Weigend (1994), "Estimating the mean and variance of the
    target probability distribution".
    """
    x, y, var, _ = _prepare_spread(input, target, var, "var", reduction)
    var = np.maximum(var, eps)
    loss = x - y
    loss *= loss
    loss /= var
    loss += np.log(var)
    loss *= 0.5
    if full:
        loss += 0.5 * _LOG_2PI
    return reduce(loss, reduction)


@_quiet
@accept_0d
def gaussian_nll_loss_grad(
    input, target, var, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
):
    r"""Gradients of :func:`gaussian_nll_loss`: ``(d_input, d_var)``.

    .. math::
        \frac{\partial \ell}{\partial x} = \frac{x - y}{\hat v}, \qquad
        \frac{\partial \ell}{\partial \text{var}} = \frac12\Big(\frac{1}{\hat v}
        - \frac{(x - y)^2}{\hat v^2}\Big)

    ``d_var`` has ``var``'s shape (summed over the elements that share a
    variance). Below ``eps`` it is the derivative at the clamped value, not
    0, as in PyTorch (whose clamp runs without gradient tracking): var=1e-9
    and x - y = 0.5 give -1.25e11.
    """
    x, y, var, shape = _prepare_spread(input, target, var, "var", reduction)
    var = np.maximum(var, eps)
    diff = x - y
    d_input = diff / var
    d_var = d_input * d_input
    np.subtract(1.0 / var, d_var, out=d_var)
    d_var *= 0.5
    return (
        scaled(d_input, x.size, reduction),
        scaled(_sum_to(d_var, var, shape), x.size, reduction),
    )


# ------------------------------------------------------------------- Laplace
@_quiet
@accept_0d
def laplace_nll_loss(
    input, target, scale, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> np.ndarray:
    r"""Laplace negative log-likelihood: the L1 loss with a learned scale.

    .. math::
        \ell_i = \log \hat b_i + \frac{|x_i - y_i|}{\hat b_i}
                 \;\big(+\log 2 \text{ if full}\big),
        \qquad \hat b = \max(\text{scale}, \varepsilon)

    The density is :math:`e^{-|x - y|/b} / (2b)`. ``scale`` follows the shape
    rules of ``var`` in :func:`gaussian_nll_loss`, and ``eps`` clamps it the
    same way. PyTorch has no such function.
    Reference: Kendall & Gal (2017), "What uncertainties do we need in
    Bayesian deep learning?", eq. (8).
    """
    x, y, scale, _ = _prepare_spread(input, target, scale, "scale", reduction)
    scale = np.maximum(scale, eps)
    loss = np.abs(x - y)
    loss /= scale
    loss += np.log(scale)
    if full:
        loss += _LOG_2
    return reduce(loss, reduction)


@_quiet
@accept_0d
def laplace_nll_loss_grad(
    input, target, scale, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
):
    r"""Gradients of :func:`laplace_nll_loss`: ``(d_input, d_scale)``.

    .. math::
        \frac{\partial \ell}{\partial x} = \frac{\operatorname{sign}(x - y)}{\hat b},
        \qquad \frac{\partial \ell}{\partial \text{scale}} = \frac{1}{\hat b}
        - \frac{|x - y|}{\hat b^2}

    At ``x == y`` the subgradient 0 is taken (as for ``l1_loss``). Below
    ``eps`` the scale gradient is the derivative at the clamped value, the
    convention of :func:`gaussian_nll_loss_grad`.
    """
    x, y, scale, shape = _prepare_spread(input, target, scale, "scale", reduction)
    scale = np.maximum(scale, eps)
    diff = x - y
    d_input = np.sign(diff)
    d_input /= scale
    d_scale = np.abs(diff)
    d_scale /= scale
    np.subtract(1.0, d_scale, out=d_scale)
    d_scale /= scale
    return (
        scaled(d_input, x.size, reduction),
        scaled(_sum_to(d_scale, scale, shape), x.size, reduction),
    )


# ------------------------------------------------------------------- Poisson
def _prepare_poisson(input, target, reduction):
    check_reduction(reduction)
    x, y = as_floats(input=input, target=target)
    check_same_shape(x, y)
    return x, y


@_quiet
@accept_0d
def poisson_nll_loss(
    input, target, log_input: bool = True, full: bool = False, eps: float = 1e-8,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Poisson negative log-likelihood of counts, ``F.poisson_nll_loss``.

    With ``log_input`` the input is the log-rate :math:`x = \log\lambda`:

    .. math:: \ell_i = e^{x_i} - y_i x_i \qquad\text{else}\qquad \ell_i = x_i - y_i \log(x_i + \varepsilon)

    ``full`` adds Stirling's approximation of :math:`\log y!`,
    :math:`y\log y - y + \tfrac12\log(2\pi y)`, only where :math:`y > 1`
    (for y = 0 and 1 the exact value is 0), as PyTorch does. The log-rate
    form is the stable one; ``exp`` of a log-rate of 100 overflows float32
    to inf, as in PyTorch. Inputs are not range-checked, as in PyTorch.
    """
    x, y = _prepare_poisson(input, target, reduction)
    if log_input:
        loss = np.exp(x)
        loss -= y * x
    else:
        loss = x - y * np.log(x + eps)
    if full:
        counts = y[y > 1]
        stirling = counts * np.log(counts) - counts + 0.5 * np.log(2 * math.pi * counts)
        loss[y > 1] += stirling
    return reduce(loss, reduction)


@_quiet
@accept_0d
def poisson_nll_loss_grad(
    input, target, log_input: bool = True, full: bool = False, eps: float = 1e-8,
    reduction: str = "mean",
) -> np.ndarray:
    r"""Gradient of :func:`poisson_nll_loss`: :math:`e^{x} - y`, or :math:`1 - y/(x + \varepsilon)`.

    The Stirling term depends only on the target, so ``full`` changes nothing.
    """
    x, y = _prepare_poisson(input, target, reduction)
    if log_input:
        grad = np.exp(x)
        grad -= y
    else:
        grad = y / (x + eps)
        np.subtract(1.0, grad, out=grad)
    return scaled(grad, grad.size, reduction)


# ------------------------------------------------------------ KL divergence
def _prepare_kl(input, target, reduction):
    check_reduction(reduction, REDUCTIONS + ("batchmean",))
    x, t = as_floats(input=input, target=target)
    check_same_shape(x, t)
    return x, t


def _batch_size(x: np.ndarray) -> int:
    """The "batchmean" denominator: the size of axis 0 (1 for a 0-d input, as PyTorch)."""
    return x.shape[0] if x.ndim else 1


@_quiet
@accept_0d
def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    r"""Kullback-Leibler divergence, ``F.kl_div``, with ``input`` = log q and ``target`` = p.

    .. math::
        \ell_i = p_i(\log p_i - x_i) \qquad(\text{log\_target: } \ell_i = e^{t_i}(t_i - x_i))

    with :math:`0 \log 0 = 0`. Note the argument order: the *input* holds
    log-probabilities of the model, the *target* probabilities (or
    log-probabilities with ``log_target=True``), and the loss is KL(p || q).

    ``reduction="batchmean"`` divides the sum by the batch size (axis 0) and
    is the true KL divergence per sample; ``"mean"`` divides by the number
    of elements, which PyTorch keeps only for compatibility. As in PyTorch, a
    zero target with a ``-inf`` input gives NaN (``0 * -inf``), and so does a
    negative target.
    Reference: Kullback & Leibler (1951), "On information and sufficiency".
    """
    x, t = _prepare_kl(input, target, reduction)
    if log_target:
        loss = t - x
        loss *= np.exp(t)
    else:
        loss = np.where(t == 0, 0, t * np.log(t))  # xlogy: 0 log 0 = 0
        loss -= t * x
    if reduction == "batchmean":
        return np.asarray(loss.sum() / _batch_size(x), dtype=loss.dtype)
    return reduce(loss, reduction)


@_quiet
@accept_0d
def kl_div_grad(input, target, reduction: str = "mean", log_target: bool = False) -> np.ndarray:
    r"""Gradient of :func:`kl_div` w.r.t. ``input``: :math:`-p` (:math:`-e^{t}` with ``log_target``).

    Divided by the number of elements for "mean", by the batch size for
    "batchmean".
    """
    x, t = _prepare_kl(input, target, reduction)
    grad = np.negative(np.exp(t) if log_target else t)
    if reduction == "batchmean":
        grad *= 1.0 / _batch_size(x) if x.size else 1.0
        return grad
    return scaled(grad, grad.size, reduction)
