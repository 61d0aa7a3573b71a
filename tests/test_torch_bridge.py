"""A torch model trained through the bridge learns exactly as with the torch loss.

Each training test starts two copies of a model from the same weights, takes
SGD steps with a course loss wrapped by ``as_torch_loss`` on one and the
torch loss (or a torch transcription of its formula) on the other, and
requires the weights to agree to 1e-10 in float64 after every step. The
remaining tests pin the bridge's contract: dtypes, fixed options, several
differentiated arguments, upstream gradients, errors.
"""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.losses import (
    mse_loss,
    mse_loss_grad,
    sigmoid_focal_loss,
    sigmoid_focal_loss_grad,
    softmax_focal_loss,
    softmax_focal_loss_grad,
)
from course.torch_bridge import as_torch_loss

torch.set_num_threads(1)


def tv_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss, transcribed from its definition."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = alpha * targets + (1 - alpha) * (1 - targets)
    loss = loss * ce_loss * ((1 - p_t) ** gamma)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def torch_softmax_focal(x, y, gamma):
    log_py = F.log_softmax(x, dim=1).gather(1, y.unsqueeze(1)).squeeze(1)
    return (-(1 - log_py.exp()) ** gamma * log_py).mean()


def train_twins(model, data, target, course_loss, torch_loss, steps=15, lr=0.1):
    """SGD on two copies of ``model``; assert equal weights after every step."""
    twin = copy.deepcopy(model)
    opt_course = torch.optim.SGD(model.parameters(), lr=lr)
    opt_torch = torch.optim.SGD(twin.parameters(), lr=lr)
    for _ in range(steps):
        for net, opt, loss_fn in ((model, opt_course, course_loss), (twin, opt_torch, torch_loss)):
            opt.zero_grad()
            loss_fn(net(data), target).backward()
            opt.step()
        for a, b in zip(model.parameters(), twin.parameters(), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)
    return model


def mlp(inputs, hidden, outputs, seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, outputs)
    ).double()


# ------------------------------------------------------------------ training
def test_linear_regression_trains_as_with_torch_mse():
    torch.manual_seed(1)
    X = torch.randn(64, 3, dtype=torch.float64)
    y = X @ torch.tensor([[1.5], [-2.0], [0.5]], dtype=torch.float64) + 0.1
    model = torch.nn.Linear(3, 1).double()
    before = model.weight.detach().clone()
    train_twins(model, X, y, as_torch_loss(mse_loss, mse_loss_grad), F.mse_loss, steps=25)
    assert not torch.equal(before, model.weight)  # it did learn


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mlp_classifier_trains_as_with_torchvision_focal(reduction):
    torch.manual_seed(2)
    X = torch.randn(48, 4, dtype=torch.float64)
    y = (X[:, :1] * X[:, 1:2] > 0).double()
    course = as_torch_loss(sigmoid_focal_loss, sigmoid_focal_loss_grad, reduction=reduction)
    reference = lambda out, t: tv_sigmoid_focal_loss(out, t, reduction=reduction)  # noqa: E731
    train_twins(mlp(4, 8, 1), X, y, course, reference, lr=0.5 if reduction == "mean" else 0.02)


def test_mlp_trains_on_none_loss_reduced_in_torch():
    # a "none" loss reduced by torch's mean(): the upstream gradient is uniform
    torch.manual_seed(3)
    X, y = torch.randn(32, 4, dtype=torch.float64), (torch.rand(32, 3) < 0.3).double()
    bridged = as_torch_loss(sigmoid_focal_loss, sigmoid_focal_loss_grad)
    train_twins(mlp(4, 6, 3), X, y, lambda out, t: bridged(out, t, gamma=1.0).mean(),
                lambda out, t: tv_sigmoid_focal_loss(out, t, gamma=1.0).mean(), lr=0.5)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_multiclass_mlp_trains_as_with_torch(gamma):
    torch.manual_seed(4)
    X = torch.randn(40, 5, dtype=torch.float64)
    y = X[:, :3].argmax(dim=1)
    course = as_torch_loss(softmax_focal_loss, softmax_focal_loss_grad, gamma=gamma)
    # at gamma = 0 the reference is torch's own cross-entropy
    reference = F.cross_entropy if gamma == 0 else (lambda out, t: torch_softmax_focal(out, t, gamma))
    train_twins(mlp(5, 8, 3), X, y, course, reference, lr=0.3)


# ------------------------------------------------------------------ contract
def scaled_squared_error(input, scale, target, reduction="mean"):
    """A two-argument test loss: mean(scale * (input - target)^2)."""
    loss = scale * (input - target) ** 2
    return loss.mean() if reduction == "mean" else loss


def scaled_squared_error_grad(input, scale, target, reduction="mean"):
    n = input.size if reduction == "mean" else 1
    return 2 * scale * (input - target) / n, (input - target) ** 2 / n


def test_several_differentiated_arguments_match_autograd(rng):
    x = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    s = torch.tensor(rng.random((4, 3)) + 0.5, requires_grad=True)
    t = torch.tensor(rng.normal(size=(4, 3)))
    bridged = as_torch_loss(scaled_squared_error, scaled_squared_error_grad,
                            differentiable=("input", "scale"))
    bridged(x, s, t).backward()
    xt, st = x.detach().clone().requires_grad_(), s.detach().clone().requires_grad_()
    scaled_squared_error(xt, st, t).backward()
    torch.testing.assert_close(x.grad, xt.grad, rtol=1e-12, atol=0)
    torch.testing.assert_close(s.grad, st.grad, rtol=1e-12, atol=0)
    assert torch.autograd.gradcheck(lambda a, b: bridged(a, b, t), (x, s))


def test_torch_gradcheck_through_the_bridge(rng):
    x = torch.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    y = torch.tensor(rng.integers(0, 4, size=5))
    focal = as_torch_loss(softmax_focal_loss, softmax_focal_loss_grad, gamma=0.7)
    assert torch.autograd.gradcheck(lambda a: focal(a, y), (x,))
    weights = torch.tensor(rng.random((5, 4)))
    binary = as_torch_loss(sigmoid_focal_loss, sigmoid_focal_loss_grad)
    # elementwise "none" loss, non-uniform upstream gradient: the product is elementwise
    assert torch.autograd.gradcheck(lambda a: binary(a, (weights > 0.5).double()) * weights, (x,))


def test_float32_in_float32_out(rng):
    x = torch.tensor(rng.normal(size=6), dtype=torch.float32, requires_grad=True)
    y = torch.tensor(rng.normal(size=6), dtype=torch.float32)
    loss = as_torch_loss(mse_loss, mse_loss_grad)(x, y)
    loss.backward()
    assert loss.dtype == x.grad.dtype == torch.float32 and loss.shape == ()
    torch.testing.assert_close(x.grad, 2 * (x - y).detach() / 6)


def test_targets_get_no_gradient_and_options_can_be_overridden(rng):
    x = torch.tensor(rng.normal(size=5), requires_grad=True)
    y = torch.tensor(rng.normal(size=5), requires_grad=True)
    bridged = as_torch_loss(mse_loss, mse_loss_grad, reduction="sum")
    total = bridged(x, y)
    torch.testing.assert_close(total, F.mse_loss(x, y, reduction="sum"))
    torch.testing.assert_close(bridged(x, y, reduction="mean"), F.mse_loss(x, y))
    total.backward()
    assert y.grad is None and x.grad is not None


def test_no_grad_input_gives_plain_tensor(rng):
    x, y = torch.tensor(rng.normal(size=5)), torch.tensor(rng.normal(size=5))
    out = as_torch_loss(mse_loss, mse_loss_grad)(x, y)
    assert not out.requires_grad
    torch.testing.assert_close(out, F.mse_loss(x, y))


def test_default_differentiable_is_the_first_argument(rng):
    x = torch.tensor(rng.normal(size=4), requires_grad=True)
    bridged = as_torch_loss(sigmoid_focal_loss, sigmoid_focal_loss_grad)  # "inputs"
    bridged(x, torch.ones(4, dtype=torch.float64), reduction="sum").backward()
    xt = x.detach().clone().requires_grad_()
    tv_sigmoid_focal_loss(xt, torch.ones(4, dtype=torch.float64), reduction="sum").backward()
    torch.testing.assert_close(x.grad, xt.grad, rtol=1e-10, atol=1e-12)


def test_non_uniform_per_sample_upstream_gradient_is_refused(rng):
    x = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    y = torch.tensor([0, 1, 2, 1])
    per_sample = as_torch_loss(softmax_focal_loss, softmax_focal_loss_grad, reduction="none")
    weighted = (per_sample(x, y) * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum()
    with pytest.raises(ValueError, match="non-uniform"):
        weighted.backward()


def test_bad_arguments():
    with pytest.raises(ValueError, match="differentiable"):
        as_torch_loss(mse_loss, mse_loss_grad, differentiable=("prediction",))
    with pytest.raises(ValueError, match="torch.Tensor"):
        as_torch_loss(mse_loss, mse_loss_grad)(np.ones(3), torch.ones(3))
    with pytest.raises(TypeError):
        as_torch_loss(mse_loss, mse_loss_grad)(torch.ones(3))  # missing target
