"""The published book: built by ``book/build.py`` (as ``make book``), opened in headless Chromium.

The build executes each lesson once and caches it in ``build/book/executed/`` (re-executed only
when the lesson, ``course/`` or ``constraints.txt`` changes), so a second run only re-renders.
Every lesson page is opened from disk (``file://``): its figures are counted against the executed
notebook's image outputs and must load, it shows no error output, hides its claims and install
cells, shows each explorer as a static figure and has Colab and Binder launch buttons. Every
internal link and asset of every page must exist. The last test breaks a copy of the site and
checks that each of these checks fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import pathlib
import shutil
import subprocess
import sys
import threading

import pytest
import sitecheck

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = ROOT / "build" / "book"
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted(p.stem for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def build() -> dict:
    run = subprocess.run([sys.executable, str(ROOT / "book" / "build.py")], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"book build failed:\n{run.stdout[-3000:]}\n{run.stderr[-5000:]}"
    return {"stdout": run.stdout, "html": BUILD / "html", "executed": BUILD / "executed"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = sitecheck.chromium()
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, headless=True,
                                              args=sitecheck.CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and not m.location.get("url", "").endswith("favicon.ico")
            and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


def check_lesson(page, site: pathlib.Path, executed: pathlib.Path, name: str, base: str | None = None):
    url = f"{base}/notebooks/{name}.html" if base else (site / "notebooks" / f"{name}.html").as_uri()
    facts = sitecheck.page_facts(page, url)
    nb = sitecheck.load_json(executed / f"{name}.ipynb")
    return facts, (sitecheck.notebook_problems(nb, name)
                   + sitecheck.lesson_problems(facts, nb, name, page.console_errors))


def test_build_prints_the_index_last(build):
    last = build["stdout"].strip().splitlines()[-1]
    assert last == str(build["html"] / "index.html")
    assert pathlib.Path(last).is_file()
    assert not list((ROOT / "notebooks").glob("*.ipynb")) or all(
        not any(c.get("outputs") for c in json.loads(p.read_text(encoding="utf-8"))["cells"])
        for p in (ROOT / "notebooks").glob("*.ipynb")), "the build wrote outputs into notebooks/"


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_page(build, page, name):
    facts, problems = check_lesson(page, build["html"], build["executed"], name)
    assert not problems, "\n".join(problems)
    assert facts["figures"] >= 3 and facts["math"] > 0, facts["figures"]


def test_every_internal_link_and_asset_exists(build):
    problems = sitecheck.link_problems(build["html"])
    assert not problems, "\n".join(problems[:40])


def test_navigation_search_exercises_and_docs(build, page):
    site = build["html"]
    page.goto((site / "index.html").as_uri())
    nav = [a.get_attribute("href") for a in page.locator("nav.bd-docs-nav a").all()]
    for stem in LESSONS:
        assert f"notebooks/{stem}.html" in nav
    for stem in EXERCISES:
        assert f"exercises/{stem}.html" in nav
    assert "docs/notation.html" in nav and "docs/instructors.html" in nav and "docs/teaching.html" in nav
    for stem in EXERCISES:
        text = (site / "exercises" / f"{stem}.html").read_text(encoding="utf-8")
        assert "YOUR CODE HERE" in text and "BEGIN SOLUTION" not in text, stem
    page.goto((site / "search.html").as_uri() + "?q=huber")
    page.wait_for_selector("#search-results li", timeout=30_000)
    hits = [a.get_attribute("href") for a in page.locator("#search-results li a").all()]
    assert any("01_regression" in h for h in hits), hits
    # From file:// Chromium refuses the fetches that add a summary under each result: only those may fail.
    assert all("fetch" in e.lower() or "ERR_FAILED" in e for e in page.console_errors), page.console_errors


def test_served_over_http(build, page):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(build["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page.goto(base + "/")
        assert "loss-course" in page.title()
        _, problems = check_lesson(page, build["html"], build["executed"], "01_regression", base=base)
        assert not problems, "\n".join(problems)
        page.goto(base + "/search.html?q=huber")  # served, the result summaries load too
        page.wait_for_selector("#search-results li p.context", timeout=30_000)
        assert not page.console_errors, page.console_errors
    finally:
        server.shutdown()
        server.server_close()


def test_the_checks_fail_on_a_broken_page(build, page, tmp_path):
    """Break a copy of lesson 01 four ways; each check must notice."""
    site, executed = tmp_path / "html", tmp_path / "executed"
    shutil.copytree(build["html"], site, ignore=shutil.ignore_patterns("mathjax"))
    shutil.copytree(build["executed"], executed)
    lesson = site / "notebooks" / "01_regression.html"
    text = lesson.read_text(encoding="utf-8")
    # 1. one figure missing from the page, 2. another one's file gone, 3. a traceback, 4. a dead link
    start = text.index('<img', text.index('class="cell_output'))
    text = text[:start] + text[text.index(">", start) + 1:]
    images = [p for p in (site / "_images").iterdir() if p.name in text]
    images[0].unlink()
    text = text.replace('<section id="', '<div class="output traceback"><pre>'
                        'Traceback (most recent call last):</pre></div>'
                        '<a href="02_nowhere.html">x</a><section id="', 1)
    lesson.write_text(text, encoding="utf-8")
    nb = sitecheck.load_json(executed / "01_regression.ipynb")
    error = {"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []}
    nb["cells"][2]["outputs"].append(error)
    (executed / "01_regression.ipynb").write_text(json.dumps(nb), encoding="utf-8")

    _, problems = check_lesson(page, site, executed, "01_regression")
    report = "\n".join(problems)
    assert "figures on the page" in report, report
    assert "images that do not load" in report, report
    assert "error/stderr outputs" in report and "Traceback" in report, report
    assert "error output ValueError" in report, report
    links = "\n".join(sitecheck.link_problems(site))
    assert "02_nowhere.html does not exist" in links and images[0].name in links, links
