"""``course-grade``: grade a class's notebooks into a CSV gradebook, with feedback.

Usage::

    course-grade submissions/ --out grades.csv [--feedback feedback/] [--jobs N]
                 [--timeout S] [--gradescope DIR] [--seed N] [--resume]

``submissions/`` holds one folder per student (``alice/01_regression.ipynb``);
a notebook path works too (its folder names the student). The file name picks
the assignment. Exit status: 0 whenever grading ran (whatever the scores),
2 on usage errors, 1 when no sandbox can run here.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import secrets
import sys
import time
from dataclasses import dataclass, field

from course.assignments import assignments

from . import feedback
from .grade import ExerciseReport, Report, Row, Submission, file_rows, grade, resolve
from .gradebook import Gradebook, GradebookError
from .sandbox import Limits, Sandbox, SandboxUnavailable

_SKIP_DIRS = (".", "__MACOSX", "__pycache__")


class UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course-grade", description=__doc__.split("\n\n")[0],
        epilog="Statuses: passed, failed, error, timeout, memory, missing, forbidden, invalid, "
               "unknown, version. See docs/instructors.md.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a folder of student folders, a student folder, or a notebook")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="the CSV gradebook to write")
    parser.add_argument("--feedback", type=pathlib.Path, metavar="DIR",
                        help="write one Markdown report per student here")
    parser.add_argument("--gradescope", type=pathlib.Path, metavar="DIR",
                        help="write Gradescope's results.json per student here (DIR/<student>/)")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 8), metavar="N",
                        help="submissions graded in parallel (default: the number of CPUs)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="seconds allowed per call of a student's function (default 5)")
    parser.add_argument("--memory", type=int, default=2048, metavar="MB",
                        help="address-space limit of a submission's process (default 2048)")
    parser.add_argument("--seed", type=int, help="seed of the hidden cases (default: a per-run secret)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --out and grade only what is missing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--isolation", choices=["auto", "namespaces", "limits"], default="auto",
                        help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors
    if args.jobs < 1 or args.timeout <= 0 or args.memory < 256:
        parser.error("--jobs must be >= 1, --timeout > 0 and --memory >= 256")
    try:
        return _grade_all(args)
    except UsageError as error:
        print(f"course-grade: error: {error}", file=sys.stderr)
        return 2


# ----------------------------------------------------------------- discovery
def discover(paths: list[str]) -> tuple[list[Submission], list[str]]:
    """Submissions under ``paths``, and the students whose folder holds no notebook."""
    found, empty = [], []
    for text in paths:
        path = pathlib.Path(text)
        if not path.exists():
            raise UsageError(f"{text} does not exist")
        if path.is_file():
            student = path.resolve().parent.name or "student"
            found.append(Submission(student, path.name, path))
            continue
        direct = sorted(p for p in path.iterdir() if p.is_file() and p.suffix == ".ipynb")
        if direct:
            found += _student(path.resolve().name, path)
            continue
        for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(_SKIP_DIRS)):
            notebooks = _student(folder.name, folder)
            found += notebooks
            if not notebooks:
                empty.append(folder.name)
    return found, empty


def _student(name: str, folder: pathlib.Path) -> list[Submission]:
    notebooks = []
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if any(part.startswith(_SKIP_DIRS) or part == ".ipynb_checkpoints" for part in relative.parts):
            continue
        if path.is_file():
            notebooks.append(Submission(name, relative.as_posix(), path))
    return notebooks


def missing_reports(submissions, empty: list[str], known) -> list[Report]:
    """Rows for notebooks a student did not hand in (among those the class handed in)."""
    handed: dict[str, set] = {}
    for s in submissions:
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        handed.setdefault(s.student, set())
        if assignment is not None:
            handed[s.student].add(assignment.notebook)
    expected = sorted(set().union(*handed.values())) if handed else []
    reports = []
    for student in sorted(set(handed) | set(empty)):
        for stem in expected:
            if stem not in handed.get(student, set()):
                reports.append(file_rows(Submission(student, f"{stem}.ipynb"), known[stem], "missing",
                                         f"No {stem}.ipynb was handed in."))
        if not expected and student in empty:
            reports.append(file_rows(Submission(student, ""), None, "missing",
                                     "No notebook (.ipynb) was found in this student's folder."))
    return reports


# ------------------------------------------------------------------ grading
@dataclass
class _Work:
    """What this run must grade, and what an earlier run (``--resume``) already did."""

    known: dict
    submissions: list[Submission]
    students: set[str]
    todo: list[Submission]
    prefilled: list[Report]  # notebooks not handed in: rows without grading
    earlier: dict = field(default_factory=dict)  # (student, notebook) -> rows kept


def _prepare(args) -> _Work:
    known = assignments()
    submissions, empty = discover(args.paths)
    if not submissions and not empty:
        raise UsageError("no notebooks found under " + ", ".join(args.paths))
    try:
        earlier = Gradebook(args.out).load() if args.resume else {}
    except GradebookError as error:
        raise UsageError(str(error)) from error
    prefilled = missing_reports(submissions, empty, known)
    expected = {}
    for s in submissions:
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        expected[(s.student, s.notebook)] = len(assignment.exercises) if assignment else 1
    for report in prefilled:
        expected[(report.submission.student, report.submission.notebook)] = len(report.rows)
    # a submission counts as done only with all its rows (a crash can cut the last ones)
    earlier = {key: rows for key, rows in earlier.items() if expected.get(key, len(rows)) == len(rows)}
    return _Work(
        known, submissions, {s.student for s in submissions} | set(empty),
        todo=[s for s in submissions if (s.student, s.notebook) not in earlier],
        prefilled=[r for r in prefilled if (r.submission.student, r.submission.notebook) not in earlier],
        earlier=earlier)


def _grade_all(args) -> int:
    work = _prepare(args)
    sandbox = Sandbox(Limits(timeout=args.timeout, memory_mb=args.memory), isolation=args.isolation)
    try:
        return _grade(args, work, sandbox)
    finally:
        sandbox.close()


def _grade(args, work: _Work, sandbox: Sandbox) -> int:
    try:
        isolation = sandbox.probe() if work.todo else "namespaces"
    except SandboxUnavailable as error:
        print(f"course-grade: error: {error}", file=sys.stderr)
        return 1
    if isolation != "namespaces":
        print("course-grade: warning: Linux namespaces are not available here "
              f"({sandbox.why or 'unknown reason'}); student code runs with resource limits only "
              "(no network isolation, no private file system or process tree). Grade untrusted "
              "code on Linux with namespaces enabled.", file=sys.stderr)
    hidden_seed = args.seed if args.seed is not None else secrets.randbits(48)
    book = Gradebook(args.out)
    book.start([row for key in sorted(work.earlier) for row in work.earlier[key]])
    reports: list[Report] = list(work.prefilled)
    for report in work.prefilled:
        book.add([row.fields() for row in report.rows])
    progress = _Progress(len(work.todo), enabled=not args.quiet)
    started = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(grade, s, work.known, sandbox, hidden_seed) for s in work.todo]
            for future in concurrent.futures.as_completed(futures):
                report = future.result()
                book.add([row.fields() for row in report.rows])
                reports.append(report)
                progress.step()
    except KeyboardInterrupt:
        print("\ncourse-grade: interrupted; finished rows are in the gradebook "
              "(rerun with --resume to grade the rest)", file=sys.stderr)
        return 130
    progress.close()
    rank = {e.name: i for a in work.known.values() for i, e in enumerate(a.exercises)}
    book.finish(lambda row: (row[0], row[1], rank.get(row[2], -1)))
    if args.feedback or args.gradescope:
        for (student, notebook), rows in work.earlier.items():  # kept rows: feedback from the rows
            report = Report(Submission(student, notebook),
                            resolve(notebook.rsplit("/", 1)[-1], work.known))
            report.exercises = [ExerciseReport(Row(r[0], r[1], r[2], float(r[3]), float(r[4]), r[5], r[6]))
                                for r in rows]
            reports.append(report)
        by_student: dict[str, list[Report]] = {}
        for report in reports:
            by_student.setdefault(report.submission.student, []).append(report)
        feedback.write_all(by_student, args.feedback, args.gradescope)
    seconds = time.monotonic() - started
    count = len(work.todo)
    rate = count / seconds * 60 if seconds > 0 and count else 0.0
    kept = f" (kept {len(work.earlier)} from the earlier run)" if work.earlier else ""
    print(f"Graded {count} notebook(s) of {len(work.students)} student(s) in {seconds:.1f} s "
          f"({rate:.0f} per minute); wrote {args.out}{kept}")
    return 0


class _Progress:
    """A progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.done = total, 0
        self.enabled = enabled and total > 0
        self.tty = sys.stderr.isatty()
        self.started = time.monotonic()
        self._last = -1

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        if self.tty:
            filled = int(30 * self.done / self.total)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total} "
                             f"({rate * 60:.0f}/min)")
            sys.stderr.flush()
            return
        tenth = self.done * 10 // self.total
        if tenth != self._last:
            self._last = tenth
            print(f"graded {self.done}/{self.total} ({rate * 60:.0f}/min)", file=sys.stderr)

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")
