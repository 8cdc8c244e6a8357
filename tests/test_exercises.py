"""Every exercise passes against solutions/ and reports "not implemented" against exercises/."""

from pathlib import Path

import pytest

from genlearn.checks import registry, run_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def _cases():
    for nb in SOLUTIONS:
        lesson = nb.name[:2]
        for ex in registry().values():
            if ex.lesson == lesson:
                yield pytest.param(nb.name, ex.name, id=f"{nb.stem}::{ex.name}")


CASES = list(_cases())


def test_every_lesson_with_solutions_has_exercises():
    assert SOLUTIONS, "no solution notebooks found"
    for nb in SOLUTIONS:
        assert any(c.values[0] == nb.name for c in CASES), f"{nb.name} has no registered exercises"
        assert len([c for c in CASES if c.values[0] == nb.name]) >= 3, f"{nb.name}: fewer than 3 exercises"


@pytest.mark.parametrize("notebook,exercise", CASES)
def test_solution_passes(notebook, exercise):
    (result,) = run_notebook(ROOT / "solutions" / notebook, only=exercise)
    assert result.passed, result.line()


@pytest.mark.parametrize("notebook,exercise", CASES)
def test_untouched_exercise_fails_with_not_implemented(notebook, exercise):
    (result,) = run_notebook(ROOT / "exercises" / notebook, only=exercise)
    assert result.status == "not_implemented", result.line()
    assert "not implemented yet" in result.line() and "hint:" in result.line()
