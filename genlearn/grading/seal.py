"""What a submission's process may reach of genlearn's checker: its run steps, and nothing else.

A grading child (and ``genlearn check``'s child) is forked from a server that imported the checker
and, once, deleted from itself everything but the run steps (:func:`prepare`: the verify steps and
the reference implementations they call are garbage, collected, not merely hidden). Before the
submission's first line runs, :func:`seal`

* keeps only the run steps of the job's check cases (the step that calls the student's function) and
  the module globals they need, and deletes the rest from the checker's modules;
* removes ``genlearn.checks``, ``genlearn.grading`` and ``genlearn.bench`` from ``sys.modules`` and
  blocks importing them again (:class:`CheckerBlocked`, an ``ImportError`` that says why);
* leaves a stand-in ``genlearn.checks`` whose ``check`` and ``hint`` do nothing, so that an exercise
  notebook's own ``check(...)`` calls are harmless;
* optionally wraps library functions an instructor forbids (``--forbid torch.linalg.solve``) so that
  a call from the submission's code is recorded (:class:`Tracker`).

In a sandbox the checker's files are out of sight too (:mod:`.sandbox`); without one a submission can
still read them from disk, which ``PLAIN_WARNING`` says.
"""

from __future__ import annotations

import builtins
import gc
import importlib
import sys
import types
from collections.abc import Callable
from typing import Any

__all__ = ["seal", "prepare", "runs_for", "CheckerBlocked", "Tracker", "BLOCKED", "fingerprint", "is_student_file"]

BLOCKED = ("genlearn.checks", "genlearn.grading", "genlearn.bench")
WHY = ("is genlearn's checker: it cannot be imported by graded code (the reference answers are not "
       "available to a submission)")


class CheckerBlocked(ImportError):
    """Raised when graded code imports genlearn's checker, grader or benchmarks."""


def _blocked(name: str) -> bool:
    return any(name == b or name.startswith(b + ".") for b in BLOCKED)


class _Blocker:
    """A meta-path finder that refuses the checker's modules."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if _blocked(name) and name != "genlearn.checks":
            raise CheckerBlocked(f"{name} {WHY}", name=name)
        return None


def is_student_file(filename: str, display_name: str) -> bool:
    """Whether a code object's file name is one of the submission's cells (see ``load_definitions``)."""
    return filename.startswith(f"{display_name}[cell ")


def _names_of(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_of(const)
    return names


def _needed(functions: list[Callable]) -> dict[int, set[str]]:
    """For each checker module (by id of its globals), the global names the functions reach, transitively
    (functions, their defaults and closures, classes' methods, all within the checker)."""
    need: dict[int, set[str]] = {}
    for fn in functions:  # the functions themselves stay importable by name
        g = getattr(fn, "__globals__", None)
        if isinstance(g, dict) and g.get(getattr(fn, "__name__", "")) is fn:
            need.setdefault(id(g), set()).add(fn.__name__)
    seen: set[int] = set()
    todo: list[Any] = list(functions)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.MethodType):
            todo.append(obj.__func__)
        elif isinstance(obj, types.FunctionType):
            g = obj.__globals__
            if not str(g.get("__name__", "")).startswith("genlearn.checks"):
                continue
            names = {n for n in _names_of(obj.__code__) if n in g}
            need.setdefault(id(g), set()).update(names)
            todo += [g[n] for n in names]
            todo += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
            todo += [c.cell_contents for c in obj.__closure__ or () if _has_contents(c)]
        elif isinstance(obj, type) and obj.__module__.startswith("genlearn.checks"):
            todo += list(vars(obj).values())
        elif isinstance(obj, (staticmethod, classmethod)):
            todo.append(obj.__func__)
        elif isinstance(obj, property):
            todo += [f for f in (obj.fget, obj.fset, obj.fdel) if f is not None]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            todo += list(obj)
        elif isinstance(obj, dict):
            todo += list(obj.values())
    return need


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _no_demo(name: str) -> Any:
    """Where the real checks never loaded: a demo cell runs as it is."""
    import contextlib

    return contextlib.nullcontext()


def _stand_in() -> types.ModuleType:
    module = types.ModuleType("genlearn.checks", "genlearn's checks are not available while grading: check() "
                              "and hint() do nothing here; your functions are checked by the grader.")

    def check(*args: Any, **kwargs: Any) -> None:
        return None

    module.check = module.hint = module.run_check = check  # type: ignore[attr-defined]
    # the real demo(), taken before the real module leaves sys.modules: no answer key in it, and a learner's
    # unfinished demo cell prints the same TODO line as in class
    cells = sys.modules.get("genlearn.checks.cells")  # two imports, no answer key: kept for the demo cells
    module.demo = getattr(cells, "demo", None) or _no_demo  # type: ignore[attr-defined]
    module.__path__ = []  # type: ignore[attr-defined]
    module.__all__ = ["check", "hint", "demo"]  # type: ignore[attr-defined]
    return module


class Tracker:
    """Records calls, from the submission's code, of library functions the instructor forbids."""

    def __init__(self, display_name: str) -> None:
        self.display_name = display_name
        self.used: set[str] = set()

    def wrap(self, dotted: str) -> None:
        """Wrap ``dotted`` (``module.function``) wherever a loaded module holds it."""
        original = _resolve(dotted)
        tracker = self

        def forbidden(*args: Any, **kwargs: Any) -> Any:
            if is_student_file(sys._getframe(1).f_code.co_filename, tracker.display_name):
                tracker.used.add(dotted)
            return original(*args, **kwargs)

        forbidden.__name__ = getattr(original, "__name__", "forbidden")
        forbidden.__doc__ = getattr(original, "__doc__", None)
        for module in list(sys.modules.values()):
            try:
                attrs = vars(module)
            except TypeError:
                continue
            for key, value in list(attrs.items()):
                if value is original:
                    try:
                        setattr(module, key, forbidden)
                    except (AttributeError, TypeError):
                        pass


def _resolve(dotted: str) -> Any:
    parts = dotted.split(".")
    for k in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for attr in parts[k:]:
            obj = getattr(obj, attr)
        return obj
    raise ValueError(f"--forbid {dotted}: not an importable module.function")


def fingerprint() -> dict[str, int]:
    """Identities of Python's builtins and of the functions the checks' run steps rely on: a submission
    that replaced one of them broke its own process (its failures are its own, never the grader's)."""
    import math

    import torch

    found = {f"builtins.{k}": id(v) for k, v in vars(builtins).items()}
    for module in (math, torch, torch.nn.functional, torch.Tensor, sys):
        found.update({f"{getattr(module, '__name__', module)}.{k}": id(v) for k, v in list(vars(module).items())})
    return found


_RUNS: dict[str, list[Callable]] = {}  # the fork server's run steps, by exercise id (see prepare)


def _prune(functions: list[Callable]) -> None:
    """Delete from the checker's modules every global ``functions`` do not reach, and empty the registry."""
    keep = _needed(functions)
    exercise_module = sys.modules.get("genlearn.checks.exercise")
    if exercise_module is not None and isinstance(getattr(exercise_module, "_REGISTRY", None), dict):
        exercise_module._REGISTRY.clear()
    for name, module in list(sys.modules.items()):
        if name.startswith("genlearn.checks.") and module is not None:
            g = vars(module)
            wanted = keep.get(id(g), set())
            for key in list(g):
                if not (key.startswith("__") and key.endswith("__")) and key not in wanted:
                    del g[key]


def prepare(machinery: list[Callable] | tuple[Callable, ...] = ()) -> None:
    """In the fork server, once: keep every exercise's run steps (and ``machinery``, the child's own
    functions) and delete the verify steps and references from this process, collect them, and freeze
    what is left (children then neither scan nor copy it when they collect garbage)."""
    from genlearn.checks.exercise import registry
    from genlearn.grading.selftest import SELFTEST

    exercises = {**registry(), SELFTEST.id: SELFTEST}
    _RUNS.update({i: [case.run for case in ex.cases] for i, ex in exercises.items()})
    del exercises
    _prune([f for steps in _RUNS.values() for f in steps] + list(machinery))
    gc.collect()
    gc.freeze()


def runs_for(exercise_ids: list[str]) -> dict[str, list[Callable]]:
    """The run steps of the given exercises (after :func:`prepare`)."""
    return {i: _RUNS[i] for i in exercise_ids}


def seal(runs: dict[str, list[Callable]], display_name: str, forbid: list[str] | tuple[str, ...] = (),
         machinery: list[Callable] | tuple[Callable, ...] = ()) -> Tracker:
    """Keep ``runs`` (the run steps of this job's cases) and ``machinery`` (the child's own functions: load
    the definitions, run the cases, encode the outcomes) and make the rest of the checker unreachable
    (what :func:`prepare` left is freed by reference counting: no garbage collection in the child)."""
    tracker = Tracker(display_name)
    for dotted in forbid:
        tracker.wrap(dotted)
    _prune([f for steps in runs.values() for f in steps] + list(machinery))
    _RUNS.clear()
    stand_in = _stand_in()  # before genlearn.checks.cells leaves sys.modules (it lends demo())
    for name in [n for n in sys.modules if _blocked(n)]:
        del sys.modules[name]
    genlearn = sys.modules.get("genlearn")
    for attr in ("checks", "grading", "bench"):
        if genlearn is not None and attr in vars(genlearn):
            delattr(genlearn, attr)
    sys.meta_path.insert(0, _Blocker())
    sys.modules["genlearn.checks"] = stand_in
    importlib.invalidate_caches()
    return tracker
