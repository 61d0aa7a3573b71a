"""Check an analytic gradient against central finite differences.

Works for any function, a course loss or a learner's own::

    >>> from course.gradcheck import gradcheck
    >>> from course.losses import huber_loss, huber_loss_grad
    >>> x, y = np.array([0.3, -2.0, 4.0]), np.zeros(3)
    >>> gradcheck(huber_loss, huber_loss_grad, x, y).ok
    True

The numerical derivative of ``f`` with respect to coordinate ``k`` is

    (f(x + h e_k) - f(x - h e_k)) / (2 h),

whose error is O(h²) for smooth ``f``. The function's output is summed
first, so a loss with ``reduction="none"`` is checked as the gradient of its
sum, which is what the ``_grad`` functions return. Everything is evaluated
in float64, because float32 finite differences are dominated by rounding.
Avoid points exactly at a kink (Huber's ``delta``, zero for L1): there the
one-sided slopes differ and no finite difference can agree with both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

__all__ = ["numerical_gradient", "gradcheck", "GradcheckResult"]


def _as_scalar(value) -> float:
    return float(np.sum(np.asarray(value, dtype=np.float64)))


def numerical_gradient(
    f: Callable, *args, argnum: int = 0, eps: float = 1e-6, **kwargs
) -> np.ndarray:
    """Central-difference gradient of ``sum(f(*args, **kwargs))`` w.r.t. ``args[argnum]``."""
    args = list(args)
    x = np.array(args[argnum], dtype=np.float64)  # a float64 copy we can perturb
    grad = np.zeros_like(x)
    flat_x, flat_grad = x.reshape(-1), grad.reshape(-1)
    args[argnum] = x
    for k in range(flat_x.size):
        original = flat_x[k]
        flat_x[k] = original + eps
        upper = _as_scalar(f(*args, **kwargs))
        flat_x[k] = original - eps
        lower = _as_scalar(f(*args, **kwargs))
        flat_x[k] = original
        flat_grad[k] = (upper - lower) / (2 * eps)
    return grad


@dataclass
class GradcheckResult:
    """What :func:`gradcheck` found. Truthy when every coordinate agrees."""

    ok: bool
    max_abs_error: float
    max_rel_error: float
    worst_argument: int | None = None
    worst_index: tuple | None = None
    analytic_value: float | None = None
    numeric_value: float | None = None
    analytic: list = field(default_factory=list, repr=False)
    numeric: list = field(default_factory=list, repr=False)
    problem: str = ""

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.problem:
            return f"gradcheck failed: {self.problem}"
        verdict = "passed" if self.ok else "FAILED"
        text = (
            f"gradcheck {verdict}: max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g}"
        )
        if self.worst_index is not None:
            text += (
                f"; worst at argument {self.worst_argument}, index {self.worst_index}: "
                f"analytic {self.analytic_value:.6g} vs numeric {self.numeric_value:.6g}"
            )
        return text


def gradcheck(
    f: Callable,
    grad_f: Callable,
    *args,
    argnums: int | Sequence[int] = 0,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    **kwargs,
) -> GradcheckResult:
    """Compare ``grad_f(*args, **kwargs)`` with finite differences of ``f``.

    Parameters
    ----------
    f : callable
        The function; its output is summed to a scalar.
    grad_f : callable
        Its claimed gradient, called with the same arguments. Returns one
        array, or a tuple with one array per entry of ``argnums``.
    argnums : int or sequence of int
        Which positional arguments are differentiated.
    eps : float
        Finite-difference step.
    rtol, atol : float
        A coordinate passes when ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns
    -------
    GradcheckResult
        ``ok``, the worst absolute and relative errors, and where the worst
        coordinate is, with both values there.
    """
    single = isinstance(argnums, (int, np.integer))
    argnums = (int(argnums),) if single else tuple(argnums)
    args64 = [
        np.asarray(a, dtype=np.float64) if i in argnums else a for i, a in enumerate(args)
    ]
    analytic = grad_f(*args64, **kwargs)
    analytic = (analytic,) if single or not isinstance(analytic, tuple) else analytic
    if len(analytic) != len(argnums):
        return GradcheckResult(False, np.inf, np.inf, problem=(
            f"grad_f returned {len(analytic)} gradient(s) for {len(argnums)} argument(s)"))

    result = GradcheckResult(True, 0.0, 0.0)
    worst_excess = -np.inf
    for argnum, claimed in zip(argnums, analytic):
        claimed = np.asarray(claimed, dtype=np.float64)
        numeric = numerical_gradient(f, *args64, argnum=argnum, eps=eps, **kwargs)
        if claimed.shape != numeric.shape:
            return GradcheckResult(False, np.inf, np.inf, problem=(
                f"gradient for argument {argnum} has shape {claimed.shape}, "
                f"expected {numeric.shape}"))
        result.analytic.append(claimed)
        result.numeric.append(numeric)
        if claimed.size == 0:
            continue
        with np.errstate(invalid="ignore"):
            error = np.abs(claimed - numeric)
            error = np.where(np.isnan(error), np.inf, error)
            rel = error / np.maximum(np.abs(numeric), atol)
            excess = error - (atol + rtol * np.abs(numeric))
        k = int(np.argmax(excess))
        result.max_abs_error = max(result.max_abs_error, float(error.max()))
        result.max_rel_error = max(result.max_rel_error, float(rel.max()))
        if excess.flat[k] > worst_excess:
            worst_excess = excess.flat[k]
            result.worst_argument = argnum
            result.worst_index = tuple(int(i) for i in np.unravel_index(k, claimed.shape))
            result.analytic_value = float(claimed.flat[k])
            result.numeric_value = float(numeric.flat[k])
    result.ok = bool(worst_excess <= 0)
    return result
