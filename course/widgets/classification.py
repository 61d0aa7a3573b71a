"""Lesson 02 widgets: linear classifiers under three losses, and softmax by hand.

Two explorers, each a pure state function plus a drawing:

* :func:`boundary_state` trains a linear classifier on a fixed 2-D data set
  (with one mislabelled point whose position a slider sets) under
  cross-entropy, hinge or squared hinge, by gradient descent with the
  gradients of :mod:`course.losses`, and returns the boundaries and the
  loss curve;
* :func:`softmax_state` turns three logits into softmax probabilities, the
  cross-entropy of a chosen class and its gradient.

:func:`course.lessons.classification.train_linear` is the training loop.
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import numpy as np

from course import losses
from course.lessons.classification import (
    MARGIN_LOSSES,
    boundary_angle,
    boundary_line,
    margin_loss,
    mislabelled_point,
    train_linear,
    two_blobs,
)
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

COLORS = {
    "cross_entropy": LOSS_COLORS["cross_entropy"],
    "hinge": LOSS_COLORS["hinge"],
    "squared_hinge": OKABE_ITO["purple"],
    "negative": OKABE_ITO["sky"],
    "positive": OKABE_ITO["yellow"],
}
LIMITS = (-6.0, 5.5), (-4.5, 5.5)


# ---------------------------------------------------------- widget (a)
@lru_cache(maxsize=None)
def _fits(mislabelled: float) -> tuple[np.ndarray, np.ndarray, dict]:
    """The data with the mislabelled point at ``mislabelled``, and all three losses' fits.

    Training is the slow part (three gradient-descent runs); the explorer
    trains every slider position once when it is built (see
    :func:`boundary_explorer`), so a move only looks the fits up. Shared
    between states: not to be modified.
    """
    X_clean, y_clean = two_blobs()
    X = np.vstack([X_clean, mislabelled_point(mislabelled)])
    y = np.r_[y_clean, 1.0]
    return X, y, {name: train_linear(X, y, name) for name in MARGIN_LOSSES}


def boundary_state(mislabelled: float = 2.0, loss: str = "cross_entropy") -> dict:
    """Everything the decision-boundary figure shows for one setting of the controls.

    All three losses are trained (the figure compares their boundaries); the
    readout and the loss curve belong to ``loss``.
    """
    X, y, fits = _fits(round(float(mislabelled), 6))
    fit = fits[loss]
    scores = X @ fit["w"] + fit["b"]
    clean_scores = scores[:-1]
    per_point = margin_loss(scores[-1:], y[-1:], loss)
    return {
        "mislabelled": float(mislabelled),
        "loss": loss,
        "X": X,
        "y": y,
        "fits": fits,
        "w": fit["w"],
        "b": fit["b"],
        "history": fit["history"],
        "objective": float(fit["history"][-1]),
        "accuracy": float(np.mean(np.sign(clean_scores) == y[:-1])),
        "angle": boundary_angle(fit["w"]),
        "point_loss": float(per_point),
    }


def _build_boundary(state: dict):
    """Left: data, the three boundaries and the chosen loss's margins. Right: its loss curve."""
    fig, (ax, ax_curve) = figure(2, width=10.5, height=5.4, gridspec_kw={"width_ratios": [1.4, 1]})
    X, y = state["X"], state["y"]
    clean = slice(0, len(X) - 1)
    for label, sign, marker in (("class −1", -1, "o"), ("class +1", 1, "^")):
        mask = y[clean] == sign
        color = COLORS["negative" if sign < 0 else "positive"]
        ax.scatter(*X[clean][mask].T, s=28, marker=marker, color=color, edgecolor="black",
                   linewidth=0.4, label=label, zorder=3)
    parts = {"point": ax.plot([], [], "*", ms=15, color=COLORS["positive"], mec="black", mew=1.0,
                              label="mislabelled +1", zorder=4)[0]}
    for name in state["fits"]:
        chosen = name == state["loss"]
        parts[name] = ax.plot([], [], color=COLORS[name], lw=2.6 if chosen else 1.2,
                              alpha=1.0 if chosen else 0.7, ls="-" if chosen else "--",
                              label=f"{MARGIN_LOSSES[name]} boundary")[0]
    parts["margins"] = [ax.plot([], [], color=COLORS[state["loss"]], lw=0.8, ls=":")[0]
                        for _ in range(2)]
    ax.set_xlim(*LIMITS[0])
    ax.set_ylim(*LIMITS[1])
    finish(ax, f"Boundaries; dotted: score ±1 ({MARGIN_LOSSES[state['loss']]})",
           "feature 1", "feature 2", legend=False)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)

    steps = np.arange(1, len(state["history"]) + 1)
    parts["curve"] = ax_curve.plot(steps, state["history"], color=COLORS[state["loss"]], lw=2,
                                   label=MARGIN_LOSSES[state["loss"]])[0]
    ax_curve.set_xscale("log")
    everything = [f["history"] for m in np.arange(0.0, 6.01, 0.5) for f in _fits(m)[2].values()]
    high = max(h.max() for h in everything)
    ax_curve.set_ylim(0, 1.05 * high)
    finish(ax_curve, "Training objective", "gradient-descent step (log scale)",
           "mean loss + penalty")
    return fig, parts


def _refresh_boundary(parts: dict, state: dict) -> list:
    xs = np.array(LIMITS[0])
    parts["point"].set_data([state["X"][-1, 0]], [state["X"][-1, 1]])
    for name, fit in state["fits"].items():
        parts[name].set_data(xs, boundary_line(fit["w"], fit["b"], xs))
    for level, line in zip((-1.0, 1.0), parts["margins"]):  # the score is ±1: the hinge's margin
        line.set_data(xs, boundary_line(state["w"], state["b"] - level, xs))
    parts["curve"].set_ydata(state["history"])
    return [parts["point"], *(parts[name] for name in state["fits"]), *parts["margins"],
            parts["curve"]]


draw_boundary = LiveFigure(_build_boundary, _refresh_boundary, rebuild_on=("loss",))


def boundary_readout(state: dict) -> str:
    return (
        f"<b>{MARGIN_LOSSES[state['loss']]}</b>, mislabelled point at distance "
        f"{state['mislabelled']:.1f}: objective <b>{state['objective']:.4f}</b>, "
        f"accuracy on the 50 clean points <b>{state['accuracy']:.0%}</b>, "
        f"normal direction {state['angle']:.1f}°, "
        f"the mislabelled point's loss {state['point_loss']:.3f}"
    )


def boundary_explorer(render: bool | None = None) -> Explorer:
    """A slider moves the mislabelled point; a dropdown picks the loss."""
    controls = {
        "mislabelled": widgets.FloatSlider(value=2.0, min=0.0, max=6.0, step=0.5,
                                           description="mislabelled point"),
        "loss": widgets.Dropdown(options=[(label, key) for key, label in MARGIN_LOSSES.items()],
                                 value="cross_entropy", description="loss"),
    }
    for position in np.arange(0.0, 6.01, 0.5):  # train every slider position now, once
        _fits(round(float(position), 6))
    return Explorer(controls, boundary_state, draw_boundary, boundary_readout,
                    name="decision-boundary", render=render)


# ---------------------------------------------------------- widget (b)
def softmax_state(z0: float = 2.0, z1: float = 1.0, z2: float = -1.0, target: int = 0) -> dict:
    """Softmax probabilities of three logits, the cross-entropy of ``target`` and its gradient."""
    logits = np.array([[z0, z1, z2]], dtype=np.float64)
    labels = np.array([target])
    return {
        "logits": logits[0],
        "target": int(target),
        "probs": losses.softmax(logits)[0],
        "loss": float(losses.cross_entropy(logits, labels)),
        "grad": losses.cross_entropy_grad(logits, labels)[0],
    }


CLASS_COLORS = [OKABE_ITO[k] for k in ("blue", "orange", "green")]


def _build_softmax(state: dict):
    """Left: probabilities per class (the target outlined). Right: the gradient per class."""
    fig, (ax_p, ax_g) = figure(2, width=10, height=3.8)
    classes = np.arange(3)
    names = [f"class {c}" for c in classes]
    target = state["target"]
    edges = ["black" if c == target else "none" for c in classes]
    parts = {"p_bars": list(ax_p.bar(classes, state["probs"], color=CLASS_COLORS, edgecolor=edges,
                                     linewidth=2.5, label="softmax probability"))}
    parts["notes"] = [ax_p.text(c, 0, "", ha="center", va="bottom") for c in classes]
    ax_p.set_xticks(classes, names)
    ax_p.set_ylim(0, 1.3)
    finish(ax_p, f"Probabilities (target: class {target}, outlined)", "class", "probability")
    parts["g_bars"] = list(ax_g.bar(classes, state["grad"], color=CLASS_COLORS, edgecolor=edges,
                                    linewidth=2.5, label="∂ loss / ∂ logit = p − one-hot"))
    ax_g.axhline(0, color="black", lw=0.8)
    ax_g.set_xticks(classes, names)
    ax_g.set_ylim(-1.05, 1.05)
    finish(ax_g, "", "class", "gradient")
    parts["title"] = ax_g.title
    return fig, parts


def _refresh_softmax(parts: dict, state: dict) -> list:
    for c, (p, z, g) in enumerate(zip(state["probs"], state["logits"], state["grad"])):
        parts["p_bars"][c].set_height(p)
        parts["notes"][c].set_position((c, p))
        parts["notes"][c].set_text(f"p = {p:.2f}\nz = {_signed(z, '.1f')}")
        parts["g_bars"][c].set_height(g)
    parts["title"].set_text(f"Gradient p − one-hot of the loss {state['loss']:.3f}")
    return [*parts["p_bars"], *parts["notes"], *parts["g_bars"], parts["title"]]


def _signed(value: float, spec: str) -> str:
    """A number with its sign: −1.0, +0.5 (a true minus sign, never `+-`)."""
    return format(value, "+" + spec).replace("-", "−")


draw_softmax = LiveFigure(_build_softmax, _refresh_softmax, rebuild_on=("target",))


def softmax_readout(state: dict) -> str:
    probs = ", ".join(f"{p:.3f}" for p in state["probs"])
    grads = ", ".join(f"{g:+.3f}" for g in state["grad"])
    return (
        f"probabilities <b>[{probs}]</b> (sum 1); target class {state['target']}: "
        f"loss −log p = <b>{state['loss']:.3f}</b>; gradient p − one-hot = [{grads}]"
    )


def softmax_explorer(render: bool | None = None) -> Explorer:
    """Three logit sliders and the target class."""
    def slider(value, label):
        return widgets.FloatSlider(value=value, min=-6.0, max=6.0, step=0.1, description=label)

    controls = {
        "z0": slider(2.0, "logit z₀"),
        "z1": slider(1.0, "logit z₁"),
        "z2": slider(-1.0, "logit z₂"),
        "target": widgets.Dropdown(options=[("class 0", 0), ("class 1", 1), ("class 2", 2)],
                                   value=0, description="target"),
    }
    return Explorer(controls, softmax_state, draw_softmax, softmax_readout,
                    name="softmax-logits", render=render)
