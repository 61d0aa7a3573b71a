"""Lesson 02's multi-label digits: tags, thumbnails, training and per-label thresholds, against oracles."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support

from course.data import digits
from course.lessons.classification import (
    TAGS,
    digit_tags,
    multilabel_split,
    per_label_scores,
    thumbnails,
    train_multilabel,
    tune_thresholds,
)

# written out by hand: even, greater than 4, has a loop (0, 6, 8, 9; a 4 counts as open)
HAND_TABLE = {0: (1, 0, 1), 1: (0, 0, 0), 2: (1, 0, 0), 3: (0, 0, 0), 4: (1, 0, 0),
              5: (0, 1, 0), 6: (1, 1, 1), 7: (0, 1, 0), 8: (1, 1, 1), 9: (0, 1, 1)}


def test_digit_tags_follow_the_hand_written_table():
    assert TAGS == ("even", "greater than 4", "has a loop")
    np.testing.assert_array_equal(digit_tags(np.arange(10)), [HAND_TABLE[k] for k in range(10)])


def test_thumbnails_average_each_two_by_two_block():
    images = np.random.default_rng(0).random((5, 64))
    expected = np.empty((5, 16))
    for n in range(5):
        image = images[n].reshape(8, 8)
        for r in range(4):
            for c in range(4):
                expected[n, 4 * r + c] = (image[2 * r, 2 * c] + image[2 * r + 1, 2 * c]
                                          + image[2 * r, 2 * c + 1] + image[2 * r + 1, 2 * c + 1]) / 4
    np.testing.assert_allclose(thumbnails(images), expected)


def test_split_is_a_partition_with_matching_tags():
    split = multilabel_split(seed=3)
    X, labels = digits()
    sizes = [len(split[f"X_{part}"]) for part in ("train", "val", "test")]
    assert sizes == [900, 450, len(labels) - 1350]
    # every image lands in exactly one part: compare the multiset of thumbnails
    together = np.vstack([split["X_train"], split["X_val"], split["X_test"]])
    np.testing.assert_allclose(np.sort(together.sum(axis=1)), np.sort(thumbnails(X).sum(axis=1)))
    np.testing.assert_array_equal(split["Y_test"], digit_tags(split["digits_test"]))


def test_training_reaches_the_minimum_sklearn_finds():
    """Per label: mean BCE over N·K entries + λ/2‖W‖² is L2 logistic regression, C = 1/(λ K N)."""
    split = multilabel_split(seed=1)
    X, Y = split["X_train"][:300], split["Y_train"][:300]
    lam = 1e-2
    W, b = train_multilabel(X, Y, steps=3000, lam=lam)
    for k in range(Y.shape[1]):
        reference = LogisticRegression(C=1 / (lam * Y.shape[1] * len(X)), tol=1e-12, max_iter=10_000)
        reference.fit(X, Y[:, k])
        np.testing.assert_allclose(W[:, k], reference.coef_[0], atol=2e-4)
        np.testing.assert_allclose(b[k], reference.intercept_[0], atol=2e-4)


def test_training_gradient_vanishes_under_torch_autograd():
    split = multilabel_split(seed=2)
    X, Y = split["X_train"][:200], split["Y_train"][:200]
    W, b = train_multilabel(X, Y, steps=2000, lam=1e-2)
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    logits = torch.tensor(X) @ Wt + bt
    objective = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(Y)) \
        + 1e-2 / 2 * (Wt ** 2).sum()
    objective.backward()
    assert float(Wt.grad.norm()) < 1e-6 and float(bt.grad.norm()) < 1e-6


def test_tuned_thresholds_maximise_a_hand_counted_f1():
    rng = np.random.default_rng(4)
    Y = rng.integers(0, 2, (60, 2))
    probs = np.clip(0.35 * Y + rng.random((60, 2)) * 0.65, 0, 1)
    grid = np.linspace(0.05, 0.95, 19)
    chosen = tune_thresholds(probs, Y, grid)
    for k in range(2):
        def f1(t):
            tp = sum(1 for p, y in zip(probs[:, k], Y[:, k]) if p >= t and y == 1)
            fp = sum(1 for p, y in zip(probs[:, k], Y[:, k]) if p >= t and y == 0)
            fn = sum(1 for p, y in zip(probs[:, k], Y[:, k]) if p < t and y == 1)
            return 2 * tp / (2 * tp + fp + fn)
        scores = [f1(t) for t in grid]
        assert chosen[k] == grid[int(np.argmax(scores))]


def test_per_label_scores_match_sklearn():
    rng = np.random.default_rng(5)
    Y = rng.integers(0, 2, (80, 3))
    probs = rng.random((80, 3))
    thresholds = np.array([0.3, 0.5, 0.7])
    ours = per_label_scores(probs, Y, thresholds)
    for k in range(3):
        p, r, f, _ = precision_recall_fscore_support(Y[:, k], probs[:, k] >= thresholds[k],
                                                     average="binary", zero_division=1.0)
        assert np.isclose(ours["precision"][k], p) and np.isclose(ours["recall"][k], r)
        assert np.isclose(ours["f1"][k], f)
    shared = per_label_scores(probs, Y, 0.5)
    assert np.isclose(shared["f1"][1], ours["f1"][1])


@pytest.mark.parametrize("call, name", [
    (lambda: digit_tags(np.array([3, 10])), "digits"),
    (lambda: digit_tags(np.array([1.0, 2.0])), "digits"),
    (lambda: thumbnails(np.zeros((3, 63))), "images"),
    (lambda: multilabel_split(n_train=1000, n_val=900), "n_train"),
    (lambda: train_multilabel(np.zeros((4, 2)), np.zeros((3, 1))), "X must be"),
    (lambda: tune_thresholds(np.zeros((4, 2)), np.zeros((4, 3))), "probs and Y"),
    (lambda: per_label_scores(np.zeros((4, 2)), np.zeros((5, 2)), 0.5), "probs and Y"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
