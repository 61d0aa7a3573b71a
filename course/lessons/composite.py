"""Lesson 09: beta in a linear VAE on the 8x8 digits, in closed form.

A linear VAE with a Gaussian encoder ``q(z|x) = N(V x, diag(e^s))``, a
linear decoder ``r = W z`` and the ``"mse"`` reconstruction of
:func:`course.losses.vae_loss` has a closed-form optimum. Along the data's
principal directions (variances ``lambda_j``) each latent dimension is either

* **active**, when ``lambda_j > beta/2``: decoder weight ``w_j^2 = lambda_j - beta/2``,
  encoder ``v_j = w_j / lambda_j``, posterior variance ``beta / (2 lambda_j)``,
  reconstruction error ``beta/2`` and KL ``0.5 log(2 lambda_j / beta)``; or
* **collapsed** (posterior = prior), when ``lambda_j <= beta/2``: ``w_j = v_j = 0``,
  reconstruction error ``lambda_j``, KL 0.

This is reverse water-filling from Gaussian rate-distortion theory, with the
water level ``beta/2``. :func:`linear_vae_optimum` returns these parameters,
:func:`linear_vae_objective` evaluates :func:`course.losses.vae_loss` at any
parameters exactly (the reconstruction is quadratic in the noise, so a set
of noise vectors with mean 0 and covariance I gives the expectation), and
:func:`water_filling` gives the optimum's terms for any beta
(:mod:`course.widgets.composite` puts a slider on it).

:func:`train_two_tasks` trains a small two-task network on the digits with
torch and records each task's gradient norm on the shared weights, under
equal, gradient-norm and uncertainty weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from course import data, losses

LATENT_DIMS = 8




@lru_cache(maxsize=1)
def centered_digits():
    """The 1,797 8x8 digits scaled to [0, 1] and centered, and their covariance eigenpairs.

    Returns ``(X, lam, U)``: ``X`` (1797, 64) centered, ``lam`` the 64
    eigenvalues of its (biased) covariance in decreasing order, ``U`` the
    matching eigenvectors as columns.
    """
    X = data.digits()[0]
    X = X - X.mean(axis=0)
    lam, U = np.linalg.eigh(X.T @ X / X.shape[0])
    order = np.argsort(lam)[::-1]
    return X, np.clip(lam[order], 0.0, None), U[:, order]


def linear_vae_optimum(beta: float, latent_dims: int = LATENT_DIMS):
    """Closed-form optimum of the linear VAE: ``(W, V, logvar)``.

    ``W`` (64, D) decoder, ``V`` (D, 64) encoder, ``logvar`` (D,).
    """
    _, lam, U = centered_digits()
    lam_d, U_d = lam[:latent_dims], U[:, :latent_dims]
    active = lam_d > beta / 2
    w = np.sqrt(np.where(active, lam_d - beta / 2, 0.0))
    v = np.where(active, w / lam_d, 0.0)
    var = np.where(active, beta / (2 * lam_d), 1.0)
    return U_d * w, (U_d * v).T, np.log(var)


def noise_set(latent_dims: int):
    """2D noise vectors ``±sqrt(D) e_j``: sample mean 0, sample covariance exactly I."""
    eye = np.sqrt(latent_dims) * np.eye(latent_dims)
    return np.vstack([eye, -eye])


def linear_vae_objective(W, V, logvar, beta: float, X=None):
    """Exact expected ``vae_loss(..., "mse", "mean")`` of a linear VAE, and its two terms.

    Every sample is paired with every vector of :func:`noise_set`
    (reparameterization ``z = mu + e^{s/2} eps``); averaging a quadratic over
    that set gives its expectation exactly. Returns ``(total, rec, kl)``.
    """
    if X is None:
        X = centered_digits()[0]
    eps = noise_set(len(logvar))
    mu = X @ V.T
    mu_rows = np.repeat(mu, len(eps), axis=0)
    z = mu_rows + np.exp(logvar / 2) * np.tile(eps, (len(X), 1))
    x_rows = np.repeat(X, len(eps), axis=0)
    logvar_rows = np.broadcast_to(logvar, mu_rows.shape)
    total = float(losses.vae_loss(z @ W.T, x_rows, mu_rows, logvar_rows, beta=beta,
                                  reconstruction="mse"))
    kl = float(losses.gaussian_kl(mu, np.broadcast_to(logvar, mu.shape)))
    return total, total - beta * kl, kl


def water_filling(beta, latent_dims: int = LATENT_DIMS):
    """Reconstruction error, KL and active dimensions at the optimum, from the eigenvalues."""
    _, lam, _ = centered_digits()
    beta = np.asarray(beta, dtype=float)
    lam_d = lam[:latent_dims]
    level = beta[..., None] / 2
    rec = np.minimum(lam_d, level).sum(-1) + lam[latent_dims:].sum()
    kl = 0.5 * np.log(np.maximum(lam_d / level, 1.0)).sum(-1)
    active = (lam_d > level).sum(-1)
    return rec, kl, active


def linear_vae_grad(W, V, logvar, beta: float, X=None):
    """Gradient of :func:`linear_vae_objective`'s total: ``(dW, dV, dlogvar)``.

    Chain rule through the reparameterization, with the per-row gradients
    from :func:`course.losses.vae_loss_grad`.
    """
    if X is None:
        X = centered_digits()[0]
    eps = np.tile(noise_set(len(logvar)), (len(X), 1))
    x_rows = np.repeat(X, len(eps) // len(X), axis=0)
    mu_rows = x_rows @ V.T
    scale = np.exp(logvar / 2)
    z = mu_rows + scale * eps
    logvar_rows = np.broadcast_to(logvar, mu_rows.shape)
    d_recon, d_mu, d_logvar = losses.vae_loss_grad(z @ W.T, x_rows, mu_rows, logvar_rows, beta=beta,
                                                   reconstruction="mse")
    d_z = d_recon @ W
    d_mu = d_mu + d_z
    d_logvar = (d_logvar + d_z * eps * scale / 2).sum(axis=0)
    return d_recon.T @ z, d_mu.T @ x_rows, d_logvar


# ------------------------------------------------- two tasks on one trunk: gradient norms (torch)

#: the weighting schemes of :func:`train_two_tasks`
SCHEMES = ("equal", "gradient norm", "uncertainty")


def train_two_tasks(scheme: str, seed: int = 0, steps: int = 300, width: int = 8, lr: float = 0.01,
                    batch_size: int = 64, n_train: int = 1200) -> dict:
    r"""A shared trunk with two heads on the digits: classify, and reconstruct the image.

    The trunk ``h = tanh(A x + a)`` (64 -> ``width``) feeds a classifier head
    (task 1, ``cross_entropy`` over the 10 classes) and a linear decoder
    (task 2, squared error **summed over the 64 pixels**, averaged over the
    images: the reconstruction term of ``vae_loss``). Each step computes
    :math:`g_i = \nabla_{\text{trunk}} L_i`, the gradient of each task's loss
    with respect to the shared parameters, and minimizes
    :math:`\sum_i w_i L_i` with Adam, where ``scheme`` sets the weights:

    * ``"equal"``: :math:`w_i = 1`;
    * ``"gradient norm"``: :math:`w_i = 1/\lVert g_i\rVert` (held constant in
      the step), so each task pushes the trunk with a unit-norm gradient:
      the simplest form of GradNorm's goal (Chen et al. 2018), which learns
      the weights to balance the norms instead of dividing them out;
    * ``"uncertainty"``: ``uncertainty_weighted_loss`` with learned
      :math:`s_i` (Kendall, Gal & Cipolla 2018), :math:`w_i = e^{-s_i}`; the
      gradients in :math:`L_i` and :math:`s_i` come from
      ``uncertainty_weighted_loss_grad``.

    The losses are the course's (through :func:`course.torch_bridge.as_torch_loss`);
    float64, one thread. Each step takes one backward pass per task and sets
    every parameter's gradient to :math:`\sum_i w_i \nabla L_i`. Returns
    ``grad_norms`` (steps, 2): :math:`\lVert g_i\rVert` at each step (before
    weighting), ``weights`` (steps, 2), and on the 597 held-out digits
    ``accuracy`` (task 1) and ``reconstruction`` (task 2, summed squared
    error per image).

    Reference: Chen, Badrinarayanan, Lee & Rabinovich (2018), "GradNorm:
    Gradient normalization for adaptive loss balancing in deep multitask
    networks", ICML.
    """
    import torch

    from course.torch_bridge import as_torch_loss

    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    cross_entropy = as_torch_loss(losses.cross_entropy, losses.cross_entropy_grad)
    squared_error = as_torch_loss(losses.mse_loss, losses.mse_loss_grad, reduction="sum")
    X, y = data.digits()
    order = np.random.default_rng(seed).permutation(y.size)
    train, held_out = order[:n_train], order[n_train:]
    X, y = torch.tensor(X), torch.tensor(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        trunk = torch.nn.Sequential(torch.nn.Linear(64, width), torch.nn.Tanh()).double()
        classify = torch.nn.Linear(width, 10).double()
        decode = torch.nn.Linear(width, 64).double()
        params = list(trunk.parameters()) + list(classify.parameters()) + list(decode.parameters())
        n_shared = len(list(trunk.parameters()))
        log_vars = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam(params + ([log_vars] if scheme == "uncertainty" else []), lr=lr)
        batches = torch.Generator().manual_seed(seed)
        train_rows = torch.tensor(train)
        grad_norms, weights = np.empty((steps, 2)), np.empty((steps, 2))
        for step in range(steps):
            rows = train_rows[torch.randint(0, train.size, (batch_size,), generator=batches)]
            h = trunk(X[rows])
            task = [cross_entropy(classify(h), y[rows]), squared_error(decode(h), X[rows]) / batch_size]
            # one backward pass per task; the update is the weighted sum of the two gradients
            grads = [torch.autograd.grad(task[i], params, retain_graph=i == 0, materialize_grads=True)
                     for i in range(2)]
            grad_norms[step] = [float(torch.sqrt(sum((g**2).sum() for g in grads[i][:n_shared])))
                                for i in range(2)]
            if scheme == "equal":
                weights[step] = 1.0
            elif scheme == "gradient norm":
                weights[step] = 1.0 / grad_norms[step]
            else:
                task_values = np.array([float(t.detach()) for t in task])
                d_losses, d_log_vars = losses.uncertainty_weighted_loss_grad(task_values,
                                                                             log_vars.detach().numpy())
                weights[step] = d_losses                     # exp(-s_i)
                log_vars.grad = torch.tensor(d_log_vars)
            for p, g1, g2 in zip(params, *grads):
                p.grad = weights[step, 0] * g1 + weights[step, 1] * g2
            opt.step()
        with torch.no_grad():
            h = trunk(X[held_out])
            accuracy = float((classify(h).argmax(1) == y[held_out]).double().mean())
            reconstruction = float(squared_error(decode(h), X[held_out])) / held_out.size
        return {"grad_norms": grad_norms, "weights": weights, "accuracy": accuracy,
                "reconstruction": reconstruction}
    finally:
        torch.set_num_threads(threads)
