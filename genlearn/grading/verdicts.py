"""From what came back from a submission's process to one :class:`Result` per exercise, and a status."""

from __future__ import annotations

from typing import Any

from genlearn.checks.exercise import Exercise
from genlearn.checks.result import Result
from genlearn.checks.verdict import encode, judge, make_inputs
from genlearn.grading.runner import JobResult, how_it_ended

__all__ = ["job_inputs", "results_of", "STATUSES"]

STATUSES = ("graded", "timeout", "error", "unreadable")


def job_inputs(exercises: list[Exercise], seed: int) -> tuple[dict[str, list], bytes]:
    """Every case's inputs, drawn from ``seed``: as data (kept by the grader) and as bytes (sent)."""
    inputs = {ex.id: make_inputs(ex, seed) for ex in exercises}
    return inputs, encode(inputs)


def results_of(exercises: list[Exercise], functions: list[str], inputs: dict[str, list],
               result: JobResult) -> tuple[list[Result], str]:
    """Verify each exercise's outcomes in this process; the submission's status is graded, timeout,
    error or unreadable."""
    if result.unreadable:
        why = f"could not read the notebook: {result.unreadable}"
        return [Result(ex.id, "error", why, 0, len(ex.cases), ex.points) for ex in exercises], "unreadable"
    problems = (result.loaded or {}).get("problems") or []
    results: list[Result] = []
    for k, (ex, function) in enumerate(zip(exercises, functions, strict=True)):
        outcome: Any = result.outcomes.get(k, ...)
        if k in result.stops:
            why = f"stopped while this exercise ran: {result.stops[k]}"
        elif outcome is ...:
            why = f"stopped while loading the notebook's definitions: {how_it_ended(result)}"
        elif isinstance(outcome, dict) and "missing" in outcome:
            why = f"function {function!r} is not defined in the notebook"
            if problems:
                why += f" ({problems[0]})"
        else:
            results.append(judge(ex, inputs[ex.id], outcome))
            continue
        results.append(Result(ex.id, "error", why, 0, len(ex.cases), ex.points))
    if result.timeout:
        status = "timeout"
    elif result.stops or result.crashed_runner or len(result.outcomes) < len(exercises):
        status = "error"
    else:
        status = "graded"
    return results, status
