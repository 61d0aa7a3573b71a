"""Lesson 04 widget: slide a predicted box across a target box.

One slider, ``offset``, moves a predicted box horizontally; a second,
``gap_y``, lifts it vertically. The pure part, :func:`box_slide_state`,
returns IoU, the GIoU loss and the DIoU loss (all from
:mod:`course.losses`) and their derivatives with respect to the horizontal
position, on a grid of positions and at the slider's position.
:func:`box_explorer` only wires the sliders to it.

The derivative of ``1 - IoU`` has no ``_grad`` in the library (IoU is a
metric there), so it is a central finite difference of
:func:`course.losses.box_iou`; the GIoU and DIoU derivatives come from their
``_grad`` functions (moving the box by ``s`` moves ``x1`` and ``x2`` by
``s``, so the derivative is the sum of the two corner gradients).
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course.lessons.structured import TARGET, box_slide_curves, lattice_edges, predicted_boxes
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

OFFSETS = np.linspace(-5.0, 5.0, 401)
COLORS = {
    "iou": OKABE_ITO["black"],
    "giou": OKABE_ITO["blue"],
    "diou": OKABE_ITO["vermillion"],
    "target": OKABE_ITO["green"],
    "prediction": OKABE_ITO["orange"],
}


def box_slide_state(offset: float = -3.5, gap_y: float = 0.0) -> dict:
    """Everything the widget shows for a predicted box whose left edge is at ``offset``.

    The target is ``(0, 0, 2, 2)``; the prediction is 2 wide, 1.5 tall, its
    bottom at ``0.25 + gap_y``. ``curves`` hold each quantity on
    :data:`OFFSETS`; ``at`` holds them at ``offset``. ``d_*`` are
    derivatives with respect to the horizontal position (positive: moving
    right raises the loss, so gradient descent moves the box left).
    """
    offset, gap_y = float(offset), float(gap_y)
    at = {key: float(value[0]) + 0.0 for key, value in box_slide_curves(np.array([offset]), gap_y).items()}
    return {
        "offset": offset,
        "gap_y": gap_y,
        "box": predicted_boxes(offset, gap_y)[0],
        "target": TARGET.copy(),
        "offsets": OFFSETS,
        "curves": box_slide_curves(OFFSETS, gap_y),
        "at": at,
        "disjoint": at["iou"] == 0.0,
    }


def _rectangle(ax, box, color, label, fill):
    from matplotlib.patches import Rectangle

    x1, y1, x2, y2 = box
    return ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, facecolor=color if fill else "none",
                                  edgecolor=color, alpha=0.35 if fill else 1.0, lw=2, label=label))


CURVES = (("iou_loss", "1 − IoU"), ("giou_loss", "GIoU loss"), ("diou_loss", "DIoU loss"))


def _build_box_slide(state: dict):
    """Left: the two boxes. Middle: the losses against position. Right: their derivatives."""
    fig, (ax_box, ax_loss, ax_grad) = figure(3, width=13, height=4.4)
    _rectangle(ax_box, state["target"], COLORS["target"], "target", fill=True)
    parts = {"box": _rectangle(ax_box, state["box"], COLORS["prediction"], "prediction", fill=False)}
    ax_box.set_xlim(-5.5, 7.5)
    ax_box.set_ylim(-1.5, 4.5)
    ax_box.set_aspect("equal")
    finish(ax_box, "", "x", "y")
    parts["title"] = ax_box.title

    x, curves = state["offsets"], state["curves"]
    for key, label in CURVES:
        color = COLORS[key.split("_")[0]]
        style = "--" if key == "iou_loss" else "-"
        parts[key] = ax_loss.plot(x, curves[key], style, color=color, lw=2, label=label)[0]
        parts[key + "_dot"] = ax_loss.plot([], [], "o", color=color)[0]
        parts["d_" + key] = ax_grad.plot(x, curves["d_" + key], style, color=color, lw=2,
                                         label=f"d({label})/dx")[0]
        parts["d_" + key + "_dot"] = ax_grad.plot([], [], "o", color=color)[0]
    parts["lines"] = [ax.axvline(state["offset"], color="#999999", lw=1) for ax in (ax_loss, ax_grad)]
    # fixed limits (the figure is updated in place), for every lift the slider allows
    ax_loss.set_xlim(x[0], x[-1])
    ax_loss.set_ylim(0, 1.85)
    ax_grad.set_xlim(x[0], x[-1])
    ax_grad.set_ylim(-0.8, 0.8)
    finish(ax_loss, "Loss against horizontal position", "left edge of the prediction, x",
           "loss", legend=False)
    finish(ax_grad, "Derivative against position", "left edge of the prediction, x",
           "d loss / dx", legend=False)
    for ax in (ax_box, ax_loss, ax_grad):
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2 if ax is ax_box else 1)
    return fig, parts


def _refresh_box_slide(parts: dict, state: dict) -> list:
    x1, y1, x2, y2 = state["box"]
    parts["box"].set_bounds(x1, y1, x2 - x1, y2 - y1)
    parts["title"].set_text(f"Prediction at x = {state['offset']:+.2f}".replace("-", "−"))
    curves, at, offset = state["curves"], state["at"], state["offset"]
    moving = [parts["box"], parts["title"]]
    for key, _ in CURVES:
        parts[key].set_ydata(curves[key])
        parts["d_" + key].set_ydata(curves["d_" + key])
        parts[key + "_dot"].set_data([offset], [at[key]])
        parts["d_" + key + "_dot"].set_data([offset], [at["d_" + key]])
        moving += [parts[key], parts["d_" + key], parts[key + "_dot"], parts["d_" + key + "_dot"]]
    for line in parts["lines"]:
        line.set_xdata([offset, offset])
    return moving + parts["lines"]


draw_box_slide = LiveFigure(_build_box_slide, _refresh_box_slide)


def box_slide_readout(state: dict) -> str:
    at = state["at"]
    where = "disjoint: IoU is flat" if state["disjoint"] else "overlapping"
    return (
        f"<b>x = {state['offset']:+.2f}, lifted {state['gap_y']:.2f}</b> ({where}) → "
        f"IoU <b>{at['iou']:.3f}</b>; losses: 1 − IoU {at['iou_loss']:.3f}, "
        f"GIoU <b>{at['giou_loss']:.3f}</b>, DIoU <b>{at['diou_loss']:.3f}</b>; "
        f"d/dx: 1 − IoU {at['d_iou_loss']:+.3f}, GIoU <b>{at['d_giou_loss']:+.3f}</b>, "
        f"DIoU <b>{at['d_diou_loss']:+.3f}</b>"
    )


def box_explorer(render: bool | None = None) -> Explorer:
    """Two sliders: the prediction's horizontal position and its vertical lift."""
    controls = {
        "offset": widgets.FloatSlider(value=-3.5, min=-5.0, max=5.0, step=0.25,
                                      description="x (left edge)"),
        "gap_y": widgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.25,
                                     description="lift (y)"),
    }
    return Explorer(controls, box_slide_state, draw_box_slide, box_slide_readout,
                    name="box-slide", render=render)


# ------------------------------------------------------------ CTC lattice
MOVE_COLORS = {0: OKABE_ITO["black"], 1: OKABE_ITO["blue"], 2: OKABE_ITO["vermillion"]}


def draw_ctc_lattice(ax, lattice: dict, symbols: str = "-ab", title: str = "") -> dict:
    """Draw a lattice of :func:`course.lessons.structured.ctc_lattice` on ``ax``.

    Columns are frames, rows the extended labels; each node shows its
    alpha. Nodes on no complete alignment are gray; the arrows are those of
    :func:`course.lessons.structured.lattice_edges` (black: stay, blue: next
    state, vermillion: skip over a blank). The two end states are outlined.
    Returns the drawn ``edges`` and ``nodes`` (for tests).
    """
    alpha, on = lattice["alpha"], lattice["on_a_path"]
    n_frames, n_states = alpha.shape
    edges = lattice_edges(lattice)
    for t, a, b in edges:
        ax.annotate("", xy=(t + 1, b), xytext=(t, a),
                    arrowprops={"arrowstyle": "-|>", "color": MOVE_COLORS[b - a], "lw": 1.4,
                                "shrinkA": 13, "shrinkB": 13, "alpha": 0.8})
    nodes = []
    for t in range(n_frames):
        for s in range(n_states):
            end = t == n_frames - 1 and s in lattice["final"]
            color = OKABE_ITO["sky"] if on[t, s] else "#dddddd"
            ax.scatter([t], [s], s=900, color=color, edgecolor="black" if end else "none",
                       linewidth=2.5 if end else 0, zorder=3)
            ax.text(t, s, f"{alpha[t, s]:.3f}".lstrip("0") if alpha[t, s] > 0 else "0",
                    ha="center", va="center", fontsize=8, zorder=4,
                    color="black" if on[t, s] else "#888888")
            nodes.append((t, s, bool(on[t, s])))
    ax.set_xticks(range(n_frames), [f"t = {t + 1}" for t in range(n_frames)])
    ax.set_yticks(range(n_states), [symbols[k] for k in lattice["extended"]])
    ax.set_xlim(-0.5, n_frames - 0.5)
    ax.set_ylim(n_states - 0.5, -0.5)
    ax.grid(False)
    finish(ax, title, "frame", "extended label")
    return {"edges": edges, "nodes": nodes}
