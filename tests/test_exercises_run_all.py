"""Run All on an untouched exercise notebook runs to the end (issue 25): no error output, and one
``[TODO]`` line per exercise; a demo cell that needs the learner's code says so in one line
(``genlearn.checks.demo``) instead of raising."""

import ast
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from genlearn.checks.notebook import check_calls

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def _lines(nb) -> list[str]:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = o.get("text", "") if o.output_type == "stream" else o.get("data", {}).get("text/plain", "")
            out += str(text).splitlines()
    return out


@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_run_all_on_an_untouched_exercise_notebook_prints_one_todo_per_exercise(path):
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.get("GENLEARN_CHECKS_STRICT")
    os.environ.pop("GENLEARN_CHECKS_STRICT", None)  # a learner's kernel: check() reports, it does not raise
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env_before is not None:
            os.environ["GENLEARN_CHECKS_STRICT"] = env_before
    errors = [f"cell {i}: {o.ename}: {o.evalue}" for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    stderr = [o.text for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "stream" and o.name == "stderr" and "Traceback" in o.text]
    assert not stderr, stderr
    exercises = [name for name, _ in check_calls(ast.parse((ROOT / "solutions" / path.with_suffix(".py").name)
                                                           .read_text()))]
    todo = [line for line in _lines(nb) if line.startswith("[TODO]")]
    assert len(todo) == len(exercises), (exercises, todo)
    for name in exercises:
        assert sum(line.startswith(f"[TODO] {name}:") for line in todo) == 1, (name, todo)
