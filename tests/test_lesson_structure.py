"""Every lesson makes the learner think, and keeps its checks out of the learner's way.

- at least three ``predict`` cells (commit to an answer before the next cell
  shows it) and one ``think`` cell (an open question with a folded answer);
- no ``assert`` outside cells tagged ``claims``; those cells are collapsed in
  JupyterLab (``metadata.jupyter.source_hidden``), use ``course.claims``, and
  end with ``;`` so they show their ✓ lines and no ``True``;
- no lesson sends the learner to notes the course does not ship.
"""

import ast
import json
import pathlib
import re

import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def source(cell):
    return "".join(cell["source"])


def test_there_are_thirteen_lessons():
    assert len(LESSONS) == 13


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_predict_and_think_prompts(path):
    found = [tags(c) for c in cells(path)]
    predicts = sum("predict" in t for t in found)
    thinks = sum("think" in t for t in found)
    assert predicts >= 3, f"{path.name}: {predicts} predict cells, need at least 3"
    assert thinks >= 1, f"{path.name}: no think cell"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_prompt_cells_are_markdown_and_thinks_fold_their_answer(path):
    for cell in cells(path):
        if {"predict", "think"} & set(tags(cell)):
            assert cell["cell_type"] == "markdown", f"{path.name} {cell['id']}: a prompt is markdown"
        if "think" in tags(cell):
            assert "<details>" in source(cell) and "</details>" in source(cell), (
                f"{path.name} {cell['id']}: a think cell folds its sample answer in <details>")


def _asserts(code):
    lines = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n"))
    return [n for n in ast.walk(ast.parse(lines)) if isinstance(n, ast.Assert)]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_asserts_live_only_in_claims_cells(path):
    for cell in cells(path):
        if cell["cell_type"] != "code" or "claims" in tags(cell):
            continue
        found = _asserts(source(cell))
        assert not found, f"{path.name} {cell['id']}: assert outside a claims cell (line {found[0].lineno})"


def _calls_claim(code):
    tree = ast.parse("\n".join("" if line.lstrip().startswith(("%", "!")) else line
                               for line in code.split("\n")))
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "claim" for n in ast.walk(tree))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_claims_are_checked_only_in_claims_cells(path):
    """A claim(...) in an untagged cell would show its code to the learner and on the book's page."""
    for cell in cells(path):
        if cell["cell_type"] == "code" and "claims" not in tags(cell):
            assert not _calls_claim(source(cell)), f"{path.name} {cell['id']}: claim() outside a claims cell"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_claims_cells_are_collapsed_and_use_the_helper(path):
    claims = [c for c in cells(path) if "claims" in tags(c)]
    assert claims, f"{path.name}: no claims cell"
    for cell in claims:
        assert cell["cell_type"] == "code"
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, (
            f"{path.name} {cell['id']}: claims cell not collapsed")
        assert "claim(" in source(cell) and not _asserts(source(cell)), (
            f"{path.name} {cell['id']}: a claims cell checks with claim(...), not assert")
        # claim(...) returns a bool: as a cell's last expression Lab would show `True`
        last = ast.parse(source(cell)).body[-1]
        assert not isinstance(last, ast.Expr) or source(cell).rstrip().endswith(";"), (
            f"{path.name} {cell['id']}: end the claims cell with ';' so it shows only its ✓ lines")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_no_unshipped_notes_and_no_developer_talk(path):
    prose = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown").lower()
    for phrase in ("research notes", "course's notes", "notebook fails"):
        assert phrase not in prose, f"{path.name}: mentions {phrase!r}"
    assert not re.search(r"\bthe assert", prose), f"{path.name}: prose talks about asserts"
