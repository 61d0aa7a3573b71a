"""Per-student feedback: a Markdown report, and Gradescope's ``results.json``.

Public checks show the failing case and expected vs got (the judge's
message); hidden checks are described by what they probe ("float32
inputs"), never by their inputs or expected values.
"""

from __future__ import annotations

import json
import pathlib
import re

from .grade import Report


def safe_name(student: str) -> str:
    """A file name for a student (folder names can hold anything)."""
    name = re.sub(r"[^\w.@+-]+", "_", student).strip("._") or "student"
    return name[:120]


def _total(reports: list[Report]) -> tuple[float, float]:
    rows = [row for report in reports for row in report.rows]
    return sum(r.score for r in rows), sum(r.max_score for r in rows)


def _symbol(ok: bool) -> str:
    return "✅" if ok else "❌"


def markdown(student: str, reports: list[Report]) -> str:
    """One student's feedback, all notebooks."""
    score, total = _total(reports)
    lines = [f"# Feedback for {student}", "", f"**Total: {score:g} / {total:g} points.**", ""]
    for report in sorted(reports, key=lambda r: r.submission.notebook):
        title = report.assignment.title if report.assignment else "not a course notebook"
        got = sum(r.score for r in report.rows)
        out_of = sum(r.max_score for r in report.rows)
        lines += [f"## {report.submission.notebook}: {title} ({got:g} / {out_of:g})", ""]
        for item in report.exercises:
            row = item.row
            heading = row.exercise or "notebook"
            lines += [f"### {heading}: {row.score:g} / {row.max_score:g} points ({row.status})", "",
                      row.message, ""]
            if item.result is None or not item.result.groups:
                continue
            lines += ["| check | result |", "|---|---|"]
            for group in item.result.groups:
                name = (f"hidden check: {group.group.probes or 'new inputs'}" if group.group.hidden
                        else group.group.name)
                verdict = (f"{_symbol(group.ok)} {group.points:g} / {group.group.points:g}"
                           + ("" if group.ok else f": {_cell(group.first_failure)}"))
                lines.append(f"| {_cell(name)} | {verdict} |")
            lines.append("")
            public = [g for g in item.result.groups if not g.ok and not g.group.hidden]
            if public:
                first = public[0]
                lines += [f"First failing public case ({first.group.name}): `{first.failing_case}`",
                          "", f"> {first.first_failure}", ""]
    lines.append("Hidden checks run on inputs you have not seen; they are described by what they "
                 "probe, never by their values.")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def gradescope(reports: list[Report]) -> dict:
    """Gradescope's results.json for one student."""
    tests = []
    for report in sorted(reports, key=lambda r: r.submission.notebook):
        for item in report.exercises:
            row = item.row
            output = [row.message]
            if item.result is not None:
                for group in item.result.groups:
                    name = (f"hidden check: {group.group.probes or 'new inputs'}" if group.group.hidden
                            else group.group.name)
                    output.append(f"{'passed' if group.ok else 'failed'}: {name}"
                                  + ("" if group.ok else f" ({group.first_failure})"))
            tests.append({
                "name": f"{report.submission.notebook}: {row.exercise or 'notebook'}",
                "score": row.score, "max_score": row.max_score,
                "status": "passed" if row.status == "passed" else "failed",
                "output": "\n".join(output), "visibility": "visible",
            })
    score, _ = _total(reports)
    return {"score": score, "tests": tests, "visibility": "visible", "stdout_visibility": "hidden"}


def write_all(by_student: dict[str, list[Report]], markdown_dir: pathlib.Path | None,
              gradescope_dir: pathlib.Path | None) -> None:
    for student, reports in by_student.items():
        name = safe_name(student)
        if markdown_dir is not None:
            markdown_dir.mkdir(parents=True, exist_ok=True)
            (markdown_dir / f"{name}.md").write_text(markdown(student, reports), encoding="utf-8")
        if gradescope_dir is not None:
            folder = gradescope_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "results.json").write_text(json.dumps(gradescope(reports), indent=1),
                                                 encoding="utf-8")
