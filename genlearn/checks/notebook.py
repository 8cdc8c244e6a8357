"""Check the exercises of a whole notebook from outside it (terminal, pytest, grading).

Only the notebook's imports, function and class definitions and UPPER_CASE
constants are executed, so a notebook with unfinished exercises, slow cells or
plots can still be checked in a second or two. ``genlearn.grading.run_notebook``
executes them in a separate process, so a notebook that ends the interpreter,
loops forever or exhausts memory is reported, not obeyed (this module imports
nothing from the grader).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

__all__ = ["code_cells", "check_calls", "notebook_exercises", "load_definitions", "load_notebook"]

_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def code_cells(path: str | Path) -> list[str]:
    """The code cells of a ``.ipynb`` or percent-format ``.py`` notebook, without magics."""
    import jupytext

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no notebook at {path}")
    if path.suffix not in (".ipynb", ".py"):
        raise ValueError(f"expected a .ipynb or a percent-format .py notebook, got {path.name}")
    nb = jupytext.read(path)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        # drop IPython magics and shell escapes: they are not Python
        lines = [ln for ln in str(cell.source).splitlines() if not re.match(r"\s*[%!]", ln)]
        cells.append("\n".join(lines))
    return cells


def _is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)


def check_calls(tree: ast.Module) -> list[tuple[str, str]]:
    """``check("id", func)`` calls, as (exercise id, function name)."""
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and isinstance(node.args[1], ast.Name)
        ):
            calls.append((node.args[0].value, node.args[1].id))
    return calls


def notebook_exercises(path: str | Path) -> list[tuple[str, str]]:
    """The (exercise id, function name) pairs a notebook's check calls name, in order, each once.

    Raises ``SyntaxError`` naming the cell when a cell does not parse.
    """
    path = Path(path)
    found: dict[str, str] = {}
    for number, source in enumerate(code_cells(path), start=1):
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            raise SyntaxError(f"code cell {number} of {path.name}, line {err.lineno}: {err.msg}") from None
        for exercise_id, function in check_calls(tree):
            found.setdefault(exercise_id, function)
    return list(found.items())


def load_definitions(cells: list[str], name: str) -> tuple[dict[str, Any], list[str]]:
    """Execute the definitions of ``cells`` one statement at a time; return the namespace and the
    problems met (a cell that does not parse, a definition that raised), so that one broken cell
    does not hide the others."""
    namespace: dict[str, Any] = {"__name__": "genlearn_exercise_notebook"}
    problems: list[str] = []
    for number, source in enumerate(cells, start=1):
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            problems.append(f"syntax error in code cell {number} of {name}, line {err.lineno}: {err.msg}")
            continue
        for node in tree.body:
            if not (isinstance(node, _KEEP) or _is_constant(node)):
                continue
            code = compile(ast.Module(body=[node], type_ignores=[]), f"{name}[cell {number}]", "exec")
            try:
                exec(code, namespace)
            except (Exception, SystemExit) as err:
                text = str(err).strip().splitlines()
                problems.append(f"code cell {number}, line {node.lineno}: {type(err).__name__}"
                                + (f": {text[0][:300]}" if text else ""))
    return namespace, problems


def load_notebook(path: str | Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Execute a notebook's definitions in this process; return its namespace and its check calls.

    Raises ``SyntaxError`` (with the cell number) when a cell does not parse, and the first error a
    definition raised. Prefer ``genlearn.grading.run_notebook``, which runs them in a separate process.
    """
    path = Path(path)
    calls = notebook_exercises(path)
    namespace, problems = load_definitions(code_cells(path), path.name)
    if problems:
        raise RuntimeError(problems[0])
    return namespace, calls
