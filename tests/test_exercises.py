"""Exercise pairs: in sync, solutions earn full marks, untouched exercises earn none.

The scoring here runs the solution code in this process (it is ours and
trusted); the sandboxed grader is tested in tests/test_grading*.py.
"""

import ast
import json
import pathlib
import re
import warnings

import numpy as np
import pytest

from course import make_exercises
from course.assignments import assignments, checker, get
from course.assignments.judge import run_in_process
from course.assignments.scoring import score_exercise
from course.assignments.spec import exercise_file

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def defined_functions(path: pathlib.Path) -> dict:
    """Execute a notebook's import cell and every cell that defines a function."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    namespace: dict = {}
    for index, cell in enumerate(cells):
        source = "".join(cell["source"])
        tree = ast.parse(source)
        if index == 0 or any(isinstance(node, ast.FunctionDef) for node in tree.body):
            exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_every_solution_has_an_assignment_and_vice_versa():
    assert [p.stem for p in SOLUTIONS] == list(assignments())


def test_exercises_are_in_sync_with_solutions():
    assert make_exercises.stale() == []


def test_stale_exercise_is_reported(tmp_path):
    for folder in ("solutions", "exercises"):
        (tmp_path / folder).mkdir()
    source = SOLUTIONS[0]
    (tmp_path / "solutions" / source.name).write_text(source.read_text())
    assert make_exercises.stale(tmp_path) == [f"exercises/{exercise_file(source.stem)} is missing"]
    make_exercises.main(["--root", str(tmp_path)])
    assert make_exercises.stale(tmp_path) == []
    notebook = json.loads((tmp_path / "solutions" / source.name).read_text())
    notebook["cells"][0]["source"] = ["# an edited introduction\n"]
    (tmp_path / "solutions" / source.name).write_text(json.dumps(notebook))
    assert make_exercises.stale(tmp_path) == [f"exercises/{exercise_file(source.stem)} is out of date"]


def test_strip_solution_keeps_indentation_and_the_rest_of_the_cell():
    source = ("def f(x):\n    \"\"\"doc\"\"\"\n    ### BEGIN SOLUTION\n    return 2 * x\n"
              "    ### END SOLUTION\n\nprint(f)")
    stripped = make_exercises.strip_solution(source)
    assert stripped == (
        "def f(x):\n    \"\"\"doc\"\"\"\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)"
    )
    with pytest.raises(ValueError, match="without an END"):
        make_exercises.strip_solution("### BEGIN SOLUTION\nx = 1")


def test_exercise_notebooks_hide_every_answer_and_carry_their_assignment():
    for solution in SOLUTIONS:
        exercise = json.loads((ROOT / "exercises" / exercise_file(solution.stem)).read_text())
        text = json.dumps(exercise)
        assert "BEGIN SOLUTION" not in text and "NotImplementedError" in text
        assert exercise["metadata"]["course"]["assignment"] == solution.stem
        assert all(not c.get("outputs") for c in exercise["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_earn_full_marks_including_hidden_cases(path):
    assignment = get(path.stem)
    namespace = defined_functions(path)
    for seed in (1, 2):
        for exercise in assignment.exercises:
            fn = namespace[exercise.name]
            result = score_exercise(assignment, exercise, lambda case: run_in_process(fn, case), seed)
            assert result.score == result.max_score > 0, (exercise.name, result.message)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_untouched_exercises_earn_nothing(path):
    assignment = get(path.stem)
    namespace = defined_functions(ROOT / "exercises" / exercise_file(path.stem))
    for exercise in assignment.exercises:
        fn = namespace[exercise.name]
        result = score_exercise(assignment, exercise, lambda case: run_in_process(fn, case), 1)
        assert result.score == 0, exercise.name
        assert "NotImplementedError" in result.message


def test_self_check_explains_a_sum_instead_of_a_mean(capsys):
    check = checker("01_regression")

    def huber_loss(input, target, reduction="mean", delta=1.0):
        d = np.abs(input - target)
        loss = np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))
        return loss.sum() if reduction != "none" else loss

    report = check(huber_loss)
    assert not report
    assert "a sum where a mean over the 8 elements was expected" in capsys.readouterr().out


def test_self_check_explains_nan_and_float32_promotion(capsys):
    check = checker("01_regression")

    def huber_loss_grad(input, target, reduction="mean", delta=1.0):
        if np.shape(input) != np.shape(target):
            raise ValueError("shapes differ")
        grad = np.clip(np.asarray(input, dtype=np.float64) - target, -delta, delta)
        return grad / grad.size if reduction == "mean" else grad

    assert not check(huber_loss_grad)  # float32 is a public check: the learner sees it
    assert "keep the input's dtype" in capsys.readouterr().out
    from course.assignments.judge import compare_values

    expected = np.ones(3, dtype=np.float32)
    assert "keep the input's dtype" in compare_values(expected, expected.astype(np.float64), 1e-6, 1e-9)
    assert "NaN" in compare_values(np.ones(3), np.array([1.0, np.nan, 1.0]), 1e-6, 1e-9)


def test_check_rejects_a_function_the_notebook_does_not_ask_for():
    with pytest.raises(ValueError, match="huber_loss"):
        checker("01_regression")(print)


def test_an_object_claiming_equality_is_not_a_number():
    from course.assignments.judge import to_data

    class Liar:
        def __eq__(self, other):
            return True

    with pytest.raises(TypeError, match="expected a NumPy array"):
        to_data(Liar())


def _written_cells(path: pathlib.Path) -> dict:
    """question id -> (the cell's text, the markdown cell before it) for every ``written`` cell."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = {}
    for before, cell in zip(cells, cells[1:]):
        if "written" in cell.get("metadata", {}).get("tags", []):
            qid = cell["metadata"].get("course", {}).get("question")
            assert qid not in found, f"{path.name}: question {qid} has two written cells"
            found[qid] = ("".join(cell["source"]), "".join(before["source"]))
    return found


def _words(text: str) -> str:
    return " ".join(text.replace("δ", "delta").split())


@pytest.mark.parametrize("name", [p.stem for p in SOLUTIONS])
def test_written_questions_say_what_the_grader_declares(name):
    """The question, points and rubric in the notebooks are the ones course-grade puts in the
    teaching assistants' review files (``course/assignments/experiments.py``), word for word."""
    declared = {w.id: w for w in get(name).written}
    solution = _written_cells(ROOT / "solutions" / f"{name}.ipynb")
    exercise = _written_cells(ROOT / "exercises" / exercise_file(name))
    assert set(solution) == set(exercise) == set(declared), name
    for qid, spec in declared.items():
        answer, prompt = solution[qid]
        assert _words(spec.question) in _words(prompt), f"{name} {qid}: the prompt differs from the spec"
        assert f"({spec.points:g} points)" in prompt and f"Rubric ({spec.points:g} points)" in answer, qid
        for item in spec.rubric:
            assert _words(item) in _words(answer), f"{name} {qid}: rubric item missing: {item[:60]}"
        assert exercise[qid][0].strip() == "YOUR ANSWER HERE", f"{name} {qid}: the stub leaks an answer"


REFERS_BACK = re.compile(r"as in exercise|same rules", re.IGNORECASE)


def _prose_above_def(path: pathlib.Path, name: str) -> str | None:
    """The markdown cells between the code cell that defines ``name`` and the code cell before it."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "code" and re.search(rf"^def {name}\(", "".join(cell["source"]), re.M):
            text = []
            before = index - 1
            while before >= 0 and cells[before]["cell_type"] == "markdown":
                text.insert(0, "".join(cells[before]["source"]))
                before -= 1
            return "\n".join(text)
    return None


def _raising_groups(exercise) -> list[str]:
    """The case groups (drawn from ``default_rng(0)``) on which the reference raises ValueError."""
    raising = []
    for group in exercise.groups:
        for case in group.make(np.random.default_rng(0)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exercise.reference(*case.args, **case.kwargs)
            except ValueError:
                raising.append(group.name)
                break
            except Exception:  # only ValueError matters here
                pass
    return raising


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_prose_asks_for_valueerror_exactly_when_the_grader_checks_it(path):
    """A learner is told to raise ValueError (or to follow an earlier exercise's rules) for a
    function exactly when some case group makes the reference raise it: no unchecked requirement,
    no checked one left unsaid."""
    wrong = []
    for exercise in get(path.stem).exercises:
        prose = _prose_above_def(path, exercise.name)
        assert prose is not None, f"{path.name}: no cell defines {exercise.name}"
        says = "ValueError" in prose or bool(REFERS_BACK.search(prose))
        raising = _raising_groups(exercise)
        if says != bool(raising):
            wrong.append(f"{exercise.name}: prose asks for ValueError: {says}, raising groups: {raising}")
    assert not wrong, f"{path.name}: " + "; ".join(wrong)
