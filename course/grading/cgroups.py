"""Limits for a submission as a whole: memory, processes and CPU through Linux control groups.

Resource limits (``setrlimit``) count one process at a time: seven children
of 500 MB each, or a hundred memory-backed files, stay under a 512 MB
``RLIMIT_AS`` while holding gigabytes. A control group counts every process
of the submission and the memory they share. For each submission the
grader makes a group below its own and the sandbox's first process joins it
before it forks anything, so every process the student's code can start is
inside:

* memory: ``--memory`` MB for all of them together, swap included (the
  kernel kills inside the group when it is full, and the grader reads that
  it did: the exercise is charged ``memory``);
* processes: ``pids.max`` for all of them together;
* CPU: at most one core's worth of time, so a call's CPU time never exceeds
  its wall time, which the grader measures from the call's start.

Both layouts are supported: the unified hierarchy (cgroup v2:
``memory.max``, ``memory.swap.max``, ``pids.max``, ``cpu.max``) and the
older per-controller one (v1: ``memory.limit_in_bytes``,
``memory.memsw.limit_in_bytes``, ``pids.max``, ``cpu.cfs_quota_us``).
Where neither can be written (not root, no delegation, not Linux),
:func:`detect` says why and the sandbox keeps its per-process limits only;
``docs/instructors.md`` states what that allows.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import signal
import threading
import time
from dataclasses import dataclass, field

_counter = itertools.count()


@dataclass
class Group:
    """One submission's control group: the folders to join and to read back."""

    folders: list[pathlib.Path]
    version: int
    memory: pathlib.Path | None = None  # the folder holding the memory controller's files

    def procs_files(self) -> list[str]:
        return [str(f / "cgroup.procs") for f in self.folders]

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the group for want of memory."""
        if self.memory is None:
            return False
        try:
            if self.version == 2:
                text = (self.memory / "memory.events").read_text()
            else:
                text = (self.memory / "memory.oom_control").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit() and int(value) > 0:
                return True
        return False

    def peak_bytes(self) -> int:
        """The most memory the group held at once (0 when unknown)."""
        if self.memory is None:
            return 0
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.memory / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def remove(self) -> None:
        """Kill whatever is left in the group, then delete it (retrying while processes exit)."""
        for folder in self.folders:
            for _ in range(200):
                pids = _pids(folder)
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)


def _pids(folder: pathlib.Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


@dataclass
class Controllers:
    """Where this grader may create groups, and how."""

    version: int  # 1 or 2; 0 when unavailable
    parents: dict[str, pathlib.Path] = field(default_factory=dict)  # controller -> our folder
    why: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def available(self) -> bool:
        return self.version in (1, 2)

    def create(self, memory_bytes: int, pids: int, cpus: float = 1.0) -> Group:
        """A fresh group for one submission (OSError when the kernel refuses)."""
        name = f"s{next(_counter)}"
        if self.version == 2:
            folder = self.parents["unified"] / name
            folder.mkdir()
            try:
                _write(folder / "memory.max", str(memory_bytes))
                _write(folder / "memory.swap.max", "0", optional=True)
                _write(folder / "pids.max", str(pids))
                _write(folder / "cpu.max", f"{int(cpus * 100000)} 100000", optional=True)
            except OSError:
                folder.rmdir()
                raise
            return Group([folder], 2, folder)
        folders = []
        group = Group(folders, 1)
        try:
            for controller in ("memory", "pids", "cpu"):
                parent = self.parents.get(controller)
                if parent is None:
                    continue
                folder = parent / name
                folder.mkdir()
                folders.append(folder)
                if controller == "memory":
                    group.memory = folder
                    _write(folder / "memory.limit_in_bytes", str(memory_bytes))
                    _write(folder / "memory.memsw.limit_in_bytes", str(memory_bytes), optional=True)
                elif controller == "pids":
                    _write(folder / "pids.max", str(pids))
                else:
                    _write(folder / "cpu.cfs_period_us", "100000", optional=True)
                    _write(folder / "cpu.cfs_quota_us", str(int(cpus * 100000)), optional=True)
        except OSError:
            group.remove()
            raise
        return group

    def close(self) -> None:
        for folder in set(self.parents.values()):
            for child in list(folder.glob("s*")):
                Group([child], self.version).remove()
            try:
                folder.rmdir()
            except OSError:
                pass


def _write(path: pathlib.Path, text: str, optional: bool = False) -> None:
    try:
        path.write_text(text)
    except OSError:
        if not optional:
            raise


def _mounts() -> list[tuple[str, str, list[str]]]:
    """(mount point, type, options) of the cgroup file systems."""
    found = []
    try:
        lines = pathlib.Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        before, _, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if len(fields) >= 5 and tail and tail[0] in ("cgroup", "cgroup2"):
            options = tail[2].split(",") if len(tail) > 2 else []
            found.append((fields[4].replace("\\040", " "), tail[0], options))
    return found


def _own_paths() -> dict[str, str]:
    """This process's group per controller ("unified" for v2), from /proc/self/cgroup."""
    paths = {}
    try:
        lines = pathlib.Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            paths["unified"] = path
        for controller in controllers.split(","):
            if controller:
                paths[controller] = path
    return paths


def detect(enabled: bool = True) -> Controllers:
    """The strongest cgroup layout this process can use, tried by making a test group."""
    if not enabled:
        return Controllers(0, why="cgroups were turned off")
    if not os.path.exists("/proc/self/cgroup"):
        return Controllers(0, why="no Linux control groups on this system")
    own = _own_paths()
    mounts = _mounts()
    tag = f"course-grade-{os.getpid()}-{next(_counter)}"  # one per Sandbox, even in one process
    problems = []
    # v1: memory (and pids, cpu) controllers mounted per controller.
    v1 = {}
    for point, kind, options in mounts:
        if kind == "cgroup":
            for controller in ("memory", "pids", "cpu"):
                if controller in options and controller in own:
                    v1[controller] = pathlib.Path(point) / own[controller].lstrip("/")
    if "memory" in v1:
        made = {}
        try:
            for controller, base in v1.items():
                folder = base / tag
                folder.mkdir(exist_ok=True)
                made[controller] = folder
            controllers = Controllers(1, made)
            controllers.create(64 << 20, 8).remove()
            return controllers
        except OSError as error:
            problems.append(f"cgroup v1: {error.strerror or error}")
            for folder in made.values():
                try:
                    folder.rmdir()
                except OSError:
                    pass
    for point, kind, _ in mounts:
        if kind != "cgroup2" or "unified" not in own:
            continue
        base = pathlib.Path(point) / own["unified"].lstrip("/")
        try:
            available = (base / "cgroup.controllers").read_text().split()
        except OSError as error:
            problems.append(f"cgroup v2: {error.strerror or error}")
            continue
        if not {"memory", "pids"} <= set(available):
            problems.append(f"cgroup v2 at {base} does not offer the memory and pids controllers")
            continue
        folder = base / tag
        try:
            wanted = " ".join(f"+{c}" for c in ("memory", "pids", "cpu") if c in available)
            _write(base / "cgroup.subtree_control", wanted, optional=True)
            folder.mkdir(exist_ok=True)
            wanted = " ".join(f"+{c}" for c in ("memory", "pids", "cpu") if c in available)
            _write(folder / "cgroup.subtree_control", wanted)
            controllers = Controllers(2, {"unified": folder})
            controllers.create(64 << 20, 8).remove()
            return controllers
        except OSError as error:
            problems.append(f"cgroup v2: {error.strerror or error}")
            try:
                folder.rmdir()
            except OSError:
                pass
    return Controllers(0, why="; ".join(problems) or "no writable cgroup hierarchy")
