"""course.data: the shared digits and the one label-noise function."""

import numpy as np
import pytest

from course import data


def test_digits_are_sklearns_scaled_to_the_unit_interval():
    from sklearn.datasets import load_digits

    X, y = data.digits()
    bunch = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    np.testing.assert_array_equal(X * 16.0, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    assert data.digits()[0] is X  # loaded once per process
    with pytest.raises(ValueError):
        X[0, 0] = 1.0  # shared by every lesson: read-only


def test_flip_fraction_of_labels_flips_exactly_the_fraction_to_other_classes():
    y = np.random.default_rng(6).integers(0, 10, 1000)
    noisy, flipped = data.flip_fraction_of_labels(y, 0.2, 10, seed=3)
    assert flipped.sum() == 200
    assert np.all(noisy[flipped] != y[flipped]) and np.all(noisy[~flipped] == y[~flipped])
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert not data.flip_fraction_of_labels(y, 0.0, 10)[1].any()


def test_flip_fraction_of_labels_moves_to_the_other_classes_uniformly():
    y = np.repeat(np.arange(10), 500)
    noisy, flipped = data.flip_fraction_of_labels(y, 0.4, 10, seed=3)
    assert flipped.sum() == 2000
    counts = np.bincount((noisy[flipped] - y[flipped]) % 10, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 0.8 * counts[1:].mean()
    # every example is equally likely to be chosen: each class keeps ~60 % of its labels
    kept = np.bincount(y[~flipped], minlength=10)
    assert kept.min() > 0.8 * 300 and kept.max() < 1.2 * 300


@pytest.mark.parametrize("args, match", [
    ((np.zeros(5, dtype=int), 1.5, 10), "fraction"),
    ((np.zeros(5, dtype=int), -0.1, 10), "fraction"),
    ((np.zeros(5), 0.2, 10), "integer"),
    ((np.array([0, 3, 11]), 0.2, 10), "n_classes"),
])
def test_flip_fraction_of_labels_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        data.flip_fraction_of_labels(*args)
