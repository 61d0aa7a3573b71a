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
says so.

Either way, on Linux, the submission gets a fresh anonymous session keyring
(so it cannot see or change the grader's keys), and a seccomp filter makes the
system calls that reach beyond the sandbox fail with EPERM: the kernel
keyring (``add_key``, ``request_key``, ``keyctl``: a key added to the user
keyring would outlive the sandbox), ``ptrace``, ``bpf``, ``userfaultfd``,
``perf_event_open``, ``io_uring``, mounting, new namespaces (``unshare``,
``setns``, ``clone`` with a ``CLONE_NEW*`` flag), kernel modules, ``kexec`` and
swap. Standard library only.
"""

from __future__ import annotations

import os
import signal
import struct
import sys

_CLONE = {"ns": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000,
          "user": 0x10000000, "pid": 0x20000000, "net": 0x40000000}
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT = 1, 2, 4, 32
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE, _PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
_SANDBOX_UIDS = 3_000_000_000  # + pid: far above real accounts, below 2**32 - 1

# ---- the seccomp filter (see seccomp(2)): system calls per architecture
_KEYCTL_JOIN_SESSION_KEYRING, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 1, 22, 2
_EPERM, _ENOSYS = 1, 38
_RET_KILL_PROCESS, _RET_ERRNO, _RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06  # classic BPF opcodes
_CLONE_NEW_ANY = 0x7E020000 | 0x80  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME
_BLOCKED = ("add_key", "request_key", "keyctl", "ptrace", "bpf", "userfaultfd", "perf_event_open",
            "kexec_load", "kexec_file_load", "mount", "umount2", "unshare", "setns", "pivot_root",
            "swapon", "swapoff", "init_module", "finit_module", "delete_module", "open_by_handle_at",
            "name_to_handle_at", "process_vm_readv", "process_vm_writev", "io_uring_setup",
            "io_uring_enter", "io_uring_register", "open_tree", "move_mount", "fsopen", "fsconfig",
            "fsmount", "fspick", "mount_setattr", "chroot", "acct", "quotactl")
_GENERIC = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
            "fspick": 433, "clone3": 435, "mount_setattr": 442, "io_uring_setup": 425,
            "io_uring_enter": 426, "io_uring_register": 427}
_ARCHES = {
    # machine: (AUDIT_ARCH_*, x32 bit or 0, numbers)
    "x86_64": (0xC000003E, 0x40000000, {
        **_GENERIC, "add_key": 248, "request_key": 249, "keyctl": 250, "ptrace": 101, "bpf": 321,
        "userfaultfd": 323, "perf_event_open": 298, "kexec_load": 246, "kexec_file_load": 320,
        "mount": 165, "umount2": 166, "unshare": 272, "setns": 308, "pivot_root": 155, "swapon": 167,
        "swapoff": 168, "init_module": 175, "finit_module": 313, "delete_module": 176,
        "open_by_handle_at": 304, "name_to_handle_at": 303, "process_vm_readv": 310,
        "process_vm_writev": 311, "chroot": 161, "acct": 163, "quotactl": 179, "clone": 56}),
    "aarch64": (0xC00000B7, 0, {
        **_GENERIC, "add_key": 217, "request_key": 218, "keyctl": 219, "ptrace": 117, "bpf": 280,
        "userfaultfd": 282, "perf_event_open": 241, "kexec_load": 104, "kexec_file_load": 294,
        "mount": 40, "umount2": 39, "unshare": 97, "setns": 268, "pivot_root": 41, "swapon": 224,
        "swapoff": 225, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "process_vm_readv": 270,
        "process_vm_writev": 271, "chroot": 51, "acct": 89, "quotactl": 60, "clone": 220}),
}


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

    def join_fresh_session_keyring(self) -> None:
        """An empty anonymous session keyring: the grader's own keys are out of reach."""
        number = _ARCHES.get(os.uname().machine, (0, 0, {}))[2].get("keyctl")
        if number is None:
            raise SetupError(f"no keyctl number known for {os.uname().machine}")
        if self.lib.syscall(number, _KEYCTL_JOIN_SESSION_KEYRING, None) < 0:
            errno = self.ctypes.get_errno()
            raise SetupError(f"joining a fresh session keyring: {os.strerror(errno)}")

    def install_seccomp(self) -> None:
        """Make the system calls in _BLOCKED fail with EPERM, for this process and its children.

        Needs no_new_privs (set by the caller). SetupError on an architecture this
        module has no system call numbers for.
        """
        ctypes = self.ctypes
        program = seccomp_program(os.uname().machine)

        class Program(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        code = ctypes.create_string_buffer(program, len(program))
        fprog = Program(len(program) // 8, ctypes.cast(code, ctypes.c_void_p))
        if self.lib.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
            raise SetupError(f"seccomp filter: {os.strerror(ctypes.get_errno())}")

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


def seccomp_program(machine: str) -> bytes:
    """The classic BPF program of the filter, as ``struct sock_filter`` entries.

    A system call of another architecture (e.g. 32-bit calls from a 64-bit process)
    kills the process; x32 calls on x86_64 fail with EPERM; each blocked call fails
    with EPERM; ``clone`` with a new-namespace flag fails with EPERM, and ``clone3``
    (whose flags a filter cannot read) with ENOSYS, so that the C library falls back
    to ``clone``; everything else is allowed.
    """
    if machine not in _ARCHES:
        raise SetupError(f"no seccomp filter for the {machine} architecture")
    arch, x32, numbers = _ARCHES[machine]

    def op(code, k, jt=0, jf=0):
        return struct.pack("=HBBI", code, jt, jf, k)

    program = [op(_LD_ABS_W, 4), op(_JEQ, arch, 1, 0), op(_RET, _RET_KILL_PROCESS), op(_LD_ABS_W, 0)]
    if x32:
        program += [op(_JGE, x32, 0, 1), op(_RET, _RET_ERRNO | _EPERM)]
    for name in _BLOCKED:
        program += [op(_JEQ, numbers[name], 0, 1), op(_RET, _RET_ERRNO | _EPERM)]
    program += [op(_JEQ, numbers["clone3"], 0, 1), op(_RET, _RET_ERRNO | _ENOSYS)]
    program += [op(_JEQ, numbers["clone"], 0, 3),
                op(_LD_ABS_W, 16),  # the low 32 bits of args[0], clone's flags
                op(_JSET, _CLONE_NEW_ANY, 0, 1), op(_RET, _RET_ERRNO | _EPERM)]
    program += [op(_RET, _RET_ALLOW)]
    return b"".join(program)


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
    if sys.platform.startswith("linux"):
        libc = _Libc()
        try:
            libc.join_fresh_session_keyring()  # before setuid: the sandbox's uid owns no key
        except SetupError as error:
            why = _also(why, str(error))
    if wanted != "limits" and sys.platform.startswith("linux"):
        try:
            _namespaces(libc, config)
            mode = "namespaces"
        except _Fatal as error:
            channel.send(e="fatal", msg=f"sandbox setup failed: {error}")
            os._exit(3)
        except (SetupError, OSError) as error:
            if wanted == "namespaces":
                channel.send(e="fatal", msg=f"sandbox setup failed: {error}")
                os._exit(3)
            why = _also(str(error), why)
    if mode == "limits" and os.geteuid() == 0:
        # No namespaces (a container that refuses them: Docker's default profile, Gradescope,
        # most Kubernetes pods): the student's code still does not run as root. An unused uid
        # of its own, owning only the fresh scratch folder, cannot read root-only files (the
        # course, the solutions, the secret) nor signal the grader.
        try:
            uid = _SANDBOX_UIDS + os.getpid()
            os.chown(config["root"], uid, uid)
            os.chmod(config["root"], 0o700)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        except OSError as error:
            channel.send(e="fatal", msg=f"sandbox setup failed: could not leave root ({error})")
            os._exit(3)
    if libc is not None:
        try:
            libc.check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1), "no_new_privs")
            libc.install_seccomp()
        except SetupError as error:
            why = _also(why, f"{error}: the kernel keyring and other system calls stay reachable")
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


def _also(first: str, second: str) -> str:
    return "; ".join(t for t in (first, second) if t)


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
