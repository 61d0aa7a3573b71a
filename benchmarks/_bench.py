"""Timing harness shared by the benchmark scripts.

A :class:`Case` holds one loss at one size and dtype: how to make its data,
how the course computes value and gradient, and how torch computes forward
and backward. :func:`compare` times both in the same process, interleaved
(course, torch, course, torch, ...), and reports medians and their ratio, so
machine noise hits both sides alike.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

torch.set_num_threads(1)  # torch's pool stalls ~30 ms at random on busy 2-core machines


@dataclass
class Case:
    """One benchmark row.

    make(rng, dtype) -> dict of NumPy arrays (the data);
    course(data) runs the course's loss and its _grad;
    torch_fn(tensors) returns the torch loss, on which .backward() is called;
    grad_keys names the tensors that require grad.
    """

    name: str
    scale: str
    dtype: type
    make: Callable
    course: Callable
    torch_fn: Callable
    grad_keys: tuple = ("input",)
    target: float | None = None
    note: str = field(default="")


def _torch_inputs(data: dict, grad_keys) -> dict:
    tensors = {}
    for key, value in data.items():
        t = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value
        if key in grad_keys:
            t = t.detach().clone().requires_grad_(True)
        tensors[key] = t
    return tensors


def _time(fn: Callable) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(case: Case, repeats: int = 15, seed: int = 0) -> dict:
    """Median seconds for course and torch on the same data, and their ratio."""
    data = case.make(np.random.default_rng(seed), case.dtype)
    tensors = _torch_inputs(data, case.grad_keys)

    def run_torch():
        for key in case.grad_keys:
            tensors[key].grad = None
        case.torch_fn(tensors).backward()

    def run_course():
        case.course(data)

    run_course(), run_torch()  # warm-up: caches, lazy imports, allocator
    course_times, torch_times = [], []
    for _ in range(repeats):
        course_times.append(_time(run_course))
        torch_times.append(_time(run_torch))
    course_s, torch_s = statistics.median(course_times), statistics.median(torch_times)
    return {"course_s": course_s, "torch_s": torch_s, "ratio": course_s / torch_s}


def repeats_for(scale: str) -> int:
    """Fewer repeats for big inputs so the whole script stays quick."""
    return 31 if scale in ("1e3", "course") or "1,000" in scale else 9


def print_table(cases, title: str) -> list[dict]:
    """Run every case and print one aligned ratio table."""
    print(f"\n{title}")
    header = (f"{'loss':34s} {'scale':>12s} {'dtype':>8s} {'course ms':>10s} "
              f"{'torch ms':>9s} {'ratio':>6s} {'target':>6s}")
    print(header)
    print("-" * len(header))
    rows = []
    for case in cases:
        result = compare(case, repeats=repeats_for(case.scale))
        target = "" if case.target is None else f"<={case.target:g}"
        flag = "" if case.target is None or result["ratio"] <= case.target else "  (over)"
        print(
            f"{case.name:34s} {case.scale:>12s} {np.dtype(case.dtype).name:>8s} "
            f"{result['course_s'] * 1e3:10.3f} {result['torch_s'] * 1e3:9.3f} "
            f"{result['ratio']:6.2f} {target:>6s}{flag}"
        )
        rows.append({"name": case.name, "scale": case.scale, "dtype": np.dtype(case.dtype).name, **result})
    return rows
