"""Generate ``exercises/`` from ``solutions/``: one source of truth.

In a solution notebook, every answer sits between two marker lines::

    def huber_loss(input, target, reduction="mean", delta=1.0):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

The exercise notebook gets, at the marker's indentation::

        # YOUR CODE HERE
        raise NotImplementedError()

A written answer (a markdown cell tagged ``written``) holds its model answer between the
same markers; the exercise gets the line ``YOUR ANSWER HERE`` instead.

Outputs and execution counts are cleared, and the notebook's metadata
records which assignment and version it belongs to, so the grader can tell
a notebook from another course version.

Usage::

    python -m course.make_exercises            # rewrite exercises/
    python -m course.make_exercises --check    # exit 1 if exercises/ is stale
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from course import notebook_format
from course.assignments.spec import exercise_file

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
ANSWER_STUB = ("YOUR ANSWER HERE",)
ROOT = pathlib.Path(__file__).resolve().parent.parent


def strip_solution(source: str, stub: tuple[str, ...] = STUB) -> str:
    """Replace each marked region of a cell's source with the stub."""
    out, inside = [], False
    for line in source.splitlines(keepends=True):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise ValueError("nested '### BEGIN SOLUTION'")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(f"{indent}{line}\n" for line in stub)
        elif stripped == END:
            if not inside:
                raise ValueError("'### END SOLUTION' without a BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("'### BEGIN SOLUTION' without an END")
    text = "".join(out)
    return text[:-1] if text.endswith("\n") and not source.endswith("\n") else text


def make_exercise(notebook: dict, assignment: str, version: int) -> dict:
    """The exercise version of a solution notebook (a new dict; the input is untouched)."""
    result = json.loads(json.dumps(notebook))
    for cell in result["cells"]:
        source = "".join(cell.get("source", []))
        if cell["cell_type"] == "code":
            cell["source"] = _lines(strip_solution(source))
            cell["outputs"] = []
            cell["execution_count"] = None
        elif BEGIN in source:
            cell["source"] = _lines(strip_solution(source, ANSWER_STUB))
    result["metadata"]["course"] = {"assignment": assignment, "version": version}
    return result


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def dumps(notebook: dict) -> str:
    """Notebook JSON exactly as JupyterLab saves it (see :mod:`course.notebook_format`)."""
    return notebook_format.dumps(notebook_format.normalize(notebook))


def _version(stem: str) -> int:
    from course.assignments import get

    return get(stem).version


def build(root: pathlib.Path = ROOT) -> dict[pathlib.Path, str]:
    """Map each exercise path to the text it should have."""
    expected = {}
    for path in sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        text = dumps(make_exercise(notebook, path.stem, _version(path.stem)))
        expected[root / "exercises" / exercise_file(path.stem)] = text
    return expected


def stale(root: pathlib.Path = ROOT) -> list[str]:
    """Exercise files that are missing, out of date, or have no solution."""
    expected = build(root)
    problems = [
        f"{p.relative_to(root)} is out of date" if p.exists() else f"{p.relative_to(root)} is missing"
        for p, text in expected.items()
        if not p.exists() or p.read_text(encoding="utf-8") != text
    ]
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path not in expected:
            problems.append(f"{path.relative_to(root)} has no solution notebook")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale exercises")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        problems = stale(args.root)
        for problem in problems:
            print(problem)
        if problems:
            print("Run `make exercises` (python -m course.make_exercises) and commit the result.")
            return 1
        print(f"exercises/ is in sync with solutions/ ({len(build(args.root))} notebooks)")
        return 0
    for path, text in build(args.root).items():
        path.parent.mkdir(exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(args.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
