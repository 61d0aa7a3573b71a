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

from ._base import Explorer

COLORS = {
    "cross_entropy": LOSS_COLORS["cross_entropy"],
    "hinge": LOSS_COLORS["hinge"],
    "squared_hinge": OKABE_ITO["purple"],
    "negative": OKABE_ITO["sky"],
    "positive": OKABE_ITO["yellow"],
}
LIMITS = (-6.0, 5.5), (-4.5, 5.5)


# ---------------------------------------------------------- widget (a)
def boundary_state(mislabelled: float = 2.0, loss: str = "cross_entropy") -> dict:
    """Everything the decision-boundary figure shows for one setting of the controls.

    All three losses are trained (the figure compares their boundaries); the
    readout and the loss curve belong to ``loss``.
    """
    X_clean, y_clean = two_blobs()
    extra = mislabelled_point(mislabelled)
    X = np.vstack([X_clean, extra])
    y = np.r_[y_clean, 1.0]
    fits = {name: train_linear(X, y, name) for name in MARGIN_LOSSES}
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
        "accuracy": float(np.mean(np.sign(clean_scores) == y_clean)),
        "angle": boundary_angle(fit["w"]),
        "point_loss": float(per_point),
    }


def draw_boundary(state: dict):
    """Left: data, the three boundaries and the chosen loss's margins. Right: its loss curve."""
    fig, (ax, ax_curve) = figure(2, width=10, height=4.0, gridspec_kw={"width_ratios": [1.5, 1]})
    X, y = state["X"], state["y"]
    clean = slice(0, len(X) - 1)
    for label, sign, marker in (("class −1", -1, "o"), ("class +1", 1, "^")):
        mask = y[clean] == sign
        color = COLORS["negative" if sign < 0 else "positive"]
        ax.scatter(*X[clean][mask].T, s=28, marker=marker, color=color, edgecolor="black",
                   linewidth=0.4, label=label, zorder=3)
    ax.scatter(*X[-1], s=220, marker="*", color=COLORS["positive"], edgecolor="black",
               linewidth=1.0, label="mislabelled +1", zorder=4)
    xs = np.array(LIMITS[0])
    for name, fit in state["fits"].items():
        chosen = name == state["loss"]
        ax.plot(xs, boundary_line(fit["w"], fit["b"], xs), color=COLORS[name],
                lw=2.6 if chosen else 1.2, alpha=1.0 if chosen else 0.7,
                ls="-" if chosen else "--", label=f"{MARGIN_LOSSES[name]} boundary")
    w, b = state["w"], state["b"]
    for level in (-1.0, 1.0):  # where the score equals ±1: the hinge's margin
        ax.plot(xs, boundary_line(w, b - level, xs), color=COLORS[state["loss"]], lw=0.8, ls=":")
    ax.set_xlim(*LIMITS[0])
    ax.set_ylim(*LIMITS[1])
    finish(ax, f"Linear boundaries; dotted: score = ±1 for {MARGIN_LOSSES[state['loss']]}",
           "feature 1", "feature 2")
    ax.legend(loc="lower left", fontsize=8)

    history = state["history"]
    ax_curve.plot(np.arange(1, len(history) + 1), history, color=COLORS[state["loss"]], lw=2,
                  label=MARGIN_LOSSES[state["loss"]])
    ax_curve.set_xscale("log")
    finish(ax_curve, "Training objective", "gradient-descent step (log scale)",
           "mean loss + penalty")
    return fig


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
                                           description="mislabelled point: distance",
                                           layout=widgets.Layout(width="420px")),
        "loss": widgets.Dropdown(options=[(label, key) for key, label in MARGIN_LOSSES.items()],
                                 value="cross_entropy", description="loss",
                                 layout=widgets.Layout(width="300px")),
    }
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


def draw_softmax(state: dict):
    """Left: probabilities per class (the target outlined). Right: the gradient per class."""
    fig, (ax_p, ax_g) = figure(2, width=9, height=3.4)
    classes = np.arange(3)
    names = [f"class {c}" for c in classes]
    colors = [OKABE_ITO[k] for k in ("blue", "orange", "green")]
    target = state["target"]
    edges = ["black" if c == target else "none" for c in classes]
    ax_p.bar(classes, state["probs"], color=colors, edgecolor=edges, linewidth=2.5,
             label="softmax probability")
    for c, (p, z) in enumerate(zip(state["probs"], state["logits"])):
        ax_p.annotate(f"p={p:.2f}\nz={z:+.1f}", (c, p), ha="center", va="bottom", fontsize=8)
    ax_p.set_xticks(classes, names)
    ax_p.set_ylim(0, 1.25)
    finish(ax_p, f"Probabilities (target: class {target}, outlined)", "class", "probability")

    ax_g.bar(classes, state["grad"], color=colors, edgecolor=edges, linewidth=2.5,
             label="∂ loss / ∂ logit = p − one-hot")
    ax_g.axhline(0, color="black", lw=0.8)
    ax_g.set_xticks(classes, names)
    ax_g.set_ylim(-1.05, 1.05)
    finish(ax_g, f"Gradient of the loss {state['loss']:.3f}", "class", "gradient")
    return fig


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
        return widgets.FloatSlider(value=value, min=-6.0, max=6.0, step=0.1, description=label,
                                   layout=widgets.Layout(width="250px"))

    controls = {
        "z0": slider(2.0, "logit z₀"),
        "z1": slider(1.0, "logit z₁"),
        "z2": slider(-1.0, "logit z₂"),
        "target": widgets.Dropdown(options=[("class 0", 0), ("class 1", 1), ("class 2", 2)],
                                   value=0, description="target",
                                   layout=widgets.Layout(width="170px")),
    }
    return Explorer(controls, softmax_state, draw_softmax, softmax_readout,
                    name="softmax-logits", render=render)
