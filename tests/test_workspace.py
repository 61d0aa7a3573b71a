"""The learner's workspace: copies made once, never overwritten, one reset at a time."""

import json
import subprocess

import pytest

from course import workspace
from course.workspace import ROOT, WIDGET_VIEW, create, pre_save_hook, reset, resolve


def test_create_copies_the_course_once_and_never_overwrites(tmp_path):
    copied = create(tmp_path)
    lesson = tmp_path / "notebooks" / "01_regression.ipynb"
    assert lesson.read_bytes() == (ROOT / "notebooks" / "01_regression.ipynb").read_bytes()
    assert (tmp_path / "exercises" / "01_regression_exercise.ipynb").exists()
    assert any(p.parts[0] == "docs" for p in copied)  # the index links to docs/notation.md
    lesson.write_text("my work")
    assert create(tmp_path) == []
    assert lesson.read_text() == "my work"


def test_reset_restores_one_notebook_and_keeps_the_old_copy(tmp_path):
    create(tmp_path)
    lesson = tmp_path / "notebooks" / "01_regression.ipynb"
    exercise = tmp_path / "exercises" / "01_regression_exercise.ipynb"
    lesson.write_text("my lesson")
    exercise.write_text("my exercise")
    assert reset("notebooks/01_regression", tmp_path) == lesson
    assert lesson.read_bytes() == (ROOT / "notebooks" / "01_regression.ipynb").read_bytes()
    assert exercise.read_text() == "my exercise"
    kept = list((tmp_path / ".backup").iterdir())
    assert [p.read_text() for p in kept] == ["my lesson"]


def test_names_resolve_to_one_course_file():
    assert resolve("index") == resolve("notebooks/index.ipynb")
    assert resolve("exercises/01_regression").parts == ("exercises", "01_regression_exercise.ipynb")
    assert resolve("exercises/01_regression_exercise").parts == ("exercises", "01_regression_exercise.ipynb")
    # the lesson and its exercise have different names, so a bare stem means the lesson
    assert resolve("01_regression").parts == ("notebooks", "01_regression.ipynb")
    assert resolve("01_regression_exercise").parts == ("exercises", "01_regression_exercise.ipynb")
    with pytest.raises(ValueError, match="no course notebook"):
        resolve("notebooks/99_nothing")


def test_saved_widget_views_become_a_note_to_rerun_the_cell():
    view = {WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
            "text/plain": "VBox(children=(...))"}
    notebook = {"cells": [
        {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": view},
                                          {"output_type": "stream", "text": "kept"}]},
        {"cell_type": "markdown", "source": "text"}]}
    pre_save_hook(model={"type": "notebook", "content": notebook}, path="x.ipynb")
    data = notebook["cells"][0]["outputs"][0]["data"]
    assert WIDGET_VIEW not in data and "run the cell" in data["text/plain"]
    assert notebook["cells"][0]["outputs"][1] == {"output_type": "stream", "text": "kept"}


def test_the_default_workspace_is_ignored_by_git():
    probe = "workspace/notebooks/01_regression.ipynb"
    result = subprocess.run(["git", "check-ignore", "-q", probe], cwd=ROOT)
    assert result.returncode == 0, f"{probe} is not ignored by git: add /workspace/ to .gitignore"
    assert workspace.DEFAULT == ROOT / "workspace"


def test_the_course_notebooks_are_json():
    for relative in workspace._sources():
        if relative.suffix == ".ipynb":
            json.loads((ROOT / relative).read_text(encoding="utf-8"))
