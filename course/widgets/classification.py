"""Lesson 02 widgets: linear classifiers under three losses, and softmax by hand.

Two explorers, each a pure state function plus a drawing:

* :func:`boundary_state` trains a linear classifier on a fixed 2-D data set
  (with one mislabelled point whose position a slider sets) under
  cross-entropy, hinge or squared hinge, by gradient descent with the
  gradients of :mod:`course.losses`, and returns the boundaries and the
  loss curve;
* :func:`softmax_state` turns three logits into softmax probabilities, the
  cross-entropy of a chosen class and its gradient.

:func:`train_linear` is the small training loop both the widget and the
lesson use.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course import losses
from course.plots import LOSS_COLORS, OKABE_ITO, figure, finish

from ._base import Explorer

MARGIN_LOSSES = {
    "cross_entropy": "cross-entropy (logistic)",
    "hinge": "hinge",
    "squared_hinge": "squared hinge",
}
COLORS = {
    "cross_entropy": LOSS_COLORS["cross_entropy"],
    "hinge": LOSS_COLORS["hinge"],
    "squared_hinge": OKABE_ITO["purple"],
    "negative": OKABE_ITO["sky"],
    "positive": OKABE_ITO["yellow"],
}
LAM = 0.02  # strength of the L2 penalty on the weights (not on the bias)
STEPS = 400
LIMITS = (-6.0, 5.5), (-4.5, 5.5)


# ----------------------------------------------------------------- data
def two_blobs(seed: int = 0, n_per_class: int = 25, n_far: int = 12):
    """A 2-D data set with labels in {-1, +1}.

    Class -1 is one blob left of the origin; class +1 is a blob just right
    of it plus ``n_far`` easy points far down to the right. The easy points
    are classified correctly with a wide margin by any sensible boundary,
    which is what separates the hinge loss (it ignores them) from
    cross-entropy (it never quite does).
    """
    rng = np.random.default_rng(seed)
    negative = rng.normal([-1.5, 0.0], [0.7, 0.9], (n_per_class, 2))
    near = rng.normal([1.0, 0.5], [0.5, 0.7], (n_per_class - n_far, 2))
    far = rng.normal([3.5, -2.5], [0.4, 0.4], (n_far, 2))
    X = np.vstack([negative, near, far])
    y = np.r_[-np.ones(n_per_class), np.ones(n_per_class)]
    return X, y


def mislabelled_point(distance: float) -> np.ndarray:
    """The widget's extra point labelled +1: ``distance`` up and left of (0, 0.5).

    That direction leads into (and past) class -1's blob, and a point there
    tilts the boundary as well as shifting it.
    """
    return np.array([0.0, 0.5]) + float(distance) * np.array([-1.0, 1.0]) / np.sqrt(2.0)


# -------------------------------------------------------------- training
def margin_loss(scores, y, loss: str, grad: bool = False):
    """Mean loss (or, with ``grad=True``, its gradient w.r.t. the scores) for labels in {-1, +1}.

    "cross_entropy" is binary cross-entropy on the logit ``score`` (targets
    mapped to {0, 1}); "hinge" and "squared_hinge" are
    :func:`course.losses.hinge_loss` with margin 1.
    """
    if loss == "cross_entropy":
        fn = losses.binary_cross_entropy_with_logits_grad if grad else \
            losses.binary_cross_entropy_with_logits
        return fn(scores, (y + 1) / 2)
    if loss in ("hinge", "squared_hinge"):
        fn = losses.hinge_loss_grad if grad else losses.hinge_loss
        return fn(scores, y, squared=loss == "squared_hinge")
    raise ValueError(f"loss must be one of {sorted(MARGIN_LOSSES)}, got {loss!r}")


def train_linear(X, y, loss: str = "cross_entropy", steps: int = STEPS, lam: float = LAM,
                 momentum: float = 0.9) -> dict:
    """Fit ``score = X @ w + b`` by gradient descent on mean loss + ``lam`` * ½‖w‖².

    Nesterov's accelerated gradient descent: the gradient (from
    :mod:`course.losses`) is taken at a look-ahead point ``theta + momentum * v``.
    The step is 1/L, with L the smoothness constant of the objective: the
    largest eigenvalue of the design's second-moment matrix times the loss's
    largest curvature (¼ for cross-entropy, 2 for squared hinge). The hinge
    loss has a kink, where a fixed step keeps zig-zagging around the
    minimum; for it the step is halved every ``steps // 10`` steps so that
    the zig-zag shrinks.

    Returns a dict with ``w`` (2,), ``b``, ``history`` (objective at each
    step's iterate, before the step) and ``lr`` (the first step size).
    """
    if loss not in MARGIN_LOSSES:
        raise ValueError(f"loss must be one of {sorted(MARGIN_LOSSES)}, got {loss!r}")
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    design = np.column_stack([X, np.ones(len(X))])
    second_moment = np.linalg.eigvalsh(design.T @ design / len(X)).max()
    curvature = 2.0 if loss == "squared_hinge" else 0.25
    lr = 1.0 / (curvature * second_moment + lam)
    halve_every = max(steps // 10, 1) if loss == "hinge" else None
    theta, velocity = np.zeros(3), np.zeros(3)
    history = np.empty(steps)

    def objective(params):
        return float(margin_loss(design @ params, y, loss) + lam * losses.l2_penalty(params[:2]))

    def gradient(params):
        grad = design.T @ margin_loss(design @ params, y, loss, grad=True)
        grad[:2] += lam * losses.l2_penalty_grad(params[:2])
        return grad

    for step in range(steps):
        history[step] = objective(theta)
        step_size = lr * 0.5 ** (step // halve_every) if halve_every else lr
        grad = gradient(theta + momentum * velocity)
        velocity = momentum * velocity - step_size * grad
        theta = theta + velocity
    return {"w": theta[:2].copy(), "b": float(theta[2]), "history": history, "lr": lr}


def boundary_angle(w) -> float:
    """Direction of the normal vector ``w`` in degrees (0 = pointing right)."""
    return float(np.degrees(np.arctan2(w[1], w[0])))


def boundary_line(w, b, xs):
    """y-coordinates of the line ``w[0] x + w[1] y + b = 0`` at ``xs``."""
    return -(w[0] * np.asarray(xs) + b) / w[1]


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
