"""Explorer widgets in the browser: rendered live, and following their first slider.

Each function returns a list of problems (empty: fine). The explorers are the
``course.widgets._base.Explorer`` pattern: CSS classes ``lc-explorer``,
``lc-<name>``, ``lc-control`` (the first one a slider), ``lc-readout`` and
``lc-plot`` (an Image widget showing the figure as a PNG).
"""

from __future__ import annotations

import ast
import hashlib
import pathlib
import re
import time

from labpage import STDERR_SELECTOR, error_summary, notebook_code_cells
from playwright.sync_api import TimeoutError as PlaywrightTimeout

WIDGET_TIMEOUT_S = 30  # one round trip through the kernel after a key press
SETTLE_S = 0.5  # a figure and readout unchanged this long, kernel idle: settled
KEY_PRESSES = 3  # steps the first slider of each explorer is moved

OFF_GRID = "is the slider's value on its grid min + k·step? Keys move along that grid"

# An explorer is made by a `<topic>_explorer(...)` builder or by `Explorer(...)`.
EXPLORER_CALL = re.compile(r"(?<!def )\b(?:\w+_explorer|Explorer)\(")


def expected_explorers(path: pathlib.Path) -> int:
    """How many explorers the notebook's code creates.

    Counts calls of ``<topic>_explorer(...)`` builders and of ``Explorer(...)``
    at the top level of code cells (not inside the notebook's own function
    definitions, which count where they are called).
    """
    count = 0
    for _, source in notebook_code_cells(path):
        # IPython magics and shell escapes are not Python
        lines = ["" if line.lstrip().startswith(("%", "!")) else line
                 for line in source.splitlines()]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            count += len(EXPLORER_CALL.findall(source))
            continue
        count += _count_explorer_calls(tree)
    return count


def _count_explorer_calls(node) -> int:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
        return 0
    own = 0
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        own = int(name == "Explorer" or name.endswith("_explorer"))
    return own + sum(_count_explorer_calls(child) for child in ast.iter_child_nodes(node))


def widget_problems(page, expected: int, wait: bool = True) -> list[str]:
    """Every explorer the notebook creates rendered live: controls, readout, figure."""
    explorers = page.locator(".jp-Notebook .lc-explorer")
    deadline = time.monotonic() + (WIDGET_TIMEOUT_S if wait else 0)
    while explorers.count() < expected and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    found = explorers.count()
    problems = []
    if expected == 0:
        problems.append("the notebook creates no explorer widget (every lesson needs one)")
    if found != expected:
        problems.append(f"{found} live explorer widgets rendered, the notebook creates {expected}")
    for index in range(found):
        explorer = explorers.nth(index)
        name = explorer_name(explorer)
        if explorer.locator(".lc-control").count() == 0:
            problems.append(f"explorer {name}: no controls rendered")
        if explorer.locator(".lc-readout").count() == 0:
            problems.append(f"explorer {name}: no readout rendered")
        plot = explorer.locator("img.lc-plot, .lc-plot img, .lc-plot canvas")
        try:
            if wait:
                plot.first.wait_for(state="attached", timeout=WIDGET_TIMEOUT_S * 1000)
            elif plot.count() == 0:  # not waiting: look once (a 1 ms wait can time out)
                raise PlaywrightTimeout("no figure")
        except PlaywrightTimeout:
            problems.append(f"explorer {name}: no figure rendered")
    return problems


PAINT_TIMEOUT_S = 10  # one key press to its figure (a broken explorer never paints)
MIN_SLIDER_PX = 250  # a slider's track, wide enough to drag along its steps (issue 13)

_CONTROLS_JS = """(index) => {
  const explorer = document.querySelectorAll('.jp-Notebook .lc-explorer')[index];
  return [...explorer.querySelectorAll('.lc-control')].map(control => {
    const label = control.querySelector('.widget-label');
    const track = control.querySelector('.slider-container');
    return {
      label: label ? label.textContent : '',
      cut: label ? label.scrollWidth > label.clientWidth + 1 : false,
      track: track ? track.getBoundingClientRect().width : null,
      width: control.getBoundingClientRect().width,
    };
  });
}"""


def control_problems(page, index: int) -> list[str]:
    """Every slider's track is at least ``MIN_SLIDER_PX`` wide and every label shows in full."""
    explorer = page.locator(".jp-Notebook .lc-explorer").nth(index)
    name = explorer_name(explorer)
    problems = []
    for control in page.evaluate(_CONTROLS_JS, index):
        label = control["label"] or "(no label)"
        if control["track"] is not None and control["track"] < MIN_SLIDER_PX:
            problems.append(f"explorer {name}: the slider {label!r} is {control['track']:.0f} px "
                            f"long, too short to drag (at least {MIN_SLIDER_PX} px)")
        if control["cut"]:
            problems.append(f"explorer {name}: the label {label!r} is cut off")
    return problems


# Resolves to (paint time − key-down time) in ms once the figure's <img> has a new
# source, decoded and painted (the next animation frame after decoding).
_ARM_PAINT_JS = """(index) => {
  const explorer = document.querySelectorAll('.jp-Notebook .lc-explorer')[index];
  const img = explorer.querySelector('img.lc-plot, .lc-plot img');
  window.__lcKeyDown = null;
  document.addEventListener('keydown', () => { window.__lcKeyDown = performance.now(); },
                            {capture: true, once: true});
  window.__lcPainted = new Promise(resolve => {
    const observer = new MutationObserver(async () => {
      observer.disconnect();
      try { await img.decode(); } catch (error) {}
      requestAnimationFrame(() => resolve(performance.now() - window.__lcKeyDown));
    });
    observer.observe(img, {attributes: true, attributeFilter: ['src']});
  });
}"""

_PAINTED_JS = """async (timeout) => await Promise.race([
  window.__lcPainted, new Promise(resolve => setTimeout(() => resolve(null), timeout))])"""


def key_to_paint(page, index: int, presses: int = 2) -> tuple[list[float], list[str]]:
    """Milliseconds from a key press on the first slider to its new figure painted.

    One press at a time, waiting for each figure: ``presses`` steps away from
    the start and as many back. Returns the times and any problems.
    """
    explorer = page.locator(".jp-Notebook .lc-explorer").nth(index)
    name = explorer_name(explorer)
    handle = explorer.locator(".lc-control").first.locator(".noUi-handle")
    if handle.count() == 0:
        return [], []
    handle = handle.first
    start = _slider_value(handle)
    top = float(handle.get_attribute("aria-valuemax") or "inf")
    forward, back = ("ArrowLeft", "ArrowRight") if start >= top else ("ArrowRight", "ArrowLeft")
    times, problems, away = [], [], 0
    handle.focus()
    for key in [forward] * presses + [back] * presses:
        page.evaluate(_ARM_PAINT_JS, index)
        page.keyboard.press(key)
        away += 1 if key == forward else -1
        elapsed = page.evaluate(_PAINTED_JS, PAINT_TIMEOUT_S * 1000)
        if elapsed is None:
            problems.append(f"explorer {name}: no new figure within {PAINT_TIMEOUT_S} s of {key}")
            break
        times.append(round(elapsed, 1))
    for _ in range(away):  # back to the start, for the checks that follow
        page.keyboard.press(back)
    _settle(page, index)
    if not _wait_slider(handle, start, 1e-9 + abs(start) * 1e-9):
        problems.append(f"explorer {name}: after the timed presses the slider reads "
                        f"{_slider_value(handle)}, expected {start}")
    return times, problems


def explorer_name(explorer) -> str:
    classes = (explorer.get_attribute("class") or "").split()
    names = [c[3:] for c in classes if c.startswith("lc-") and c != "lc-explorer"]
    return names[0] if names else "(unnamed)"


_SNAPSHOT_JS = """(index) => {
  const explorer = document.querySelectorAll('.jp-Notebook .lc-explorer')[index];
  const items = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')];
  const kernel = items.map(e => e.textContent).find(t => / \\| /.test(t)) || '';
  if (!explorer) return null;
  const img = explorer.querySelector('img.lc-plot, .lc-plot img');
  let plot = '';
  if (img) {  // the image's pixels, hashed: its src is a new blob URL on every update
    if (!img.complete || !img.naturalWidth) {
      plot = 'img:loading:' + (img.getAttribute('src') || '');
    } else {
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const context = canvas.getContext('2d', {willReadFrequently: true});
      context.drawImage(img, 0, 0);
      const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
      let hash = 0;
      for (let i = 0; i < pixels.length; i++) hash = (Math.imul(31, hash) + pixels[i]) | 0;
      plot = 'img:' + canvas.width + 'x' + canvas.height + ':' + hash;
    }
  }
  return {
    readout: (explorer.querySelector('.lc-readout')?.textContent || '').trim(),
    plot: plot,
    idle: kernel.endsWith('| Idle'),
  };
}"""


def _snapshot(page, index: int) -> tuple[tuple[str, str], bool]:
    """((readout text, figure fingerprint), kernel idle) for explorer ``index``.

    The figure is the inline PNG's data URL; an ipympl canvas has none, so its
    fingerprint is a hash of its screenshot.
    """
    state = page.evaluate(_SNAPSHOT_JS, index) or {"readout": "", "plot": "", "idle": False}
    plot = state["plot"]
    if not plot:
        plot_area = page.locator(".jp-Notebook .lc-explorer").nth(index).locator(".lc-plot")
        if plot_area.locator("canvas").count():  # an empty plot area has nothing to shoot
            shot = plot_area.first.screenshot(animations="disabled")
            plot = "png:" + hashlib.md5(shot).hexdigest()
    return (state["readout"], plot), state["idle"]


def _slider_value(handle) -> float:
    return float(handle.get_attribute("aria-valuetext") or "nan")


def _wait_slider(handle, target: float, tolerance: float) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if abs(_slider_value(handle) - target) <= tolerance:
            return True
        time.sleep(0.05)
    return False


def _settle(page, index: int, timeout_s: float = WIDGET_TIMEOUT_S) -> tuple[str, str]:
    """Wait until the kernel is idle and the readout and figure stop changing."""
    deadline = time.monotonic() + timeout_s
    last, since = _snapshot(page, index)[0], time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        now, idle = _snapshot(page, index)
        if now != last or not idle:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= SETTLE_S:
            break
    return last


def _decimals(text: str) -> int | None:
    match = re.fullmatch(r"\s*-?\d+(?:\.(\d+))?\s*", text)
    return None if match is None else len(match.group(1) or "")


def _short(text: str) -> str:
    return text if len(text) <= 120 else text[:117] + "..."


def explorer_problems(page, index: int, artifact: pathlib.Path | None = None) -> list[str]:
    """Move the first slider of explorer ``index`` by keyboard; its figure and readout follow.

    The slider moves ``KEY_PRESSES`` steps (right, or left when it sits at its
    maximum); the test waits for the slider's expected final value, then for
    the kernel to settle, and asserts the readout text and the figure changed.
    Moving back must restore exactly the first readout and figure: the only
    value the test knows in advance, so it waits for it.
    """
    explorer = page.locator(".jp-Notebook .lc-explorer").nth(index)
    name = explorer_name(explorer)
    explorer.scroll_into_view_if_needed()
    control = explorer.locator(".lc-control").first
    handle = control.locator(".noUi-handle")
    if handle.count() == 0:
        return [f"explorer {name}: its first control is not a slider"]
    handle = handle.first
    readout_box = control.locator(".widget-readout").first
    # Run All has finished and the kernel is idle: this is the explorer's first state
    before = _snapshot(page, index)[0]
    if not before[0]:
        return [f"explorer {name}: the readout is empty"]
    start = _slider_value(handle)
    top = float(handle.get_attribute("aria-valuemax") or "inf")
    bottom = float(handle.get_attribute("aria-valuemin") or "-inf")
    start_text = (readout_box.text_content() or "").strip()
    forward, back = ("ArrowLeft", "ArrowRight") if start >= top else ("ArrowRight", "ArrowLeft")

    handle.focus()
    page.keyboard.press(forward)
    deadline = time.monotonic() + 10
    while _slider_value(handle) == start and time.monotonic() < deadline:
        time.sleep(0.05)
    step = abs(_slider_value(handle) - start)
    if not step > 0:
        return [f"explorer {name}: {forward} did not move the slider (value {start})"]
    for _ in range(KEY_PRESSES - 1):
        page.keyboard.press(forward)
    sign = 1 if forward == "ArrowRight" else -1
    target = min(top, max(bottom, start + sign * KEY_PRESSES * step))
    tolerance = step * 1e-3
    problems = []
    if not _wait_slider(handle, target, tolerance):
        problems.append(f"explorer {name}: the slider reads {_slider_value(handle)} after "
                        f"{KEY_PRESSES} × {forward}, expected {target:g} ({OFF_GRID})")
    decimals = _decimals(start_text)
    if decimals is not None:
        expected_text = f"{target:.{decimals}f}"
        shown = (readout_box.text_content() or "").strip()
        if shown != expected_text:
            problems.append(f"explorer {name}: the slider's readout shows {shown!r}, "
                            f"expected {expected_text!r}")
    after = _settle(page, index)
    errors = explorer.locator(STDERR_SELECTOR)
    for text in errors.all_text_contents():
        problems.append(f"explorer {name}: moving the slider to {target:g} printed an error "
                        f"or warning: {error_summary(text)}")
    if before[1].startswith("img:") and not after[1].startswith("img:"):
        problems.append(f"explorer {name}: the figure disappeared when the slider moved")
    if after[0] == before[0]:
        problems.append(f"explorer {name}: the readout did not change when the slider moved "
                        f"from {start_text} ({_short(before[0])!r})")
    if after[1] == before[1]:
        problems.append(f"explorer {name}: the figure did not change when the slider moved "
                        f"from {start_text}")
    if artifact is not None:
        artifact.parent.mkdir(parents=True, exist_ok=True)
        explorer.screenshot(path=str(artifact), animations="disabled")

    steps_taken = round(abs(_slider_value(handle) - start) / step)
    handle.focus()
    for _ in range(steps_taken):
        page.keyboard.press(back)
    if not _wait_slider(handle, start, tolerance):
        problems.append(f"explorer {name}: moving back, the slider reads {_slider_value(handle)}"
                        f", expected {start} ({OFF_GRID})")
    deadline = time.monotonic() + WIDGET_TIMEOUT_S
    while _snapshot(page, index)[0] != before and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    restored = _snapshot(page, index)[0]
    if restored[0] != before[0]:
        problems.append(f"explorer {name}: after moving the slider back to {start_text} the "
                        f"readout is {_short(restored[0])!r}, expected {_short(before[0])!r}")
    elif restored[1] != before[1]:
        problems.append(f"explorer {name}: after moving the slider back to {start_text} the "
                        "figure differs from the first one")
    return problems
