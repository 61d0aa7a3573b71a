"""How long each lesson takes on a fresh kernel, run top to bottom as a learner would.

Every lesson in ``notebooks/`` is executed by nbclient in a new kernel (the
same kind ``make lab`` starts), one after another, so they do not compete
with each other. Two numbers per lesson:

* **wall s**: from starting the kernel to the last cell's output, what the
  learner waits for (kernel start and imports included);
* **kernel CPU s**: the CPU time the kernel process used. On a busy machine
  the wall time grows with the load; the CPU time much less, so it is the
  fairer number to compare between runs.

Goals (issues 14 and 16): every lesson under 20 s on a fresh kernel, lessons
05 and 12 under 30 s, on the course's 2-core machines. The last lines name
the lessons over their goal, by wall time and by CPU time.

    .venv/bin/python benchmarks/bench_lessons.py          # every lesson
    .venv/bin/python benchmarks/bench_lessons.py 07 12    # those whose name starts with these
"""

from __future__ import annotations

import os
import pathlib
import resource
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
GOAL_S = 20.0
LONGER = {"05": 30.0, "12": 30.0}  # the landscapes and the capstone may take longer


def goal(path: pathlib.Path) -> float:
    return LONGER.get(path.name[:2], GOAL_S)


def run(path: pathlib.Path) -> tuple[float, float]:
    """Execute one notebook in a fresh kernel; (wall seconds, the kernel's CPU seconds)."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    client.execute()  # starts the kernel, runs every cell, shuts the kernel down and reaps it
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main(argv: list[str]) -> int:
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if argv:
        lessons = [p for p in lessons if any(p.name.startswith(prefix) for prefix in argv)]
    os.environ.setdefault("COURSE_STRICT_CLAIMS", "1")  # a lesson whose claims fail is not timed
    print(f"{'lesson':32s} {'wall s':>7s} {'kernel CPU s':>13s} {'goal s':>7s}")
    over_wall, over_cpu = [], []
    for path in lessons:
        wall, cpu = run(path)
        flag = "  (over)" if wall > goal(path) else ""
        print(f"{path.stem:32s} {wall:7.1f} {cpu:13.1f} {goal(path):7.0f}{flag}", flush=True)
        if wall > goal(path):
            over_wall.append(path.stem)
        if cpu > goal(path):
            over_cpu.append(path.stem)
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} (on {os.cpu_count()} cores)")
    print("over the goal by wall time:", ", ".join(over_wall) or "none")
    print("over the goal by kernel CPU time:", ", ".join(over_cpu) or "none")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
