"""Lesson 04's digit embedding: triplet mining, backpropagation and the k-NN score.

Oracles: the mining rules written as plain loops over candidates; torch autograd for the
network's gradient; a brute-force nearest-neighbour vote for the k-NN accuracy.
"""

import numpy as np
import pytest
import torch

from course.data import digits
from course.lessons import structured_embedding as se


@pytest.fixture
def pool(rng):
    labels = rng.integers(0, 4, size=30)
    return rng.normal(size=(30, 2)), labels


def test_random_triplets_respect_the_labels(pool, rng):
    E, labels = pool
    a, p, n = se.mine_triplets(E, labels, "random", rng)
    has_positive = [i for i in range(30) if np.sum(labels == labels[i]) > 1]
    np.testing.assert_array_equal(a, has_positive)
    assert np.all(labels[a] == labels[p]) and np.all(a != p)
    assert np.all(labels[a] != labels[n])


def test_semi_hard_negative_is_the_closest_one_beyond_the_positive(pool, rng):
    E, labels = pool
    a, p, n = se.mine_triplets(E, labels, "semi-hard", rng)
    for i, j, k in zip(a, p, n):
        d_ap = np.linalg.norm(E[i] - E[j])
        others = [m for m in range(30) if labels[m] != labels[i]]
        beyond = [m for m in others if np.linalg.norm(E[i] - E[m]) > d_ap]
        if beyond:
            expected = min(beyond, key=lambda m: np.linalg.norm(E[i] - E[m]))
        else:
            expected = max(others, key=lambda m: np.linalg.norm(E[i] - E[m]))
        assert k == expected


def test_semi_hard_falls_back_to_the_farthest_negative():
    # anchor 0 with its positive far away: every negative is closer than the positive
    E = np.array([[0.0, 0.0], [10.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    a, p, n = se.mine_triplets(E, labels, "semi-hard", np.random.default_rng(0))
    assert list(a[:2]) == [0, 1] and list(p[:2]) == [1, 0]
    assert n[0] == 3          # negatives at 1 and 2, none beyond d(a, p) = 10: the farthest
    assert n[1] == 2          # from point 1 the negatives are at 9 and 8: again the farthest
    with pytest.raises(ValueError, match="negatives"):
        se.mine_triplets(E, labels, "hardest", np.random.default_rng(0))


def test_embedding_gradient_matches_torch(rng):
    params = se.init_embedding(hidden=6, seed=1)
    X = rng.uniform(0, 1, size=(9, 64))
    upstream = rng.normal(size=(9, 2))  # d(loss)/d(embedding), any
    grads = se._embedding_grads(params, X, upstream)
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    W1, b1, W2, b2 = tensors
    out = torch.tanh(torch.tensor(X) @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(se.embed(params, X), out.detach().numpy(), rtol=1e-12)
    (out * torch.tensor(upstream)).sum().backward()
    for g, t in zip(grads, tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def _brute_force_knn(E, y, E_test, y_test, k):
    right = 0
    for point, label in zip(E_test, y_test):
        nearest = np.argsort(np.linalg.norm(E - point, axis=1), kind="stable")[:k]
        votes = np.bincount(y[nearest], minlength=10)
        right += votes.argmax() == label
    return right / len(y_test)


def test_knn_accuracy_is_a_nearest_neighbour_vote():
    params = se.init_embedding(seed=4)
    X, y, X_test, y_test = se.digits_split(seed=4)
    expected = _brute_force_knn(se.embed(params, X), y, se.embed(params, X_test), y_test, 5)
    assert se.knn_accuracy(params, seed=4) == pytest.approx(expected, abs=2 / len(y_test))


def test_training_separates_the_digits_and_keeps_triplets_active_with_semi_hard():
    runs = {kind: se.train_embedding(kind, seed=5, steps=60) for kind in se.NEGATIVES}
    before = se.knn_accuracy(runs["random"]["initial"], seed=5)
    after = {kind: se.knn_accuracy(run["params"], seed=5) for kind, run in runs.items()}
    assert min(after.values()) > before + 0.3
    for run in runs.values():
        assert run["active"].shape == (60,) and np.all((run["active"] >= 0) & (run["active"] <= 1))
    assert runs["semi-hard"]["active"][-20:].mean() > runs["random"]["active"][-20:].mean()


def test_digits_split_is_a_partition():
    X, y, X_test, y_test = se.digits_split(seed=0, n_train=1000)
    assert X.shape == (1000, 64) and X_test.shape == (797, 64)
    X_all, y_all = digits()
    np.testing.assert_array_equal(np.sort(np.vstack([X, X_test]), axis=0), np.sort(X_all, axis=0))
    np.testing.assert_array_equal(np.bincount(np.concatenate([y, y_test])), np.bincount(y_all))
    with pytest.raises(ValueError, match="n_train"):
        se.digits_split(n_train=0)
