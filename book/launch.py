"""Launching a lesson elsewhere: the Colab install cell and the README's badges.

Both are written from ``[project.urls] Repository`` (book/config.py), so changing that one line
and running ``python book/launch.py`` updates every lesson and the README; ``--check`` (run by
tests/book/test_launch.py) fails when they drift.

* Each lesson in ``notebooks/`` starts with a code cell tagged ``launch`` that installs the course
  where it is missing (Colab, a bare Jupyter) and does nothing where it is installed (``make lab``,
  Binder, CI). The book hides it.
* README.md has, between two marker comments, a table with a Colab and a Binder badge per lesson.
"""

from __future__ import annotations

import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import config  # noqa: E402

TAG = "launch"
CELL_ID = "launch-install"
BEGIN, END = "<!-- launch-badges:begin -->", "<!-- launch-badges:end -->"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


def install_source() -> str:
    return (
        "# Colab or a fresh Jupyter: install the course when it is missing"
        " (does nothing where it is installed).\n"
        "import importlib.util\n"
        "\n"
        'if importlib.util.find_spec("course") is None:\n'
        '    print("Installing the course from its repository (about a minute)...")\n'
        f'    %pip install --quiet "{config.install_spec()}"'
    )


def install_cell() -> dict:
    source = install_source()
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": CELL_ID,
        "metadata": {"tags": [TAG]},
        "outputs": [],
        "source": source.splitlines(keepends=True),
    }


def with_install_cell(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if TAG not in c.get("metadata", {}).get("tags", [])]
    nb = dict(nb, cells=[install_cell(), *cells])
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def lessons() -> list[pathlib.Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def title(path: pathlib.Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            first = "".join(cell["source"]).splitlines()[0].lstrip("# ").strip()
            return first.split("·", 1)[-1].split(":")[0].strip()
    return path.stem


def badges() -> str:
    rows = [
        BEGIN,
        "| # | lesson | read | run in Colab | run in Binder |",
        "|---|---|---|---|---|",
    ]
    site = config.site_url()
    for path in lessons():
        rel = f"notebooks/{path.name}"
        rows.append(
            f"| {path.name[:2]} | [{title(path)}]({rel}) | [page]({site}notebooks/{path.stem}.html) "
            f"| [![Open in Colab]({COLAB_BADGE})]({config.colab_url(rel)}) "
            f"| [![Launch Binder]({BINDER_BADGE})]({config.binder_url(rel)}) |"
        )
    rows.append(END)
    return "\n".join(rows)


def readme_with_badges(text: str) -> str:
    if BEGIN not in text or END not in text:
        raise ValueError(f"README.md has no {BEGIN} … {END} block")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return head + badges() + tail


def expected() -> dict[pathlib.Path, str]:
    out = {}
    for path in lessons():
        out[path] = dumps(with_install_cell(json.loads(path.read_text(encoding="utf-8"))))
    readme = ROOT / "README.md"
    out[readme] = readme_with_badges(readme.read_text(encoding="utf-8"))
    return out


def stale() -> list[str]:
    return [str(p.relative_to(ROOT)) for p, text in expected().items()
            if p.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        old = stale()
        if old:
            print("out of date with [project.urls] Repository (run python book/launch.py):", *old, sep="\n  ")
            return 1
        return 0
    for path, text in expected().items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print("wrote", path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
