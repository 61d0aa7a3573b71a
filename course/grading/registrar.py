"""What the registrar wants from a gradebook: one row per student, and a file the LMS imports.

* ``--totals FILE``: ``student,<notebook>...,total,max_total`` (and ``days_late`` when
  lateness is counted), one row per student, a column per notebook.
* ``--canvas FILE``: Canvas's gradebook import format (``Student,ID,SIS User ID,SIS Login
  ID,Section`` then one column per notebook, headed by its title, and a ``Points Possible``
  row). ``--roster FILE`` (a Canvas gradebook export) fills the ID columns: a student's
  folder name is matched against ``SIS Login ID``, then ``SIS User ID``, then ``Student``.
* Lateness: with ``--due WHEN`` (ISO 8601) and ``--submission-times FILE``
  (``student,submitted_at`` and optionally ``notebook``), a notebook handed in late loses
  ``--late-penalty`` (default 0.1) of its points per started day, down to zero. The
  gradebook itself keeps the raw scores; the totals and the Canvas file apply the penalty.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import pathlib
import sys

from .grade import resolve


class RegistrarError(Exception):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registrar")
    group.add_argument("--totals", type=pathlib.Path, metavar="FILE",
                       help="write one row per student with a column per notebook and the total")
    group.add_argument("--canvas", type=pathlib.Path, metavar="FILE",
                       help="write a CSV that Canvas's gradebook imports")
    group.add_argument("--roster", type=pathlib.Path, metavar="FILE",
                       help="a Canvas gradebook export, to fill the Canvas file's ID columns")
    group.add_argument("--due", metavar="WHEN", help="the due date (ISO 8601, e.g. 2026-12-01T23:59)")
    group.add_argument("--submission-times", type=pathlib.Path, metavar="FILE",
                       help="CSV of student,submitted_at[,notebook] (ISO 8601)")
    group.add_argument("--late-penalty", type=float, default=0.1, metavar="P",
                       help="fraction of a notebook's points lost per started day late (default 0.1)")


def check_arguments(args) -> None:
    if (args.due is None) != (args.submission_times is None):
        raise RegistrarError("--due and --submission-times go together")
    if args.roster is not None and args.canvas is None:
        raise RegistrarError("--roster fills the Canvas file: give --canvas too")
    if not 0 <= args.late_penalty <= 1:
        raise RegistrarError("--late-penalty must be between 0 and 1")
    args.due_at = _when(args.due, "--due") if args.due else None


def _when(text: str, what: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise RegistrarError(f"{what}: {text!r} is not an ISO 8601 date and time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def days_late(submitted: dt.datetime, due: dt.datetime) -> int:
    """Started days after the due date (0 when on time)."""
    seconds = (submitted - due).total_seconds()
    return 0 if seconds <= 0 else math.ceil(seconds / 86400)


def _rows(path: pathlib.Path) -> list[dict]:
    """A CSV file's rows as dicts (a spreadsheet's byte-order mark tolerated)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except OSError as error:
        raise RegistrarError(f"cannot read {path}: {error.strerror}") from error


def _times(path: pathlib.Path, known: dict) -> dict[tuple[str, str], dt.datetime]:
    rows = _rows(path)
    found = {}
    for row in rows:
        if "student" not in row or "submitted_at" not in row:
            raise RegistrarError(f"{path} needs the columns student,submitted_at[,notebook]")
        name = (row.get("notebook") or "").strip()
        assignment = resolve(name, known) if name else None
        stem = assignment.notebook if assignment is not None else name.removesuffix(".ipynb")
        found[(row["student"], stem)] = _when(row["submitted_at"], str(path))
    return found


def totals(rows: list[list[str]], known: dict, args) -> tuple[list[str], dict, dict, dict]:
    """(notebook stems, points[student][stem], max points[stem], days late[student][stem])."""
    stems, points, maxima, late = [], {}, {}, {}
    times = _times(args.submission_times, known) if getattr(args, "submission_times", None) else {}
    for student, notebook, _, score, *_ in rows:
        # the name the student handed in ("Copy of 01_regression.ipynb", "handin/01_regression (1).ipynb"),
        # resolved exactly as the grader resolved it when it graded the notebook
        assignment = resolve(notebook.rsplit("/", 1)[-1], known)
        if assignment is None:
            continue
        stem = assignment.notebook
        if stem not in stems:
            stems.append(stem)
        points.setdefault(student, {}).setdefault(stem, 0.0)
        points[student][stem] += float(score or 0)
        maxima[stem] = known[stem].points
    for student in points:
        for stem in list(points[student]):
            moment = times.get((student, stem)) or times.get((student, ""))
            if moment is not None and args.due_at is not None:
                days = days_late(moment, args.due_at)
                late.setdefault(student, {})[stem] = days
                points[student][stem] *= max(0.0, 1 - args.late_penalty * days)
    return sorted(stems), points, maxima, late


def write_all(args, rows: list[list[str]], known: dict) -> None:
    if not (getattr(args, "totals", None) or getattr(args, "canvas", None)):
        return
    stems, points, maxima, late = totals(rows, known, args)
    students = sorted(points)
    if args.totals:
        header = ["student", *stems, "total", "max_total"] + (["days_late"] if late else [])
        body = []
        for student in students:
            mine = points[student]
            row = [student] + [_number(mine.get(stem, 0.0)) for stem in stems]
            row += [_number(sum(mine.values())), _number(sum(maxima[s] for s in stems))]
            if late:
                row.append(str(max(late.get(student, {}).values(), default=0)))
            body.append(row)
        _write(args.totals, [header, *body])
    if args.canvas:
        roster = _roster(args.roster) if args.roster else {}
        titles = [f"{known[stem].title} ({stem})" for stem in stems]
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles]
        possible = ["Points Possible", "", "", "", "", *[_number(maxima[s]) for s in stems]]
        body = []
        for student in students:
            ids = roster.get(student)
            if ids is None and roster:
                print(f"course-grade: warning: {student} is not in the roster; their Canvas row has "
                      "no ID", file=sys.stderr)
            ids = ids or {"Student": student}
            body.append([ids.get("Student", student), ids.get("ID", ""), ids.get("SIS User ID", ""),
                         ids.get("SIS Login ID", ""), ids.get("Section", ""),
                         *[_number(points[student].get(stem, 0.0)) for stem in stems]])
        _write(args.canvas, [header, possible, *body])


def _roster(path: pathlib.Path) -> dict[str, dict]:
    found = {}
    for row in _rows(path):
        if (row.get("Student") or "").strip() == "Points Possible":
            continue
        for key in ("Student", "SIS User ID", "SIS Login ID"):  # weakest first, strongest wins
            if row.get(key):
                found[row[key].strip()] = row
    return found


def _number(value: float) -> str:
    return f"{round(value, 4):g}"


def _write(path: pathlib.Path, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
