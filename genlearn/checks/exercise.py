"""Exercises and their check cases, declared once, by concept.

An :class:`Exercise` is declared with :func:`exercise` (its id, title, hints and
points) and gets its cases with the :meth:`Exercise.case` decorator::

    KL_LOGVAR = exercise("kl_logvar", "KL of a diagonal Gaussian, per example",
                         hints=("...", "..."))

    @KL_LOGVAR.case(make=lambda gen: {"args": [randn(gen, 5, 4), randn(gen, 5, 4)]})
    def _values(inputs, outputs):
        ...  # raise AssertionError("what is wrong, and a hint") when outputs are wrong

Each case has three steps, so that the verdict never depends on the student's process:

* ``make(generator) -> inputs``: made by the checker from a seeded generator;
* ``run(fn, inputs) -> outputs``: the only step that runs in the student's process; it
  calls the student's ``fn`` (default: ``fn(*inputs["args"], **inputs.get("kwargs", {}))``)
  and returns plain data (tensors, numbers, strings, lists, dicts);
* ``verify(inputs, outputs)``: run by the checker; raises ``AssertionError`` with a hint.

Cases attach to the exercise object, never to a name, and declaring a second exercise
with an existing id raises ``ValueError`` at import time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["Case", "Exercise", "exercise", "registry", "call", "CONCEPT_MODULES"]

# the modules that declare exercises, one per concept
CONCEPT_MODULES = ("autoencoder", "expectation", "kl", "vae", "vq", "vaegan", "evaluation")

Inputs = dict[str, Any]


def call(fn: Callable, inputs: Inputs) -> Any:
    """The default run step: ``fn(*inputs["args"], **inputs.get("kwargs", {}))``."""
    return fn(*inputs["args"], **inputs.get("kwargs", {}))


@dataclass(frozen=True)
class Case:
    """One check: ``make`` inputs (checker), ``run`` the student's function (student), ``verify``
    the outputs (checker)."""

    make: Callable[[torch.Generator], Inputs]
    run: Callable[[Callable, Inputs], Any]
    verify: Callable[[Inputs, Any], None]
    name: str


@dataclass(eq=False)
class Exercise:
    """An exercise: a function the student writes, checked by its cases."""

    id: str
    title: str
    hints: tuple[str, ...]
    points: float = 1
    module: str = ""
    depth: str = "function"
    cases: list[Case] = field(default_factory=list)

    def case(self, make: Callable[[torch.Generator], Inputs],
             run: Callable[[Callable, Inputs], Any] = call) -> Callable:
        """Decorator: the decorated function is the case's verify step."""

        def add(verify: Callable[[Inputs, Any], None]) -> Callable[[Inputs, Any], None]:
            self.cases.append(Case(make, run, verify, verify.__name__.lstrip("_")))
            return verify

        return add


_REGISTRY: dict[str, Exercise] = {}


DEPTHS = ("function", "build", "predict")


def exercise(id: str, title: str, *, hints: tuple[str, ...] | list[str], points: float = 1,
             module: str | None = None, depth: str = "function") -> Exercise:
    """Declare and register an exercise; a second exercise with the same ``id`` is an error.

    ``depth``: ``"function"`` (write one function), ``"build"`` (build and train: the student's class or
    function is trained by the check's run step within a bounded time, and the checker verifies targets
    on the numbers that come back) or ``"predict"`` (predict, then measure: the student's answer is
    compared with a measurement the checker makes)."""
    if depth not in DEPTHS:
        raise ValueError(f"exercise {id!r}: depth must be one of {DEPTHS}, got {depth!r}")
    if not id.isidentifier():
        raise ValueError(f"an exercise id must be a Python identifier, got {id!r}")
    if not 2 <= len(hints) <= 3:
        raise ValueError(f"exercise {id!r}: give 2 or 3 hints of increasing help, got {len(hints)}")
    if not points > 0:
        raise ValueError(f"exercise {id!r}: points must be > 0, got {points}")
    if id in _REGISTRY:
        raise ValueError(f"exercise id {id!r} is already declared in {_REGISTRY[id].module}; "
                         "ids are unique: add cases to that exercise or choose another id")
    ex = Exercise(id, title, tuple(hints), points, module or sys._getframe(1).f_globals.get("__name__", ""), depth)
    _REGISTRY[id] = ex
    return ex


def registry() -> dict[str, Exercise]:
    """Every declared exercise, by id (imports the concept modules once)."""
    for name in CONCEPT_MODULES:
        importlib.import_module(f"genlearn.checks.{name}")
    return dict(_REGISTRY)
