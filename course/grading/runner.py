"""The code that runs inside the sandbox (started by :mod:`course.grading.sandbox`).

``python -I -S runner.py --zygote FD CONFIG`` starts a zygote: it imports
NumPy once, then forks a fresh process per submission on request (so no
submission pays for starting Python and importing NumPy). Each such process
isolates itself (:mod:`isolation`), then the worker reads the request on
stdin (statements to run, calls to make), runs the student's code with an
alarm per statement and per call, and answers in JSON lines (:mod:`wire`):
``hello``, ``stmt``/``err`` per statement, ``ready``, ``call``/``res`` per
call, ``done``, and ``exit`` from pid 1 when the worker ends. The student's
own prints go to /dev/null. This file imports nothing from ``course``: the
sandbox cannot see the package.
"""

from __future__ import annotations

import json
import os
import signal
import sys

_STDLIB = [p for p in sys.path if p]  # a ``python -I -S`` start: the standard library only
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import isolation  # noqa: E402
from wire import decode, encode, to_plain  # noqa: E402

del sys.path[0]


# --------------------------------------------------------------- messages out
class _Channel:
    """JSON lines on a private copy of the original stdout (the student's prints go nowhere)."""

    def __init__(self, fd: int):
        self.fd = fd
        self._dumps = json.dumps
        self._write = os.write

    def send(self, **message) -> None:
        data = (self._dumps(message, separators=(",", ":")) + "\n").encode()
        view = memoryview(data)
        while view:
            view = view[self._write(self.fd, view):]


class _Timeout(BaseException):
    """Raised by the alarm inside a student's call (a BaseException, so `except Exception` misses it)."""


def _on_alarm(signum, frame):
    raise _Timeout()


def _limits(config: dict) -> None:
    import resource

    def limit(name, value):
        what = getattr(resource, name, None)
        if what is None:
            return
        try:
            resource.setrlimit(what, (value, value))
        except (ValueError, OSError):
            pass

    limit("RLIMIT_AS", config["memory"])
    limit("RLIMIT_FSIZE", config["fsize"])
    limit("RLIMIT_CORE", 0)
    limit("RLIMIT_NOFILE", 256)
    limit("RLIMIT_NPROC", config["nproc"])
    cpu = getattr(resource, "RLIMIT_CPU", None)
    if cpu is not None:
        try:
            resource.setrlimit(cpu, (config["cpu"], config["cpu"] + 5))
        except (ValueError, OSError):
            pass


def worker(config: dict, channel: _Channel) -> None:
    """P3: read the request, run the kept statements, call the functions, report."""
    raw = b""
    while True:
        chunk = os.read(0, 1 << 20)
        if not chunk:
            break
        raw += chunk
    request = json.loads(raw)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.path[:] = _STDLIB + list(config["path"])
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    _limits(config)
    import numpy as np  # noqa: F401 - the one library answers may use

    if config.get("block"):
        sys.meta_path.insert(0, _Blocker(config["block"]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a huge file raises OSError, not a kill
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(request["timeout"])
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for cell in request["cells"]:
        for index, source in cell["stmts"]:
            channel.send(e="stmt", c=cell["cell"], k=index)
            kind, info, _ = _run(_exec_source, (source, f"<cell {cell['cell']}>", namespace),
                                 {}, timeout)
            if kind != "ok":
                channel.send(e="err", c=cell["cell"], k=index, kind=kind, **(info or {}))
    defined = {}
    for name in request["names"]:
        value = namespace.get(name)
        defined[name] = "missing" if value is None else "ok" if callable(value) else "not callable"
    channel.send(e="ready", defined=defined)
    stopped = set()
    for call in request["calls"]:
        name = call["x"]
        if defined.get(name) != "ok" or name in stopped:
            continue
        channel.send(e="call", i=call["i"])
        args, kwargs = decode(call["a"]), decode(call["k"])
        kind, info, value = _run(namespace[name], args, kwargs, timeout)
        if kind == "ok":
            try:
                result = {"kind": "value", "v": encode(to_plain(value))}
            except (TypeError, ValueError) as problem:
                result = {"kind": "invalid", "m": str(problem)[:500]}
            except MemoryError:
                result = {"kind": "memory"}
        elif kind == "error":
            result = {"kind": "error", **info}
        else:
            result = {"kind": kind}
            stopped.add(name)  # it would hang (or blow up) on every case
        value = None
        channel.send(e="res", i=call["i"], **result)
    channel.send(e="done")


def _exec_source(source: str, filename: str, namespace: dict) -> None:
    exec(compile(source, filename, "exec"), namespace)


def _run(fn, args, kwargs, timeout: float):
    """Call ``fn`` under an alarm: (kind, info, value), kind "ok", "timeout", "memory" or "error"."""
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            value = fn(*args, **kwargs)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return "ok", None, value
    except _Timeout:
        return "timeout", None, None
    except MemoryError:
        return "memory", None, None
    except NotImplementedError:
        return "error", {"t": "NotImplementedError", "m": "still raises NotImplementedError"}, None
    except ModuleNotFoundError as error:
        return "error", {"t": "ModuleNotFoundError", "line": _line_of(error),
                         "m": f"{error} (graded code may use only NumPy and the standard library)"}, None
    except BaseException as error:  # noqa: BLE001 - anything the student's code raises
        try:
            text = str(error)[:500]
        except BaseException:  # noqa: BLE001 - a __str__ that raises
            text = ""
        return "error", {"t": type(error).__name__[:100], "m": text, "line": _line_of(error)}, None


def _line_of(error: BaseException):
    """The last line number inside the student's cells, for messages like 'line 4'."""
    tb = error.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<cell "):
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(error, SyntaxError):
        line = error.lineno
    return line


class _Blocker:
    """Refuse to import the reference (used where the file system cannot hide it)."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {fullname!r}")
        return None


def child(config: dict) -> None:
    """P1: isolate, then (in P3) run the worker; never returns."""
    isolation.die_with_parent()
    channel = _Channel(os.dup(1))
    try:
        isolation.isolate(config, channel, _STDLIB)
    except BaseException as error:  # noqa: BLE001 - report any setup failure as data
        channel.send(e="fatal", msg=f"sandbox setup failed: {error}")
        os._exit(3)
    try:
        worker(config, channel)
    except BaseException as error:  # noqa: BLE001 - the student's code may break the worker
        try:
            channel.send(e="fatal", msg=f"worker stopped: {type(error).__name__}: {error}"[:500])
        except BaseException:  # noqa: BLE001
            pass
        os._exit(4)
    os._exit(0)


def zygote(control_fd: int, config: dict) -> None:
    """Fork a fresh P1 per request, with NumPy already imported (saves its import per submission).

    Requests are JSON lines on a Unix stream socket: ``{"op": "spawn", "config": ...}``
    arrives with the child's stdin and stdout as passed file descriptors and is answered
    with the child's pid; ``{"op": "release", "pid": ...}`` comes once the grader has killed
    that process group: only then is the child reaped, so its pid (the process group the
    grader kills) is never reused early.
    """
    import socket

    sys.path[:] = _STDLIB + list(config["path"])
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    import ctypes  # noqa: F401 - loaded once here, used by every child
    import resource  # noqa: F401

    import numpy  # noqa: F401

    isolation.die_with_parent()
    if os.getppid() != config["grader"]:
        os._exit(1)  # the grader is already gone
    control = socket.socket(fileno=control_fd)
    buffer, passed = b"", []
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(control, 1 << 16, 8)
        except OSError:
            break
        if not data:
            break
        buffer += data
        passed += fds  # spawns are sent one at a time, so descriptors arrive in order
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            request = json.loads(line)
            if request.get("op") == "release":
                try:
                    os.waitpid(int(request["pid"]), 0)
                except (ChildProcessError, ValueError, KeyError):
                    pass
                continue
            stdin, stdout, passed = passed[0], passed[1], passed[2:]
            pid = os.fork()
            if pid == 0:
                control.close()
                os.dup2(stdin, 0)
                os.dup2(stdout, 1)
                os.close(stdin)
                os.close(stdout)
                os.setsid()
                child(request["config"])
            os.close(stdin)
            os.close(stdout)
            control.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    os._exit(0)


def main() -> None:
    """``runner.py --zygote FD CONFIG``: started by :class:`course.grading.sandbox.Sandbox`."""
    if len(sys.argv) != 4 or sys.argv[1] != "--zygote":
        sys.exit("runner.py is started by course-grade, not by hand")
    zygote(int(sys.argv[2]), json.loads(sys.argv[3]))


if __name__ == "__main__":
    main()
