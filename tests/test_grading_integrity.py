"""The grader's integrity: no points without solving, nothing that freezes it, budgets that hold.

One class (honest students plus every attack in tests/adversarial/integrity.py)
is graded as an instructor would, with the guard on, ``--timeout 2``,
``--notebook-timeout 10`` and ``--memory 512``. Each attack must earn what
its entry says, honest students exactly what they earn alone, the whole
class must finish within its budgets, and the grader's own memory must stay
small. Below that, the layers are tested one at a time: planning on
pathological notebooks, the message protocol, the scoring rules, the
per-student seeds, the control groups (children and memory files under one
limit) and the sandbox's view of installed packages.
"""

import csv
import json
import pathlib
import resource
import sys
import time

import numpy as np
import pytest

from course.assignments import get
from course.assignments.judge import Outcome, compare_values, judge, reference_outcome
from course.assignments.scoring import graded_cases, score_exercise
from course.assignments.spec import student_seed
from course.grading import cli, extract
from course.grading.sandbox import Attempt, Limits, Sandbox, _Protocol

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus, integrity  # noqa: E402

ASSIGNMENT = get(corpus.STEM)
POINTS = {e.name: e.points for e in ASSIGNMENT.exercises}
SEED = "31415926"
LINUX = sys.platform.startswith("linux")


def _rows(path: pathlib.Path) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        return {(r["student"], r["notebook"], r["exercise"]): r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("integrity")
    honest = corpus.honest_students()
    attacks = integrity.entries()
    clean, everyone = base / "clean", base / "class"
    for entry in honest:
        entry.write(clean)
    for entry in honest + attacks:
        entry.write(everyone)
    options = ["--seed", SEED, "--timeout", "2", "--notebook-timeout", "10", "--memory", "512",
               "--jobs", "2", "--quiet"]
    assert cli.main([str(clean), "--out", str(base / "clean.csv"), *options]) == 0
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    code = cli.main([str(everyone), "--out", str(base / "grades.csv"), *options,
                     "--feedback", str(base / "feedback"), "--gradescope", str(base / "gradescope")])
    seconds = time.monotonic() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"code": code, "seconds": seconds, "rows": _rows(base / "grades.csv"),
            "clean": _rows(base / "clean.csv"), "honest": honest, "attacks": attacks, "base": base,
            "grown_mb": (rss_after - rss_before) / 1024}


def test_the_hostile_class_finishes_within_its_budgets(graded):
    assert graded["code"] == 0
    # 14 hostile notebooks with a 10 s budget each on 2 workers: 70 s if every one used it all;
    # the budgets, not the attacks, decide how long grading takes.
    assert graded["seconds"] < 150, graded["seconds"]  # a bound, not a speed goal: budgets hold


def test_the_graders_own_memory_stays_small(graded):
    assert graded["grown_mb"] < 400, graded["grown_mb"]


def test_honest_students_earn_exactly_what_they_earn_alone(graded):
    students = {e.student for e in graded["honest"]}
    mine = {k: v for k, v in graded["rows"].items() if k[0] in students}
    assert mine == graded["clean"]


def _check(entry, rows):
    got = {k[2]: v for k, v in rows.items() if k[0] == entry.student}
    assert got, f"no rows for {entry.student}"
    for exercise, (score, status) in entry.expect.items():
        row = got[exercise]
        if status is not None:
            assert row["status"] == status, (entry.student, exercise, row["status"], row["message"])
        if score is corpus.FULL:
            assert float(row["score"]) == POINTS[exercise], row
        elif isinstance(score, tuple) and score[0] == integrity.AT_MOST:
            assert float(row["score"]) <= score[1], row
        else:
            assert float(row["score"]) == score, row
    for exercise, text in entry.message.items():
        assert text.lower() in got[exercise]["message"].lower(), got[exercise]


@pytest.mark.parametrize("name", [e.student for e in integrity.entries()])
def test_each_attack_earns_what_it_should(graded, name):
    _check(next(e for e in graded["attacks"] if e.student == name), graded["rows"])


def test_no_attack_earns_more_than_a_fraction_of_the_notebook(graded):
    totals = {}
    for (student, _, _), row in graded["rows"].items():
        totals[student] = totals.get(student, 0.0) + float(row["score"])
    full = ASSIGNMENT.points
    for entry in graded["attacks"]:
        attacked = [n for n, (score, _) in entry.expect.items() if score is not corpus.FULL]
        honest_points = sum(POINTS[n] for n in entry.expect if n not in attacked)
        # (a float32 answer keeps the float32 group's point: its answer is right there)
        assert totals[entry.student] <= honest_points + 1.0 + 1e-9, (entry.student, totals[entry.student])
        assert totals[entry.student] < full


def test_hidden_inputs_never_reach_the_feedback(graded):
    text = (graded["base"] / "feedback" / "unearned_leaks_hidden_inputs.md").read_text()
    hidden = [line for line in text.splitlines() if "hidden check" in line]
    assert hidden and not any("LEAK" in line for line in hidden), hidden
    results = json.loads((graded["base"] / "gradescope" / "unearned_leaks_hidden_inputs" /
                          "results.json").read_text())
    for test in results["tests"]:
        for line in test["output"].splitlines():
            assert not ("hidden check" in line and "LEAK" in line), line


# ------------------------------------------------------------------- planning
def _notebook(*sources):
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s}
             for s in sources]
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


NAMES = list(corpus.SIGNATURES)


@pytest.mark.parametrize("source", [
    "def huber_loss(input, target, reduction='mean', delta=1.0):\n    x = (" + "\n" * 250_000,
    "x = (" + " \n" * 120_000,
    "import numpy as np\n" + "a = 0\n" * 4_900,
    "import numpy as np\n" + "a = 0; " * 20_000,
])
def test_pathological_cells_are_planned_in_well_under_a_second(source):
    started = time.process_time()
    try:
        plan = extract.plan(_notebook("import numpy as np", source), NAMES)
    except extract.NotebookError as error:
        assert error.status == "invalid"
    else:
        assert plan.exercises["huber_loss"].status in ("syntax", "missing")
    assert time.process_time() - started < 2.0  # a bound against quadratic blow-ups (old: 34 s)


def test_notebooks_beyond_the_size_caps_are_invalid_at_once(tmp_path):
    path = tmp_path / "01_regression.ipynb"
    path.write_text(json.dumps(_notebook(*["x = 1\n" * 30_000] * 8)))
    started = time.process_time()
    with pytest.raises(extract.NotebookError, match="KB of code"):
        extract.read_notebook(path)
    many = _notebook("import numpy as np\n" + "a = 0\n" * (extract.MAX_STATEMENTS + 1))
    with pytest.raises(extract.NotebookError, match="statements"):
        extract.plan(many, NAMES)
    assert time.process_time() - started < 2.0  # a bound against quadratic blow-ups (old: 34 s)


# ------------------------------------------------------------------- protocol
def _request(n_stmts=2, n_calls=3):
    return {"cells": [{"cell": 0, "stmts": [[k, "x = 1", k + 1] for k in range(n_stmts)]}],
            "names": ["f"], "calls": [{"i": i, "x": "f", "a": {"__tuple__": []}, "k": {"__dict__": []}}
                                      for i in range(n_calls)], "timeout": 1.0}


def _feed(lines, request=None):
    protocol = _Protocol(request or _request(), 100)
    attempt = Attempt()
    for line in lines:
        problem = protocol.feed(json.dumps(line).encode(), attempt)
        if problem:
            return problem
    return protocol.finished or "open"


HONEST = [{"e": "hello", "iso": "namespaces"}, {"e": "stmt", "c": 0, "k": 0},
          {"e": "stmt", "c": 0, "k": 1}, {"e": "ready", "defined": {"f": "ok"}}, {"e": "call", "i": 0},
          {"e": "res", "i": 0, "kind": "value"}, {"e": "call", "i": 2},
          {"e": "res", "i": 2, "kind": "error"}, {"e": "done"}]


def test_the_protocol_accepts_the_workers_own_order():
    assert _feed(HONEST) == "done"


@pytest.mark.parametrize("forged", [
    [{"e": "done"}],  # done in the middle of a call
    [{"e": "res", "i": 0, "kind": "value"}, {"e": "res", "i": 0, "kind": "value"}],  # answered twice
    [{"e": "call", "i": 0}],  # a call starting twice
    [{"e": "stmt", "c": 0, "k": 0}],  # a statement after the calls began
    [{"e": "ready", "defined": {}}],
    [{"e": "hello"}],
    [{"e": "x", "v": [0] * 10}],
])
def test_a_forged_message_out_of_turn_ends_the_run(forged):
    lines = HONEST[:5] + forged
    assert "out of turn" in _feed(lines) or "malformed" in _feed(lines)


def test_messages_that_move_no_clock_are_still_counted():
    flood = HONEST[:5] + [{"e": "exit", "code": 0}] * 100
    assert "too many messages" in _feed(flood)
    comma_flood = HONEST[:5]
    protocol = _Protocol(_request(), 100)
    attempt = Attempt()
    for line in comma_flood:
        protocol.feed(json.dumps(line).encode(), attempt)
    assert protocol.feed(b'{"e":"res","i":0,"v":[' + b"0," * 5000 + b"0]}", attempt) != ""


# -------------------------------------------------------------------- scoring
def _exercise(name):
    return ASSIGNMENT.exercise(name)


def test_every_public_group_is_redrawn_with_fresh_values():
    from course.assignments import assignments

    for assignment in assignments().values():
        for exercise in assignment.exercises:
            for group in exercise.groups:
                if group.hidden:
                    continue
                pairs = graded_cases(assignment, exercise, group, 123)
                public = [c for c, hidden in pairs if not hidden]
                fresh = [c for c, hidden in pairs if hidden]
                assert len(public) == len(fresh), (assignment.notebook, exercise.name, group.name)
                for a, b in zip(public, fresh):
                    same = all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y
                               for x, y in zip(list(a.args) + list(a.kwargs.values()),
                                               list(b.args) + list(b.kwargs.values())))
                    assert not same, (assignment.notebook, exercise.name, group.name, a.label)


def test_hidden_cases_differ_between_students_and_are_stable_for_one():
    seeds = {student_seed(7, s, "01_regression") for s in ("ada", "ben", "zz lee", "zz_lee")}
    assert len(seeds) == 4
    assert student_seed(7, "ada", "01_regression") == student_seed(7, "ada", "01_regression")
    assert student_seed(7, "ada", "01_regression") != student_seed(8, "ada", "01_regression")
    assert student_seed(7, "ada", "01_regression") != student_seed(7, "ada", "02_classification")
    group = next(g for g in _exercise("huber_loss").groups if g.hidden)
    one = graded_cases(ASSIGNMENT, _exercise("huber_loss"), group, student_seed(7, "ada", "01_regression"))
    two = graded_cases(ASSIGNMENT, _exercise("huber_loss"), group, student_seed(7, "ben", "01_regression"))
    assert not np.array_equal(one[0][0].args[0], two[0][0].args[0])


def _score(name, fn, seed=99):
    """As the grader scores (seed given) or as the learner's public check does (seed None)."""
    from course.assignments.judge import run_in_process

    return score_exercise(ASSIGNMENT, _exercise(name), lambda case: run_in_process(fn, case), seed,
                          include_hidden=seed is not None)


def test_raising_alone_earns_nothing_and_counts_once_the_values_are_right():
    def only_raises(*args, **kwargs):
        raise ValueError("bad")

    assert _score("huber_loss", only_raises).score == 0
    reference = _exercise("huber_loss").reference
    assert _score("huber_loss", reference).score == POINTS["huber_loss"]

    def right_values_no_checks(input, target, reduction="mean", delta=1.0):
        if np.shape(input) != np.shape(target) or reduction not in ("mean", "sum", "none"):
            return np.float64(0.0)
        return reference(input, target, reduction, delta)

    partial = _score("huber_loss", right_values_no_checks)
    assert 0 < partial.score < POINTS["huber_loss"]
    gated = [g for g in partial.groups if g.raises]
    assert gated and not any(g.gated for g in gated)  # values right: a missing check costs its own points


def test_a_table_of_public_answers_earns_nothing():
    answers = integrity.public_answers()

    def table(input, target, reduction="mean", delta=1.0):
        key = repr([np.asarray(a).tolist() for a in (input, target)] + [reduction, delta])
        found = answers.get(("huber_loss", key))
        if found == "raise":
            raise ValueError("bad")
        return np.array(found) if found is not None else np.float64(0.0)

    assert _score("huber_loss", table, seed=None).score > 0  # the public check alone is fooled...
    assert _score("huber_loss", table).score == 0  # ...the grader is not


def test_a_float32_answer_to_a_float64_case_is_a_dtype_error():
    expected = np.array([1.0, 2.0])
    assert "float64" in compare_values(expected, (expected * (1 + 3e-5)).astype(np.float32), 1e-6, 1e-9)
    assert compare_values(expected.astype(np.float32), (expected * (1 + 3e-5)).astype(np.float32),
                          1e-6, 1e-9) is None  # float32 cases keep float32's tolerance
    assert compare_values(expected, expected * (1 + 3e-5), 1e-6, 1e-9) == "wrong value"


def test_messages_of_hidden_cases_are_never_shown():
    exercise = _exercise("huber_loss")
    group = next(g for g in exercise.groups if g.hidden)
    case = graded_cases(ASSIGNMENT, exercise, group, 5)[0][0]
    expected = reference_outcome(exercise, case)
    leak = Outcome("error", error_type="ValueError", error_text="SECRET 1.234")
    assert "SECRET" not in judge(exercise, group, case, expected, leak, show_values=False).message
    named = Outcome("error", error_type="Leak_1_234", error_text="")
    assert "1_234" not in judge(exercise, group, case, expected, named, show_values=False).message
    invalid = Outcome("invalid", error_text="returned SECRET")
    assert "SECRET" not in judge(exercise, group, case, expected, invalid, show_values=False).message


# ----------------------------------------------------- below the guard: kernel
def _probe(box, body, timeout=20.0):
    source = "def probe():\n" + "\n".join("    " + line for line in body.strip().split("\n"))
    request = {"cells": [{"cell": 0, "stmts": [[0, "import numpy as np, os, time", 1], [1, source, 2]]}],
               "names": ["probe"], "timeout": timeout,
               "calls": [{"i": 0, "x": "probe", "a": {"__tuple__": []}, "k": {"__dict__": []}}]}
    return box.run(request)


@pytest.fixture(scope="module")
def bare_box():
    """The sandbox without its in-process guard, as code that got past it would find it."""
    box = Sandbox(Limits(timeout=20, memory_mb=512, notebook_seconds=60), guard=False)
    box.probe()
    if LINUX:
        assert box.cgroups().available, box.cgroups().why
    yield box
    box.close()


CHILDREN = """
pids = []
for _ in range(7):
    pid = os.fork()
    if pid == 0:
        hoard = np.ones(40_000_000)  # 320 MB each, touched
        time.sleep(30)
        os._exit(0)
    pids.append(pid)
time.sleep(4)
alive = sum(os.waitpid(pid, os.WNOHANG) == (0, 0) for pid in pids)
return np.array(alive)
"""

MEMFDS = """
written = 0
try:
    for k in range(100):
        fd = os.memfd_create(f"hoard{k}")
        os.write(fd, b"x" * (17 << 20))
        written += 17
except (OSError, MemoryError):
    pass
return np.array(written)
"""


@pytest.mark.skipif(not LINUX, reason="control groups are Linux only")
@pytest.mark.parametrize("attack", [CHILDREN, MEMFDS], ids=["seven-children", "memfds"])
def test_memory_is_limited_for_the_submission_as_a_whole(bare_box, attack):
    attempt = _probe(bare_box, attack)
    assert attempt.peak_bytes <= (512 + 32) << 20, attempt.peak_bytes >> 20
    results = [e for e in attempt.events if e.get("e") == "res"]
    if results and results[0].get("kind") == "value":
        from course.grading.wire import decode

        value = int(decode(results[0]["v"]))
        if attack is MEMFDS:
            assert value <= 512, value
        else:
            assert value < 7, value  # not every child could hold its memory
    else:
        assert attempt.oom or attempt.end != "done", attempt


@pytest.mark.skipif(not LINUX, reason="control groups are Linux only")
def test_processes_are_limited_for_the_submission_as_a_whole(bare_box):
    attempt = _probe(bare_box, """
made = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            time.sleep(20)
            os._exit(0)
        made += 1
except OSError:
    pass
return np.array(made)
""")
    from course.grading.wire import decode

    result = next(e for e in attempt.events if e.get("e") == "res")
    assert int(decode(result["v"])) < bare_box.limits.nproc


def test_no_installed_package_but_numpy_is_visible(bare_box):
    """The interpreter's own site-packages (the base of a virtual environment) are masked too."""
    import site
    import sysconfig

    base = pathlib.Path(sysconfig.get_paths(vars={"base": sys.base_prefix,
                                                  "platbase": sys.base_prefix})["purelib"])
    folders = {str(base), *site.getsitepackages()}
    attempt = _probe(bare_box, f"""
import sys
found = []
for folder in {sorted(folders)!r}:
    try:
        found += [folder + '/' + name for name in os.listdir(folder)]
    except OSError:
        pass
for name in ('yaml', 'scipy', 'sklearn', 'matplotlib', 'torch', 'IPython', 'pytest'):
    try:
        __import__(name)
        found.append(name)
    except ImportError:
        pass
raise RuntimeError(repr(found))
""")
    result = next(e for e in attempt.events if e.get("e") == "res")
    assert result["m"] == "[]", result["m"][:300]


def test_honest_idioms_are_never_flagged(tmp_path):
    """What honest students write: future imports, typing, math, a namedtuple, errstate,
    a seeded generator, and words such as exec or solutions/ in comments and strings."""
    helpers = '''from __future__ import annotations
import math
import functools
from collections import namedtuple
from typing import Optional, TypeVar

import numpy as np

Number = TypeVar("Number")
Settings = namedtuple("Settings", ["scale"], defaults=[1.0])
NOTE = "See solutions/01_regression.ipynb? No: we exec nothing and open no file."


def _mean(values: np.ndarray, reduction: Optional[str] = "mean"):
    # exec, eval, open: only words here
    rng = np.random.default_rng(0)
    _ = rng.normal(size=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        _ = np.log(np.zeros(1))
    return functools.reduce(lambda a, b: a + b, [values.mean() * Settings().scale, 0.0 * math.pi])
'''
    honest = corpus.solution_source("quantile_loss").replace(
        "def quantile_loss(", "def _honest_quantile_loss(")
    wrapper = (helpers + "\n\n" + honest + "\n\ndef quantile_loss(" + corpus.SIGNATURES["quantile_loss"]
               + "):\n    _mean(np.ones(3))\n    return _honest_quantile_loss(input, target, quantile, "
               "reduction)\n")
    entry = corpus.Entry("idioms", {corpus.NB: corpus.build({"quantile_loss": wrapper})})
    entry.write(tmp_path / "class")
    assert cli.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--seed", "1",
                     "--quiet", "--jobs", "1"]) == 0
    rows = _rows(tmp_path / "g.csv")
    statuses = {r["status"] for r in rows.values()} - {"manual"}  # written answers await a TA
    assert statuses == {"passed"}, [r["message"] for r in rows.values()]


def test_code_generated_from_a_students_string_is_still_refused(tmp_path):
    """namedtuple's own generated code passes; a string of the student's through eval does not."""
    attack = corpus.wrapped("quantile_loss", "np._core._internal.sys.modules['builtins'].eval('1 + 1')")
    entry = corpus.Entry("evals", {corpus.NB: corpus.build({"quantile_loss": attack})})
    entry.write(tmp_path / "class")
    assert cli.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--seed", "1",
                     "--quiet", "--jobs", "1"]) == 0
    assert _rows(tmp_path / "g.csv")[("evals", corpus.NB, "quantile_loss")]["status"] == "forbidden"
