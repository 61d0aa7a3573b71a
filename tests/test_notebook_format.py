"""Every course notebook is stored exactly as JupyterLab saves it, so opening it marks nothing unsaved.

The browser test ``tests/browser/test_workspace.py`` checks the mark itself in Lab.
"""

import json

import pytest

from course import notebook_format
from course.notebook_format import course_notebooks, normal_form

NOTEBOOKS = course_notebooks()


def test_every_folder_has_notebooks():
    for folder in notebook_format.FOLDERS:
        assert any(p.parent.name == folder for p in NOTEBOOKS), folder


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[f"{p.parent.name}/{p.name}" for p in NOTEBOOKS])
def test_notebook_is_in_the_form_jupyterlab_saves(path):
    text = path.read_text(encoding="utf-8")
    assert text == normal_form(text), (
        f"{path} differs from what JupyterLab would save for it, so Lab marks it unsaved when "
        "it opens: run `python -m course.notebook_format` (and `make exercises`)")


def test_the_kernels_language_info_is_recorded():
    """Lab replaces a partial language_info with the kernel's: that is the unsaved mark."""
    for path in NOTEBOOKS:
        info = json.loads(path.read_text(encoding="utf-8"))["metadata"]["language_info"]
        assert info == notebook_format.language_info(info["version"]), path


def test_a_notebook_as_it_was_committed_before_is_not_in_normal_form():
    before = json.dumps({"cells": [{"cell_type": "markdown", "id": "a", "metadata": {},
                                    "source": ["# x"]}],
                         "metadata": {"language_info": {"name": "python"}},
                         "nbformat": 4, "nbformat_minor": 5}, indent=1)
    normal = normal_form(before)
    assert normal != before
    assert normal_form(normal) == normal
    assert json.loads(normal)["metadata"]["language_info"]["pygments_lexer"] == "ipython3"
