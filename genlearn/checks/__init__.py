"""Exercise checks: friendly feedback in the notebook, the same checks in pytest.

In an exercise notebook::

    from genlearn.checks import check
    def trapezoid_rule(f, pdf, grid): ...
    check("trapezoid_rule", trapezoid_rule)

prints one line per exercise: passed, not implemented yet, or what went wrong
with a hint - never a traceback. From a terminal::

    genlearn check exercises/02_expectation.ipynb [EXERCISE]

Each lesson registers its exercises in ``genlearn.checks.lessonNN`` with the
:func:`exercise` decorator; a check is a function that receives the student's
function and raises ``AssertionError`` with a hint when something is wrong.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["check", "exercise", "Result", "ExerciseFailed", "registry", "load_notebook", "run_notebook"]

STRICT_ENV = "GENLEARN_CHECKS_STRICT"


class ExerciseFailed(AssertionError):
    """Raised by :func:`check` in strict mode (the test suite sets GENLEARN_CHECKS_STRICT=1)."""


@dataclass
class Exercise:
    name: str
    lesson: str
    title: str
    cases: list[Callable] = field(default_factory=list)


@dataclass
class Result:
    """Outcome of checking one exercise: ``status`` is passed, not_implemented, failed or error."""

    name: str
    status: str
    message: str
    passed_cases: int = 0
    total_cases: int = 0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def line(self) -> str:
        mark = "PASS" if self.passed else "FAIL" if self.status != "not_implemented" else "TODO"
        return f"[{mark}] {self.name}: {self.message}"

    def _repr_html_(self) -> str:  # a coloured line in Jupyter
        import html

        colour = {"passed": "#1a7f37", "not_implemented": "#9a6700"}.get(self.status, "#cf222e")
        return f'<pre style="color:{colour};margin:0">{html.escape(self.line())}</pre>'

    def __repr__(self) -> str:
        return self.line()


_REGISTRY: dict[str, Exercise] = {}


def exercise(name: str, lesson: str, title: str):
    """Decorator registering a check case for exercise ``name`` (several cases per exercise)."""

    def register(case: Callable) -> Callable:
        ex = _REGISTRY.setdefault(name, Exercise(name, lesson, title))
        ex.cases.append(case)
        return case

    return register


def registry() -> dict[str, Exercise]:
    """All exercises of every lesson, by name (imports every ``lessonNN`` module)."""
    from genlearn import checks

    for info in pkgutil.iter_modules(checks.__path__):
        if info.name.startswith("lesson"):
            importlib.import_module(f"genlearn.checks.{info.name}")
    return dict(_REGISTRY)


def _short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def run_check(name: str, func: Callable) -> Result:
    """Run every case of exercise ``name`` against ``func`` and summarise (never raises)."""
    exercises = registry()
    if name not in exercises:
        known = ", ".join(sorted(exercises))
        return Result(name, "error", f"no exercise called {name!r}; known exercises: {known}")
    if not callable(func):
        return Result(name, "error", f"expected your function, got {type(func).__name__}")
    cases = exercises[name].cases
    for i, case in enumerate(cases):
        try:
            case(func)
        except NotImplementedError as err:
            hint = str(err).partition("Hint:")[2].strip()
            return Result(
                name, "not_implemented",
                "not implemented yet - replace `raise NotImplementedError` with your code"
                + (f" (hint: {hint})" if hint else ""),
                i, len(cases),
            )
        except AssertionError as err:
            return Result(name, "failed", f"check {i + 1}/{len(cases)} failed: {_short(err)}", i, len(cases))
        except Exception as err:  # the student's code crashed: one readable line
            return Result(
                name, "error",
                f"check {i + 1}/{len(cases)}: your function raised {type(err).__name__}: {_short(err)}",
                i, len(cases),
            )
    plural = "s" if len(cases) != 1 else ""
    return Result(name, "passed", f"all {len(cases)} check{plural} passed", len(cases), len(cases))


def check(name: str, func: Callable) -> Result:
    """Check a student's ``func`` for exercise ``name``; print and return a :class:`Result`.

    Never raises, unless the environment variable GENLEARN_CHECKS_STRICT is set
    (as in the test suite), where a failed check raises :class:`ExerciseFailed`.
    """
    result = run_check(name, func)
    if os.environ.get(STRICT_ENV) and not result.passed:
        raise ExerciseFailed(result.line())
    return result


from genlearn.checks.notebook import load_notebook, run_notebook  # noqa: E402
