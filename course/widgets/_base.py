"""The one widget pattern every lesson uses.

An :class:`Explorer` wires a few ipywidgets controls to two plain functions:

* ``compute(**values) -> state``: pure, testable without a browser; the state
  is a dict holding the data behind the figure and the numbers shown;
* ``draw(state) -> Figure``: draws that state with matplotlib.

and a ``readout(state) -> str`` for the numbers. Moving a control recomputes
the state, updates the readout and redraws the figure in an ``Output``
widget (inline PNG, so it renders in any JupyterLab without extensions).
Stable CSS classes (``lc-explorer``, ``lc-control``, ``lc-readout``,
``lc-plot``) let the browser tests find each part.
"""

from __future__ import annotations

from typing import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ._static import static_bundle, static_figures


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class Explorer:
    """Controls + readout + figure, recomputed whenever a control moves.

    Parameters
    ----------
    controls : dict of name -> ipywidgets control
        Their ``value`` s are passed to ``compute`` as keyword arguments.
    compute : callable
        ``compute(**values) -> dict``, the state.
    draw : callable
        ``draw(state) -> matplotlib Figure``.
    readout : callable
        ``readout(state) -> str`` (HTML allowed), shown above the figure.
    name : str
        A CSS class for this explorer (``lc-<name>``), used by browser tests.
    render : bool or None
        Draw figures; by default only inside a Jupyter kernel (tests read
        ``state`` and call ``figure()`` themselves).
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
        self.plot = widgets.Output()
        self.plot.add_class("lc-plot")
        for key, control in controls.items():
            control.add_class("lc-control")
            control.add_class(f"lc-{key.replace('_', '-')}")
            control.style.description_width = "initial"
            control.observe(self._on_change, names="value")
        self.ui = widgets.VBox([widgets.HBox(list(controls.values())), self.readout, self.plot])
        self.ui.add_class("lc-explorer")
        self.ui.add_class(f"lc-{name}")
        self.state: dict = {}
        self.update()

    @property
    def values(self) -> dict:
        return {key: control.value for key, control in self.controls.items()}

    def _on_change(self, _change) -> None:
        self.update()

    def update(self) -> None:
        """Recompute the state, the readout and (in a kernel) the figure."""
        if not self.render:
            self.state = self.compute(**self.values)
            self.readout.value = self.format_readout(self.state)
            return
        from IPython.display import display

        # Inside the Output widget, so an error in compute, readout or draw shows
        # its traceback to the learner under the sliders, not only in Lab's log.
        with self.plot:
            self.plot.clear_output(wait=True)
            self.state = self.compute(**self.values)
            self.readout.value = self.format_readout(self.state)
            fig = self.draw(self.state)
            display(fig)
            plt.close(fig)

    def figure(self):
        """Draw the current state into a new figure (for tests and static export)."""
        return self.draw(self.state)

    def _repr_mimebundle_(self, **kwargs):
        static = static_bundle(self)  # only while the book is built (issue 17, course/widgets/_static.py)
        if static is not None:
            return static
        return self.ui._repr_mimebundle_(**kwargs)
