"""Read a submitted notebook as plain JSON and decide which of its code runs.

Nothing here executes the student's code: this module reads the file
(``json``, not ``nbformat``, which costs a second to import), parses each
code cell with :mod:`ast`, and builds a :class:`Plan`:

* the statements to run: the notebook's first code cell (its imports) and,
  for each function the assignment asks for, the statements that define it
  plus, transitively, the module-level statements defining the names it uses
  (helpers, constants, imports), in notebook order. Calls such as
  ``check(huber_loss)``, plots and prints are expression statements and never
  run, so reordered, renamed or deleted cells do not matter;
* for each exercise, whether its function exists, whether its cell has a
  syntax error, and whether it reaches for the reference (``course``,
  ``torch``) or for dynamic code (``exec``, ``open``...): that earns zero as
  "forbidden" before anything runs. The sandbox enforces the same at run
  time (there is no ``course`` or ``torch`` to import in it).
"""

from __future__ import annotations

import ast
import builtins
import difflib
import errno
import json
import os
import pathlib
import re
import stat
import threading
from dataclasses import dataclass, field

from .sandbox import FORBIDDEN_MODULES

MAX_BYTES = 20 << 20  # the file (outputs included)
# What planning reads is bounded, so that no notebook can stall the grader: the code of
# all code cells together, one cell, and the module-level statements of the notebook.
# The course's solutions use about 10 KB of code and 100 statements per notebook.
MAX_CODE_BYTES = 1 << 20
MAX_CELL_BYTES = 256 << 10
MAX_STATEMENTS = 5_000
MAX_CELLS = 2_000
DYNAMIC_NAMES = {"exec", "eval", "compile", "__import__", "open", "globals", "vars",
                 "__builtins__", "breakpoint"}
DYNAMIC_MODULES = {"importlib", "runpy", "imp", "builtins", "marshal", "pickle", "zipimport",
                   "ctypes", "code", "codeop"}
DUNDER_ATTRIBUTES = {"__globals__", "__code__", "__subclasses__", "__builtins__", "__import__",
                     "__loader__"}
KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
        ast.Assign, ast.AnnAssign, ast.AugAssign)
COMPOUND = (ast.If, ast.Try, ast.With, ast.For, ast.While)
_BUILTINS = set(dir(builtins))
# CPython 3.11's AST builder keeps its recursion bookkeeping per interpreter, not per thread:
# two threads parsing at once can fail with "AST constructor recursion depth mismatch".
# Parsing holds the GIL anyway, so taking turns costs the grading threads nothing.
_PARSE_LOCK = threading.Lock()


class NotebookError(Exception):
    """A file that cannot be graded at all; ``status`` is "invalid", "unknown" or "version"."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Statement:
    cell: int  # position of its cell in the notebook (0-based)
    index: int  # position within the cell
    node: ast.stmt
    source: str  # the statement's own text
    line: int  # the line of the cell on which ``source`` starts (1-based)
    binds: set[str]
    uses: set[str]


@dataclass
class ExercisePlan:
    name: str
    status: str = "ok"  # ok, missing, syntax, forbidden
    message: str = ""
    defined_by: list[tuple[int, int]] = field(default_factory=list)
    needs: list[tuple[int, int]] = field(default_factory=list)  # every statement it relies on


@dataclass
class Plan:
    statements: list[Statement]
    exercises: dict[str, ExercisePlan]
    cell_errors: dict[int, str]
    first_cell: int | None = None  # the first code cell: it always runs, for every exercise

    def request_cells(self, skip: set[tuple[int, int]] = frozenset()) -> list[dict]:
        """The statements to run, grouped by cell, in notebook order (for the sandbox)."""
        cells: dict[int, list] = {}
        for s in self.statements:
            if (s.cell, s.index) not in skip:
                cells.setdefault(s.cell, []).append([s.index, s.source, s.line])
        return [{"cell": c, "stmts": stmts} for c, stmts in sorted(cells.items())]


# ----------------------------------------------------------------- reading
def read_notebook(path: pathlib.Path) -> dict:
    """The notebook as a dict; NotebookError("invalid", reason) when it is not one."""
    # Never follow a link, never block on a named pipe, read at most MAX_BYTES.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise NotebookError("invalid", "This file is a link, not a notebook: hand in the notebook "
                                "file itself") from error
        raise NotebookError("invalid", f"The file could not be read ({error.strerror})") from error
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise NotebookError("invalid", "This is not a regular file (a named pipe, socket or device): "
                                "hand in the .ipynb file saved by Jupyter")
        if info.st_size > MAX_BYTES:
            raise NotebookError("invalid", f"The file is {info.st_size >> 20} MB; a notebook should be far "
                                "smaller (clear its outputs and save again)")
        try:
            data = handle.read(MAX_BYTES + 1)
        except OSError as error:
            raise NotebookError("invalid", f"The file could not be read ({error.strerror})") from error
    if len(data) > MAX_BYTES:
        raise NotebookError("invalid", "The file grew while it was read; a notebook should be far smaller")
    if not data.strip():
        raise NotebookError("invalid", "The file is empty: save the notebook in Jupyter and submit it again")
    if data.startswith(b"\x89PNG"):
        raise NotebookError("invalid", "This is a PNG image, not a notebook: submit the .ipynb file itself")
    if data.startswith(b"%PDF"):
        raise NotebookError("invalid", "This is a PDF, not a notebook: submit the .ipynb file itself")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise NotebookError("invalid", "This is not a notebook (the file is not text): submit the "
                            ".ipynb file saved by Jupyter") from error
    except (ValueError, RecursionError) as error:
        raise NotebookError("invalid", "This is not a valid notebook (its JSON is broken, e.g. by a "
                            "text editor): re-download it from Jupyter and submit again") from error
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError("invalid", "This JSON file is not a Jupyter notebook (it has no cells)")
    if notebook.get("nbformat") != 4:
        raise NotebookError("invalid", f"Notebook format {notebook.get('nbformat')!r} is not supported; "
                            "open and save it with a current Jupyter (format 4)")
    if len(notebook["cells"]) > MAX_CELLS:
        raise NotebookError("invalid", f"The notebook has {len(notebook['cells'])} cells; the exercise "
                            "needs far fewer (download a fresh copy and move your answers into it)")
    code_bytes = 0
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), (str, list)):
            raise NotebookError("invalid", "The notebook has a malformed cell; re-save it from Jupyter")
        if cell.get("cell_type") == "code":
            code_bytes += len(_cell_source(cell))
    if code_bytes > MAX_CODE_BYTES:
        raise NotebookError("invalid", f"The notebook's code cells hold {code_bytes >> 10} KB of code; "
                            f"the grader reads at most {MAX_CODE_BYTES >> 10} KB (the exercises need a "
                            "few KB)")
    return notebook


def check_version(notebook: dict, stem: str, version: int) -> None:
    """NotebookError unless the notebook was handed out for this assignment and course version."""
    course = (notebook.get("metadata") or {}).get("course")
    if not isinstance(course, dict):
        return  # metadata lost by some editor: grade it anyway
    other = course.get("assignment")
    if other is not None and other != stem:
        raise NotebookError("invalid", f"This notebook was handed out as {other}.ipynb, not {stem}.ipynb: "
                            "submit each exercise notebook under its own name")
    if course.get("version") is not None and course.get("version") != version:
        raise NotebookError("version", f"This notebook is version {course.get('version')} of {stem}, but "
                            f"the course now grades version {version}: download the current exercise "
                            "notebook and move your answers into it")


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source


def _strip_magics(source: str) -> str:
    """IPython magics and shell escapes become blank lines (line numbers are kept); linear time."""
    return "\n".join("" if line.lstrip(" \t").startswith(("%", "!")) else line
                     for line in source.split("\n"))


# ----------------------------------------------------------------- planning
def plan(notebook: dict, names: list[str]) -> Plan:
    """Which statements run, and the static verdict for each exercise function in ``names``."""
    statements: list[Statement] = []
    cell_errors: dict[int, str] = {}
    raw_cells: dict[int, str] = {}
    first_code = None
    for position, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code":
            continue
        source = _cell_source(cell)
        if first_code is None:
            first_code = position
        if len(source) > MAX_CELL_BYTES:
            raw_cells[position] = ""
            cell_errors[position] = (f"the cell holds {len(source) >> 10} KB of code; the grader reads "
                                     f"at most {MAX_CELL_BYTES >> 10} KB per cell")
            continue
        source = _strip_magics(source)
        raw_cells[position] = source
        try:
            with _PARSE_LOCK:
                tree = ast.parse(source)
        except SyntaxError as error:
            cell_errors[position] = f"line {error.lineno}: {error.msg}"
            continue
        except (ValueError, RecursionError, MemoryError) as error:
            cell_errors[position] = f"cannot be parsed ({type(error).__name__})"
            continue
        lines = source.split("\n")
        if len(statements) + len(tree.body) > MAX_STATEMENTS:
            raise NotebookError("invalid", f"The notebook has more than {MAX_STATEMENTS} top-level "
                                "statements; the exercises need a few dozen")
        shared = _sharing_a_line(tree.body)
        for index, node in enumerate(tree.body):
            if isinstance(node, KEEP) or isinstance(node, COMPOUND):
                text, line = _segment(lines, node, index in shared)
                statements.append(Statement(position, index, node, text, line, _binds(node), _uses(node)))
    kept = _closure(statements, set(names))
    kept |= {id(s) for s in statements if s.cell == first_code and isinstance(s.node, KEEP)}
    chosen = [s for s in statements if id(s) in kept]
    exercises = {name: _verdict(name, names, statements, raw_cells, cell_errors) for name in names}
    return Plan(chosen, exercises, cell_errors, first_code)


def _closure(statements: list[Statement], wanted: set[str]) -> set[int]:
    """ids of the statements binding ``wanted`` and, transitively, the names they use."""
    binders: dict[str, list[Statement]] = {}
    for s in statements:
        for name in s.binds:
            binders.setdefault(name, []).append(s)
    kept: set[int] = set()
    todo = list(wanted)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for s in binders.get(name, ()):
            if id(s) not in kept:
                kept.add(id(s))
                todo.extend(s.uses)
    return kept


def _verdict(name: str, names: list[str], statements, raw_cells: dict[int, str],
             cell_errors: dict[int, str]) -> ExercisePlan:
    result = ExercisePlan(name)
    defining = [s for s in statements if name in s.binds]
    if not defining:
        # One line at a time, with no quantifier that can cross a line: linear in the cell.
        pattern = re.compile(rf"[ \t]*(def[ \t]+{re.escape(name)}[ \t]*\(|{re.escape(name)}[ \t]*=)")
        for position, error in cell_errors.items():
            if any(pattern.match(line) for line in raw_cells[position].split("\n")):
                result.status = "syntax"
                result.message = (f"The cell that defines {name} has a syntax error ({error}), "
                                  "so it could not run.")
                return result
        result.status = "missing"
        others = [n for s in statements for n in s.binds
                  if isinstance(s.node, ast.FunctionDef) and n not in names][:1000]
        close = difflib.get_close_matches(name, others, n=1)
        hint = (f" A function named {close[0]} was found: keep the name the exercise asks for."
                if close else " Was its cell deleted, or the function renamed?")
        result.message = f"No function named {name} in the notebook.{hint}"
        return result
    result.defined_by = [(s.cell, s.index) for s in defining]
    reached = _closure(statements, {name})
    result.needs = [(s.cell, s.index) for s in statements if id(s) in reached]
    module_names = {n for s in statements for n in s.binds}
    for s in statements:
        if id(s) in reached:
            problem = _forbidden(s.node, module_names)
            if problem:
                result.status = "forbidden"
                result.message = _forbidden_message(name, problem, s)
                return result
    return result


# --------------------------------------------------------------- AST helpers
def _first_line(node: ast.stmt) -> int:
    return min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])


def _sharing_a_line(body: list[ast.stmt]) -> set[int]:
    """Positions of statements that share a line with a neighbour (``a = 1; b = 2``).

    Statements of a body are in order and do not overlap, so comparing each with the
    next one is enough: linear time, however many statements a cell holds.
    """
    shared = set()
    for k in range(len(body) - 1):
        if (body[k].end_lineno or body[k].lineno) >= _first_line(body[k + 1]):
            shared |= {k, k + 1}
    return shared


def _segment(lines: list[str], node: ast.stmt, shares_a_line: bool) -> tuple[str, int]:
    """The statement's own source and the cell line it starts on (the sandbox keeps numbering)."""
    first = _first_line(node)
    last = node.end_lineno or node.lineno
    if node.col_offset == 0 and not shares_a_line:
        return "\n".join(lines[first - 1:last]) + "\n", first
    return ast.unparse(node) + "\n", node.lineno


def _binds(node: ast.stmt) -> set[str]:
    """Names a module-level statement binds (not looking inside function or class bodies)."""
    names: set[str] = set()
    stack: list[ast.AST] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(item.name)
            continue
        if isinstance(item, ast.Lambda):
            continue
        if isinstance(item, (ast.Import, ast.ImportFrom)):
            for alias in item.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
            continue
        if isinstance(item, ast.Name) and isinstance(item.ctx, ast.Store):
            names.add(item.id)
        stack.extend(ast.iter_child_nodes(item))
    return names


def _uses(node: ast.AST) -> set[str]:
    """Global names a statement reads: free names of its functions, all names elsewhere."""
    return _free(node, set()) - _BUILTINS


def _free(node: ast.AST, bound_outside: set[str]) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        outer = set()
        args = node.args
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            outer |= _free(default, bound_outside)
        for decorator in getattr(node, "decorator_list", []):
            outer |= _free(decorator, bound_outside)
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        body = node.body if isinstance(node.body, list) else [node.body]
        local = params | _locals(body)
        inner = set()
        for item in body:
            inner |= _free(item, local)
        return outer | (inner - local) | _declared_global(body)
    if isinstance(node, ast.ClassDef):
        found = set()
        for item in node.bases + node.keywords + node.decorator_list + node.body:
            found |= _free(item, bound_outside)
        return found
    if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
        targets = set()
        for generator in node.generators:
            targets |= {n.id for n in ast.walk(generator.target) if isinstance(n, ast.Name)}
        found = set()
        for child in ast.iter_child_nodes(node):
            found |= _free(child, bound_outside | targets)
        return found - targets
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    found = set()
    for child in ast.iter_child_nodes(node):
        found |= _free(child, bound_outside)
    return found


def _locals(body: list[ast.stmt]) -> set[str]:
    """Names assigned in a function body (its locals), not looking into nested scopes."""
    names: set[str] = set()
    stack: list[ast.AST] = list(body)
    declared = _declared_global(body)
    while stack:
        item = stack.pop()
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(item.name)
            stack.extend(getattr(item, "decorator_list", []))
            continue
        if isinstance(item, (ast.Lambda, ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            continue
        if isinstance(item, (ast.Import, ast.ImportFrom)):
            names |= {a.asname or a.name.split(".")[0] for a in item.names if a.name != "*"}
        elif isinstance(item, ast.Name) and isinstance(item.ctx, (ast.Store, ast.Del)):
            names.add(item.id)
        elif isinstance(item, ast.ExceptHandler) and item.name:
            names.add(item.name)
        stack.extend(ast.iter_child_nodes(item))
    return names - declared


def _declared_global(body: list[ast.stmt]) -> set[str]:
    return {name for item in body for node in ast.walk(item) if isinstance(node, ast.Global)
            for name in node.names}


def _forbidden(node: ast.AST, module_names: set[str]):
    """(kind, what, line) when a statement reaches for the reference or for dynamic code."""
    dynamic = (_free(node, set()) & DYNAMIC_NAMES) - module_names
    for item in ast.walk(node):
        modules = []
        if isinstance(item, ast.Import):
            modules = [a.name for a in item.names]
        elif isinstance(item, ast.ImportFrom) and not item.level and item.module:
            modules = [item.module]
        for module in modules:
            top = module.split(".")[0]
            if top in FORBIDDEN_MODULES:
                return ("reference", module, item.lineno)
            if top in DYNAMIC_MODULES:
                return ("dynamic", module, item.lineno)
        if isinstance(item, ast.Name) and item.id in dynamic:
            return ("dynamic", item.id, item.lineno)
        if isinstance(item, ast.Attribute) and item.attr in DUNDER_ATTRIBUTES:
            return ("dynamic", item.attr, item.lineno)
    # (Words in strings and comments are never held against an answer: what the code actually
    # does while it runs is checked by the sandbox's guard, see runner.py.)
    return None


def _forbidden_message(name: str, problem, statement: Statement) -> str:
    kind, what, line = problem
    where = f"cell {statement.cell + 1}, line {line}"
    if kind == "reference":
        return (f"{name} uses {what} ({where}): the answer must compute the result with NumPy, "
                "not call the course's or PyTorch's implementation. Zero for this exercise.")
    if kind == "notebook":
        return (f"{name} refers to another notebook or the solutions ({what!r}, {where}). "
                "Zero for this exercise.")
    return (f"{name} uses {what} ({where}): graded answers may not read files, run code from "
            "strings or reach into the interpreter. Zero for this exercise.")
