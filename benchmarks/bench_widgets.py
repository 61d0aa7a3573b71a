"""How fast each lesson explorer answers a control: new value -> PNG ready for the browser.

For every explorer, at its default settings, each control is stepped back and
forth around its default value; one row is the median over those moves of the
time from setting the control's value to the PNG the kernel would send being
ready (compute + readout + draw + encode). The last line is the course-wide
median (over all moves of all explorers). Goals, on the 2-core course
machines: every explorer's median at most 50 ms, none over 150 ms.

    .venv/bin/python benchmarks/bench_widgets.py            # every explorer
    .venv/bin/python benchmarks/bench_widgets.py focal lr   # those whose name contains a word

Explorers built on an older ``Explorer`` (without ``png()``) are timed the way
that one rendered: a new figure per move, encoded by IPython's inline
``print_figure`` (tight bounding box), so the same script measures a checkout
from before the change.
"""

from __future__ import annotations

import statistics
import sys
import time

import ipywidgets as widgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)  # torch's pool stalls ~30 ms at random on busy 2-core machines

GOAL_MS, WORST_MS = 50.0, 150.0
STEPS = 3  # each control moves this many steps forward, then back, per round
ROUNDS = 2


def _surrogates(render):
    from course.lessons.surrogates import noisy_disks
    from course.widgets import surrogates

    _, masks = noisy_disks(200, seed=1014)
    rng = np.random.default_rng(0)
    predictions = {}
    for name, spread in (("bce", 1.0), ("dice", 2.0), ("jaccard", 2.5)):
        logits = spread * (4 * masks - 2) + rng.normal(0, 1.5, masks.shape)
        predictions[name] = 1 / (1 + np.exp(-logits))
    return surrogates.threshold_explorer(predictions, masks, render=render)


def builders() -> dict:
    from course.widgets import (
        basics,
        choosing,
        classification,
        composite,
        diagnostics,
        generalization,
        imbalance,
        landscape,
        likelihood,
        regression,
        regularization,
        structured,
    )

    return {
        "00 threshold": basics.threshold_explorer,
        "01 huber fit": regression.huber_fit_explorer,
        "02 softmax": classification.softmax_explorer,
        "02 boundary": classification.boundary_explorer,
        "03 noise fit": likelihood.noise_fit_explorer,
        "04 box slide": structured.box_explorer,
        "05 descent": landscape.descent_explorer,
        "06 focal": imbalance.focal_explorer,
        "07 threshold": _surrogates,
        "08 regularization": regularization.regularization_explorer,
        "09 beta": composite.beta_explorer,
        "10 temperature": generalization.temperature_explorer,
        "11 learning rate": diagnostics.lr_explorer,
        "12 screening costs": choosing.screening_explorer,
    }


def _old_png(explorer) -> bytes:
    """What the pre-``png()`` Explorer sent per move: a new figure, IPython's inline PNG."""
    from IPython.core.pylabtools import print_figure

    fig = explorer.draw(explorer.state)
    data = print_figure(fig, "png")
    plt.close(fig)
    return data


def _moves(control) -> list:
    """Values a learner's keys would visit: STEPS steps away from the default and back."""
    if isinstance(control, widgets.Dropdown):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        other = [o for o in options if o != control.value][:1]
        return other + [control.value]
    start, step = control.value, control.step
    direction = 1 if start + STEPS * step <= control.max else -1
    forward = [start + direction * k * step for k in range(1, STEPS + 1)]
    return forward + forward[-2::-1] + [start]


def time_explorer(build) -> list[float]:
    """Milliseconds per move, every control of one explorer."""
    from course.widgets import Explorer

    new_api = hasattr(Explorer, "png")
    # the old Explorer drew in update() only inside a kernel: render=False, then draw here
    explorer = build(render=new_api)
    times = []
    for _ in range(ROUNDS):
        for control in explorer.controls.values():
            for value in _moves(control):
                start = time.perf_counter()
                control.value = value  # compute + readout (+ draw + encode with png())
                png = explorer.png() if new_api else _old_png(explorer)
                times.append((time.perf_counter() - start) * 1000)
                assert png[:8] == b"\x89PNG\r\n\x1a\n"
    plt.close("all")
    return times


def main(words: list[str]) -> int:
    rows = {name: build for name, build in builders().items()
            if not words or any(word in name for word in words)}
    print(f"{'explorer':<20} {'median ms':>10} {'p90 ms':>8} {'moves':>6}")
    everything, worst = [], 0.0
    for name, build in rows.items():
        times = time_explorer(build)
        median = statistics.median(times)
        p90 = sorted(times)[int(0.9 * (len(times) - 1))]
        flag = "" if median <= GOAL_MS else ("  over 50" if median <= WORST_MS else "  OVER 150")
        print(f"{name:<20} {median:10.1f} {p90:8.1f} {len(times):6d}{flag}", flush=True)
        everything += times
        worst = max(worst, median)
    print(f"{'course-wide median':<20} {statistics.median(everything):10.1f}")
    print(f"slowest explorer median {worst:.1f} ms (goals: each <= {GOAL_MS:.0f}, "
          f"none > {WORST_MS:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
