"""Grade one submission: read, plan, run in the sandbox, judge, and turn it into rows.

The grader's own process computes every case (public and hidden, the latter
from a seed the sandbox never sees), sends only the inputs, and judges the
returned data with :func:`course.assignments.scoring.score_exercise`, the
same code the learner's self-check uses. When a sandbox process hangs or
dies, the call (or statement) it was running is charged, and a fresh
sandbox carries on with the rest, so one broken function costs one exercise.
"""

from __future__ import annotations

import pathlib
import re
import traceback
from dataclasses import dataclass, field

import numpy as np

from course.assignments.judge import Outcome
from course.assignments.scoring import ExerciseResult, cases_for, score_exercise
from course.assignments.spec import Assignment, Case, Exercise, student_seed

from . import extract, written
from .sandbox import Sandbox, exit_signal
from .wire import decode, encode

MAX_ATTEMPTS = 8


@dataclass
class Row:
    """One line of the gradebook."""

    student: str
    notebook: str
    exercise: str
    score: float
    max_score: float
    status: str
    message: str

    def fields(self) -> list[str]:
        return [self.student, self.notebook, self.exercise, f"{self.score:g}", f"{self.max_score:g}",
                self.status, _one_line(self.message)]


@dataclass
class Submission:
    """A notebook handed in by a student; ``notebook`` is its name in the gradebook."""

    student: str
    notebook: str
    path: pathlib.Path | None = None


@dataclass
class ExerciseReport:
    row: Row
    result: ExerciseResult | None = None  # per-group details, when the function ran


@dataclass
class Report:
    """Everything graded for one submission (rows for the gradebook, details for feedback)."""

    submission: Submission
    assignment: Assignment | None
    exercises: list[ExerciseReport] = field(default_factory=list)
    isolation: str = ""

    @property
    def rows(self) -> list[Row]:
        return [e.row for e in self.exercises]


def _one_line(text: str, limit: int = 600) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------ assignment names
def resolve(file_name: str, known: dict[str, Assignment]) -> Assignment | None:
    """The assignment a file name answers: its stem, or the one known stem it contains."""
    stem = pathlib.PurePath(file_name).stem if file_name.endswith(".ipynb") else file_name
    if stem in known:
        return known[stem]
    found = [s for s in known if re.search(rf"(^|[^0-9a-z]){re.escape(s)}($|[^0-9a-z])", stem.lower())]
    return known[found[0]] if len(found) == 1 else None


def file_rows(submission: Submission, assignment: Assignment | None, status: str, message: str) -> Report:
    """A submission that cannot be graded: one row per exercise (or one row if unknown)."""
    report = Report(submission, assignment)
    if assignment is None:
        report.exercises.append(ExerciseReport(
            Row(submission.student, submission.notebook, "", 0.0, 0.0, status, message)))
        return report
    for exercise in assignment.exercises:
        report.exercises.append(ExerciseReport(
            Row(submission.student, submission.notebook, exercise.name, 0.0, exercise.points, status,
                message)))
    report.exercises += written_rows(submission, assignment, None, status, message)
    return report


# ---------------------------------------------------------- written questions
def written_rows(submission: Submission, assignment: Assignment, answers: dict | None,
                 status: str = "manual", message: str = "") -> list[ExerciseReport]:
    """One row per written question: ``manual`` (score 0, its points as max) until a teaching
    assistant's score is merged in; a notebook that could not be read passes its own status on."""
    rows = []
    for question in assignment.written:
        text = message
        if answers is not None:
            text = written.AWAITING if answers.get(question.id) else (
                f"{written.AWAITING} (no answer was written in the cell tagged 'written')")
        rows.append(ExerciseReport(Row(submission.student, submission.notebook, question.id, 0.0,
                                       question.points, status, text)))
    return rows


# ------------------------------------------------------------------ grading
def grade(submission: Submission, known: dict[str, Assignment], sandbox: Sandbox,
          hidden_seed: int) -> Report:
    """Grade one notebook; never raises (an internal error becomes a row that says so).

    ``hidden_seed`` is the run's secret: each student's hidden cases come from it combined
    with the student and the notebook, so no two students share them.
    """
    assignment = resolve(submission.notebook.rsplit("/", 1)[-1], known)
    if assignment is None:
        names = ", ".join(f"{s}.ipynb" for s in known)
        return file_rows(submission, None, "unknown",
                         f"'{submission.notebook}' is not one of this course's notebooks ({names}); "
                         "submit it under the name it was handed out with.")
    try:
        notebook = extract.read_notebook(submission.path)
        extract.check_version(notebook, assignment.notebook, assignment.version)
    except extract.NotebookError as error:
        return file_rows(submission, assignment, error.status, error.message)
    seed = student_seed(hidden_seed, submission.student, assignment.notebook)
    try:
        report = _grade_notebook(submission, assignment, notebook, sandbox, seed)
        report.exercises += written_rows(submission, assignment, written.answers(notebook, assignment))
        return report
    except extract.NotebookError as error:
        return file_rows(submission, assignment, error.status, error.message)
    except Exception as error:  # noqa: BLE001 - one bad notebook must not stop the class
        detail = "".join(traceback.format_exception_only(type(error), error)).strip()
        return file_rows(submission, assignment, "error",
                         f"The grader failed on this notebook ({detail}); please tell the instructor.")


def _grade_notebook(submission, assignment: Assignment, notebook: dict, sandbox: Sandbox,
                    hidden_seed: int) -> Report:
    names = [e.name for e in assignment.exercises]
    plan = extract.plan(notebook, names)
    calls, owners = [], {}
    for exercise in assignment.exercises:
        if plan.exercises[exercise.name].status != "ok":
            continue
        for group in exercise.groups:
            for case in cases_for(assignment, exercise, group, hidden_seed):
                index = len(calls)
                calls.append({"i": index, "x": exercise.name, "a": encode(tuple(case.args)),
                              "k": encode(dict(case.kwargs))})
                owners[index] = (exercise.name, case.label)
    run = _run_all(plan, names, calls, sandbox)
    report = Report(submission, assignment, isolation=run.isolation)
    for exercise in assignment.exercises:
        report.exercises.append(_exercise_report(submission, assignment, exercise, plan, run,
                                                 owners, hidden_seed))
    return report


@dataclass
class _Run:
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    defined: dict[str, str] = field(default_factory=dict)
    stmt_errors: dict[tuple[int, int], str] = field(default_factory=dict)
    broken: dict[str, tuple] = field(default_factory=dict)  # name -> (statement, Outcome)
    forbidden: dict[str, tuple] = field(default_factory=dict)  # name -> (what, statement or None)
    isolation: str = ""
    failure: str = ""  # the sandbox itself could not run
    budget_spent: bool = False


def _run_all(plan: extract.Plan, names: list[str], calls: list[dict], sandbox: Sandbox) -> _Run:
    """Run the plan, restarting the sandbox past whatever hung or crashed."""
    run = _Run()
    skip: set[tuple[int, int]] = set()
    wanted = [n for n in names if plan.exercises[n].status == "ok"]
    pending = list(calls)
    budget = sandbox.limits.notebook_seconds
    for _ in range(MAX_ATTEMPTS):
        request = {"cells": plan.request_cells(skip), "names": wanted, "calls": pending,
                   "timeout": sandbox.limits.timeout}
        attempt = sandbox.run(request, budget=budget)
        budget -= attempt.seconds
        run.isolation = attempt.isolation or run.isolation
        current = last = None
        ready = False
        for event in attempt.events:
            kind = event.get("e")
            if kind == "blk":
                _forbid(plan, wanted, run, current or last, calls, str(event.get("w", "")))
            elif kind == "stmt":
                current = ("stmt", event.get("c"), event.get("k"))
            elif kind == "err":
                key = (event.get("c"), event.get("k"))
                run.stmt_errors.setdefault(key, _describe_error(event))
                if event.get("kind") in ("timeout", "memory"):
                    _break(plan, wanted, run, key, Outcome(event["kind"]))
                current = None
            elif kind == "ready":
                ready = True
                current = None
                defined = event.get("defined")
                if isinstance(defined, dict):
                    run.defined.update({k: str(v) for k, v in defined.items() if k in wanted})
            elif kind == "call":
                current = ("call", event.get("i"))
            elif kind == "res":
                index = event.get("i")
                if isinstance(index, int) and 0 <= index < len(calls) and index not in run.outcomes:
                    run.outcomes[index] = _outcome(event)
                current = None
            if current is not None:
                last = current
        if attempt.end == "budget" or (budget <= 0 and attempt.end != "done"):
            _spend_budget(run, calls, pending, current, sandbox.limits.notebook_seconds)
            break
        if attempt.end == "done":
            if not _unanswered(pending, run, calls):
                break
            attempt.end, attempt.detail = "protocol", "it wrote to the grader's channel"
        if attempt.end == "fatal" and not ready and current is None:
            run.failure = attempt.detail
            break
        reason = _failure_outcome(attempt)
        if current is None and ready:
            # died between calls: charge the next call it would have made
            left = _unanswered(pending, run, calls)
            current = ("call", left[0]["i"]) if left else None
        if current is None:
            run.failure = attempt.detail or "the sandbox stopped before running anything"
            break
        if current[0] == "call":
            index = current[1]
            run.outcomes.setdefault(index, reason)
            culprit = calls[index]["x"] if isinstance(index, int) and 0 <= index < len(calls) else None
            pending = [c for c in pending if c["i"] not in run.outcomes and c["x"] != culprit]
        else:
            key = (current[1], current[2])
            skip.add(key)
            _break(plan, wanted, run, key, reason)
            pending = [c for c in pending if c["i"] not in run.outcomes and c["x"] not in run.broken]
        if not pending and all(n in run.defined or n in run.broken for n in wanted):
            break
    else:  # it kept crashing: what was answered stands, the rest is charged
        for name in wanted:
            if name not in run.defined:
                run.broken.setdefault(name, ((None, None), Outcome(
                    "crash", error_text="the notebook crashed it again and again")))
    return run


def _forbid(plan: extract.Plan, wanted: list[str], run: _Run, item, calls: list[dict], what: str) -> None:
    """The guard stopped something: charge the call running, or every exercise needing the statement."""
    if item is None:
        return
    if item[0] == "call":
        index = item[1]
        if isinstance(index, int) and 0 <= index < len(calls):
            run.forbidden.setdefault(calls[index]["x"], (what, None))
        return
    key = (item[1], item[2])
    for name in wanted:
        if key in plan.exercises[name].needs or item[1] == plan.first_cell:
            run.forbidden.setdefault(name, (what, key))


def _spend_budget(run: _Run, calls: list[dict], pending: list[dict], current, seconds: float) -> None:
    """The notebook's time is up: whatever was not answered is charged as a timeout."""
    run.budget_spent = True
    text = f"the notebook used up its {seconds:g} s budget"
    for call in pending:
        if call["i"] not in run.outcomes:
            run.outcomes[call["i"]] = Outcome("timeout", error_text=text)
    if not run.defined:  # it never got past the statements: every exercise waiting is charged
        cell = current[1] if current and current[0] == "stmt" else None
        for name in {c["x"] for c in calls}:
            run.broken.setdefault(name, ((cell, None), Outcome("timeout", error_text=text)))


def _break(plan: extract.Plan, wanted: list[str], run: _Run, key, outcome: Outcome) -> None:
    """A statement hung, blew up or crashed: every exercise relying on it is charged."""
    for name in wanted:
        if key in plan.exercises[name].needs:
            run.broken.setdefault(name, (key, outcome))


def _unanswered(pending: list[dict], run: _Run, calls: list[dict]) -> list[dict]:
    """Calls the worker should have answered (defined, not stopped by a timeout) but did not."""
    stopped = {calls[i]["x"] for i, o in run.outcomes.items() if o.kind in ("timeout", "memory")}
    return [c for c in pending if c["i"] not in run.outcomes and run.defined.get(c["x"]) == "ok"
            and c["x"] not in stopped]


def _failure_outcome(attempt) -> Outcome:
    if attempt.oom:
        return Outcome("memory")
    if attempt.end == "watchdog" or exit_signal(attempt.detail) == "SIGXCPU":
        return Outcome("timeout")
    return Outcome("crash", error_text=attempt.detail or attempt.end)


def _blocked_name(what: str) -> str:
    """'exec', 'open', 'os.system'... as a learner reads it."""
    names = {"compile": "to compile code from a string (exec/eval/compile)",
             "exec": "to run code from a string (exec/eval)", "open": "to open a file",
             "import": "to import a module from disk", "object.__getattr__": "to inspect frames or code",
             "builtins.input": "to read input"}
    if what in names:
        return names[what]
    for prefix, text in (("ctypes", "to use ctypes"), ("subprocess", "to start a process"),
                         ("os.fork", "to start a process"), ("os.exec", "to start a program"),
                         ("os.system", "to run a shell command"), ("socket", "to open a network socket"),
                         ("os.", "an operating-system call"), ("sys.", "to reach into the interpreter"),
                         ("gc.", "to reach into the interpreter")):
        if what.startswith(prefix):
            return f"{text} ({what})"
    return f"something blocked while grading ({what})"


def _describe_error(event: dict) -> str:
    kind = event.get("kind")
    if kind == "timeout":
        return "took too long (timed out)"
    if kind == "memory":
        return "ran out of memory"
    line = event.get("line")
    where = f" (line {line})" if isinstance(line, int) else ""
    return f"{event.get('t', 'Error')}: {event.get('m', '')}{where}"


def _outcome(event: dict) -> Outcome:
    """The judge's view of one result event; anything malformed is 'invalid', never trusted."""
    kind = event.get("kind")
    if kind == "value":
        try:
            value = decode(event.get("v"), strict=True)
        except (ValueError, TypeError, KeyError):
            return Outcome("invalid", error_text="sent back something that is not numbers")
        if isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
            return Outcome("value", value)
        if isinstance(value, np.ndarray):
            return Outcome("value", value)
        return Outcome("invalid", error_text="sent back something that is not numbers")
    if kind in ("timeout", "memory"):
        return Outcome(kind)
    if kind == "invalid":
        return Outcome("invalid", error_text=str(event.get("m", ""))[:500])
    if kind == "error":
        text = str(event.get("m", ""))[:500]
        line = event.get("line")
        if isinstance(line, int) and event.get("t") != "NotImplementedError":
            text += f" (line {line} of its cell)"
        return Outcome("error", error_type=str(event.get("t", "Exception"))[:100], error_text=text)
    return Outcome("invalid", error_text="sent back something that is not a result")


def _exercise_report(submission, assignment: Assignment, exercise: Exercise, plan: extract.Plan,
                     run: _Run, owners: dict, hidden_seed: int) -> ExerciseReport:
    def row(score, status, message):
        return Row(submission.student, submission.notebook, exercise.name, score, exercise.points,
                   status, message)

    verdict = plan.exercises[exercise.name]
    if verdict.status == "syntax":
        return ExerciseReport(row(0.0, "error", verdict.message))
    if verdict.status in ("missing", "forbidden"):
        return ExerciseReport(row(0.0, verdict.status, verdict.message))
    if run.failure:
        return ExerciseReport(row(0.0, "error", f"The grader's sandbox failed ({run.failure}); "
                                  "please tell the instructor."))
    if exercise.name in run.forbidden:
        what, key = run.forbidden[exercise.name]
        where = "" if key is None else f" (in code it relies on, cell {key[0] + 1})"
        return ExerciseReport(row(0.0, "forbidden", f"{exercise.name} tried {_blocked_name(what)}{where}, "
                                  "which graded code may not do: answers use NumPy only, and may not "
                                  "run code from strings, open files, start processes or reach into "
                                  "the interpreter. Zero for this exercise."))
    if exercise.name in run.broken:
        (cell, _), outcome = run.broken[exercise.name]
        where = f"The cells defining {exercise.name}"
        if cell is not None:
            where = (f"Code outside the function that {exercise.name} relies on (in cell {cell + 1}; "
                     "it runs when the notebook is graded)")
        if outcome.kind in ("timeout", "memory"):
            what = "did not finish in time" if outcome.kind == "timeout" else "ran out of memory"
            if outcome.error_text:
                what += f" ({outcome.error_text})"
            return ExerciseReport(row(0.0, outcome.kind, f"{where} {what}."))
        return ExerciseReport(row(0.0, "error", f"{where} crashed the grader's sandbox "
                                  f"({outcome.error_text})."))
    state = run.defined.get(exercise.name, "missing")
    if state != "ok":
        errors = [text for (cell, index), text in sorted(run.stmt_errors.items())
                  if (cell, index) in verdict.defined_by]
        if errors:
            return ExerciseReport(row(0.0, "error", f"Defining {exercise.name} failed: {errors[0]}."))
        if state == "not callable":
            return ExerciseReport(row(0.0, "error", f"{exercise.name} is not a function."))
        return ExerciseReport(row(0.0, "missing", f"{exercise.name} was not defined when its cell ran."))
    mine = sorted(i for i, (name, _) in owners.items() if name == exercise.name)
    queue = iter(mine)

    def replay(case: Case) -> Outcome:
        index = next(queue, None)
        if index is None or owners[index][1] != case.label:
            raise RuntimeError("cases changed between drawing and judging")
        return run.outcomes.get(index, Outcome("crash", error_text="no result came back"))

    with np.errstate(all="ignore"):
        result = score_exercise(assignment, exercise, replay, hidden_seed)
    return ExerciseReport(row(result.score, result.status, result.message), result)
