"""Benchmark cases for course.losses.regression (issue: walking skeleton)."""

import numpy as np
import torch.nn.functional as F
from _bench import Case

from course.losses import regression as R

SCALES = {"1e3": 1_000, "1e6": 1_000_000}
TARGETS = {"1e3": 0.5, "1e6": 2.0}

PAIRS = {
    "mse_loss": (R.mse_loss, R.mse_loss_grad, lambda t: F.mse_loss(t["input"], t["target"])),
    "l1_loss": (R.l1_loss, R.l1_loss_grad, lambda t: F.l1_loss(t["input"], t["target"])),
    "huber_loss": (R.huber_loss, R.huber_loss_grad, lambda t: F.huber_loss(t["input"], t["target"])),
    "smooth_l1_loss": (
        R.smooth_l1_loss, R.smooth_l1_loss_grad,
        lambda t: F.smooth_l1_loss(t["input"], t["target"], beta=0.5),
    ),
    "log_cosh_loss": (
        R.log_cosh_loss, R.log_cosh_loss_grad,
        # torch has no log-cosh; this is its stable autograd transcription
        lambda t: (lambda d: (d + F.softplus(-2 * d) - 0.6931471805599453).mean())(t["input"] - t["target"]),
    ),
    "quantile_loss": (
        R.quantile_loss, R.quantile_loss_grad,
        lambda t: (lambda r: torch_max(0.9 * r, (0.9 - 1) * r).mean())(t["target"] - t["input"]),
    ),
}


def torch_max(a, b):
    import torch

    return torch.maximum(a, b)


def _options(name):
    return {"smooth_l1_loss": {"beta": 0.5}, "quantile_loss": {"quantile": 0.9}}.get(name, {})


def cases():
    for scale, n in SCALES.items():
        for dtype in (np.float64, np.float32):
            for name, (loss, grad, torch_fn) in PAIRS.items():
                options = _options(name)

                def make(rng, dtype, n=n):
                    return {
                        "input": rng.normal(size=n).astype(dtype),
                        "target": rng.normal(size=n).astype(dtype),
                    }

                def course(d, loss=loss, grad=grad, options=options):
                    loss(d["input"], d["target"], **options)
                    grad(d["input"], d["target"], **options)

                yield Case(name, scale, dtype, make, course, torch_fn, target=TARGETS[scale])
