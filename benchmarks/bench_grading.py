"""Throughput of course-grade against executing each notebook in a Jupyter kernel.

Run:  .venv/bin/python benchmarks/bench_grading.py [--n 120] [--jobs 2] [--notebooks 01_regression]

Makes N submissions (copies of the solution notebooks, one student each),
then, in the same run:

1. grades them with ``course-grade --jobs J`` (a subprocess, timed end to
   end: start-up, sandbox probe, every submission, the sorted gradebook);
2. executes the same notebooks the classic way, one fresh Jupyter kernel per
   notebook through nbclient, J at a time (the cost floor of nbgrader-style
   grading: its checks are the notebook's own self-check cells, no hidden
   cases, no sandbox).

Prints submissions per minute for both and their ratio (target on a 2-core
machine: >= 1,000 honest submissions per minute with --jobs 2). Then, unless
``--no-hostile``:

3. grades a hostile class (every attack in ``tests/adversarial/``: the
   integrity corpus and the sandbox corpus) with the shipped settings and a
   per-notebook budget (``--notebook-timeout``, default 10 s here), J at a
   time, timing each notebook; prints the slowest notebook against its budget
   and the whole class's time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def make_class(folder: pathlib.Path, stems: list[str], n: int) -> list[pathlib.Path]:
    paths = []
    for i in range(n):
        stem = stems[i % len(stems)]
        target = folder / f"student{i:04d}" / f"{stem}.ipynb"
        target.parent.mkdir(parents=True)
        shutil.copyfile(ROOT / "solutions" / f"{stem}.ipynb", target)
        paths.append(target)
    return paths


def run_grader(folder: pathlib.Path, out: pathlib.Path, jobs: int) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "course.grading", str(folder), "--out", str(out),
                    "--jobs", str(jobs), "--quiet", "--seed", "0"], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    with open(out, newline="") as handle:
        # (with several notebooks, each student also gets "missing" rows for the others)
        statuses = {row["status"] for row in csv.DictReader(handle)
                    if not (row["status"] == "missing" and row["message"].startswith("No "))
                    and row["status"] != "manual"}  # written answers wait for a teaching assistant
    if statuses != {"passed"}:
        raise SystemExit(f"the solutions should all pass; got statuses {statuses}")
    return seconds


def run_hostile(jobs: int, budget: float, timeout: float) -> None:
    """Grade every attack of the adversarial corpora; each notebook must end within its budget."""
    sys.path.insert(0, str(ROOT / "tests"))
    from adversarial import corpus, integrity

    from course.assignments import assignments
    from course.grading.grade import Submission, grade
    from course.grading.sandbox import Limits, Sandbox

    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as scratch:
        folder = pathlib.Path(scratch)
        entries = integrity.entries() + corpus.adversarial(ROOT, 9, "0.0", [])
        for entry in entries:
            entry.write(folder)
        known = assignments()
        sandbox = Sandbox(Limits(timeout=timeout, memory_mb=512, notebook_seconds=budget))
        sandbox.probe()
        submissions = [Submission(e.student, name, folder / e.student / name)
                       for e in entries for name in e.files]

        def timed(submission):
            start = time.perf_counter()
            grade(submission, known, sandbox, hidden_seed=1)
            return submission.student, time.perf_counter() - start

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            times = list(pool.map(timed, submissions))
        total = time.perf_counter() - start
        sandbox.close()
    slowest = sorted(times, key=lambda t: -t[1])[:3]
    print(f"hostile class     {len(submissions):4d} notebooks in {total:6.1f} s with --jobs {jobs}, "
          f"--timeout {timeout:g}, --notebook-timeout {budget:g}")
    print("  slowest: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in slowest))
    verdict = "within" if slowest[0][1] <= budget + 2 * (timeout + max(1.0, timeout / 2)) else "OVER"
    print(f"  every notebook {verdict} its budget ({budget:g} s, plus one call's grace)")


def run_kernels(paths: list[pathlib.Path], jobs: int) -> float:
    import nbclient  # imported here: the grader never needs it

    def execute(path: pathlib.Path) -> None:
        notebook = _as_node(json.loads(path.read_text()))
        client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(path.parent)}})
        client.execute()

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(execute, paths))
    return time.perf_counter() - start


def _as_node(notebook: dict):
    """The notebook as nbclient wants it, without nbformat's (slow) validation."""
    import nbformat

    for cell in notebook["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nbformat.from_dict(notebook)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=120, help="submissions (default 120)")
    parser.add_argument("--baseline-n", type=int, help="how many of them the kernel baseline runs "
                        "(default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--notebooks", nargs="+", default=["01_regression"],
                        help="solution notebooks to copy (stems), or 'all'")
    parser.add_argument("--no-baseline", action="store_true", help="skip the nbclient baseline")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile class")
    parser.add_argument("--notebook-timeout", type=float, default=10.0,
                        help="per-notebook budget for the hostile class (default 10 s)")
    args = parser.parse_args(argv)
    stems = args.notebooks
    if stems == ["all"]:
        stems = sorted(p.stem for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        folder = pathlib.Path(scratch) / "class"
        paths = make_class(folder, stems, args.n)
        grader_s = run_grader(folder, pathlib.Path(scratch) / "grades.csv", args.jobs)
        baseline = [] if args.no_baseline else paths[: args.baseline_n or args.n]
        kernel_s = run_kernels(baseline, args.jobs) if baseline else 0.0
    grader_rate = args.n / grader_s * 60
    print(f"notebooks: {', '.join(stems)}; --jobs {args.jobs}")
    print(f"course-grade      {args.n:4d} submissions in {grader_s:6.1f} s: {grader_rate:7.0f} per minute "
          f"(target >= 1,000)")
    if baseline:
        kernel_rate = len(baseline) / kernel_s * 60
        print(f"nbclient kernels  {len(baseline):4d} submissions in {kernel_s:6.1f} s: "
              f"{kernel_rate:7.0f} per minute")
        print(f"speed-up: {grader_rate / kernel_rate:.1f}x")
    if not args.no_hostile:
        run_hostile(args.jobs, args.notebook_timeout, timeout=2.0)


if __name__ == "__main__":
    main()
