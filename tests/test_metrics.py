"""Hard metrics (course.metrics) against sklearn.metrics on random masks."""

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    jaccard_score,
    precision_score,
    recall_score,
)

from course import metrics

SKLEARN = {
    "iou": lambda t, p: jaccard_score(t, p, zero_division=1.0),
    "f1": lambda t, p: f1_score(t, p, zero_division=1.0),
    "precision": lambda t, p: precision_score(t, p, zero_division=1.0),
    "recall": lambda t, p: recall_score(t, p, zero_division=1.0),
    "accuracy": accuracy_score,
}
OURS = {name: getattr(metrics, name) for name in SKLEARN}


@pytest.fixture
def gen():
    return np.random.default_rng(20261126)


def random_masks(gen, shape=(12, 5, 4)):
    """Probabilities and 0/1 targets, with the awkward samples put in on purpose."""
    prob = gen.uniform(size=shape)
    target = (gen.uniform(size=shape) < 0.3).astype(np.int64)
    prob[0], target[0] = 0.1, 0  # both empty
    prob[1], target[1] = 0.1, 1  # nothing predicted
    prob[2], target[2] = 0.9, 0  # nothing to find
    prob[3], target[3] = 0.9, 1  # all positive, all right
    return prob, target


@pytest.mark.parametrize("name", SKLEARN)
def test_matches_sklearn_over_all_elements(gen, name):
    prob, target = random_masks(gen)
    expected = SKLEARN[name](target.ravel(), (prob >= 0.5).ravel())
    value = OURS[name](prob, target)
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("name", SKLEARN)
def test_matches_sklearn_per_sample(gen, name):
    prob, target = random_masks(gen)
    expected = [SKLEARN[name](target[i].ravel(), (prob[i] >= 0.5).ravel())
                for i in range(len(prob))]
    value = OURS[name](prob, target, per_sample=True)
    assert value.shape == (12,) and value.dtype == np.float64
    np.testing.assert_allclose(value, expected, rtol=1e-14)


@pytest.mark.parametrize("name", ["iou", "f1", "precision", "recall"])
def test_mean_per_sample_is_sklearn_samples_average(gen, name):
    prob, target = random_masks(gen, shape=(10, 6))
    scorer = {"iou": jaccard_score, "f1": f1_score,
              "precision": precision_score, "recall": recall_score}[name]
    expected = scorer(target, (prob >= 0.5).astype(int), average="samples", zero_division=1.0)
    assert np.mean(OURS[name](prob, target, per_sample=True)) == pytest.approx(expected)


def test_empty_mask_conventions():
    empty, full = np.zeros((1, 4)), np.ones((1, 4))
    assert metrics.iou(empty, empty) == 1.0  # both empty: a perfect answer
    assert metrics.f1(empty, empty) == 1.0
    assert metrics.iou(empty, full) == 0.0
    assert metrics.iou(full, empty) == 0.0
    assert metrics.precision(empty, full) == 1.0  # no predicted positive
    assert metrics.recall(full, empty) == 1.0  # nothing to find
    assert metrics.iou(empty, empty, zero_division=0.0) == 0.0
    np.testing.assert_array_equal(metrics.iou(np.zeros((0, 3)), np.zeros((0, 3)), per_sample=True),
                                  np.zeros(0))


def test_accuracy_flatters_an_empty_prediction_of_a_small_object():
    target = np.zeros((1, 100))
    target[0, :3] = 1
    nothing = np.zeros((1, 100))
    assert metrics.accuracy(nothing, target) == 0.97
    assert metrics.iou(nothing, target) == 0.0


def test_threshold_is_inclusive_and_works_for_logits():
    target = np.array([1, 0, 1, 0])
    assert metrics.iou(np.array([0.5, 0.49, 0.5, 0.2]), target) == 1.0
    logits = np.array([2.0, -0.1, 0.0, -3.0])
    assert metrics.accuracy(logits, target, threshold=0.0) == 1.0
    assert metrics.accuracy(logits, target) == 0.75


def test_confusion_counts_add_up(gen):
    prob, target = random_masks(gen)
    c = metrics.confusion_counts(prob, target, per_sample=True)
    np.testing.assert_array_equal(c.tp + c.fp + c.fn + c.tn, 20)
    total = metrics.confusion_counts(prob, target)
    assert (total.tp, total.fp, total.fn, total.tn) == tuple(int(v.sum()) for v in c)


def test_bool_and_float_labels_give_the_same_answer(gen):
    prob, target = random_masks(gen)
    assert metrics.f1(prob, target.astype(bool)) == metrics.f1(prob, target.astype(np.float32))


def test_bad_input_raises_value_error():
    pred = np.full((2, 3), 0.7)
    for fn in OURS.values():
        with pytest.raises(ValueError, match="target must have the same shape as pred"):
            fn(pred, np.ones(3))  # would broadcast in NumPy
        with pytest.raises(ValueError, match=r"target must hold labels in \{0, 1\}"):
            fn(pred, np.full((2, 3), 0.5))
        with pytest.raises(ValueError, match="pred must not contain NaN"):
            fn(np.full((2, 3), np.nan), np.ones((2, 3)))
        with pytest.raises(ValueError, match="at least 1-D"):
            fn(0.7, 1, per_sample=True)
        with pytest.raises(ValueError, match="threshold"):
            fn(pred, np.ones((2, 3)), threshold=np.nan)
        with pytest.raises(ValueError, match="pred must hold real numbers"):
            fn(np.array([["a"] * 3] * 2), np.ones((2, 3)))
