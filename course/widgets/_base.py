"""The one widget pattern every lesson uses.

An :class:`Explorer` wires a few ipywidgets controls to plain functions:

* ``compute(**values) -> state``: pure, testable without a browser; the state
  is a dict holding the data behind the figure and the numbers shown;
* ``draw(state) -> Figure``: draws that state with matplotlib (a new figure:
  what tests and a static export use);
* ``readout(state) -> str``: the numbers, as HTML.

A figure that follows the hand must be ready in a few tens of milliseconds,
far less than building and laying out a new matplotlib figure takes. So a
lesson's ``draw`` is usually a :class:`LiveFigure`: ``build(state)`` makes the
figure once, ``refresh(parts, state)`` moves only the artists that change.
The explorer draws everything else once into a fixed canvas (no layout is
recomputed after the first draw), keeps that background, and on each move
restores it, draws the changed artists on top and encodes the pixels as a
fast PNG sent to an ``Image`` widget (binary, no base64; it renders in any
JupyterLab, Notebook or Colab without extensions). Stable CSS classes
(``lc-explorer``, ``lc-control``, ``lc-readout``, ``lc-plot``, ``lc-errors``)
let the browser tests find each part.
"""

from __future__ import annotations

import io
from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

from ._static import static_bundle, static_figures

CONTROL_WIDTH = "500px"  # its track at least 250 px long, beside the label and the number (issue 13)
DESCRIPTION_WIDTH = "140px"
RERUN = "The explorer lives in the kernel that ran this cell: run the cell to bring it back."
PNG_COMPRESSION = 1  # zlib level: level 1 encodes ~2x faster than 6 for 10-20 % more bytes


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LiveFigure:
    """A figure drawn once, then updated in place as the state changes.

    Parameters
    ----------
    build : callable
        ``build(state) -> (fig, parts)``: a new figure with every artist, and
        a dict of the artists ``refresh`` moves.
    refresh : callable
        ``refresh(parts, state) -> list of artists``: set the changing
        artists to ``state``; returns them (always the same artists).
    rebuild_on : tuple of str
        Controls whose change redraws the whole figure (a dropdown that swaps
        the data set, say) instead of refreshing it.

    Called like a ``draw`` function, ``live(state)`` returns a complete new
    figure (for tests and static export).
    """

    def __init__(self, build: Callable, refresh: Callable, rebuild_on: tuple[str, ...] = ()):
        self.build = build
        self.refresh = refresh
        self.rebuild_on = tuple(rebuild_on)
        self.__doc__ = build.__doc__

    def __call__(self, state: dict):
        fig, parts = self.build(state)
        self.refresh(parts, state)
        return fig


def _detach(fig):
    """Take ``fig`` away from pyplot (the inline backend must not show it at the end of the
    cell) onto a canvas of its own that keeps its pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plt.close(fig)
    FigureCanvasAgg(fig)
    return fig


def encode_png(fig) -> bytes:
    """The figure's canvas, as drawn, in a quickly compressed PNG."""
    from PIL import Image

    rgba = np.asarray(fig.canvas.buffer_rgba())
    buffer = io.BytesIO()
    Image.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


class _Painter:
    """Keeps one figure of a :class:`LiveFigure` and paints states into it by blitting."""

    def __init__(self, live: LiveFigure):
        self.live = live
        self.fig = None

    def paint(self, state: dict, rebuild: bool) -> bytes:
        if self.fig is None or rebuild:
            self._build(state)
        else:
            moving = self.live.refresh(self.parts, state)
            if [id(a) for a in moving] != self.ids:  # other artists: draw them all again
                self._build(state)
            else:
                self.fig.canvas.restore_region(self.background)
        for artist in self.moving:
            self.fig.draw_artist(artist)
        return encode_png(self.fig)

    def _build(self, state: dict) -> None:
        if self.fig is not None:
            plt.close(self.fig)
        fig, self.parts = self.live.build(state)
        _detach(fig)
        self.moving = list(self.live.refresh(self.parts, state))
        self.ids = [id(a) for a in self.moving]
        for artist in self.moving:
            artist.set_animated(True)
        fig.canvas.draw()  # lays out once and draws everything that does not move
        fig.set_layout_engine("none")  # from now on a fixed canvas
        self.background = fig.canvas.copy_from_bbox(fig.bbox)
        self.fig = fig


class _Redrawer:
    """For a plain ``draw`` function: a new figure per state."""

    def __init__(self, draw: Callable):
        self.draw = draw

    def paint(self, state: dict, rebuild: bool) -> bytes:
        fig = _detach(self.draw(state))
        fig.canvas.draw()
        return encode_png(fig)


class Explorer:
    """Controls + readout + figure, recomputed whenever a control moves.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control
        Their ``value`` s are passed to ``compute`` as keyword arguments.
    compute : callable
        ``compute(**values) -> dict``, the state.
    draw : callable or LiveFigure
        ``draw(state) -> matplotlib Figure``; a :class:`LiveFigure` is
        updated in place on each move, which is much faster.
    readout : callable
        ``readout(state) -> str`` (HTML allowed), shown above the figure.
    name : str
        A CSS class for this explorer (``lc-<name>``), used by browser tests.
    render : bool or None
        Paint the figure on each move; by default only inside a Jupyter kernel
        (tests read ``state`` and call ``figure()`` or ``png()`` themselves).
    """

    def __init__(
        self,
        controls: dict[str, widgets.ValueWidget],
        compute: Callable[..., dict],
        draw: Callable[[dict], "plt.Figure"],
        readout: Callable[[dict], str],
        name: str,
        render: bool | None = None,
    ):
        self.controls = controls
        self.compute = compute
        self.draw = draw
        self.format_readout = readout
        self.name = name
        # Book build (issue 17): no live figure in an Output widget, the static one in _repr_mimebundle_.
        self.render = (_in_kernel() and not static_figures()) if render is None else render
        self.readout = widgets.HTML()
        self.readout.add_class("lc-readout")
        self.plot = widgets.Image(format="png")
        self.plot.add_class("lc-plot")
        self.errors = widgets.Output()  # a traceback from compute, readout or draw shows here
        self.errors.add_class("lc-errors")
        self._painter = _Painter(draw) if isinstance(draw, LiveFigure) else _Redrawer(draw)
        self._rebuild_on = set(getattr(draw, "rebuild_on", ()))
        self._keys = {id(control): key for key, control in controls.items()}
        for key, control in controls.items():
            control.add_class("lc-control")
            control.add_class(f"lc-{key.replace('_', '-')}")
            control.style.description_width = DESCRIPTION_WIDTH
            if not control.layout.width:
                control.layout.width = CONTROL_WIDTH
            control.observe(self._on_change, names="value")
        row = widgets.HBox(list(controls.values()),
                           layout=widgets.Layout(flex_flow="row wrap", width="100%"))
        self.ui = widgets.VBox([row, self.readout, self.plot, self.errors])
        self.ui.add_class("lc-explorer")
        self.ui.add_class(f"lc-{name}")
        self.state: dict = {}
        self.update()

    @property
    def values(self) -> dict:
        return {key: control.value for key, control in self.controls.items()}

    def _on_change(self, change) -> None:
        self.update(rebuild=self._keys.get(id(change["owner"])) in self._rebuild_on)

    def update(self, rebuild: bool = False) -> None:
        """Recompute the state and the readout and (when rendering) paint the figure."""
        if not self.render:
            self.state = self.compute(**self.values)
            self.readout.value = self.format_readout(self.state)
            return
        # Inside the Output widget, so an error in compute, readout or draw shows
        # its traceback to the learner under the figure, not only in Lab's log.
        with self.errors:
            if self.errors.outputs:
                self.errors.clear_output()
            self.state = self.compute(**self.values)
            self.readout.value = self.format_readout(self.state)
            self.plot.value = self._painter.paint(self.state, rebuild)

    def png(self) -> bytes:
        """The PNG the browser gets for the current state (what moving a control sends)."""
        if self.render:
            return self.plot.value
        return self._painter.paint(self.state, rebuild=False)

    def figure(self):
        """Draw the current state into a new figure (for tests and static export)."""
        return self.draw(self.state)

    def _repr_mimebundle_(self, **kwargs):
        static = static_bundle(self)  # only while the book is built (issue 17, course/widgets/_static.py)
        if static is not None:
            return static
        bundle = self.ui._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict) and "text/plain" in bundle:
            # what a viewer without the kernel's widgets shows (GitHub, nbviewer, a saved copy)
            bundle["text/plain"] = RERUN
        return bundle
