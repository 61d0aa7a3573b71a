"""Written answers: the prose a learner writes in the markdown cells tagged ``written``.

Nothing here runs code or scores anything: the grader only reads the answers, so that
``course-grade --review DIR`` can show them to teaching assistants (see :mod:`.manual`), and
gives each question a ``manual`` gradebook row until ``course-grade merge-manual`` fills it in.
"""

from __future__ import annotations

from course.assignments.spec import Assignment

TAG = "written"
STUB = "YOUR ANSWER HERE"  # what make_exercises leaves in an answer cell
AWAITING = "awaiting a teaching assistant's score"
MAX_ANSWER = 20_000  # characters of one answer that reach the review file


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def question_of(cell: dict) -> str | None:
    """The question id a cell answers: a markdown cell tagged ``written`` naming its question."""
    if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
        return None
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return None
    tags = metadata.get("tags")
    course = metadata.get("course")
    if not isinstance(tags, list) or TAG not in tags or not isinstance(course, dict):
        return None
    qid = course.get("question")
    return qid if isinstance(qid, str) else None


def answers(notebook: dict, assignment: Assignment) -> dict[str, str]:
    """Each written question's answer ("" when the cell is missing or still holds the stub).

    A student who duplicated an answer cell is read from the first one; text beyond
    ``MAX_ANSWER`` characters is cut (and says so).
    """
    wanted = {q.id for q in assignment.written}
    found: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        qid = question_of(cell)
        if qid in wanted and qid not in found:
            text = _source(cell).replace(STUB, "").strip()
            if len(text) > MAX_ANSWER:
                text = text[:MAX_ANSWER] + " [... cut: the answer is longer than the review shows]"
            found[qid] = text
    return {q.id: found.get(q.id, "") for q in assignment.written}
