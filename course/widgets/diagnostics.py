"""Lesson 11 widget: one learning-rate slider, the loss curves it produces, and their diagnosis.

The fixed problem: 300 of sklearn's digits with 20 % of their labels
flipped, a one-hidden-layer ReLU network (64 units), full-batch gradient
descent with momentum 0.9 for 150 epochs, and 500 clean validation digits.
:func:`lr_state` trains it at ``lr = 10 ** log10_lr`` (about 0.1 s, cached)
and names the regime with :func:`course.lessons.diagnostics.diagnose`;
:func:`lr_explorer` wires the slider to it.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from course.lessons.diagnostics import diagnose, lr_history
from course.plots import OKABE_ITO, figure, finish

from ._base import Explorer, LiveFigure

TRAIN_COLOR, VAL_COLOR = OKABE_ITO["blue"], OKABE_ITO["vermillion"]

REGIME_TEXT = {
    "diverging": "diverging: the training loss ends above where it started",
    "unstable": "unstable: the training loss jumped above its start at epoch {epoch}",
    "too slow": "too slow: the training loss fell by less than half in {epoch} epochs",
    "overfitting": "overfitting after epoch {epoch}: validation loss rises while training loss falls",
    "good fit": "good fit: validation loss lowest at epoch {epoch}, not rising",
}


def lr_state(log10_lr: float = -1.0) -> dict:
    """Loss curves and diagnosis for one learning rate ``10 ** log10_lr``."""
    log10_lr = round(float(log10_lr), 6)
    history = lr_history(log10_lr)
    train, val = history["train_loss"], history["val_loss"]
    regime, epoch = diagnose(train, val)
    finite = np.isfinite(val)
    best = int(np.argmin(np.where(finite, val, np.inf)))
    return {
        "log10_lr": log10_lr,
        "lr": 10.0**log10_lr,
        "epochs": np.arange(train.size),
        "train_loss": train,
        "val_loss": val,
        "regime": regime,
        "epoch": epoch,
        "best_epoch": best,
        "best_val": float(val[best]),
        "final_train": float(train[-1]),
        "final_val": float(val[-1]),
    }


def _shown(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values) & (values < 1e3), values, np.nan)


def _build_lr(state: dict):
    """Training and validation loss per epoch (log scale), the best validation epoch marked."""
    fig, ax = figure(width=10, height=4.0)
    parts = {
        "train": ax.plot(state["epochs"], _shown(state["train_loss"]), lw=2, color=TRAIN_COLOR,
                         label="training loss (noisy labels)")[0],
        "val": ax.plot(state["epochs"], _shown(state["val_loss"]), lw=2, color=VAL_COLOR,
                       label="validation loss (clean labels)")[0],
        "best": ax.axvline(state["best_epoch"], color="black", ls=":", lw=1,
                           label="lowest validation loss"),
    }
    ax.axhline(np.log(10), color="#999999", ls="--", lw=1, label="guessing: log 10")
    ax.set_yscale("log")
    ax.set_xlim(state["epochs"][0], state["epochs"][-1])
    ax.set_ylim(0.005, 100)
    finish(ax, "", "epoch", "mean cross-entropy (log scale)", legend=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0))
    parts["title"] = ax.title
    return fig, parts


def _refresh_lr(parts: dict, state: dict) -> list:
    parts["train"].set_ydata(_shown(state["train_loss"]))
    parts["val"].set_ydata(_shown(state["val_loss"]))
    parts["best"].set_xdata([state["best_epoch"]] * 2)
    parts["title"].set_text(f"Learning rate {state['lr']:.3g}: {state['regime']} "
                            f"(lowest validation loss at epoch {state['best_epoch']})")
    return [parts["train"], parts["val"], parts["best"], parts["title"]]


draw_lr = LiveFigure(_build_lr, _refresh_lr)


def _number(x: float) -> str:
    return f"{x:.3f}" if np.isfinite(x) else "∞ (overflow)"


def lr_readout(state: dict) -> str:
    text = REGIME_TEXT[state["regime"]].format(epoch=state["epoch"])
    return (
        f"<b>lr = {state['lr']:.3g}</b> (log10 = {state['log10_lr']:.2f}) → <b>{text}</b>; "
        f"final training loss <b>{_number(state['final_train'])}</b>, "
        f"final validation loss <b>{_number(state['final_val'])}</b> "
        f"(lowest {state['best_val']:.3f} at epoch {state['best_epoch']})"
    )


def lr_explorer(render: bool | None = None) -> Explorer:
    """One slider: the learning rate, on a log10 scale."""
    controls = {
        "log10_lr": widgets.FloatSlider(value=-1.0, min=-3.0, max=1.5, step=0.25,
                                        description="log10 learning rate"),
    }
    return Explorer(controls, lr_state, draw_lr, lr_readout, name="lr-diagnostics", render=render)
