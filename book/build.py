"""Build the course's static site: ``make book`` (or ``python book/build.py``).

1. Execute each lesson once into ``build/book/executed/`` (nbclient, a kernel per lesson, two at a
   time) with ``COURSE_STATIC_FIGURES=1``, so each explorer leaves a static figure of its default
   state. A lesson is re-executed only when it, the ``course`` package or ``constraints.txt``
   changed (the key is stored in the executed notebook). ``notebooks/`` is never written.
2. Stage a source tree in ``build/book/src/`` that mirrors the repository (``notebooks/``,
   ``exercises/``, ``docs/``), so the pages' relative links and launch buttons hold: the claims
   cells and the Colab install cell are tagged ``remove-cell``; exercises come from
   ``exercises/`` (never ``solutions/``) and are shown unexecuted.
3. Run Sphinx with MyST-NB and the Sphinx Book Theme (``book/conf.py``) into ``build/book/html/``.

The last line printed is the path of the site's ``index.html``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import config  # noqa: E402
import launch  # noqa: E402

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
DOCS = ["notation.md", "teaching.md", "instructors.md"]
KEY = "loss_course_book"


def source_key(path: pathlib.Path) -> str:
    """What an executed lesson depends on: itself, the course package, the pinned versions."""
    digest = hashlib.sha256(path.read_bytes())
    for dep in sorted((ROOT / "course").rglob("*.py")):
        digest.update(dep.relative_to(ROOT).as_posix().encode())
        digest.update(dep.read_bytes())
    digest.update((ROOT / "constraints.txt").read_bytes())
    return digest.hexdigest()[:20]


def cached(path: pathlib.Path, out: pathlib.Path) -> bool:
    if not out.exists():
        return False
    try:
        meta = json.loads(out.read_text(encoding="utf-8"))["metadata"].get(KEY, {})
    except (ValueError, KeyError):
        return False
    return meta.get("key") == source_key(path)


def execute(path: str, out: str, timeout: int) -> float:
    """Run one lesson in a fresh kernel (in its own folder, as nbval does); returns seconds."""
    import nbformat
    from nbclient import NotebookClient

    start = time.perf_counter()
    os.environ["COURSE_STATIC_FIGURES"] = "1"
    os.environ["COURSE_STRICT_CLAIMS"] = "1"  # a claim that no longer holds fails the build
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(pathlib.Path(path).parent)}})
    client.execute()
    nb.metadata.pop("widgets", None)  # no live widgets in a static site
    nb.metadata[KEY] = {"key": source_key(pathlib.Path(path))}
    tmp = pathlib.Path(out).with_suffix(".tmp")
    nbformat.write(nb, str(tmp))
    tmp.replace(out)
    return time.perf_counter() - start


def execute_lessons(executed: pathlib.Path, jobs: int, timeout: int, force: bool) -> None:
    executed.mkdir(parents=True, exist_ok=True)
    todo = [p for p in LESSONS if force or not cached(p, executed / p.name)]
    print(f"executing {len(todo)} of {len(LESSONS)} lessons ({len(LESSONS) - len(todo)} cached)", flush=True)
    if not todo:
        return
    with concurrent.futures.ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(execute, str(p), str(executed / p.name), timeout): p for p in todo}
        for future in concurrent.futures.as_completed(futures):
            path = futures[future]
            try:
                seconds = future.result()
            except Exception as error:  # noqa: BLE001 - report which lesson, then stop
                for other in futures:
                    other.cancel()
                raise SystemExit(f"book: executing {path.name} failed:\n{error}") from None
            print(f"  executed {path.name} in {seconds:.1f} s", flush=True)


def tag_removed(nb: dict) -> dict:
    """Hide what a reader of the site does not need: claims cells and the Colab install cell."""
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if ("claims" in tags or launch.TAG in tags) and "remove-cell" not in tags:
            tags.append("remove-cell")
    return nb


def exercise_note() -> dict:
    """Exercises carry no install cell (the grader runs their first code cell): say how to run one."""
    text = (
        "```{note}\n"
        "This page shows the exercise without its solutions. To work on it, launch it (the rocket\n"
        "button) in Binder, which has the course installed, or in Colab after running\n"
        f'`%pip install "{config.install_spec()}"` in a new first cell; or use `make lab`.\n'
        "```"
    )
    return {"cell_type": "markdown", "id": "book-exercise-note", "metadata": {}, "source": text}


def index_page() -> str:
    """The landing page: notebooks/index.ipynb's text, links re-rooted, plus the site's navigation."""
    nb = json.loads((ROOT / "notebooks" / "index.ipynb").read_text(encoding="utf-8"))
    text = "\n\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")

    def reroot(match: re.Match) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("#"):
            return match.group(0)
        target = target[3:] if target.startswith("../") else f"notebooks/{target}"
        return f"{match.group(1)}({target})"

    text = re.sub(r"(\[[^\]]*\])\(([^)\s]+)\)", reroot, text)
    text = text.replace("run the cells (**Run ▸ Run All Cells**),\nand move the sliders",
                        "and launch any page (the rocket button: Colab or Binder) to run it\n"
                        "and move the sliders")
    lessons = "\n".join(f"notebooks/{p.stem}" for p in LESSONS)
    exercises = "\n".join(f"exercises/{p.stem}" for p in EXERCISES)
    docs = "\n".join(f"docs/{pathlib.Path(d).stem}" for d in DOCS)
    return (
        f"{text}\n\n"
        "This site shows every lesson executed, with its figures; each explorer appears as a static\n"
        "figure of its default state. Launch a page to run it and move the sliders, or run the whole\n"
        f"course locally with `make lab` ([repository]({config.repository()})).\n\n"
        f"```{{toctree}}\n:hidden:\n:caption: Lessons\n\n{lessons}\n```\n\n"
        f"```{{toctree}}\n:hidden:\n:caption: Exercises\n\n{exercises}\n```\n\n"
        f"```{{toctree}}\n:hidden:\n:caption: Reference\n\n{docs}\n```\n"
    )


def stage(executed: pathlib.Path, src: pathlib.Path) -> None:
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "exercises").mkdir()
    (src / "docs").mkdir()
    (src / "index.md").write_text(index_page(), encoding="utf-8")
    for path in LESSONS:
        nb = tag_removed(json.loads((executed / path.name).read_text(encoding="utf-8")))
        (src / "notebooks" / path.name).write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    for path in EXERCISES:
        nb = json.loads(path.read_text(encoding="utf-8"))
        nb["cells"].insert(1, exercise_note())
        (src / "exercises" / path.name).write_text(json.dumps(tag_removed(nb), ensure_ascii=False),
                                                    encoding="utf-8")
    for name in DOCS:
        shutil.copy2(ROOT / "docs" / name, src / "docs" / name)
    shutil.copytree(ROOT / "docs" / "cluster", src / "docs" / "cluster")


def sphinx(src: pathlib.Path, html: pathlib.Path, quiet: bool) -> None:
    # -W: a broken cross-reference or an unknown output fails the build instead of a page quietly lacking it.
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-c", str(HERE),
           "-d", str(html.parent / "doctrees"), str(src), str(html)]
    if quiet:
        cmd.insert(3, "-q")
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "book"), help="build folder (build/book)")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("BOOK_JOBS", "2")),
                        help="lessons executed at once (2)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds a cell may run (300)")
    parser.add_argument("--force", action="store_true", help="re-execute every lesson")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.out).resolve()
    start = time.perf_counter()
    execute_lessons(out / "executed", args.jobs, args.timeout, args.force)
    executed_at = time.perf_counter()
    stage(out / "executed", out / "src")
    sphinx(out / "src", out / "html", quiet=not args.verbose)
    done = time.perf_counter()
    print(f"book: executed in {executed_at - start:.0f} s, rendered in {done - executed_at:.0f} s",
          flush=True)
    print(out / "html" / "index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
