"""Kernel-level walls around student code: a fresh session keyring and a seccomp filter.

Student code that reaches the kernel keyring could plant a key that outlives
its sandbox (the user keyring of its uid lives as long as the machine) or read
the grader's keys. These tests run statements exactly as written in a real
sandbox, on each path the grader can take (root, an unprivileged user
namespace, resource limits only), and look at the host afterwards.
"""

import os
import pathlib
import platform
import sys
import time
import uuid

import pytest

from course.grading import isolation
from course.grading.sandbox import Limits, Sandbox

LINUX = sys.platform.startswith("linux")
pytestmark = pytest.mark.skipif(not LINUX, reason="keyrings and seccomp are Linux's")
MACHINE = platform.machine()
NUMBERS = {  # the system calls these tests make, per architecture (unistd.h)
    "x86_64": {"add_key": 248, "request_key": 249, "keyctl": 250, "unshare": 272, "clone": 56,
               "mount": 165, "ptrace": 101, "bpf": 321, "userfaultfd": 323, "perf_event_open": 298},
    "aarch64": {"add_key": 217, "request_key": 218, "keyctl": 219, "unshare": 97, "clone": 220,
                "mount": 40, "ptrace": 117, "bpf": 280, "userfaultfd": 282, "perf_event_open": 241},
}.get(MACHINE, {})
KEY_SPEC_SESSION, KEY_SPEC_USER = -3, -4
KEYCTL_GET_KEYRING_ID = 0
EPERM = 1


def request(body: str, setup: str = "import ctypes, os") -> dict:
    """A request whose function ``probe`` runs ``body`` as written (no planning, no guard).

    The one place tests of the kernel layer build requests: where the grader adds a
    Python-level guard against ctypes, it is switched off here so the kernel's answer
    is what the test sees.
    """
    source = "def probe():\n" + "\n".join("    " + line for line in body.strip().split("\n"))
    return {"cells": [{"cell": 0, "stmts": [[0, setup, 1], [1, source, 2]]}], "names": ["probe"],
            "calls": [{"i": 0, "x": "probe", "a": {"__tuple__": []}, "k": {"__dict__": []}}],
            "timeout": 5.0}


def said(box: Sandbox, body: str) -> str:
    """What ``body`` returned, as text: it ends with ``raise RuntimeError(repr(answer))``."""
    attempt = box.run(request(body))
    result = next((e for e in attempt.events if e.get("e") == "res"), None)
    assert result is not None, (attempt.end, attempt.detail, attempt.events)
    assert result["kind"] == "error" and result["t"] == "RuntimeError", result
    return result["m"]


def _boxes():
    return [pytest.param({}, id="root-or-userns"), pytest.param({"userns": True}, id="userns"),
            pytest.param({"isolation": "limits"}, id="limits")]


@pytest.fixture(params=_boxes())
def box(request):
    options = request.param
    if options.get("userns") and os.geteuid() != 0:
        options = {}
    sandbox = Sandbox(Limits(timeout=3, memory_mb=512), guard=False, **options)
    expected = "limits" if options.get("isolation") == "limits" else "namespaces"
    assert sandbox.probe() == expected, sandbox.why
    yield sandbox
    sandbox.close()


def _host_keys(token: str) -> list[str]:
    return [line for line in pathlib.Path("/proc/keys").read_text().splitlines() if token in line]


def _key_users(uid: int) -> list[str]:
    return [line for line in pathlib.Path("/proc/key-users").read_text().splitlines()
            if line.split(":")[0].strip() == str(uid)]


@pytest.mark.skipif(not NUMBERS, reason=f"no system call numbers known for {MACHINE}")
def test_no_key_can_be_added_and_none_outlives_the_sandbox(box):
    token = f"leak-{uuid.uuid4().hex[:12]}"
    body = f"""
libc = ctypes.CDLL(None, use_errno=True)
answers = []
for ring in ({KEY_SPEC_SESSION}, {KEY_SPEC_USER}):
    key = libc.syscall({NUMBERS['add_key']}, b"user", b"{token}", b"secret", 6, ring)
    answers.append((key, ctypes.get_errno()))
ring = libc.syscall({NUMBERS['keyctl']}, {KEYCTL_GET_KEYRING_ID}, {KEY_SPEC_USER}, 1)
answers.append((ring, ctypes.get_errno()))
found = libc.syscall({NUMBERS['request_key']}, b"user", b"{token}", None, 0)
answers.append((found, ctypes.get_errno()))
raise RuntimeError(repr((answers, os.getuid())))
"""
    answers, uid = eval(said(box, body))  # noqa: S307 - our own repr of ints
    assert [a for a, _ in answers] == [-1] * 4, answers
    assert [e for _, e in answers] == [EPERM] * 4, answers
    time.sleep(0.2)
    assert _host_keys(token) == [], "a key added in the sandbox is still in the kernel"
    if uid != os.getuid():  # the sandbox's own uid: it must own no key at all
        deadline = time.monotonic() + 5
        while _key_users(uid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _key_users(uid) == [], "the sandbox's uid still owns keys"


@pytest.mark.skipif(not NUMBERS, reason=f"no system call numbers known for {MACHINE}")
def test_seccomp_blocks_namespaces_mounts_and_tracing(box):
    calls = {
        "unshare(CLONE_NEWUSER)": f"libc.syscall({NUMBERS['unshare']}, 0x10000000)",
        "clone(CLONE_NEWUSER)": f"libc.syscall({NUMBERS['clone']}, 0x10000000 | 17, 0, 0, 0, 0)",
        "mount": f"libc.syscall({NUMBERS['mount']}, b'none', b'/tmp', b'tmpfs', 0, None)",
        "ptrace(PTRACE_ATTACH, 1)": f"libc.syscall({NUMBERS['ptrace']}, 16, 1, 0, 0)",
        "bpf": f"libc.syscall({NUMBERS['bpf']}, 0, 0, 0)",
        "userfaultfd": f"libc.syscall({NUMBERS['userfaultfd']}, 0)",
        "perf_event_open": f"libc.syscall({NUMBERS['perf_event_open']}, 0, 0, -1, -1, 0)",
    }
    body = "libc = ctypes.CDLL(None, use_errno=True)\nanswers = {}\n" + "".join(
        f"answers[{name!r}] = ({call}, ctypes.get_errno())\n" for name, call in calls.items())
    body += "raise RuntimeError(repr((answers, os.getpid())))"
    answers, _ = eval(said(box, body))  # noqa: S307 - our own repr
    assert answers == {name: (-1, EPERM) for name in calls}, answers


def test_ordinary_processes_still_work(box):
    """fork, subprocess (clone3 falls back to clone) and threads are not blocked."""
    body = """
import subprocess, threading
done = subprocess.run(['/bin/sh', '-c', 'echo ok'], capture_output=True, text=True).stdout.strip()
pid = os.fork()
if pid == 0:
    os._exit(7)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
box = []
thread = threading.Thread(target=lambda: box.append(1))
thread.start()
thread.join()
raise RuntimeError(repr((done, code, box)))
"""
    assert said(box, body) == repr(("ok", 7, [1]))


def test_the_filter_program_is_well_formed():
    for machine in ("x86_64", "aarch64"):
        program = isolation.seccomp_program(machine)
        assert len(program) % 8 == 0 and len(program) // 8 < 4096
    with pytest.raises(isolation.SetupError, match="no seccomp filter"):
        isolation.seccomp_program("sparc")
