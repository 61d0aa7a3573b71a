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

from ._base import Explorer

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


def draw_descent(state: dict):
    """Left: contour map with the path. Right: loss per step (log scale)."""
    fig, (ax_map, ax_loss) = figure(2, width=10, height=4.2)
    W1, W2, Z = state["surface"]
    ax_map.contourf(W1, W2, Z, levels=log_levels(Z), cmap="viridis", norm="log", extend="both")
    ax_map.contour(W1, W2, Z, levels=log_levels(Z), colors="white", linewidths=0.3, alpha=0.5)
    for k, ((w1, w2), value) in enumerate(state["minima"]):
        ax_map.plot(w1, w2, "*", ms=14, color=OKABE_ITO["yellow"], mec="black",
                    label=f"minimum, loss {value:.3g}" if k == 0 else f"other minimum, loss {value:.3g}")
    path = state["path"]
    lo1, hi1, lo2, hi2 = state["extent"]
    ax_map.plot(path[:, 0], path[:, 1], "-o", ms=2.5, lw=1.4, color=OKABE_ITO["vermillion"],
                label=f"path, lr {state['lr']:.2f}, momentum {state['momentum']:.2f}")
    ax_map.plot(*path[0], "s", ms=8, color=OKABE_ITO["orange"], mec="black", label="start")
    ax_map.set_xlim(lo1, hi1)
    ax_map.set_ylim(lo2, hi2)
    finish(ax_map, f"{state['landscape']}: {len(path) - 1} steps", *state["labels"])
    ax_map.legend(loc="lower left", framealpha=0.85, frameon=True)

    steps = np.arange(len(path))
    losses = np.where(np.isfinite(state["path_losses"]), state["path_losses"], np.nan)
    ax_loss.semilogy(steps, losses, color=OKABE_ITO["vermillion"], lw=2, label="loss along the path")
    ax_loss.axhline(state["minima"][0][1], color="black", ls="--", lw=1, label="deepest minimum")
    finish(ax_loss, "Loss per step" + (" (diverged)" if state["diverged"] else ""), "step", "loss (log)")
    return fig


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
