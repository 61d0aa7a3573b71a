"""Plotting helpers shared by the lessons: one palette, one look.

The palette is Okabe & Ito's (2008), readable with every common form of
colour blindness. Each loss keeps its colour across lessons, so "Huber is
green" holds everywhere.
"""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
}

PALETTE = [OKABE_ITO[k] for k in
           ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")]

LOSS_COLORS = {
    "mse": OKABE_ITO["blue"],
    "l1": OKABE_ITO["orange"],
    "mae": OKABE_ITO["orange"],
    "huber": OKABE_ITO["green"],
    "log_cosh": OKABE_ITO["purple"],
    "quantile": OKABE_ITO["vermillion"],
    "cross_entropy": OKABE_ITO["blue"],
    "hinge": OKABE_ITO["vermillion"],
    "accuracy": OKABE_ITO["black"],
    "data": "#555555",
}


def use_course_style() -> None:
    """Set matplotlib defaults for the lessons: palette, grid, readable sizes."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 10,
        "legend.frameon": False,
        "figure.dpi": 90,
        "figure.figsize": (8, 3.6),
        "figure.constrained_layout.use": True,
    })


def finish(ax, title: str, xlabel: str, ylabel: str, legend: bool = True) -> None:
    """Give an axis its title, axis labels and (when it has labelled artists) a legend."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend()


def figure(ncols: int = 1, nrows: int = 1, width: float = 8.0, height: float = 3.6, **kwargs):
    """A new figure and axes in the course style (closed by the caller or by the widget)."""
    use_course_style()
    return plt.subplots(nrows, ncols, figsize=(width, height), **kwargs)
