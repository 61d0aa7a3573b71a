"""Adversarial submissions for the grader, built from the 01_regression notebooks.

Each :class:`Entry` is one student: the files they hand in and what every
exercise must earn. Attacks are small source snippets substituted into the
cell that defines a function; most attack one exercise and leave the others
honest (copied from the solution), so the tests also show that a broken
function costs that exercise only.
"""

from __future__ import annotations

import json
import pathlib
import re
import textwrap
from dataclasses import dataclass, field

ROOT = pathlib.Path(__file__).resolve().parents[2]
STEM = "01_regression"
SIGNATURES = {
    "huber_loss": 'input, target, reduction="mean", delta=1.0',
    "huber_loss_grad": 'input, target, reduction="mean", delta=1.0',
    "quantile_loss": 'input, target, quantile=0.5, reduction="mean"',
    "huber_fit": "x, y, delta, lr, steps",
}
CALL_ARGS = {
    "huber_loss": "input, target, reduction, delta",
    "huber_loss_grad": "input, target, reduction, delta",
    "quantile_loss": "input, target, quantile, reduction",
    "huber_fit": "x, y, delta, lr, steps",
}


def load(folder: str = "solutions") -> dict:
    name = f"{STEM}_exercise.ipynb" if folder == "exercises" else f"{STEM}.ipynb"
    return json.loads((ROOT / folder / name).read_text(encoding="utf-8"))


def _defining_cell(notebook: dict, name: str) -> int:
    pattern = re.compile(rf"^def {name}\(", re.M)
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code" and pattern.search("".join(cell["source"])):
            return index
    raise KeyError(name)


def solution_source(name: str) -> str:
    notebook = load()
    return "".join(notebook["cells"][_defining_cell(notebook, name)]["source"])


def build(answers: dict[str, str] | None = None, *, base: str = "solutions", drop=(),
          to_end=(), version=None) -> dict:
    """A notebook from ``base`` with some function cells replaced, dropped or moved to the end."""
    notebook = load(base)
    for name, source in (answers or {}).items():
        notebook["cells"][_defining_cell(notebook, name)]["source"] = source.splitlines(keepends=True)
    moved = [notebook["cells"][_defining_cell(notebook, n)] for n in to_end]
    removed = [notebook["cells"][_defining_cell(notebook, n)] for n in drop]
    notebook["cells"] = [c for c in notebook["cells"] if all(c is not m for m in moved + removed)]
    notebook["cells"] += moved
    if version is not None:
        notebook["metadata"]["course"] = {"assignment": STEM, "version": version}
    return notebook


def wrapped(name: str, attack: str, then: str = "honest") -> str:
    """A cell whose ``name`` runs ``attack`` first, then returns the honest answer (or ``then``)."""
    honest = solution_source(name).replace(f"def {name}(", f"def _honest_{name}(")
    body = textwrap.indent(textwrap.dedent(attack).strip("\n"), "    ")
    tail = f"return _honest_{name}({CALL_ARGS[name]})" if then == "honest" else then
    return f"{honest}\n\n\ndef {name}({SIGNATURES[name]}):\n{body}\n    {tail}\n"


def function(name: str, body: str) -> str:
    return f"def {name}({SIGNATURES[name]}):\n{textwrap.indent(textwrap.dedent(body).strip(), '    ')}\n"


@dataclass
class Entry:
    """One student: files handed in, and (score or None for full marks, status) per exercise."""

    student: str
    files: dict[str, object]  # file name -> notebook dict or raw bytes
    expect: dict[str, tuple] = field(default_factory=dict)
    message: dict[str, str] = field(default_factory=dict)  # exercise -> text the message contains
    attacked: tuple = ()  # the exercise(s) whose code carries the attack (the rest are honest)

    def write(self, folder: pathlib.Path) -> None:
        target = folder / self.student
        target.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            data = content if isinstance(content, bytes) else json.dumps(content).encode()
            (target / name).write_bytes(data)


FULL = None  # expected score: the exercise's full points
NB = f"{STEM}.ipynb"


def honest_students() -> list[Entry]:
    partial = function("huber_loss", """
        d = np.abs(np.asarray(input) - np.asarray(target))
        loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
        if reduction == "none":
            return loss
        return loss.sum()
    """)
    return [
        Entry("honest_ada", {NB: build()}, {n: (FULL, "passed") for n in SIGNATURES}),
        Entry("honest_ben", {NB: build(to_end=["huber_loss"])}, {n: (FULL, "passed") for n in SIGNATURES}),
        Entry("partial_cy", {NB: build({"huber_loss": partial})},
              {"huber_loss": ("partial", "failed"), "huber_loss_grad": (FULL, "passed"),
               "quantile_loss": (FULL, "passed")},
              {"huber_loss": "a sum where a mean"}),
    ]


def _one(student, name, source, score, status, message="", **build_options) -> Entry:
    expect = {n: (FULL, "passed") for n in SIGNATURES}
    expect[name] = (score, status)
    attacked = (name,)
    if name == "huber_loss_grad":  # the experiment huber_fit calls the student's gradient
        attacked += ("huber_fit",)
        if status != "passed":
            expect["huber_fit"] = (0, None)
    return Entry(student, {NB: build({name: source}, **build_options)}, expect,
                 {name: message} if message else {}, attacked)


def adversarial(repo: pathlib.Path, port: int, token: str, outside: list[pathlib.Path]) -> list[Entry]:
    """The attacks. ``port``: a listener that must never be reached; ``token``: marks processes
    and files; ``outside``: paths that must not exist after grading."""
    writes = "import pathlib\n" + "\n".join(
        f"for write in (lambda p: pathlib.Path(p).write_text('pwned'), lambda p: np.savetxt(p, [1.0])):\n"
        f"    try:\n        write({str(p)!r})\n    except OSError:\n        pass" for p in outside)
    entries = [
        _one("loop", "huber_loss", function("huber_loss", "while True:\n    pass"),
             0, "timeout", "timed out"),
        _one("loop_swallowing_alarm", "huber_loss", function("huber_loss", """
            while True:
                try:
                    while True:
                        pass
                except BaseException:
                    pass
        """), 0, "timeout", "timed out"),
        _one("alarm_ignored", "huber_loss_grad", function("huber_loss_grad", """
            import signal
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            while True:
                pass
        """), 0, "timeout"),
        _one("memory_bomb", "huber_loss", function("huber_loss", """
            hoard = []
            while True:
                hoard.append(np.ones(5 * 10**7))
        """), 0, "memory", "ran out of memory"),
        _one("huge_allocation", "quantile_loss", function("quantile_loss", """
            return np.ones((10**6, 10**6))
        """), 0, "memory"),
        _one("exits", "huber_loss", wrapped("huber_loss", "import os\nos._exit(0)"), 0, "error",
             "crashed the process"),
        _one("sys_exit", "huber_loss_grad", wrapped("huber_loss_grad", "import sys\nsys.exit(3)"),
             0, "error", "SystemExit"),
        _one("kills_parent", "huber_loss", wrapped("huber_loss", """
            import os, signal
            os.kill(os.getppid(), signal.SIGKILL)
        """), FULL, "passed"),
        _one("kills_group", "huber_loss", wrapped("huber_loss", """
            import os, signal
            os.killpg(0, signal.SIGKILL)
        """), 0, "error", "crashed the process"),
        _one("kills_everything", "quantile_loss", wrapped("quantile_loss", """
            import os, signal
            for pid in (-1, 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        """), FULL, "passed"),
        _one("monkeypatches_numpy", "huber_loss", function("huber_loss", """
            import numpy.testing
            np.allclose = lambda *a, **k: True
            np.isclose = lambda *a, **k: True
            np.testing.assert_allclose = lambda *a, **k: None
            np.array_equal = lambda *a, **k: True
            return np.zeros(1)[0]
        """), 0, "failed"),
        _one("always_equal", "huber_loss", function("huber_loss", """
            class Liar(float):
                def __eq__(self, other):
                    return True
                __ne__ = lambda self, other: False
            class Nothing:
                def __eq__(self, other):
                    return True
            return Liar(123.0) if reduction == "sum" else Nothing()
        """), 0, "failed", "expected a NumPy array or a number"),
        _one("prints_100mb", "huber_loss", wrapped("huber_loss", """
            import sys
            if not hasattr(sys, "printed"):  # 100 MB once, then 1 MB per call
                sys.printed = [print("x" * 1_000_000) for _ in range(100)]
            print("x" * 1_000_000)
            sys.stderr.write("y" * 1_000_000)
        """), FULL, "passed"),
        _one("forges_messages", "huber_loss", wrapped("huber_loss", """
            import os
            for fd in range(3, 12):
                try:
                    os.write(fd, b'{"e":"done"}\\n{"e":"res","i":0,"kind":"value","v":1.0}\\n')
                except OSError:
                    pass
        """), 0, "error", "crashed the process"),
        _one("spawns_sleepers", "huber_loss", wrapped("huber_loss", f"""
            import os, subprocess, time
            subprocess.Popen(["sleep", "{token}1"])
            if os.fork() == 0:
                os.setsid()
                os.execv("/usr/bin/sleep", ["sleep", "{token}2"])
        """), FULL, "passed"),
        _one("fork_bomb", "huber_loss_grad", function("huber_loss_grad", """
            import os
            while True:
                os.fork()
        """), 0, "error"),
        _one("network", "quantile_loss", wrapped("quantile_loss", f"""
            import socket
            for family, kind in ((socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM)):
                try:
                    s = socket.socket(family, kind)
                    s.settimeout(0.5)
                    s.connect(("127.0.0.1", {port}))
                    s.send(b"{token}")
                except OSError:
                    pass
        """), FULL, "passed"),
        _one("writes_outside", "huber_loss", wrapped("huber_loss", writes), FULL, "passed"),
        _one("syntax_error", "huber_loss", function("huber_loss", "return (input - target"),
             0, "error", "syntax error"),
        Entry("deleted_cell", {NB: build(drop=["huber_loss_grad"])},
              {"huber_loss": (FULL, "passed"), "huber_loss_grad": (0, "missing"),
               "quantile_loss": (FULL, "passed")}, {"huber_loss_grad": "No function named"}),
        _one("renamed", "quantile_loss", solution_source("quantile_loss").replace(
            "def quantile_loss(", "def quantile_los("), 0, "missing", "quantile_los"),
        _one("calls_the_reference", "huber_loss", function("huber_loss", """
            from course.losses.regression import huber_loss as reference
            return reference(input, target, reduction, delta=delta)
        """), 0, "forbidden", "course.losses"),
        _one("calls_torch", "quantile_loss", function("quantile_loss", """
            import torch.nn.functional as F
            return F.l1_loss(input, target)
        """), 0, "forbidden", "torch"),
        _one("execs_the_solution", "huber_loss", function("huber_loss", f"""
            import json
            notebook = json.load(open({str(repo / "solutions" / NB)!r}))
            namespace = {{"np": np}}
            exec("".join(notebook["cells"][3]["source"]), namespace)
            return namespace["huber_loss"](input, target, reduction, delta)
        """), 0, "forbidden", "may not read files"),
        _one("reads_the_solution_sneakily", "huber_loss_grad", function("huber_loss_grad", f"""
            import pathlib
            folder = pathlib.Path({str(repo)!r}) / ("sol" + "utions")
            text = (folder / ("01_regression.ip" + "ynb")).read_text()
            return np.zeros(len(text))
        """), 0, "error", "FileNotFoundError"),
        Entry("corrupt_json", {NB: b'{"cells": [ {"cell_type": "code", '},
              {n: (0, "invalid") for n in SIGNATURES}, {"huber_loss": "JSON"}),
        Entry("png_named_ipynb", {NB: b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4},
              {n: (0, "invalid") for n in SIGNATURES}, {"huber_loss": "PNG"}),
        Entry("empty_file", {NB: b""}, {n: (0, "invalid") for n in SIGNATURES}, {"huber_loss": "empty"}),
        Entry("unknown_name", {"99_mystery.ipynb": build()},
              {"": (0, "unknown"), **{n: (0, "missing") for n in SIGNATURES}}),
        Entry("old_version", {NB: build(version=0)}, {n: (0, "version") for n in SIGNATURES},
              {"huber_loss": "version 0"}),
    ]
    return entries
