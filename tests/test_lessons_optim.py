"""The lessons' NumPy Adam (course.lessons.optim) against torch.optim.Adam."""

import numpy as np
import pytest
import torch

from course.lessons.optim import adam_moments, adam_step


def test_adam_step_matches_torch():
    rng = np.random.default_rng(0)
    start = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    params = [p.copy() for p in start]
    moments = adam_moments(params)
    tensors = [torch.tensor(p, requires_grad=True) for p in start]
    optimizer = torch.optim.Adam(tensors, lr=0.05)
    for step in range(1, 6):
        grads = [np.sin(3 * p) + p for p in params]  # any gradient field
        adam_step(params, grads, moments, step, 0.05)
        optimizer.zero_grad()
        for t in tensors:
            t.grad = torch.sin(3 * t.detach()) + t.detach()
        optimizer.step()
    for p, t in zip(params, tensors):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_adam_step_counts_from_one():
    params, grads = [np.zeros(2)], [np.ones(2)]
    with pytest.raises(ValueError, match="step"):
        adam_step(params, grads, [(np.zeros(2), np.zeros(2))], 0, 0.1)
