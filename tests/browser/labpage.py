"""Small shared helpers for reading a JupyterLab page (status bar, outputs, waits)."""

from __future__ import annotations

import json
import pathlib
import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout

KERNEL_STATUS_JS = """() => {
  const items = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')];
  const item = items.map(e => e.textContent).find(t => / \\| /.test(t));
  return item || '';
}"""

STDERR_SELECTOR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def notebook_code_cells(path: pathlib.Path) -> list[tuple[int, str]]:
    """``(cell number counting all cells from 1, source)`` for each code cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(number, "".join(cell["source"])) for number, cell in enumerate(cells, 1)
            if cell["cell_type"] == "code"]


def kernel_status(page) -> str:
    return page.evaluate(KERNEL_STATUS_JS)


def wait_js(page, script: str, timeout_s: float, arg=None) -> bool:
    try:
        page.wait_for_function(script, arg=arg, timeout=timeout_s * 1000, polling=100)
        return True
    except PlaywrightTimeout:
        return False


def error_summary(text: str) -> str:
    """The line naming the exception or warning, else the first line."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    # ClaimFailed is the lessons' failed claim (course.claims)
    named = [line for line in lines
             if re.search(r"\b\w*(Error|Exception|Warning|Failed)\b:", line)]
    line = named[-1] if named else (lines[0] if lines else "(empty)")
    return line[:300]
