"""``genlearn grade``: grade every submission of an exercise notebook."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from genlearn.checks.exercise import registry
from genlearn.checks.notebook import notebook_exercises
from genlearn.checks.result import Result
from genlearn.grading.limits import Limits
from genlearn.grading.report import StudentGrade, write_reports
from genlearn.grading.runner import Runner, run_submission
from genlearn.grading.sandbox import PLAIN_WARNING, GradingError, require_bwrap
from genlearn.grading.verdicts import job_inputs, results_of

__all__ = ["grade", "find_submissions", "GradeSummary"]

_SAFE = re.compile(r"[^A-Za-z0-9._@+-]")
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class GradeSummary:
    """What :func:`grade` did: the grades, the seed it drew inputs from, and the time it took."""

    grades: list[StudentGrade]
    exercise_ids: list[str]
    seed: int
    seconds: float


def _student_name(raw: str, taken: set[str]) -> str:
    name = _SAFE.sub("_", raw).lstrip(".") or "student"
    base, k = name, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def find_submissions(folder: Path, notebook_name: str) -> list[tuple[str, Path | None, str | None]]:
    """``(student, notebook, problem)`` for ``<student>.ipynb`` files and ``<student>/*.ipynb`` folders."""
    if not folder.is_dir():
        raise GradingError(f"SUBMISSIONS must be a folder, got {folder}")
    found: list[tuple[str, Path | None, str | None]] = []
    taken: set[str] = set()
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.suffix == ".ipynb" and (entry.is_file() or entry.is_symlink()):
            found.append((_student_name(entry.stem, taken), *_usable(entry)))
        elif entry.is_dir() and not entry.is_symlink():
            notebooks = sorted(p for p in entry.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            named = [p for p in notebooks if p.name == notebook_name]
            student = _student_name(entry.name, taken)
            if len(named) == 1 or len(notebooks) == 1:
                found.append((student, *_usable((named or notebooks)[0])))
            else:
                problem = "no notebook in the folder" if not notebooks else \
                    f"{len(notebooks)} notebooks in the folder and none named {notebook_name}"
                found.append((student, None, problem))
    return found


def _usable(path: Path) -> tuple[Path | None, str | None]:
    """``(path, None)`` for a plain notebook file of a sensible size, else ``(None, why not)``."""
    if path.is_symlink() or not path.is_file():
        return None, f"{path.name} is a link or not a regular file"
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name} is larger than {MAX_NOTEBOOK_BYTES // 2**20} MB"
    return path, None


def grade(notebook: str | Path, submissions: str | Path, out: str | Path, *, workers: int = 2,
          timeout: float = 60.0, memory_mb: int = 2048, seed: int | None = None, sandbox: bool = False,
          log: Callable[[str], None] | None = None) -> GradeSummary:
    """Grade every submission in ``submissions`` against the exercises of ``notebook``; write ``out``."""
    log = log or (lambda text: print(text, file=sys.stderr))
    start = time.perf_counter()
    notebook, submissions, out = Path(notebook), Path(submissions), Path(out)
    if sandbox:
        require_bwrap()
    else:
        log(PLAIN_WARNING)
    wanted = notebook_exercises(notebook)
    exercises = registry()
    unknown = [i for i, _ in wanted if i not in exercises]
    if not wanted or unknown:
        raise GradingError(f"{notebook.name} checks no known exercise" if not wanted
                           else f"{notebook.name} checks unknown exercises: {', '.join(unknown)}")
    ids, functions = [i for i, _ in wanted], [f for _, f in wanted]
    chosen = [exercises[i] for i in ids]
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    inputs, payload = job_inputs(chosen, seed)
    found = find_submissions(submissions, notebook.name)
    out.mkdir(parents=True, exist_ok=True)
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    job = {"exercises": list(wanted)}

    def one(runner: Runner, student: str, path: Path | None, problem: str | None) -> StudentGrade:
        if path is None:
            results = [Result(ex.id, "error", f"could not read the submission: {problem}", 0, len(ex.cases),
                              ex.points) for ex in chosen]
            return StudentGrade(student, "unreadable", results)
        result = run_submission(runner, path, {**job, "display_name": path.name}, payload)
        results, status = results_of(chosen, functions, inputs, result)
        return StudentGrade(student, status, results)

    with Runner(workers, limits, sandbox=sandbox, hidden=[submissions, out]) as runner:
        with ThreadPoolExecutor(workers) as pool:
            grades = list(pool.map(lambda item: one(runner, *item), found))
    write_reports(out, ids, grades, exercises)
    (out / "seed.txt").write_text(f"{seed}\n")
    return GradeSummary(grades, ids, seed, time.perf_counter() - start)

