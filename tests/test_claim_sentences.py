"""A claim's text is a sentence a learner reads, never its condition's code echoed back.

Every ``claim(condition, text)`` in a lesson's ``claims`` cells prints its text
as a ✓ line under the figure, so the text must say in words what the prose
says: ``"in this run (seed 0) plain cross-entropy finds 0.47 of the rare
examples"``, not ``'abs(r["recall_rare"] - 0.47) < 0.005'``. This test reads
the claims cells with :mod:`ast`, takes each call's second argument, and fails
when it

- is the condition's own source (compared after ``ast.unparse``, ignoring
  spaces and the kind of quotes),
- contains code: ``abs(``, ``np.``, an index such as ``["``, ``==``, ``!=``,
  ``.mean()``, ``.sum()``, ``<=``/``>=`` between two names or numbers, or an
  index such as ``lam[0]``,
- or has fewer than three words.
"""

import ast
import json
import pathlib
import re

import pytest

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

CODE_TOKENS = ("abs(", "np.", '["', "['", "==", "!=", ".mean()", ".sum()")
COMPARISON_OF_NAMES = re.compile(r"[\w)\]]\s*[<>]=\s*[\w(]")
INDEXING = re.compile(r"[A-Za-z_]\w*\[[\w\"'-]")


def _normalised(code: str) -> str:
    return re.sub(r"\s+", "", code).replace("'", '"')


def _text_of(node):
    """The literal text of a claim: a string, or an f-string's literal parts (None otherwise)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return None


def problems_with(text, condition_source: str) -> list[str]:
    """Why ``text`` is not a sentence for the claim whose condition is ``condition_source`` ([] if it is)."""
    if text is None:
        return ["the text is not a string literal"]
    found = []
    if _normalised(text) == _normalised(condition_source):
        found.append("it repeats the condition's code")
    tokens = [token for token in CODE_TOKENS if token in text]
    if tokens:
        found.append(f"it contains code ({', '.join(tokens)})")
    if COMPARISON_OF_NAMES.search(text):
        found.append("it compares names with <= or >=")
    if INDEXING.search(text):
        found.append("it indexes a variable")
    if len(re.findall(r"[^\W\d_]+", text)) < 3:
        found.append("it has fewer than three words")
    return found


def claims_in(path):
    """(cell id, line, condition source, text node) for every claim(...) call in a claims cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if "claims" not in cell.get("metadata", {}).get("tags", []):
            continue
        source = "".join(cell["source"])
        lines = source.split("\n")
        source = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)
        for node in ast.walk(ast.parse(source)):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name != "claim":
                continue
            arguments = list(node.args) + [k.value for k in node.keywords]
            if len(arguments) < 2:
                yield cell.get("id"), node.lineno, ast.unparse(node), None
                continue
            yield cell.get("id"), node.lineno, ast.unparse(arguments[0]), arguments[1]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_claim_text_is_a_sentence(path):
    found = list(claims_in(path))
    assert found, f"{path.name}: no claim(...) calls in its claims cells"
    bad = []
    for cell_id, line, condition, text_node in found:
        text = _text_of(text_node) if text_node is not None else None
        reasons = problems_with(text, condition)
        if reasons:
            bad.append(f"  cell {cell_id}, line {line}: {text!r}: {'; '.join(reasons)}")
    assert not bad, f"{path.name}: claim texts that are not sentences:\n" + "\n".join(bad)


# The checker itself, on texts whose verdict is known.
@pytest.mark.parametrize("text, condition", [
    ('abs(r["recall_rare"] - 0.47) < 0.005', 'abs(r["recall_rare"] - 0.47) < 0.005'),
    ("abs(r['recall_rare'] - 0.47)<0.005", 'abs(r["recall_rare"] - 0.47) < 0.005'),
    ("np.all(recall_gain > 0.4)", "np.all(recall_gain > 0.4)"),
    ("ratio of the share == 0.5 at the fit", "share == 0.5"),
    ("the loss is gap.mean() below the bound", "gap.mean() < 1"),
    ("we need best_t >= T_fit here", "best_t >= T_fit"),
    ("false alarms", "n == 51"),
    ("every seed", "np.all(x)"),
    ("the first weight lam[0] stays below 0.70", "lam[0] < 0.70"),
    (None, "x > 1"),
])
def test_the_checker_rejects_code_and_fragments(text, condition):
    assert problems_with(text, condition)


@pytest.mark.parametrize("text", [
    "in this run (seed 0) plain cross-entropy finds 0.47 of the rare examples",
    "at s = 5 the cross-entropy's slope is never flat (|slope| < 1e-3 nowhere on the grid)",
    "cross-entropy with label_smoothing=ε is cross-entropy against the smoothed target rows",
    "in all 8 seeds (1–8) inverse-frequency weighting adds more than 0.4 to the recall at p = 0.5",
])
def test_the_checker_accepts_sentences(text):
    assert problems_with(text, "x > 1") == []
