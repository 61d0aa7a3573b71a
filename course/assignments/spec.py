"""How an exercise declares its points and its checks, next to its reference.

An :class:`Assignment` is one exercise notebook (``solutions/01_regression.ipynb``
and the generated ``exercises/01_regression_exercise.ipynb``). It lists
:class:`Exercise` objects, one per function the learner writes. Each exercise
names the reference implementation in ``course`` and groups its test cases
into :class:`CaseGroup` objects, each worth some points:

* public groups use a fixed seed; the in-notebook self-check runs them and
  the feedback may show their expected values;
* hidden groups are drawn from a seed the learner never sees (a per-run
  secret, or one the instructor sets, combined with the student and the
  notebook by :func:`student_seed`), and feedback names only what they
  probe ("logits of ±1e4"), never their values. The grader also redraws
  every public group from that seed (:func:`redraw_rng`): a public group
  earns its points only when the function passes both draws, so a table of
  the public answers earns nothing.

A group earns its points only if every case in it passes, which gives
partial credit per group. :class:`Mistake` objects describe classic wrong
answers (sum instead of mean, gradient of the wrong argument, ...) as
functions, so the diagnosis can say "your answer equals the gradient with
respect to target" instead of only "wrong".

The same objects drive the learner's self-check (in-process, public groups
only) and the instructor's grader (student code in a sandbox, every group).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

#: an exercise's file name is its lesson's plus this suffix, so the lesson and the exercise open in
#: JupyterLab as two tabs with different names (a tab is named after its file)
EXERCISE_SUFFIX = "_exercise"


def exercise_file(stem: str) -> str:
    """The exercise notebook's file name: ``01_regression`` -> ``01_regression_exercise.ipynb``."""
    return f"{stem}{EXERCISE_SUFFIX}.ipynb"


@dataclass(frozen=True)
class Case:
    """One call: positional ``args``, keyword ``kwargs`` and a readable ``label``."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    label: str = ""

    def describe(self) -> str:
        parts = [_short(a) for a in self.args] + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        call = f"({', '.join(parts)})"
        return f"{self.label}: {call}" if self.label else call


@dataclass(frozen=True)
class CaseGroup:
    """Cases that probe one thing, worth ``points`` when all of them pass.

    ``make(rng)`` returns a list of :class:`Case`; ``rng`` is seeded from the
    public seed or the hidden one, depending on ``hidden``.
    """

    name: str
    make: Callable[[np.random.Generator], list[Case]]
    points: float = 1.0
    hidden: bool = False
    probes: str = ""
    rtol: float = 1e-6
    atol: float = 1e-9


@dataclass(frozen=True)
class Mistake:
    """A classic wrong answer, recognised by computing it.

    ``compute(*args, **kwargs)`` returns what the mistaken code would return;
    when the learner's output matches it (and not the reference), the
    feedback shows ``message``.
    """

    name: str
    message: str
    compute: Callable[..., Any]


@dataclass(frozen=True)
class Exercise:
    """One function the learner writes, graded against ``reference``."""

    name: str
    reference: Callable[..., Any]
    groups: tuple[CaseGroup, ...]
    mistakes: tuple[Mistake, ...] = ()
    summary: str = ""

    @property
    def points(self) -> float:
        return float(sum(g.points for g in self.groups))


@dataclass(frozen=True)
class Written:
    """A question answered in prose, scored by a teaching assistant, never by the grader.

    The learner answers in the markdown cell tagged ``written`` whose metadata names the
    question (``{"course": {"question": id}}``); ``course-grade`` puts every answer into a
    review file next to ``rubric`` and gives the question a ``manual`` gradebook row worth
    ``points``, which ``course-grade merge-manual`` later fills in.
    """

    id: str
    points: float
    question: str
    rubric: tuple[str, ...]


@dataclass(frozen=True)
class Assignment:
    """One exercise notebook: its assignment stem (``"01_regression"``), exercises and written questions.

    The notebook handed out is :attr:`exercise_file` (``01_regression_exercise.ipynb``); the grader
    also recognises a hand-in under the lesson's name or any name that contains the stem.
    """

    notebook: str
    title: str
    exercises: tuple[Exercise, ...]
    version: int = 1
    written: tuple[Written, ...] = ()

    def question(self, qid: str) -> Written:
        for question in self.written:
            if question.id == qid:
                return question
        raise KeyError(f"{self.notebook} has no written question {qid!r}")

    def exercise(self, name: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise KeyError(f"{self.notebook} has no exercise named {name!r}")

    @property
    def points(self) -> float:
        return float(sum(e.points for e in self.exercises))

    @property
    def exercise_file(self) -> str:
        return exercise_file(self.notebook)


def public_seed(assignment: str, exercise: str, group: str) -> int:
    """A fixed seed per group, the same on every machine (no hash randomisation)."""
    text = f"{assignment}/{exercise}/{group}"
    return sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % (2**31)


def group_rng(assignment: str, exercise: str, group: CaseGroup, hidden_seed: int | None):
    """The generator a group draws its cases from: public, or mixed with the hidden seed."""
    base = public_seed(assignment, exercise, group.name)
    if group.hidden:
        if hidden_seed is None:
            raise ValueError("hidden groups need the grader's hidden seed")
        return np.random.default_rng([base, int(hidden_seed)])
    return np.random.default_rng(base)


def redraw_rng(assignment: str, exercise: str, group: CaseGroup, hidden_seed: int):
    """The generator of a public group's hidden twin: same shapes and kinds, fresh values."""
    base = public_seed(assignment, exercise, group.name)
    return np.random.default_rng([base, int(hidden_seed), 1])


def student_seed(secret: int | bytes, student: str, notebook: str) -> int:
    """The hidden seed of one student's notebook: the run's secret keyed with who and what.

    A keyed hash (BLAKE2b), so knowing one student's seed says nothing of another's or
    of the secret. ``secret``: the bytes of the assignment's secret file, or a number
    (``course-grade --seed``).
    """
    key = secret[:64] if isinstance(secret, bytes) else int(secret).to_bytes(32, "little", signed=True)
    digest = hashlib.blake2b(f"{student}\0{notebook}".encode("utf-8", "surrogatepass"), key=key,
                             digest_size=8).digest()
    return int.from_bytes(digest, "little")


def _short(value) -> str:
    """A compact description of an argument for feedback: arrays by shape and dtype."""
    if isinstance(value, np.ndarray):
        if value.size <= 6:
            return np.array2string(value, precision=4, separator=", ")
        return f"array(shape={value.shape}, dtype={value.dtype})"
    return repr(value)
