"""Per-student feedback: a Markdown report, and Gradescope's ``results.json``.

Public checks show the failing case and expected vs got (the judge's
message); hidden checks are described by what they probe ("float32
inputs"), never by their inputs or expected values.

Students control much of what a report shows: their exception messages, file
and folder names. All text goes into the Markdown through :func:`inert`, so
none of it renders as Markdown or HTML (no headings, links, images, tables,
fake totals); only the report's own structure does. Gradescope is told that
every output is plain text. Each student gets a file name of their own
(:func:`file_names`), even when two names differ only in case or punctuation.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re
import string
import unicodedata

from .grade import Report

MAX_NAME = 120  # bytes of UTF-8, far below the 255 a file name may have (with ".md" and a hash)
_SAFE = re.compile(r"[\w@+-][\w.@+-]*")  # names that are kept as they are
_PUNCTUATION = frozenset(string.punctuation)
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PLAIN = frozenset(",;?'\"/%()=!+")  # never Markdown inside a line
_LIST_START = re.compile(r"\d{1,9}[.)]")


def safe_name(student: str) -> str:
    """A file name for a student: the name itself when it is safe, else a cleaned name plus a
    short hash of the raw name (folder names can hold anything)."""
    if _is_safe(student):
        return student
    return f"{_cleaned(student)}-{_digest(student, 8)}"


def _is_safe(student: str) -> bool:
    return (bool(_SAFE.fullmatch(student)) and unicodedata.normalize("NFC", student) == student
            and len(student.encode("utf-8", "surrogateescape")) <= MAX_NAME)


def _cleaned(student: str) -> str:
    text = unicodedata.normalize("NFC", student).encode("utf-8", "replace").decode("utf-8")
    text = re.sub(r"[^\w.@+-]+", "_", text).strip("._-")
    while len(text.encode("utf-8")) > MAX_NAME:
        text = text[:-1]
    return text.rstrip("._-") or "student"


def file_names(students) -> dict[str, str]:
    """A file name per student, distinct even where the file system ignores case.

    A safe name is kept unless another student's name equals it up to case (or
    Unicode normalization); then every such student gets a hash suffix too.
    """
    students = sorted(set(students))
    names = {s: safe_name(s) for s in students}
    for length in (8, 16, 64):
        seen: dict[str, list[str]] = {}
        for student, name in names.items():
            seen.setdefault(_fold(name), []).append(student)
        clashes = [group for group in seen.values() if len(group) > 1]
        if not clashes:
            return names
        for group in clashes:
            for student in group:
                base = student if _is_safe(student) else _cleaned(student)
                names[student] = f"{base}-{_digest(student, length)}"
    raise AssertionError(f"no distinct file names for {students}")  # a SHA-256 collision


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:length]


def _fold(name: str) -> str:
    return unicodedata.normalize("NFKC", name).casefold()


def inert(text) -> str:
    """``text`` as Markdown that renders as exactly this text and nothing else, on one line.

    Whitespace (newlines included) is collapsed, control and formatting characters are
    dropped, ``& < >`` become entities and every other ASCII punctuation character that
    could start Markdown is escaped with a backslash. Characters that are inert inside a
    line stay readable: ``, ; ? ' " / % ( ) = ! +``, a ``.`` between digits or before a space, a
    ``-``, and a ``:`` before a space (so numbers and messages like "expected 3.5, got -1" read
    as they are).
    """
    text = str(text).encode("utf-8", "backslashreplace").decode("utf-8")  # lone surrogates
    text = " ".join(text.split())
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Co", "Cs"))
    lead = _LIST_START.match(text)
    ordered = lead.end() - 1 if lead else -1
    out = []
    for i, char in enumerate(text):
        if char in _ENTITIES:
            out.append(_ENTITIES[char])
        elif char in _PUNCTUATION and (i == 0 or i == ordered or not _readable(text, i)):
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _readable(text: str, i: int) -> bool:
    """Whether the punctuation character ``text[i]`` (not the first) renders as itself."""
    char = text[i]
    before = text[i - 1]
    after = text[i + 1] if i + 1 < len(text) else " "
    if char in _PLAIN:
        return True
    if char == ".":
        return after == " " or (before.isdigit() and after.isdigit())
    if char == "-":
        return True  # a list or a rule needs it at the start of the line
    if char == ":":
        return after == " "
    if char == "_":
        return before.isalnum() and after.isalnum()
    return False


def _code(text) -> str:
    """``text`` as an inline code span that nothing inside can close."""
    text = " ".join(str(text).split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}"


def _total(reports: list[Report]) -> tuple[float, float]:
    rows = [row for report in reports for row in report.rows]
    return sum(r.score for r in rows), sum(r.max_score for r in rows)


def _symbol(ok: bool) -> str:
    return "✅" if ok else "❌"


def markdown(student: str, reports: list[Report]) -> str:
    """One student's feedback, all notebooks (everything they control shown inertly)."""
    score, total = _total(reports)
    lines = [f"# Feedback for {inert(student)}", "", f"**Total: {score:g} / {total:g} points.**", ""]
    for report in sorted(reports, key=lambda r: r.submission.notebook):
        title = report.assignment.title if report.assignment else "not a course notebook"
        got = sum(r.score for r in report.rows)
        out_of = sum(r.max_score for r in report.rows)
        notebook = report.submission.notebook or "(no notebook)"
        lines += [f"## {inert(notebook)}: {inert(title)} ({got:g} / {out_of:g})", ""]
        for item in report.exercises:
            row = item.row
            heading = row.exercise or "notebook"
            lines += [f"### {inert(heading)}: {row.score:g} / {row.max_score:g} points "
                      f"({inert(row.status)})", "", inert(row.message), ""]
            if item.result is None or not item.result.groups:
                continue
            lines += ["| check | result |", "|---|---|"]
            for group in item.result.groups:
                name = (f"hidden check: {group.group.probes or 'new inputs'}" if group.group.hidden
                        else group.group.name)
                verdict = (f"{_symbol(group.ok)} {group.points:g} / {group.group.points:g}"
                           + ("" if group.ok else f": {inert(group.first_failure)}"))
                lines.append(f"| {inert(name)} | {verdict} |")
            lines.append("")
            public = [g for g in item.result.groups if not g.ok and not g.group.hidden]
            if public:
                first = public[0]
                lines += [f"First failing public case ({inert(first.group.name)}): "
                          f"{_code(first.failing_case)}", "", f"> {inert(first.first_failure)}", ""]
    lines.append("Hidden checks run on inputs you have not seen; they are described by what they "
                 "probe, never by their values.")
    return "\n".join(lines) + "\n"


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
            test = {
                "name": f"{report.submission.notebook}: {row.exercise or 'notebook'}",
                "score": row.score, "max_score": row.max_score,
                "status": "passed" if row.status == "passed" else "failed",
                "output": "\n".join(output), "output_format": "text", "visibility": "visible",
            }
            tests.append(_written_test(test, row))
    score, _ = _total(reports)
    # Plain text everywhere: a student's message must not render as Markdown or HTML.
    return {"score": score, "tests": tests, "visibility": "visible", "stdout_visibility": "hidden",
            "output_format": "text", "test_output_format": "text", "test_name_format": "text"}


PENDING = "To be graded by a teaching assistant"


def _written_test(test: dict, row) -> dict:
    """A written question's entry: pending (no status, score 0, its points as max) until scored.

    Gradescope's results.json knows only the statuses passed and failed; a question no one has
    scored yet is neither, so its entry has no status, says it is pending, and is tagged.
    """
    if row.status == "manual":
        test.pop("status")
        test.update(output=f"{PENDING}.", tags=["written", "pending"], extra_data={"pending": True})
    elif row.status == "graded":
        test.update(status="passed" if row.score >= row.max_score else "failed", tags=["written"])
    return test


def write_all(by_student: dict[str, list[Report]], markdown_dir: pathlib.Path | None,
              gradescope_dir: pathlib.Path | None) -> None:
    names = file_names(by_student)
    for student, reports in by_student.items():
        name = names[student]
        if markdown_dir is not None:
            markdown_dir.mkdir(parents=True, exist_ok=True)
            (markdown_dir / f"{name}.md").write_text(markdown(student, reports), encoding="utf-8")
        if gradescope_dir is not None:
            folder = gradescope_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "results.json").write_text(json.dumps(gradescope(reports), indent=1),
                                                 encoding="utf-8")
