"""The manual half of grading: review files for teaching assistants, and their scores merged back.

``course-grade ... --review DIR`` writes ``DIR/<notebook>/<question>.md`` for every written
question: the question, its points and rubric, then every student's answer, rendered inertly
(a student's Markdown or HTML shows as the text they typed, never as links, images or
headings). It also writes ``DIR/scores.csv``, a table with one empty score per student and
question, for the assistants to fill in.

``course-grade merge-manual SCORES.csv --into grades.csv`` folds those scores into the
gradebook: each scored row gets the score, the status ``graded`` and the assistant's comment
(or "scored by a teaching assistant"). Rows left blank stay ``manual``. Every problem (an
unknown student, notebook or question, a score that is not a number or lies outside
``[0, points]``, a question scored twice) is reported at once and nothing is written: exit 2.
The gradebook is replaced atomically.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import os
import pathlib
import sys

from course.assignments import assignments

from . import extract, written
from .feedback import inert
from .grade import Submission, resolve
from .gradebook import HEADER

SCORES_HEADER = ["student", "notebook", "question", "score", "comment"]
GRADED = "graded"
SCORED = "scored by a teaching assistant"


class ManualError(Exception):
    """The scores cannot be merged; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# ---------------------------------------------------------------- review files
def _quoted(answer: str) -> list[str]:
    """An answer as a Markdown block quote, line by line, every line inert."""
    if not answer.strip():
        return ["> *(no answer)*"]
    return [f"> {inert(line)}" if line.strip() else ">" for line in answer.splitlines()]


def review(submissions: list[Submission], known=None) -> dict[tuple[str, str], list[tuple[str, str, str]]]:
    """(notebook stem, question) -> [(student, notebook name, answer)] for every graded hand-in."""
    known = known or assignments()
    found: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    for s in sorted(submissions, key=lambda s: (s.student, s.notebook)):
        assignment = resolve(s.notebook.rsplit("/", 1)[-1], known)
        if assignment is None or not assignment.written or s.path is None:
            continue
        try:
            texts = written.answers(extract.read_notebook(s.path), assignment)
        except extract.NotebookError as error:
            texts = {q.id: f"(the notebook could not be read: {error.message})" for q in assignment.written}
        for question in assignment.written:
            found.setdefault((assignment.notebook, question.id), []).append(
                (s.student, s.notebook, texts[question.id]))
    return found


def write_reviews(folder: pathlib.Path, submissions: list[Submission], known=None) -> list[pathlib.Path]:
    """Write one Markdown file per written question and a blank ``scores.csv``; the paths written."""
    known = known or assignments()
    collected = review(submissions, known)
    written_paths = []
    table = [SCORES_HEADER]
    for (stem, qid), entries in sorted(collected.items()):
        question = known[stem].question(qid)
        lines = [f"# {stem}: {qid} ({question.points:g} points)", "", "## Question", "",
                 question.question, "", "## Rubric", ""]
        lines += [f"- {item}" for item in question.rubric]
        lines += ["", f"## Answers ({len(entries)})", "",
                  "Each answer is shown as the student typed it (nothing in it is rendered). "
                  f"Record scores in `scores.csv`: student, notebook, question `{qid}`, a score "
                  f"from 0 to {question.points:g}, an optional comment.", ""]
        for student, notebook, answer in entries:
            lines += [f"### {inert(student)} ({inert(notebook)})", "", *_quoted(answer), "",
                      f"Score: ____ / {question.points:g}", ""]
            table.append([student, notebook, qid, "", ""])
        path = folder / stem / f"{qid}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines), encoding="utf-8")
        written_paths.append(path)
    if collected:
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(table)
        (folder / "scores.csv").write_text(buffer.getvalue(), encoding="utf-8")
    return written_paths


# ------------------------------------------------------------------- merging
def _read_csv(path: pathlib.Path, what: str) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            return list(csv.reader(handle))
    except OSError as error:
        raise ManualError([f"{what} {path} cannot be read ({error.strerror})"]) from error
    except (UnicodeDecodeError, csv.Error) as error:
        raise ManualError([f"{what} {path} is not a CSV file in UTF-8 ({error})"]) from error


def merge(scores_path: pathlib.Path, grades_path: pathlib.Path, known=None) -> tuple[int, int]:
    """Fold a teaching assistant's scores into the gradebook; (scores merged, rows still manual).

    Raises :class:`ManualError` (and writes nothing) when any score row is invalid.
    """
    known = known or assignments()
    book = _read_csv(grades_path, "the gradebook")
    if not book or book[0] != HEADER:
        raise ManualError([f"{grades_path} is not a gradebook written by course-grade (its header "
                           f"should be {','.join(HEADER)})"])
    scores = _read_csv(scores_path, "the scores file")
    header = [h.strip().lower() for h in (scores[0] if scores else [])]
    if header[:4] != SCORES_HEADER[:4] or len(header) > 5 or (len(header) == 5 and header[4] != "comment"):
        raise ManualError([f"{scores_path}: the first line must be "
                           f"{','.join(SCORES_HEADER[:4])}[,comment], got {','.join(header) or 'nothing'}"])
    rows = book[1:]
    students = {r[0] for r in rows}
    index: dict[tuple[str, str, str], int] = {}
    for i, r in enumerate(rows):
        assignment = resolve(r[1].rsplit("/", 1)[-1], known)
        if assignment is not None and any(q.id == r[2] for q in assignment.written):
            index[(r[0], r[1], r[2])] = i
            index.setdefault((r[0], assignment.notebook, r[2]), i)
            index.setdefault((r[0], assignment.notebook + ".ipynb", r[2]), i)
    problems, updates, seen = [], {}, {}
    for line, entry in enumerate(scores[1:], start=2):
        if not any(cell.strip() for cell in entry):
            continue
        if len(entry) < 4 or len(entry) > 5:
            problems.append(f"{scores_path}, line {line}: expected 4 or 5 fields, got {len(entry)}")
            continue
        student, notebook, qid, text = (cell.strip() for cell in entry[:4])
        comment = entry[4].strip() if len(entry) == 5 else ""
        where = f"{scores_path}, line {line}"
        if not text:
            continue  # not scored yet: the row stays manual
        if student not in students:
            problems.append(f"{where}: unknown student {student!r} (not in {grades_path})")
            continue
        key = (student, notebook, qid)
        if key not in index:
            problems.append(f"{where}: {student!r} has no written question {qid!r} in notebook "
                            f"{notebook!r} (see the gradebook's notebook and exercise columns)")
            continue
        row = rows[index[key]]
        try:
            score = float(text)
        except ValueError:
            problems.append(f"{where}: the score {text!r} is not a number")
            continue
        points = float(row[4])
        if not math.isfinite(score) or not 0 <= score <= points:
            problems.append(f"{where}: the score {text} is outside 0 to {points:g}, the points of {qid}")
            continue
        if index[key] in seen:
            problems.append(f"{where}: {student} / {qid} is scored twice (first on line "
                            f"{seen[index[key]]})")
            continue
        seen[index[key]] = line
        updates[index[key]] = (score, comment)
    if problems:
        raise ManualError(problems)
    for i, (score, comment) in updates.items():
        rows[i][3], rows[i][5] = f"{score:g}", GRADED
        rows[i][6] = " ".join(comment.split()) or SCORED
    pending = sum(1 for r in rows if r[5] == "manual")
    partial = grades_path.with_name(grades_path.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([HEADER, *rows])
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, grades_path)
    return len(updates), pending


def merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="course-grade merge-manual",
        description="Fold teaching assistants' scores for written questions into a gradebook.")
    parser.add_argument("scores", type=pathlib.Path, metavar="SCORES.csv",
                        help="student,notebook,question,score[,comment] (a blank score is skipped)")
    parser.add_argument("--into", required=True, type=pathlib.Path, metavar="grades.csv",
                        help="the gradebook written by course-grade; rewritten in place")
    args = parser.parse_args(argv)
    try:
        merged, pending = merge(args.scores, args.into)
    except ManualError as error:
        for problem in error.problems:
            print(f"course-grade merge-manual: error: {problem}", file=sys.stderr)
        print(f"course-grade merge-manual: nothing was merged; {args.into} is unchanged",
              file=sys.stderr)
        return 2
    print(f"Merged {merged} score(s) into {args.into}; {pending} written answer(s) still await a score")
    return 0


__all__ = ["ManualError", "merge", "merge_main", "review", "write_reviews"]
