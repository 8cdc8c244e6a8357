"""From what came back from a submission's process to one :class:`Result` per exercise, and a status."""

from __future__ import annotations

import signal
from typing import Any

from genlearn.checks.exercise import Exercise
from genlearn.checks.result import Result
from genlearn.checks.verdict import encode, judge, make_inputs
from genlearn.grading.runner import JobResult

__all__ = ["job_inputs", "results_of", "STATUSES"]

STATUSES = ("graded", "timeout", "error", "unreadable")


def job_inputs(exercises: list[Exercise], seed: int) -> tuple[dict[str, list], bytes]:
    """Every case's inputs, drawn from ``seed``: as data (kept by the grader) and as bytes (sent)."""
    inputs = {ex.id: make_inputs(ex, seed) for ex in exercises}
    return inputs, encode(inputs)


def _ending(result: JobResult) -> str:
    if result.crashed_runner:
        return result.crashed_runner
    code = result.exit
    if code is None or code >= 0:
        return f"your code ended the process (exit status {code}; sys.exit or os._exit?)"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = {"SIGXCPU": "it used up its CPU-time limit", "SIGKILL": "it was killed (memory or a limit)",
           "SIGSEGV": "it crashed (segmentation fault)"}.get(name, f"it was stopped by {name}")
    return f"the process ended: {why}"


def results_of(exercises: list[Exercise], functions: list[str], inputs: dict[str, list],
               result: JobResult) -> tuple[list[Result], str]:
    """Verify each exercise's outcomes in this process; the submission's status is graded, timeout,
    error or unreadable."""
    if result.unreadable:
        why = f"could not read the notebook: {result.unreadable}"
        return [Result(ex.id, "error", why, 0, len(ex.cases), ex.points) for ex in exercises], "unreadable"
    problems = (result.loaded or {}).get("problems") or []
    results: list[Result] = []
    stopped = False
    for k, (ex, function) in enumerate(zip(exercises, functions, strict=True)):
        outcome: Any = result.outcomes.get(k, ...)
        if outcome is ... or stopped:
            if stopped:
                why = "not run: the notebook had stopped earlier"
            elif result.timeout:
                where = "while this exercise ran" if result.loaded is not None else "while loading the definitions"
                why = f"timed out after {result.wall:.0f} s {where}"
            elif result.loaded is None:
                why = f"stopped while loading the notebook's definitions: {_ending(result)}"
            else:
                why = f"stopped while this exercise ran: {_ending(result)}"
            stopped = True
            results.append(Result(ex.id, "error", why, 0, len(ex.cases), ex.points))
        elif isinstance(outcome, dict) and "missing" in outcome:
            why = f"function {function!r} is not defined in the notebook"
            if problems:
                why += f" ({problems[0]})"
            results.append(Result(ex.id, "error", why, 0, len(ex.cases), ex.points))
        else:
            results.append(judge(ex, inputs[ex.id], outcome))
    if result.timeout:
        status = "timeout"
    elif stopped or result.crashed_runner:
        status = "error"
    else:
        status = "graded"
    return results, status
