"""``course-grade``: grade a class's notebooks into a CSV gradebook, with feedback.

Usage::

    course-grade submissions/ --out grades.csv [--feedback feedback/] [--jobs N]
                 [--timeout S] [--gradescope DIR] [--review DIR] [--secret FILE] [--shard I/N]
                 [--resume]
                 [--totals FILE] [--canvas FILE [--roster FILE]]
                 [--due WHEN --submission-times FILE [--late-penalty P]]
    course-grade merge --out grades.csv SHARD.csv... [--feedback DIR] [--gradescope DIR]
    course-grade package gradescope --out autograder.zip [--secret FILE]
    course-grade merge-manual SCORES.csv --into grades.csv

``submissions/`` holds one folder per student (``alice/01_regression.ipynb``);
a notebook path works too (its folder names the student). The file name picks
the assignment. Exit status: 0 whenever grading ran (whatever the scores),
2 on usage errors, 1 when no sandbox can run here.

Written questions are not scored here: each gets a ``manual`` row, ``--review DIR``
writes the answers out for teaching assistants, and ``merge-manual`` folds their
scores back into the gradebook (:mod:`course.grading.manual`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import stat
import sys
import time
from dataclasses import dataclass, field

from course.assignments import assignments
from course.assignments.spec import exercise_file

from . import feedback, manual, registrar, shards
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
               "unknown, version, duplicate; manual and graded for written questions. "
               "'course-grade merge-manual SCORES.csv --into grades.csv' merges teaching "
               "assistants' scores. See docs/instructors.md.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a folder of student folders, a student folder, or a notebook")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="the CSV gradebook to write")
    parser.add_argument("--feedback", type=pathlib.Path, metavar="DIR",
                        help="write one Markdown report per student here")
    parser.add_argument("--gradescope", type=pathlib.Path, metavar="DIR",
                        help="write Gradescope's results.json per student here (DIR/<student>/)")
    parser.add_argument("--review", type=pathlib.Path, metavar="DIR",
                        help="write every student's written answers, one Markdown file per question "
                             "with its rubric (DIR/<notebook>/<question>.md), and a blank "
                             "DIR/scores.csv for merge-manual")
    parser.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 8), metavar="N",
                        help="submissions graded in parallel (default: the number of CPUs)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="seconds allowed per call of a student's function (default 5)")
    parser.add_argument("--notebook-timeout", type=float, default=60.0, metavar="S",
                        help="seconds allowed for one notebook in all, every call and restart "
                             "included (default 60)")
    parser.add_argument("--memory", type=int, default=2048, metavar="MB",
                        help="memory for a submission as a whole, every process included, where "
                             "cgroups are available; else per process (default 2048)")
    parser.add_argument("--secret", type=pathlib.Path, metavar="FILE",
                        help="the assignment's secret, from which every student's hidden cases derive; "
                             "created (mode 0600) if missing (default: course-grade.secret next to "
                             "--out). Keep it private and use the same file for every run and shard")
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # a number for a secret (tests)
    parser.add_argument("--shard", metavar="I/N",
                        help="grade only shard I of N: a stable share of the students (see "
                             "'course-grade merge')")
    registrar.add_arguments(parser)
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows already in --out and grade only what is missing")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--isolation", choices=["auto", "namespaces", "limits"], default="auto",
                        help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["merge"]:
        return _merge_main(argv[1:])
    if argv[:1] == ["package"]:
        from . import gradescope

        return gradescope.package_main(argv[1:])
    if argv[:1] == ["merge-manual"]:
        return manual.merge_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors
    try:
        args.shard_of = shards.parse_shard(args.shard) if args.shard else None
        registrar.check_arguments(args)
    except (shards.ShardError, registrar.RegistrarError) as error:
        parser.error(str(error))
    if args.jobs < 1 or args.timeout <= 0 or args.memory < 256 or args.notebook_timeout < args.timeout:
        parser.error("--jobs must be >= 1, --timeout > 0, --notebook-timeout >= --timeout and "
                     "--memory >= 256")
    try:
        return _grade_all(args)
    except KeyboardInterrupt:  # before grading started, or while the sandbox was being closed
        print("\ncourse-grade: interrupted; finished rows are in the gradebook "
              "(rerun with --resume to grade the rest)", file=sys.stderr)
        return 130
    except UsageError as error:
        print(f"course-grade: error: {error}", file=sys.stderr)
        return 2


# ----------------------------------------------------------------- discovery
MAX_DEPTH = 8  # folders below a student's folder that are looked into
MAX_ENTRIES = 1000  # files and folders looked at per student
LINK = "hand in the notebook file itself, not a link"


@dataclass
class Discovery:
    """What the submission folders hold, read without following a single link.

    ``submissions``: regular notebook files, the only ones ever opened;
    ``empty``: students whose folder holds no notebook; ``refused``: hand-ins that
    are not regular files (links, named pipes, sockets, devices, linked folders)
    as (submission, reason); ``problems``: (student, text) for folders only partly
    looked at (too deep, too many files).
    """

    submissions: list[Submission] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    refused: list[tuple[Submission, str]] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def discover(paths: list[str]) -> Discovery:
    """Hand-ins under ``paths``. A link named on the command line is followed; no link
    inside it ever is, and only regular files become submissions."""
    found = Discovery()
    for text in paths:
        path = pathlib.Path(text)
        try:
            info = path.lstat()
        except OSError:
            raise UsageError(f"{text} does not exist") from None
        if not stat.S_ISDIR(info.st_mode) and not (stat.S_ISLNK(info.st_mode) and path.is_dir()):
            student = _text(path.absolute().parent.name) or "student"
            _add_file(found, student, _text(path.name), path, info)
            continue
        direct = [e for e in _entries(path) if _is_notebook_name(e.name)]
        if direct:
            if stat.S_ISLNK(info.st_mode):  # one student's folder that is a link: not followed
                name = _text(path.absolute().name) or "student"
                found.refused.append((Submission(name, "", path), _folder_link(text)))
                continue
            name = _text(path.resolve().name)
            _student(found, name, path)
            continue
        for entry in sorted(_entries(path), key=lambda e: e.name):
            if entry.name.startswith(_SKIP_DIRS):
                continue
            name = _text(entry.name)
            if entry.is_symlink():
                if _points_to_folder(entry.path):
                    found.refused.append((Submission(name, "", pathlib.Path(entry.path)),
                                          _folder_link(entry.path)))
                continue
            if entry.is_dir(follow_symlinks=False) and not _student(found, name, pathlib.Path(entry.path)):
                found.empty.append(name)
    return found


def _student(found: Discovery, name: str, folder: pathlib.Path) -> bool:
    """Add one student's hand-ins (walked without following links); whether any was found."""
    before = len(found.submissions) + len(found.refused) + len(found.problems)
    seen, deep = 0, False
    stack = [(folder, "", 0)]
    while stack:
        current, prefix, depth = stack.pop()
        entries = []
        try:
            with os.scandir(current) as listing:
                for entry in listing:
                    seen += 1
                    if seen > MAX_ENTRIES:
                        break
                    entries.append(entry)
        except OSError:
            continue  # unreadable folder: nothing in it is graded
        for entry in sorted(entries, key=lambda e: e.name, reverse=True):
            if entry.name.startswith(_SKIP_DIRS):
                continue  # hidden, .ipynb_checkpoints, __MACOSX, __pycache__
            relative = prefix + _text(entry.name)
            if entry.is_dir(follow_symlinks=False):
                if depth < MAX_DEPTH:
                    stack.append((pathlib.Path(entry.path), relative + "/", depth + 1))
                else:
                    deep = True
            elif _is_notebook_name(entry.name):
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                _add_file(found, name, relative, pathlib.Path(entry.path), info)
            elif entry.is_symlink() and _points_to_folder(entry.path):
                found.refused.append((Submission(name, relative, pathlib.Path(entry.path)),
                                      _folder_link(relative)))
        if seen > MAX_ENTRIES:
            found.problems.append((name, (
                f"This folder holds more than {MAX_ENTRIES:,} files and folders: only the first "
                f"{MAX_ENTRIES:,} were looked at, so a notebook may have been missed. Hand in "
                "the notebooks only.")))
            break
    else:
        if deep:
            found.problems.append((name, (
                f"Folders nested more than {MAX_DEPTH} levels deep were not looked into: hand in "
                "the notebooks at the top of your folder.")))
    return len(found.submissions) + len(found.refused) + len(found.problems) > before


def _add_file(found: Discovery, student: str, notebook: str, path: pathlib.Path, info) -> None:
    if stat.S_ISREG(info.st_mode):
        found.submissions.append(Submission(student, notebook, path))
        return
    if stat.S_ISLNK(info.st_mode):
        reason = f"This file is a link (to another file), not a notebook: {LINK}."
    else:
        kind = ("a named pipe" if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                else "not a file")
        reason = (f"This is {kind}, not a notebook file: hand in the .ipynb file saved by "
                  "Jupyter.")
    found.refused.append((Submission(student, notebook, path), reason))


def _folder_link(where) -> str:
    return (f"'{where}' is a link to a folder, which is not followed: {LINK} (or the folder "
            "itself).")


def _entries(folder: pathlib.Path) -> list:
    """Up to MAX_ENTRIES entries of one folder (never following the links in it)."""
    entries = []
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                entries.append(entry)
                if len(entries) >= MAX_ENTRIES * 100:
                    break
    except OSError as error:
        raise UsageError(f"{folder} cannot be read ({error.strerror})") from error
    return entries


def _is_notebook_name(name: str) -> bool:
    return name.endswith(".ipynb") and not name.startswith(_SKIP_DIRS)


def _points_to_folder(path: str) -> bool:
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)  # stat only: nothing is opened
    except OSError:
        return False


def _text(name: str) -> str:
    """A file name as text that can be written anywhere (undecodable bytes as \\xNN escapes)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def choose_copies(submissions: list[Submission], known) -> tuple[list[Submission], list[Report]]:
    """Grade one file per student and assignment; each other copy gets one ``duplicate`` row.

    The graded one is the file with the handed-out name at the shallowest depth, then the
    shortest path, then the first in alphabetical order.
    """
    groups: dict[tuple, list[Submission]] = {}
    for s in submissions:
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        key = (s.student, assignment.notebook if assignment else ("", s.notebook))
        groups.setdefault(key, []).append(s)
    kept, copies = [], []
    for (_, stem), group in groups.items():
        group.sort(key=lambda s: _preference(s.notebook, stem))
        kept.append(group[0])
        taken = {group[0].notebook}
        for other in group[1:]:
            notebook = other.notebook
            for number in range(2, len(group) + 2):
                if notebook not in taken:
                    break
                notebook = f"{other.notebook} (copy {number})"  # the same path given twice
            taken.add(notebook)
            copies.append(file_rows(Submission(other.student, notebook, other.path), None, "duplicate",
                                    f"Another copy of {group[0].notebook}, which was graded instead: "
                                    "each notebook counts once. Hand in one copy only."))
    kept.sort(key=lambda s: (s.student, s.notebook))
    return kept, copies


def _preference(notebook: str, stem) -> tuple:
    """Sort key: the handed-out name first (``01_regression_exercise.ipynb``), then the lesson's
    (``01_regression.ipynb``), then any other name; within each, the shallowest, shortest, first."""
    parts = notebook.split("/")
    names = (exercise_file(stem), f"{stem}.ipynb") if isinstance(stem, str) else ()
    rank = names.index(parts[-1]) if parts[-1] in names else len(names)
    return (rank, len(parts), len(notebook), notebook)


def refused_reports(found: Discovery, kept: list[Submission], known) -> list[Report]:
    """``invalid`` rows for links and special files: a notebook's points once per student."""
    reports = []
    counted = set()
    for s in kept:
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        if assignment is not None:
            counted.add((s.student, assignment.notebook))
    for submission, reason in sorted(found.refused, key=lambda r: (r[0].student, r[0].notebook)):
        name = submission.notebook.rsplit("/", 1)[-1]
        assignment = resolve(name, known) if name.endswith(".ipynb") else None
        key = (submission.student, assignment.notebook if assignment else None)
        if assignment is None or key in counted:
            reports.append(file_rows(submission, None, "invalid", reason))
        else:
            counted.add(key)
            reports.append(file_rows(submission, assignment, "invalid", reason))
    for student, text in found.problems:
        reports.append(file_rows(Submission(student, ""), None, "invalid", text))
    return reports


def missing_reports(submissions, empty: list[str], known, also=()) -> list[Report]:
    """Rows for notebooks a student did not hand in (among those the class handed in).

    ``also``: submissions that were handed in but cannot be graded (links...): they
    count as handed in, so the student gets no ``missing`` row for them too.
    """
    handed: dict[str, set] = {}
    for s in list(submissions) + list(also):
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        handed.setdefault(s.student, set())
        if assignment is not None:
            handed[s.student].add(assignment.notebook)
    expected = sorted(set().union(*handed.values())) if handed else []
    reports = []
    for student in sorted(set(handed) | set(empty)):
        for stem in expected:
            if stem not in handed.get(student, set()):
                name = known[stem].exercise_file
                reports.append(file_rows(Submission(student, name), known[stem], "missing",
                                         f"No {name} (or another notebook named for {stem}) was handed in."))
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


def _merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course-grade merge",
                                     description="Join gradebooks graded in shards (--shard I/N).")
    parser.add_argument("gradebooks", nargs="+", type=pathlib.Path, metavar="SHARD.csv")
    parser.add_argument("--out", required=True, type=pathlib.Path, help="the joined gradebook")
    parser.add_argument("--feedback", type=pathlib.Path, metavar="DIR",
                        help="also join the shards' feedback folders into DIR")
    parser.add_argument("--gradescope", type=pathlib.Path, metavar="DIR",
                        help="also join the shards' Gradescope folders into DIR")
    registrar.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        registrar.check_arguments(args)
        rows, _ = shards.merge(args.gradebooks, args.out, args.feedback, args.gradescope)
        registrar.write_all(args, rows, assignments())
    except (shards.ShardError, registrar.RegistrarError) as error:
        print(f"course-grade merge: error: {error}", file=sys.stderr)
        return 2
    students = len({row[0] for row in rows})
    print(f"Merged {len(args.gradebooks)} gradebook(s): {len(rows)} rows of {students} student(s); "
          f"wrote {args.out}")
    return 0


def _in_shard(args, student: str) -> bool:
    return args.shard_of is None or shards.shard_of(student, args.shard_of[1]) == args.shard_of[0]


def _secret(args) -> bytes:
    if args.seed is not None:
        return shards.secret_from_seed(args.seed)
    path = args.secret or args.out.parent / shards.DEFAULT_SECRET_NAME
    try:
        return shards.load_or_create_secret(path)
    except shards.ShardError as error:
        raise UsageError(str(error)) from error


def _prepare(args) -> _Work:
    known = assignments()
    found = discover(args.paths)
    if args.shard_of is not None:
        found.submissions = [s for s in found.submissions if _in_shard(args, s.student)]
        found.empty = [name for name in found.empty if _in_shard(args, name)]
        found.refused = [(s, why) for s, why in found.refused if _in_shard(args, s.student)]
        found.problems = [(name, text) for name, text in found.problems if _in_shard(args, name)]
    if not found.submissions and not found.empty and not found.refused and args.shard_of is None:
        raise UsageError("no notebooks found under " + ", ".join(args.paths))
    try:
        earlier = Gradebook(args.out).load() if args.resume else {}
    except GradebookError as error:
        raise UsageError(str(error)) from error
    submissions, copies = choose_copies(found.submissions, known)
    refused = refused_reports(found, submissions, known)
    for student, text in found.problems:
        print(f"course-grade: warning: {student}: {text}", file=sys.stderr)
    prefilled = copies + refused + missing_reports(submissions, found.empty, known,
                                                   also=[s for s, _ in found.refused])
    expected = {}
    for s in submissions:
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        expected[(s.student, s.notebook)] = (len(assignment.exercises) + len(assignment.written)
                                             if assignment else 1)
    # Rows that need no grading (copies, links, notebooks not handed in) are always written
    # afresh; a graded submission counts as done only with all its rows (a crash can cut the
    # last ones). Rows of other hand-ins (graded with other paths) are kept.
    fresh = {(r.submission.student, r.submission.notebook) for r in prefilled}
    earlier = {key: rows for key, rows in earlier.items()
               if key not in fresh and expected.get(key, len(rows)) == len(rows)}
    students = {s.student for s in found.submissions} | set(found.empty)
    students |= {s.student for s, _ in found.refused} | {student for student, _ in found.problems}
    return _Work(
        known, submissions, students,
        todo=[s for s in submissions if (s.student, s.notebook) not in earlier],
        prefilled=prefilled, earlier=earlier)


def _grade_all(args) -> int:
    work = _prepare(args)
    if not work.todo and not work.prefilled and not work.earlier:
        print(f"course-grade: shard {args.shard} holds no student; writing an empty gradebook",
              file=sys.stderr)
    sandbox = Sandbox(Limits(timeout=args.timeout, memory_mb=args.memory,
                             notebook_seconds=args.notebook_timeout), isolation=args.isolation)
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
    controllers = sandbox.cgroups()
    if not controllers.available:
        print(f"course-grade: warning: no control groups ({controllers.why}); --memory and the "
              "process limit hold per process, not for a submission as a whole (see "
              "docs/instructors.md, 'Limits').", file=sys.stderr)
    hidden_seed = _secret(args)
    meta = shards.Meta(shards.fingerprint(hidden_seed), shards.course_version(),
                       f"{args.shard_of[0]}/{args.shard_of[1]}" if args.shard_of else None,
                       str(args.feedback.resolve()) if args.feedback else None,
                       str(args.gradescope.resolve()) if args.gradescope else None)
    if args.resume and work.earlier:
        try:
            earlier = shards.Meta.read(args.out)
        except shards.ShardError:
            earlier = None
        if earlier is not None and (earlier.secret, earlier.version) != (meta.secret, meta.version):
            raise UsageError(f"{args.out} was graded with another secret or course version; resume "
                             "with the same --secret, or grade afresh")
    book = Gradebook(args.out)
    book.start([row for key in sorted(work.earlier) for row in work.earlier[key]])
    reports: list[Report] = list(work.prefilled)
    for report in work.prefilled:
        book.add([row.fields() for row in report.rows])
    progress = _Progress(len(work.todo), enabled=not args.quiet)
    started = time.monotonic()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = [pool.submit(grade, s, work.known, sandbox, hidden_seed) for s in work.todo]
        for future in concurrent.futures.as_completed(futures):
            report = future.result()
            book.add([row.fields() for row in report.rows])
            reports.append(report)
            progress.step()
    except KeyboardInterrupt:
        # Stop at once: drop what has not started, and close the sandbox (which kills the
        # notebooks being graded) instead of waiting for them.
        pool.shutdown(wait=False, cancel_futures=True)
        sandbox.close()
        print("\ncourse-grade: interrupted; finished rows are in the gradebook "
              "(rerun with --resume to grade the rest)", file=sys.stderr)
        return 130
    pool.shutdown()
    progress.close()
    rank = {e: i for a in work.known.values()
            for i, e in enumerate([x.name for x in a.exercises] + [q.id for q in a.written])}
    book.finish(lambda row: (row[0], row[1], rank.get(row[2], -1)))
    meta.write(args.out)
    registrar.write_all(args, Gradebook(args.out).rows(), work.known)
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
    if args.review:
        manual.write_reviews(args.review, work.submissions, work.known)
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
