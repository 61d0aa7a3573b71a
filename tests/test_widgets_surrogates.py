"""Lesson 07's threshold explorer, driven without a browser.

The oracle for every hard score is sklearn's ``jaccard_score`` / ``f1_score``
on each image, and for the soft scores the closed forms written out here.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import f1_score, jaccard_score

from course.widgets.surrogates import CURVE_THRESHOLDS, threshold_explorer, threshold_state


def _per_image(score, probabilities, masks, threshold):
    return np.mean([score(t.ravel().astype(int), (p >= threshold).ravel().astype(int),
                          zero_division=1.0) for p, t in zip(probabilities, masks)])


def _soft_iou(p, t, eps=1e-7):
    p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
    inter = (p * t).sum(1)
    return np.mean((inter + eps) / (p.sum(1) + t.sum(1) - inter + eps))


def _soft_dice(p, t, eps=1e-7):
    p, t = p.reshape(len(p), -1), t.reshape(len(t), -1)
    return np.mean((2 * (p * t).sum(1) + eps) / (p.sum(1) + t.sum(1) + eps))


def _marker(explorer) -> float:
    """Where the figure's "this threshold" marker sits."""
    fig = explorer.figure()
    curve_axes = [ax for ax in fig.axes if ax.get_title().startswith("Mean scores")][0]
    line = [ln for ln in curve_axes.get_lines() if ln.get_label() == "this threshold"][0]
    plt.close(fig)
    return float(line.get_xdata()[0])


@pytest.fixture(scope="module")
def data():
    """Masks of disks, a calibrated-looking 'soft' model and a confident 'sharp' one.

    No probability of either model lies in [0.41, 0.47), so moving the
    threshold inside that band must leave every hard score unchanged.
    """
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[:12, :12]
    masks = np.zeros((10, 12, 12))
    for image in masks:
        cy, cx = rng.uniform(3, 9, 2)
        image[(rows - cy) ** 2 + (cols - cx) ** 2 <= 9] = 1.0
    soft = 1 / (1 + np.exp(-(3 * (masks - 0.5) + rng.normal(0, 1.5, masks.shape))))
    sharp = 1 / (1 + np.exp(-(20 * (masks - 0.5) + rng.normal(0, 6, masks.shape))))
    for p in (soft, sharp):
        band = (p >= 0.41) & (p < 0.47)
        p[band] = 0.40
    return {"soft": soft, "sharp": sharp}, masks


def test_hard_scores_move_in_steps_while_soft_scores_stay_put(data):
    predictions, masks = data
    explorer = threshold_explorer(predictions, masks, render=False)
    slider = explorer.controls["threshold"]
    seen = {}
    for threshold in (0.3, 0.42, 0.46, 0.5, 0.7):
        slider.value = threshold
        seen[threshold] = dict(explorer.state["scores"])
        assert f"threshold {threshold:.2f}" in explorer.readout.value
    # inside the empty band [0.41, 0.47) the thresholded masks, hence the hard scores, are equal
    assert seen[0.42]["iou"] == seen[0.46]["iou"] and seen[0.42]["f1"] == seen[0.46]["f1"]
    # across it they change
    assert seen[0.3]["iou"] != seen[0.5]["iou"] != seen[0.7]["iou"]
    for key in ("soft_iou", "soft_dice"):
        assert len({round(s[key], 15) for s in seen.values()}) == 1


@pytest.mark.parametrize("threshold", [0.2, 0.5, 0.74])
@pytest.mark.parametrize("model", ["soft", "sharp"])
def test_scores_match_sklearn_and_the_closed_forms(data, model, threshold):
    predictions, masks = data
    state = threshold_state(threshold, model, 0, predictions, masks)
    p = predictions[model]
    assert state["scores"]["iou"] == pytest.approx(_per_image(jaccard_score, p, masks, threshold))
    assert state["scores"]["f1"] == pytest.approx(_per_image(f1_score, p, masks, threshold))
    assert state["scores"]["soft_iou"] == pytest.approx(_soft_iou(p, masks), rel=1e-12)
    assert state["scores"]["soft_dice"] == pytest.approx(_soft_dice(p, masks), rel=1e-12)


def test_curves_are_the_hard_scores_at_each_threshold(data):
    predictions, masks = data
    state = threshold_state(0.5, "soft", 0, predictions, masks)
    curves = state["curves"]
    np.testing.assert_array_equal(curves["thresholds"], CURVE_THRESHOLDS)
    for i in (0, 30, 60, 98):
        t = CURVE_THRESHOLDS[i]
        assert curves["iou"][i] == pytest.approx(_per_image(jaccard_score, predictions["soft"], masks, t))
        assert curves["f1"][i] == pytest.approx(_per_image(f1_score, predictions["soft"], masks, t))


def test_outcome_map_counts_hits_false_alarms_and_misses(data):
    predictions, masks = data
    state = threshold_state(0.35, "soft", 4, predictions, masks)
    predicted = predictions["soft"][4] >= 0.35
    truth = masks[4] == 1
    counts = np.bincount(state["outcome"].ravel(), minlength=4)
    assert list(counts) == [np.sum(~predicted & ~truth), np.sum(predicted & truth),
                            np.sum(predicted & ~truth), np.sum(~predicted & truth)]
    assert state["image_iou"] == pytest.approx(
        jaccard_score(truth.ravel(), predicted.ravel(), zero_division=1.0))


def test_model_and_image_controls(data):
    predictions, masks = data
    explorer = threshold_explorer(predictions, masks, render=False)
    soft_before = explorer.state["scores"]["soft_iou"]
    explorer.controls["model"].value = "sharp"
    # the confident model's soft score sits much closer to its hard score
    s = explorer.state["scores"]
    assert s["soft_iou"] != soft_before and abs(s["iou"] - s["soft_iou"]) < abs(
        threshold_state(0.5, "soft", 0, predictions, masks)["scores"]["gap"])
    explorer.controls["image"].value = 3
    np.testing.assert_array_equal(explorer.state["target"], masks[3])
    assert "sharp" in explorer.readout.value


def test_figure_has_titles_labels_legends(data):
    predictions, masks = data
    fig = threshold_explorer(predictions, masks, render=False).figure()
    image_axes = [ax for ax in fig.axes if ax.get_title()]
    assert len(image_axes) == 3
    for ax in image_axes:
        assert ax.get_xlabel() and ax.get_ylabel() and ax.get_legend() is not None
    plt.close(fig)


def test_a_single_array_of_predictions_is_one_model(data):
    predictions, masks = data
    explorer = threshold_explorer(predictions["soft"], masks, render=False)
    assert explorer.controls["model"].options == ("model",)


def test_bad_input_raises(data):
    predictions, masks = data
    with pytest.raises(ValueError, match="shape of masks"):
        threshold_explorer({"soft": predictions["soft"][:, :5]}, masks, render=False)
    with pytest.raises(ValueError, match="masks must have shape"):
        threshold_explorer(predictions, masks[0], render=False)
    with pytest.raises(ValueError, match="model must be one of"):
        threshold_state(0.5, "missing", 0, predictions, masks)
    with pytest.raises(ValueError, match="image must be an index"):
        threshold_state(0.5, "soft", 10, predictions, masks)
