"""Every lesson, run in a real JupyterLab in headless Chromium, works as a learner sees it.

For each ``notebooks/NN_*.ipynb`` (discovered): Run ▸ Run All Cells on a fresh
kernel; every cell executes with no error or stderr output; every explorer
widget renders live; moving the first slider of each explorer by keyboard
changes its figure and readout, and moving it back restores them. A
screenshot per lesson (and per explorer, after the move) goes to
``artifacts/browser/``, with ``timings.json`` (seconds per lesson and phase).

One Lab server serves the module; the lessons are checked a few at a time
(see lessonpass.py) once, and each test reports one lesson's problems.
"""

import json
import time

import pytest
from labdriver import ARTIFACTS, REPO
from lessoncheck import format_problems
from lessonpass import WORKERS, check_all

LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def lesson_results(request, lab_server, lab_tmp):
    # only the lessons this run selected (``-k 12`` checks lesson 12 alone)
    chosen = {item.callspec.params["lesson"].name for item in request.session.items
              if getattr(item, "callspec", None) and "lesson" in item.callspec.params}
    copies = [lab_server.root / "notebooks" / lesson.name for lesson in LESSONS
              if not chosen or lesson.name in chosen]
    start = time.monotonic()
    results = check_all(lab_server, copies, lab_tmp, ARTIFACTS)
    seconds = round(time.monotonic() - start, 1)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    summary = {"pass_seconds": seconds, "workers": WORKERS,
               "lessons": {path.name: {"seconds": result.seconds, **result.timings}
                           for path, result in sorted(results.items())}}
    (ARTIFACTS / "timings.json").write_text(json.dumps(summary, indent=1) + "\n")
    return {path.name: result for path, result in results.items()}


def test_lessons_are_discovered():
    assert LESSONS, "no lesson notebooks/NN_*.ipynb found"


@pytest.mark.browser
@pytest.mark.parametrize("lesson", LESSONS, ids=[path.stem for path in LESSONS])
def test_lesson_works_in_jupyterlab(lesson_results, lesson):
    problems = lesson_results[lesson.name].problems
    assert not problems, (
        f"{lesson.name} does not work in JupyterLab (screenshots in {ARTIFACTS}):\n"
        + format_problems(problems))
