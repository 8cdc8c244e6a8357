"""Exercise checks: friendly feedback in the notebook, the same checks for grading.

In an exercise notebook::

    from genlearn.checks import check, hint
    def kl_logvar(mu, logvar): ...
    check("kl_logvar", kl_logvar)   # one line: PASS, TODO or FAIL with what is wrong
    hint("kl_logvar")               # the next hint each time it is called
    with demo("vae_build_train"):   # a cell that runs the learner's code: one TODO line until it exists
        my_vae = TinyVAE(64, 8)

From a terminal::

    genlearn check exercises/03_kl_divergence.ipynb [EXERCISE] [--hint]
    genlearn grade exercises/03_kl_divergence.ipynb submissions/ --out grades/

Exercises are declared by concept (``genlearn.checks.kl``, ``.vae``, ...; see
:mod:`genlearn.checks.exercise`); a notebook's own ``check("id", fn)`` calls say which
exercises it holds. Each check case has three steps - inputs made by the checker, a run step
that only calls the student's function, a verify step in the checker (:mod:`.steps`) - so
``genlearn grade`` decides the verdict outside the student's process.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from genlearn.checks.cells import demo
from genlearn.checks.exercise import Case, Exercise, exercise, registry
from genlearn.checks.notebook import load_notebook
from genlearn.checks.result import Result

__all__ = ["check", "hint", "hints", "demo", "run_check", "exercise", "registry", "Exercise", "Case", "Result",
           "ExerciseFailed", "load_notebook"]

STRICT_ENV = "GENLEARN_CHECKS_STRICT"


class ExerciseFailed(AssertionError):
    """Raised by :func:`check` in strict mode (the test suite sets GENLEARN_CHECKS_STRICT=1)."""


def _unknown(name: str) -> str:
    return f"no exercise called {name!r}; known exercises: {', '.join(sorted(registry()))}"


def run_check(name: str, func: Callable, seed: int = 0) -> Result:
    """Run every case of exercise ``name`` on ``func`` in this process (never raises).

    Inputs and outputs make the same round trip through plain data as in ``genlearn grade``.
    """
    from genlearn.checks.steps import decode, encode, judge, make_inputs, run_exercise

    ex = registry().get(name)
    if ex is None:
        return Result(name, "error", _unknown(name))
    if not callable(func):
        return Result(name, "error", f"expected your function, got {type(func).__name__}", 0,
                      len(ex.cases), ex.points)
    inputs = make_inputs(ex, seed)
    outcomes = run_exercise(ex, func, decode(encode(inputs)))
    return judge(ex, inputs, decode(encode(outcomes)))


def check(name: str, func: Callable) -> Result:
    """Check a student's ``func`` for exercise ``name``; return a :class:`Result` (shown as one line).

    Never raises, unless the environment variable GENLEARN_CHECKS_STRICT is set
    (as in the test suite), where a failed check raises :class:`ExerciseFailed`.
    """
    result = run_check(name, func)
    if os.environ.get(STRICT_ENV) and not result.passed:
        raise ExerciseFailed(result.line())
    return result


_HINTS_SHOWN: dict[str, int] = {}


def hints(name: str) -> tuple[str, ...]:
    """All hints of exercise ``name``, from the gentlest to the most helpful."""
    ex = registry().get(name)
    if ex is None:
        raise ValueError(_unknown(name))
    return ex.hints


def hint(name: str) -> str:
    """Print (and return) the next hint of exercise ``name``: one more level each call."""
    if name not in registry():
        print(_unknown(name))
        return _unknown(name)
    levels = hints(name)
    shown = _HINTS_SHOWN.get(name, 0)
    level = min(shown, len(levels) - 1)
    _HINTS_SHOWN[name] = shown + 1
    more = "" if level + 1 == len(levels) else f" (call hint({name!r}) again for more)"
    text = f"Hint {level + 1}/{len(levels)} for {name}: {levels[level]}{more}"
    print(text)
    return text
