"""Lesson 04's box-sliding explorer, driven without a browser."""

import matplotlib.pyplot as plt
import numpy as np

from course.widgets.structured import box_explorer, box_slide_state, draw_box_slide


def test_lift_slider_changes_the_curves():
    explorer = box_explorer(render=False)
    before = explorer.state["curves"]["giou_loss"].copy()
    explorer.controls["gap_y"].value = 1.0
    assert "lifted 1.00" in explorer.readout.value
    assert not np.allclose(explorer.state["curves"]["giou_loss"], before)


def _closed_form(offset, lift):
    """IoU, GIoU loss and DIoU loss of the slide's boxes, from the paper's definitions."""
    x1, x2, y1, y2 = offset, offset + 2.0, 0.25 + lift, 1.75 + lift
    w = np.clip(np.minimum(x2, 2.0) - np.maximum(x1, 0.0), 0, None)
    h = np.clip(np.minimum(y2, 2.0) - np.maximum(y1, 0.0), 0, None)
    inter, union = w * h, 3.0 + 4.0 - w * h
    cw = np.maximum(x2, 2.0) - np.minimum(x1, 0.0)
    ch = np.maximum(y2, 2.0) - np.minimum(y1, 0.0)
    iou = inter / union
    giou = 1 - iou + (cw * ch - union) / (cw * ch)
    rho2 = (offset + 1.0 - 1.0) ** 2 + (y1 + 0.75 - 1.0) ** 2
    diou = 1 - iou + rho2 / (cw**2 + ch**2)
    return iou, giou, diou


def test_values_and_slopes_match_the_closed_form():
    for lift in (0.0, 0.5, 2.5):
        state = box_slide_state(offset=-1.25, gap_y=lift)
        x, curves = state["offsets"], state["curves"]
        iou, giou, diou = _closed_form(x, lift)
        np.testing.assert_allclose(curves["iou"], iou, atol=1e-12)
        np.testing.assert_allclose(curves["giou_loss"], giou, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(curves["diou_loss"], diou, rtol=1e-6, atol=1e-6)
        # slopes: central differences of the closed form, away from the kinks
        h = 1e-5
        smooth = np.abs(np.abs(x) - 2.0) > 0.01
        smooth &= np.abs(x) > 0.01
        for k, name in ((0, "iou_loss"), (1, "giou_loss"), (2, "diou_loss")):
            plus, minus = _closed_form(x + h, lift)[k], _closed_form(x - h, lift)[k]
            slope = (plus - minus) / (2 * h) * (-1 if k == 0 else 1)
            np.testing.assert_allclose(curves["d_" + name][smooth], slope[smooth],
                                       rtol=1e-4, atol=1e-5)


def test_iou_is_flat_when_disjoint_and_giou_diou_are_not():
    for offset in (-4.5, -3.0, 2.5, 4.0):
        state = box_slide_state(offset)
        at = state["at"]
        assert state["disjoint"] and at["iou"] == 0 and at["d_iou_loss"] == 0
        # gradient descent moves the box toward the target
        assert np.sign(at["d_giou_loss"]) == np.sign(offset) != 0
        assert np.sign(at["d_diou_loss"]) == np.sign(offset)
        assert "IoU is flat" in box_explorer(render=False).readout.value


def test_overlap_gives_every_loss_a_gradient_and_the_optimum_is_centred():
    state = box_slide_state(-1.0)
    assert not state["disjoint"]
    assert all(state["at"][k] < -0.3 for k in ("d_iou_loss", "d_giou_loss", "d_diou_loss"))
    curves = state["curves"]
    best = state["offsets"][np.argmin(curves["giou_loss"])]
    assert abs(best) < 1e-9 and abs(state["offsets"][np.argmin(curves["diou_loss"])]) < 1e-9


def test_figure_has_three_titled_panels():
    fig = draw_box_slide(box_slide_state(0.5))
    assert len(fig.axes) == 3 and all(ax.get_title() for ax in fig.axes)
    plt.close(fig)


def test_lattice_drawing_shows_every_node_and_only_the_arrows_alignments_use():
    from matplotlib.patches import FancyArrowPatch

    from course.lessons.structured import ctc_lattice
    from course.plots import figure
    from course.widgets.structured import draw_ctc_lattice

    log_probs = np.log(np.full((4, 3), 1 / 3))
    for target, n_arrows in (([1, 2], 18), ([1, 1], 9)):
        lattice = ctc_lattice(log_probs, target)
        fig, ax = figure(1)
        drawn = draw_ctc_lattice(ax, lattice)
        assert len(drawn["nodes"]) == 4 * 5
        assert sum(on for *_, on in drawn["nodes"]) == lattice["on_a_path"].sum()
        # one arrow per edge: counted from the figure, and by hand from the alignments
        arrows = [a for a in ax.texts if isinstance(getattr(a, "arrow_patch", None), FancyArrowPatch)]
        assert len(arrows) == len(drawn["edges"]) == n_arrows
        # each node is labelled with its alpha, at its (frame, row)
        labels = {t.get_position(): t.get_text() for t in ax.texts
                  if not getattr(t, "arrow_patch", None)}
        assert len(labels) == 20
        for (t, s), text in labels.items():
            value = lattice["alpha"][int(t), int(s)]
            assert text == ("0" if value == 0 else f"{value:.3f}".lstrip("0"))
        plt.close(fig)
