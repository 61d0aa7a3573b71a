"""Notebooks in the exact form JupyterLab saves them, so that opening one does not mark it unsaved.

JupyterLab marks a notebook as changed (the dot on its tab) as soon as its
model differs from the file. With an unchanged notebook the one difference is
``metadata.language_info``: the kernel reports its full language info
(``codemirror_mode``, ``file_extension``, ``mimetype``, ``nbconvert_exporter``,
``pygments_lexer``, ``version``) and Lab writes it into the notebook; a file
holding only ``{"name": "python"}`` is "changed" the moment its kernel starts.
When Lab saves, the server writes ``nbformat.writes``: keys sorted, indent 1,
UTF-8 kept, multi-line strings as lists of lines, and a final newline.

The normal form is that file: the kernel's language info (ipykernel's, with
the Python version of the course machines' ``.venv``), the ``python3``
kernelspec, nbformat 4.5 with cell ids, written as the server writes it.

    python -m course.notebook_format           # rewrite notebooks/, solutions/, exercises/
    python -m course.notebook_format --check   # list the files not in normal form
    python -m course.notebook_format PATH...   # only these

``--check`` keeps each file's recorded Python version (a machine with another
Python passes it); rewriting records the running interpreter's.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import platform
import sys

import nbformat

ROOT = pathlib.Path(__file__).resolve().parents[1]
FOLDERS = ("notebooks", "solutions", "exercises")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def language_info(version: str | None = None) -> dict:
    """What an IPython kernel reports as ``language_info`` (and Lab writes into the notebook)."""
    try:
        from ipykernel.ipkernel import IPythonKernel

        info = copy.deepcopy(IPythonKernel.language_info)
    except ImportError:  # the same dict, written out (ipykernel 6 and 7)
        info = {"name": "python", "version": platform.python_version(), "mimetype": "text/x-python",
                "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
                "nbconvert_exporter": "python", "file_extension": ".py"}
    if version is not None:
        info["version"] = version
    return info


def normalize(notebook: dict, version: str | None = None) -> dict:
    """A copy of ``notebook`` with the metadata a running kernel gives it (no other change).

    ``version``: the Python version to record; by default the notebook's own,
    else the running interpreter's.
    """
    nb = nbformat.from_dict(copy.deepcopy(notebook))
    if nb.get("nbformat") != 4:
        raise ValueError(f"expected an nbformat 4 notebook, got nbformat {nb.get('nbformat')}")
    missing = [k for k, cell in enumerate(nb.cells, 1) if "id" not in cell]
    if missing or nb.get("nbformat_minor", 0) < 5:
        raise ValueError(f"cells {missing} have no id (nbformat 4.5 needs one per cell)")
    recorded = nb.metadata.get("language_info", {}).get("version")
    nb.metadata["language_info"] = language_info(version or recorded)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def dumps(notebook: dict) -> str:
    """The file Jupyter's server writes for ``notebook`` (what Lab's Save produces)."""
    return nbformat.writes(nbformat.from_dict(notebook), version=4) + "\n"


def normal_form(text: str, version: str | None = None) -> str:
    return dumps(normalize(nbformat.reads(text, as_version=nbformat.NO_CONVERT), version))


def course_notebooks(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    return sorted(p for folder in FOLDERS for p in (root / folder).glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument("--check", action="store_true", help="only list files not in normal form")
    args = parser.parse_args(argv)
    paths = args.paths or course_notebooks()
    if args.check:
        bad = [p for p in paths if p.read_text(encoding="utf-8") != normal_form(
            p.read_text(encoding="utf-8"))]
        for path in bad:
            print(f"{path} is not in the form JupyterLab saves")
        if bad:
            print("Run `python -m course.notebook_format` and commit the result.")
        return int(bool(bad))
    version = platform.python_version()
    for path in paths:
        text = path.read_text(encoding="utf-8")
        normal = normal_form(text, version)
        if normal != text:
            path.write_text(normal, encoding="utf-8")
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
