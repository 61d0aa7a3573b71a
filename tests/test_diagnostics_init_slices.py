"""Lesson 11's broken starts and per-group losses, against closed forms and brute force."""

import numpy as np
import pytest

from course.lessons import diagnostics as D
from course.lessons.diagnostics import _init

X, Y, X_VAL, Y_VAL = D.digits_split(300, 100, seed=1)


def test_init_scale_multiplies_every_parameter_and_hidden_bias_shifts_only_hidden_biases():
    base = _init((64, 16, 10), seed=3)
    scaled = _init((64, 16, 10), seed=3, scale=30.0)
    for b, s in zip(base, scaled):
        np.testing.assert_allclose(s, 30.0 * b, rtol=1e-15)
    shifted = _init((64, 16, 10), seed=3, hidden_bias=-1.0)
    np.testing.assert_allclose(shifted[1], base[1] - 1.0)
    for i in (0, 2, 3):
        np.testing.assert_array_equal(shifted[i], base[i])


def test_a_fresh_default_network_starts_near_log_k():
    first = [D.train_with_history(X, Y, X_VAL, Y_VAL, hidden=64, epochs=0, seed=s)["train_loss"][0]
             for s in range(6)]
    np.testing.assert_allclose(first, np.log(10), atol=0.05)


def test_a_dead_network_learns_only_the_class_frequencies():
    """With every hidden unit dead the logits are the output bias; cross-entropy is then minimized at
    b = log(class frequencies) + const, where the loss is the entropy of the labels (a closed form)."""
    run = D.train_with_history(X, Y, X_VAL, Y_VAL, hidden=16, lr=0.3, epochs=400, batch_size=300,
                               momentum=0.9, seed=0, hidden_bias=-100.0)
    assert D.dead_unit_fraction(run["params"], X) == 1.0
    freq = np.bincount(Y, minlength=10) / Y.size
    entropy = -(freq * np.log(freq)).sum()
    np.testing.assert_allclose(run["train_loss"][-1], entropy, atol=1e-4)


def test_dead_unit_fraction_by_brute_force():
    params = _init((64, 20, 10), seed=5, hidden_bias=-0.3)
    dead = 0
    for unit in range(20):
        if all(X[i] @ params[0][:, unit] + params[1][unit] <= 0 for i in range(len(X))):
            dead += 1
    assert D.dead_unit_fraction(params, X) == dead / 20
    assert 0 < dead < 20
    with pytest.raises(ValueError, match="params"):
        D.dead_unit_fraction(params[:2], X)


def test_shift_right_moves_columns_and_blanks_the_left():
    images = np.random.default_rng(0).random((3, 64))
    out = D.shift_right(images, 2)
    for img, moved in zip(images, out):
        square, moved = img.reshape(8, 8), moved.reshape(8, 8)
        for col in range(8):
            expected = square[:, col - 2] if col >= 2 else np.zeros(8)
            np.testing.assert_array_equal(moved[:, col], expected)
    np.testing.assert_array_equal(D.shift_right(images, 0), images)
    for bad in (8, -1, 1.5):
        with pytest.raises(ValueError, match="pixels"):
            D.shift_right(images, bad)
    with pytest.raises(ValueError, match="images"):
        D.shift_right(images[:, :10])


def test_mean_loss_by_group_by_brute_force():
    rng = np.random.default_rng(1)
    loss = rng.exponential(size=200)
    groups = rng.choice(["a", "b", "c"], size=200, p=[0.7, 0.2, 0.1])
    names, means, counts = D.mean_loss_by_group(loss, groups)
    assert list(names) == ["a", "b", "c"]
    for name, mean, count in zip(names, means, counts):
        members = [value for value, g in zip(loss, groups) if g == name]
        assert count == len(members)
        np.testing.assert_allclose(mean, sum(members) / len(members), rtol=1e-12)
    np.testing.assert_allclose((means * counts).sum() / counts.sum(), loss.mean(), rtol=1e-12)
    with pytest.raises(ValueError, match="groups"):
        D.mean_loss_by_group(loss, groups[:10])
    with pytest.raises(ValueError, match="per_example_loss"):
        D.mean_loss_by_group([], [])


@pytest.mark.parametrize("seed", range(5))
def test_the_shifted_slice_stands_out_in_every_seed(seed):
    """What lesson 11 says of seeds 0-4: the shifted slice's mean loss is at least 1.5 times the rest's."""
    run = D.shifted_slice_run(seed=seed)
    names, means, _ = D.mean_loss_by_group(run["val_loss"], run["val_shifted"])
    assert list(names) == [False, True]
    assert means[1] > 1.5 * means[0]
    assert 0.1 < run["val_shifted"].mean() < 0.3 and 0.05 < run["train_shifted"].mean() < 0.15
