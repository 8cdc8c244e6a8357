"""``genlearn check``: the exercises of one notebook, its definitions run in a child process.

:func:`run_notebook` is what a student's terminal (and the test suite) calls: the same child, limits
and verdicts as ``genlearn grade`` (one fork server per process, :func:`.runner.shared_runner`),
never raising for a bad notebook.
"""

from __future__ import annotations

from pathlib import Path

from genlearn.checks.exercise import registry
from genlearn.checks.notebook import notebook_exercises
from genlearn.checks.result import Result
from genlearn.grading.outcomes import job_inputs, results_of
from genlearn.grading.runner import run_submission, shared_runner

__all__ = ["run_notebook", "check_notebook"]


def run_notebook(path: str | Path, only: str | None = None, timeout: float = 120.0) -> list[Result]:
    """Check every exercise the notebook's ``check("id", fn)`` calls name (or just ``only``).

    The definitions run in a child process with resource limits; never raises for a bad notebook.
    """
    path = Path(path)
    try:
        wanted = notebook_exercises(path)
    except SyntaxError as err:
        return [Result(only or path.name, "error", f"syntax error in {err.msg}")]
    except (OSError, ValueError) as err:
        return [Result(only or path.name, "error", f"could not read the notebook: {err}")]
    except Exception as err:  # jupytext could not parse it
        return [Result(only or path.name, "error", f"could not read the notebook: {type(err).__name__}: {err}")]
    if only is not None:
        if only not in dict(wanted):
            names = ", ".join(name for name, _ in wanted)
            return [Result(only, "error", f"no exercise {only!r} in {path.name}; it has: {names}")]
        wanted = [(only, dict(wanted)[only])]
    return check_notebook(path, wanted, timeout=timeout)


def check_notebook(path: Path, wanted: list[tuple[str, str]], timeout: float = 120.0, seed: int = 0) -> list:
    """Results of the exercises ``wanted`` ((id, function name) pairs) of the notebook at ``path``,
    its definitions run in a child process."""
    exercises = registry()
    known = [(i, f) for i, f in wanted if i in exercises]
    unknown = [Result(i, "error", f"no exercise called {i!r}") for i, _ in wanted if i not in exercises]
    if not known:
        return unknown
    inputs, payload = job_inputs([exercises[i] for i, _ in known], seed)
    job = {"exercises": known, "display_name": path.name}
    result = run_submission(shared_runner(timeout), path, job, payload)
    results, _ = results_of([exercises[i] for i, _ in known], [f for _, f in known], inputs, result, path.name)
    order = {i: k for k, (i, _) in enumerate(wanted)}
    return sorted(results + unknown, key=lambda r: order[r.name])
