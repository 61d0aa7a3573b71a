"""Lesson 05, convexity: the logistic Hessian against torch autograd, chords against the definition."""

import numpy as np
import pytest
import torch

from course.lessons import landscape as L


def torch_logistic_hessian(w, X, y):
    """Independent oracle: autograd's Hessian of the mean BCE-with-logits of a linear model."""
    X_t, y_t = torch.tensor(X), torch.tensor(y)

    def mean_loss(weights):
        return torch.nn.functional.binary_cross_entropy_with_logits(X_t @ weights, y_t)

    return torch.autograd.functional.hessian(mean_loss, torch.tensor(w)).numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_logistic_hessian_matches_torch_autograd(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 5))
    y = rng.integers(0, 2, 40).astype(float)
    w = rng.normal(0, 2, 5)
    np.testing.assert_allclose(L.logistic_hessian(w, X), torch_logistic_hessian(w, X, y),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_logistic_hessian_is_positive_semidefinite_with_flat_directions_where_x_is_blind(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 6))
    X[:, 2] = 0.0                                   # a feature that is zero everywhere
    w = rng.normal(0, 3, 6)
    eigenvalues = np.linalg.eigvalsh(L.logistic_hessian(w, X))
    assert eigenvalues[0] > -1e-12
    assert np.sum(eigenvalues < 1e-12) == 1 and eigenvalues[1] > 1e-6
    # the quadratic form is a weighted sum of squares (x_i · v)², checked by brute force
    v = rng.normal(size=6)
    p = 1 / (1 + np.exp(-X @ w))
    brute = sum(p[i] * (1 - p[i]) * (X[i] @ v) ** 2 for i in range(30)) / 30
    assert np.isclose(v @ L.logistic_hessian(w, X) @ v, brute)


def test_loss_along_segment_evaluates_the_loss_and_the_chord():
    net = L.named_problem("two-unit net")
    a, b = np.array([2.0, -1.0]), np.array([-0.6, 3.0])
    t, loss, chord = L.loss_along_segment(net, a, b, n=11)
    for k in range(11):
        point = a + t[k] * (b - a)
        assert np.isclose(loss[k], net.loss(*point))
    assert np.isclose(chord[0], net.loss(*a)) and np.isclose(chord[-1], net.loss(*b))
    assert np.allclose(np.diff(chord), (net.loss(*b) - net.loss(*a)) / 10)


def test_the_bowl_stays_below_every_chord_and_the_net_does_not():
    bowl, net = L.named_problem("bowl"), L.named_problem("two-unit net")
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, b = rng.uniform(-4, 4, 2), rng.uniform(-4, 4, 2)
        _, loss, chord = L.loss_along_segment(bowl, a, b, n=41)
        assert np.all(loss <= chord + 1e-9)
    _, loss, chord = L.loss_along_segment(net, (2.0, -1.0), (-0.6, 3.0), n=41)
    assert np.max(loss - chord) > 0.1


@pytest.mark.parametrize("call, message", [
    (lambda: L.logistic_hessian(np.zeros(3), np.zeros((5, 4))), "w"),
    (lambda: L.logistic_hessian(np.zeros(3), np.zeros(3)), "X must be"),
    (lambda: L.loss_along_segment(L.named_problem("bowl"), (0, 0, 0), (1, 1)), "start and end"),
    (lambda: L.loss_along_segment(L.named_problem("bowl"), (0, 0), (1, 1), n=1), "n >= 2"),
])
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
