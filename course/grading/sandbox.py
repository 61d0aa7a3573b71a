"""Start the sandbox for one submission, feed it a request, read its events, enforce deadlines.

The grader's side of :mod:`course.grading.runner`. A :class:`Sandbox` keeps
one zygote process (``python -I -S runner.py --zygote``, NumPy imported
once); each :meth:`Sandbox.run` asks it to fork a fresh process for one
submission, which isolates itself (:mod:`course.grading.isolation`), writes
the request (statements to run and calls to make, as JSON) to its stdin, and
reads JSON lines back. What comes back must follow the protocol exactly
(:class:`_Protocol`): each statement and call in the order the grader sent
them, each announced before it runs and answered once, with a bounded number
of messages and bytes, so a forged or extra message ends the run and is
charged to whatever was running. Deadlines are the grader's, measured from
the start of each statement or call (``timeout + grace``) and from the start
of the run (the notebook's budget); no message the student can write moves
them. Memory, processes and CPU are limited for the submission as a whole by
a control group (:mod:`course.grading.cgroups`) where the system allows it.
Whatever happens, the submission's process group is killed before ``run``
returns, and the namespace's pid 1 dies with it, taking every other process
of the submission along. The zygote dies with the grader, and each
submission with the zygote.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from . import cgroups as cgroups_module

HERE = pathlib.Path(__file__).parent
SANDBOX_MODULES = ("wire", "isolation", "runner")  # handed to the zygote as source, not as paths
BOOT = ("import sys, json, os, types\n"
        "with os.fdopen(int(sys.argv[1]), 'rb') as f:\n    sources = json.loads(f.read())\n"
        "for name in ('wire', 'isolation', 'runner'):\n"
        "    module = sys.modules[name] = types.ModuleType(name)\n"
        "    exec(compile(sources[name], '<course-grade ' + name + '>', 'exec'), module.__dict__)\n"
        "del sources\n"
        "sys.modules['runner'].main(sys.argv[2:])\n")
FORBIDDEN_MODULES = ("course", "torch", "torchvision", "tensorflow", "jax", "keras")
STARTUP_SECONDS = 60.0
# What the sandbox may send back. A line is one message; a result may be at most a few
# times the size of the call's inputs (a loss or gradient is no larger than its inputs;
# box_iou-like pairwise answers are, so there is a fixed allowance too).
MAX_SMALL_LINE = 64 << 10
RESULT_ALLOWANCE = 1 << 20
MAX_TOTAL_BYTES = 64 << 20
MAX_CONTAINERS = 4_096  # '[', '{' and ',' in one line: plain results need a handful


@dataclass(frozen=True)
class Limits:
    """What one submission may use. ``timeout`` is per call of a student's function (seconds)."""

    timeout: float = 5.0
    memory_mb: int = 2048
    nproc: int = 64
    fsize_mb: int = 16
    tmp_mb: int = 64
    notebook_seconds: float = 60.0  # wall time for a whole notebook, every restart included

    @property
    def grace(self) -> float:
        """How much longer than ``timeout`` the watchdog waits before it kills."""
        return max(1.0, self.timeout / 2)


@dataclass
class Attempt:
    """What one sandbox process said, and how it ended.

    ``end``: "done", "watchdog" (a statement or call overran its time),
    "budget" (the notebook's time ran out), "died" (the process ended early;
    ``detail`` says how), "protocol" (it sent something out of turn,
    malformed, or too much), or "fatal" (setup failed). ``oom``: the kernel
    killed inside the submission's control group for want of memory.
    """

    events: list = field(default_factory=list)
    end: str = "done"
    detail: str = ""
    isolation: str = ""
    seconds: float = 0.0
    oom: bool = False
    peak_bytes: int = 0


class SandboxUnavailable(RuntimeError):
    pass


class Sandbox:
    """Runs requests in fresh sandbox processes; one instance serves a whole grading run."""

    def __init__(self, limits: Limits = Limits(), isolation: str = "auto", userns: bool = False,
                 cgroups: bool = True, guard: bool = True):
        self.limits = limits
        self.wanted = isolation
        self.userns = userns  # take the unprivileged (user namespace) path even as root
        self.guard = guard  # False only in tests of the layers below the in-process guard
        self.isolation = ""
        self.why = ""
        self._want_cgroups = cgroups
        self.controllers: cgroups_module.Controllers | None = None
        spec = importlib.util.find_spec("numpy")
        if spec is None or not spec.submodule_search_locations:
            raise SandboxUnavailable("NumPy is not installed")
        self._numpy = pathlib.Path(list(spec.submodule_search_locations)[0]).resolve()
        self._shim = None
        self._lock = threading.Lock()
        self._shim_lock = threading.Lock()
        self._closed = False
        self._zygote = None
        self._control = None

    # ---------------------------------------------------------------- setup
    def probe(self) -> str:
        """Find the strongest isolation that works here; SandboxUnavailable if none does."""
        request = {
            "cells": [{"cell": 0, "stmts": [[0, "import numpy as np\ndef f():\n    return np.arange(3.0)",
                                             1]]}],
            "names": ["f"], "calls": [{"i": 0, "x": "f", "a": {"__tuple__": []}, "k": {"__dict__": []}}],
            "timeout": 30.0,
        }
        tried = ["namespaces", "limits"] if self.wanted == "auto" else [self.wanted]
        problems = []
        for isolation in tried:
            attempt = self.run(request, isolation=isolation)
            results = [e for e in attempt.events if e.get("e") == "res"]
            ok = (attempt.end == "done" and attempt.isolation == isolation and results
                  and results[0].get("kind") == "value")
            if ok:
                self.isolation = isolation
                if isolation != "namespaces":
                    self.why = next((e.get("why", "") for e in attempt.events if e.get("e") == "hello"),
                                    "") or "; ".join(problems)
                return isolation
            problems.append(f"{isolation}: {attempt.detail or attempt.end}")
        raise SandboxUnavailable("no working sandbox: " + "; ".join(problems))

    def cgroups(self) -> cgroups_module.Controllers:
        """The control groups this run can use (found once; ``available`` False if none)."""
        with self._lock:
            if self.controllers is None:
                self.controllers = cgroups_module.detect(self._want_cgroups)
            return self.controllers

    def _config(self, isolation: str, root: str, group=None) -> dict:
        # NumPy appears inside at the same neutral path as in the zygote (a temporary
        # folder), never at its path on the host, which may lie inside the course.
        shim = self._shim_dir()
        binds = [[str(self._numpy), shim + "/numpy"]]
        libs = self._numpy.parent / "numpy.libs"
        if libs.is_dir():
            binds.append([str(libs), shim + "/numpy.libs"])
        limits = self.limits
        config = {
            "isolation": isolation, "root": root, "binds": binds, "masks": _site_folders(),
            "tmp_mb": limits.tmp_mb,
            "memory": limits.memory_mb << 20, "fsize": limits.fsize_mb << 20,
            "nproc": limits.nproc, "cpu": int(limits.notebook_seconds) + 5, "path": [shim],
            "userns": self.userns, "guard": self.guard,
            "cgroup": group.procs_files() if group is not None else [],
        }
        if isolation == "limits":
            config["block"] = list(FORBIDDEN_MODULES)
        return config

    def _shim_dir(self) -> str:
        """A folder holding only NumPy (symlinks), for sandboxes without a private file system."""
        with self._shim_lock:
            if self._shim is None:
                self._shim = tempfile.mkdtemp(prefix="course-grade-numpy-")
                os.chmod(self._shim, 0o755)  # readable by the sandbox's own unprivileged user
                os.symlink(self._numpy, os.path.join(self._shim, "numpy"))
                libs = self._numpy.parent / "numpy.libs"
                if libs.is_dir():
                    os.symlink(libs, os.path.join(self._shim, "numpy.libs"))
            return self._shim

    def close(self) -> None:
        with self._lock:
            self._closed = True  # no new sandbox after this (grading threads may still ask)
            self._stop_zygote()
            if self.controllers is not None:
                self.controllers.close()
        if self._shim is not None:
            shutil.rmtree(self._shim, ignore_errors=True)
            self._shim = None

    # --------------------------------------------------------------- zygote
    def _spawn(self, config: dict, stdin_fd: int, stdout_fd: int) -> int:
        """Ask the zygote for a fresh sandbox process; its pid (= its process group)."""
        message = json.dumps({"op": "spawn", "config": config}).encode() + b"\n"
        with self._lock:
            if self._closed:
                raise OSError("the grader is shutting down")
            for attempt in (1, 2):
                try:
                    if self._zygote is None or self._zygote.poll() is not None:
                        self._start_zygote()
                    socket.send_fds(self._control, [message], [stdin_fd, stdout_fd])
                    reply = b""
                    while not reply.endswith(b"\n"):
                        chunk = self._control.recv(4096)
                        if not chunk:
                            break
                        reply += chunk
                    if reply.endswith(b"\n"):
                        return int(json.loads(reply)["pid"])
                except (OSError, ValueError, KeyError):
                    pass
                self._stop_zygote()
                if attempt == 2:
                    raise OSError("the sandbox's zygote process does not answer")
        raise AssertionError("unreachable")

    def _release(self, pid: int) -> None:
        with self._lock:
            try:
                self._control.sendall(json.dumps({"op": "release", "pid": pid}).encode() + b"\n")
            except (OSError, AttributeError):
                pass

    def _start_zygote(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        source_r, source_w = os.pipe()
        # (the temp folder in its command line also names this run's processes, for tests)
        config = {"path": [self._shim_dir()], "tmp": tempfile.gettempdir(), "grader": os.getpid()}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        try:
            self._zygote = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", BOOT, str(source_r), "--zygote", str(theirs.fileno()),
                 json.dumps(config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env, cwd="/", start_new_session=True, pass_fds=(theirs.fileno(), source_r))
        finally:
            os.close(source_r)
            theirs.close()
        sources = {name: (HERE / f"{name}.py").read_text(encoding="utf-8") for name in SANDBOX_MODULES}
        with os.fdopen(source_w, "wb") as pipe:
            try:
                pipe.write(json.dumps(sources).encode())
            except BrokenPipeError:
                pass
        self._control = ours

    def _stop_zygote(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._zygote is not None:
            _kill_group(self._zygote.pid)
            self._zygote.wait()
            self._zygote = None

    # ------------------------------------------------------------------ run
    def run(self, request: dict, isolation: str | None = None, budget: float | None = None) -> Attempt:
        """One sandbox process for ``request``; always returns, never leaves a process behind.

        ``budget``: seconds this run may take in all (default: the notebook's budget).
        """
        isolation = isolation or self.isolation or "auto"
        root = tempfile.mkdtemp(prefix="course-grade-")
        attempt = Attempt()
        started = time.monotonic()
        pid = group = None
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        open_fds = {in_w, out_r}  # ours to close (exactly once: fds are reused across threads)
        try:
            controllers = self.cgroups()
            if controllers.available:
                group = controllers.create(self.limits.memory_mb << 20, self.limits.nproc)
            try:
                pid = self._spawn(self._config(isolation, root, group), in_r, out_w)
            finally:
                os.close(in_r)
                os.close(out_w)
            payload = json.dumps(request, separators=(",", ":")).encode()
            protocol = _Protocol(request, len(payload))
            deadline = started + (self.limits.notebook_seconds if budget is None else budget)
            self._exchange(out_r, open_fds, payload, attempt, protocol, deadline)
        except OSError as error:
            attempt.end, attempt.detail = "fatal", f"could not start the sandbox: {error}"
        finally:
            if pid is not None:
                _kill_group(pid)
            if group is not None:
                attempt.oom = group.oom_killed()
                attempt.peak_bytes = group.peak_bytes()
                group.remove()
            if pid is not None:
                self._release(pid)
            for fd in open_fds:
                os.close(fd)
            if attempt.end == "died" and not attempt.detail:
                codes = [e.get("code") for e in attempt.events if e.get("e") == "exit"]
                attempt.detail = (_describe_exit(codes[-1]) if codes and isinstance(codes[-1], int)
                                  else "the process was killed")
            _remove(root)
            attempt.seconds = time.monotonic() - started
        return attempt

    def _exchange(self, out_fd: int, open_fds: set, payload: bytes, attempt: Attempt,
                  protocol: "_Protocol", budget_deadline: float) -> None:
        in_fd = next(fd for fd in open_fds if fd != out_fd)
        os.set_blocking(in_fd, False)
        selector = selectors.DefaultSelector()
        selector.register(out_fd, selectors.EVENT_READ)
        pending = memoryview(payload)
        selector.register(in_fd, selectors.EVENT_WRITE)
        buffer, total = bytearray(), 0
        step = self.limits.timeout + self.limits.grace
        item_deadline = time.monotonic() + STARTUP_SECONDS
        try:
            while True:
                now = time.monotonic()
                if now >= budget_deadline:
                    attempt.end = "budget"
                    return
                if now >= item_deadline:
                    attempt.end = "watchdog"
                    return
                for key, _ in selector.select(min(item_deadline, budget_deadline) - now):
                    if key.fd == in_fd:
                        try:
                            pending = pending[os.write(in_fd, pending):]
                        except BrokenPipeError:
                            pending = pending[:0]
                        if not pending:
                            selector.unregister(in_fd)
                            open_fds.discard(in_fd)
                            os.close(in_fd)  # EOF: the request is complete
                        continue
                    chunk = os.read(out_fd, 1 << 20)
                    if not chunk:
                        attempt.end = "died"
                        return
                    total += len(chunk)
                    buffer += chunk
                    if total > protocol.max_total or (b"\n" not in chunk and len(buffer) > protocol.max_line):
                        attempt.end, attempt.detail = "protocol", "sent back far too much data"
                        return
                    if b"\n" not in chunk:
                        continue
                    *lines, rest = bytes(buffer).split(b"\n")
                    buffer = bytearray(rest)
                    for line in lines:
                        problem = protocol.feed(line, attempt)
                        if problem:
                            attempt.end, attempt.detail = "protocol", problem
                            return
                        if protocol.finished:
                            attempt.end = protocol.finished
                            if protocol.finished == "fatal":
                                attempt.detail = protocol.fatal
                            return
                        if protocol.moved:
                            # a new statement or call starts its own clock; the time between
                            # two of them (the grader's code, finalisers) is bounded alike
                            item_deadline = time.monotonic() + step
        finally:
            selector.close()


class _Protocol:
    """The one order of messages a well-behaved worker sends, and the sizes it may use.

    hello, then for each statement sent (in order) ``stmt`` and possibly ``err``,
    then ``ready``, then for calls in the order sent (the worker may skip some)
    ``call`` and ``res``, then ``done``. ``blk`` (the guard stopped something) may come
    at any time after hello, at most 8 counted; ``exit`` (pid 1 saw the worker end)
    and ``fatal`` at any time. Anything else, or anything out of turn, is a protocol
    error: the student wrote to the channel.
    """

    def __init__(self, request: dict, request_bytes: int):
        self.stmts = [(cell["cell"], stmt[0]) for cell in request["cells"] for stmt in cell["stmts"]]
        self.calls = [call["i"] for call in request["calls"]]
        self.position = {index: k for k, index in enumerate(self.calls)}
        self.result_limit = {call["i"]: 4 * (len(json.dumps(call["a"])) + len(json.dumps(call["k"])))
                             + RESULT_ALLOWANCE for call in request["calls"]}
        self.max_line = max([MAX_SMALL_LINE, *self.result_limit.values()])
        self.max_total = min(MAX_TOTAL_BYTES, sum(self.result_limit.values()) + (1 << 20))
        self.max_events = 2 * len(self.stmts) + 2 * len(self.calls) + 24
        self.events = 0
        self.next_stmt = 0
        self.next_call = 0
        self.phase = "start"  # start, stmts, calls
        self.item = None  # ("stmt", (cell, index)) or ("call", i) while one runs
        self.finished = ""
        self.fatal = ""
        self.moved = False
        self.blocked = 0

    def feed(self, line: bytes, attempt: Attempt) -> str:
        """Take one line; '' if it is in turn, else what is wrong with it."""
        self.moved = False
        self.events += 1
        if self.events > self.max_events:
            return "sent back far too many messages"
        limit = self.max_line if line.startswith(b'{"e":"res"') else MAX_SMALL_LINE
        if len(line) > limit:
            return "sent back far too much data"
        if line.count(b"[") + line.count(b"{") + line.count(b",") > MAX_CONTAINERS:
            return "sent back a malformed message"
        event = _parse(line)
        if event is None:
            return "sent back a malformed message"
        kind = event["e"]
        if kind == "fatal":
            self.finished, self.fatal = "fatal", str(event.get("msg", ""))[:500]
            attempt.events.append(event)
            return ""
        if kind == "exit":
            attempt.events.append({"e": "exit", "code": event.get("code")})
            return ""
        if kind == "hello":
            if self.phase != "start":
                return "wrote to the grader's channel out of turn"
            self.phase = "stmts"
            attempt.isolation = str(event.get("iso", ""))
            attempt.events.append({"e": "hello", "iso": attempt.isolation,
                                   "why": str(event.get("why", ""))[:500]})
            self.moved = True
            return ""
        if self.phase == "start":
            return "wrote to the grader's channel out of turn"
        if kind == "blk":
            self.blocked += 1
            if self.blocked <= 8:
                attempt.events.append({"e": "blk", "w": str(event.get("w", ""))[:80]})
            return ""
        if kind == "stmt":
            key = (event.get("c"), event.get("k"))
            if (self.phase != "stmts" or self.next_stmt >= len(self.stmts)
                    or self.stmts[self.next_stmt] != key):
                return "wrote to the grader's channel out of turn"
            self.next_stmt += 1
            self.item = ("stmt", key)
        elif kind == "err":
            key = (event.get("c"), event.get("k"))
            if self.item != ("stmt", key):
                return "wrote to the grader's channel out of turn"
            self.item = None
        elif kind == "ready":
            if self.phase != "stmts" or self.next_stmt != len(self.stmts) \
                    or not isinstance(event.get("defined"), dict):
                return "wrote to the grader's channel out of turn"
            self.phase, self.item = "calls", None
        elif kind == "call":
            index = event.get("i")
            at = self.position.get(index) if type(index) is int else None
            if self.phase != "calls" or (self.item is not None) or at is None or at < self.next_call:
                return "wrote to the grader's channel out of turn"
            self.next_call = at + 1
            self.item = ("call", index)
        elif kind == "res":
            index = event.get("i")
            if self.item != ("call", index):
                return "wrote to the grader's channel out of turn"
            if len(line) > self.result_limit[index]:
                return "sent back far too much data"
            self.item = None
        elif kind == "done":
            if self.phase != "calls" or self.item is not None:
                return "wrote to the grader's channel out of turn"
            self.finished = "done"
        else:
            return "sent back a malformed message"
        self.moved = True
        attempt.events.append(event)
        return ""


def _parse(line: bytes):
    try:
        event = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(event, dict) or not isinstance(event.get("e"), str):
        return None
    return event


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _describe_exit(code: int) -> str:
    if code < 0:
        signum = -code
    elif code > 128:
        signum = code - 128
    else:
        return f"it ended the process with exit code {code}, e.g. by os._exit"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"the process was killed by {name}"


def exit_signal(detail: str) -> str:
    """The signal name in a :func:`_describe_exit` text ("" if none)."""
    return detail.rsplit(" ", 1)[-1] if "killed by" in detail else ""


def _remove(root: str) -> None:
    try:
        os.rmdir(root)  # empty on the host when the sandbox had its own mount namespace
    except OSError:
        shutil.rmtree(root, ignore_errors=True)


def _site_folders() -> list[str]:
    """Every folder of installed packages the sandbox could see: it shows none of them.

    Those of this Python (a virtual environment's), of the interpreter it was made from
    (its ``lib/python3.X/site-packages``, with SciPy and the rest), the user's, and the
    system's (``/usr/lib/python3/dist-packages``, ``/usr/local/lib/python3.X/...``).
    NumPy itself comes in through its own bind at a neutral path.
    """
    import glob
    import site
    import sysconfig

    folders = set(site.getsitepackages()) | {site.getusersitepackages()} | {
        p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        paths = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix})
        folders |= {paths["purelib"], paths["platlib"]}
    stdlib = sysconfig.get_paths(vars={"installed_base": sys.base_prefix,
                                       "installed_platbase": sys.base_exec_prefix})["stdlib"]
    for base in {stdlib, os.path.dirname(stdlib), "/usr/lib", "/usr/local/lib", "/usr/lib64",
                 "/usr/local/lib64", "/usr/share"}:
        for pattern in ("*-packages", "python3*/*-packages", "python3/*-packages"):
            folders |= set(glob.glob(os.path.join(base, pattern)))
    return sorted({str(pathlib.Path(f).resolve()) for f in folders if f and os.path.isdir(f)})
