"""Composite objectives (Gaussian KL, VAE loss, multi-task weighting) against torch.

Oracles: torch.distributions' KL between Normals, F.binary_cross_entropy and
F.mse_loss for the reconstruction, torch autograd for every gradient, finite
differences (course.gradcheck), and closed forms (the KL minimum, the
optimal log-variance of the uncertainty weighting).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from course.gradcheck import gradcheck
from course.losses import composite

torch.set_num_threads(1)

REDUCE = {
    "none": lambda v: v,
    "sum": lambda v: v.sum(),
    "mean": lambda v: v.mean(),
}


@pytest.fixture
def gen():
    return np.random.default_rng(20261126)


def _leaf(a, dtype=torch.float64):
    return torch.tensor(a, dtype=dtype, requires_grad=True)


# -------------------------------------------------------------- Gaussian KL
def torch_kl(mu, logvar):
    """KL per sample from torch.distributions, not from the formula we coded."""
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    prior = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return kl_divergence(posterior, prior).sum(-1)


def torch_kl_formula(mu, logvar):
    return -0.5 * (1 + logvar - mu**2 - torch.exp(logvar)).sum(-1)


@pytest.mark.parametrize("shape", [(6, 3), (2, 4, 3), (5,)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gaussian_kl_matches_torch_distributions(gen, shape, reduction):
    mu, logvar = gen.normal(size=shape), gen.normal(size=shape)
    tm, tl = _leaf(mu), _leaf(logvar)
    expected = REDUCE[reduction](torch_kl(tm, tl))
    expected.sum().backward()
    value = composite.gaussian_kl(mu, logvar, reduction=reduction)
    d_mu, d_logvar = composite.gaussian_kl_grad(mu, logvar, reduction=reduction)
    assert value.shape == expected.shape == (shape[:-1] if reduction == "none" else ())
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(d_mu, tm.grad.numpy(), rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(d_logvar, tl.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert d_mu.shape == d_logvar.shape == shape


def test_gaussian_kl_matches_the_textbook_formula(gen):
    mu, logvar = gen.normal(size=(7, 4)), gen.normal(size=(7, 4))
    expected = torch_kl_formula(torch.tensor(mu), torch.tensor(logvar)).numpy()
    np.testing.assert_allclose(composite.gaussian_kl(mu, logvar, "none"), expected, rtol=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_gaussian_kl_float32_preserved(gen, reduction):
    mu, logvar = gen.normal(size=(5, 3)), gen.normal(size=(5, 3))
    mu32, lv32 = mu.astype(np.float32), logvar.astype(np.float32)
    tm, tl = _leaf(mu32, torch.float32), _leaf(lv32, torch.float32)
    expected = REDUCE[reduction](torch_kl_formula(tm, tl))
    expected.sum().backward()
    value = composite.gaussian_kl(mu32, lv32, reduction)
    grads = composite.gaussian_kl_grad(mu32, lv32, reduction)
    assert value.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-4)
    np.testing.assert_allclose(grads[0], tm.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grads[1], tl.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gaussian_kl_gradient_matches_finite_differences(gen, reduction):
    mu, logvar = gen.normal(size=(3, 4)), gen.normal(size=(3, 4))
    result = gradcheck(composite.gaussian_kl, composite.gaussian_kl_grad, mu, logvar,
                       argnums=(0, 1), reduction=reduction)
    assert result, str(result)


def test_gaussian_kl_is_zero_at_the_prior():
    zeros = np.zeros((3, 5))
    assert composite.gaussian_kl(zeros, zeros) == 0.0
    for grad in composite.gaussian_kl_grad(zeros, zeros):
        np.testing.assert_array_equal(grad, 0.0)


def test_gaussian_kl_keeps_precision_near_logvar_zero():
    # exp(s) - 1 - s = s²/2 + s³/6 + ...; the naive form returns rounding noise
    s = np.array([[1e-8, -1e-6, 1e-4]])
    expected = 0.5 * (s**2 / 2 + s**3 / 6 + s**4 / 24)
    np.testing.assert_allclose(composite.gaussian_kl(np.zeros_like(s), s, "none"),
                               expected.sum(-1), rtol=1e-9)


@pytest.mark.parametrize("logvar", [-50.0, -1000.0, 50.0, 300.0])
def test_gaussian_kl_extreme_logvar_is_finite_and_matches_torch(logvar):
    mu, lv = np.array([[0.5, -2.0]]), np.full((1, 2), logvar)
    tm, tl = _leaf(mu), _leaf(lv)
    expected = torch_kl_formula(tm, tl).sum()
    expected.backward()
    value = composite.gaussian_kl(mu, lv)
    d_mu, d_lv = composite.gaussian_kl_grad(mu, lv)
    assert np.isfinite(value) and np.all(np.isfinite(d_lv))
    np.testing.assert_allclose(value, expected.item(), rtol=1e-10)
    np.testing.assert_allclose(d_lv, tl.grad.numpy(), rtol=1e-10)


def test_gaussian_kl_overflow_is_inf_as_in_torch_without_warning():
    lv = np.full((1, 2), 100.0, dtype=np.float32)  # e^100 overflows float32
    expected = torch_kl_formula(torch.zeros(1, 2), torch.tensor(lv)).item()
    assert np.isinf(expected)
    assert np.isinf(composite.gaussian_kl(np.zeros_like(lv), lv))  # warnings are errors
    assert np.isinf(composite.gaussian_kl(np.zeros((1, 1)), np.full((1, 1), 1e3)))


def test_gaussian_kl_empty_batch_follows_torch():
    empty = np.zeros((0, 4))
    assert np.isnan(composite.gaussian_kl(empty, empty))
    assert composite.gaussian_kl(empty, empty, "sum") == 0.0
    assert composite.gaussian_kl(empty, empty, "none").shape == (0,)
    assert all(g.shape == (0, 4) for g in composite.gaussian_kl_grad(empty, empty))


def test_gaussian_kl_bad_input_raises_value_error():
    for fn in (composite.gaussian_kl, composite.gaussian_kl_grad):
        with pytest.raises(ValueError, match="logvar must have the same shape as mu"):
            fn(np.zeros((2, 3)), np.zeros((2, 1)))
        with pytest.raises(ValueError, match="at least 1-D"):
            fn(0.0, 0.0)
        with pytest.raises(ValueError, match="reduction"):
            fn(np.zeros((2, 3)), np.zeros((2, 3)), reduction="batchmean")


# ------------------------------------------------------------------ VAE loss
def torch_vae(recon, x, mu, logvar, beta, reconstruction):
    n = recon.shape[0]
    if reconstruction == "bce":
        rec = F.binary_cross_entropy(recon, x, reduction="none")
    else:
        rec = F.mse_loss(recon, x, reduction="none")
    return rec.reshape(n, -1).sum(1) + beta * torch_kl(mu, logvar)


def vae_case(gen, shape=(4, 2, 3), latent=5):
    recon = gen.uniform(0.02, 0.98, size=shape)
    x = gen.uniform(0, 1, size=shape)
    x[0] = (x[0] > 0.5)  # binary pixels in one sample, grey levels elsewhere
    return recon, x, gen.normal(size=(shape[0], latent)), gen.normal(size=(shape[0], latent))


def compare_vae(recon, x, mu, logvar, beta, reconstruction, reduction, rtol, dtype):
    leaves = [_leaf(a, dtype) for a in (recon, mu, logvar)]
    tx = torch.tensor(x, dtype=dtype)
    expected = REDUCE[reduction](torch_vae(leaves[0], tx, leaves[1], leaves[2], beta,
                                           reconstruction))
    expected.sum().backward()
    args = (recon, x, mu, logvar, beta, reconstruction, reduction)
    value = composite.vae_loss(*args)
    grads = composite.vae_loss_grad(*args)
    assert value.dtype == recon.dtype and all(g.dtype == recon.dtype for g in grads)
    assert value.shape == expected.shape
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=rtol)
    for grad, leaf in zip(grads, leaves, strict=True):
        assert grad.shape == leaf.shape
        np.testing.assert_allclose(grad, leaf.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)


@pytest.mark.parametrize("reconstruction", ["bce", "mse"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_vae_loss_matches_torch_float64(gen, reconstruction, reduction, beta):
    compare_vae(*vae_case(gen), beta, reconstruction, reduction, 1e-10, torch.float64)


@pytest.mark.parametrize("reconstruction", ["bce", "mse"])
def test_vae_loss_float32_preserved(gen, reconstruction):
    case = [a.astype(np.float32) for a in vae_case(gen)]
    compare_vae(*case, 2.0, reconstruction, "mean", 1e-4, torch.float32)


def test_vae_loss_sum_is_the_pytorch_example(gen):
    recon, x, mu, logvar = vae_case(gen, shape=(3, 8))
    t = [torch.tensor(a) for a in (recon, x, mu, logvar)]
    # examples/vae/main.py of pytorch/examples
    bce = F.binary_cross_entropy(t[0], t[1], reduction="sum")
    kld = -0.5 * torch.sum(1 + t[3] - t[2].pow(2) - t[3].exp())
    np.testing.assert_allclose(composite.vae_loss(recon, x, mu, logvar, reduction="sum"),
                               (bce + kld).item(), rtol=1e-12)


@pytest.mark.parametrize("reconstruction", ["bce", "mse"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_vae_loss_gradient_matches_finite_differences(gen, reconstruction, reduction):
    recon, x, mu, logvar = vae_case(gen, shape=(3, 4), latent=2)
    result = gradcheck(composite.vae_loss, composite.vae_loss_grad, recon, x, mu, logvar, 1.5,
                       reconstruction, reduction, argnums=(0, 2, 3))
    assert result, str(result)


def test_vae_bce_at_probabilities_exactly_zero_and_one_matches_torch():
    # each log is clamped at -100 (loss 100 per wrong pixel); the gradient is torch's
    recon = np.array([[0.0, 1.0, 0.0, 1.0, 1e-13, 0.5]])
    x = np.array([[1.0, 0.0, 0.0, 1.0, 1.0, 0.3]])
    mu, logvar = np.zeros((1, 2)), np.zeros((1, 2))
    compare_vae(recon, x, mu, logvar, 1.0, "bce", "sum", 1e-10, torch.float64)
    assert np.isfinite(composite.vae_loss(recon, x, mu, logvar))


def test_vae_empty_batch_follows_torch():
    recon, mu = np.zeros((0, 3)), np.zeros((0, 2))
    assert np.isnan(composite.vae_loss(recon, recon, mu, mu))
    assert composite.vae_loss(recon, recon, mu, mu, reduction="sum") == 0.0
    shapes = [g.shape for g in composite.vae_loss_grad(recon, recon, mu, mu)]
    assert shapes == [(0, 3), (0, 2), (0, 2)]


def test_vae_bad_input_raises_value_error():
    recon, mu = np.full((2, 3), 0.5), np.zeros((2, 4))
    for fn in (composite.vae_loss, composite.vae_loss_grad):
        with pytest.raises(ValueError, match="x must have the same shape as recon"):
            fn(recon, np.full((2, 4), 0.5), mu, mu)
        with pytest.raises(ValueError, match=r"mu must have shape \(N, D\) with N = 2"):
            fn(recon, recon, np.zeros((3, 4)), np.zeros((3, 4)))
        with pytest.raises(ValueError, match=r"mu must have shape \(N, D\)"):
            fn(recon, recon, np.zeros(2), np.zeros(2))
        with pytest.raises(ValueError, match="logvar must have the same shape as mu"):
            fn(recon, recon, mu, np.zeros((2, 3)))
        with pytest.raises(ValueError, match=r"recon must hold values in \[0, 1\]"):
            fn(recon + 0.6, recon, mu, mu)
        with pytest.raises(ValueError, match=r"x must hold values in \[0, 1\]"):
            fn(recon, recon - 0.6, mu, mu)
        with pytest.raises(ValueError, match="reconstruction must be"):
            fn(recon, recon, mu, mu, reconstruction="l1")
        with pytest.raises(ValueError, match="beta"):
            fn(recon, recon, mu, mu, beta=-1.0)
        with pytest.raises(ValueError, match="reduction"):
            fn(recon, recon, mu, mu, reduction="batchmean")
        # mse takes any real values
        out = fn(recon + 5, recon, mu, mu, reconstruction="mse")
        assert all(np.all(np.isfinite(o)) for o in (out if isinstance(out, tuple) else [out]))


# ------------------------------------------------------ multi-task weighting
def test_uncertainty_weighted_loss_matches_torch(gen):
    losses, log_vars = gen.uniform(0.1, 3, size=4), gen.normal(size=4)
    tl, ts = _leaf(losses), _leaf(log_vars)
    expected = (torch.exp(-ts) * tl + ts).sum()
    expected.backward()
    value = composite.uncertainty_weighted_loss(losses, log_vars)
    d_losses, d_log_vars = composite.uncertainty_weighted_loss_grad(losses, log_vars)
    assert value.shape == ()
    np.testing.assert_allclose(value, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(d_losses, tl.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(d_log_vars, ts.grad.numpy(), rtol=1e-12)


def test_uncertainty_weighted_loss_gradient_matches_finite_differences(gen):
    losses, log_vars = gen.uniform(0.1, 3, size=3), gen.normal(size=3)
    result = gradcheck(composite.uncertainty_weighted_loss,
                       composite.uncertainty_weighted_loss_grad, losses, log_vars,
                       argnums=(0, 1))
    assert result, str(result)


def test_uncertainty_weighted_loss_optimum_is_log_of_the_loss():
    losses = np.array([0.2, 1.0, 7.5])
    best = np.log(losses)
    _, d_log_vars = composite.uncertainty_weighted_loss_grad(losses, best)
    np.testing.assert_allclose(d_log_vars, 0.0, atol=1e-15)
    np.testing.assert_allclose(composite.uncertainty_weighted_loss(losses, best),
                               np.sum(1 + np.log(losses)), rtol=1e-14)


def test_uncertainty_weighted_loss_float32_and_extremes():
    losses, log_vars = np.array([1.0, 2.0], np.float32), np.array([0.5, -0.5], np.float32)
    assert composite.uncertainty_weighted_loss(losses, log_vars).dtype == np.float32
    assert all(g.dtype == np.float32
               for g in composite.uncertainty_weighted_loss_grad(losses, log_vars))
    # e^{1000} overflows to inf as in torch, without a warning
    assert np.isinf(composite.uncertainty_weighted_loss([1.0], [-1000.0]))
    assert composite.uncertainty_weighted_loss([1.0], [1000.0]) == 1000.0


def test_weighted_sum_and_gradient(gen):
    losses, weights = gen.uniform(size=5), gen.normal(size=5)
    np.testing.assert_allclose(composite.weighted_sum(losses, weights), losses @ weights,
                               rtol=1e-14)
    d_losses, d_weights = composite.weighted_sum_grad(losses, weights)
    np.testing.assert_array_equal(d_losses, weights)
    np.testing.assert_array_equal(d_weights, losses)
    result = gradcheck(composite.weighted_sum, composite.weighted_sum_grad, losses, weights,
                       argnums=(0, 1))
    assert result, str(result)


@pytest.mark.parametrize("fn", [composite.uncertainty_weighted_loss,
                                composite.uncertainty_weighted_loss_grad,
                                composite.weighted_sum, composite.weighted_sum_grad])
def test_task_vectors_bad_shapes_raise_value_error(fn):
    with pytest.raises(ValueError, match="must have the same shape as losses"):
        fn(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="must have the same shape as losses"):
        fn(np.ones(3), 1.0)  # would broadcast in NumPy
    with pytest.raises(ValueError, match="losses must be 1-D"):
        fn(np.ones((2, 3)), np.ones((2, 3)))
