"""Grading beyond one machine: a stable secret, shards and their merge, the cluster scripts,
the Gradescope package, the fallback without namespaces, and the registrar's files.

The oracle for sharding is a single run: N shards merged must give exactly its gradebook.
"""

import argparse
import csv
import datetime as dt
import json
import os
import pathlib
import stat
import subprocess
import sys
import zipfile

import pytest

from course.assignments.spec import exercise_file
from course.grading import cli, registrar, shards
from course.grading.sandbox import Limits, Sandbox

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OPTIONS = ["--timeout", "2", "--jobs", "2", "--quiet"]


def _class(folder: pathlib.Path) -> pathlib.Path:
    """Seven students: honest, partial, blank, and one hostile."""
    blank = json.loads((ROOT / "exercises" / exercise_file(corpus.STEM)).read_text())
    entries = corpus.honest_students() + [
        corpus.Entry("dee", {corpus.NB: corpus.build()}),
        corpus.Entry("eve_blank", {corpus.NB: blank}),
        corpus.Entry("fay", {corpus.NB: corpus.build(to_end=["quantile_loss"])}),
        corpus.Entry("gus_loops", {corpus.NB: corpus.build({"huber_loss": corpus.function(
            "huber_loss", "while True:\n    pass")})}),
    ]
    for entry in entries:
        entry.write(folder)
    return folder


def _read(path):
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("scale")
    submissions = _class(base / "class")
    secret = base / "keys" / "course.secret"
    assert cli.main([str(submissions), "--out", str(base / "one.csv"), "--secret", str(secret),
                     "--feedback", str(base / "one-feedback"), *OPTIONS]) == 0
    return base, submissions, secret


def test_the_secret_is_created_private_and_reused(one_run, tmp_path):
    base, submissions, secret = one_run
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert len(secret.read_text().strip()) == 64
    assert cli.main([str(submissions), "--out", str(tmp_path / "again.csv"), "--secret", str(secret),
                     *OPTIONS]) == 0
    assert _read(tmp_path / "again.csv") == _read(base / "one.csv")  # same hidden cases, same rows
    meta = json.loads(_read(base / "one.csv.meta.json"))
    assert meta["secret"] == shards.fingerprint(secret.read_text().strip().encode())
    assert secret.read_text().strip() not in _read(base / "one.csv.meta.json")


def test_the_default_secret_lives_next_to_the_gradebook(tmp_path):
    folder = _class(tmp_path / "class")
    assert cli.main([str(folder / "dee"), "--out", str(tmp_path / "out" / "g.csv"), *OPTIONS]) == 0
    default = tmp_path / "out" / shards.DEFAULT_SECRET_NAME
    assert default.exists() and stat.S_IMODE(default.stat().st_mode) == 0o600


def test_shards_are_a_stable_partition_of_the_students():
    students = [f"s{k}" for k in range(300)]
    for count in (1, 2, 5):
        assigned = [shards.shard_of(s, count) for s in students]
        assert set(assigned) == set(range(1, count + 1))
        assert assigned == [shards.shard_of(s, count) for s in students]  # stable
    with pytest.raises(shards.ShardError):
        shards.parse_shard("4/3")


def test_n_shards_merged_equal_one_run(one_run, tmp_path):
    base, submissions, secret = one_run
    parts = []
    for index in (1, 2, 3):
        out = tmp_path / f"grades-{index}.csv"
        assert cli.main([str(submissions), "--out", str(out), "--secret", str(secret), "--shard",
                         f"{index}/3", "--feedback", str(tmp_path / f"feedback-{index}"), *OPTIONS]) == 0
        parts.append(out)
    assert cli.main(["merge", "--out", str(tmp_path / "merged.csv"), "--feedback",
                     str(tmp_path / "feedback"), *map(str, parts)]) == 0
    merged = sorted(csv.reader(open(tmp_path / "merged.csv")))
    assert merged == sorted(csv.reader(open(base / "one.csv")))
    one = {p.name: p.read_text() for p in (base / "one-feedback").iterdir()}
    assert {p.name: p.read_text() for p in (tmp_path / "feedback").iterdir()} == one


def test_merge_refuses_shards_graded_with_different_secrets(one_run, tmp_path, capsys):
    base, submissions, secret = one_run
    other = tmp_path / "other.csv"
    assert cli.main([str(submissions), "--out", str(other), "--secret", str(tmp_path / "new.secret"),
                     "--shard", "1/2", *OPTIONS]) == 0
    mine = tmp_path / "mine.csv"
    assert cli.main([str(submissions), "--out", str(mine), "--secret", str(secret), "--shard", "2/2",
                     *OPTIONS]) == 0
    assert cli.main(["merge", "--out", str(tmp_path / "m.csv"), str(mine), str(other)]) == 2
    assert "another secret" in capsys.readouterr().err
    assert cli.main(["merge", "--out", str(tmp_path / "m.csv"), str(mine), str(mine)]) == 2


@pytest.mark.parametrize("scheduler", ["slurm", "kubernetes"])
def test_the_cluster_script_grades_each_shard_as_the_scheduler_numbers_it(one_run, tmp_path, scheduler):
    base, submissions, secret = one_run
    env = {**os.environ, "SUBMISSIONS": str(submissions), "OUT": str(tmp_path / "grading"),
           "SECRET": str(secret), "SHARDS": "2", "JOBS": "1",
           "COURSE_GRADE": f"{sys.executable} -m course.grading --timeout 2"}
    for task in range(2):
        if scheduler == "slurm":
            env.update(SLURM_ARRAY_TASK_ID=str(task + 1), SLURM_ARRAY_TASK_COUNT="2")
        else:
            env.update(JOB_COMPLETION_INDEX=str(task))
        subprocess.run(["bash", str(ROOT / "docs" / "cluster" / "grade-shard.sh")], env=env, check=True,
                       cwd=ROOT, capture_output=True)
    out = tmp_path / "grading"
    assert cli.main(["merge", "--out", str(out / "grades.csv"), str(out / "grades-1.csv"),
                     str(out / "grades-2.csv")]) == 0
    assert sorted(csv.reader(open(out / "grades.csv"))) == sorted(csv.reader(open(base / "one.csv")))


def test_the_kubernetes_manifest_runs_the_same_script():
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with JupyterLab's dependencies")
    job = yaml.safe_load((ROOT / "docs" / "cluster" / "k8s-grade-job.yaml").read_text())
    spec = job["spec"]
    assert job["kind"] == "Job" and spec["completionMode"] == "Indexed"
    container = spec["template"]["spec"]["containers"][0]
    assert container["command"][0].endswith("docs/cluster/grade-shard.sh")
    env = {item["name"]: item["value"] for item in container["env"]}
    assert int(env["SHARDS"]) == spec["completions"]


# ------------------------------------------------------------------ Gradescope
@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    base = tmp_path_factory.mktemp("gradescope")
    secret = base / "course.secret"
    assert cli.main(["package", "gradescope", "--out", str(base / "autograder.zip"), "--secret",
                     str(secret)]) == 0
    return base, secret


def _run_autograder(base: pathlib.Path, notebook) -> dict:
    root = base / "root"
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    with zipfile.ZipFile(base / "autograder.zip") as zf:
        zf.extractall(root / "source")
    (root / "submission").mkdir(parents=True)
    if notebook is not None:
        (root / "submission" / corpus.NB).write_text(json.dumps(notebook))
    (root / "submission_metadata.json").write_text(json.dumps({"users": [{"email": "ada@example.edu"}]}))
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads((root / "results" / "results.json").read_text())


def test_the_package_holds_what_gradescope_runs(autograder):
    base, secret = autograder
    with zipfile.ZipFile(base / "autograder.zip") as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "requirements.txt", "secret"} <= names
        assert "course/grading/gradescope.py" in names and "course/losses/regression.py" in names
        assert not any(n.startswith(("solutions/", "tests/")) for n in names)
        assert zf.read("secret").strip() == secret.read_bytes().strip()
        requirements = zf.read("requirements.txt").decode()
        assert "numpy==" in requirements and "torch" not in requirements
        assert stat.S_IMODE(zf.getinfo("run_autograder").external_attr >> 16) & 0o111


def test_gradescope_honest_blank_and_hostile_submissions(autograder):
    base, _ = autograder
    from course.assignments import get

    full = get("01_regression").points
    honest = _run_autograder(base, corpus.build())
    assert honest["score"] == pytest.approx(full)
    visibilities = {t["visibility"] for t in honest["tests"]}
    assert visibilities == {"visible", "after_published"}
    hidden = [t for t in honest["tests"] if t["visibility"] == "after_published"]
    assert all("hidden check" in t["output"] for t in hidden)

    blank = _run_autograder(base, json.loads((ROOT / "exercises" / exercise_file(corpus.STEM)).read_text()))
    assert blank["score"] == 0

    hostile = corpus.build({"huber_loss": corpus.function("huber_loss", "while True:\n    pass"),
                            "quantile_loss": corpus.wrapped("quantile_loss",
                                                            "np.ctypeslib.ctypes.CDLL(None).getpid()")})
    attacked = _run_autograder(base, hostile)
    points = {e.name: e.points for e in get("01_regression").exercises}
    assert attacked["score"] == pytest.approx(full - points["huber_loss"] - points["quantile_loss"])
    assert _run_autograder(base, None)["score"] == 0  # nothing handed in


def test_the_same_secret_gives_the_same_hidden_cases_on_gradescope_and_locally(autograder, tmp_path):
    base, secret = autograder
    partial = corpus.honest_students()[2]  # fails a hidden check; its row depends on the cases
    result = _run_autograder(base, partial.files[corpus.NB])
    folder = tmp_path / "ada@example.edu"
    folder.mkdir()
    (folder / corpus.NB).write_text(json.dumps(partial.files[corpus.NB]))
    assert cli.main([str(folder), "--out", str(tmp_path / "g.csv"), "--secret", str(secret), *OPTIONS]) == 0
    local = sum(float(r["score"]) for r in csv.DictReader(open(tmp_path / "g.csv")))
    assert result["score"] == pytest.approx(local)


# ---------------------------------------------------- fallback without namespaces
@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="the fallback drops root")
def test_the_fallback_keeps_student_code_away_from_root_only_files(tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "secret").write_text("hunter2")
    (private / "secret").chmod(0o600)
    box = Sandbox(Limits(timeout=5, memory_mb=512), isolation="limits", guard=False)
    assert box.probe() == "limits"
    body = f"""
import os
out = [os.getuid() != 0, os.getcwd().startswith('/tmp')]
for path in ({str(private / 'secret')!r}, {str(private)!r}):
    try:
        open(path).read() if path.endswith('secret') else os.listdir(path)
        out.append('read ' + path)
    except PermissionError:
        out.append('refused')
raise RuntimeError(repr(out))
"""
    source = "def probe():\n" + "\n".join("    " + line for line in body.strip().split("\n"))
    attempt = box.run({"cells": [{"cell": 0, "stmts": [[0, source, 1]]}], "names": ["probe"],
                       "calls": [{"i": 0, "x": "probe", "a": {"__tuple__": []}, "k": {"__dict__": []}}],
                       "timeout": 5.0})
    box.close()
    result = next(e for e in attempt.events if e.get("e") == "res")
    assert result["m"] == repr([True, True, "refused", "refused"])


# ------------------------------------------------------------------- registrar
def test_totals_canvas_and_late_days(one_run, tmp_path):
    base, submissions, secret = one_run
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at\nhonest_ada,2026-12-01T23:00\nhonest_ben,2026-12-03T00:30\n")
    roster = tmp_path / "roster.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n"
                      "    Points Possible,,,,\nAda Lovelace,101,u101,honest_ada,A\n")
    assert cli.main([str(submissions), "--out", str(tmp_path / "g.csv"), "--secret", str(secret),
                     "--totals", str(tmp_path / "totals.csv"), "--canvas", str(tmp_path / "canvas.csv"),
                     "--roster", str(roster), "--due", "2026-12-02T00:00", "--submission-times", str(times),
                     "--late-penalty", "0.25", *OPTIONS]) == 0
    raw = {}
    for row in csv.DictReader(open(tmp_path / "g.csv")):
        raw[row["student"]] = raw.get(row["student"], 0.0) + float(row["score"])
    totals = {r["student"]: r for r in csv.DictReader(open(tmp_path / "totals.csv"))}
    assert set(totals) == set(raw)
    assert float(totals["honest_ada"]["total"]) == pytest.approx(raw["honest_ada"])  # on time
    assert totals["honest_ben"]["days_late"] == "2"  # 24.5 hours late: two started days
    assert float(totals["honest_ben"]["total"]) == pytest.approx(raw["honest_ben"] * 0.5)
    assert float(totals["dee"]["01_regression"]) == pytest.approx(raw["dee"])
    canvas = list(csv.reader(open(tmp_path / "canvas.csv")))
    assert canvas[0][:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas[1][0] == "Points Possible"
    ada = next(r for r in canvas if r[3] == "honest_ada")
    assert ada[:2] == ["Ada Lovelace", "101"] and float(ada[5]) == pytest.approx(raw["honest_ada"])
    assert registrar.days_late(dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc),
                               dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)) == 0


def test_totals_count_every_name_the_grader_recognised(tmp_path):
    """A notebook handed in as "Copy of 01_regression.ipynb" is graded as 01_regression: its points
    and its submission time must reach the totals too (they were silently dropped)."""
    from course.assignments import assignments

    known = assignments()
    rows = [["ann", "Copy of 01_regression.ipynb", "huber_loss", "4", "5", "passed", ""],
            ["ann", "handin/01_regression (1).ipynb", "quantile_loss", "1", "5", "passed", ""],
            ["bo", "01_regression.ipynb", "huber_loss", "5", "5", "passed", ""],
            ["cy", "notes.ipynb", "", "0", "0", "unknown", ""]]
    times = tmp_path / "times.csv"
    times.write_text("student,submitted_at,notebook\nann,2026-12-02T12:00,Copy of 01_regression.ipynb\n"
                     "bo,2026-12-01T10:00,01_regression\n")
    args = argparse.Namespace(submission_times=times, due_at=registrar._when("2026-12-02T00:00", "due"),
                              late_penalty=0.25)
    stems, points, maxima, late = registrar.totals(rows, known, args)
    assert stems == ["01_regression"] and set(points) == {"ann", "bo"}
    assert late["ann"]["01_regression"] == 1 and late["bo"]["01_regression"] == 0
    assert points["ann"]["01_regression"] == pytest.approx((4 + 1) * 0.75)
    assert points["bo"]["01_regression"] == pytest.approx(5)
    assert maxima["01_regression"] == known["01_regression"].points
