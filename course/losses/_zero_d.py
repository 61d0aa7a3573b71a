"""Let elementwise losses take 0-d arrays (single numbers), as PyTorch's do."""

from __future__ import annotations

import functools

import numpy as np


def accept_0d(loss):
    """Decorate ``loss(input, target, ...)`` so that a 0-d ``input`` works.

    Arithmetic on 0-d arrays gives NumPy scalars, which in-place operations
    cannot write into. A 0-d input (and target) is therefore computed as a
    1-element vector and the results reshaped back: the value for
    ``reduction="none"``, or the gradient w.r.t. ``input`` (the first of a
    tuple of gradients), becomes 0-d again. Other shapes pass straight through.
    """

    @functools.wraps(loss)
    def wrapper(input, target, *args, **kwargs):
        if np.ndim(input) != 0 or np.ndim(target) != 0:
            return loss(input, target, *args, **kwargs)
        out = loss(np.reshape(input, 1), np.reshape(target, 1), *args, **kwargs)
        if isinstance(out, tuple):
            return (out[0].reshape(()),) + out[1:]
        return out.reshape(())

    return wrapper
