"""Lesson 05 widget: gradient descent with momentum on a two-parameter landscape.

The pure part is :func:`descent_state` (path, losses, verdict) and
:func:`draw_descent` (contour map with the path, and the loss per step);
:func:`descent_explorer` only wires sliders to them. Learning rate comes
first: it is the control whose every step visibly moves the path.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course.lessons import landscape as L
from course.lessons.landscape import PROBLEMS, curvature_bound, minima, named_problem, named_surface
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

STEPS = 100


def descent_state(lr: float = 0.5, momentum: float = 0.0, start_w1: float = -3.0,
                  start_w2: float = -1.5, landscape: str = "two-unit net", steps: int = STEPS) -> dict:
    """Everything the figure and readout show for one setting of the controls."""
    prob = named_problem(landscape)
    start = np.array([start_w1, start_w2], dtype=float)
    path = L.gradient_descent_path(prob.grad, start, lr=lr, momentum=momentum, steps=steps)
    with np.errstate(over="ignore", invalid="ignore"):
        path_losses = prob.loss(path[:, 0], path[:, 1])
    final = float(path_losses[-1])
    diverged = len(path) < steps + 1 or not np.isfinite(final) or final > path_losses[0]
    return {
        "landscape": landscape, "lr": lr, "momentum": momentum, "start": start, "steps": steps,
        "path": path, "path_losses": path_losses, "final_loss": final, "start_loss": float(path_losses[0]),
        "diverged": bool(diverged), "surface": named_surface(landscape), "minima": minima(landscape),
        "extent": prob.extent, "labels": prob.labels, "lr_bound": curvature_bound(landscape),
    }


def log_levels(loss: np.ndarray, count: int = 25) -> np.ndarray:
    """Contour levels spaced evenly in log(loss): fine near the minima, coarse on the walls."""
    low, high = float(np.min(loss)), float(np.max(loss))
    return np.geomspace(max(low, 1e-4) * 1.05, high, count)


def _build_descent(state: dict):
    """Left: contour map (colour bar: the loss) with the path. Right: loss per step (log scale)."""
    fig, (ax_map, ax_loss) = figure(2, width=11, height=4.8, gridspec_kw={"width_ratios": [1.25, 1]})
    W1, W2, Z = state["surface"]
    levels = log_levels(Z)
    filled = ax_map.contourf(W1, W2, Z, levels=levels, cmap="viridis", norm="log", extend="both")
    ax_map.contour(W1, W2, Z, levels=levels, colors="white", linewidths=0.3, alpha=0.5)
    bar = fig.colorbar(filled, ax=ax_map, label="loss", fraction=0.05, pad=0.02)
    decades = np.arange(np.floor(np.log10(levels[0])), np.ceil(np.log10(levels[-1])) + 1)
    bar.set_ticks([10.0**k for k in decades if levels[0] <= 10.0**k <= levels[-1]],
                  labels=[f"{10.0**k:g}" for k in decades if levels[0] <= 10.0**k <= levels[-1]])
    (w1, w2), value = state["minima"][0]
    ax_map.plot(w1, w2, "*", ms=16, color=OKABE_ITO["yellow"], mec="black",
                label=f"deepest minimum, loss {value:.3g}")
    for k, ((w1, w2), value) in enumerate(state["minima"][1:]):
        ax_map.plot(w1, w2, "D", ms=8, color="white", mec="black",
                    label=f"other minimum, loss {value:.3g}" if k == 0 else None)
    parts = {
        "path": ax_map.plot([], [], "-o", ms=2.5, lw=1.4, color=OKABE_ITO["vermillion"],
                            label="path of gradient descent")[0],
        "start": ax_map.plot([], [], "s", ms=8, color=OKABE_ITO["orange"], mec="black",
                             label="start")[0],
    }
    lo1, hi1, lo2, hi2 = state["extent"]
    ax_map.set_xlim(lo1, hi1)
    ax_map.set_ylim(lo2, hi2)
    finish(ax_map, "", *state["labels"], legend=False)
    ax_map.grid(False)
    ax_map.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    parts["map_title"] = ax_map.title

    parts["losses"] = ax_loss.semilogy([], [], color=OKABE_ITO["vermillion"], lw=2,
                                       label="loss along the path")[0]
    ax_loss.axhline(state["minima"][0][1], color="black", ls="--", lw=1, label="deepest minimum")
    # fixed limits (the figure is updated in place): the map's range of losses
    ax_loss.set_xlim(0, state["steps"])
    ax_loss.set_ylim(max(float(Z.min()), 1e-4) * 0.5, float(Z.max()) * 2)
    finish(ax_loss, "", "step", "loss on the path (log scale)", legend=False)
    ax_loss.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
    parts["loss_title"] = ax_loss.title
    return fig, parts


def _refresh_descent(parts: dict, state: dict) -> list:
    path = state["path"]
    parts["path"].set_data(path[:, 0], path[:, 1])
    parts["start"].set_data([path[0, 0]], [path[0, 1]])
    parts["map_title"].set_text(f"{state['landscape']}: {len(path) - 1} steps")
    losses = np.where(np.isfinite(state["path_losses"]), state["path_losses"], np.nan)
    parts["losses"].set_data(np.arange(len(path)), losses)
    parts["loss_title"].set_text("Loss per step" + (" (diverged)" if state["diverged"] else ""))
    return [parts[key] for key in ("path", "start", "map_title", "losses", "loss_title")]


draw_descent = LiveFigure(_build_descent, _refresh_descent, rebuild_on=("landscape",))


def descent_readout(state: dict) -> str:
    verdict = " <b>diverged</b>" if state["diverged"] else ""
    w1, w2 = state["start"]
    end = state["path"][-1]
    return (
        f"lr = <b>{state['lr']:.2f}</b>, momentum = <b>{state['momentum']:.2f}</b>, "
        f"start ({w1:+.1f}, {w2:+.1f}) → after {len(state['path']) - 1} steps: "
        f"loss <b>{state['final_loss']:.4g}</b> at ({end[0]:+.2f}, {end[1]:+.2f}){verdict} "
        f"(start loss {state['start_loss']:.3g}; plain GD is stable near the deepest minimum "
        f"for lr &lt; 2/λ_max = {state['lr_bound']:.2f})"
    )


def descent_explorer(render: bool | None = None) -> Explorer:
    """Learning rate, momentum, starting point and landscape; the path is redrawn on each move."""
    controls = {
        "lr": widgets.FloatSlider(value=0.5, min=0.02, max=2.0, step=0.02, description="learning rate"),
        "momentum": widgets.FloatSlider(value=0.0, min=0.0, max=0.95, step=0.05, description="momentum"),
        "start_w1": widgets.FloatSlider(value=-3.0, min=-3.8, max=3.8, step=0.1, description="start w1"),
        "start_w2": widgets.FloatSlider(value=-1.5, min=-3.8, max=3.8, step=0.1, description="start w2"),
        "landscape": widgets.Dropdown(options=list(PROBLEMS), value="two-unit net", description="landscape"),
    }
    return Explorer(controls, descent_state, draw_descent, descent_readout, name="descent", render=render)
