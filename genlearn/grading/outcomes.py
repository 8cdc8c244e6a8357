"""From what came back from a submission's process to one :class:`Result` per exercise, and a status.

A failure is the grader's, not the student's, only on positive evidence that the submission did not
cause it: the child stopped before it read the notebook; or a case raised (or the child's own code
failed) with no frame of the submission's cells in the traceback while the process was intact
(builtins and the libraries' functions as the grader left them); or the submission could not import a
module the grader's own interpreter finds. Such exercises get status ``grader_error`` and no points
(not 0); a submission with one gets the status ``grader-error``, and ``genlearn grade --resume`` grades
it again once the cause is fixed.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from genlearn.checks.exercise import Exercise
from genlearn.checks.result import Result
from genlearn.checks.steps import encode, judge, make_inputs
from genlearn.grading.job import JobResult, how_it_ended
from genlearn.grading.seal import BLOCKED, is_student_file

__all__ = ["job_inputs", "results_of", "SUBMISSION_STATUSES", "grader_fault"]

SUBMISSION_STATUSES = ("graded", "timeout", "error", "unreadable", "grader-error")
GRADER_FAILED = "the grader failed, not your code ({why}); your instructor will grade this exercise again"


def job_inputs(exercises: list[Exercise], seed: int) -> tuple[dict[str, list], bytes]:
    """Every case's inputs, drawn from ``seed``: as data (kept by the grader) and as bytes (sent)."""
    inputs = {ex.id: make_inputs(ex, seed) for ex in exercises}
    return inputs, encode(inputs)


def _importable_here(module: str) -> bool:
    if any(module == b or module.startswith(b + ".") for b in BLOCKED):
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def grader_fault(outcome: Any, intact: bool, display_name: str) -> str | None:
    """Why a case's failure is the grader's (``None`` when it is, or may be, the student's)."""
    if not isinstance(outcome, list):
        return None
    for case in outcome:
        if not isinstance(case, dict) or "raised" not in case:
            continue
        frames = [f for f in case.get("frames") or [] if isinstance(f, str)]
        why = f"{case['raised']}: {case.get('message', '')}".rstrip(": ")
        module = case.get("module")
        if case["raised"] in ("ModuleNotFoundError", "ImportError") and isinstance(module, str) \
                and _importable_here(module):
            return f"the grading process could not import {module}, which the grader's Python has: {why}"
        if intact and frames and not any(is_student_file(f, display_name) for f in frames):
            return f"{why} (raised in {frames[-1]})"
    return None


def _crash_fault(result: JobResult, display_name: str) -> str | None:
    crash = result.crash
    if not isinstance(crash, dict) or not crash.get("intact"):
        return None
    frames = [f for f in crash.get("frames") or [] if isinstance(f, str)]
    if frames and not any(is_student_file(f, display_name) for f in frames):
        return str(crash.get("last", "the grading process failed"))[:300]
    return None


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "no output"


def results_of(exercises: list[Exercise], functions: list[str], inputs: dict[str, list],
               result: JobResult, display_name: str = "") -> tuple[list[Result], str]:
    """Verify each exercise's outcomes in this process; the submission's status is one of
    :data:`SUBMISSION_STATUSES`."""
    if result.unreadable:
        why = f"could not read the notebook: {result.unreadable}"
        return [Result(ex.id, "error", why, 0, len(ex.cases), ex.points) for ex in exercises], "unreadable"
    if not result.started and not result.timeout:  # nothing of the submission ran: the grader's failure
        why = GRADER_FAILED.format(why=f"its process stopped before reading the notebook: {_last_line(result.stderr)}")
        return [Result(ex.id, "grader_error", why, 0, len(ex.cases), ex.points) for ex in exercises], "grader-error"
    problems = (result.loaded or {}).get("problems") or []
    blocked = [p for p in problems if "CheckerBlocked" in p]
    crash_fault = _crash_fault(result, display_name)
    results: list[Result] = []
    for k, (ex, function) in enumerate(zip(exercises, functions, strict=True)):
        record: Any = result.outcomes.get(k, ...)
        if isinstance(record, dict) and "outcome" in record:
            outcome, intact, forbidden = record["outcome"], bool(record.get("intact")), record.get("forbidden") or []
        else:
            outcome, intact, forbidden = record, False, []
        if k in result.stops:
            if crash_fault and record is ...:
                results.append(Result(ex.id, "grader_error", GRADER_FAILED.format(why=crash_fault), 0,
                                      len(ex.cases), ex.points))
                continue
            why = f"stopped while this exercise ran: {result.stops[k]}"
        elif outcome is ...:
            why = f"stopped while loading the notebook's definitions: {how_it_ended(result)}"
        elif isinstance(outcome, dict) and "missing" in outcome:
            why = f"function {function!r} is not defined in the notebook"
            if problems:
                why += f" ({problems[0]})"
        elif (fault := grader_fault(outcome, intact, display_name)) is not None:
            results.append(Result(ex.id, "grader_error", GRADER_FAILED.format(why=fault), 0, len(ex.cases),
                                  ex.points))
            continue
        elif forbidden:
            results.append(Result(ex.id, "failed", f"your code calls {', '.join(map(str, forbidden))}, which this "
                                  "assignment does not allow: write it yourself", 0, len(ex.cases), ex.points))
            continue
        else:
            verdict = judge(ex, inputs[ex.id], outcome)
            if not verdict.passed and blocked:
                verdict.message += f" ({blocked[0]})"
            results.append(verdict)
            continue
        results.append(Result(ex.id, "error", why, 0, len(ex.cases), ex.points))
    if any(r.status == "grader_error" for r in results):
        status = "grader-error"
    elif result.timeout:
        status = "timeout"
    elif result.stops or result.crashed_runner or len(result.outcomes) < len(exercises):
        status = "error"
    else:
        status = "graded"
    return results, status
