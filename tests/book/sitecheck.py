"""Checks of the built book, each returning a list of problems (empty: fine).

Used by test_book.py on the real site and on deliberately broken copies of it, so that every
check is shown to fail when it should.
"""

from __future__ import annotations

import html.parser
import json
import pathlib
import shutil
import urllib.parse

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
REMOVED = {"claims", "launch"}  # cells the book leaves out (book/build.py tags them remove-cell)
ERROR_TEXT = ("Traceback (most recent call last)", "NotImplementedError", "Error displaying widget")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("the book test needs Chromium: apt-get install chromium "
                           "(make test installs it as root)")
    return found


# --------------------------------------------------------------------------- executed notebooks

def shown_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if not REMOVED & set(c.get("metadata", {}).get("tags", []))]


def image_outputs(nb: dict) -> int:
    """Figures a reader should see: outputs carrying a PNG, JPEG or SVG, in cells the book shows."""
    kinds = {"image/png", "image/jpeg", "image/svg+xml"}
    return sum(1 for c in shown_cells(nb) for o in c.get("outputs", []) if kinds & set(o.get("data", {})))


def notebook_problems(nb: dict, name: str) -> list[str]:
    """Errors, tracebacks or live widgets (blank in a static site) left in an executed lesson."""
    problems = []
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"{name} cell {i}: error output {out.get('ename')}")
            text = "".join(out.get("text", "")) if out.get("output_type") == "stream" else ""
            if "Traceback" in text:
                problems.append(f"{name} cell {i}: a traceback on {out.get('name')}")
            if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
                problems.append(f"{name} cell {i}: a live widget (blank in the book; "
                                "display the Explorer itself)")
    return problems


# --------------------------------------------------------------------------- links (static parse)

class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") in ("canonical",)):
                self.refs.append((tag, attrs[key]))


def _parse(path: pathlib.Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def link_problems(site: pathlib.Path) -> list[str]:
    """Every internal href/src of every page names an existing file (and an existing anchor)."""
    site = site.resolve()
    # _static/ holds the themes' Jinja macro files, copied verbatim: not pages.
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    parsed = {p: _parse(p) for p in pages}
    problems = []
    for page, refs in parsed.items():
        for tag, ref in refs.refs:
            url = urllib.parse.urlsplit(ref)
            if url.scheme or url.netloc or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page if not url.path else (page.parent / urllib.parse.unquote(url.path)).resolve()
            where = f"{page.relative_to(site)}: <{tag}> {ref}"
            if site not in target.parents and target != site:
                problems.append(f"{where} leaves the site")
            elif target.is_dir():
                if not (target / "index.html").exists():
                    problems.append(f"{where} is a folder without index.html")
            elif not target.exists():
                problems.append(f"{where} does not exist")
            elif url.fragment and target.suffix == ".html" and tag == "a":
                ids = parsed[target].ids if target in parsed else _parse(target).ids
                if urllib.parse.unquote(url.fragment) not in ids:
                    problems.append(f"{where}: no anchor #{url.fragment}")
    return problems


# --------------------------------------------------------------------------- a page in Chromium

PAGE_FACTS = """() => {
  const article = document.querySelector('article') || document.body;
  const imgs = [...article.querySelectorAll('.cell_output img')];
  return {
    title: (article.querySelector('h1') || {}).textContent || '',
    figures: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0))
                .map(i => i.getAttribute('src').slice(0, 80)),
    statics: article.querySelectorAll('.lc-static img').length,
    text: article.innerText,
    code: [...article.querySelectorAll('.cell_input')].map(e => e.innerText).join('\\n'),
    errors: article.querySelectorAll('.output.traceback, .output.error, .stderr').length,
    launch: [...document.querySelectorAll('.dropdown-launch-buttons a')].map(a => a.href),
    math: document.querySelectorAll('mjx-container').length,
  };
}"""


def page_facts(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_load_state("load")
    page.wait_for_function("() => [...document.querySelectorAll('.cell_output img')].every(i => i.complete)")
    return page.evaluate(PAGE_FACTS)


def lesson_problems(facts: dict, nb: dict, name: str, console: list[str]) -> list[str]:
    """A rendered lesson page against its executed notebook."""
    problems = []
    expected = image_outputs(nb)
    if not facts["title"].strip():
        problems.append(f"{name}: no title")
    if facts["figures"] != expected:
        problems.append(f"{name}: {facts['figures']} figures on the page, "
                        f"{expected} in the executed notebook")
    if facts["broken"]:
        problems.append(f"{name}: images that do not load: {facts['broken']}")
    if facts["statics"] < 1:
        problems.append(f"{name}: no static explorer figure")
    if facts["errors"]:
        problems.append(f"{name}: {facts['errors']} error/stderr outputs on the page")
    for text in ERROR_TEXT:
        if text in facts["text"]:
            problems.append(f"{name}: the page shows {text!r}")
    if "claim(" in facts["code"] or "find_spec(\"course\")" in facts["code"]:
        problems.append(f"{name}: a claims or install cell is shown")
    for host in ("colab.research.google.com", "mybinder.org"):
        if not any(host in link and f"notebooks/{name}.ipynb" in link for link in facts["launch"]):
            problems.append(f"{name}: no {host} launch button for notebooks/{name}.ipynb")
    problems.extend(f"{name}: console error {line}" for line in console)
    return problems


def load_json(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))
