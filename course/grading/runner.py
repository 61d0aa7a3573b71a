"""The code that runs inside the sandbox (started by :mod:`course.grading.sandbox`).

``python -I -S runner.py --zygote FD CONFIG`` starts a zygote: it imports
NumPy once, then forks a fresh process per submission on request (so no
submission pays for starting Python and importing NumPy). Each such process
isolates itself (:mod:`isolation`), then the worker reads the request on
stdin (statements to run, calls to make), runs the student's code with an
alarm per statement and per call, and answers in JSON lines (:mod:`wire`):
``hello``, ``stmt``/``err`` per statement, ``ready``, ``call``/``res`` per
call, ``done``, and ``exit`` from pid 1 when the worker ends, plus ``blk``
whenever the guard (below) stops the student's code. The student's own
prints go to /dev/null.

This file imports nothing from ``course``: the sandbox cannot see the
package. The grader starts it with ``python -I -S -c BOOT`` and hands it its
source and that of :mod:`wire` and :mod:`isolation` through a pipe, so no
path of the course appears in the sandbox (not in ``sys.argv``, not in a
module's ``__file__``).

The guard: the student's statements run with builtins whose ``__import__``
admits only NumPy and a few pure standard-library modules (:data:`ALLOWED`),
and with ``exec``, ``eval``, ``compile``, ``open`` and ``breakpoint``
replaced; an audit hook (:pep:`578`, which cannot be removed once added)
refuses, whatever path the code takes to them, running code from strings,
opening files, ctypes, processes, sockets, frames and the garbage
collector. Each refusal is reported to the grader at once (``blk``), so
catching the exception does not hide it: the exercise earns zero. The
namespaces and cgroups around the process stay the real boundary; the guard
makes "NumPy only" hold and names what was tried.
"""

from __future__ import annotations

import json
import os
import signal
import sys

_STDLIB = [p for p in sys.path if p]  # a ``python -I -S`` start: the standard library only
import isolation  # noqa: E402 - provided by the grader's bootstrap (see module docstring)
from wire import decode, encode, to_plain  # noqa: E402

# What graded code may import: NumPy and pure computation from the standard library.
ALLOWED = ("numpy", "__future__", "math", "cmath", "functools", "itertools", "operator", "collections",
           "typing", "numbers", "fractions", "decimal", "statistics", "heapq", "bisect", "enum",
           "abc", "copy", "string", "random", "re", "warnings")
DENIED = ("numpy.ctypeslib", "numpy.f2py", "numpy.distutils", "numpy.testing")
# Loaded in the zygote, so that no import has to read a file once student code runs.
PRELOAD = ALLOWED + ("numpy.linalg", "numpy.fft", "numpy.random", "numpy.polynomial", "numpy.ma",
                     "numpy.lib.stride_tricks", "numpy.exceptions", "collections.abc", "ast", "types",
                     # not importable by graded code, but loaded here so that the layers below
                     # the guard behave alike where the standard library is not world-readable
                     "subprocess", "threading", "socket")
# Audit events refused while student code runs (PEP 578 names); see docs/instructors.md.
_BLOCKED_EVENTS = {"compile", "exec", "open", "import", "object.__getattr__", "code.__new__",
                   "function.__new__", "builtins.input", "builtins.breakpoint", "setopencode",
                   "cpython.run_command", "cpython.run_file", "cpython.run_module",
                   "cpython.run_interactivehook", "cpython.run_startup", "cpython.run_stdin"}
_BLOCKED_PREFIXES = ("os.", "subprocess.", "socket.", "shutil.", "ctypes.", "mmap.", "gc.", "sys.",
                     "marshal.", "pickle.", "fcntl.", "pty.", "resource.", "syslog.", "tempfile.",
                     "glob.", "urllib.", "http.", "ftplib.", "smtplib.", "poplib.", "imaplib.",
                     "nntplib.", "telnetlib.", "webbrowser.", "sqlite3.", "winreg.", "msvcrt.",
                     "_winapi.", "code.", "socket", "signal.pthread_kill")


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


class _Forbidden(BaseException):
    """Raised by the guard; already reported to the grader, so catching it changes nothing."""


class _Guard:
    """Blocks what graded code may not do, and tells the grader each time (at most 8 per run).

    Installed once per worker, after every statement has been compiled: the audit hook
    lets through only the ``exec`` of those compiled statements (by identity) and
    read-only opens of Python sources (tracebacks and warnings read them). ``trusted``
    is switched on by the worker for the few lines in which it walks a traceback.
    """

    def __init__(self, channel: "_Channel", allowed_code: list):
        import collections
        import typing

        self.send = channel.send
        self.allowed = frozenset(id(code) for code in allowed_code)
        self.keep = allowed_code  # the ids stay valid while the code objects live
        self.trusted = False
        self.reported = 0
        # namedtuple builds its __new__ from a string, but only from field names it has
        # checked to be identifiers: code from there is the standard library's, not the
        # student's. (dataclasses also generates code, from names it does not check, so it
        # is not among the modules graded code may import.)
        self.generators = frozenset({id(collections.namedtuple.__code__)})
        # ... and namedtuple and TypeVar look up the module that called them.
        self.callers = self.generators | {id(typing._caller.__code__)}

    def refuse(self, what: str):
        if self.reported < 8:
            self.reported += 1
            self.send(e="blk", w=str(what)[:80])
        raise _Forbidden(f"{what} is not allowed in graded code")

    def hook(self, event: str, args) -> None:
        if self.trusted:
            return
        if event == "exec" and args and id(args[0]) in self.allowed:
            return
        if event == "open" and _harmless_open(args):
            return
        if event in ("compile", "exec") and self._from(self.generators):
            return
        if event == "sys._getframe" and self._from(self.callers):
            return
        if event in _BLOCKED_EVENTS or event.startswith(_BLOCKED_PREFIXES):
            self.refuse(event)

    def _from(self, codes: frozenset) -> bool:
        """Whether the audited call comes straight from one of these standard-library functions."""
        self.trusted = True  # frame attributes raise audit events of their own
        try:
            frame = sys._getframe(2)  # 0: this method, 1: the hook, 2: the audited call's caller
            return id(frame.f_code) in codes
        except ValueError:
            return False
        finally:
            self.trusted = False

    def builtins(self) -> dict:
        """The builtins student code sees."""
        import builtins

        real_import = builtins.__import__
        allowed, denied = ALLOWED, DENIED
        refuse = self.refuse

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level:
                raise ModuleNotFoundError("relative imports are not available in graded code")
            if not isinstance(name, str) or name.partition(".")[0] not in allowed or \
                    name.startswith(denied):
                raise ModuleNotFoundError(f"No module named {str(name)[:60]!r} while grading")
            return real_import(name, globals, locals, fromlist, level)

        def blocked(name):
            def call(*args, **kwargs):
                refuse(name)
            call.__name__ = name
            return call

        table = dict(vars(builtins))
        table["__import__"] = guarded_import
        for name in ("exec", "eval", "compile", "open", "breakpoint", "input", "help"):
            table[name] = blocked(name)
        return table


def _harmless_open(args) -> bool:
    """Reading a Python source file (linecache, for a warning or a traceback)."""
    if len(args) < 2 or not isinstance(args[0], str) or not args[0].endswith(".py"):
        return False
    mode = args[1]
    return isinstance(mode, str) and set(mode) <= set("rbt")


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
    raw = None
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.path[:] = _STDLIB + list(config["path"])
    os.environ.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    _hide_host_paths()
    _limits(config)
    import warnings

    import numpy as np  # noqa: F401 - the one library answers may use

    if config.get("block"):
        sys.meta_path.insert(0, _Blocker(config["block"]))
    warnings.simplefilter("ignore")  # nothing is shown, so no source file need be read
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a huge file raises OSError, not a kill
    signal.signal(signal.SIGALRM, _on_alarm)
    timeout = float(request["timeout"])
    compiled = []
    for cell in request["cells"]:
        for index, source, line in cell["stmts"]:
            compiled.append((cell["cell"], index, _compile(source, line, f"<cell {cell['cell']}>")))
    request["cells"] = None
    guard = _Guard(channel, [code for _, _, code in compiled if not isinstance(code, BaseException)])
    namespace = {"__name__": "__main__"}
    if config.get("guard", True):
        namespace["__builtins__"] = guard.builtins()
        sys.addaudithook(guard.hook)
    else:  # tests of the layers below the guard (namespaces, cgroups, seccomp)
        namespace["__builtins__"] = __builtins__
    for cell, index, code in compiled:
        channel.send(e="stmt", c=cell, k=index)
        if isinstance(code, BaseException):
            kind, info = "error", {"t": type(code).__name__, "m": str(code)[:500],
                                   "line": getattr(code, "lineno", None)}
        else:
            kind, info, _ = _run(exec, (code, namespace), {}, timeout, guard)
        if kind != "ok":
            channel.send(e="err", c=cell, k=index, kind=kind, **(info or {}))
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
        kind, info, value = _run(namespace[name], args, kwargs, timeout, guard)
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


def _compile(source: str, line: int, filename: str):
    """A statement's code object, numbered as in its cell (or the SyntaxError it raises)."""
    import ast

    try:
        tree = ast.parse(source, filename)
        ast.increment_lineno(tree, int(line) - 1)
        return compile(tree, filename, "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return error


def _hide_host_paths() -> None:
    """Nothing in the interpreter names the grader's files or the course's folder."""
    sys.argv[:] = ["course-grade-sandbox"]
    sys.orig_argv[:] = ["python3"]
    for name in ("executable", "_base_executable"):
        setattr(sys, name, "python3")
    for name in ("prefix", "exec_prefix"):
        setattr(sys, name, getattr(sys, "base_" + name))


def _run(fn, args, kwargs, timeout: float, guard: _Guard):
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
    except _Forbidden as error:
        return "error", {"t": "Forbidden", "m": str(error)}, None
    except NotImplementedError:
        return "error", {"t": "NotImplementedError", "m": "still raises NotImplementedError"}, None
    except ModuleNotFoundError as error:
        return "error", {"t": "ModuleNotFoundError", "line": _line_of(error, guard),
                         "m": f"{_text(error)} (graded code may import only NumPy and "
                              "pure standard-library modules such as math)"}, None
    except BaseException as error:  # noqa: BLE001 - anything the student's code raises
        return "error", {"t": type(error).__name__[:100], "m": _text(error),
                         "line": _line_of(error, guard)}, None


def _text(error: BaseException) -> str:
    try:
        return str.__getitem__(str(error), slice(0, 500))
    except BaseException:  # noqa: BLE001 - a __str__ that raises
        return ""


def _line_of(error: BaseException, guard: _Guard):
    """The last line number inside the student's cells, for messages like 'line 4'."""
    import types

    try:
        tb = error.__traceback__  # (a property of the student's, if any, runs untrusted)
        line = error.lineno if isinstance(error, SyntaxError) else None
    except BaseException:  # noqa: BLE001
        return None
    if type(tb) is not types.TracebackType:
        return line if type(line) is int else None
    found = None
    guard.trusted = True  # a real traceback: only C attributes are read below
    try:
        while tb is not None:
            if tb.tb_frame.f_code.co_filename.startswith("<cell "):
                found = tb.tb_lineno
            tb = tb.tb_next
    finally:
        guard.trusted = False
    return line if type(line) is int else found


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
        for procs in config.get("cgroup") or ():
            # before anything forks: every process of the submission is counted together
            with open(procs, "w") as handle:
                handle.write(str(os.getpid()))
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
    import importlib
    import resource  # noqa: F401

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

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


def main(argv: list[str]) -> None:
    """``--zygote FD CONFIG``: started by :class:`course.grading.sandbox.Sandbox` (see BOOT there)."""
    if len(argv) != 3 or argv[0] != "--zygote":
        sys.exit("runner.py is started by course-grade, not by hand")
    zygote(int(argv[1]), json.loads(argv[2]))
