"""What runs in a submission's own process: load its definitions, run the student side of each check.

Works in the current folder (the submission's job folder, relative paths only):

* reads ``job.json`` (the notebook's file name, the ``[exercise id, function name]`` pairs and
  the index to start from) and ``inputs.pt`` (every case's inputs, made by the grader);
* writes ``status.json`` once the notebook is read (``{"unreadable": why}`` if it cannot be),
  ``loaded.json`` once its definitions ran, and ``out-NNN.pt`` (the plain outcomes of exercise
  NNN) after each exercise, so that what finished counts even if a later exercise ends the process.

Nothing here decides a verdict: the grader verifies the outcomes in its own process.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["main", "write_atomic"]


def write_atomic(name: str, data: bytes) -> None:
    """Write ``name`` through a temporary file, so that a reader never sees half of it."""
    tmp = f".{name}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, name)


def main() -> None:
    from genlearn.checks.exercise import registry
    from genlearn.checks.notebook import code_cells, load_definitions
    from genlearn.checks.verdict import decode, encode, run_exercise

    job = json.loads(Path("job.json").read_text())
    inputs = decode(Path("inputs.pt").read_bytes())
    exercises = registry()
    try:
        cells = code_cells(job["notebook"])
    except Exception as err:  # not a notebook: nothing of the student's has run yet
        write_atomic("status.json", json.dumps({"unreadable": f"{type(err).__name__}: {err}"[:500]}).encode())
        return
    write_atomic("status.json", b"{}")
    namespace, problems = load_definitions(cells, job.get("display_name", job["notebook"]))
    write_atomic("loaded.json", json.dumps({"problems": problems[:20]}).encode())
    for k, (exercise_id, function_name) in enumerate(job["exercises"]):
        if k < job.get("start", 0):  # a rerun after a crash or timeout: the earlier ones are done
            continue
        fn = namespace.get(function_name)
        if not callable(fn):
            outcome: object = {"missing": function_name}
        else:
            outcome = run_exercise(exercises[exercise_id], fn, inputs[exercise_id])
        write_atomic(f"out-{k:03d}.pt", encode(outcome))
