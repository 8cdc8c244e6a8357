"""Notebook hygiene: .py/.ipynb pairs in sync, exercises generated from solutions, no outputs."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NOTEBOOKS = sorted(p for d in ("lessons", "solutions", "exercises") for p in (ROOT / d).glob("*.ipynb"))


def test_lesson_and_solution_pairs_are_in_sync():
    out = subprocess.run([sys.executable, "tools/sync_notebooks.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, "pairs out of sync (run `make sync`):\n" + out.stdout


def test_committed_exercises_match_generated():
    out = subprocess.run([sys.executable, "tools/make_exercises.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, "exercises/ differ from what solutions/ generate (run `make exercises`):\n" + out.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_committed_without_outputs_and_with_kernel(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, f"{path.name} has outputs"


def test_every_lesson_number_has_exercises_and_solutions():
    lessons = {p.name[:2] for p in (ROOT / "lessons").glob("[0-9][0-9]_*.py")}
    solutions = {p.name[:2] for p in (ROOT / "solutions").glob("[0-9][0-9]_*.py")}
    assert lessons == solutions
