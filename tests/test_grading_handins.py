"""Hand-ins that are not what they seem: links, named pipes, linked folders, copies.

A class built by tests/adversarial/handins.py is graded once (with feedback and
Gradescope output) and once more with ``--resume``. No link is followed, no
named pipe is opened, every copy but one is counted once as ``duplicate``, and
the bounded walk stops, saying so, in folders too deep or too full.
"""

import csv
import json
import os
import pathlib
import sys

import pytest

from course.assignments import get
from course.grading import cli

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus, handins  # noqa: E402

POINTS = {e.name: e.points for e in get(corpus.STEM).exercises}
POINTS.update({q.id: q.points for q in get(corpus.STEM).written})  # written questions: rows too
TOTAL = sum(POINTS.values())


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("handins")
    handins.build(base / "class")
    argv = [str(base / "class"), "--out", str(base / "g.csv"), "--seed", "7", "--jobs", "2", "--quiet",
            "--feedback", str(base / "fb"), "--gradescope", str(base / "gs")]
    assert cli.main(argv) == 0
    return base, argv, _rows(base / "g.csv")


def mine(graded, student):
    return [r for r in graded[2] if r[0] == student]


@pytest.mark.timeout(120)  # a named pipe opened for reading would block forever
@pytest.mark.parametrize("student, says", [
    ("links_to_solutions", "not a link"), ("links_to_classmate", "not a link"),
    ("named_pipe", "named pipe"),
])
def test_links_and_special_files_are_refused_not_graded(graded, student, says):
    rows = mine(graded, student)
    assert [(r[1], r[2], r[3], r[5]) for r in rows] == [(corpus.NB, e, "0", "invalid") for e in POINTS], rows
    assert sum(float(r[4]) for r in rows) == TOTAL  # the notebook still counts, once
    assert all(says in r[6] for r in rows), rows


def test_a_linked_student_folder_is_not_followed(graded):
    rows = mine(graded, "linked_folder")
    refused = [(r[1], r[2], r[3], r[4]) for r in rows if r[5] == "invalid"]
    assert refused == [("", "", "0", "0")], rows
    assert "link to a folder" in next(r[6] for r in rows if r[5] == "invalid")
    missing = [r for r in rows if r[5] == "missing"]  # it handed nothing in
    assert [(r[1], r[2]) for r in missing] == [(f"{corpus.STEM}_exercise.ipynb", e) for e in POINTS]
    assert not any(r[5] == "passed" for r in rows)


def test_copies_of_one_notebook_count_once(graded):
    rows = mine(graded, "hoarder")
    graded_rows = [r for r in rows if r[1] == corpus.NB]
    assert [r[2] for r in graded_rows] == list(POINTS)  # the handed-out name is the one graded
    statuses = {r[2]: r[5] for r in graded_rows}
    assert statuses.pop("quantile_loss") == "missing"  # deleted in the graded copy
    assert set(statuses.values()) <= {"passed", "manual"} and "passed" in statuses.values()
    copies = [r for r in rows if r[5] == "duplicate"]
    assert sorted(r[1] for r in copies) == sorted(handins.COPIES[1:])
    for row in copies:
        assert (row[2], row[3], row[4]) == ("", "0", "0") and f"copy of {corpus.NB}" in row[6], row
    assert sum(float(r[4]) for r in rows) == TOTAL
    assert len(rows) == len(POINTS) + 3


def test_resume_keeps_everything_and_regrades_nothing(graded, capsys):
    base, argv, rows = graded
    before = (base / "g.csv").read_text()
    capsys.readouterr()
    assert cli.main(argv + ["--resume"]) == 0
    assert "Graded 0 notebook(s)" in capsys.readouterr().out
    assert (base / "g.csv").read_text() == before


def test_students_whose_names_clean_up_alike_get_their_own_feedback(graded):
    base = graded[0]
    names = sorted(p.name for p in (base / "fb").iterdir())
    assert len(names) == len({r[0] for r in graded[2]})  # one file per student
    zz = [n for n in names if n.startswith("zz")]
    assert len(zz) == 2 and "zz_lee.md" in zz, names
    spaced = next(n for n in zz if n != "zz_lee.md")
    assert "zz lee" in (base / "fb" / spaced).read_text()
    written = sum(q.points for q in get(corpus.STEM).written)  # awaiting a TA: 0 for now
    deleted = TOTAL - written - POINTS["huber_loss"]
    assert f"Total: {deleted:g} / {TOTAL:g} points" in (base / "fb" / spaced).read_text()
    assert f"Total: {TOTAL - written:g} / {TOTAL:g} points" in (base / "fb" / "zz_lee.md").read_text()
    folders = sorted(p.name for p in (base / "gs").iterdir() if p.name.startswith("zz"))
    assert folders == sorted(n.removesuffix(".md") for n in zz)
    scores = {json.loads((base / "gs" / f / "results.json").read_text())["score"] for f in folders}
    assert scores == {deleted, TOTAL - written}


# ------------------------------------------------------- the bounded walk
def test_deep_and_crowded_folders_are_walked_within_bounds(tmp_path):
    solution = (corpus.ROOT / "solutions" / corpus.NB).read_bytes()
    deep = tmp_path / "class" / "deep"
    nested = deep.joinpath(*["d"] * (cli.MAX_DEPTH + 1))
    nested.mkdir(parents=True)
    (nested / corpus.NB).write_bytes(solution)
    (deep.joinpath(*["d"] * cli.MAX_DEPTH) / corpus.NB).write_bytes(solution)
    crowded = tmp_path / "class" / "crowded"
    crowded.mkdir()
    for index in range(cli.MAX_ENTRIES + 50):
        (crowded / f"junk{index:05}.txt").write_bytes(b"")
    found = cli.discover([str(tmp_path / "class")])
    assert [s.notebook for s in found.submissions if s.student == "deep"] == ["/".join(["d"] * cli.MAX_DEPTH
                                                                                      + [corpus.NB])]
    problems = dict(found.problems)
    assert "nested more than 8 levels" in problems["deep"]
    assert "more than 1,000 files" in problems["crowded"]
    assert "crowded" not in found.empty  # its row says why, not "no notebook"


def test_a_named_pipe_given_on_the_command_line_is_refused(tmp_path):
    os.mkfifo(tmp_path / corpus.NB)
    found = cli.discover([str(tmp_path / corpus.NB)])
    assert found.submissions == [] and "named pipe" in found.refused[0][1]
