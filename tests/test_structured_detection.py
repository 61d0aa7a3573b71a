"""Lesson 04's tiny grid detector, against oracles that do not use its code.

Oracles: the images are checked pixel by pixel against the boxes they claim; the cell
windows against a plain loop over the padded image; the backpropagated gradient against
central finite differences of the objective; the scores against a closed-form IoU of two
rectangles; Adam against ``torch.optim.Adam``.
"""

import numpy as np
import pytest

from course.gradcheck import numerical_gradient
from course.lessons import structured_detection as sd


@pytest.fixture(scope="module")
def data():
    return sd.detection_images(40, seed=3)


def test_images_hold_the_objects_their_labels_describe(data):
    images, classes, boxes = data["images"], data["classes"], data["boxes"]
    assert images.shape == (40, 32, 32) and classes.shape == (40, 16) and boxes.shape == (40, 16, 4)
    counts = (classes > 0).sum(axis=1)
    assert set(counts) <= {1, 2} and set(counts) == {1, 2}
    assert set(np.unique(classes)) == {0, 1, 2}
    assert np.all(boxes[classes == 0] == 0)
    noise_free = sd.detection_images(40, seed=3, noise=0.0)["images"]
    for i, cell in zip(*np.nonzero(classes)):
        x1, y1, x2, y2 = boxes[i, cell].astype(int)
        assert 0 <= x1 < x2 <= 32 and 0 <= y1 < y2 <= 32 and 6 <= x2 - x1 <= 13 and 6 <= y2 - y1 <= 13
        # the centre lies in its cell, within 2 pixels (and rounding) of the cell's centre
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        assert (int(cy) // 8) * 4 + int(cx) // 8 == cell
        assert abs(cx - (cell % 4 + 0.5) * 8) <= 2.5 and abs(cy - (cell // 4 + 0.5) * 8) <= 2.5
        patch = noise_free[i, y1:y2, x1:x2]
        if classes[i, cell] == 1:
            assert np.all(patch == 1)
        else:  # a frame two pixels thick around an empty inside
            assert np.all(patch[:2] == 1) and np.all(patch[-2:] == 1)
            assert np.all(patch[2:-2, 2:-2] == 0)
    # nothing outside the boxes
    outside = np.ones_like(noise_free, dtype=bool)
    for i, cell in zip(*np.nonzero(classes)):
        x1, y1, x2, y2 = boxes[i, cell].astype(int)
        outside[i, y1:y2, x1:x2] = False
    assert np.all(noise_free[outside] == 0)


def test_cell_windows_are_pooled_crops_around_each_cell(data):
    windows = sd.cell_windows(data["images"][:3])
    assert windows.shape == (3 * 16, 36)
    padded = np.pad(data["images"][:3], ((0, 0), (8, 8), (8, 8)))
    row = 0
    for i in range(3):
        for r in range(4):
            for c in range(4):
                crop = padded[i, 8 * r:8 * r + 24, 8 * c:8 * c + 24]
                pooled = np.array([[crop[4 * a:4 * a + 4, 4 * b:4 * b + 4].mean() for b in range(6)]
                                   for a in range(6)])
                np.testing.assert_allclose(windows[row], pooled.ravel(), rtol=1e-12)
                row += 1


def test_anchors_are_ten_pixel_squares_centred_on_the_cells():
    anchors = sd.anchor_boxes(2)
    assert anchors.shape == (32, 4)
    np.testing.assert_array_equal(anchors[:16], anchors[16:])
    np.testing.assert_allclose(anchors[:, 2] - anchors[:, 0], 10)
    np.testing.assert_allclose(anchors[:, 3] - anchors[:, 1], 10)
    centres = (anchors[:16, :2] + anchors[:16, 2:]) / 2
    cells = np.arange(16)
    np.testing.assert_allclose(centres[:, 0], (cells % 4 + 0.5) * 8)
    np.testing.assert_allclose(centres[:, 1], (cells // 4 + 0.5) * 8)


@pytest.mark.parametrize("box_weight", [0.0, 0.3, 5.0])
def test_gradient_matches_finite_differences_of_the_objective(data, box_weight):
    small = {key: value[:4] for key, value in data.items()}
    windows, anchors = sd.cell_windows(small["images"]), sd.anchor_boxes(4)
    classes, target_boxes = small["classes"].reshape(-1), small["boxes"].reshape(-1, 4)
    params = sd.init_detector(hidden=5, seed=1)
    for p in params:  # biases away from zero, so the check sees them
        p += np.random.default_rng(2).normal(0, 0.1, p.shape)

    def objective(*flat):
        cls, box, _ = sd.detection_terms(list(flat), windows, anchors, classes, target_boxes, 0.0)
        return cls + box_weight * box

    _, _, grads = sd.detection_terms(params, windows, anchors, classes, target_boxes, box_weight)
    for k in range(4):
        numeric = numerical_gradient(objective, *params, argnum=k, eps=1e-6)
        np.testing.assert_allclose(grads[k], numeric, rtol=1e-5, atol=1e-7)


def test_shared_layer_pulls_split_the_gradient_by_term(data):
    params = sd.init_detector(seed=0)
    cls_1, box_1 = sd.shared_layer_pulls(params, data, 1.0)
    cls_7, box_7 = sd.shared_layer_pulls(params, data, 7.0)
    assert cls_1 == pytest.approx(cls_7) and box_7 == pytest.approx(7 * box_1)
    assert sd.shared_layer_pulls(params, data, 0.0)[1] == pytest.approx(0, abs=1e-12)


def _closed_form_iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


def test_scores_of_a_detector_that_outputs_nothing(data):
    # all-zero weights: every cell says "background" (argmax of equal logits is 0), every box is
    # the anchor, so the accuracy on objects is 0 and the mean IoU is that of anchors and boxes
    params = [np.zeros_like(p) for p in sd.init_detector()]
    scores = sd.detector_scores(params, data)
    anchors = sd.anchor_boxes(1)
    expected = [_closed_form_iou(anchors[cell], data["boxes"][i, cell])
                for i, cell in zip(*np.nonzero(data["classes"]))]
    assert scores["accuracy"] == 0 and scores["background_accuracy"] == 1
    assert scores["mean_iou"] == pytest.approx(np.mean(expected), rel=1e-12)


def test_training_with_a_balanced_weight_learns_both_outputs():
    run = sd.train_detector(1.0, seed=0, steps=100)
    scores = sd.detector_scores(run["params"], sd.held_out_images(0, n=60))
    untrained = sd.detector_scores(sd.init_detector(seed=0), sd.held_out_images(0, n=60))
    assert scores["accuracy"] > 0.6 > untrained["accuracy"]
    assert scores["mean_iou"] > untrained["mean_iou"] + 0.1
    assert run["history"].shape == (20, 2) and np.all(np.diff(run["history"][[0, -1]], axis=0) < 0)


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="n"):
        sd.detection_images(0)
    with pytest.raises(ValueError, match="box_weight"):
        sd.train_detector(-1.0)

