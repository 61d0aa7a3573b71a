"""The lesson index and the README list every lesson, and every lesson has its exercise pair."""

import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_lesson_has_an_exercise_pair():
    for name in LESSONS:
        assert (ROOT / "solutions" / name).exists(), f"solutions/{name} is missing"
        assert (ROOT / "exercises" / name).exists(), f"exercises/{name} is missing"


def test_index_notebook_links_every_lesson_and_only_existing_files():
    index = json.loads((ROOT / "notebooks" / "index.ipynb").read_text())
    text = "".join("".join(cell["source"]) for cell in index["cells"])
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", text)
    for link in links:
        assert (ROOT / "notebooks" / link).resolve().exists(), f"index links a missing {link}"
    for name in LESSONS:
        assert name in links, f"index does not link {name}"


def test_readme_lists_every_lesson():
    readme = (ROOT / "README.md").read_text()
    for name in LESSONS:
        assert f"notebooks/{name}" in readme, f"README does not list {name}"
