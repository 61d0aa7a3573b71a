"""Benchmark cases for course.losses.classification (issue 3).

cross_entropy on a small batch (1,000 x 10 classes) and an ImageNet-sized
one (8,192 x 1,000), and binary_cross_entropy_with_logits at 1e3 and 1e6
elements; float64 and float32; reduction "mean", as a training loop calls them.
"""

import numpy as np
import torch.nn.functional as F
from _bench import Case

from course.losses import classification as C

# (rows, classes, scale label) -> target ratio per dtype
CROSS_ENTROPY = {
    (1_000, 10, "1,000x10"): {np.float64: 0.5, np.float32: 0.5},
    (8_192, 1_000, "8192x1000"): {np.float64: 1.0, np.float32: 1.5},
}
BCE_WITH_LOGITS = {"1e3": (1_000, 0.5), "1e6": (1_000_000, 2.0)}


def _cross_entropy_case(rows, classes, scale, dtype, target):
    def make(rng, dtype):
        return {
            "input": rng.normal(size=(rows, classes)).astype(dtype),
            "target": rng.integers(0, classes, size=rows),
        }

    def course(d):
        C.cross_entropy(d["input"], d["target"])
        C.cross_entropy_grad(d["input"], d["target"])

    def torch_fn(t):
        return F.cross_entropy(t["input"], t["target"])

    return Case("cross_entropy", scale, dtype, make, course, torch_fn, target=target)


def _bce_with_logits_case(scale, n, dtype, target):
    def make(rng, dtype):
        return {
            "input": (2 * rng.normal(size=n)).astype(dtype),
            "target": rng.integers(0, 2, size=n).astype(dtype),
        }

    def course(d):
        C.binary_cross_entropy_with_logits(d["input"], d["target"])
        C.binary_cross_entropy_with_logits_grad(d["input"], d["target"])

    def torch_fn(t):
        return F.binary_cross_entropy_with_logits(t["input"], t["target"])

    return Case("binary_cross_entropy_with_logits", scale, dtype, make, course, torch_fn,
                target=target)


def cases():
    for dtype in (np.float64, np.float32):
        for (rows, classes, scale), targets in CROSS_ENTROPY.items():
            yield _cross_entropy_case(rows, classes, scale, dtype, targets[dtype])
        for scale, (n, target) in BCE_WITH_LOGITS.items():
            yield _bce_with_logits_case(scale, n, dtype, target)
