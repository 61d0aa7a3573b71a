"""course.lessons.generalization (calibration, the small model) against independent oracles."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.calibration import calibration_curve

from course import losses
from course.lessons.generalization import (
    bin_index,
    expected_calibration_error,
    fit_softmax,
    fit_temperature,
    reliability_bins,
    smoothed_targets,
    smoothing_logit_gap,
    temperature_nll,
)


def _ece_brute_force(probs, labels, n_bins):
    """Guo et al.'s definition, one explicit comparison per bin edge."""
    conf, pred = probs.max(1), probs.argmax(1)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        rows = (conf > lo) & (conf <= hi) if b else (conf <= hi)
        if rows.any():
            total += rows.sum() * abs((pred[rows] == labels[rows]).mean() - conf[rows].mean())
    return total / len(labels)


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
def test_reliability_bins_match_sklearn_calibration_curve(n_bins):
    rng = np.random.default_rng(n_bins)
    prob = rng.random(500)
    y = (rng.random(500) < prob**1.5).astype(int)
    bins = reliability_bins(prob, y, n_bins)
    frac_pos, mean_pred = calibration_curve(y, prob, n_bins=n_bins, strategy="uniform")
    used = bins["count"] > 0
    np.testing.assert_allclose(bins["accuracy"][used], frac_pos, rtol=1e-12)
    np.testing.assert_allclose(bins["confidence"][used], mean_pred, rtol=1e-12)
    assert bins["count"].sum() == 500


@pytest.mark.parametrize("seed", range(4))
def test_ece_matches_a_brute_force_loop(seed):
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.full(6, 0.5), size=300)
    labels = np.where(rng.random(300) < 0.6, probs.argmax(1), rng.integers(0, 6, 300))
    for n_bins in (1, 7, 15, 40):
        assert np.isclose(expected_calibration_error(probs, labels, n_bins),
                          _ece_brute_force(probs, labels, n_bins), rtol=1e-12, atol=0)


def test_ece_edges_and_known_values():
    # always 90 % sure, right 6 times in 10
    probs = np.tile([0.9, 0.05, 0.05], (10, 1))
    labels = np.array([0] * 6 + [1] * 4)
    assert np.isclose(expected_calibration_error(probs, labels, 10), 0.3)
    # one-hot and right: confidence exactly 1 in the last bin, ECE 0
    assert expected_calibration_error(np.eye(3), np.arange(3), 4) == 0.0
    assert list(bin_index([0.0, 0.1, 0.1000001, 0.5, 1.0], 10)) == [0, 0, 1, 4, 9]
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(probs, labels, 0)
    with pytest.raises(ValueError, match="probs"):
        expected_calibration_error(probs[0], labels[:1])
    with pytest.raises(ValueError, match="confidence"):
        bin_index([1.2])


def test_temperature_nll_matches_torch_and_fit_matches_a_grid():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (200, 5))
    labels = np.where(rng.random(200) < 0.7, logits.argmax(1), rng.integers(0, 5, 200))
    for T in (0.5, 1.0, 2.5):
        want = F.cross_entropy(torch.tensor(logits) / T, torch.tensor(labels)).item()
        assert np.isclose(temperature_nll(logits, labels, T), want, rtol=1e-12)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 20001))
    best = grid[np.argmin([temperature_nll(logits, labels, t) for t in grid])]
    T = fit_temperature(logits, labels)
    assert abs(np.log(T) - np.log(best)) < 1e-3
    assert T > 1  # overconfident logits (30 % wrong, scale 3) get flattened
    with pytest.raises(ValueError, match="temperature"):
        temperature_nll(logits, labels, 0.0)


@pytest.mark.parametrize("eps", [0.0, 0.05, 0.3, 1.0])
def test_smoothed_targets_match_torch_label_smoothing(eps):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 7)), rng.integers(0, 7, 6)
    rows = smoothed_targets(y, 7, eps)
    np.testing.assert_allclose(rows.sum(1), 1.0, rtol=1e-12)
    got = losses.cross_entropy(x, rows)
    want = F.cross_entropy(torch.tensor(x), torch.tensor(y), label_smoothing=eps).item()
    assert np.isclose(got, want, rtol=1e-12)


def test_smoothing_gap_is_the_minimiser_found_by_autograd():
    for eps, C in ((0.1, 10), (0.01, 3), (0.4, 5)):
        gap = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS([gap], lr=1, max_iter=200, tolerance_grad=1e-14,
                                tolerance_change=1e-16)

        def closure():
            opt.zero_grad()
            logits = torch.cat([gap, torch.zeros(C - 1, dtype=torch.float64)])[None]
            loss = F.cross_entropy(logits, torch.tensor([0]), label_smoothing=eps)
            loss.backward()
            return loss

        opt.step(closure)
        assert abs(gap.item() - smoothing_logit_gap(eps, C)) < 1e-6
    assert smoothing_logit_gap(0.0, 10) == np.inf


def test_fit_softmax_reaches_the_logistic_regression_optimum():
    """Cross-entropy on separable-free data: compare with torch's LBFGS on the same objective."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=300) > 0).astype(int)
    W, b, _ = fit_softmax(X, y, losses.cross_entropy_grad, steps=3000, lr=0.05)
    ours = losses.cross_entropy(X @ W + b, y)
    Wt = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    bt = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([Wt, bt], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(torch.tensor(X) @ Wt + bt, torch.tensor(y))
        loss.backward()
        return loss

    opt.step(closure)
    assert abs(ours - closure().item()) < 1e-6
