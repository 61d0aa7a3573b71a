"""Interactive explorers for the lessons.

Each lesson's widget lives in its own module (``course.widgets.regression``
for lesson 01, ...). Its logic is a pure ``..._state(...)`` function that
tests call without a browser; the ``..._explorer()`` builder only wires
sliders to it through :class:`~course.widgets._base.Explorer`.
"""

from ._base import Explorer

__all__ = ["Explorer"]
