"""Feedback shows what students control as plain text, and each student gets their own file.

The Markdown is rendered with a real parser (mistune, which JupyterLab's
nbconvert brings along) with GitHub's extensions and more turned on: text from
a student's exception message, file or folder name must come out as text and
nothing else (no heading, image, link, HTML, table cell or bold "Total").
"""

import csv
import html
import json
import pathlib
import sys
import unicodedata

import mistune  # installed with JupyterLab (nbconvert's Markdown parser)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course.assignments import get
from course.grading import cli, feedback

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus, handins  # noqa: E402

PARSE = mistune.create_markdown(renderer="ast", plugins=[
    "table", "strikethrough", "url", "footnotes", "math", "superscript", "subscript", "abbr",
    "def_list", "task_lists", "spoiler"])
TEXT = {"text", "codespan", "blank_line", "softbreak", "table", "table_head", "table_body", "table_row",
        "table_cell", "paragraph", "heading", "block_quote", "strong"}
MARKUP = set("\\`*_{}[]()#+-.!|~<>&:@$^=\"'/%,; \n\t") | {"www.", "http://", "<!--", "&amp;", "1."}


def tokens(node):
    for item in node if isinstance(node, list) else [node]:
        yield item
        yield from tokens(item.get("children", []))


def plain(node) -> str:
    """The text a token renders to (entities decoded)."""
    return html.unescape("".join(t.get("raw", "") for t in tokens(node) if t["type"] in ("text", "codespan")))


def _only_text(markdown: str):
    parsed = PARSE(markdown)
    kinds = {t["type"] for t in tokens(parsed)}
    assert kinds <= TEXT - {"heading", "block_quote", "strong", "table"} | {"paragraph"}, (kinds, markdown)
    return parsed


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(sorted(MARKUP)) | st.text(max_size=3), max_size=30).map("".join))
def test_inert_text_renders_as_itself_wherever_it_goes(text):
    shown = " ".join(text.split())
    shown = "".join(c for c in shown if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    escaped = feedback.inert(text)
    assert "\n" not in escaped
    for before in ("", "word "):  # at the start of a line, and inside one
        parsed = _only_text(before + escaped)
        assert plain(parsed) == (before + shown).strip(), (text, escaped)
    cell = PARSE(f"| a |\n|---|\n| {escaped} |")  # in a table cell: one cell, its text
    cells = [t for t in tokens(cell) if t["type"] == "table_cell"]
    assert len(cells) == 2 and plain(cells[1]).strip() == shown.strip(), (text, escaped)


def test_numbers_and_messages_stay_readable():
    text = "wrong value (expected 3.55339, got -28.4271e+08). Hint: 8x too big; reduction='none' huber_loss"
    assert feedback.inert(text) == text


@pytest.fixture(scope="module")
def injected(tmp_path_factory):
    base = tmp_path_factory.mktemp("injected")
    handins.build(base / "class")
    assert cli.main([str(base / "class"), "--out", str(base / "g.csv"), "--seed", "3", "--quiet",
                     "--feedback", str(base / "fb"), "--gradescope", str(base / "gs")]) == 0
    return base


def test_an_exception_message_full_of_markdown_renders_as_text(injected):
    report = (injected / "fb" / "injector.md").read_text()
    parsed = PARSE(report)
    assert "onerror" in plain(parsed) and "evil.example" in plain(parsed)  # shown, but inert
    with open(injected / "g.csv", newline="") as handle:
        rows = [r for r in csv.reader(handle) if r[0] == "injector"]
    total = f"Total: {sum(float(r[3]) for r in rows):g} / {sum(float(r[4]) for r in rows):g} points."
    kinds = {t["type"] for t in tokens(parsed)}
    assert not kinds & {"image", "link", "inline_html", "block_html", "thematic_break", "list"}, kinds
    headings = [plain(t) for t in tokens(parsed) if t["type"] == "heading"]
    assert headings[0] == "Feedback for injector" and headings[1].startswith("01_regression.ipynb: ")
    ours = tuple(e.name for e in get(corpus.STEM).exercises) + tuple(q.id for q in get(corpus.STEM).written)
    assert all(h.startswith(("Feedback for", "01_regression.ipynb", *ours)) for h in headings), headings
    assert [plain(t) for t in tokens(parsed) if t["type"] == "strong"] == [total]
    paragraphs = [plain(t) for t in parsed if t["type"] == "paragraph"]
    assert [p for p in paragraphs if p.startswith("Total")] == [total]
    rows = [t for t in tokens(parsed) if t["type"] == "table_row"]
    assert rows and all(len(r["children"]) == 2 for r in rows)  # no cell split by a student's |
    message = next(p for p in paragraphs if "raised ValueError" in p)
    assert " ".join(handins.MARKDOWN.split()) in message  # all of it shown, as written


def test_student_and_file_names_render_as_text(tmp_path):
    from course.grading.grade import Submission, file_rows

    student = "# <b>bob</b> ![i](x.png) **Total: 99 / 99**"
    report = file_rows(Submission(student, "[notes](http://x).ipynb"), None, "unknown", "*bold* msg")
    parsed = PARSE(feedback.markdown(student, [report]))
    kinds = {t["type"] for t in tokens(parsed)}
    assert not kinds & {"image", "link", "inline_html", "block_html", "emphasis"}, kinds
    headings = [plain(t) for t in tokens(parsed) if t["type"] == "heading"]
    assert headings[0] == f"Feedback for {student}" and headings[1].startswith("[notes](http://x).ipynb")
    assert [plain(t) for t in tokens(parsed) if t["type"] == "strong"] == ["Total: 0 / 0 points."]


def test_gradescope_output_is_plain_text(injected):
    results = json.loads((injected / "gs" / "injector" / "results.json").read_text())
    assert results["tests"] and all(t["output_format"] == "text" for t in results["tests"])
    assert results["test_output_format"] == "text" and results["test_name_format"] == "text"


@pytest.mark.parametrize("students", [
    ["zz lee", "zz_lee"], ["Alice", "alice"], ["../x", "x", "..", "."], ["a" * 300, "a" * 301],
    ["Zoë", "Zoe\u0308", "ZOË"], ["é" * 200, "é" * 201], ["bad\udcffname", "bad\udcfename"],
])
def test_feedback_file_names_are_distinct_and_safe(students, tmp_path):
    names = feedback.file_names(students)
    assert len({n.casefold() for n in names.values()}) == len(students), names
    for student, name in names.items():
        assert "/" not in name and not name.startswith(".") and len(name.encode()) <= 200, name
        if feedback.safe_name(student) == student and sum(
                s.casefold() == student.casefold() for s in students) == 1:
            assert name == student
        (tmp_path / f"{name}.md").write_text("ok")  # a name the file system takes
    assert feedback.file_names(reversed(students)) == names  # stable
