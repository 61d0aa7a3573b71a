"""The data sets the lessons share.

* :func:`digits`: scikit-learn's bundled 8x8 digits (1,797 images, 10
  classes), pixels scaled to [0, 1], loaded once per process through
  sklearn's public :func:`sklearn.datasets.load_digits` (about a second);
* :func:`flip_fraction_of_labels`: label noise that moves exactly
  ``round(fraction * N)`` labels, chosen at random, each to a *different*
  class drawn uniformly (symmetric noise at rate ``fraction``, Ghosh et al.
  2017).

Each lesson splits and subsamples the digits its own way in
:mod:`course.lessons`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["digits", "flip_fraction_of_labels"]


@lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def digits() -> tuple[np.ndarray, np.ndarray]:
    """``X`` (1797, 64) float64 in [0, 1] and ``y`` (1797,) int labels 0-9.

    The arrays are cached and read-only: copy before changing them.
    """
    return _digits()


def flip_fraction_of_labels(labels, fraction: float, n_classes: int, seed: int = 0):
    """Move exactly ``round(fraction * N)`` randomly chosen labels to another class.

    Each chosen label moves to one of the ``n_classes - 1`` *other* classes,
    uniformly, so every chosen label really changes; each label is chosen
    with probability ``fraction``.

    Returns ``(noisy_labels, is_flipped)``: int64 labels and a boolean mask
    of the labels that changed.
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be a 1-D integer array, got shape {y.shape} dtype {y.dtype}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction!r}")
    if n_classes < 2 or (y.size and (y.min() < 0 or y.max() >= n_classes)):
        raise ValueError(f"labels must lie in [0, n_classes) with n_classes >= 2, got {n_classes}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(y.size, size=int(round(fraction * y.size)), replace=False)
    noisy = y.astype(np.int64)
    noisy[chosen] = (noisy[chosen] + rng.integers(1, n_classes, size=chosen.size)) % n_classes
    is_flipped = np.zeros(y.size, dtype=bool)
    is_flipped[chosen] = True
    return noisy, is_flipped
