"""Benchmark cases for course.losses.imbalance (issue 3): sigmoid focal loss.

torchvision cannot be installed here, so the torch side is its
sigmoid_focal_loss transcribed from the definition (the same ops run under
torchvision), differentiated by autograd. Targets are 0/1 labels, 1 in 10
positive; "mean" reduction on both sides.
"""

import numpy as np
import torch
import torch.nn.functional as F
from _bench import Case

from course.losses import imbalance as I

SCALES = {"1e3": 1_000, "1e6": 1_000_000}
TARGETS = {"1e3": 0.5, "1e6": 2.0}


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * loss).mean()


def cases():
    for scale, n in SCALES.items():
        for dtype in (np.float64, np.float32):

            def make(rng, dtype, n=n):
                return {
                    "inputs": (rng.normal(size=n) * 3).astype(dtype),
                    "targets": (rng.random(n) < 0.1).astype(dtype),
                }

            def course(d):
                I.sigmoid_focal_loss(d["inputs"], d["targets"], reduction="mean")
                I.sigmoid_focal_loss_grad(d["inputs"], d["targets"], reduction="mean")

            def torch_fn(t):
                return torchvision_sigmoid_focal_loss(t["inputs"], t["targets"])

            yield Case("sigmoid_focal_loss", scale, dtype, make, course, torch_fn,
                       grad_keys=("inputs",), target=TARGETS[scale])
