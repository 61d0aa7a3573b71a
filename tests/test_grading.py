"""course-grade: reading notebooks, choosing code, the wire format, gradebook, feedback, CLI.

The sandbox's isolation is tested in test_grading_sandbox.py and the
adversarial class in test_grading_adversarial.py. Here the grader runs on
real notebooks: every solution earns full marks and every untouched
exercise earns zero, for every assignment in the course.
"""

import csv
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from course.assignments import assignments, get
from course.assignments.judge import to_data
from course.assignments.scoring import cases_for
from course.assignments.spec import exercise_file
from course.grading import cli, extract, feedback
from course.grading.grade import resolve
from course.grading.wire import decode, encode, to_plain

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
HEADER = ["student", "notebook", "exercise", "score", "max_score", "status", "message"]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == HEADER
    return rows[1:]


def notebook(*sources, metadata=None):
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "outputs": [], "execution_count": None}
             for s in sources]
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": 5}


def write(path: pathlib.Path, content) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return path


# ------------------------------------------------------------ wire format
def test_values_survive_the_wire_with_their_dtypes():
    value = (np.arange(6, dtype=np.float32).reshape(2, 3), np.array([1, 2], dtype=np.int64),
             np.array([True, False]), np.float32(1.5), 3, 2.5, "mean", None,
             {"reduction": "sum", "weight": np.array([np.nan, np.inf, -0.0])}, [1.0, np.int8(3)])
    back = decode(json.loads(json.dumps(encode(value))))
    assert isinstance(back, tuple) and len(back) == len(value)
    for sent, got in zip(value[:3], back[:3]):
        assert got.dtype == sent.dtype and got.shape == sent.shape and np.array_equal(got, sent)
    assert isinstance(back[3], np.float32) and back[3] == 1.5
    assert back[4:8] == (3, 2.5, "mean", None)
    assert back[8]["reduction"] == "sum"
    np.testing.assert_array_equal(back[8]["weight"], value[8]["weight"])
    assert np.signbit(back[8]["weight"][2])
    assert back[9][1].dtype == np.int8


@pytest.mark.parametrize("bad", [
    {"__array__": ["|O", [1], "AAAAAAAAAAA="]},            # objects
    {"__array__": ["<U2", [1], "AAAAAAAAAAA="]},           # strings
    {"__array__": ["<f8", [2], "AAAAAAAAAAA="]},           # payload shorter than the shape
    {"__array__": ["<f8", [10**9], ""]},                   # absurd size
    {"__array__": ["<f8", [-1], ""]},
    {"__array__": ["<f8", "1", ""]},
    {"__array__": "pickle"},
    {"__reduce__": ["os.system", ["true"]]},
])
def test_strict_decoding_rejects_anything_but_plain_numbers(bad):
    with pytest.raises((ValueError, TypeError)):
        decode(bad, strict=True)


class _Liar:
    def __eq__(self, other):
        return True


class _Sub(np.ndarray):
    def __eq__(self, other):
        return True


@pytest.mark.parametrize("value", [
    1.5, 3, True, np.float32(2.0), np.arange(4.0), [np.ones(2), 1.0], (np.zeros(3, np.float32),),
    np.arange(3.0).view(_Sub), None, _Liar(), "text", np.array(["a"]), np.array([1 + 2j]),
    [np.ones(2), [1.0, 2.0]],
], ids=lambda v: type(v).__name__)
def test_the_sandbox_converts_returns_exactly_as_the_judge_does(value):
    try:
        expected = to_data(value)
    except TypeError as error:
        with pytest.raises(TypeError) as raised:
            to_plain(value)
        assert str(raised.value) == str(error)
        return
    got = to_plain(value)
    if isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        pairs = list(zip(expected, got))
    else:
        pairs = [(expected, got)]
    for e, g in pairs:
        assert type(g) is np.ndarray and g.dtype == e.dtype and np.array_equal(g, e)


# ------------------------------------------------------------- reading files
@pytest.mark.parametrize("content, text", [
    (b"", "empty"), (b"  \n", "empty"), (b"\x89PNG\r\n\x1a\nxxxx", "PNG"), (b"%PDF-1.4", "PDF"),
    (b"\xff\xfe\x00garbage", "not text"), (b"{\"cells\": [", "JSON"), (b"[1, 2]", "no cells"),
    (json.dumps({"cells": [], "nbformat": 3}).encode(), "format 3"),
    (json.dumps({"cells": [1], "nbformat": 4}).encode(), "malformed cell"),
])
def test_files_that_are_not_notebooks_are_refused_with_a_reason(tmp_path, content, text):
    path = write(tmp_path / "01_regression.ipynb", content)
    with pytest.raises(extract.NotebookError) as raised:
        extract.read_notebook(path)
    assert raised.value.status == "invalid" and text.lower() in raised.value.message.lower()


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(extract, "MAX_BYTES", 100)
    path = write(tmp_path / "01_regression.ipynb", notebook("x = 1\n" * 50))
    with pytest.raises(extract.NotebookError, match="far smaller"):
        extract.read_notebook(path)


def test_course_version_and_assignment_are_checked():
    good = notebook(metadata={"course": {"assignment": "01_regression", "version": 1}})
    extract.check_version(good, "01_regression", 1)
    extract.check_version(notebook(), "01_regression", 1)  # metadata lost: graded anyway
    with pytest.raises(extract.NotebookError) as raised:
        extract.check_version(good, "01_regression", 2)
    assert raised.value.status == "version"
    with pytest.raises(extract.NotebookError, match="handed out as 01_regression"):
        extract.check_version(good, "02_classification", 1)


@pytest.mark.parametrize("name, stem", [
    ("01_regression.ipynb", "01_regression"), ("01_regression (1).ipynb", "01_regression"),
    ("Copy of 01_regression.ipynb", "01_regression"), ("01_regression-alice.ipynb", "01_regression"),
    ("99_mystery.ipynb", None), ("001_regression.ipynb", None), ("notes.ipynb", None),
])
def test_the_file_name_picks_the_assignment(name, stem):
    found = resolve(name, {"01_regression": get("01_regression")})
    assert (found.notebook if found else None) == stem


# ------------------------------------------------------------ choosing code
NAMES = ["huber_loss", "huber_loss_grad", "quantile_loss"]


def _kept(plan):
    return "\n".join(src for cell in plan.request_cells() for _, src, _ in cell["stmts"])


def test_only_imports_and_the_definitions_run_whatever_the_cell_order():
    nb = notebook(
        "%matplotlib inline\nimport numpy as np\nimport matplotlib.pyplot as plt\ncheck = 1",
        "plt.plot([1, 2])\nprint('hello')",
        "def quantile_loss(input, target, quantile=0.5, reduction='mean'):\n    return _pinball(input)",
        "check(quantile_loss)",
        "EPS = 1e-12\nUNUSED = 3\nfor k in range(3):\n    plt.plot(k)\n\n"
        "def _pinball(x):\n    return np.abs(x) + EPS",
        "!pip install something\ndef huber_loss(input, target, reduction='mean', delta=1.0):\n"
        "    k = 2  # a local, not the plot loop's k\n    return input * k",
    )
    plan = extract.plan(nb, NAMES)
    kept = _kept(plan)
    for needed in ("import numpy as np", "def quantile_loss", "def _pinball", "EPS = 1e-12",
                   "def huber_loss"):
        assert needed in kept
    for dropped in ("plt.plot", "print(", "check(quantile_loss)", "UNUSED", "for k in", "pip"):
        assert dropped not in kept
    assert plan.exercises["huber_loss"].status == "ok"
    assert plan.exercises["huber_loss_grad"].status == "missing"
    # line numbers are kept, so errors can name the line in the student's cell
    line = next(n for c in plan.request_cells() for _, src, n in c["stmts"] if "def huber_loss" in src)
    assert line == 2


def test_decorators_and_statements_sharing_a_line_are_kept_whole():
    nb = notebook("import numpy as np; import functools",
                  "@functools.lru_cache\ndef huber_loss(input, target, reduction='mean', delta=1.0):\n"
                  "    return 0.0")
    kept = _kept(extract.plan(nb, NAMES))
    assert "@functools.lru_cache" in kept and "import functools" in kept


def test_syntax_errors_and_missing_functions_cost_their_exercise_only():
    nb = notebook("import numpy as np",
                  "def huber_loss(input, target, reduction='mean', delta=1.0):\n    return (input",
                  "def huber_loss_gradient(input, target):\n    return input",
                  "def quantile_loss(input, target, quantile=0.5, reduction='mean'):\n    return input")
    plan = extract.plan(nb, NAMES)
    assert plan.exercises["huber_loss"].status == "syntax"
    assert "line 2" in plan.exercises["huber_loss"].message
    assert plan.exercises["huber_loss_grad"].status == "missing"
    assert "huber_loss_gradient" in plan.exercises["huber_loss_grad"].message
    assert plan.exercises["quantile_loss"].status == "ok"


@pytest.mark.parametrize("cells, verdict", [
    (["import torch.nn.functional as F", "def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    return F.huber_loss(input, target)"], "forbidden"),
    (["import torch", "def huber_loss(input, target, reduction='mean', delta=1.0):\n    return 0.0"], "ok"),
    (["from course.assignments import checker\ncheck = checker('01_regression')",
      "def huber_loss(input, target, reduction='mean', delta=1.0):\n    return 0.0"], "ok"),
    (["from course.losses import regression as R",
      "def _helper(x, y):\n    return R.huber_loss(x, y)",
      "def huber_loss(input, target, reduction='mean', delta=1.0):\n    return _helper(input, target)"],
     "forbidden"),
    (["def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    from course.losses.regression import huber_loss as h\n    return h(input, target)"], "forbidden"),
    (["def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    return eval('input - target')"], "forbidden"),
    (["def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    return __import__('numpy').abs(input - target)"], "forbidden"),
    (["def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    text = 'see ../solutions/01_regression.ipynb'\n    return 0.0"], "ok"),
    (["def huber_loss(input, target, reduction='mean', delta=1.0):\n"
      "    '''Like the solutions/ folder says.'''\n    vars = open = 1\n    return vars + open"], "ok"),
    (["huber_loss = lambda input, target, reduction='mean', delta=1.0: exec('1')"], "forbidden"),
])
def test_reaching_for_the_reference_or_dynamic_code_is_forbidden(cells, verdict):
    plan = extract.plan(notebook(*cells), NAMES)
    assert plan.exercises["huber_loss"].status == verdict, plan.exercises["huber_loss"].message
    if verdict == "forbidden":
        assert "Zero for this exercise" in plan.exercises["huber_loss"].message


# ---------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """Every solution and every untouched exercise of the course, graded in parallel."""
    base = tmp_path_factory.mktemp("course")
    for folder in ("solutions", "exercises"):
        for path in sorted((ROOT / folder).glob("[0-9][0-9]_*.ipynb")):
            write(base / "class" / f"from_{folder}" / path.name, path.read_bytes())
    code = cli.main([str(base / "class"), "--out", str(base / "grades.csv"), "--jobs", "2",
                     "--quiet", "--feedback", str(base / "feedback"), "--gradescope", str(base / "gs")])
    return code, read_csv(base / "grades.csv"), base


def test_solutions_earn_full_marks_and_untouched_exercises_zero(course_run):
    code, rows, _ = course_run
    assert code == 0
    expected = {(a.notebook, e.name): e.points for a in assignments().values() for e in a.exercises}
    written = {(a.notebook, q.id): q.points for a in assignments().values() for q in a.written}
    assert all(len(a.written) >= 1 for a in assignments().values())
    for student in ("from_solutions", "from_exercises"):
        known = assignments()
        mine = {(resolve(r[1], known).notebook, r[2]): r for r in rows if r[0] == student}
        assert set(mine) == set(expected) | set(written)
        for key, points in written.items():  # written answers wait for a teaching assistant
            row = mine.pop(key)
            assert (float(row[3]), float(row[4]), row[5]) == (0.0, points, "manual"), row
            assert row[6].startswith("awaiting a teaching assistant's score")
            assert ("no answer" in row[6]) == (student == "from_exercises"), row
        for key, row in mine.items():
            assert float(row[4]) == expected[key]
            if student == "from_solutions":
                assert (float(row[3]), row[5]) == (expected[key], "passed"), row
            else:
                assert (float(row[3]), row[5]) == (0.0, "failed") and "NotImplementedError" in row[6], row


def test_the_gradebook_is_sorted_with_exercises_in_notebook_order(course_run):
    _, rows, _ = course_run
    keys = [(r[0], r[1]) for r in rows]
    assert keys == sorted(keys)
    regression = [r[2] for r in rows if r[0] == "from_solutions" and r[1] == "01_regression.ipynb"]
    assert regression == [e.name for e in get("01_regression").exercises] + [
        q.id for q in get("01_regression").written]


def test_feedback_and_gradescope_files_are_written(course_run):
    _, rows, base = course_run
    report = (base / "feedback" / "from_solutions.md").read_text()
    total = sum(float(r[4]) for r in rows if r[0] == "from_solutions")
    automatic = sum(float(r[4]) for r in rows if r[0] == "from_solutions" and r[5] != "manual")
    assert f"Total: {automatic:g} / {total:g} points" in report and "hidden check:" in report
    results = json.loads((base / "gs" / "from_exercises" / "results.json").read_text())
    assert results["score"] == 0
    pending = [t for t in results["tests"] if "status" not in t]
    assert {t["status"] for t in results["tests"] if "status" in t} == {"failed"}
    assert len(pending) == sum(len(a.written) for a in assignments().values())
    assert all(t["score"] == 0 and t["max_score"] > 0 and "teaching assistant" in t["output"]
               and "pending" in t["tags"] for t in pending)
    assert sum(t["max_score"] for t in results["tests"]) == total


def test_feedback_shows_public_values_but_never_hidden_ones(tmp_path):
    # Promotes float32 to float64 and gets huge residuals wrong: those public groups fail (with
    # their values shown), and so do their hidden twins (described, never shown).
    source = corpus.function("huber_loss", """
        d = np.abs(np.asarray(input, dtype=np.float64) - target)
        if input.shape != np.shape(target):
            raise ValueError("shapes")
        if reduction not in ("mean", "sum", "none"):
            raise ValueError("reduction")
        loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
        loss = np.where(d > 1e6, 0.0, loss)
        return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
    """)
    write(tmp_path / "class" / "dana" / corpus.NB, corpus.build({"huber_loss": source}))
    seed = 4242
    assert cli.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--seed", str(seed),
                     "--feedback", str(tmp_path / "fb"), "--quiet", "--jobs", "1"]) == 0
    row = next(r for r in read_csv(tmp_path / "g.csv") if r[2] == "huber_loss")
    # 3 value groups; the shape check is unpaid while float32 and huge residuals are wrong
    assert row[5] == "failed" and float(row[3]) == 3.0
    text = (tmp_path / "fb" / "dana.md").read_text()
    assert "hidden check: float32 inputs" in text and "hidden check: residuals of ±1e8" in text
    assignment = get("01_regression")
    exercise = assignment.exercise("huber_loss")
    for group in exercise.groups:
        if group.hidden:
            for case in cases_for(assignment, exercise, group, seed):
                values = [np.atleast_1d(a) for a in case.args]
                try:
                    values.append(np.atleast_1d(exercise.reference(*case.args, **case.kwargs)))
                except ValueError:
                    pass  # a case that must raise has no expected value
                for value in np.concatenate([v.ravel()[:4] for v in values]):
                    shown = f"{float(value):.6g}"
                    assert len(shown.lstrip("-")) < 5 or shown not in text, shown


def test_a_failing_public_case_shows_expected_and_got(tmp_path):
    partial = corpus.honest_students()[2]
    partial.write(tmp_path / "class")
    cli.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--feedback",
              str(tmp_path / "fb"), "--quiet", "--seed", "1"])
    text = (tmp_path / "fb" / f"{partial.student}.md").read_text()
    assert "First failing public case (mean over a batch)" in text
    assert "expected" in text and "got" in text and "a sum where a mean" in text


def test_layouts_missing_notebooks_and_empty_folders(tmp_path):
    solution = (ROOT / "solutions" / corpus.NB).read_bytes()
    write(tmp_path / "class" / "ann" / corpus.NB, solution)
    write(tmp_path / "class" / "bob" / "handin" / corpus.NB, solution)  # nested by an LMS
    write(tmp_path / "class" / "bob" / ".ipynb_checkpoints" / corpus.NB, b"")
    (tmp_path / "class" / "cat").mkdir()
    write(tmp_path / "class" / "dan" / "notes.txt", b"nothing")
    write(tmp_path / "single" / "eve" / corpus.NB, solution)
    code = cli.main([str(tmp_path / "class"), str(tmp_path / "single" / "eve" / corpus.NB),
                     "--out", str(tmp_path / "g.csv"), "--quiet"])
    assert code == 0
    rows = read_csv(tmp_path / "g.csv")
    by_student = {}
    for row in rows:
        by_student.setdefault(row[0], []).append(row)
    assert set(by_student) == {"ann", "bob", "cat", "dan", "eve"}
    assert {r[1] for r in by_student["bob"]} == {f"handin/{corpus.NB}"}
    assert {r[5] for r in by_student["bob"] + by_student["ann"] + by_student["eve"]} == {"passed", "manual"}
    rows_per_notebook = len(get("01_regression").exercises) + len(get("01_regression").written)
    for student in ("cat", "dan"):
        assert [r[5] for r in by_student[student]] == ["missing"] * rows_per_notebook
        assert "No 01_regression_exercise.ipynb (or another notebook named for 01_regression) was handed in" \
            in by_student[student][0][6]


def test_resume_keeps_finished_rows_and_grades_only_the_rest(tmp_path, capsys):
    solution = (ROOT / "solutions" / corpus.NB).read_bytes()
    for student in ("ann", "bob", "cy"):
        write(tmp_path / "class" / student / corpus.NB, solution)
    out = tmp_path / "g.csv"
    assert cli.main([str(tmp_path / "class"), "--out", str(out), "--quiet", "--seed", "3"]) == 0
    first = out.read_text()
    lines = first.splitlines(keepends=True)
    cy = [line for line in lines if line.startswith("cy,")]
    # a crash while writing cy's rows: one complete row and half of another
    cut = "".join(line for line in lines if not line.startswith("cy,")) + cy[0] + cy[1][:10]
    out.write_text(cut)
    capsys.readouterr()
    assert cli.main([str(tmp_path / "class"), "--out", str(out), "--quiet", "--seed", "3",
                     "--resume"]) == 0
    said = capsys.readouterr().out
    assert "Graded 1 notebook(s)" in said and "kept 2" in said
    assert out.read_text() == first


@pytest.mark.parametrize("argv", [
    [], ["x.ipynb"], ["--out", "g.csv"], ["{missing}", "--out", "{out}"], ["{empty}", "--out", "{out}"],
    ["{nb}", "--out", "{out}", "--jobs", "0"], ["{nb}", "--out", "{notcsv}", "--resume"],
    ["{nb}", "--out", "{out}", "--timeout", "-1"],
])
def test_usage_errors_exit_2(tmp_path, argv, capsys):
    (tmp_path / "empty").mkdir()
    write(tmp_path / "notcsv", b"not,a,gradebook\n1,2,3\n")
    write(tmp_path / "ann" / corpus.NB, (ROOT / "solutions" / corpus.NB).read_bytes())
    names = {"missing": tmp_path / "nope", "empty": tmp_path / "empty", "out": tmp_path / "g.csv",
             "nb": tmp_path / "ann" / corpus.NB, "notcsv": tmp_path / "notcsv"}
    argv = [a.format(**names) for a in argv]
    with pytest.raises(SystemExit) as raised:
        raise SystemExit(cli.main(argv))
    assert raised.value.code == 2
    assert "error" in capsys.readouterr().err


def test_python_dash_m_and_the_console_script_are_wired():
    done = subprocess.run([sys.executable, "-m", "course.grading", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and "--feedback" in done.stdout and "--gradescope" in done.stdout
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("course-grade") == "course.grading.cli:main"


def test_student_names_become_safe_file_names():
    assert feedback.safe_name("ann_lee") == "ann_lee"  # already safe: kept
    assert feedback.safe_name("../../etc/passwd").startswith("etc_passwd-")
    assert feedback.safe_name("Zoë Müller").startswith("Zoë_Müller-")
    assert feedback.safe_name("...").startswith("student-")


# ------------------------------------------------------- written questions, by hand
def test_written_answers_round_trip_review_files_and_merge_manual(tmp_path, capsys):
    from course.grading import manual

    solution = json.loads((ROOT / "solutions" / corpus.NB).read_text())
    question = get(corpus.STEM).written[0]
    for cell in solution["cells"]:
        if cell.get("metadata", {}).get("course", {}).get("question") == question.id:
            cell["source"] = ["Outliers pull **hard** <img src=x onerror=alert(1)> [link](http://x)\n",
                              "# not a heading"]
    write(tmp_path / "class" / "ann" / corpus.NB, solution)
    blank = (ROOT / "exercises" / exercise_file(corpus.STEM)).read_bytes()
    write(tmp_path / "class" / "bob" / corpus.NB, blank)
    grades, review = tmp_path / "g.csv", tmp_path / "review"
    assert cli.main([str(tmp_path / "class"), "--out", str(grades), "--quiet", "--review", str(review),
                     "--gradescope", str(tmp_path / "gs")]) == 0
    rows = {(r[0], r[2]): r for r in read_csv(grades)}
    assert rows[("ann", question.id)][3:6] == ["0", f"{question.points:g}", "manual"]
    text = (review / corpus.STEM / f"{question.id}.md").read_text()
    assert question.question in text and all(item in text for item in question.rubric)
    assert "<img" not in text and "&lt;img" in text and "\\[link\\]" in text and "\n# not" not in text
    assert "Outliers pull" in text and "(no answer)" in text  # bob left the stub
    pending = json.loads((tmp_path / "gs" / "ann" / "results.json").read_text())["tests"]
    assert any("status" not in t and "teaching assistant" in t["output"] for t in pending)
    # the assistants fill in the table course-grade wrote
    table = list(csv.reader((review / "scores.csv").open()))
    assert table[0] == manual.SCORES_HEADER and {r[0] for r in table[1:]} == {"ann", "bob"}
    scores = tmp_path / "scores.csv"
    bad = [manual.SCORES_HEADER, ["ann", corpus.NB, question.id, "9", ""],
           ["zed", corpus.NB, question.id, "1", ""], ["bob", corpus.NB, "q_nope", "1", ""]]
    scores.write_text("\n".join(",".join(r) for r in bad) + "\n")
    before = grades.read_bytes()
    assert cli.main(["merge-manual", str(scores), "--into", str(grades)]) == 2
    err = capsys.readouterr().err
    assert "outside 0 to 2" in err and "unknown student 'zed'" in err and "q_nope" in err
    assert grades.read_bytes() == before  # nothing merged
    good = [manual.SCORES_HEADER, ["ann", corpus.NB, question.id, "1.5", "clear, misses the cap"],
            ["bob", corpus.STEM, question.id, "", ""]]
    with open(scores, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(good)
    assert cli.main(["merge-manual", str(scores), "--into", str(grades)]) == 0
    rows = {(r[0], r[2]): r for r in read_csv(grades)}
    assert rows[("ann", question.id)][3:7] == ["1.5", f"{question.points:g}", "graded",
                                               "clear, misses the cap"]
    assert rows[("bob", question.id)][5] == "manual"  # a blank score waits
    assert rows[("ann", "huber_loss")][5] == "passed"  # automatic rows untouched


def test_the_handed_out_exercise_name_is_graded_before_the_lessons_and_copies():
    """Of several copies, the exercise's own name wins, then the lesson's name, then any other."""
    from course.grading.grade import Submission

    known = assignments()
    names = ["Copy of 01_regression_exercise.ipynb", "01_regression.ipynb",
             "old/01_regression_exercise.ipynb", "01_regression_exercise.ipynb"]
    kept, copies = cli.choose_copies([Submission("ann", n, pathlib.Path(n)) for n in names], known)
    assert [s.notebook for s in kept] == ["01_regression_exercise.ipynb"]
    assert sorted(r.submission.notebook for r in copies) == sorted(names[:3])
    kept, _ = cli.choose_copies([Submission("bo", n, pathlib.Path(n)) for n in names[:3]], known)
    assert [s.notebook for s in kept] == ["old/01_regression_exercise.ipynb"]  # the name, then the depth
    kept, _ = cli.choose_copies([Submission("cy", n, pathlib.Path(n)) for n in names[:2]], known)
    assert [s.notebook for s in kept] == ["01_regression.ipynb"]
