"""A test of the lesson test: deliberately broken notebooks must produce problems.

The notebooks live in a temporary Lab root next to a small widget module
built on ``course.widgets._base.Explorer``. One works (two explorers, the
second with a dropdown, and two cells folded away like the lessons' claims
cells: the check must report nothing); the others break a cell, a folded
cell, a widget callback, or a widget's figure, squeeze a slider below 250 px,
or are stored in a form Lab marks unsaved on opening, and the check must name
the breakage.
"""

import json
import textwrap

import pytest
from labdriver import ARTIFACTS
from lessoncheck import check_notebook, format_problems

from course import notebook_format

DEMO_WIDGETS = '''
"""Explorers that break on request (for the test of the browser test)."""
import ipywidgets as widgets
import matplotlib.pyplot as plt

from course.widgets._base import Explorer

BREAK = {"compute": False, "draw": False}


def state(level=1.0, shape="line"):
    if BREAK["compute"] and level != 1.0:
        raise RuntimeError("broken callback")
    return {"level": level, "shape": shape}


def draw(state):
    if BREAK["draw"] and state["level"] != 1.0:
        raise RuntimeError("broken figure")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, state["level"]], label=state["shape"])
    ax.set_title(f"level {state['level']:.1f}")
    ax.legend()
    return fig


def readout(state):
    return f"level = <b>{state['level']:.1f}</b>"


def demo_explorer(name, slider_width=None):
    layout = widgets.Layout(width=slider_width) if slider_width else None
    controls = {
        "level": widgets.FloatSlider(value=1.0, min=0.0, max=2.0, step=0.1, description="level",
                                     **({"layout": layout} if layout else {})),
        "shape": widgets.Dropdown(options=["line", "curve"], description="shape"),
    }
    return Explorer(controls, state, draw, readout, name=name)
'''

SETUP = "%matplotlib inline\nfrom demo_widgets import BREAK, demo_explorer"


def folded(source: str) -> dict:
    """A code cell whose source is folded away in Lab, as the lessons' claims cells are."""
    return {"source": source, "metadata": {"jupyter": {"source_hidden": True},
                                           "tags": ["claims"]}}


NOTEBOOKS = {
    # name: (code cells, substrings the problems must contain; none for the control)
    "works": ([SETUP, "demo_explorer('first')", folded("print('a folded cell ran')"),
               "demo_explorer('second')", folded("print('so did the last one')")], []),
    # a folded cell shows no prompt: whether it ran is read from the saved notebook
    "folded_cell_raises": (
        [SETUP, folded("raise AssertionError('the lesson claims too much')"),
         folded("print('never printed')"), "demo_explorer('never-shown')"],
        ["error output: AssertionError: the lesson claims too much",
         "cell 3 was not executed", "cell 4 was not executed",
         "0 live explorer widgets rendered, the notebook creates 1"]),
    "error_cell": (
        [SETUP, "import warnings\nwarnings.warn('a careless warning')", "1 / 0",
         "demo_explorer('never-shown')"],
        ["stderr output: ", "UserWarning: a careless warning",
         "error output: ZeroDivisionError: division by zero", "cell 4 was not executed",
         "0 live explorer widgets rendered, the notebook creates 1"]),
    "callback_raises": (
        [SETUP + "\nBREAK['compute'] = True", "demo_explorer('fragile')"],
        # Explorer.update runs inside its errors Output widget, so the traceback shows
        # under the figure (which keeps its last image) instead of only in Lab's log.
        ["explorer fragile: the readout did not change",
         "explorer fragile: moving the slider to 1.3 printed an error or warning: "
         "RuntimeError: broken callback",
         "explorer fragile: the figure did not change"]),
    "figure_raises": (
        [SETUP + "\nBREAK['draw'] = True", "demo_explorer('fragile')"],
        ["explorer fragile: moving the slider to 1.3 printed an error or warning: "
         "RuntimeError: broken figure",
         "explorer fragile: the figure did not change"]),
    "narrow_slider": (
        [SETUP, "demo_explorer('cramped', slider_width='220px')"],
        ["explorer cramped: the slider 'level' is", "too short to drag"]),
    # stored as an editor would write it, not as Lab saves it: opening marks it unsaved
    "unsaved_on_open": ([SETUP, "demo_explorer('plain')"], ["it opens marked as unsaved"]),
}


def _notebook(cells: list[str | dict]) -> dict:
    cells = [cell if isinstance(cell, dict) else {"source": cell} for cell in cells]
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}",
                   "metadata": cell.get("metadata", {}), "outputs": [],
                   "source": cell["source"]}
                  for i, cell in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                    "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5,
    }


@pytest.fixture(scope="module")
def lab_root(lab_tmp):
    """Overrides conftest's copy of the course: the broken notebooks instead."""
    root = lab_tmp / "broken"
    root.mkdir()
    (root / "demo_widgets.py").write_text(textwrap.dedent(DEMO_WIDGETS))
    for name, (cells, _) in NOTEBOOKS.items():
        notebook = _notebook(cells)
        if name == "unsaved_on_open":
            text = json.dumps(notebook, indent=1)
        else:  # as JupyterLab saves it
            text = notebook_format.dumps(notebook_format.normalize(notebook))
        (root / f"{name}.ipynb").write_text(text)
    return root


@pytest.mark.browser
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_lesson_check_reports_breakage(lab_server, lab_page, name):
    expected = NOTEBOOKS[name][1]
    problems = check_notebook(lab_page, lab_server, lab_server.root / f"{name}.ipynb",
                              ARTIFACTS / "detects-breakage")
    report = "\n".join(problems)
    if not expected:
        assert problems == [], "a working notebook was reported broken:\n" + report
    missing = [text for text in expected if text not in report]
    assert not missing, (f"the check missed {missing} in {name}.ipynb; it reported:\n"
                         + format_problems(problems))
