"""The code that runs inside the sandbox, and the wire format both sides share.

The grader starts ``python -I -S runner.py CONFIG`` once per submission (see
:mod:`course.grading.sandbox`). This file therefore imports nothing from
``course`` and nothing but the standard library at the top; NumPy is imported
by the worker, from the only site-packages folder the sandbox can see.

Processes (``P1`` is the one the grader starts, in a session of its own)::

    P1  isolation setup (trusted): namespaces, a fresh root, drop privileges
     └─ P2  pid 1 of a new PID namespace (trusted): reaps, exits when P3 exits;
         │   when it dies, the kernel kills everything left in the namespace
         └─ P3  the worker: resource limits, then the student's code

On Linux the setup gives the worker: no network (a new, empty network
namespace), a private process tree, a root file system that holds only the
Python standard library and NumPy, read-only, plus a small writable ``/tmp``
(the scratch directory), and no capabilities. Where namespaces are not
available it falls back to resource limits alone and says so in its first
message. Messages are JSON lines on the worker's stdout; arrays travel as
dtype, shape and base64 bytes, never as pickles.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import sys

# ------------------------------------------------------------------ wire format
MAX_ELEMENTS = 2_000_000  # per returned value; an answer is a loss or a gradient
_DTYPE_KINDS = "biuf"


def encode(value):
    """Plain JSON for numbers, strings, None, tuples, lists, dicts and NumPy arrays."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and type(value) in (int, float):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v)] for k, v in value.items()]}
    np = sys.modules.get("numpy")
    if np is not None and isinstance(value, np.generic):
        return {"__scalar__": _array_fields(np.asarray(value))}
    if np is not None and isinstance(value, np.ndarray):
        return {"__array__": _array_fields(value)}
    raise TypeError(f"cannot send a {type(value).__name__} to the sandbox")


def _array_fields(array):
    return [array.dtype.str, list(array.shape), base64.b64encode(array.tobytes()).decode("ascii")]


def decode(data, strict: bool = False):
    """Inverse of :func:`encode`. ``strict`` (the grader reading a sandbox) checks every field."""
    if data is None or isinstance(data, (bool, str, int, float)):
        return data
    if isinstance(data, list):
        return [decode(v, strict) for v in data]
    if isinstance(data, dict) and len(data) == 1:
        (key, inner), = data.items()
        if key == "__tuple__" and isinstance(inner, list):
            return tuple(decode(v, strict) for v in inner)
        if key == "__dict__" and isinstance(inner, list):
            return {str(k): decode(v, strict) for k, v in inner}
        if key in ("__array__", "__scalar__"):
            array = _array(inner, strict)
            return array[()] if key == "__scalar__" else array
    raise ValueError("malformed value")


def _array(fields, strict: bool):
    import numpy as np

    if not (isinstance(fields, list) and len(fields) == 3):
        raise ValueError("malformed array")
    dtype_text, shape, payload = fields
    if not isinstance(dtype_text, str) or len(dtype_text) > 8:
        raise ValueError("malformed dtype")
    dtype = np.dtype(dtype_text)
    if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype} is not a number type")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(type(n) is int and 0 <= n <= MAX_ELEMENTS for n in shape)):
        raise ValueError("malformed shape")
    size = 1
    for n in shape:
        size *= n
    if strict and size > MAX_ELEMENTS:
        raise ValueError("array too large")
    if not isinstance(payload, str):
        raise ValueError("malformed payload")
    raw = base64.b64decode(payload.encode("ascii"), validate=True)
    if len(raw) != size * dtype.itemsize:
        raise ValueError("payload does not match shape and dtype")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def to_plain(value, _depth: int = 0):
    """What the worker sends back for a returned value (mirrors ``judge.to_data``).

    Raises TypeError with a sentence for the student when the value is not numbers.
    """
    import numpy as np

    if isinstance(value, (tuple, list)) and _depth == 0:
        return tuple(to_plain(v, 1) for v in value)
    if value is None:
        raise TypeError("returned None (is a `return` statement missing?)")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = value.view(np.ndarray)  # subclasses could override comparisons
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        if isinstance(value, np.ndarray) and value.size > MAX_ELEMENTS:
            raise TypeError(f"returned an array of {value.size} elements, far too large")
        array = np.array(value, copy=True)
        if array.dtype.kind not in _DTYPE_KINDS:
            raise TypeError(f"returned an array of dtype {array.dtype}, expected real numbers")
        return array
    raise TypeError(f"returned a {type(value).__name__}, expected a NumPy array or a number")


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


# ------------------------------------------------------------ isolation setup
_CLONE = {"ns": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000,
          "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000}
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT = 1, 2, 4, 32
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_SANDBOX_UIDS = 3_000_000_000  # + pid: far above real accounts, below 2**32 - 1


class SetupError(Exception):
    pass


class _Libc:
    def __init__(self):
        import ctypes

        self.ctypes = ctypes
        self.lib = ctypes.CDLL(None, use_errno=True)

    def check(self, result: int, what: str) -> None:
        if result != 0:
            errno = self.ctypes.get_errno()
            raise SetupError(f"{what}: {os.strerror(errno)}")

    def mount(self, source, target, fstype, flags, data=None):
        enc = lambda s: None if s is None else s.encode()  # noqa: E731
        self.check(self.lib.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
                   f"mount {target}")

    def prctl(self, option, arg=0):
        return self.lib.prctl(option, arg, 0, 0, 0)

    def drop_bounding_set(self):
        """No capability can come back through exec (needs CAP_SETPCAP), no new privileges."""
        for cap in range(64):
            self.prctl(_PR_CAPBSET_DROP, cap)
        self.check(self.prctl(_PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")

    def drop_capabilities(self):
        """Bounding set and every capability this process holds."""
        ctypes = self.ctypes
        self.drop_bounding_set()

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                        ("inheritable", ctypes.c_uint32)]

        self.check(self.lib.capset(ctypes.byref(Header(0x20080522, 0)), (Data * 2)()), "capset")


def _build_root(libc: _Libc, config: dict) -> None:
    """Pivot into a read-only tmpfs root that holds /usr, the standard library and NumPy.

    Every bind is read-only. Site-packages folders under /usr (``masks``) are
    covered by an empty tmpfs, so only NumPy is importable; a writable tmpfs
    becomes /tmp, the scratch directory.
    """
    root = config["root"]
    libc.mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    libc.mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=4m,mode=0755")
    system = ["/usr"]
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        if os.path.islink(top):
            os.symlink(os.readlink(top), root + top)
        elif os.path.isdir(top):
            system.append(top)
    stdlib = [p for p in sys.path if os.path.isdir(p) and "-packages" not in p]
    for source in system + stdlib + ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]:
        _bind(libc, source, root + source)
    masks = []
    for mask in config.get("masks", []):
        if os.path.isdir(root + mask):
            libc.mount("tmpfs", root + mask, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
            masks.append(root + mask)
    for source in config["binds"]:
        _bind(libc, source, root + source)
    for mask in masks:
        libc.mount(None, mask, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.makedirs(root + "/tmp", exist_ok=True)
    libc.mount("tmpfs", root + "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV,
               f"size={config['tmp_mb']}m,mode=1777")
    os.chdir(root)
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is not None and libc.lib.syscall(number, b".", b".") == 0:
        libc.check(libc.lib.umount2(b".", 2), "umount old root")  # MNT_DETACH
    else:
        os.chroot(".")  # safe too: the worker has no capability to chroot back out
    os.chdir("/")
    libc.mount(None, "/", None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)


def _bind(libc: _Libc, source: str, target: str) -> None:
    if not os.path.exists(source) or os.path.lexists(target):
        return  # missing here, or already visible through an earlier bind
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            with open(target, "w"):
                pass
    libc.mount(source, target, None, _MS_BIND | _MS_REC)
    flags = _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _locked_flags(source)
    if not source.startswith("/dev/"):
        flags |= _MS_NODEV
    try:
        libc.mount(None, target, None, flags)
    except SetupError:
        libc.mount(None, target, None, flags | _MS_NODEV)


def _locked_flags(path: str) -> int:
    """Flags a bind mount must keep (a user namespace may not clear them)."""
    st_flags = os.statvfs(path).f_flag
    flags = 0
    for st_bit, ms_bit in ((8, 8), (1024, 1024), (2048, 2048), (4096, 1 << 21)):
        if st_flags & st_bit:
            flags |= ms_bit  # noexec, noatime, nodiratime, relatime
    return flags


class _Fatal(Exception):
    """A setup step failed after unshare: the process is half-isolated and must not go on."""


def isolate(config: dict, channel: _Channel) -> str:
    """Set up the sandbox in P1, fork P2 and P3; returns (in P3) the isolation achieved."""
    mode, why, libc = "limits", "", None
    wanted = config.get("isolation", "auto")
    if wanted == "limits":
        why = "isolation='limits' was asked for"
    elif not sys.platform.startswith("linux"):
        why = f"no Linux namespaces on {sys.platform}"
    else:
        try:
            libc = _Libc()
            _namespaces(libc, config)
            mode = "namespaces"
        except _Fatal as error:
            channel.send(e="fatal", msg=f"sandbox setup failed: {error}")
            os._exit(3)
        except (SetupError, OSError) as error:
            if wanted == "namespaces":
                channel.send(e="fatal", msg=f"sandbox setup failed: {error}")
                os._exit(3)
            why = str(error)
    scratch = "/tmp" if mode == "namespaces" else config["root"]
    os.chdir(scratch)
    os.environ.update(HOME=scratch, TMPDIR=scratch)
    channel.send(e="hello", iso=mode, why=why)
    pid = os.fork()
    if pid:  # P1
        os.close(0)
        _reap_until(pid)
    # P2: dies with P1 (PDEATHSIG, or the grader's killpg before setsid), in a session of its own.
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if mode == "namespaces":
            libc.prctl(_PR_SET_DUMPABLE, 0)  # the worker cannot ptrace it
    os.setsid()  # a killpg(0) from the worker reaches P2 and the worker, never P1
    pid = os.fork()
    if pid:
        _reap_until(pid)
    return mode  # P3


def _reap_until(child: int) -> None:
    """Wait for ``child`` (reaping orphans meanwhile), then exit with its status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            os._exit(code if code >= 0 else 128 - code)


def _namespaces(libc: _Libc, config: dict) -> None:
    flags = _CLONE["ns"] | _CLONE["net"] | _CLONE["pid"] | _CLONE["ipc"] | _CLONE["uts"]

    def build():
        _build_root(libc, config)

    if os.geteuid() == 0 and not config.get("userns"):
        # Root: namespaces without a user namespace, then an unprivileged uid.
        libc.check(libc.lib.unshare(flags), "unshare")
        _after_unshare(build)
        _after_unshare(libc.drop_bounding_set)
        # An unused uid of its own (unique while this process lives), so that RLIMIT_NPROC
        # counts this submission's processes only; leaving root clears every capability.
        uid = _SANDBOX_UIDS + os.getpid()
        _after_unshare(lambda: (os.setgroups([]), os.setgid(uid), os.setuid(uid)))
        return
    uid, gid = os.geteuid(), os.getegid()
    libc.check(libc.lib.unshare(flags | _CLONE["user"]), "unshare")

    def user_maps():
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                           ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)

    _after_unshare(user_maps)
    _after_unshare(build)
    _after_unshare(libc.drop_capabilities)


def _after_unshare(step) -> None:
    try:
        step()
    except (SetupError, OSError) as error:
        raise _Fatal(str(error)) from error


# --------------------------------------------------------------------- worker
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
    sys.path[:] = [p for p in sys.path if p] + list(config["path"])
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


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = _Channel(os.dup(1))
    try:
        isolate(config, channel)
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


if __name__ == "__main__":
    main()
