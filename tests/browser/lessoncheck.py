"""What a learner sees in JupyterLab, checked: each function returns a list of problems.

:func:`check_notebook` opens a notebook in a fresh Lab page, runs all cells
through Lab's own menu command, and then collects problems: cells left
unexecuted, error or stderr outputs (in cells, in widgets' Output areas and
in Lab's log console, where exceptions raised in widget callbacks go),
widgets that did not render live, and explorers whose figure and readout do
not follow their first slider. An empty list means the notebook works.

Whether a cell ran is read from Lab's notebook model, saved to disk with
File ▸ Save Notebook after Run All, not from the prompts on the page: a cell
whose source is folded away (``metadata.jupyter.source_hidden``, as the
lessons' ``claims`` cells are) shows a placeholder with an empty prompt, so
its ``[n]:`` never appears in the page.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import re
import threading
import time

from labpage import (
    KERNEL_STATUS_JS,
    error_summary,
    kernel_status,
    notebook_code_cells,
    wait_js,
)
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from widgetcheck import (
    control_problems,
    expected_explorers,
    explorer_name,
    explorer_problems,
    key_to_paint,
    widget_problems,
)


class QuietLock:
    """Busy phases (opening a notebook, Run All) share it; a timing takes it alone.

    The lessons are checked two at a time; timing a key press while the other
    worker's kernel imports torch or runs its cells would time this machine's
    load from our own test, not the explorer. A timing waits for the busy
    phases in progress to end, and no new one starts until it is done.
    """

    def __init__(self):
        self._lock = threading.Condition()
        self._busy = 0
        self._timing = False

    @contextlib.contextmanager
    def busy(self):
        with self._lock:
            self._lock.wait_for(lambda: not self._timing)
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._lock.notify_all()

    @contextlib.contextmanager
    def alone(self):
        with self._lock:
            self._lock.wait_for(lambda: not self._timing)
            self._timing = True
            self._lock.wait_for(lambda: self._busy == 0)
        try:
            yield
        finally:
            with self._lock:
                self._timing = False
                self._lock.notify_all()


QUIET = QuietLock()
RUN_TIMEOUT_S = 150  # one notebook, top to bottom (lessons take < 30 s here)
DONE_STABLE_S = 1.0  # kernel idle and no cell queued for this long: Run All is done
WIDGET_REPR = re.compile(r"\b(?:children=\(|layout=Layout\(|(?:Float|Int)Slider\(value=)")

# Per code cell: its visible prompt ('' when its input is folded away) and whether
# Lab shows the folded placeholder instead of the source.
_PROMPTS_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(
  c => (c.querySelector('.jp-InputArea .jp-InputPrompt')?.textContent || '').trim())"""

_FOLDED_JS = """() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')].map(
  c => c.querySelector('.jp-Cell-inputWrapper .jp-InputPlaceholder') !== null)"""

_DIRTY_JS = """() => {
  const tab = document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.jp-mod-current');
  return tab === null || tab.classList.contains('jp-mod-dirty');
}"""

_DONE_JS = """() => {
  const items = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')];
  const kernel = items.map(e => e.textContent).find(t => / \\| /.test(t)) || '';
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return kernel.endsWith('| Idle') && !prompts.some(p => p.textContent.includes('*'));
}"""

# Every stderr-like output: error tracebacks and stream stderr share this mime type.
_STDERR_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  const sel = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]';
  return [...document.querySelectorAll('.jp-Notebook ' + sel)].map(out => ({
    cell: cells.indexOf(out.closest('.jp-Cell')) + 1,
    inWidget: out.closest('.jupyter-widgets') !== null,
    text: out.textContent,
  }));
}"""

_TEXT_OUTPUTS_JS = """() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  return [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].map(out => ({
    cell: cells.indexOf(out.closest('.jp-Cell')) + 1,
    mime: out.getAttribute('data-mime-type') || '',
    text: out.textContent.slice(0, 2000),
  }));
}"""


# ---------------------------------------------------------------- open and run


def open_notebook(page, lab, relpath: str) -> list[str]:
    """Load Lab with only this notebook open and wait for its kernel to be idle.

    The execution indicator reads "idle" before the kernel exists, so wait for
    the status bar's "| Idle" instead.
    """
    kernel = json.loads((lab.root / relpath).read_text(encoding="utf-8"))["metadata"].get(
        "kernelspec", {}).get("name", "python3")
    lab.start_session(relpath, kernel)  # boots while the page loads; Lab attaches to it
    page.goto(lab.url(f"lab/tree/{relpath}", reset=""))
    if not wait_js(page, "() => document.querySelector('.jp-Notebook .jp-Cell') !== null", 60):
        return ["the notebook did not open in JupyterLab"]
    if not wait_js(page, f"() => ({KERNEL_STATUS_JS})().endsWith('| Idle')", 90):
        return [f"the kernel never became idle (status: {kernel_status(page)!r})"]
    # the kernel's info has reached the notebook's metadata by now: an unchanged
    # notebook that differs from what Lab would save shows as unsaved (dot on its tab)
    page.wait_for_timeout(500)
    if page.evaluate(_DIRTY_JS):
        return ["it opens marked as unsaved: the file is not in the form JupyterLab saves "
                "(run `python -m course.notebook_format`)"]
    return []


def _click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).first.click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).first.click()


def run_all(page, timeout_s: float = RUN_TIMEOUT_S) -> list[str]:
    """Run ▸ Run All Cells, check that it started, wait until all cells are done.

    A folded cell shows no ``[*]`` while it waits, and the kernel is briefly
    idle between two queued cells: "done" must hold for ``DONE_STABLE_S``.
    """
    started = "() => (%s)().some(p => /\\[(\\*|\\d+)\\]/.test(p))" % _PROMPTS_JS
    for attempt in range(2):  # the menu click can land before Lab is ready for it
        _click_menu(page, "Run", "Run All Cells")
        if wait_js(page, started, 10):
            break
        if attempt:
            return ["Run All Cells did not start: no prompt turned [*] within 10 s"]
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not wait_js(page, _DONE_JS, left):
            return [f"the notebook was still running after {timeout_s:.0f} s "
                    f"(kernel: {kernel_status(page)!r})"]
        page.wait_for_timeout(DONE_STABLE_S * 1000)
        if page.evaluate(_DONE_JS):
            return []


def saved_model(page, lab, relpath: str, timeout_s: float = 30) -> tuple[dict | None, list[str]]:
    """File ▸ Save Notebook, then the notebook as Lab holds it (outputs, execution counts).

    The file is the served copy under ``lab.root``, never the repository's.
    """
    path = lab.root / relpath
    before = path.stat().st_mtime_ns
    _click_menu(page, "File", "Save Notebook")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before and not page.evaluate(_DIRTY_JS):
            try:
                return json.loads(path.read_text(encoding="utf-8")), []
            except ValueError:  # caught in the middle of the write
                pass
        page.wait_for_timeout(100)
    return None, [f"File ▸ Save Notebook did not save the notebook within {timeout_s:.0f} s"]


# ------------------------------------------------------------------- outputs


def execution_problems(page, notebook: pathlib.Path, model: dict) -> list[str]:
    """Every non-empty code cell ran, in order, on a fresh kernel (counts 1, 2, ...).

    The counts come from ``model``, the notebook Lab saved after Run All. The
    page must agree with it: a cell shows its count in its prompt, or, when its
    source is folded away in the file, Lab shows it folded.
    """
    code = notebook_code_cells(notebook)
    cells = model["cells"]
    prompts, folded = page.evaluate(_PROMPTS_JS), page.evaluate(_FOLDED_JS)
    if not len(prompts) == len(code) == sum(c["cell_type"] == "code" for c in cells):
        return [f"Lab shows {len(prompts)} code cells, the notebook has {len(code)}"]
    problems, counts = [], []
    for (number, source), prompt, is_folded in zip(code, prompts, folded):
        cell = cells[number - 1]
        hidden = cell.get("metadata", {}).get("jupyter", {}).get("source_hidden", False)
        if hidden and not is_folded:
            problems.append(f"cell {number}: its source should be folded away "
                            "(metadata.jupyter.source_hidden) but Lab shows it")
        elif is_folded and not hidden:
            problems.append(f"cell {number}: Lab shows its source folded away")
        if not source.strip():
            continue
        count = cell.get("execution_count")
        if count is None:
            shown = "folded" if is_folded else (prompt or "[ ]")
            problems.append(f"cell {number} was not executed (no execution count; "
                            f"prompt {shown!r})")
            continue
        counts.append(count)
        if not is_folded and prompt.rstrip(":") != f"[{count}]":
            problems.append(f"cell {number} ran as [{count}] but its prompt shows {prompt!r}")
    if not problems and counts != list(range(1, len(counts) + 1)):
        problems.append(f"cells did not run once each, in order, on a fresh kernel: {counts}")
    return problems


def output_problems(page) -> list[str]:
    """Error outputs, stderr outputs (warnings) and widget fallbacks, with their cell."""
    problems = []
    for out in page.evaluate(_STDERR_JS):
        text = out["text"]
        kind = ("error" if "Traceback" in text or re.match(r"\s*-{20,}", text) else "stderr")
        where = f"cell {out['cell']}" + (" (inside a widget)" if out["inWidget"] else "")
        problems.append(f"{where}: {kind} output: {error_summary(text)}")
    for out in page.evaluate(_TEXT_OUTPUTS_JS):
        text = out["text"]
        if "Loading widget" in text or "Error displaying widget" in text:
            problems.append(f"cell {out['cell']}: widget not rendered: {text.strip()[:200]!r}")
        elif out["mime"] == "text/plain" and WIDGET_REPR.search(text):
            problems.append(f"cell {out['cell']}: widget shown as text: {text.strip()[:200]!r}")
    return problems


def log_console_problems(page) -> list[str]:
    """Exceptions in widget callbacks reach no cell: Lab counts them in its log console."""
    item = page.locator(".jp-LogConsoleStatusItem:not(.lm-mod-hidden)")
    if item.count() == 0:
        return []
    title = item.first.locator("[title]").first.get_attribute("title") or ""
    entries = ""
    try:
        item.first.click()
        panel = page.locator(".jp-LogConsolePanel").first
        panel.wait_for(state="visible", timeout=5000)
        page.wait_for_timeout(300)
        entries = panel.inner_text()
    except (PlaywrightError, PlaywrightTimeout):
        pass
    return [f"the log console has messages ({title}): {error_summary(entries)}"]


# --------------------------------------------------------------- whole lesson


def check_notebook(page, lab, notebook: pathlib.Path, artifacts: pathlib.Path | None = None,
                   timings: dict | None = None) -> list[str]:
    """All problems a learner would meet running ``notebook`` in Lab (empty: it works).

    ``notebook`` is the copy under ``lab.root``; screenshots go to ``artifacts``;
    seconds spent per phase are added to ``timings``.
    """
    relpath = notebook.relative_to(lab.root).as_posix()
    timings = {} if timings is None else timings
    clock = [time.monotonic()]

    def lap(phase: str) -> None:
        now = time.monotonic()
        timings[phase] = round(timings.get(phase, 0.0) + now - clock[0], 2)
        clock[0] = now

    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    with QUIET.busy():
        problems = open_notebook(page, lab, relpath)
        lap("open")
        if not problems:
            problems = run_all(page)
            lap("run all")
    if not problems:
        model, problems = saved_model(page, lab, relpath)
    if not problems:
        problems += execution_problems(page, notebook, model)
        # a notebook that stopped early has fewer widgets: do not wait for them
        problems += widget_problems(page, expected_explorers(notebook), wait=not problems)
        lap("render")
        explorers = page.locator(".jp-Notebook .lc-explorer")
        for index in range(explorers.count()):
            artifact = None
            if artifacts is not None:
                name = explorer_name(explorers.nth(index))
                artifact = artifacts / f"{notebook.stem}--{index}-{name}.png"
            try:
                problems += control_problems(page, index)
                with QUIET.alone():
                    times, timing_problems = key_to_paint(page, index)
                problems += timing_problems
                timings.setdefault("key_to_paint_ms", {})[
                    f"{index}-{explorer_name(explorers.nth(index))}"] = times
                problems += explorer_problems(page, index, artifact)
            except (PlaywrightError, PlaywrightTimeout) as error:
                problems.append(f"explorer {index}: {str(error).splitlines()[0]}")
        lap("sliders")
        # callbacks ran while the sliders moved: look for their errors now
        problems += output_problems(page)
        problems += log_console_problems(page)
    if artifacts is not None:
        artifacts.mkdir(parents=True, exist_ok=True)
        first = page.locator(".jp-Notebook .lc-explorer")
        if first.count():  # its cell at the top of the window, the explorer below
            first.first.evaluate("e => (e.closest('.jp-Cell') || e).scrollIntoView()")
            page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts / f"{notebook.stem}.png"))
    lap("outputs, screenshot")
    problems += [f"JavaScript error in the page: {error[:300]}" for error in page_errors]
    return [f"{relpath}: {problem}" for problem in problems]


def run_and_save(page, lab, notebook: pathlib.Path, artifacts: pathlib.Path | None = None,
                 timings: dict | None = None) -> list[str]:
    """A learner's session with an exercise: open it, Run All, File ▸ Save Notebook.

    An exercise stops at its first ``NotImplementedError``, as it should; the
    check is that it opens unmarked, runs, and saves with outputs.
    """
    relpath = notebook.relative_to(lab.root).as_posix()
    with QUIET.busy():
        problems = open_notebook(page, lab, relpath)
        if not problems:
            problems = run_all(page)
    if not problems:
        model, problems = saved_model(page, lab, relpath)
        if model is not None and not any(cell.get("outputs") for cell in model["cells"]):
            problems.append("it was saved without any output: did Run All run?")
    return [f"{relpath}: {problem}" for problem in problems]


def format_problems(problems: list[str]) -> str:
    return "\n".join(f"  - {problem}" for problem in problems)
