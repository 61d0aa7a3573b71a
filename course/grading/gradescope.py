"""Grading on Gradescope: the autograder package, and the script that runs inside it.

``course-grade package gradescope --out autograder.zip [--secret FILE]`` writes the zip
that Gradescope's "Programming assignment" autograder takes:

* ``setup.sh``: installs the pinned requirements (NumPy and the few libraries the
  checks import; no PyTorch) and makes the course's files readable by root only;
* ``run_autograder``: grades the one submission in Gradescope's layout with
  ``python3 -m course.grading.gradescope``;
* ``requirements.txt``: exact versions, from the course's ``constraints.txt``;
* ``course/``: the course package (its references and checks), and ``secret``: the
  assignment's secret, so a regrade, or a run on a laptop, gives each student the
  same hidden cases.

Inside the container (``/autograder``, or ``$AUTOGRADER_ROOT`` for tests) the student's
files are in ``submission/``, and ``results/results.json`` receives one test per
exercise for its public checks (visible at once) and one for its hidden checks, whose
details are shown only after the grades are published. Gradescope's containers do not
allow namespaces: the sandbox falls back to its resource limits, an unprivileged user,
root-only course files and a fresh working directory (see docs/instructors.md).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import stat
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = pathlib.Path(__file__).resolve().parents[1]
REQUIREMENTS = ("numpy", "threadpoolctl", "scikit-learn", "scipy", "joblib")

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when it builds the autograder image.
set -euo pipefail
cd /autograder/source
python3 -m pip install --no-cache-dir -r requirements.txt
# The course (references, checks) and the secret: readable by root only. Student code runs
# under another user when the sandbox cannot use namespaces.
chown -R root:root /autograder/source
chmod -R go-rwx /autograder/source
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; AUTOGRADER_ROOT overrides /autograder (tests).
set -euo pipefail
root="${AUTOGRADER_ROOT:-/autograder}"
cd "$root/source"
PYTHONPATH="$root/source" exec "${PYTHON:-python3}" -m course.grading.gradescope
"""


def package_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="course-grade package",
                                     description="Write an autograder package.")
    parser.add_argument("kind", choices=["gradescope"])
    parser.add_argument("--out", required=True, type=pathlib.Path, help="the zip to write")
    parser.add_argument("--secret", type=pathlib.Path, metavar="FILE",
                        help="the assignment's secret (default: course-grade.secret next to --out; "
                             "created if missing)")
    args = parser.parse_args(argv)
    from . import shards

    try:
        secret = shards.load_or_create_secret(args.secret or args.out.parent / shards.DEFAULT_SECRET_NAME)
    except shards.ShardError as error:
        print(f"course-grade package: error: {error}", file=sys.stderr)
        return 2
    names = write_package(args.out, secret)
    print(f"Wrote {args.out} ({len(names)} files); upload it as the assignment's autograder")
    return 0


def requirements() -> str:
    """The exact versions the checks need, from constraints.txt (or what is installed)."""
    pins = {}
    constraints = ROOT / "constraints.txt"
    if constraints.exists():
        for line in constraints.read_text().splitlines():
            match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", line.strip())
            if match:
                pins[match.group(1).lower()] = match.group(2)
    lines = []
    for name in REQUIREMENTS:
        version = pins.get(name)
        if version is None:
            from importlib import metadata

            try:
                version = metadata.version(name)
            except metadata.PackageNotFoundError:
                continue
        lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def write_package(out: pathlib.Path, secret: bytes) -> list[str]:
    out.parent.mkdir(parents=True, exist_ok=True)
    names = []

    def add(zf, name, data, mode=0o644):
        info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
        info.external_attr = (stat.S_IFREG | mode) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        zf.writestr(info, data)
        names.append(name)

    with zipfile.ZipFile(out, "w") as zf:
        add(zf, "setup.sh", SETUP, 0o755)
        add(zf, "run_autograder", RUN, 0o755)
        add(zf, "requirements.txt", requirements())
        add(zf, "secret", secret + b"\n", 0o600)
        for path in sorted(PACKAGE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".json",
                                                                                       ".txt", ".md"):
                add(zf, "course/" + path.relative_to(PACKAGE).as_posix(), path.read_bytes())
    return names


# --------------------------------------------------------- inside the container
def _student_name(root: pathlib.Path) -> str:
    try:
        meta = json.loads((root / "submission_metadata.json").read_text())
        user = (meta.get("users") or [{}])[0]
        return str(user.get("email") or user.get("name") or "student")
    except (OSError, ValueError, AttributeError, IndexError):
        return "student"


def results(reports) -> dict:
    """results.json: per exercise a visible test (public checks), one after publication (hidden)."""
    tests, score = [], 0.0
    for report in sorted(reports, key=lambda r: r.submission.notebook):
        for item in report.exercises:
            row = item.row
            score += row.score
            name = f"{report.submission.notebook}: {row.exercise or 'notebook'}"
            groups = item.result.groups if item.result is not None else []
            public = [g for g in groups if not g.group.hidden]
            hidden = [g for g in groups if g.group.hidden]
            public_points = sum(g.points for g in public)
            if not groups:  # not run: the whole row is one visible test
                tests.append(_test(name, row.score, row.max_score, row.message, "visible"))
                continue
            lines = [row.message] + [_line(g) for g in public]
            tests.append(_test(name, public_points, sum(g.group.points for g in public),
                               "\n".join(lines), "visible"))
            if hidden:
                tests.append(_test(f"{name} (hidden checks)", sum(g.points for g in hidden),
                                   sum(g.group.points for g in hidden),
                                   "\n".join(_line(g) for g in hidden), "after_published"))
    return {"score": round(score, 6), "tests": tests, "visibility": "visible",
            "stdout_visibility": "hidden", "test_output_format": "text", "test_name_format": "text"}


def _test(name, score, max_score, output, visibility) -> dict:
    return {"name": name, "score": round(score, 6), "max_score": round(max_score, 6),
            "status": "passed" if score >= max_score else "failed", "output": output,
            "output_format": "text", "visibility": visibility}


def _line(group) -> str:
    name = f"hidden check: {group.group.probes or 'new inputs'}" if group.group.hidden else group.group.name
    verdict = "passed" if group.ok else f"failed ({group.first_failure})"
    return f"{verdict}: {name}"


def main() -> int:
    from course.assignments import assignments

    from . import cli, shards
    from .grade import grade
    from .sandbox import Limits, Sandbox, SandboxUnavailable

    root = pathlib.Path(os.environ.get("AUTOGRADER_ROOT", "/autograder"))
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    student = _student_name(root)
    secret = shards.load_or_create_secret(root / "source" / "secret")
    found = cli.discover([str(root / "submission")])
    known = assignments()
    for submission in found.submissions:
        submission.student = student
    kept, copies = cli.choose_copies(found.submissions, known)
    reports = list(copies) + cli.refused_reports(found, kept, known)
    if not kept and not found.refused:
        out.write_text(json.dumps({"score": 0, "output": "No notebook (.ipynb) was found in the "
                                   "submission: upload the exercise notebook you worked in.",
                                   "tests": []}, indent=1))
        return 0
    memory = int(os.environ.get("COURSE_GRADE_MEMORY_MB", "512"))  # Gradescope's default is 768 MB
    sandbox = Sandbox(Limits(timeout=5.0, memory_mb=memory, notebook_seconds=120.0))
    try:
        sandbox.probe()
        reports += [grade(s, known, sandbox, secret) for s in kept]
    except SandboxUnavailable as error:
        out.write_text(json.dumps({"score": 0, "output": f"The autograder could not start its sandbox "
                                   f"({error}); please tell the instructor.", "tests": []}, indent=1))
        return 0
    finally:
        sandbox.close()
    out.write_text(json.dumps(results(reports), indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
