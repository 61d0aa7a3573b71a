"""Lesson 07 widget: one set of predictions, a moving threshold, hard and soft scores.

Hard IoU and F1 count pixels after a threshold, so they change in steps as
the threshold moves; soft IoU and soft Dice use the probabilities
themselves and do not depend on any threshold. The pure part is
:func:`threshold_state`; :func:`threshold_explorer` wires a threshold
slider (first), a choice of trained model and an image slider to it.
"""

from __future__ import annotations

from functools import partial

import ipywidgets as widgets
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch

from course import metrics
from course.lessons.surrogates import overlap_scores, threshold_sweep
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

#: thresholds at which the curves are drawn
CURVE_THRESHOLDS = np.linspace(0.01, 0.99, 99)
#: colours of the thresholded map: true positive, false positive, false negative
OUTCOME_COLORS = {"hit": OKABE_ITO["blue"], "false alarm": OKABE_ITO["orange"],
                  "miss": OKABE_ITO["vermillion"]}
SCORE_COLORS = {"iou": OKABE_ITO["blue"], "f1": OKABE_ITO["green"],
                "soft_iou": OKABE_ITO["sky"], "soft_dice": OKABE_ITO["purple"]}


def _check_predictions(predictions, masks) -> tuple[dict, np.ndarray]:
    if not isinstance(predictions, dict):
        predictions = {"model": predictions}
    masks = np.asarray(masks, dtype=np.float64)
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (N, H, W), got {masks.shape}")
    checked = {}
    for name, p in predictions.items():
        p = np.asarray(p, dtype=np.float64)
        if p.shape != masks.shape:
            raise ValueError(f"predictions[{name!r}] must have the shape of masks {masks.shape}, "
                             f"got {p.shape}")
        checked[name] = p
    if not checked:
        raise ValueError("predictions must hold at least one model's probabilities")
    return checked, masks


def threshold_state(
    threshold: float, model: str, image: int, predictions: dict, masks, _curves: dict | None = None
) -> dict:
    """What the explorer shows for one threshold, one model and one image.

    Parameters
    ----------
    threshold : float
        Pixels with probability ``>= threshold`` count as foreground.
    model : str
        Key of ``predictions``.
    image : int
        Index of the image drawn.
    predictions : dict of name -> ndarray (N, H, W)
        Foreground probabilities of each model.
    masks : ndarray (N, H, W)
        The 0/1 targets.

    Returns
    -------
    dict
        ``scores`` (hard ``iou``, ``f1`` at this threshold and the
        threshold-free ``soft_iou``, ``soft_dice``, each a mean over the N
        images), ``image_iou`` (the drawn image's hard IoU), the drawn
        image's ``probabilities``, ``target`` and ``outcome`` (0 background,
        1 hit, 2 false alarm, 3 miss), and ``curves`` (hard IoU and F1 on
        :data:`CURVE_THRESHOLDS`).
    """
    predictions, masks = _check_predictions(predictions, masks)
    if model not in predictions:
        raise ValueError(f"model must be one of {sorted(predictions)}, got {model!r}")
    if not 0 <= image < len(masks):
        raise ValueError(f"image must be an index in [0, {len(masks)}), got {image}")
    p = predictions[model]
    curves = _curves[model] if _curves is not None else threshold_sweep(p, masks, CURVE_THRESHOLDS)
    scores = overlap_scores(p, masks, threshold)
    predicted = p[image] >= threshold
    truth = masks[image] == 1
    outcome = np.select([predicted & truth, predicted & ~truth, ~predicted & truth], [1, 2, 3], 0)
    return {
        "threshold": float(threshold),
        "model": model,
        "image": int(image),
        "scores": scores,
        "image_iou": metrics.iou(p[image], masks[image], threshold),
        "probabilities": p[image],
        "target": masks[image],
        "outcome": outcome,
        "curves": curves,
    }


def outline_segments(mask: np.ndarray) -> np.ndarray:
    """Pixel edges between the mask's inside and outside, as ``(k, 2, 2)`` line segments."""
    inside = np.pad(np.asarray(mask) > 0.5, 1)
    rows, cols = np.nonzero(inside[1:, 1:-1] != inside[:-1, 1:-1])  # horizontal edges
    horizontal = [((c - 0.5, r - 0.5), (c + 0.5, r - 0.5)) for r, c in zip(rows, cols)]
    rows, cols = np.nonzero(inside[1:-1, 1:] != inside[1:-1, :-1])  # vertical edges
    vertical = [((c - 0.5, r - 0.5), (c - 0.5, r + 0.5)) for r, c in zip(rows, cols)]
    return np.array(horizontal + vertical, dtype=float).reshape(-1, 2, 2)


def _build_threshold(state: dict):
    """Left: the image's probabilities. Middle: the thresholded map. Right: scores vs threshold."""
    from matplotlib.collections import LineCollection

    fig, (ax_p, ax_map, ax_curve) = figure(3, width=13, height=4.8)
    below = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16)}
    parts = {"picture": ax_p.imshow(state["probabilities"], cmap="cividis", vmin=0, vmax=1),
             "outline": ax_p.add_collection(LineCollection([], colors="white", linewidths=1.5))}
    ax_p.legend(handles=[Patch(facecolor="none", edgecolor="white", label="target outline")],
                facecolor="#333333", labelcolor="white", frameon=True, **below)
    fig.colorbar(parts["picture"], ax=ax_p, fraction=0.046, pad=0.04, label="probability")
    finish(ax_p, "", "column", "row", legend=False)
    ax_p.grid(False)
    parts["p_title"] = ax_p.title

    colors = ["white"] + list(OUTCOME_COLORS.values())
    parts["map"] = ax_map.imshow(state["outcome"], cmap=ListedColormap(colors), vmin=-0.5, vmax=3.5)
    ax_map.legend(handles=[Patch(color=c, label=k) for k, c in OUTCOME_COLORS.items()],
                  ncol=2, **below)
    ax_map.grid(False)
    finish(ax_map, "", "column", "row", legend=False)
    parts["map_title"] = ax_map.title

    curves, scores = state["curves"], state["scores"]
    ax_curve.plot(curves["thresholds"], curves["iou"], color=SCORE_COLORS["iou"], lw=2,
                  label="hard IoU")
    ax_curve.plot(curves["thresholds"], curves["f1"], color=SCORE_COLORS["f1"], lw=2,
                  label="hard F1")
    ax_curve.axhline(scores["soft_iou"], color=SCORE_COLORS["soft_iou"], ls="--",
                     label="soft IoU (no threshold)")
    ax_curve.axhline(scores["soft_dice"], color=SCORE_COLORS["soft_dice"], ls=":",
                     label="soft Dice (no threshold)")
    parts["dots"] = ax_curve.plot([], [], "o", color="black", label="this threshold")[0]
    ax_curve.set_xlim(0, 1)
    ax_curve.set_ylim(0, 1)
    finish(ax_curve, f"Mean scores: {state['model']}", "threshold", "score (mean over images)",
           legend=False)
    ax_curve.legend(ncol=2, **below)
    return fig, parts


def _refresh_threshold(parts: dict, state: dict) -> list:
    parts["picture"].set_data(state["probabilities"])
    parts["outline"].set_segments(outline_segments(state["target"]))
    parts["p_title"].set_text(f"Image {state['image']}: probabilities")
    parts["map"].set_data(state["outcome"])
    parts["map_title"].set_text(f"Thresholded at {state['threshold']:.2f}: "
                                f"IoU {state['image_iou']:.2f}")
    scores = state["scores"]
    parts["dots"].set_data([state["threshold"]] * 2, [scores["iou"], scores["f1"]])
    return [parts[key] for key in ("picture", "outline", "p_title", "map", "map_title", "dots")]


draw_threshold = LiveFigure(_build_threshold, _refresh_threshold, rebuild_on=("model",))


def threshold_readout(state: dict) -> str:
    s = state["scores"]
    return (
        f"<b>threshold {state['threshold']:.2f}</b> ({state['model']}): "
        f"hard IoU <b>{s['iou']:.3f}</b>, hard F1 <b>{s['f1']:.3f}</b> · "
        f"soft IoU <b>{s['soft_iou']:.3f}</b>, soft Dice <b>{s['soft_dice']:.3f}</b> "
        f"(soft scores ignore the threshold)"
    )


def threshold_explorer(predictions, masks, render: bool | None = None) -> Explorer:
    """A threshold slider (first), a model menu and an image slider over fixed predictions.

    ``predictions`` is one (N, H, W) array of probabilities or a dict of
    them by model name; ``masks`` the (N, H, W) 0/1 targets.
    """
    predictions, masks = _check_predictions(predictions, masks)
    curves = {name: threshold_sweep(p, masks, CURVE_THRESHOLDS) for name, p in predictions.items()}
    controls = {
        "threshold": widgets.FloatSlider(value=0.5, min=0.02, max=0.98, step=0.02,
                                         description="threshold"),
        "model": widgets.Dropdown(options=list(predictions), value=next(iter(predictions)),
                                  description="trained with"),
        "image": widgets.IntSlider(value=0, min=0, max=len(masks) - 1, description="image"),
    }
    compute = partial(threshold_state, predictions=predictions, masks=masks, _curves=curves)
    return Explorer(controls, compute, draw_threshold, threshold_readout,
                    name="surrogate-threshold", render=render)
