"""The three steps of a check, and what crosses between the student's process and the checker.

* :func:`make_inputs` (checker): every case's inputs from ``seed``;
* :func:`run_exercise` (student's process): call the student's function on each case's inputs
  and return plain outcomes, never raising;
* :func:`judge` (checker): verify the outcomes and summarise them in a :class:`Result`.

Only plain data crosses: :func:`encode` / :func:`decode` serialise it with ``torch.save``
and ``torch.load(weights_only=True)``, which loads tensors, numbers, strings and containers
and nothing executable.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from typing import Any

import torch

from genlearn.checks.exercise import Exercise, Inputs
from genlearn.checks.result import Result

__all__ = ["make_inputs", "run_exercise", "run_cases", "judge", "encode", "decode", "plain", "case_seed"]

_MAX_DEPTH = 20


def case_seed(seed: int, exercise_id: str, index: int) -> int:
    """The generator seed of one case: stable, and different for every exercise and case."""
    return zlib.crc32(f"{seed}:{exercise_id}:{index}".encode())


def make_inputs(ex: Exercise, seed: int = 0) -> list[Inputs]:
    """The inputs of every case of ``ex``, drawn from ``seed``."""
    return [case.make(torch.Generator().manual_seed(case_seed(seed, ex.id, i))) for i, case in enumerate(ex.cases)]


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as plain data: detached CPU tensors, numbers, strings, lists, tuples, str-keyed dicts.

    Anything else becomes ``{"unsupported": type name}``, which every check rejects.
    """
    if depth > _MAX_DEPTH:
        return {"unsupported": "nesting too deep"}
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.layout != torch.strided:
            t = t.to_dense()
        t = t.cpu().clone()
        return t.as_subclass(torch.Tensor) if type(t) is not torch.Tensor else t
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if type(value).__module__ == "numpy":
        return plain(torch.as_tensor(value.tolist() if hasattr(value, "tolist") else value), depth + 1)
    if isinstance(value, (list, tuple)):
        items = [plain(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    return {"unsupported": type(value).__name__}


def _outcome_of(run: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"ok": plain(run())}
    except (Exception, SystemExit) as err:  # the student's code raised: report it, never re-raise
        text = str(err).strip().splitlines()
        outcome = {"raised": type(err).__name__, "message": text[0][:500] if text else "",
                   # where it was raised (file names of the traceback's frames): the grader tells its own
                   # failures (no frame in the submission) from the student's
                   "frames": [f.f_code.co_filename for f, _ in _walk(err.__traceback__)][-40:]}
        if isinstance(err, ImportError) and err.name:
            outcome["module"] = str(err.name)
        return outcome


def _walk(tb: Any) -> Any:
    while tb is not None:
        yield tb.tb_frame, tb.tb_lineno
        tb = tb.tb_next


def run_cases(runs: list[Callable[[Callable, Inputs], Any]], fn: Callable,
              inputs: list[Inputs]) -> list[dict[str, Any]]:
    """Student side: one outcome per case (``runs`` are the cases' run steps), ``{"ok": outputs}`` or
    ``{"raised": name, "message": text, "frames": [...]}``.

    Stops after the first case that raises (its later cases would not be reported anyway).
    """
    outcomes = []
    for run, inp in zip(runs, inputs, strict=True):
        outcomes.append(_outcome_of(lambda run=run, inp=inp: run(fn, inp)))
        if "raised" in outcomes[-1]:
            break
    return outcomes


def run_exercise(ex: Exercise, fn: Callable, inputs: list[Inputs]) -> list[dict[str, Any]]:
    """Student side of every case of ``ex`` (see :func:`run_cases`)."""
    return run_cases([case.run for case in ex.cases], fn, inputs)


def judge(ex: Exercise, inputs: list[Inputs], outcomes: Any) -> Result:
    """Checker side: verify each case's outcome against its inputs; never raises."""
    n = len(ex.cases)

    def result(status: str, message: str, passed: int) -> Result:
        return Result(ex.id, status, message, passed, n, ex.points)

    if not isinstance(outcomes, (list, tuple)):
        return result("error", "no results came back from your notebook", 0)
    for i, (case, inp) in enumerate(zip(ex.cases, inputs, strict=True)):
        if i >= len(outcomes) or not isinstance(outcomes[i], dict):
            return result("error", f"check {i + 1}/{n}: no result came back (did your code end the process?)", i)
        outcome = outcomes[i]
        if "raised" in outcome:
            if outcome["raised"] == "NotImplementedError":
                return result("not_implemented", "not implemented yet - replace `raise NotImplementedError` with "
                              f"your code (stuck? ask for a hint: hint({ex.id!r}))", i)
            return result("error", f"check {i + 1}/{n}: your function raised {outcome['raised']}: "
                          f"{outcome.get('message', '')}".rstrip(": "), i)
        try:
            case.verify(inp, outcome.get("ok"))
        except AssertionError as err:
            text = str(err).strip().splitlines()
            return result("failed", f"check {i + 1}/{n} failed: {text[0] if text else 'wrong result'}", i)
        except Exception as err:  # outputs of an unexpected kind
            return result("failed", f"check {i + 1}/{n} failed: unexpected result ({type(err).__name__}: {err})", i)
    plural = "s" if n != 1 else ""
    return result("passed", f"all {n} check{plural} passed", n)


def encode(obj: Any) -> bytes:
    """Plain data as bytes (``torch.save``)."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def decode(data: bytes) -> Any:
    """Bytes from :func:`encode`, loaded with ``weights_only=True`` (no code runs)."""
    return torch.load(io.BytesIO(data), weights_only=True)
