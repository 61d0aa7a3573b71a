"""Composite objectives: losses built from other losses.

* :func:`gaussian_kl`, the closed-form KL term of a VAE;
* :func:`vae_loss`, reconstruction + beta·KL (the negative ELBO);
* :func:`uncertainty_weighted_loss`, multi-task weights learned as
  log-variances;
* :func:`weighted_sum`, the plain fixed-weight combination it improves on.

Each ``_grad`` returns a tuple, one gradient per differentiated argument, in
the order of the signature.
"""

from __future__ import annotations

import numpy as np

from ._common import as_floats, check_positive, check_reduction, reduce, scaled
from .classification import binary_cross_entropy, binary_cross_entropy_grad
from .regression import mse_loss, mse_loss_grad

__all__ = [
    "gaussian_kl", "gaussian_kl_grad",
    "vae_loss", "vae_loss_grad",
    "uncertainty_weighted_loss", "uncertainty_weighted_loss_grad",
    "weighted_sum", "weighted_sum_grad",
]

_RECONSTRUCTIONS = ("bce", "mse")


def _latent(mu, logvar):
    """Validated ``(mu, logvar)``: same shape, at least 1-D, common dtype."""
    mu, logvar = as_floats(mu=mu, logvar=logvar)
    if mu.ndim < 1:
        raise ValueError(f"mu must be at least 1-D (..., D), got shape {mu.shape}")
    if logvar.shape != mu.shape:
        raise ValueError(f"logvar must have the same shape as mu {mu.shape}, got {logvar.shape}")
    return mu, logvar


# -------------------------------------------------------------- Gaussian KL
def _kl_per_sample(mu, logvar):
    # 1 + s - mu² - e^s  rewritten as  -(mu² + expm1(s) - s): exp(s) - 1 - s
    # loses every digit near s = 0 when written naively; expm1 keeps them.
    # A huge logvar overflows to inf, as in torch, without a warning.
    with np.errstate(over="ignore"):
        terms = mu * mu + (np.expm1(logvar) - logvar)
    terms *= terms.dtype.type(0.5)
    return np.sum(terms, axis=-1)


def gaussian_kl(mu, logvar, reduction: str = "mean") -> np.ndarray:
    r"""KL divergence of a diagonal Gaussian from the standard normal.

    .. math::
        \mathrm{KL}\big(\mathcal N(\mu, e^{s}) \,\|\, \mathcal N(0, I)\big)
        = -\tfrac12 \sum_j \left(1 + s_j - \mu_j^2 - e^{s_j}\right),

    with ``s = logvar``, summed over the latent dimensions (the last axis),
    one value per sample, then reduced. Computed as
    ``0.5 Σ (mu² + expm1(s) - s)``, which keeps full precision near ``s = 0``.

    Parameters
    ----------
    mu, logvar : array_like, shape (N, D) (any (..., D))
        Mean and log-variance of the approximate posterior.
    reduction : {"mean", "sum", "none"}
        "none" returns shape (N,); "mean" averages over samples, not over
        latent dimensions.

    References
    ----------
    Kingma & Welling (2014), "Auto-encoding variational Bayes", ICLR,
    appendix B.
    """
    check_reduction(reduction)
    mu, logvar = _latent(mu, logvar)
    return reduce(_kl_per_sample(mu, logvar), reduction)


def gaussian_kl_grad(mu, logvar, reduction: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    r"""Gradient of :func:`gaussian_kl`: ``(d_mu, d_logvar)``.

    .. math:: \frac{\partial}{\partial \mu_j} = \mu_j, \qquad
              \frac{\partial}{\partial s_j} = \tfrac12 (e^{s_j} - 1),

    divided by the number of samples for "mean". The KL is minimised at
    ``mu = 0, logvar = 0``.
    """
    check_reduction(reduction)
    mu, logvar = _latent(mu, logvar)
    count = int(np.prod(mu.shape[:-1]))
    d_mu = mu.copy()
    with np.errstate(over="ignore"):
        d_logvar = np.expm1(logvar)
    d_logvar *= d_logvar.dtype.type(0.5)
    return scaled(d_mu, count, reduction), scaled(d_logvar, count, reduction)


# ------------------------------------------------------------------ VAE
def _vae_inputs(recon, x, mu, logvar, beta, reconstruction, reduction):
    check_reduction(reduction)
    if reconstruction not in _RECONSTRUCTIONS:
        raise ValueError(f"reconstruction must be 'bce' or 'mse', got {reconstruction!r}")
    check_positive(beta, "beta", strict=False)
    recon, x, mu, logvar = as_floats(recon=recon, x=x, mu=mu, logvar=logvar)
    if recon.ndim < 1:
        raise ValueError(f"recon must be at least 1-D (N, ...), got shape {recon.shape}")
    if x.shape != recon.shape:
        raise ValueError(f"x must have the same shape as recon {recon.shape}, got {x.shape}")
    if mu.ndim != 2 or mu.shape[0] != recon.shape[0]:
        raise ValueError(f"mu must have shape (N, D) with N = {recon.shape[0]}, got {mu.shape}")
    if logvar.shape != mu.shape:
        raise ValueError(f"logvar must have the same shape as mu {mu.shape}, got {logvar.shape}")
    if reconstruction == "bce":
        for name, array in (("recon", recon), ("x", x)):
            if not np.all((array >= 0) & (array <= 1)):  # NaN fails too
                raise ValueError(f"{name} must hold values in [0, 1] for reconstruction='bce'")
    return recon, x, mu, logvar


def _sum_per_sample(values):
    """Sum over every axis but the first (written so that N = 0 works)."""
    return np.sum(values.reshape(values.shape[0], int(np.prod(values.shape[1:]))), axis=1)


def vae_loss(
    recon, x, mu, logvar, beta: float = 1.0, reconstruction: str = "bce",
    reduction: str = "mean",
) -> np.ndarray:
    r"""Negative evidence lower bound of a VAE, with a ``beta`` on the KL term.

    .. math::
        \ell_i = \sum_k \mathrm{rec}(r_{ik}, x_{ik})
                 + \beta\, \mathrm{KL}\big(\mathcal N(\mu_i, e^{s_i}) \,\|\, \mathcal N(0, I)\big)

    The reconstruction is summed over every non-batch axis of one sample (a
    log-likelihood of the whole image), the KL over its latent dimensions
    (:func:`gaussian_kl`); ``reduction`` then acts over the batch. So
    "sum" is the loss of the PyTorch VAE example
    (``F.binary_cross_entropy(..., reduction="sum") + KL``) and "mean" is that
    divided by N. Averaging the reconstruction over pixels instead, as some
    code does, silently multiplies beta by the number of pixels.

    ``reconstruction="bce"``: Bernoulli decoder,
    ``-[x log r + (1 - x) log(1 - r)]`` with each log clamped at -100 as in
    ``F.binary_cross_entropy`` (so ``r`` of exactly 0 or 1 stays finite).
    ``reconstruction="mse"``: ``(r - x)²``, a Gaussian decoder of fixed
    variance 1/2 up to a constant.

    Parameters
    ----------
    recon : array_like, shape (N, ...)
        Decoder output (probabilities in [0, 1] for "bce").
    x : array_like, same shape as recon
        The data (in [0, 1] for "bce").
    mu, logvar : array_like, shape (N, D)
        Encoder output.
    beta : float, >= 0
        Weight of the KL term; 1 is the ELBO, > 1 the beta-VAE.
    reconstruction : {"bce", "mse"}
    reduction : {"mean", "sum", "none"}

    References
    ----------
    Kingma & Welling (2014), "Auto-encoding variational Bayes", ICLR;
    Higgins et al. (2017), "beta-VAE: Learning basic visual concepts with a
    constrained variational framework", ICLR.
    """
    recon, x, mu, logvar = _vae_inputs(recon, x, mu, logvar, beta, reconstruction, reduction)
    reconstruction_loss = binary_cross_entropy if reconstruction == "bce" else mse_loss
    loss = _sum_per_sample(reconstruction_loss(recon, x, reduction="none"))
    loss += loss.dtype.type(beta) * _kl_per_sample(mu, logvar)
    return reduce(loss, reduction)


def vae_loss_grad(
    recon, x, mu, logvar, beta: float = 1.0, reconstruction: str = "bce",
    reduction: str = "mean",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Gradient of :func:`vae_loss`: ``(d_recon, d_mu, d_logvar)``.

    * "bce": :math:`(r - x) / \max(r(1 - r), 10^{-12})`, torch's backward of
      ``F.binary_cross_entropy``. Where :math:`r(1-r) \ge 10^{-12}` this is the
      exact derivative :math:`-x/r + (1-x)/(1-r)`; nearer 0 or 1 it is a
      clamped slope (at ``r`` exactly 0 or 1, where the clamped loss is flat,
      it still points back into (0, 1)). Torch's floor is the float32 number
      nearest 1e-12 even in float64; it is reproduced here.
    * "mse": :math:`2 (r - x)`.
    * KL: ``beta·mu`` and ``beta·(e^s - 1)/2`` (see :func:`gaussian_kl_grad`).

    All divided by N for "mean".
    """
    recon, x, mu, logvar = _vae_inputs(recon, x, mu, logvar, beta, reconstruction, reduction)
    n = recon.shape[0]
    reconstruction_grad = binary_cross_entropy_grad if reconstruction == "bce" else mse_loss_grad
    d_recon = reconstruction_grad(recon, x, reduction="none")
    d_mu, d_logvar = gaussian_kl_grad(mu, logvar, reduction="sum")
    b = mu.dtype.type(beta)
    d_mu *= b
    d_logvar *= b
    return scaled(d_recon, n, reduction), scaled(d_mu, n, reduction), scaled(d_logvar, n, reduction)


# ------------------------------------------------------ multi-task weights
def _task_vectors(losses, other, other_name):
    losses, other = as_floats(losses=losses, **{other_name: other})
    if losses.ndim != 1:
        raise ValueError(f"losses must be 1-D (one loss per task), got shape {losses.shape}")
    if other.shape != losses.shape:
        raise ValueError(
            f"{other_name} must have the same shape as losses {losses.shape}, got {other.shape}"
        )
    return losses, other


def uncertainty_weighted_loss(losses, log_vars) -> np.ndarray:
    r"""Multi-task loss with learned homoscedastic-uncertainty weights.

    .. math:: L = \sum_i e^{-s_i} L_i + s_i, \qquad s_i = \log \sigma_i^2 .

    Each task's loss is divided by its learned variance; the ``+ s_i`` term
    stops the variance growing without bound. For fixed ``L_i > 0`` the best
    ``s_i`` is ``log L_i`` (each task then contributes ``1 + log L_i``), so a
    task with a large loss gets a small weight.

    Convention: Kendall et al. derive ``L_i / (2σ²) + log σ`` for a Gaussian
    (regression) task and ``L_i / σ² + log σ`` for a classification task.
    This is the common simplified form used for every task (twice the
    regression form in terms of ``s``); the minimiser in ``s`` is the same.
    A negative ``L_i`` (a log-likelihood can be) makes ``L`` unbounded below
    in ``s_i``. A very negative ``s_i`` overflows ``e^{-s_i}`` to inf, as
    in torch.

    Parameters
    ----------
    losses : array_like, shape (K,)
        One scalar loss per task.
    log_vars : array_like, shape (K,)
        The learned ``s_i = log σ_i²``.

    Returns
    -------
    np.ndarray
        0-d, the sum over tasks.

    References
    ----------
    Kendall, Gal & Cipolla (2018), "Multi-task learning using uncertainty to
    weigh losses for scene geometry and semantics", CVPR.
    """
    losses, log_vars = _task_vectors(losses, log_vars, "log_vars")
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(np.exp(-log_vars) * losses + log_vars)
    return np.asarray(total, dtype=losses.dtype)


def uncertainty_weighted_loss_grad(losses, log_vars) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradient of :func:`uncertainty_weighted_loss`: ``(d_losses, d_log_vars)``.

    .. math:: \frac{\partial L}{\partial L_i} = e^{-s_i}, \qquad
              \frac{\partial L}{\partial s_i} = 1 - e^{-s_i} L_i ,

    the second zero at ``s_i = log L_i``.
    """
    losses, log_vars = _task_vectors(losses, log_vars, "log_vars")
    with np.errstate(over="ignore", invalid="ignore"):
        weights = np.exp(-log_vars)
        d_log_vars = 1 - weights * losses
    return weights, d_log_vars


def weighted_sum(losses, weights) -> np.ndarray:
    r"""Fixed-weight combination of task losses: :math:`L = \sum_i w_i L_i`.

    The baseline that :func:`uncertainty_weighted_loss` replaces: the
    weights are hyperparameters, and their scale interacts with the learning
    rate.

    Parameters
    ----------
    losses : array_like, shape (K,)
        One scalar loss per task.
    weights : array_like, shape (K,)
        One weight per task (no sign or sum constraint is imposed).

    Returns
    -------
    np.ndarray
        0-d.
    """
    losses, weights = _task_vectors(losses, weights, "weights")
    return np.asarray(np.sum(weights * losses), dtype=losses.dtype)


def weighted_sum_grad(losses, weights) -> tuple[np.ndarray, np.ndarray]:
    r"""Gradient of :func:`weighted_sum`: ``(d_losses, d_weights) = (w, L)``."""
    losses, weights = _task_vectors(losses, weights, "weights")
    return weights.copy(), losses.copy()
