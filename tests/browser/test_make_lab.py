"""`make lab` as a learner runs it: the server starts and /lab shows the lesson index.

The test starts `make lab` through make, with the port, the token and
OPEN_BROWSER chosen through the environment variables the Makefile honours,
loads the URL it prints, and sees ``notebooks/index.ipynb`` open with a link
to every lesson. Jupyter's config, runtime, data and workspace folders are
temporary (make passes the environment on to Jupyter), and autosave is off,
so the repository is never written. The whole process group is killed at
the end.
"""

import json
import pathlib
import re
import subprocess
import time
import urllib.request

import pytest
from labdriver import (
    ARTIFACTS,
    REPO,
    free_port,
    isolated_env,
    launch_browser,
    stop_group,
    tail,
    wait_for_server,
)
from labpage import wait_js

LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
INDEX = REPO / "notebooks" / "index.ipynb"


def _disable_autosave(env: dict) -> None:
    settings = (pathlib.Path(env["JUPYTER_CONFIG_DIR"]) / "lab" / "user-settings"
                / "@jupyterlab" / "docmanager-extension")
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))


@pytest.fixture
def make_lab(tmp_path, chromium):
    """`make lab` running in its own process group; yields (base URL, token, printed URL)."""
    port, token = free_port(), "make-lab-test-token"
    env = isolated_env(tmp_path)
    _disable_autosave(env)
    env.update(PORT=str(port), TOKEN=token, OPEN_BROWSER="False",
               WORKSPACE=str(tmp_path / "workspace"))
    log = tmp_path / "make-lab.log"
    # -o: never reinstall the venv from inside a test, even if the stamp is stale
    with open(log, "wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", "lab"], cwd=REPO,
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base, token, process, log)
        printed = re.search(r"Opening the course at (\S+)", log.read_text())
        yield base, token, printed.group(1) if printed else None, log
    finally:
        stop_group(process)
    assert process.poll() is not None
    with pytest.raises(OSError):  # nothing listens on the port any more
        urllib.request.urlopen(f"{base}/api/status", timeout=2)


@pytest.mark.browser
def test_make_lab_opens_the_lesson_index(make_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    base, token, printed, log = make_lab
    index_before = INDEX.read_bytes()
    # the first address printed works as it is: it carries the token
    assert printed == f"{base}/lab/tree/notebooks/index.ipynb?token={token}", (
        f"`make lab` printed {printed!r}:\n{tail(log)}")
    # it serves the learner's workspace of copies, not the repository
    assert (tmp_path / "workspace" / "notebooks" / "index.ipynb").read_bytes() == index_before
    # the URL Jupyter prints (and opens, when OPEN_BROWSER=True) leads to the index
    served = re.findall(rf"{re.escape(base)}(/\S*)\?token=", log.read_text())
    assert served and served[0] == "/lab/tree/notebooks/index.ipynb", (
        f"Jupyter opens {served[:1]} instead of the lesson index: `jupyter lab` ignores "
        "--ServerApp.default_url; the Makefile must pass --LabApp.default_url")
    with sync_playwright() as playwright:
        context = launch_browser(playwright, tmp_path / "chromium-profile")
        page = context.pages[0] if context.pages else context.new_page()
        try:
            # what a learner opens: the root, which redirects to the Makefile's default_url
            page.goto(f"{base}/?token={token}")
            assert wait_js(page, """() => [...document.querySelectorAll(
                '.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel')]
                .some(t => t.textContent === 'index.ipynb')""", 60), (
                f"index.ipynb is not the open tab at {page.url}:\n{tail(log)}")
            assert "/lab" in page.url
            heading = page.locator(".jp-Notebook .jp-RenderedMarkdown h1").first
            heading.wait_for(state="visible")
            assert "loss-course" in heading.inner_text()
            # Lab rewrites a relative link to an absolute /files/notebooks/NN_x.ipynb URL
            links = page.locator(".jp-Notebook .jp-RenderedMarkdown a").evaluate_all(
                "links => links.map(a => new URL(a.href).pathname)")
            missing = [p.name for p in LESSONS
                       if not any(link.endswith(f"/notebooks/{p.name}") for link in links)]
            assert not missing, f"lessons not linked from the index: {missing}"
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "make-lab-index.png"))

            # the first lesson opens from its link
            first = LESSONS[0].name
            link = f'.jp-Notebook .jp-RenderedMarkdown a[href*="/notebooks/{first}"]'
            page.locator(link).first.click()
            assert wait_js(page, f"""() => [...document.querySelectorAll(
                '.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel')]
                .some(t => t.textContent === '{first}')""", 30), f"{first} did not open"
            current = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"
            page.locator(current).first.wait_for(state="visible")
            time.sleep(0.5)
            page.screenshot(path=str(ARTIFACTS / "make-lab-first-lesson.png"))
        finally:
            context.close()
    assert INDEX.read_bytes() == index_before, "the test changed notebooks/index.ipynb"
