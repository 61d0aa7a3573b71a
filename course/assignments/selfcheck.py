"""The learner's self-check: ``check(my_function)`` inside an exercise notebook.

It runs the public checks of the exercise named like the function, in the
learner's own kernel, and prints specific feedback: which case, expected vs
got, and the classic mistake it looks like. Hidden checks are for the
grader; the self-check says that they exist.
"""

from __future__ import annotations

from typing import Callable

from .judge import run_in_process
from .scoring import ExerciseResult, score_exercise
from .spec import Assignment


class CheckReport:
    """What :func:`check` found; prints itself, and is truthy when all public checks pass."""

    def __init__(self, result: ExerciseResult, hidden_groups: int):
        self.result = result
        self.hidden_groups = hidden_groups
        self._printed_in = None  # the IPython cell whose run printed this report

    def _ipython_display_(self) -> None:
        """Shown by Jupyter as a cell's value: not again in the cell that just printed it."""
        if self._printed_in is None or self._printed_in != _cell_number():
            print(self.text())

    def __bool__(self) -> bool:
        return self.result.status == "passed"

    def __repr__(self) -> str:
        return self.text()

    def text(self) -> str:
        r = self.result
        name = r.exercise.name
        lines = []
        if self:
            lines.append(f"✅ {name}: all {len(r.groups)} public checks passed.")
            if self.hidden_groups:
                lines.append(f"   The grader also runs {self.hidden_groups} hidden check group(s) "
                             "on new inputs.")
            return "\n".join(lines)
        lines.append(f"❌ {name}: {sum(g.ok for g in r.groups)} of {len(r.groups)} public checks passed.")
        for g in r.groups:
            mark = "✓" if g.ok else "✗"
            lines.append(f"   {mark} {g.group.name}")
            if not g.ok:
                lines.append(f"       case {g.failing_case}")
                lines.append(f"       {g.first_failure}")
        return "\n".join(lines)


def _cell_number() -> int | None:
    """IPython's count of the cell now running (None outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return None
    shell = get_ipython()
    return None if shell is None else shell.execution_count


def make_checker(assignment: Assignment) -> Callable:
    """Return ``check(fn)`` bound to one assignment."""

    def check(fn: Callable) -> CheckReport:
        name = getattr(fn, "__name__", None)
        names = [e.name for e in assignment.exercises]
        if name not in names:
            raise ValueError(
                f"check() expects one of this notebook's functions {names}, got {name!r}"
            )
        exercise = assignment.exercise(name)
        result = score_exercise(
            assignment, exercise, lambda case: run_in_process(fn, case), include_hidden=False
        )
        report = CheckReport(result, sum(g.hidden for g in exercise.groups))
        print(report.text())
        report._printed_in = _cell_number()
        return report

    check.__doc__ = f"Run the public checks of {assignment.notebook} on one of your functions."
    return check
