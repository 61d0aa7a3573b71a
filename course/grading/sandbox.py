"""Start the sandbox for one submission, feed it a request, read its events, enforce deadlines.

The grader's side of :mod:`course.grading.runner`. A :class:`Sandbox` keeps
one zygote process (``python -I -S runner.py --zygote``, NumPy imported
once); each :meth:`Sandbox.run` asks it to fork a fresh process for one
submission, which isolates itself (:mod:`course.grading.isolation`), writes
the request (statements to run and calls to make, as JSON) to its stdin, and
reads JSON lines back with a watchdog: every event must arrive within
``timeout + grace`` seconds of the previous one, so a function that defeats
the in-sandbox alarm still costs only its own call. Whatever happens, the
submission's process group is killed before ``run`` returns, and the
namespace's pid 1 dies with it, taking every other process of the submission
along. The zygote dies with the grader, and each submission with the zygote.
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

RUNNER = pathlib.Path(__file__).with_name("runner.py")
FORBIDDEN_MODULES = ("course", "torch", "torchvision", "tensorflow", "jax", "keras")
MAX_EVENT_BYTES = 32 << 20
MAX_TOTAL_BYTES = 128 << 20
MAX_EVENTS = 100_000  # a flood of tiny messages must not exhaust the grader's memory
STARTUP_SECONDS = 60.0


@dataclass(frozen=True)
class Limits:
    """What one submission may use. ``timeout`` is per call of a student's function (seconds)."""

    timeout: float = 5.0
    memory_mb: int = 2048
    nproc: int = 64
    fsize_mb: int = 16
    tmp_mb: int = 64

    @property
    def grace(self) -> float:
        """How much longer than ``timeout`` the watchdog waits before it kills."""
        return max(1.0, self.timeout / 2)


@dataclass
class Attempt:
    """What one sandbox process said, and how it ended.

    ``end``: "done", "watchdog" (an event was overdue), "died" (the process
    ended early; ``detail`` says how), "protocol" (it sent something that is
    not a well-formed event, or too much), or "fatal" (setup failed).
    """

    events: list = field(default_factory=list)
    end: str = "done"
    detail: str = ""
    isolation: str = ""
    seconds: float = 0.0


class SandboxUnavailable(RuntimeError):
    pass


class Sandbox:
    """Runs requests in fresh sandbox processes; one instance serves a whole grading run."""

    def __init__(self, limits: Limits = Limits(), isolation: str = "auto", userns: bool = False):
        self.limits = limits
        self.wanted = isolation
        self.userns = userns  # take the unprivileged (user namespace) path even as root
        self.isolation = ""
        self.why = ""
        spec = importlib.util.find_spec("numpy")
        if spec is None or not spec.submodule_search_locations:
            raise SandboxUnavailable("NumPy is not installed")
        self._numpy = pathlib.Path(list(spec.submodule_search_locations)[0]).resolve()
        self._shim = None
        self._lock = threading.Lock()
        self._zygote = None
        self._control = None

    # ---------------------------------------------------------------- setup
    def probe(self) -> str:
        """Find the strongest isolation that works here; SandboxUnavailable if none does."""
        request = {
            "cells": [{"cell": 0, "stmts": [[0, "import numpy as np\ndef f():\n    return np.arange(3.0)"]]}],
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

    def _config(self, isolation: str, root: str) -> dict:
        site = str(self._numpy.parent)
        binds = [str(self._numpy)]
        libs = self._numpy.parent / "numpy.libs"
        if libs.is_dir():
            binds.append(str(libs))
        limits = self.limits
        config = {
            "isolation": isolation, "root": root, "binds": binds, "masks": _site_folders(),
            "tmp_mb": limits.tmp_mb,
            "memory": limits.memory_mb << 20, "fsize": limits.fsize_mb << 20,
            "nproc": limits.nproc, "cpu": 600, "path": [site], "userns": self.userns,
        }
        if isolation == "limits":
            config["path"] = [self._shim_dir()]
            config["block"] = list(FORBIDDEN_MODULES)
        return config

    def _shim_dir(self) -> str:
        """A folder holding only NumPy (symlinks), for sandboxes without a private file system."""
        with self._lock:
            if self._shim is None:
                self._shim = tempfile.mkdtemp(prefix="course-grade-numpy-")
                os.symlink(self._numpy, os.path.join(self._shim, "numpy"))
                libs = self._numpy.parent / "numpy.libs"
                if libs.is_dir():
                    os.symlink(libs, os.path.join(self._shim, "numpy.libs"))
            return self._shim

    def close(self) -> None:
        with self._lock:
            self._stop_zygote()
        if self._shim is not None:
            shutil.rmtree(self._shim, ignore_errors=True)
            self._shim = None

    # --------------------------------------------------------------- zygote
    def _spawn(self, config: dict, stdin_fd: int, stdout_fd: int) -> int:
        """Ask the zygote for a fresh sandbox process; its pid (= its process group)."""
        message = json.dumps({"op": "spawn", "config": config}).encode() + b"\n"
        with self._lock:
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
        # (the temp folder in its command line also names this run's processes, for tests)
        config = {"path": [str(self._numpy.parent)], "tmp": tempfile.gettempdir(),
                  "grader": os.getpid()}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1",
               "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        self._zygote = subprocess.Popen(
            [sys.executable, "-I", "-S", str(RUNNER), "--zygote", str(theirs.fileno()), json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env, cwd="/", start_new_session=True, pass_fds=(theirs.fileno(),))
        theirs.close()
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
    def run(self, request: dict, isolation: str | None = None) -> Attempt:
        """One sandbox process for ``request``; always returns, never leaves a process behind."""
        isolation = isolation or self.isolation or "auto"
        root = tempfile.mkdtemp(prefix="course-grade-")
        attempt = Attempt()
        started = time.monotonic()
        pid = None
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        open_fds = {in_w, out_r}  # ours to close (exactly once: fds are reused across threads)
        try:
            try:
                pid = self._spawn(self._config(isolation, root), in_r, out_w)
            finally:
                os.close(in_r)
                os.close(out_w)
            payload = json.dumps(request, separators=(",", ":")).encode()
            self._exchange(out_r, open_fds, payload, attempt)
        except OSError as error:
            attempt.end, attempt.detail = "fatal", f"could not start the sandbox: {error}"
        finally:
            if pid is not None:
                _kill_group(pid)
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

    def _exchange(self, out_fd: int, open_fds: set, payload: bytes, attempt: Attempt) -> None:
        in_fd = next(fd for fd in open_fds if fd != out_fd)
        os.set_blocking(in_fd, False)
        selector = selectors.DefaultSelector()
        selector.register(out_fd, selectors.EVENT_READ)
        pending = memoryview(payload)
        selector.register(in_fd, selectors.EVENT_WRITE)
        buffer, total = bytearray(), 0
        deadline = time.monotonic() + STARTUP_SECONDS
        startup = True
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    attempt.end = "watchdog"
                    return
                for key, _ in selector.select(left):
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
                    if total > MAX_TOTAL_BYTES or (b"\n" not in chunk and len(buffer) > MAX_EVENT_BYTES):
                        attempt.end, attempt.detail = "protocol", "sent back far too much data"
                        return
                    *lines, rest = bytes(buffer).split(b"\n")
                    buffer = bytearray(rest)
                    for line in lines:
                        event = _parse(line)
                        if event is None:
                            attempt.end, attempt.detail = "protocol", "sent back a malformed message"
                            return
                        attempt.events.append(event)
                        if len(attempt.events) > MAX_EVENTS:
                            attempt.end, attempt.detail = "protocol", "sent back far too many messages"
                            return
                        kind = event["e"]
                        if kind == "hello":
                            attempt.isolation = str(event.get("iso", ""))
                        elif kind == "fatal":
                            attempt.end, attempt.detail = "fatal", str(event.get("msg", ""))[:500]
                            return
                        elif kind == "done":
                            attempt.end = "done"
                            return
                        if kind != "hello":
                            startup = False
                    if lines and not startup:
                        deadline = time.monotonic() + self.limits.timeout + self.limits.grace
        finally:
            selector.close()


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
    """Every site-packages folder of this Python: the sandbox shows none of them but NumPy."""
    import site

    folders = set(site.getsitepackages()) | {site.getusersitepackages()} | {
        p for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return sorted(str(pathlib.Path(f).resolve()) for f in folders if f and os.path.isdir(f))
