"""Isolation for one submission: namespaces, a fresh read-only root, no privileges.

Loaded by the sandbox's runner (by path, as ``isolation``) in the process the
zygote forks for a submission (P1). :func:`isolate` leaves three processes::

    P1  isolation setup (trusted): namespaces, a fresh root, drop privileges
     └─ P2  pid 1 of a new PID namespace (trusted): reaps, exits when P3 exits;
         │   when it dies, the kernel kills everything left in the namespace
         └─ P3  the worker: resource limits, then the student's code

On Linux the worker gets no network (a new, empty network namespace), a
private process tree, a root file system holding only /usr, the Python
standard library and NumPy, read-only, plus a small writable ``/tmp`` (the
scratch directory), and no capabilities. As root, namespaces are made
without a user namespace and the worker runs as an unused uid of its own;
otherwise an unprivileged user namespace is used. Where neither works
(not Linux, namespaces disabled) it falls back to resource limits alone and
says so. Standard library only.
"""

from __future__ import annotations

import os
import signal
import sys

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
    # The scratch /tmp comes first, so binds of paths under /tmp (a checkout or a
    # venv living in /tmp) land on top of it instead of being hidden by it.
    os.makedirs(root + "/tmp", exist_ok=True)
    libc.mount("tmpfs", root + "/tmp", "tmpfs", _MS_NOSUID | _MS_NODEV,
               f"size={config['tmp_mb']}m,mode=1777")
    system = ["/usr"]
    for top in ("/bin", "/lib", "/lib32", "/lib64", "/sbin"):
        if os.path.islink(top):
            os.symlink(os.readlink(top), root + top)
        elif os.path.isdir(top):
            system.append(top)
    stdlib = [p for p in config["stdlib"] if os.path.isdir(p) and "-packages" not in p]
    for source in system + stdlib + ["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"]:
        _bind(libc, source, root + source)
    masks = []
    for mask in config.get("masks", []):
        if os.path.isdir(root + mask):
            libc.mount("tmpfs", root + mask, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=0755")
            masks.append(root + mask)
    for bind in config["binds"]:  # [host path, path inside] (or one path for both)
        source, target = (bind, bind) if isinstance(bind, str) else bind
        _bind(libc, source, root + target)
    for mask in masks:
        libc.mount(None, mask, None, _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
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


def die_with_parent() -> None:
    """SIGKILL when the parent exits, so nothing outlives a grader that was killed."""
    if sys.platform.startswith("linux"):
        _Libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def isolate(config: dict, channel, stdlib: list[str]) -> str:
    """Set up the sandbox in P1, fork P2 and P3; returns (in P3) the isolation achieved.

    ``channel.send(**message)`` reports to the grader; ``stdlib`` lists the folders of the
    standard library (the only ones, with NumPy's, that the new root shows).
    """
    config = {**config, "stdlib": stdlib}
    parent = os.getppid()
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
    die_with_parent()  # again: changing the uid cleared it
    if os.getppid() != parent:
        os._exit(1)  # the zygote (hence the grader) is gone
    channel.send(e="hello", iso=mode, why=why)
    pid = os.fork()
    if pid:  # P1
        os.close(0)
        _reap_until(pid)
    # P2 dies with P1: PDEATHSIG (the grader kills P1's process group).
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if mode == "namespaces":
        # pid 1 of the namespace: when it dies the kernel kills every process left in it.
        # A session of its own, so a killpg(0) from the worker reaches P2 (which ignores it),
        # never P1; not dumpable, so the worker cannot ptrace it.
        os.setsid()
        libc.prctl(_PR_SET_DUMPABLE, 0)
    pid = os.fork()
    if pid:
        _reap_until(pid, channel)
    if libc is not None and mode != "namespaces":
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    return mode  # P3


def _reap_until(child: int, channel=None) -> None:
    """Wait for ``child`` (reaping orphans meanwhile), report how it ended, exit likewise."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(1)
        except InterruptedError:
            continue
        if pid == child:
            code = os.waitstatus_to_exitcode(status)
            code = code if code >= 0 else 128 - code
            if channel is not None:
                try:
                    channel.send(e="exit", code=code)
                except OSError:
                    pass
            os._exit(code)


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
