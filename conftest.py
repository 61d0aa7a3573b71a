"""Pytest set-up for every path: run the lessons' claims strictly.

A lesson's ``claims`` cells print a note when a claim fails, so that a learner
who changes a seed is not stopped (see ``course/claims.py``). Under pytest,
nbval's kernels inherit this environment, and a failed claim is an error.
``make test`` sets the same variable; this covers a plain ``pytest`` run.
"""

import os

os.environ.setdefault("COURSE_STRICT_CLAIMS", "1")


_SESSION_START = __import__("time").time()


def pytest_terminal_summary(terminalreporter):
    """The browser tests' key press -> painted figure median, when they ran in this session."""
    import json
    import pathlib

    report = pathlib.Path(__file__).parent / "artifacts" / "browser" / "key_to_paint.json"
    if report.exists() and report.stat().st_mtime >= _SESSION_START:
        data = json.loads(report.read_text())
        if data.get("median_ms") is not None:
            terminalreporter.write_sep(
                "-", f"explorers: key press -> new figure painted, median {data['median_ms']:.0f} ms "
                     f"over {data['presses']} presses ({report})")
