"""Static explorers for the published book (``make book``).

A built site has no kernel, so an ipywidgets explorer would show nothing. When the
environment variable ``COURSE_STATIC_FIGURES`` is ``1`` (the book build sets it while it
executes the lessons), an :class:`~course.widgets._base.Explorer` displays this instead
of its widget: the readout and the figure of its default state, as one HTML output that
also carries the figure as a plain ``image/png``, and a note to launch the lesson to
move the sliders. Nothing changes in JupyterLab, Colab or Binder.
"""

from __future__ import annotations

import base64
import html
import io
import os

ENV = "COURSE_STATIC_FIGURES"
NOTE = "A static figure of this explorer's default state: launch this lesson (Colab, Binder or "
NOTE += "<code>make lab</code>) to move the sliders."


def static_figures() -> bool:
    """True while the book is being built (``COURSE_STATIC_FIGURES=1``)."""
    return os.environ.get(ENV, "") == "1"


def static_bundle(explorer) -> dict | None:
    """The explorer's default state as a mime bundle, or None outside a book build."""
    if not static_figures():
        return None
    import matplotlib.pyplot as plt

    if not explorer.state:
        explorer.state = explorer.compute(**explorer.values)
    fig = explorer.figure()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    names = ", ".join(f"{key} = {value!r}" for key, value in explorer.values.items())
    page = (
        f'<figure class="lc-static lc-explorer">'
        f'<div class="lc-readout">{explorer.format_readout(explorer.state)}</div>'
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(explorer.name)} at {html.escape(names)}">'
        f'<figcaption>{NOTE} Sliders here: {html.escape(names)}.</figcaption></figure>'
    )
    return {"text/html": page, "image/png": png,
            "text/plain": f"{explorer.name} explorer at its default state ({names})"}
