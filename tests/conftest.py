"""Shared test setup: single-threaded torch (its pool stalls on busy 2-core machines)."""

import numpy as np
import pytest

try:
    import torch
except ImportError:  # torch is a declared dependency; a clear failure beats a skip
    torch = None
else:
    torch.set_num_threads(1)


@pytest.fixture
def rng():
    """A seeded generator, so every failure is reproducible."""
    return np.random.default_rng(20261126)
