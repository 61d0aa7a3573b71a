"""The sandbox itself: what student code can and cannot reach, and how hangs are charged.

Each test sends a small request (statements to run, calls to make) to a real
sandbox process and reads back what the code inside saw. On Linux the grader
must get namespace isolation; if it cannot, these tests fail and say why.
"""

import json
import os
import pathlib
import sys

import numpy as np
import pytest

from course.assignments import get
from course.grading import cli
from course.grading.grade import Submission, grade
from course.grading.sandbox import Limits, Sandbox, exit_signal
from course.grading.wire import decode

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from adversarial import corpus  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINUX = sys.platform.startswith("linux")


@pytest.fixture(scope="module")
def sandbox():
    # guard=False: these tests probe the layers below the in-process guard (namespaces,
    # file system, limits), so the student code here may import os, sys and socket.
    box = Sandbox(Limits(timeout=2, memory_mb=512), guard=False)
    isolation = box.probe()
    if LINUX:
        assert isolation == "namespaces", (
            f"no namespace sandbox on this Linux machine ({box.why}); the grader would run "
            "student code with resource limits only. Enable unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1) or run the grader as root.")
    yield box
    box.close()


def ask(box: Sandbox, body: str, setup: str = "import numpy as np, os, sys, socket"):
    """Run ``body`` as a function inside the sandbox; return what it returned (or raised)."""
    source = "def probe():\n" + "\n".join("    " + line for line in body.strip().split("\n"))
    request = {"cells": [{"cell": 0, "stmts": [[0, setup, 1], [1, source, 2]]}], "names": ["probe"],
               "calls": [{"i": 0, "x": "probe", "a": {"__tuple__": []}, "k": {"__dict__": []}}],
               "timeout": 5.0}
    attempt = box.run(request)
    result = next(e for e in attempt.events if e.get("e") == "res")
    if result["kind"] == "value":
        return decode(result["v"])
    return result


def seen(box, expression: str) -> str:
    """The text of ``expression`` evaluated inside the sandbox (exceptions as 'Type: text')."""
    result = ask(box, f"try:\n    raise RuntimeError(repr({expression}))\n"
                      "except RuntimeError:\n    raise\n"
                      "except BaseException as error:\n"
                      "    raise RuntimeError(type(error).__name__ + ': ' + str(error))")
    return result["m"]


def test_the_reference_and_torch_cannot_be_imported(sandbox):
    for module in ("course", "course.losses", "torch", "matplotlib", "sklearn"):
        assert "ModuleNotFoundError" in seen(sandbox, f"__import__({module!r})"), module
    assert "numpy" in seen(sandbox, "np.__name__")


def test_the_repository_solutions_and_home_are_invisible(sandbox):
    for path in (ROOT / "solutions", ROOT / "course", ROOT / "exercises", pathlib.Path.home() / ".ssh",
                 ROOT):
        assert "FileNotFoundError" in seen(sandbox, f"os.listdir({str(path)!r})"), path
    inside = pathlib.Path(seen(sandbox, "os.path.dirname(os.path.dirname(np.__file__))").strip("'"))
    assert sorted(json.loads(seen(sandbox, f"os.listdir({str(inside)!r})").replace("'", '"'))) == [
        p.name for p in sorted(pathlib.Path(np.__file__).parent.parent.iterdir())
        if p.name in ("numpy", "numpy.libs")]


def test_no_host_path_of_the_course_is_visible(sandbox):
    """sys.argv, the executable, every module's file and NumPy's path name nothing of the host."""
    secrets = (str(ROOT), "course/grading", "runner.py", ".venv", str(pathlib.Path(np.__file__).parent))
    probe = ("[s for s in [str(getattr(m, '__file__', '')) for m in list(sys.modules.values())] + "
             "sys.argv + list(sys.orig_argv) + [sys.executable, sys.prefix, sys.exec_prefix] + sys.path "
             f"if any(x in s for x in {secrets!r})]")
    assert seen(sandbox, probe) == "[]"
    assert seen(sandbox, "sys.argv") == "['course-grade-sandbox']"
    assert "/numpy/__init__.py" in seen(sandbox, "np.__file__")


def test_only_the_scratch_directory_is_writable(sandbox):
    assert seen(sandbox, "os.getcwd()") == "'/tmp'"
    assert seen(sandbox, "open('/tmp/scratch.txt', 'w').write('ok')") == "2"
    for path in ("/usr/pwned", "os.path.dirname(np.__file__) + '/pwned'", "/pwned",
                 "os.path.dirname(os.path.dirname(np.__file__)) + '/pwned'"):
        target = path if path.startswith("os.") else repr(path)
        assert "Read-only file system" in seen(sandbox, f"open({target}, 'w')") or \
            "Permission denied" in seen(sandbox, f"open({target}, 'w')"), path


def test_no_network_and_a_private_process_tree(sandbox):
    assert "Network is unreachable" in seen(
        sandbox, "socket.create_connection(('127.0.0.1', 9), timeout=1)")
    assert seen(sandbox, "os.getppid()") == "1"  # the namespace's own init, not the grader
    assert "FileNotFoundError" in seen(sandbox, "os.listdir('/proc')")


def test_the_graders_environment_does_not_leak(sandbox, monkeypatch):
    monkeypatch.setenv("COURSE_SECRET_TOKEN", "hunter2")
    assert "hunter2" not in seen(sandbox, "dict(os.environ)")


def test_no_capabilities_and_an_unprivileged_user(sandbox):
    status = seen(sandbox, "[l for l in open('/dev/null')]")
    assert status == "[]"
    if LINUX and os.geteuid() == 0:
        assert int(seen(sandbox, "os.getuid()")) >= 3_000_000_000
    assert "Operation not permitted" in seen(sandbox, "os.chroot('/tmp')")


@pytest.mark.skipif(not LINUX, reason="Linux namespaces only")
def test_the_user_namespace_path_isolates_too():
    """What an instructor without root gets (forced here even when running as root)."""
    box = Sandbox(Limits(timeout=2, memory_mb=512), isolation="namespaces", userns=True, guard=False)
    assert box.probe() == "namespaces", box.why
    assert "ModuleNotFoundError" in seen(box, "__import__('torch')")
    assert "FileNotFoundError" in seen(box, f"os.listdir({str(ROOT / 'solutions')!r})")
    assert "Read-only file system" in seen(box, "open('/usr/pwned', 'w')")
    assert "Network is unreachable" in seen(box, "socket.create_connection(('127.0.0.1', 9), 1)")
    remount = ("(__import__('ctypes').CDLL(None, use_errno=True).mount(None, b'/usr', None, "
               "4096 | 32, None), __import__('ctypes').get_errno())")
    assert seen(box, remount) == "(-1, 1)"  # EPERM: no capability left to make it writable
    box.close()


def test_limits_only_mode_still_grades_and_blocks_the_reference(tmp_path, capsys):
    box = Sandbox(Limits(timeout=2, memory_mb=1024), isolation="limits")
    assert box.probe() == "limits"
    assert "ModuleNotFoundError" in seen(box, "__import__('torch')")
    assert "ModuleNotFoundError" in seen(box, "__import__('course.losses')")
    box.close()
    write = tmp_path / "class" / "ann" / corpus.NB
    write.parent.mkdir(parents=True)
    write.write_text(json.dumps(corpus.build()))
    assert cli.main([str(tmp_path / "class"), "--out", str(tmp_path / "g.csv"), "--quiet",
                     "--isolation", "limits"]) == 0
    assert capsys.readouterr().err.count("resource limits only") == 1
    assert (tmp_path / "g.csv").read_text().count(",passed,") == len(get(corpus.STEM).exercises)


def test_a_hang_outside_the_function_costs_only_the_exercise_in_that_cell(sandbox):
    # Module-level code in huber_loss's cell never finishes; the other two still earn full marks.
    source = "def _forever():\n    while True:\n        pass\n\n\nSCALE = _forever()\n\n\n"
    nb = corpus.build({"huber_loss": source + corpus.wrapped("huber_loss", "SCALE")})
    path = pathlib.Path(os.environ.get("TMPDIR", "/tmp"))
    report = _grade_notebook(sandbox, nb, path)
    rows = {r.exercise: r for r in report.rows}
    assert rows["huber_loss"].status == "timeout" and rows["huber_loss"].score == 0
    assert "did not finish in time" in rows["huber_loss"].message and "cell 4" in rows["huber_loss"].message
    assert rows["huber_loss_grad"].status == rows["quantile_loss"].status == "passed"


def test_a_crash_in_the_import_cell_is_survived(sandbox):
    nb = corpus.build()
    nb["cells"][1]["source"] = ["import numpy as np\n", "import os\n", "BOOM = os._exit(0)\n"]
    report = _grade_notebook(sandbox, nb, pathlib.Path("/tmp"))
    assert {r.status for r in report.rows} - {"manual"} == {"passed"}


def _grade_notebook(box, nb, folder: pathlib.Path):
    import tempfile

    from course.assignments import assignments

    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        path = pathlib.Path(scratch) / corpus.NB
        path.write_text(json.dumps(nb))
        return grade(Submission("ann", corpus.NB, path), assignments(), box, hidden_seed=5)


def test_exit_signals_are_named():
    assert exit_signal("the process was killed by SIGXCPU") == "SIGXCPU"
    assert exit_signal("it ended the process with exit code 3, e.g. by os._exit") == ""


def test_killing_the_grader_mid_run_keeps_finished_rows_and_leaves_no_process(tmp_path):
    import signal
    import subprocess
    import time

    from test_grading_adversarial import _left_after, _processes_mentioning

    hang = corpus.function("huber_loss", "while True:\n    try:\n        pass\n    except BaseException:\n"
                                         "        pass")
    for student, answers in (("a_honest", None), ("b_hangs", {"huber_loss": hang}),
                             ("c_honest", None), ("d_hangs", {"huber_loss": hang})):
        path = tmp_path / "class" / student / corpus.NB
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(corpus.build(answers)))
    marker = tmp_path / "tmp"  # names every process of this grader run
    marker.mkdir()
    out = tmp_path / "g.csv"
    command = [sys.executable, "-m", "course.grading", str(tmp_path / "class"), "--out", str(out),
               "--jobs", "1", "--timeout", "1", "--quiet", "--seed", "9"]
    grader = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(marker)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or "a_honest" not in out.read_text()):
        time.sleep(0.05)
    time.sleep(0.3)  # b_hangs is in its sandbox now
    assert _processes_mentioning(str(marker)), "the sandbox should be running"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    assert _left_after(str(marker)) == []  # zygote and sandbox died with the grader
    rows = out.read_text().splitlines()
    assert rows[0] == "student,notebook,exercise,score,max_score,status,message"
    per_notebook = len(get(corpus.STEM).exercises) + len(get(corpus.STEM).written)
    assert [r.split(",")[0] for r in rows[1:1 + per_notebook]] == ["a_honest"] * per_notebook
    done = subprocess.run(command + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "kept 1" in done.stdout
    final = [r.split(",") for r in out.read_text().splitlines()[1:]]
    assert sorted({r[0] for r in final}) == ["a_honest", "b_hangs", "c_honest", "d_hangs"]
    hangs = [r[5] for r in final if r[0] == "d_hangs"]
    assert hangs[0] == "timeout" and set(hangs[1:]) - {"manual"} == {"passed"}, hangs



def test_ctrl_c_stops_at_once_and_leaves_no_process(tmp_path):
    """Interrupting a run stops it within seconds, whatever is queued or hanging."""
    import signal
    import subprocess
    import time

    from test_grading_adversarial import _left_after, _processes_mentioning

    hang = corpus.function("huber_loss", "while True:\n    pass")
    for k in range(12):
        path = tmp_path / "class" / f"s{k:02d}" / corpus.NB
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(corpus.build({"huber_loss": hang})))
    marker = tmp_path / "tmp"
    marker.mkdir()
    command = [sys.executable, "-m", "course.grading", str(tmp_path / "class"), "--out",
               str(tmp_path / "g.csv"), "--jobs", "2", "--timeout", "5", "--quiet", "--seed", "9"]
    grader = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "TMPDIR": str(marker)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _processes_mentioning(str(marker)):
        time.sleep(0.05)
    time.sleep(1.0)  # two notebooks hang in their sandboxes, ten are queued (12 x 7.5 s if waited)
    started = time.monotonic()
    grader.send_signal(signal.SIGINT)
    assert grader.wait(timeout=30) == 130
    assert time.monotonic() - started < 10  # (waiting would take the whole class: 12 x 7.5 s)
    assert "interrupted" in grader.stderr.read()
    assert _left_after(str(marker)) == []
