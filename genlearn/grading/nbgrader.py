"""Export solution notebooks as an nbgrader ``source/`` folder.

    genlearn export nbgrader solutions/03_kl_divergence.py --out course/ [--assignment ps1]

writes ``course/source/<assignment>/<name>.ipynb`` and ``course/nbgrader_config.py``. In each
notebook, a code cell holding ``# BEGIN SOLUTION`` / ``# END SOLUTION`` becomes an nbgrader
"autograded answer" cell (``grade_id`` = ``<exercise id>_answer``), and each ``check("id", fn)``
cell an "autograder tests" cell with ``grade_id`` = the exercise id and the exercise's points,
which fails (``assert``) unless the check passes. ``nbgrader generate_assignment`` then makes the
student version and ``nbgrader autograde`` grades submissions. Note that nbgrader runs the checks
in the student's own kernel; ``genlearn grade`` decides them outside it.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["export_nbgrader", "nbgrader_notebook"]

_CONFIG = '''"""nbgrader configuration written by `genlearn export nbgrader`."""

c = get_config()  # noqa: F821 - provided by nbgrader
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = {course!r}
'''


def _metadata(grade_id: str, *, solution: bool, grade: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": not solution, "schema_version": 3, "solution": solution}
    if points is not None:
        meta["points"] = points
    return meta


def _test_source(exercise_id: str, function: str) -> str:
    return (f"result = check({exercise_id!r}, {function})\n"
            "print(result.line())\n"
            "assert result.passed, result.line()")


def nbgrader_notebook(solution: str | Path):
    """The nbgrader source version (an nbformat notebook) of a solution notebook (.py or .ipynb)."""
    import jupytext

    from genlearn.checks.exercise import registry
    from genlearn.checks.notebook import check_calls

    nb = jupytext.read(Path(solution))
    exercises = registry()
    function_ids: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            for exercise_id, function in check_calls(ast.parse(cell.source)):
                function_ids[function] = exercise_id
    seen: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        calls = check_calls(tree)
        if "# BEGIN SOLUTION" in cell.source:
            names = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            ids = [function_ids[n] for n in names if n in function_ids] or names or ["answer"]
            grade_id = f"{ids[0]}_answer"
            if grade_id in seen:
                raise ValueError(f"{solution}: two answer cells for {ids[0]}")
            seen.add(grade_id)
            cell.metadata["nbgrader"] = _metadata(grade_id, solution=True, grade=False)
        elif calls and len(tree.body) == len(calls):  # a cell of check calls only
            if len(calls) != 1:
                raise ValueError(f"{solution}: put each check call in its own cell for nbgrader")
            exercise_id, function = calls[0]
            if exercise_id not in exercises:
                raise ValueError(f"{solution}: no exercise called {exercise_id!r}")
            cell.source = _test_source(exercise_id, function)
            cell.metadata["nbgrader"] = _metadata(exercise_id, solution=False, grade=True,
                                                  points=exercises[exercise_id].points)
    return nb


def export_nbgrader(solutions: list[str | Path], out: str | Path, assignment: str = "ps1",
                    course: str = "genlearn") -> list[Path]:
    """Write ``out/source/<assignment>/<name>.ipynb`` for each solution and ``out/nbgrader_config.py``."""
    import jupytext

    if not assignment.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"--assignment must be a simple name (letters, digits, - and _), got {assignment!r}")
    out = Path(out)
    folder = out / "source" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for solution in solutions:
        path = folder / f"{Path(solution).stem}.ipynb"
        jupytext.write(nbgrader_notebook(solution), path, fmt="ipynb")
        written.append(path)
    (out / "nbgrader_config.py").write_text(_CONFIG.format(root=str(out.resolve()), course=course))
    return written
