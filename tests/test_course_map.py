"""The lesson index and the README list every lesson, and every lesson has its exercise pair."""

import json
import pathlib
import re

from course.assignments.spec import exercise_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_lesson_has_an_exercise_pair():
    for name in LESSONS:
        assert (ROOT / "solutions" / name).exists(), f"solutions/{name} is missing"
        exercise = exercise_file(name.removesuffix(".ipynb"))
        assert (ROOT / "exercises" / exercise).exists(), f"exercises/{exercise} is missing"


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


def _index_text():
    index = json.loads((ROOT / "notebooks" / "index.ipynb").read_text())
    return "".join("".join(cell["source"]) for cell in index["cells"])


ROW = re.compile(r"\| (\d\d) \| \[.*?\]\((\d\d)_.*?\) \| .*? \| (.*?) \| (\d+) \+ (\d+) min \| \[")


def _index_rows():
    """lesson number -> (needs as a list of numbers, lesson minutes, exercise minutes)."""
    rows = {}
    for line in _index_text().split("\n"):
        match = ROW.match(line)
        if match:
            number, linked, needs, lesson, exercise = match.groups()
            assert number == linked, f"row {number} links lesson {linked}"
            rows[number] = ([] if needs == "—" else needs.split(", "), int(lesson), int(exercise))
    return rows


def test_index_gives_every_lesson_its_needs_and_time():
    rows = _index_rows()
    assert sorted(rows) == [name[:2] for name in LESSONS]
    for number, (needs, lesson, exercise) in rows.items():
        assert all(need in rows and need < number for need in needs), f"{number} needs {needs}"
        assert 20 <= lesson <= 120 and 15 <= exercise <= 120, number


def _path(label):
    """The lesson numbers of a suggested path, and the hours it says it takes."""
    line = next(line for line in _index_text().split("\n") if line.startswith(f"- **{label}**"))
    hours = int(re.search(r"about (\d+) hours", line).group(1))
    return re.findall(r"\b(\d\d)\b", line.split(":", 1)[1]), hours


def test_the_core_path_keeps_every_lesson_after_what_it_needs_and_says_its_time():
    rows = _index_rows()
    core, hours = _path("The core")
    for i, number in enumerate(core):
        assert all(need in core[:i] for need in rows[number][0]), f"{number} comes before what it needs"
    minutes = sum(rows[n][1] + rows[n][2] for n in core)
    assert round(minutes / 60) == hours, f"the core takes {minutes / 60:.1f} h, the index says {hours}"


def test_the_practitioners_day_says_its_time():
    rows = _index_rows()
    day, hours = _path("A practitioner's day")
    assert round(sum(rows[n][1] for n in day) / 60) == hours
