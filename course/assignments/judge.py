"""Judge one call of a learner's function against the reference, and explain.

Both the in-notebook self-check and the instructor's grader come through
here, so a learner and an instructor read the same diagnosis. The judge
only ever sees *data*: an :class:`Outcome` holding plain NumPy arrays (or a
tuple of them), an error's type and text, or a timeout. It never calls a
method of an object the learner made, so an object whose ``__eq__`` always
says True cannot fool it.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

import numpy as np

from .spec import Case, CaseGroup, Exercise, _short


@dataclass
class Outcome:
    """What one call produced.

    kind: "value" (``value`` holds arrays), "error" (``error_type`` and
    ``error_text``), "timeout", "memory", "crash" or "invalid" (returned
    something that is not numbers; ``error_text`` says what).
    """

    kind: str
    value: Any = None
    error_type: str = ""
    error_text: str = ""


@dataclass
class CaseResult:
    passed: bool
    message: str = ""


# ----------------------------------------------------------- plain data
def to_data(value, _depth: int = 0):
    """Turn a returned value into plain arrays, or raise TypeError saying why not.

    Numbers and NumPy arrays (real dtypes) become arrays; tuples and lists of
    them become tuples. Anything else (objects, strings, None) is rejected:
    the grader compares numbers, never objects.
    """
    if isinstance(value, (tuple, list)) and _depth == 0:
        return tuple(to_data(v, 1) for v in value)
    if value is None:
        raise TypeError("returned None (is a `return` statement missing?)")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = value.view(np.ndarray)  # subclasses could override comparisons
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        array = np.array(value, copy=True)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"returned an array of dtype {array.dtype}, expected real numbers")
        return array
    raise TypeError(
        f"returned a {type(value).__name__}, expected a NumPy array or a number"
    )


def run_in_process(fn, case: Case) -> Outcome:
    """Call ``fn`` on a fresh copy of the case (self-check; the grader uses a sandbox)."""
    args, kwargs = _fresh(case)
    try:
        value = fn(*args, **kwargs)
    except NotImplementedError:
        return Outcome("error", error_type="NotImplementedError",
                       error_text="still raises NotImplementedError")
    except Exception as error:  # noqa: BLE001 - any learner error is feedback
        return Outcome("error", error_type=type(error).__name__, error_text=str(error))
    try:
        return Outcome("value", to_data(value))
    except TypeError as error:
        return Outcome("invalid", error_text=str(error))


def reference_outcome(exercise: Exercise, case: Case) -> Outcome:
    """What the reference implementation produces for ``case`` (value or error type)."""
    args, kwargs = _fresh(case)
    try:
        return Outcome("value", to_data(exercise.reference(*args, **kwargs)))
    except (ValueError, TypeError, IndexError) as error:
        return Outcome("error", error_type=type(error).__name__, error_text=str(error))


def _fresh(case: Case):
    copy = lambda v: v.copy() if isinstance(v, np.ndarray) else v  # noqa: E731
    return tuple(copy(a) for a in case.args), {k: copy(v) for k, v in case.kwargs.items()}


# ------------------------------------------------------------- judging
def judge(
    exercise: Exercise,
    group: CaseGroup,
    case: Case,
    expected: Outcome,
    got: Outcome,
    show_values: bool = True,
) -> CaseResult:
    """Compare the learner's outcome with the reference's and say what went wrong.

    ``show_values=False`` (hidden cases) keeps expected values out of the message.
    """
    if got.kind == "timeout":
        if got.error_text:
            return CaseResult(False, f"took too long (timed out: {got.error_text})")
        return CaseResult(False, "took too long (timed out): look for an endless loop")
    if got.kind == "memory":
        return CaseResult(False, "ran out of memory: avoid building huge arrays")
    if got.kind == "crash":
        return CaseResult(False, f"crashed the process ({got.error_text or 'no details'})")
    if got.kind == "invalid":
        # on hidden cases the text (written inside the sandbox) could carry the inputs out
        return CaseResult(False, got.error_text if show_values else
                          "returned something that is not a NumPy array or a number")
    if got.kind == "error" and got.error_type == "NotImplementedError":
        return CaseResult(False, "not answered yet (still raises NotImplementedError)")
    error_type = got.error_type if show_values else _known_exception(got.error_type)
    if expected.kind == "error":
        if got.kind == "error" and got.error_type == expected.error_type:
            return CaseResult(True)
        did = f"raised {error_type}" if got.kind == "error" else "returned a value"
        return CaseResult(False, f"should raise {expected.error_type} for this input, but {did}")
    if got.kind == "error":
        if not show_values:  # a hidden case: its message could quote the hidden inputs
            return CaseResult(False, f"raised {error_type} (its message is not shown for hidden checks)")
        return CaseResult(False, f"raised {got.error_type}: {got.error_text}")
    problem = compare_values(expected.value, got.value, group.rtol, group.atol)
    if problem is None:
        return CaseResult(True)
    hint = diagnose(exercise, case, expected.value, got.value, group)
    text = problem
    if show_values and not problem.startswith(("expected a tuple", "returned a tuple")):
        text += f" ({_first_difference(expected.value, got.value)})"
    if hint:
        text += f". Hint: {hint}"
    return CaseResult(False, text)


def compare_values(expected, got, rtol: float, atol: float) -> str | None:
    """None when ``got`` matches ``expected``; otherwise what differs, in words."""
    if isinstance(expected, tuple) != isinstance(got, tuple):
        if isinstance(expected, tuple):
            return f"expected a tuple of {len(expected)} arrays, got a single array"
        return f"returned a tuple of {len(got)} values, expected a single array"
    if isinstance(expected, tuple):
        if len(expected) != len(got):
            return f"expected a tuple of {len(expected)} arrays, got {len(got)}"
        for k, (e, g) in enumerate(zip(expected, got)):
            problem = compare_values(e, g, rtol, atol)
            if problem:
                return f"item {k} of the tuple: {problem}"
        return None
    if expected.shape != got.shape:
        if expected.ndim == 0 and got.ndim > 0:
            return (f"returned an array of shape {got.shape}, expected a single number "
                    "(was the reduction applied?)")
        if got.ndim == 0 and expected.ndim > 0:
            return f"returned a single number, expected an array of shape {expected.shape}"
        return f"shape {got.shape}, expected {expected.shape}"
    if expected.dtype == np.float32 and got.dtype == np.float64:
        return "float32 input gave a float64 result: keep the input's dtype"
    if expected.dtype.kind == "f" and got.dtype.kind == "f" and got.dtype != expected.dtype:
        return (f"the answer should be {expected.dtype}, got {got.dtype}: compute in the "
                "input's precision")
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
        kind = "NaN" if np.isnan(got[where] if got.ndim else got) else "inf"
        return f"got {kind}{' at index ' + str(where) if where else ''} where the answer is finite"
    tol = 1e-4 if expected.dtype == np.float32 else 0.0  # the answer's precision, not the learner's
    if not np.allclose(got, expected, rtol=max(rtol, tol), atol=max(atol, tol * 1e-2), equal_nan=True):
        return "wrong value"
    return None


def diagnose(exercise: Exercise, case: Case, expected, got, group: CaseGroup) -> str:
    """Recognise a classic mistake behind a wrong answer; "" when none fits."""
    if isinstance(expected, tuple) or isinstance(got, tuple):
        return _match_mistakes(exercise, case, got, group)
    if expected.shape != got.shape:
        if got.ndim > expected.ndim and expected.ndim > 0:
            return "a shape like (N, 1) minus (N,) broadcasts to (N, N); keep shapes equal"
        return _match_mistakes(exercise, case, got, group)
    if not np.isfinite(got).all() and np.isfinite(expected).all():
        if _largest_input(case) > 50:
            return ("NaN or inf appears on large inputs: exp overflows; subtract the max "
                    "(log-sum-exp) or use a stable form such as np.logaddexp / np.log1p")
        return "NaN or inf: look for a division by zero or the log of zero"
    named = _match_mistakes(exercise, case, got, group)
    if named:
        return named
    ratio = _constant_ratio(expected, got)
    if ratio is None:
        return ""
    n_elements, n_batch = _sizes(case)
    if np.isclose(ratio, -1.0):
        return "the sign is flipped"
    if np.isclose(ratio, 2.0) or np.isclose(ratio, 0.5):
        return "off by a factor of 2: check the 1/2 convention in the formula"
    for n, what in ((n_elements, "elements"), (n_batch, "samples")):
        if n and n > 1 and np.isclose(ratio, n):
            return f"{n}x too big: a sum where a mean over the {n} {what} was expected?"
        if n and n > 1 and np.isclose(ratio, 1.0 / n):
            return f"{n}x too small: a mean over the {n} {what} where a sum was expected?"
    return ""


_EXCEPTIONS = frozenset(name for name, value in vars(builtins).items()
                        if isinstance(value, type) and issubclass(value, BaseException))


def _known_exception(name: str) -> str:
    """A built-in exception's name as it is; any other (which could spell out data) as a phrase."""
    return name if name in _EXCEPTIONS or name == "Forbidden" else "an exception of its own type"


def _match_mistakes(exercise: Exercise, case: Case, got, group: CaseGroup) -> str:
    for mistake in exercise.mistakes:
        args, kwargs = _fresh(case)
        try:
            wrong = to_data(mistake.compute(*args, **kwargs))
        except Exception:  # noqa: BLE001 - a mistake model that does not apply
            continue
        if compare_values(wrong, got, group.rtol, group.atol) is None:
            return mistake.message
    return ""


def _constant_ratio(expected: np.ndarray, got: np.ndarray) -> float | None:
    mask = np.abs(expected) > 1e-12
    if not mask.any() or not np.all(np.isfinite(got[mask])):
        return None
    ratios = got[mask] / expected[mask]
    if np.allclose(ratios, ratios.flat[0], rtol=1e-6):
        return float(ratios.flat[0])
    return None


def _sizes(case: Case) -> tuple[int, int]:
    for arg in case.args:
        if isinstance(arg, np.ndarray) and arg.ndim > 0:
            return arg.size, arg.shape[0]
    return 0, 0


def _largest_input(case: Case) -> float:
    values = [np.max(np.abs(a)) for a in case.args
              if isinstance(a, np.ndarray) and a.size and a.dtype.kind == "f"]
    return float(max(values, default=0.0))


def _first_difference(expected, got) -> str:
    """'expected 1.5, got 3' for numbers; the first differing entry for arrays."""
    if isinstance(expected, tuple) or isinstance(got, tuple) or expected.shape != got.shape:
        return f"expected {_short_value(expected)}, got {_short_value(got)}"
    if expected.ndim == 0:
        return f"expected {float(expected):.6g}, got {float(got):.6g}"
    with np.errstate(invalid="ignore"):
        differs = ~np.isclose(got, expected, rtol=1e-6, atol=1e-9, equal_nan=True)
    index = tuple(int(i) for i in np.argwhere(differs)[0]) if differs.any() else (0,) * expected.ndim
    return f"at index {index}: expected {float(expected[index]):.6g}, got {float(got[index]):.6g}"


def _short_value(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_short_value(v) for v in value) + ")"
    if value.ndim == 0:
        return f"{float(value):.6g}"
    return _short(value)
