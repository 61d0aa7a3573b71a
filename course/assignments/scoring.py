"""Score exercises from outcomes: the part the self-check and the grader share.

:func:`score_exercise` walks an exercise's case groups, asks ``run(case)``
for the learner's :class:`~course.assignments.judge.Outcome` of each case,
judges it, and totals points per group. The self-check passes a ``run`` that
calls the function in-process; the grader passes one that asks the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .judge import CaseResult, Outcome, judge, reference_outcome
from .spec import Assignment, Case, CaseGroup, Exercise, group_rng, redraw_rng

GATED = ("raises as it should, but these points count only once the function's values are "
         "right (its public value checks pass)")


@dataclass
class GroupResult:
    group: CaseGroup
    passed: int
    total: int
    points: float
    first_failure: str = ""
    failing_case: str = ""
    raises: bool = False  # every case expects an error (bad-input checks)
    gated: bool = False  # passed, but unpaid: the function's values are not right

    @property
    def ok(self) -> bool:
        return self.passed == self.total and not self.gated


@dataclass
class ExerciseResult:
    exercise: Exercise
    score: float
    max_score: float
    status: str
    message: str
    groups: list[GroupResult] = field(default_factory=list)


def graded_cases(assignment: Assignment, exercise: Exercise, group: CaseGroup, hidden_seed,
                 include_hidden: bool = True) -> list[tuple[Case, bool]]:
    """(case, hidden) pairs of one group: its own draw, then (grading) a public group's redraw."""
    rng = group_rng(assignment.notebook, exercise.name, group, hidden_seed)
    cases = [(case, group.hidden) for case in group.make(rng)]
    if include_hidden and not group.hidden and hidden_seed is not None:
        fresh = redraw_rng(assignment.notebook, exercise.name, group, hidden_seed)
        cases += [(case, True) for case in group.make(fresh)]
    return cases


def cases_for(assignment: Assignment, exercise: Exercise, group: CaseGroup, hidden_seed):
    """The cases the grader runs for one group, in the order :func:`score_exercise` judges them."""
    return [case for case, _ in graded_cases(assignment, exercise, group, hidden_seed)]


def score_exercise(
    assignment: Assignment,
    exercise: Exercise,
    run: Callable[[Case], Outcome],
    hidden_seed: int | None = None,
    include_hidden: bool = True,
) -> ExerciseResult:
    """Run and judge every case; a group scores its points only when all its cases pass.

    With ``include_hidden`` (the grader), a public group's cases are followed by a
    fresh draw of the same kind, and both must pass. A group whose cases all expect
    an error (bad input must raise) is paid only when the function's public value
    groups pass too: raising alone is not a solution.
    """
    results: list[GroupResult] = []
    stop_reason = ""
    for group in exercise.groups:
        if group.hidden and not include_hidden:
            continue
        cases = graded_cases(assignment, exercise, group, hidden_seed, include_hidden)
        passed, first, failing, raises = 0, "", "", bool(cases)
        for case, hidden in cases:
            expected = None
            if stop_reason:
                verdict = CaseResult(False, stop_reason)
            else:
                got = run(case)
                if got.kind in ("timeout", "memory", "crash"):
                    # A hang or crash would repeat on every case: judge it once.
                    stop_reason = judge(exercise, group, case, Outcome("value"), got).message
                    verdict = CaseResult(False, stop_reason)
                else:
                    expected = reference_outcome(exercise, case)
                    verdict = judge(exercise, group, case, expected, got, show_values=not hidden)
            if expected is None:
                expected = reference_outcome(exercise, case)
            raises = raises and expected.kind == "error"
            passed += verdict.passed
            if not verdict.passed and not first:
                first = verdict.message
                if hidden and not group.hidden:
                    first = f"passes the public cases but not fresh inputs of the same kind: {first}"
                failing = (group.probes or "fresh inputs") if hidden else case.describe()
        points = group.points if passed == len(cases) else 0.0
        results.append(GroupResult(group, passed, len(cases), points, first, failing, raises))
    values_right = all(r.passed == r.total for r in results if not r.raises and not r.group.hidden)
    for r in results:
        if r.raises and r.passed == r.total and not values_right:
            r.points, r.gated, r.first_failure = 0.0, True, GATED
    score = sum(r.points for r in results)
    max_score = sum(r.group.points for r in results)
    status, message = _summarise(results, stop_reason)
    return ExerciseResult(exercise, score, max_score, status, message, results)


def _summarise(results: list[GroupResult], stop_reason: str) -> tuple[str, str]:
    if all(r.ok for r in results):
        return "passed", "All checks passed."
    if stop_reason.startswith("took too long"):
        return "timeout", f"Your function {stop_reason}."
    if stop_reason.startswith("ran out of memory"):
        return "memory", f"Your function {stop_reason}."
    if stop_reason:
        return "error", f"Your function {stop_reason}."
    failed = [r for r in results if not r.ok]
    first = failed[0]
    where = f"hidden check ({first.group.probes})" if first.group.hidden else f"check '{first.group.name}'"
    if first.first_failure.startswith("not answered yet"):
        return "failed", "Not answered yet (the function still raises NotImplementedError)."
    status = "error" if first.first_failure.startswith("raised ") else "failed"
    summary = f"{len(failed)} of {len(results)} check groups failed"
    return status, f"{summary}; first: {where}: {first.first_failure}"
