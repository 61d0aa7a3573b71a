"""Exercises: their checks, the learner's self-check, and the shared judge.

Each ``course/assignments/aNN_topic.py`` module defines ``ASSIGNMENT``, the
checks for ``solutions/NN_topic.ipynb``. They are discovered by name, so a
new lesson adds a module and nothing else here.

In an exercise notebook::

    from course.assignments import checker
    check = checker("01_regression")
    check(huber_loss)      # prints what passed and what to fix
"""

from __future__ import annotations

import importlib
import pkgutil
import re

from .spec import Assignment, Case, CaseGroup, Exercise, Mistake, Written

__all__ = ["Assignment", "Case", "CaseGroup", "Exercise", "Mistake", "Written", "assignments", "get",
           "checker"]

_MODULE = re.compile(r"^a(\d\d)_(\w+)$")


def assignments() -> dict[str, Assignment]:
    """Every assignment, keyed by notebook stem (``"01_regression"``)."""
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if _MODULE.match(info.name):
            module = importlib.import_module(f"{__name__}.{info.name}")
            found[module.ASSIGNMENT.notebook] = module.ASSIGNMENT
    return dict(sorted(found.items()))


def get(notebook: str) -> Assignment:
    """The assignment for a notebook stem; ValueError listing the known ones otherwise."""
    match = _MODULE.match("a" + notebook)
    if match:
        try:
            module = importlib.import_module(f"{__name__}.a{notebook}")
        except ModuleNotFoundError:
            pass
        else:
            return module.ASSIGNMENT
    raise ValueError(f"unknown assignment {notebook!r}; known: {sorted(assignments())}")


def checker(notebook: str):
    """The self-check function for one exercise notebook."""
    from .selfcheck import make_checker

    return make_checker(get(notebook))
