"""Lesson 07's laboratory (course.lessons.surrogates) against independent oracles.

Hard scores are checked with sklearn, soft scores with their closed forms,
BCE with torch, and the torch-wrapped course losses that train the
segmenter against the same losses written directly in torch and
differentiated by autograd.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score, jaccard_score

from course.lessons import surrogates as lab


# ----------------------------------------------------------------- data
def test_noisy_disks_masks_images_and_noise():
    images, masks = lab.noisy_disks(300, seed=3)
    assert images.shape == masks.shape == (300, 24, 24)
    assert images.dtype == masks.dtype == np.float64
    assert set(np.unique(masks)) == {0.0, 1.0}
    areas = masks.sum(axis=(1, 2))
    # a disk of radius r holds between pi (r - 1/sqrt 2)^2 and pi (r + 1/sqrt 2)^2 pixel centres
    assert areas.min() >= np.pi * (2.5 - 0.5**0.5) ** 2
    assert areas.max() <= 2 * np.pi * (4.5 + 0.5**0.5) ** 2
    residual = images - 0.8 * masks
    assert abs(residual.mean()) < 0.01 and abs(residual.std() - 0.6) < 0.01
    assert 0.05 < masks.mean() < 0.15


def test_noisy_disks_reproducible_by_seed():
    a, b = lab.noisy_disks(5, seed=1), lab.noisy_disks(5, seed=1)
    c = lab.noisy_disks(5, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[1], c[1])


def test_noisy_disks_options_and_bad_input():
    images, masks = lab.noisy_disks(4, size=10, noise=0.0, signal=2.0, radius=(1.0, 1.5), max_disks=1)
    np.testing.assert_array_equal(images, 2.0 * masks)
    assert lab.noisy_disks(0)[0].shape == (0, 24, 24)
    with pytest.raises(ValueError, match="n must be"):
        lab.noisy_disks(-1)


def test_sliding_prediction_is_centred_and_slides():
    p, t = lab.sliding_prediction(0.0)
    assert p.shape == t.shape == (1, 24)
    np.testing.assert_array_equal(np.flatnonzero(t[0]), np.arange(8, 16))
    np.testing.assert_allclose(p[0, 8:16], p[0, 8:16][::-1])  # symmetric about the target's centre
    np.testing.assert_array_equal(p[0] >= 0.5, t[0] == 1)
    moved, _ = lab.sliding_prediction(1.0)
    np.testing.assert_allclose(moved[0, 1:], p[0, :-1])
    assert np.all((p > 0) & (p < 1))


def test_mask_rim_against_scipy_morphology():
    from scipy import ndimage

    _, masks = lab.noisy_disks(20, size=12, seed=9, radius=(1.5, 5.0))
    masks[0] = 1.0  # no edge at all
    cross = np.zeros((3, 3, 3), bool)
    cross[1] = ndimage.generate_binary_structure(2, 1)
    m = masks == 1
    expected = ndimage.binary_dilation(m, cross) & ~ndimage.binary_erosion(m, cross, border_value=1)
    np.testing.assert_array_equal(lab.mask_rim(masks), expected)
    assert not lab.mask_rim(masks)[0].any()
    with pytest.raises(ValueError, match="masks must have shape"):
        lab.mask_rim(masks[0])


def test_uncertain_fraction_closed_form():
    p = np.array([0.0, 0.1, 0.1001, 0.5, 0.8999, 0.9, 1.0, 0.3])
    assert lab.uncertain_fraction(p) == 4 / 8
    assert lab.uncertain_fraction(p, low=0.4, high=0.6) == 1 / 8


# --------------------------------------------------------------- scores
@pytest.fixture(scope="module")
def predictions():
    gen = np.random.default_rng(11)
    masks = (gen.uniform(size=(6, 5, 7)) < 0.3).astype(float)
    masks[0] = 0.0  # an empty image
    p = np.clip(0.6 * masks + gen.uniform(0, 0.5, masks.shape), 0, 1)
    return p, masks


def _sklearn_mean(score, p, masks, threshold):
    return np.mean([score(t.ravel().astype(int), (q >= threshold).ravel().astype(int),
                          zero_division=1.0) for q, t in zip(p, masks)])


def test_overlap_scores_against_sklearn_torch_and_closed_forms(predictions):
    p, masks = predictions
    scores = lab.overlap_scores(p, masks, threshold=0.45)
    assert scores["iou"] == pytest.approx(_sklearn_mean(jaccard_score, p, masks, 0.45))
    assert scores["f1"] == pytest.approx(_sklearn_mean(f1_score, p, masks, 0.45))
    pf, tf = p.reshape(6, -1), masks.reshape(6, -1)
    inter = (pf * tf).sum(1)
    soft_iou = np.mean((inter + 1e-7) / (pf.sum(1) + tf.sum(1) - inter + 1e-7))
    soft_dice = np.mean((2 * inter + 1e-7) / (pf.sum(1) + tf.sum(1) + 1e-7))
    assert scores["soft_iou"] == pytest.approx(soft_iou, rel=1e-12)
    assert scores["soft_dice"] == pytest.approx(soft_dice, rel=1e-12)
    bce = F.binary_cross_entropy(torch.tensor(p), torch.tensor(masks)).item()
    assert scores["bce"] == pytest.approx(bce, rel=1e-10)
    assert scores["gap"] == pytest.approx(scores["iou"] - scores["soft_iou"])


def test_threshold_sweep_against_sklearn(predictions):
    p, masks = predictions
    thresholds = np.array([0.05, 0.3, 0.5, 0.77])
    sweep = lab.threshold_sweep(p, masks, thresholds)
    np.testing.assert_array_equal(sweep["thresholds"], thresholds)
    for i, th in enumerate(thresholds):
        assert sweep["iou"][i] == pytest.approx(_sklearn_mean(jaccard_score, p, masks, th))
        assert sweep["f1"][i] == pytest.approx(_sklearn_mean(f1_score, p, masks, th))


# ------------------------------------------------------------- training
def test_segmenter_size_shape_and_prior_bias():
    net = lab.make_segmenter(seed=0)
    assert sum(w.numel() for w in net.parameters()) == 865
    assert net(torch.zeros(3, 1, 24, 24)).shape == (3, 1, 24, 24)
    assert net[-1].bias.item() == pytest.approx(np.log(0.1 / 0.9))
    a, b = lab.make_segmenter(seed=4), lab.make_segmenter(seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def _torch_reference(name, logits, target, eps=1e-7):
    """The three training losses written directly in torch (autograd is the oracle)."""
    if name == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    inter = (p * t).sum(1)
    if name == "dice":
        return (1 - (2 * inter + eps) / (p.sum(1) + t.sum(1) + eps)).mean()
    return (1 - (inter + eps) / (p.sum(1) + t.sum(1) - inter + eps)).mean()


@pytest.mark.parametrize("name", sorted(lab.TRAINING_LOSSES))
def test_wrapped_course_losses_give_torch_autograd_gradients(name):
    images, masks = lab.noisy_disks(6, seed=5)
    x = torch.tensor(images[:, None], dtype=torch.float32)
    y = torch.tensor(masks[:, None], dtype=torch.float32)
    grads = []
    for loss in (lab._torch_loss(name), lambda z, t: _torch_reference(name, z, t)):
        net = lab.make_segmenter(seed=2)
        value = loss(net(x), y)
        value.backward()
        grads.append((value.item(), [w.grad.clone() for w in net.parameters()]))
    (v1, g1), (v2, g2) = grads
    assert v1 == pytest.approx(v2, rel=1e-5)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_train_segmenter_history_reproducible_and_learning():
    torch.set_num_threads(1)
    train = lab.noisy_disks(40, seed=0)
    test = lab.noisy_disks(20, seed=100)
    net, history = lab.train_segmenter(*train, "jaccard", epochs=4, seed=3, test=test)
    assert set(history) == {"train_loss", "iou", "f1", "soft_iou", "soft_dice", "bce", "gap"}
    assert all(len(v) == 4 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    _, again = lab.train_segmenter(*train, "jaccard", epochs=4, seed=3, test=test)
    np.testing.assert_array_equal(history["iou"], again["iou"])
    _, plain = lab.train_segmenter(*train, "bce", epochs=1, seed=3)
    assert set(plain) == {"train_loss"}
    p = lab.predict_probabilities(net, test[0])
    assert p.dtype == np.float64 and p.shape == (20, 24, 24)
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-lab.predict_logits(net, test[0]))))


def test_unknown_training_loss_raises():
    images, masks = lab.noisy_disks(2)
    with pytest.raises(ValueError, match="loss must be one of"):
        lab.train_segmenter(images, masks, "hinge", epochs=1)
    with pytest.raises(ValueError, match="loss must be one of"):
        lab._torch_loss("hinge")


# ----------------------------------------------------------------- a run that went wrong
def test_leaky_segmenter_and_bad_slope():
    net = lab.make_segmenter(3, negative_slope=0.05)
    assert isinstance(net[1], torch.nn.LeakyReLU) and net[1].negative_slope == 0.05
    plain = lab.make_segmenter(3)
    assert isinstance(plain[1], torch.nn.ReLU)
    # same initial weights: only the nonlinearity differs
    for a, b in zip(net.parameters(), plain.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="negative_slope"):
        lab.make_segmenter(3, negative_slope=1.5)


def test_silent_units_counts_what_a_hand_silenced_net_does():
    """Units switched off by a large negative bias are dead; with all of them off, every pixel's
    probability is sigmoid(last bias), computed here by hand."""
    images, masks = lab.noisy_disks(6, seed=2)
    net = lab.make_segmenter(2)
    with torch.no_grad():
        net[2].bias[:3] = -1e3
    quiet = lab.silent_units(net, images, masks)
    assert quiet["dead"] == 3 and quiet["width"] == 8
    np.testing.assert_array_equal(quiet["active_background"][:3], 0.0)
    hidden = lab.last_hidden(net, images)
    by_hand = np.all(hidden[:, 3:] == 0, axis=1)[masks == 0].mean()
    assert quiet["silent_background"] == pytest.approx(by_hand)
    with torch.no_grad():
        net[2].bias[:] = -1e3
        net[-1].bias.fill_(-2.0)
    quiet = lab.silent_units(net, images, masks)
    assert quiet["dead"] == 8 and quiet["silent_background"] == 1.0
    assert quiet["bias_probability"] == pytest.approx(1 / (1 + np.exp(2.0)))
    np.testing.assert_allclose(lab.predict_probabilities(net, images), 1 / (1 + np.exp(2.0)), rtol=1e-6)


def test_first_step_pull_of_bce_is_its_closed_form():
    """For BCE with mean reduction, d loss / d logit = (p - t) / (number of pixels)."""
    images, masks = lab.noisy_disks(40, seed=4)
    pull = lab.first_step_pull(images, masks, "bce", seed=4, batch_size=10)
    net = lab.make_segmenter(4)
    batch = torch.randperm(40, generator=torch.Generator().manual_seed(4))[:10].numpy()
    p = lab.predict_probabilities(net, images[batch])
    t = masks[batch]
    assert pull["background"] == pytest.approx(np.sum(p[t == 0]) / p.size, rel=1e-5)
    assert pull["object"] == pytest.approx(np.sum(p[t == 1] - 1) / p.size, rel=1e-5)
    np.testing.assert_allclose(pull["out_weights"], net[-1].weight.detach().double().sum(dim=(0, 2, 3)))


def test_soft_dice_first_pull_raises_every_logit_on_every_seed():
    """The lesson's mechanism is not seed 60's alone: while the overlap is small, soft Dice pulls
    the objects up harder than it pushes the background down (BCE, started at the prior, does not)."""
    for seed in range(5):
        images, masks = lab.noisy_disks(40, seed=seed)
        dice = lab.first_step_pull(images, masks, "dice", seed=seed)
        bce = lab.first_step_pull(images, masks, "bce", seed=seed)
        assert -dice["object"] > 1.5 * dice["background"] > 0
        assert abs(-bce["object"] / bce["background"] - 1) < 0.25


def test_scan_seeds_reports_each_run():
    rows = lab.scan_seeds([5], "dice", progress=False)
    (row,) = rows
    assert set(row) == {"seed", "iou", "gap", "dead", "silent_background", "bias_probability"}
    assert row["seed"] == 5 and 0.6 < row["iou"] < 0.9
