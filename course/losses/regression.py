"""Regression losses: penalties on the residual ``d = input - target``.

Each loss is a pair ``name(input, target, reduction="mean", ...)`` and
``name_grad(...)``, with PyTorch's names and semantics. The gradient is taken
with respect to ``input``; for ``reduction="none"`` it is the gradient of the
sum of the per-element losses.

Which loss to pick is a statement about the noise you expect (lesson 03):
squared error is the Gaussian negative log-likelihood, absolute error the
Laplace one; Huber and log-cosh sit in between, quadratic near zero and
linear in the tails.
"""

from __future__ import annotations

import numpy as np

from ._common import as_float_pair, check_positive, reduce, reduction_scale, scaled

__all__ = [
    "mse_loss", "mse_loss_grad",
    "l1_loss", "l1_loss_grad",
    "huber_loss", "huber_loss_grad",
    "smooth_l1_loss", "smooth_l1_loss_grad",
    "log_cosh_loss", "log_cosh_loss_grad",
    "quantile_loss", "quantile_loss_grad",
]


def _residual(input, target) -> np.ndarray:
    """Validated ``input - target`` (same shape required, common float dtype)."""
    input, target = as_float_pair(input, target)
    return np.asarray(input - target)  # an array even for 0-d inputs, so in-place ops work


# --------------------------------------------------------------------- MSE
def mse_loss(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Mean squared error, ``F.mse_loss``.

    .. math:: \ell_i = (x_i - y_i)^2

    No factor 1/2: PyTorch and Keras leave it out, some textbooks (and
    ``optax.l2_loss``) put it in, which halves the gradient.

    Parameters
    ----------
    input, target : array_like, same shape
    reduction : {"mean", "sum", "none"}
    """
    d = _residual(input, target)
    np.multiply(d, d, out=d)
    return reduce(d, reduction)


def mse_loss_grad(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`mse_loss` w.r.t. ``input``: :math:`2(x - y)` (/N for "mean")."""
    d = _residual(input, target)
    d *= d.dtype.type(2)
    return scaled(d, d.size, reduction)


# ---------------------------------------------------------------------- L1
def l1_loss(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Mean absolute error, ``F.l1_loss``: :math:`\ell_i = |x_i - y_i|`.

    Its minimiser over a constant prediction is the median of the targets.
    """
    d = _residual(input, target)
    np.abs(d, out=d)
    return reduce(d, reduction)


def l1_loss_grad(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`l1_loss`: :math:`\operatorname{sign}(x - y)`.

    At a zero residual the subgradient 0 is taken, as PyTorch does.
    """
    grad = np.sign(_residual(input, target))
    return scaled(grad, grad.size, reduction)


# ------------------------------------------------------------------- Huber
def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> np.ndarray:
    r"""Huber loss, ``F.huber_loss``.

    .. math::
        \ell_i = \begin{cases} \tfrac12 d_i^2 & |d_i| < \delta \\
                 \delta\,(|d_i| - \tfrac12\delta) & \text{otherwise} \end{cases}

    Quadratic near zero, linear beyond ``delta``; value and slope are
    continuous at the kink. ``huber_loss(delta=δ) == δ * smooth_l1_loss(beta=δ)``.
    Reference: Huber (1964), "Robust estimation of a location parameter".
    """
    check_positive(delta, "delta")
    return reduce(_huber_elementwise(_residual(input, target), delta), reduction)


def _huber_elementwise(d: np.ndarray, delta: float) -> np.ndarray:
    """Per-element Huber loss, computed in place in ``d``.

    With ``c = clip(d, -δ, δ)`` (which is also the gradient), both branches are
    ``c * (d - c/2)``: for ``|d| < δ`` that is ``d²/2``, beyond it
    ``δ(|d| - δ/2)``. One formula, no mask, no ``abs``.
    """
    c = np.clip(d, -delta, delta)
    d -= d.dtype.type(0.5) * c
    d *= c
    return d


def huber_loss_grad(input, target, reduction: str = "mean", delta: float = 1.0) -> np.ndarray:
    r"""Gradient of :func:`huber_loss`: the residual clipped to ``[-delta, delta]``."""
    check_positive(delta, "delta")
    d = _residual(input, target)
    np.clip(d, -delta, delta, out=d)
    return scaled(d, d.size, reduction)


# --------------------------------------------------------------- Smooth L1
def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> np.ndarray:
    r"""Smooth L1 loss, ``F.smooth_l1_loss``.

    .. math::
        \ell_i = \begin{cases} \tfrac12 d_i^2/\beta & |d_i| < \beta \\
                 |d_i| - \tfrac12\beta & \text{otherwise} \end{cases}

    Huber divided by ``beta``: the linear part has slope 1 whatever ``beta``.
    ``beta=0`` is exactly :func:`l1_loss` (PyTorch's convention).
    Reference: Girshick (2015), "Fast R-CNN".
    """
    check_positive(beta, "beta", strict=False)
    if beta == 0:
        return l1_loss(input, target, reduction)
    loss = _huber_elementwise(_residual(input, target), beta)
    loss *= loss.dtype.type(1.0 / beta)
    return reduce(loss, reduction)


def smooth_l1_loss_grad(input, target, reduction: str = "mean", beta: float = 1.0) -> np.ndarray:
    r"""Gradient of :func:`smooth_l1_loss`: ``clip(d, -beta, beta) / beta`` (``sign(d)`` at beta=0)."""
    check_positive(beta, "beta", strict=False)
    if beta == 0:
        return l1_loss_grad(input, target, reduction)
    d = _residual(input, target)
    np.clip(d, -beta, beta, out=d)
    d *= d.dtype.type(reduction_scale(d.size, reduction) / beta)
    return d


# ---------------------------------------------------------------- log-cosh
_LOG2 = np.log(2.0)


def log_cosh_loss(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Log-cosh loss: :math:`\ell_i = \log\cosh(x_i - y_i)`.

    About ``d²/2`` for small residuals and ``|d| - log 2`` for large ones.
    ``cosh(1000)`` overflows, so it is computed as
    ``|d| + log1p(exp(-2|d|)) - log 2`` (the same as ``logaddexp(d, -d) - log 2``,
    and several times faster): exact and finite for any finite ``d``.
    """
    a = np.abs(_residual(input, target))
    loss = np.asarray(np.exp(a * a.dtype.type(-2)))
    np.log1p(loss, out=loss)
    loss += a
    loss -= loss.dtype.type(_LOG2)
    return reduce(loss, reduction)


def log_cosh_loss_grad(input, target, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`log_cosh_loss`: :math:`\tanh(x - y)`, bounded by 1 like L1's."""
    d = _residual(input, target)
    np.tanh(d, out=d)
    return scaled(d, d.size, reduction)


# ---------------------------------------------------------------- quantile
def _check_quantile(quantile: float) -> None:
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {quantile!r}")


def quantile_loss(input, target, quantile: float = 0.5, reduction: str = "mean") -> np.ndarray:
    r"""Quantile (pinball) loss.

    With the residual written as ``r = target - input``:

    .. math:: \ell_i = \max(q\,r_i,\; (q - 1)\,r_i)

    Under-predictions cost ``q`` per unit, over-predictions ``1 - q``, so the
    best constant prediction is the ``q``-th quantile of the targets.
    ``quantile=0.5`` gives half the absolute error.
    Reference: Koenker & Bassett (1978), "Regression quantiles".
    """
    _check_quantile(quantile)
    d = _residual(input, target)  # input - target = -r
    # max(q r, (q-1) r) with r = -d  is  max(-q d, (1-q) d)
    loss = np.maximum(-quantile * d, (1.0 - quantile) * d)
    return reduce(loss, reduction)


def quantile_loss_grad(input, target, quantile: float = 0.5, reduction: str = "mean") -> np.ndarray:
    r"""Gradient of :func:`quantile_loss` w.r.t. ``input``.

    ``-q`` where the input is below the target, ``1 - q`` where it is above,
    and the subgradient 0 at an exact tie (the choice ``l1_loss`` makes too).
    """
    _check_quantile(quantile)
    d = _residual(input, target)
    grad = np.where(d > 0, 1.0 - quantile, np.where(d < 0, -quantile, 0.0)).astype(d.dtype)
    return scaled(grad, grad.size, reduction)
