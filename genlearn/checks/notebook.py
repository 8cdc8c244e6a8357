"""Check the exercises of a whole notebook from outside it (terminal and pytest).

Only the notebook's imports, function and class definitions and UPPER_CASE
constants are executed, so a notebook with unfinished exercises, slow cells or
plots can still be checked in a second or two.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from genlearn.checks import run_check
from genlearn.checks.result import Result

__all__ = ["load_notebook", "run_notebook", "check_calls"]

_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _code_cells(path: Path) -> list[str]:
    import jupytext

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
        lines = [ln for ln in cell.source.splitlines() if not re.match(r"\s*[%!]", ln)]
        cells.append("\n".join(lines))
    return cells


def _is_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) and all(
        isinstance(t, ast.Name) and t.id.isupper() for t in node.targets
    )


def check_calls(tree: ast.Module) -> list[tuple[str, str]]:
    """``check("name", func)`` calls at top level, as (exercise name, function name)."""
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", getattr(node.func, "attr", None)) == "check"
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Name)
        ):
            calls.append((node.args[0].value, node.args[1].id))
    return calls


def load_notebook(path: str | Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Execute a notebook's definitions; return its namespace and its ``check`` calls.

    Raises ``SyntaxError`` (with the cell number) when a cell does not parse.
    """
    path = Path(path)
    namespace: dict[str, Any] = {"__name__": f"genlearn_exercise_{path.stem}"}
    calls: list[tuple[str, str]] = []
    for number, source in enumerate(_code_cells(path), start=1):
        try:
            tree = ast.parse(source)
        except SyntaxError as err:
            raise SyntaxError(f"code cell {number} of {path.name}, line {err.lineno}: {err.msg}") from None
        calls += check_calls(tree)
        kept = [n for n in tree.body if isinstance(n, _KEEP) or _is_constant(n)]
        exec(compile(ast.Module(body=kept, type_ignores=[]), f"{path.name}[cell {number}]", "exec"), namespace)
    return namespace, calls


def run_notebook(path: str | Path, only: str | None = None) -> list[Result]:
    """Check every exercise the notebook's ``check("id", fn)`` calls name (or just ``only``)."""
    path = Path(path)
    try:
        namespace, calls = load_notebook(path)
    except SyntaxError as err:
        return [Result(only or path.name, "error", f"syntax error in {err.msg}")]
    except Exception as err:  # an import in the notebook failed, etc.
        return [Result(only or path.name, "error", f"could not load the notebook: {type(err).__name__}: {err}")]
    wanted = dict(calls)  # exercise id -> function name
    if only is not None:
        if only not in wanted:
            return [Result(only, "error", f"no exercise {only!r} in {path.name}; it has: {', '.join(wanted)}")]
        wanted = {only: wanted[only]}
    results = []
    for name, func_name in wanted.items():
        if func_name not in namespace:
            results.append(Result(name, "error", f"function {func_name!r} is not defined in {path.name}"))
        else:
            results.append(run_check(name, namespace[func_name]))
    return results
