"""The contract every lesson explorer keeps, checked over all of them at once.

1. The first control is a slider; one step of it changes the state, the
   readout and the drawn figure (pixels, not just data).
2. Every number in the readout is the state's number, in the readout's order,
   at the precision shown: the readout cannot show a stale, swapped or
   borrowed value (the cross-entropy model's recall as the focal model's, a
   slope as an intercept).
"""

import html
import re

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course.widgets import (
    basics,
    choosing,
    classification,
    composite,
    diagnostics,
    generalization,
    imbalance,
    landscape,
    likelihood,
    regression,
    regularization,
    structured,
    surrogates,
)


def _surrogates_explorer(render):
    rng = np.random.default_rng(7)
    rows, cols = np.mgrid[:12, :12]
    masks = np.zeros((6, 12, 12))
    for image in masks:
        cy, cx = rng.uniform(3, 9, 2)
        image[(rows - cy) ** 2 + (cols - cx) ** 2 <= 9] = 1.0
    soft = 1 / (1 + np.exp(-(3 * (masks - 0.5) + rng.normal(0, 1.5, masks.shape))))
    return surrogates.threshold_explorer({"soft": soft}, masks, render=render)


# explorer -> (builder, the readout's numbers from the state, in order, with their format)
EXPLORERS = {
    "threshold (00)": (basics.threshold_explorer, lambda s: [
        (s["threshold"], ".2f"), (s["sharpness"], ".1f"), (s["accuracy"], ".3f"),
        (s["accuracy_slope"], ".3g"), (s["cross_entropy"], ".4f"), (s["cross_entropy_slope"], "+.4f")]),
    "huber fit (01)": (regression.huber_fit_explorer, lambda s: [
        (s["delta"], ".1f"), (s["outlier"], ".0f"), (s["fits"]["huber"][0], ".2f"),
        (s["fits"]["huber"][1], ".2f"), (s["huber_value"], ".3f")]),
    "boundary (02)": (classification.boundary_explorer, lambda s: [
        (s["mislabelled"], ".1f"), (s["objective"], ".4f"), (s["accuracy"], ".0%"),
        (s["angle"], ".1f"), (s["point_loss"], ".3f")]),
    "softmax (02)": (classification.softmax_explorer, lambda s: [
        *[(p, ".3f") for p in s["probs"]], *[(g, "+.3f") for g in s["grad"]]]),
    "noise fit (03)": (likelihood.noise_fit_explorer, lambda s: [
        (s["scale"], ".2f"), (s["sigma"], ".3f"), (s["laplace_scale"], ".3f"),
        (s["nll"]["gaussian"], ".4f"), (s["nll"]["laplace"], ".4f")]),
    "box slide (04)": (structured.box_explorer, lambda s: [
        (s["offset"], "+.2f"), (s["gap_y"], ".2f"), (s["at"]["iou"], ".3f"),
        (s["at"]["iou_loss"], ".3f"), (s["at"]["giou_loss"], ".3f"), (s["at"]["diou_loss"], ".3f"),
        (s["at"]["d_iou_loss"], "+.3f"), (s["at"]["d_giou_loss"], "+.3f"),
        (s["at"]["d_diou_loss"], "+.3f")]),
    "descent (05)": (landscape.descent_explorer, lambda s: [
        (s["lr"], ".2f"), (s["momentum"], ".2f"), (s["start"][0], "+.1f"), (s["start"][1], "+.1f"),
        (len(s["path"]) - 1, "d"), (s["final_loss"], ".4g"), (s["path"][-1][0], "+.2f"),
        (s["path"][-1][1], "+.2f"), (s["start_loss"], ".3g"), (s["lr_bound"], ".2f")]),
    "focal (06)": (imbalance.focal_explorer, lambda s: [
        (s["gamma"], ".1f"), (s["alpha"], ".2f"),
        (s["report"]["recall_rare"], ".3f"), (s["report_ce"]["recall_rare"], ".3f"),
        (s["report"]["precision_rare"], ".3f"), (s["report_ce"]["precision_rare"], ".3f"),
        (s["report"]["average_precision"], ".3f"), (s["report_ce"]["average_precision"], ".3f"),
        (s["easy_share"], ".1%")]),
    "threshold (07)": (_surrogates_explorer, lambda s: [
        (s["threshold"], ".2f"), (s["scores"]["iou"], ".3f"), (s["scores"]["f1"], ".3f"),
        (s["scores"]["soft_iou"], ".3f"), (s["scores"]["soft_dice"], ".3f")]),
    "regularization (08)": (regularization.regularization_explorer, lambda s: [
        (s["lam"], ".4g"), (s["nonzero"], "d"), (s["w"].size, "d"), (s["relevant_kept"], "d"),
        (s["train_mse"], ".3f"), (s["test_mse"], ".3f"), (s["ols_test_mse"], ".3f"),
        (s["w2"][0], ".3f"), (s["w2"][1], ".3f")]),
    "beta (09)": (composite.beta_explorer, lambda s: [
        (s["beta"], ".2f"), (s["active"], "d"), (s["rec"], ".3f"), (s["kl"], ".3f"),
        (s["total"], ".3f")]),
    "temperature (10)": (generalization.temperature_explorer, lambda s: [
        (s["temperature"], ".2f"), (s["ece"], ".3f"), (s["nll"], ".3f"),
        (s["mean_confidence"], ".3f"), (s["accuracy"], ".3f"), (s["fitted"], ".2f")]),
    "learning rate (11)": (diagnostics.lr_explorer, lambda s: [
        (s["lr"], ".3g"), (s["log10_lr"], ".2f"), (s["best_val"], ".3f"), (s["best_epoch"], "d")]),
    "screening costs (12)": (choosing.screening_explorer, lambda s: [
        (s["ratio"], ".3g"), (s["log10_ratio"], ".2f"), (s["threshold"], ".4f"),
        (s["cost_plain"], ".4f"), (s["cost_bayes"], ".4f"), (s["cost_weighted"], ".4f"),
        (s["best_threshold"], ".4f"), (s["best_cost"], ".4f")]),
}


def _text(readout: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", readout))


def _pixels(explorer) -> np.ndarray:
    fig = explorer.figure()
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    return pixels


def _shown_in_order(text: str, pairs) -> None:
    """Each formatted number occurs in ``text`` after the previous one, as a whole number."""
    position = 0
    for value, spec in pairs:
        shown = format(value, spec).replace("-", "[-−] ?")  # `y = 2 x − 0.44`: a signed term
        match = re.compile(r"(?<![\d.])" + shown.replace(".", r"\.").replace("+", r"\+")
                           + r"(?![\d])").search(text, position)
        assert match, f"{format(value, spec)!r} (from the state) is not shown after {text[:position]!r} " \
                      f"in {text!r}"
        position = match.end()


def _step(control) -> None:
    if isinstance(control, widgets.Dropdown):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        control.value = options[(options.index(control.value) + 1) % len(options)]
    elif control.value + control.step <= control.max:
        control.value = control.value + control.step
    else:
        control.value = control.value - control.step


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_one_step_of_the_first_slider_changes_state_readout_and_figure(name):
    builder, _ = EXPLORERS[name]
    explorer = builder(render=False)
    first = next(iter(explorer.controls.values()))
    assert isinstance(first, (widgets.FloatSlider, widgets.IntSlider)), name
    state, text, pixels = explorer.state, explorer.readout.value, _pixels(explorer)
    _step(first)
    assert explorer.state is not state
    assert explorer.readout.value != text
    assert not np.array_equal(_pixels(explorer), pixels), f"{name}: the figure did not change"


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_every_number_in_the_readout_is_the_states(name):
    builder, numbers = EXPLORERS[name]
    explorer = builder(render=False)
    for _ in range(2):  # at the start and after each control moved one step
        _shown_in_order(_text(explorer.readout.value), numbers(explorer.state))
        for control in explorer.controls.values():
            _step(control)
        _shown_in_order(_text(explorer.readout.value), numbers(explorer.state))


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_the_live_figure_follows_the_first_slider_and_comes_back_exactly(name):
    """What the browser gets (``png()``, painted in place) changes with one step of the
    first slider, and stepping back paints the very first image again, byte for byte."""
    builder, _ = EXPLORERS[name]
    explorer = builder(render=True)  # paints as in a kernel (no kernel needed)
    first_control = next(iter(explorer.controls.values()))
    start, first = first_control.value, explorer.png()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    _step(first_control)
    moved = explorer.png()
    assert moved != first, f"{name}: the painted figure did not change"
    first_control.value = start
    assert explorer.png() == first, f"{name}: moving back did not paint the first figure again"
    plt.close("all")


@pytest.mark.parametrize("name", list(EXPLORERS))
def test_the_readout_writes_each_sign_once(name):
    """`y = 1.5 x − 0.44`, never `+ -0.44` or `--`."""
    builder, _ = EXPLORERS[name]
    explorer = builder(render=False)
    for _ in range(3):
        text = _text(explorer.readout.value)
        assert not re.search(r"[+\-−]\s*[+\-−]\s*\d", text), f"{name}: a doubled sign in {text!r}"
        for control in explorer.controls.values():
            _step(control)
