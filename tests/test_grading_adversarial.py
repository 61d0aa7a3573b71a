"""The grader against an adversarial class: every attack earns what it should, nothing else moves.

One clean run grades the honest students; a second run grades them again
together with every attack in tests/adversarial/corpus.py, with the same
hidden seed, in parallel. That run switches off the in-process guard (which
refuses ``import os`` and the like), so the attacks reach the layers below
it (namespaces, limits, cgroups, the protocol) as code that got past the
guard would; a third run, with the guard on as shipped, must cost each
attack no more than the first did. The honest rows must be identical, each attack
must earn its expected score and status, and afterwards no process of the
run may be alive, no file may have appeared outside the sandbox, and the
local listener must never have been reached.
"""

import csv
import functools
import os
import pathlib
import random
import socket
import sys
import tempfile
import time

import pytest

from course.assignments import get
from course.grading import cli
from course.grading.sandbox import Sandbox

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus  # noqa: E402

ASSIGNMENT = get(corpus.STEM)
POINTS = {e.name: e.points for e in ASSIGNMENT.exercises}
SEED = "20261127"


def _rows(path: pathlib.Path) -> dict:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["student", "notebook", "exercise", "score", "max_score", "status", "message"]
        rows = {}
        for row in reader:
            key = (row[0], row[1], row[2])
            assert key not in rows, f"duplicate row {key}"
            rows[key] = row
        return rows


def _left_after(text: str, seconds: float = 3.0) -> list[str]:
    """Processes mentioning ``text`` once the kernel has had ``seconds`` to tear them down."""
    deadline = time.monotonic() + seconds
    while True:
        found = _processes_mentioning(text)
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    roots = base / "sandbox-roots"  # every sandbox's temporary root lives here
    roots.mkdir()
    token = f"{random.randint(100000, 999999)}.{random.randint(1000, 9999)}"
    outside = [corpus.ROOT / f"PWNED-{token}", base / f"PWNED-{token}",
               pathlib.Path(tempfile.gettempdir()) / f"PWNED-{token}",
               pathlib.Path.home() / f"PWNED-{token}"]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    udp.setblocking(False)

    honest = corpus.honest_students()
    attacks = corpus.adversarial(corpus.ROOT, port, token, outside)
    clean, everyone = base / "clean", base / "class"
    for entry in honest:
        entry.write(clean)
    for entry in honest + attacks:
        entry.write(everyone)

    old_tempdir = tempfile.tempdir
    tempfile.tempdir = str(roots)
    options = ["--seed", SEED, "--timeout", "2", "--memory", "256", "--jobs", "2", "--quiet"]
    try:
        assert cli.main([str(clean), "--out", str(base / "clean.csv"), *options]) == 0
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(cli, "Sandbox", functools.partial(Sandbox, guard=False))
            started = time.monotonic()
            code = cli.main([str(everyone), "--out", str(base / "grades.csv"), *options,
                             "--feedback", str(base / "feedback"), "--gradescope",
                             str(base / "gradescope")])
            seconds = time.monotonic() - started
        assert cli.main([str(everyone), "--out", str(base / "guarded.csv"), *options]) == 0
    finally:
        tempfile.tempdir = old_tempdir
    time.sleep(0.2)  # let the kernel finish tearing down the last namespaces
    try:
        connection = tcp.accept()
    except BlockingIOError:
        connection = None
    try:
        datagram = udp.recv(100)
    except BlockingIOError:
        datagram = None
    tcp.close()
    udp.close()
    return {
        "code": code, "seconds": seconds, "clean": _rows(base / "clean.csv"),
        "rows": _rows(base / "grades.csv"), "guarded": _rows(base / "guarded.csv"), "honest": honest,
        "attacks": attacks, "base": base,
        "roots": roots, "token": token, "outside": outside, "connection": connection,
        "datagram": datagram,
    }


def test_grading_ran_and_finished_within_its_budget(graded):
    assert graded["code"] == 0
    assert graded["seconds"] < 90, graded["seconds"]


def test_honest_rows_are_identical_to_a_clean_run(graded):
    students = {e.student for e in graded["honest"]}
    mine = {k: v for k, v in graded["rows"].items() if k[0] in students}
    assert mine == graded["clean"]
    assert len(mine) == len({k[2] for k in graded["clean"]}) * len(students)


def _check(entry, rows):
    got = {k: v for k, v in rows.items() if k[0] == entry.student}
    assert got, f"no rows for {entry.student}"
    by_exercise = {k[2]: v for k, v in got.items()}
    for exercise, (score, status) in entry.expect.items():
        row = by_exercise.get(exercise)
        assert row is not None, (entry.student, exercise, sorted(got))
        if status is not None:
            assert row[5] == status, (entry.student, exercise, row)
        if score is corpus.FULL:
            assert float(row[3]) == POINTS[exercise] == float(row[4]), row
        elif score == "partial":
            assert 0 < float(row[3]) < float(row[4]), row
        else:
            assert float(row[3]) == score, row
    for exercise, text in entry.message.items():
        assert text.lower() in by_exercise[exercise][6].lower(), by_exercise[exercise]


def test_honest_students_earn_what_they_should(graded):
    for entry in graded["honest"]:
        _check(entry, graded["rows"])


@pytest.mark.parametrize("name", [e.student for e in corpus.adversarial(corpus.ROOT, 1, "1.1", [])])
def test_each_attack_earns_its_expected_score_and_status(graded, name):
    entry = next(e for e in graded["attacks"] if e.student == name)
    _check(entry, graded["rows"])


@pytest.mark.parametrize("name", [e.student for e in corpus.adversarial(corpus.ROOT, 1, "1.1", [])])
def test_with_the_guard_on_each_attack_earns_no_more_and_costs_only_its_exercise(graded, name):
    entry = next(e for e in graded["attacks"] if e.student == name)
    for exercise, (score, _) in entry.expect.items():
        key = (entry.student, corpus.NB, exercise)
        guarded, bare = graded["guarded"].get(key), graded["rows"].get(key)
        if guarded is None:
            continue
        assert float(guarded[3]) <= float(bare[3]), (guarded, bare)
        if score is corpus.FULL and exercise not in entry.attacked:
            assert float(guarded[3]) == POINTS[exercise], guarded


def test_every_student_has_rows_and_a_feedback_report(graded):
    students = {e.student for e in graded["honest"] + graded["attacks"]}
    assert {k[0] for k in graded["rows"]} == students
    unknown = [v for k, v in graded["rows"].items() if k[0] == "unknown_name"]
    assert {row[5] for row in unknown} == {"unknown", "missing"}  # and 01_regression marked missing
    for student in students:
        assert (graded["base"] / "feedback" / f"{student}.md").exists()
        assert (graded["base"] / "gradescope" / student / "results.json").exists()


def test_no_process_of_the_run_is_left(graded):
    assert _left_after(graded["token"]) == []
    assert _left_after(str(graded["roots"])) == []


def test_the_leftover_check_sees_sandbox_processes_while_they_live(tmp_path, monkeypatch):
    from course.grading.sandbox import Sandbox

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    box = Sandbox()
    box.probe()
    assert _processes_mentioning(str(tmp_path))  # the sandbox's zygote, at least
    box.close()
    assert _left_after(str(tmp_path)) == []


def test_nothing_was_written_outside_the_sandbox(graded):
    for path in graded["outside"]:
        assert not path.exists(), path
    assert list(graded["roots"].iterdir()) == []


def test_the_local_listener_was_never_reached(graded):
    assert graded["connection"] is None
    assert graded["datagram"] is None
