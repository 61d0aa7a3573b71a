"""One pass over many notebooks, a few at a time, against one JupyterLab.

Each worker thread has its own Playwright and Chromium (Playwright's sync API
must not be shared between threads) and takes the next notebook from a
queue; its kernel is shut down as soon as it is checked. Two workers roughly
halve the pass on this 2-core machine: one lesson's page load and kernel
start overlap the other's computation.
"""

from __future__ import annotations

import os
import pathlib
import queue
import threading
import time
from dataclasses import dataclass, field

from labdriver import LabServer, launch_browser
from lessoncheck import check_notebook

WORKERS = int(os.environ.get("LESSON_CHECK_WORKERS", "2"))


@dataclass
class Result:
    problems: list[str]
    seconds: float
    timings: dict = field(default_factory=dict)


def check_all(lab: LabServer, notebooks: list[pathlib.Path], profiles: pathlib.Path,
              artifacts: pathlib.Path | None = None, workers: int = WORKERS,
              check=check_notebook) -> dict[pathlib.Path, Result]:
    """Check every notebook (copies under ``lab.root``); returns a result per notebook.

    ``check(page, lab, notebook, artifacts, timings) -> problems`` is run on each.
    """
    from playwright.sync_api import sync_playwright

    todo: queue.Queue = queue.Queue()
    for notebook in notebooks:
        todo.put(notebook)
    results: dict[pathlib.Path, Result] = {}
    crashes: list[str] = []

    def work(number: int) -> None:
        try:
            with sync_playwright() as playwright:
                context = launch_browser(playwright, profiles / f"chromium-{number}")
                try:
                    while True:
                        try:
                            notebook = todo.get_nowait()
                        except queue.Empty:
                            return
                        results[notebook] = _check_one(lab, context, notebook, artifacts, check)
                finally:
                    context.close()
        except Exception as error:  # the browser itself failed: say so for each lesson left
            crashes.append(repr(error)[:1000])

    threads = [threading.Thread(target=work, args=(n,), daemon=True)
               for n in range(max(1, min(workers, len(notebooks))))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for notebook in notebooks:  # a worker that died leaves its notebooks unchecked
        results.setdefault(notebook, Result(
            [f"{notebook.name}: not checked, the browser failed: {'; '.join(crashes)}"], 0))
    return results


def _check_one(lab, context, notebook: pathlib.Path, artifacts, check) -> Result:
    start, timings = time.monotonic(), {}
    page = context.new_page()
    try:
        problems = check(page, lab, notebook, artifacts, timings)
    except Exception as error:  # report it with the notebook's name, go on with the rest
        problems = [f"{notebook.name}: the check itself failed: {error!r}"[:2000]]
    finally:
        page.close()
        lab.shutdown_session(notebook.relative_to(lab.root).as_posix())
    return Result(problems, round(time.monotonic() - start, 1), timings)
