"""The book's hook in Explorer (course/widgets/_static.py): a static figure instead of a widget.

Only while COURSE_STATIC_FIGURES=1 (set by book/build.py as it executes the lessons); otherwise an
explorer is the same ipywidgets UI as before.
"""

import base64

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from course.widgets import Explorer
from course.widgets._static import ENV, static_bundle


def _explorer():
    def compute(a):
        return {"a": a, "line": [0, a]}

    def draw(state):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot(state["line"])
        return fig

    slider = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.1, description="a")
    return Explorer({"a": slider}, compute, draw, lambda s: f"a = <b>{s['a']:.2f}</b>", name="toy")


def test_without_the_variable_an_explorer_is_its_widget(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    explorer = _explorer()
    assert static_bundle(explorer) is None
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()


def test_in_a_book_build_an_explorer_is_its_default_figure_with_a_note(monkeypatch):
    monkeypatch.setenv(ENV, "1")
    explorer = _explorer()
    before = set(plt.get_fignums())
    assert explorer.render is False  # no live figure drawn into an Output widget as well
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    page = bundle["text/html"]
    assert 'class="lc-static' in page and bundle["image/png"] in page
    assert "a = <b>0.50</b>" in page  # the readout of the default state
    assert "launch this lesson" in page and "a = 0.5" in page
    assert set(plt.get_fignums()) == before  # the figure was closed


@pytest.mark.parametrize("value", ["0", "", "yes"])
def test_only_1_turns_it_on(monkeypatch, value):
    monkeypatch.setenv(ENV, value)
    assert static_bundle(_explorer()) is None
