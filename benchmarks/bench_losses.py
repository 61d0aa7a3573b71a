"""Time course.losses (value + gradient) against torch (forward + backward).

Run:  .venv/bin/python benchmarks/bench_losses.py [family ...]

Each family's cases live in ``benchmarks/cases_<family>.py``; this script
runs them all (or the families named on the command line) and prints one
table per family: median milliseconds for each side, measured interleaved in
this one process with single-threaded torch, and the ratio course / torch.
A ratio below 1 means the NumPy version is faster. ``target`` is the goal the
issue set; rows over it are flagged ``(over)``.
"""

from __future__ import annotations

import importlib
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _bench import print_table  # noqa: E402


def families() -> list[str]:
    return sorted(p.stem.removeprefix("cases_") for p in HERE.glob("cases_*.py"))


def main(argv: list[str]) -> None:
    chosen = argv or families()
    unknown = set(chosen) - set(families())
    if unknown:
        raise SystemExit(f"unknown family {sorted(unknown)}; choose from {families()}")
    for family in chosen:
        module = importlib.import_module(f"cases_{family}")
        print_table(list(module.cases()), f"== {family}: course value+grad vs torch forward+backward ==")


if __name__ == "__main__":
    main(sys.argv[1:])
