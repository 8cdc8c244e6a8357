"""Every exercise passes against solutions/ and reports "not implemented" against exercises/.

The notebooks' own ``check("id", fn)`` calls say which exercises each holds.
"""

import ast
import inspect
import warnings
from pathlib import Path

import pytest

from genlearn.checks import registry
from genlearn.checks.notebook import check_calls
from genlearn.grading import run_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))


def notebook_exercises(path: Path) -> list[str]:
    return [name for name, _ in check_calls(ast.parse(path.read_text()))]


CASES = [pytest.param(nb.with_suffix(".ipynb").name, ex, id=f"{nb.stem}::{ex}")
         for nb in SOLUTIONS for ex in notebook_exercises(nb)]


def test_every_solution_notebook_has_at_least_three_exercises():
    assert SOLUTIONS, "no solution notebooks found"
    for nb in SOLUTIONS:
        assert len(notebook_exercises(nb)) >= 3, f"{nb.name}: fewer than 3 exercises"


def test_every_declared_exercise_is_in_exactly_one_notebook():
    used = [ex for nb in SOLUTIONS for ex in notebook_exercises(nb)]
    assert sorted(used) == sorted(set(used)), "an exercise is checked in two notebooks"
    assert set(used) == set(registry()), "declared exercises and the notebooks' check calls differ"


@pytest.mark.parametrize("notebook,exercise", CASES)
def test_solution_passes(notebook, exercise):
    (result,) = run_notebook(ROOT / "solutions" / notebook, only=exercise)
    assert result.passed, result.line()


@pytest.mark.parametrize("notebook,exercise", CASES)
def test_untouched_exercise_fails_with_not_implemented(notebook, exercise):
    (result,) = run_notebook(ROOT / "exercises" / notebook, only=exercise)
    assert result.status == "not_implemented", result.line()
    assert "not implemented yet" in result.line() and f"hint({exercise!r})" in result.line()


def _solution_functions() -> dict[str, inspect.Signature]:
    found = {}
    for nb in SOLUTIONS:
        for node in ast.parse(nb.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                namespace: dict = {}
                stub = ast.Module(body=[ast.FunctionDef(name=node.name, args=node.args, body=[ast.Pass()],
                                                        decorator_list=[])], type_ignores=[])
                exec(compile(ast.fix_missing_locations(stub), nb.name, "exec"), namespace)
                found[node.name] = inspect.signature(namespace[node.name])
    return found


def _library_functions() -> dict[str, list[tuple[str, inspect.Signature]]]:
    """Public functions defined in genlearn (not in its checks, benchmarks or command line)."""
    import importlib
    import pkgutil

    import genlearn

    found: dict[str, list[tuple[str, inspect.Signature]]] = {}
    for info in pkgutil.walk_packages(genlearn.__path__, "genlearn."):
        if info.name.endswith("__main__") or info.name.startswith(("genlearn.checks", "genlearn.bench",
                                                                   "genlearn.grading", "genlearn.cli")):
            continue
        with warnings.catch_warnings():  # deprecated modules still count
            warnings.simplefilter("ignore", DeprecationWarning)
            module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == info.name:
                found.setdefault(name, []).append((info.name, inspect.signature(obj)))
    return found


def _plain(sig: inspect.Signature) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in sig.parameters.values()]


def test_exercise_functions_share_the_signature_of_same_named_library_functions():
    library = _library_functions()
    mismatches = [
        f"{name}{sig} in solutions/ but {module}.{name}{lib}"
        for name, sig in _solution_functions().items()
        for module, lib in library.get(name, [])
        if _plain(sig) != _plain(lib)
    ]
    assert not mismatches, "\n".join(mismatches)


def test_signature_comparison_sees_a_difference():
    def a(rec, gen, form="non_saturating"): ...
    def b(logits_rec, logits_gen, non_saturating=True): ...
    assert _plain(inspect.signature(a)) != _plain(inspect.signature(b))
    assert "generator_loss" in _solution_functions() and "generator_loss" in _library_functions()
