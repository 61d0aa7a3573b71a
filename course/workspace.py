"""The learner's workspace: copies of the lessons and exercises that `make lab` serves.

Running and saving a notebook writes its outputs into the file. Done on the
repository's own notebooks, that rewrites the course: `git status` shows
every lesson changed and the next `git pull` conflicts. So `make lab` serves
a workspace instead (``workspace/``, ignored by git): the first time, it
copies ``notebooks/``, ``exercises/`` and ``docs/`` there; afterwards it never
overwrites a file, so a learner's work survives updates of the course.

    python -m course.workspace create [DIR]          # what `make lab` runs first
    python -m course.workspace reset NAME [--dir DIR] # `make reset NB=NAME`: one fresh copy

``NAME`` is ``notebooks/01_regression.ipynb``, ``exercises/01_regression_exercise`` (or just
``exercises/01_regression``) or,
when only one folder has it, ``index``. The copy it replaces is kept under
``DIR/.backup/``.

A saved explorer cannot come back by itself: its widgets live in the kernel
that made them, and JupyterLab shows "Error displaying widget: model not
found" where a saved widget was. :func:`pre_save_hook` (the server runs it on
each save, see the Makefile) replaces each saved widget view with a line
saying to run the cell again.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "workspace"
FOLDERS = ("notebooks", "exercises", "docs")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RERUN = "The explorer lives in the kernel that ran this cell: run the cell to bring it back."
# (the same words as course.widgets._base.RERUN, which a viewer without widgets shows)


def _sources(root: pathlib.Path = ROOT):
    for folder in FOLDERS:
        base = root / folder
        for path in sorted(base.rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts \
                    and "__pycache__" not in path.parts:
                yield path.relative_to(root)


def create(workspace: pathlib.Path = DEFAULT, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Copy every course file that the workspace does not have yet; never overwrite one."""
    copied = []
    for relative in _sources(root):
        target = workspace / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / relative, target)
            copied.append(relative)
    return copied


def resolve(name: str, root: pathlib.Path = ROOT) -> pathlib.Path:
    """The course file (relative to ``root``) that ``name`` means; ValueError if none or several."""
    candidate = pathlib.PurePosixPath(name.strip().strip("/"))
    if candidate.suffix != ".ipynb" and not (root / candidate).is_file():
        candidate = candidate.with_name(candidate.name + ".ipynb")
    if len(candidate.parts) > 1:
        matches = [pathlib.Path(candidate)] if (root / candidate).is_file() else []
        if not matches and candidate.parts[0] == "exercises":  # exercises/01_regression: its exercise
            from course.assignments.spec import exercise_file

            exercise = candidate.with_name(exercise_file(candidate.stem))
            matches = [pathlib.Path(exercise)] if (root / exercise).is_file() else []
    else:
        matches = [pathlib.Path(folder) / candidate.name for folder in FOLDERS
                   if (root / folder / candidate.name).is_file()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(f"no course notebook is called {name!r}; try e.g. "
                         "notebooks/01_regression or exercises/01_regression_exercise")
    raise ValueError(f"{name!r} is ambiguous: say which one, "
                     + " or ".join(m.with_suffix("").as_posix() for m in matches))


def reset(name: str, workspace: pathlib.Path = DEFAULT, root: pathlib.Path = ROOT) -> pathlib.Path:
    """Put the course's own copy of one notebook back; the replaced copy goes to ``.backup/``."""
    relative = resolve(name, root)
    target = workspace / relative
    if target.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = workspace / ".backup" / f"{relative.parent.name}-{relative.stem}-{stamp}.ipynb"
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(target, backup)
        print(f"your copy is kept as {backup}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(root / relative, target)
    return target


def forget_widget_views(notebook: dict) -> int:
    """Replace every saved widget view with a note to re-run its cell; returns how many."""
    replaced = 0
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                output["data"] = {"text/markdown": f"*{RERUN}*", "text/plain": RERUN}
                replaced += 1
    return replaced


def pre_save_hook(model: dict, **_kwargs) -> None:
    """Jupyter server hook (``ContentsManager.pre_save_hook``): see :func:`forget_widget_views`."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        forget_widget_views(model["content"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="copy the course into the workspace (never overwrites)")
    make.add_argument("dir", nargs="?", type=pathlib.Path, default=DEFAULT)
    again = commands.add_parser("reset", help="restore one notebook to the course's version")
    again.add_argument("name")
    again.add_argument("--dir", type=pathlib.Path, default=DEFAULT)
    args = parser.parse_args(argv)
    if args.command == "create":
        fresh = not (args.dir / "notebooks").exists()
        copied = create(args.dir)
        if fresh:
            print(f"Created your workspace {args.dir}: copies of the lessons and exercises to run "
                  "and save; the course's own files stay untouched.")
        elif copied:
            print(f"Added {len(copied)} new course file(s) to {args.dir}; your copies are unchanged.")
        else:
            print(f"Your workspace: {args.dir} (`make reset NB=notebooks/01_regression` restores one "
                  "notebook).")
        return 0
    try:
        target = reset(args.name, args.dir)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"restored {target} from the course")
    return 0


if __name__ == "__main__":
    sys.exit(main())
