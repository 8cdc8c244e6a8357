"""What runs in a submission's own process: load its definitions, run the student side of each check.

Works in the current folder (the submission's job folder, relative paths only):

* reads ``job.json`` (the notebook's file name, the ``[exercise id, function name]`` pairs, the index
  to start from, the library functions the instructor forbids) and ``inputs.pt`` (every case's inputs,
  made by the grader);
* seals the checker away (:func:`genlearn.grading.seal.seal`) before any of the submission runs;
* writes ``status.json`` once the notebook is read (``{"unreadable": why}`` if it cannot be),
  ``loaded.json`` once its definitions ran, and ``out-NNN.pt`` after each exercise: its plain
  outcomes, whether the process was still intact (builtins and the libraries' functions as the
  grader left them) and the forbidden functions the submission called;
* if the child's own code fails after the submission's code has run, ``crash.json``: the traceback's
  file names and last line, and whether the process was intact - the grader's evidence for telling
  its own failures from the student's.

Nothing here decides a verdict: the grader verifies the outcomes in its own process.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

__all__ = ["main", "write_atomic", "frames_of"]


def write_atomic(name: str, data: bytes) -> None:
    """Write ``name`` through a temporary file, so that a reader never sees half of it."""
    tmp = f".{name}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, name)


def frames_of(err: BaseException) -> list[str]:
    """The file names of the frames of ``err``'s traceback, outermost first (at most 40)."""
    return [frame.filename for frame in traceback.extract_tb(err.__traceback__)][-40:]


def MACHINERY() -> tuple:  # noqa: N802 - the checker's functions a child itself calls (kept by seal and prepare)
    from genlearn.checks.notebook import code_cells, load_definitions
    from genlearn.checks.steps import decode, encode, run_cases

    return (code_cells, load_definitions, decode, encode, run_cases)


def main() -> None:
    from genlearn.checks.notebook import code_cells, load_definitions
    from genlearn.checks.steps import decode, encode, run_cases
    from genlearn.grading.seal import fingerprint, runs_for, seal

    job = json.loads(Path("job.json").read_text())
    inputs = decode(Path("inputs.pt").read_bytes())
    runs = runs_for([exercise_id for exercise_id, _ in job["exercises"]])
    display_name = job.get("display_name", job["notebook"])
    try:
        cells = code_cells(job["notebook"])
    except Exception as err:  # not a notebook: nothing of the student's has run yet
        write_atomic("status.json", json.dumps({"unreadable": f"{type(err).__name__}: {err}"[:500]}).encode())
        return
    tracker = seal(runs, display_name, job.get("forbid", ()), machinery=MACHINERY())
    before = fingerprint()

    def intact() -> bool:
        after = fingerprint()
        return all(after.get(key, value) == value for key, value in before.items())

    write_atomic("status.json", b"{}")
    try:
        namespace, problems = load_definitions(cells, display_name)
        write_atomic("loaded.json", json.dumps({"problems": problems[:20]}).encode())
        for k, (exercise_id, function_name) in enumerate(job["exercises"]):
            if k < job.get("start", 0):  # a rerun after a crash or timeout: the earlier ones are done
                continue
            fn = namespace.get(function_name)
            tracker.used.clear()
            if not callable(fn):
                outcome: object = {"missing": function_name}
            else:
                outcome = run_cases(runs[exercise_id], fn, inputs[exercise_id])
            record = {"outcome": outcome, "intact": intact(), "forbidden": sorted(tracker.used)}
            write_atomic(f"out-{k:03d}.pt", encode(record))
    except BaseException as err:  # the grader reads crash.json and stderr.txt
        try:
            last = traceback.format_exception_only(type(err), err)[-1].strip()[:500]
            write_atomic("crash.json", json.dumps({"frames": frames_of(err), "last": last,
                                                   "intact": intact()}).encode())
        except BaseException:  # noqa: BLE001 - the process is too broken to say more
            pass
        raise
    finally:
        sys.stdout.flush()
