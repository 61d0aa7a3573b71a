"""course.lessons.diagnostics against independent oracles (closed forms, torch, brute force)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course.data import flip_fraction_of_labels
from course.lessons import diagnostics as D
from course.lessons.diagnostics import _init, _loss_and_gradients


# ------------------------------------------------------------------ EMA
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_ema_is_the_normalized_weighted_average(beta):
    """Closed form: s_t = sum_i beta^(t-i) x_i / sum_i beta^(t-i)."""
    x = np.random.default_rng(0).normal(size=40)
    expected = []
    for t in range(1, x.size + 1):
        w = beta ** (t - np.arange(1, t + 1))
        expected.append((w * x[:t]).sum() / w.sum())
    np.testing.assert_allclose(D.ema_smooth(x, beta), expected, rtol=1e-12, atol=1e-12)


def test_ema_edges_and_dtype():
    x = np.random.default_rng(1).normal(size=9)
    np.testing.assert_array_equal(D.ema_smooth(x, 0.0), x)
    np.testing.assert_allclose(D.ema_smooth(np.full(50, 1.7), 0.95), 1.7, rtol=1e-12)
    assert D.ema_smooth(x.astype(np.float32), 0.8).dtype == np.float32
    assert D.ema_smooth([1, 2, 3]).dtype == np.float64
    assert np.isclose(D.ema_smooth(x, 0.9)[0], x[0], rtol=1e-15)


@pytest.mark.parametrize("values, beta", [(np.ones(3), 1.0), (np.ones(3), -0.1), (np.ones((2, 2)), 0.5)])
def test_ema_bad_input(values, beta):
    with pytest.raises(ValueError):
        D.ema_smooth(values, beta)


# ------------------------------------------------- per-example loss, margins
def test_per_example_cross_entropy_matches_torch():
    rng = np.random.default_rng(2)
    logits, labels = rng.normal(0, 3, (20, 7)), rng.integers(0, 7, 20)
    logits[0] = [1000.0, -1000.0, 0, 0, 0, 0, 999.0]
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(labels), reduction="none").numpy()
    got = D.per_example_cross_entropy(logits, labels)
    assert got.shape == (20,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    assert D.per_example_cross_entropy(logits.astype(np.float32), labels).dtype == np.float32


@pytest.mark.parametrize("logits, labels", [
    (np.zeros((3, 4)), np.array([0, 1, 4])),
    (np.zeros((3, 4)), np.array([0, 1])),
    (np.zeros(4), np.array([1])),
    (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0])),
])
def test_per_example_cross_entropy_bad_input(logits, labels):
    with pytest.raises(ValueError):
        D.per_example_cross_entropy(logits, labels)


def test_margins_match_torch_top2():
    rng = np.random.default_rng(3)
    logits, labels = rng.normal(size=(30, 5)), rng.integers(0, 5, 30)
    z = torch.tensor(logits)
    assigned = z.gather(1, torch.tensor(labels)[:, None])[:, 0]
    masked = z.masked_fill(F.one_hot(torch.tensor(labels), 5).bool(), float("-inf"))
    expected = (assigned - masked.max(dim=1).values).numpy()
    np.testing.assert_allclose(D.margins(logits, labels), expected, rtol=1e-12)
    # a correct prediction has a positive margin, a wrong one a negative margin
    assert np.array_equal(D.margins(logits, labels) > 0, logits.argmax(axis=1) == labels)


def test_area_under_margin_is_the_mean_over_epochs():
    history = np.random.default_rng(4).normal(size=(6, 11))
    np.testing.assert_allclose(D.area_under_margin(history), history.sum(axis=0) / 6, rtol=1e-12)
    with pytest.raises(ValueError):
        D.area_under_margin(np.zeros(5))


# --------------------------------------------------------------- precision@k
def test_precision_at_k_matches_brute_force_with_ties():
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(1, 30))
        scores = rng.integers(0, 5, n).astype(float)      # many ties
        flipped = rng.uniform(size=n) < 0.3
        k = int(rng.integers(1, n + 1))
        order = sorted(range(n), key=lambda i: (-scores[i], i))
        assert D.precision_at_k(scores, flipped, k) == pytest.approx(flipped[order[:k]].mean())


def test_precision_at_k_perfect_and_bad_input():
    flipped = np.array([0, 1, 0, 1, 1])
    assert D.precision_at_k(flipped * 2.0 + 0.1, flipped, 3) == 1.0
    for k in (0, 6, 2.5, True):
        with pytest.raises(ValueError):
            D.precision_at_k(np.zeros(5), flipped, k)
    with pytest.raises(ValueError):
        D.precision_at_k(np.zeros(5), flipped[:4], 2)
    with pytest.raises(ValueError):
        D.precision_at_k(np.zeros(5), np.array([0, 2, 0, 1, 1]), 2)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("sizes", [(6, 4), (6, 5, 4)])
def test_backprop_matches_torch_autograd(sizes):
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(12, 6)), rng.integers(0, 4, 12)
    params = _init(sizes, seed=1)
    loss, grads = _loss_and_gradients(params, X, y)
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    out = torch.tensor(X)
    for i in range(0, len(tparams), 2):
        out = out @ tparams[i] + tparams[i + 1]
        if i + 2 < len(tparams):
            out = torch.relu(out)
    tloss = F.cross_entropy(out, torch.tensor(y))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), rel=1e-12)
    for g, p in zip(grads, tparams):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_history_shapes_and_consistency():
    X, y, Xv, yv = D.digits_split(200, 100, seed=0)
    h = D.train_with_history(X, y, Xv, yv, hidden=8, lr=0.1, epochs=5, batch_size=50, seed=0)
    assert h["train_loss"].shape == (6,) and h["batch_loss"].shape == (20,)
    assert h["example_loss"].shape == (5, 200) and not h["diverged"]
    np.testing.assert_allclose(h["example_loss"].mean(axis=1), h["train_loss"][1:], rtol=1e-12)
    assert h["train_loss"][-1] < h["train_loss"][0]
    final = F.cross_entropy(torch.tensor(D.logits(h["params"], X)), torch.tensor(y), reduction="none")
    np.testing.assert_allclose(h["example_loss"][-1], final.numpy(), rtol=1e-10)
    blown = D.train_with_history(X, y, Xv, yv, hidden=8, lr=1e4, epochs=5, batch_size=200, seed=0)
    assert D.diagnose(blown["train_loss"], blown["val_loss"])[0] == "diverging"


def test_diagnose_names_each_regime():
    t = np.arange(50.0)
    assert D.diagnose(2 + 0 * t, 2 - 0.001 * t) == ("too slow", 49)
    assert D.diagnose(2 * np.exp(-t / 5), 2 * np.exp(-t / 5) + 0.1) == ("good fit", 49)
    val = 0.5 + (t - 20) ** 2 / 400
    assert D.diagnose(2 * np.exp(-t / 5), val) == ("overfitting", 20)
    spike = 2 * np.exp(-t / 5)
    spike[3] = 5.0
    assert D.diagnose(spike, spike) == ("unstable", 3)
    assert D.diagnose(2 + t, 2 + t) == ("diverging", 1)
    assert D.diagnose(np.r_[2.0, np.inf, np.inf], np.r_[2.0, np.inf, np.inf]) == ("diverging", 1)


def test_mislabel_ranking_claims_hold_over_six_seeds():
    """Lesson 11's claims, with more seeds than the notebook runs."""
    X, y, Xv, yv = D.digits_split(1497, 300, seed=0)
    for seed in range(6):
        noisy, flipped = flip_fraction_of_labels(y, 0.2, 10, seed=seed)
        run = D.train_with_history(X, noisy, Xv, yv, hidden=64, lr=0.1, epochs=120, batch_size=64,
                                   seed=seed)
        k = int(flipped.sum())
        p = lambda score: D.precision_at_k(score, flipped, k)  # noqa: E731
        final_30, final_120 = p(run["example_loss"][29]), p(run["example_loss"][119])
        mean_60, mean_120 = p(run["example_loss"][:60].mean(0)), p(run["example_loss"].mean(0))
        aum_60 = p(-D.area_under_margin(run["example_margin"][:60]))
        aum_120 = p(-D.area_under_margin(run["example_margin"]))
        assert min(mean_60, aum_60, mean_120, aum_120) >= 0.88, seed
        assert final_30 >= 0.85 and final_120 <= final_30 - 0.2, seed
        assert final_120 <= min(mean_120, aum_120) - 0.2, seed
        assert abs(mean_60 - aum_60) <= 0.05 and abs(mean_120 - aum_120) <= 0.05, seed
