"""The numbers a lesson states, checked where the learner can see them.

Every lesson ends its experiments with small cells tagged ``claims`` (their
source is folded away in JupyterLab). Each line there is a call like

    claim(ratio.mean() > 1.3, "full batch ends sharper than batch 16 on average")

which prints ``✓ full batch ends sharper ...`` when the statement holds. When
it does not hold, what happens depends on who is running the notebook:

- a learner who changed a seed or a setting to experiment gets a note,
  ``⚠ no longer holds ...``, and the notebook carries on;
- the test run (``make test`` sets ``COURSE_STRICT_CLAIMS=1``) gets a
  :class:`ClaimFailed` error, so a change that breaks what the prose says
  cannot go unnoticed.

The module is pure Python: it imports nothing from NumPy or torch, and works
with anything ``bool()`` accepts (a NumPy boolean included).
"""

from __future__ import annotations

import os

STRICT_ENV = "COURSE_STRICT_CLAIMS"

__all__ = ["STRICT_ENV", "ClaimFailed", "claim", "strict"]


class ClaimFailed(AssertionError):
    """A claim of the lesson's prose did not hold while running strictly."""


def strict() -> bool:
    """True when ``COURSE_STRICT_CLAIMS`` is set to anything but ``""``, ``0``, ``false`` or ``no``."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("", "0", "false", "no")


def claim(condition, text: str) -> bool:
    """Check one statement of the lesson and say, in one line, whether it holds.

    Parameters
    ----------
    condition : object
        Anything ``bool()`` accepts; usually a comparison of measured numbers.
    text : str
        The statement in words, as the prose makes it.

    Returns
    -------
    bool
        Whether the statement held. Outside strict mode a failed claim prints a
        note instead of raising, so a learner's experiment is never stopped by it.

    Raises
    ------
    ClaimFailed
        When the claim does not hold and :func:`strict` is true.
    """
    held = bool(condition)
    if held:
        print(f"✓ {text}")
    elif strict():
        raise ClaimFailed(f"the lesson claims: {text}; this run does not show it")
    else:
        print(f"⚠ no longer holds in this run (did you change a setting?): {text}")
    return held
