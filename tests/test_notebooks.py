"""Notebook hygiene: .py/.ipynb pairs in sync, exercises generated from solutions, no outputs."""

import json
import re
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


def _figure_makers() -> set[str]:
    """Names of the viz and widget functions that return a matplotlib Figure."""
    import inspect

    import genlearn.viz as viz
    import genlearn.widgets as widgets

    found = set()
    for module in (viz, widgets):
        for name in module.__all__:
            fn = getattr(module, name)
            if callable(fn) and "Figure" in str(inspect.signature(fn).return_annotation):
                found.add(name)
    return found


@pytest.mark.parametrize("path", sorted(p for d in ("lessons", "solutions", "exercises")
                                        for p in (ROOT / d).glob("[0-9][0-9]_*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_figure_a_cell_makes_is_shown(path):
    """A Figure returned by a statement that is not the cell's last is never displayed (the website and a
    student would not see it): such calls must be wrapped in display(...)."""
    import ast

    import jupytext

    makers = _figure_makers()
    assert {"image_grid", "interpolation_strip"} <= makers
    hidden = []
    for i, cell in enumerate(jupytext.read(path).cells):
        if cell.cell_type != "code":
            continue
        body = ast.parse(cell.source).body
        for st in body[:-1]:
            if isinstance(st, ast.Expr) and isinstance(st.value, ast.Call):
                f = st.value.func
                name = f.id if isinstance(f, ast.Name) else getattr(f, "attr", None)
                if name in makers:
                    hidden.append(f"cell {i}: {name}(...) at line {st.lineno}")
    assert not hidden, f"{path.name}: figures never shown (wrap them in display): {hidden}"


LESSON_SOURCES = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
POSITIONAL = re.compile(r"\b(first|second|third|fourth|fifth|sixth|last|next) (two |three )?verdicts?\b"
                        r"|\b(the|its) (\w+ )?rows? says?\b|\b(first|second|third|fourth|fifth|last) row of the table\b"
                        r"|\btable's (first|second|third|fourth|fifth|last) row\b", re.IGNORECASE)
HISTORY = re.compile(r"first edition|earlier version|old finding|previous version|earlier edition", re.IGNORECASE)


@pytest.mark.parametrize("path", LESSON_SOURCES, ids=lambda p: p.stem)
def test_lesson_prose_names_results_not_positions_and_keeps_history_out(path):
    """A paragraph names the verdict it reads (its claim), never "the second row"; history is the CHANGELOG's."""
    prose = [(n, line) for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith("#")]
    positional = [f"{n}: {line}" for n, line in prose if POSITIONAL.search(line)]
    history = [f"{n}: {line}" for n, line in prose if HISTORY.search(line)]
    assert not positional, "refer to a verdict by its claim, not its position:\n" + "\n".join(positional)
    assert not history, "history belongs in CHANGELOG.md:\n" + "\n".join(history)


def test_the_prose_check_catches_a_positional_reference():
    assert POSITIONAL.search("# The second verdict HOLDS") and POSITIONAL.search("# what its row says")
    assert HISTORY.search("# In the first edition of this lesson") and not POSITIONAL.search("# the verdict holds")
