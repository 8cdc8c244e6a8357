"""``genlearn grade``: grade every submission of an exercise notebook."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from genlearn.checks.exercise import registry
from genlearn.checks.notebook import notebook_exercises
from genlearn.checks.result import Result
from genlearn.grading.gradebook import (
    ROWS,
    StudentGrade,
    load_rows,
    points_text,
    write_gradebook,
    write_student,
    write_summary,
)
from genlearn.grading.limits import Limits
from genlearn.grading.outcomes import job_inputs, results_of
from genlearn.grading.runner import Runner, run_submission
from genlearn.grading.sandbox import PLAIN_WARNING, GradingError, require_bwrap
from genlearn.grading.selftest import SELFTEST, notebook_imports, selftest_notebook

__all__ = ["grade", "find_submissions", "GradeSummary"]

_SAFE = re.compile(r"[^A-Za-z0-9._@+-]")
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class GradeSummary:
    """What :func:`grade` did: the grades, the seed it drew inputs from, the time it took, what changed."""

    grades: list[StudentGrade]
    exercise_ids: list[str]
    seed: int
    seconds: float
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (student, before, now) on a re-run
    graded_now: int = 0  # submissions graded by this run (the others were kept by --resume)

    @property
    def grader_errors(self) -> list[str]:
        return [g.student for g in self.grades if g.status == "grader-error"]


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


def _fingerprint(notebook: Path, forbid: list[str]) -> str:
    import hashlib

    import genlearn

    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(json.dumps([genlearn.__version__, sorted(forbid)]).encode())
    return digest.hexdigest()


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".writable-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise GradingError(f"--out {out}: cannot write there ({err.strerror or err})") from None


def grade(notebook: str | Path, submissions: str | Path, out: str | Path, *, workers: int = 2,
          timeout: float = 60.0, memory_mb: int = 2048, seed: int | None = None, sandbox: bool = False,
          resume: bool = False, forbid: list[str] | tuple[str, ...] = (),
          log: Callable[[str], None] | None = None) -> GradeSummary:
    """Grade every submission in ``submissions`` against the exercises of ``notebook``; write ``out``.

    Every worker first grades the self-test (:mod:`.selftest`); anything short of full marks stops
    grading with a :class:`GradingError` naming the cause, before any grade is written. Each student's
    row is written as they finish; ``resume=True`` grades only the students without a final row (and
    reuses the seed of the run it continues).
    """
    log = log or (lambda text: print(text, file=sys.stderr))
    start = time.perf_counter()
    notebook, submissions, out = Path(notebook), Path(submissions), Path(out)
    forbid = list(forbid)
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
    for dotted in forbid:
        if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", dotted):
            raise GradingError(f"--forbid {dotted}: expected MODULE.NAME, e.g. torch.linalg.solve")
    ids, functions = [i for i, _ in wanted], [f for _, f in wanted]
    chosen = [exercises[i] for i in ids]
    _writable(out)
    fingerprint = _fingerprint(notebook, forbid)
    state_path = out / ROWS / "run.json"
    done: dict[str, StudentGrade] = {}
    previous = load_rows(out)
    if resume:
        if not state_path.is_file():
            raise GradingError(f"--resume: no earlier run in {out} (no {ROWS}/run.json); grade without --resume")
        state = json.loads(state_path.read_text())
        if seed is not None and seed != state["seed"]:
            raise GradingError(f"--resume: the run in {out} used --seed {state['seed']}, not {seed}")
        seed = int(state["seed"])
        if state.get("fingerprint") == fingerprint:
            done = {s: g for s, g in previous.items() if g.final}
        else:
            log("the notebook, genlearn or --forbid changed since that run: grading every student again")
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    inputs, payload = job_inputs(chosen, seed)
    found = find_submissions(submissions, notebook.name)
    todo = [item for item in found if item[0] not in done]
    limits = Limits(timeout=timeout, memory_mb=memory_mb)
    job = {"exercises": list(wanted), "forbid": forbid}
    lock = threading.Lock()
    grades: dict[str, StudentGrade] = {s: g for s, g in done.items() if s in {f[0] for f in found}}

    def one(runner: Runner, student: str, path: Path | None, problem: str | None) -> StudentGrade:
        began = time.perf_counter()
        if path is None:
            results = [Result(ex.id, "error", f"could not read the submission: {problem}", 0, len(ex.cases),
                              ex.points) for ex in chosen]
            g = StudentGrade(student, "unreadable", results)
        else:
            result = run_submission(runner, path, {**job, "display_name": path.name}, payload)
            results, status = results_of(chosen, functions, inputs, result, path.name)
            g = StudentGrade(student, status, results, round(time.perf_counter() - began, 3))
        with lock:  # written as each student finishes: a run killed midway loses nothing
            grades[student] = g
            write_student(out, g, exercises)
            write_gradebook(out, ids, list(grades.values()))
        return g

    with Runner(workers, limits, sandbox=sandbox, hidden=[submissions, out]) as runner:
        run_self_test(runner, notebook_imports(notebook))  # raises GradingError before any grade is written
        if not resume:
            shutil.rmtree(out / ROWS, ignore_errors=True)
            for name in ("grades.csv", "summary.md", "summary.html"):
                (out / name).unlink(missing_ok=True)
        (out / ROWS).mkdir(exist_ok=True)
        state_path.write_text(json.dumps({"seed": seed, "fingerprint": fingerprint, "exercises": ids}) + "\n")
        (out / "seed.txt").write_text(f"{seed}\n")
        if not todo:
            write_gradebook(out, ids, list(grades.values()))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda item: one(runner, *item), todo))
    ordered = [grades[s] for s, _, _ in found]
    write_summary(out, ids, ordered)
    changed = [] if resume else [
        (s, _total_text(previous[s]), _total_text(grades[s])) for s, _, _ in found
        if s in previous and _total_text(previous[s]) != _total_text(grades[s])]
    return GradeSummary(ordered, ids, seed, time.perf_counter() - start, changed, len(todo))


def _total_text(g: StudentGrade) -> str:
    return points_text(g.total) if g.final else "no score (grader error)"


def run_self_test(runner: Runner, modules: list[str] | tuple[str, ...] = ()) -> None:
    """Every worker grades the known-good self-test submission (which imports ``modules``, those of the
    assignment); raise :class:`GradingError` naming the cause (the failing child's last line of output)
    unless each earns full marks."""
    from genlearn.checks.steps import encode

    path = runner.root / "selftest.ipynb"
    path.write_text(selftest_notebook())
    inputs, _ = job_inputs([SELFTEST], 0)
    for case in inputs[SELFTEST.id]:
        case["modules"] = list(modules)
    payload = encode(inputs)
    job = {"exercises": [[SELFTEST.id, "selftest_answer"]], "display_name": path.name}
    for worker in runner.workers:
        result = worker.run(path, job, payload)
        results, _ = results_of([SELFTEST], ["selftest_answer"], inputs, result, path.name)
        if not results[0].passed:
            lines = [ln.strip() for ln in result.stderr.strip().splitlines() if ln.strip()]
            cause = lines[-1] if lines and not result.started else results[0].message
            raise GradingError(f"the grader's self-test failed, so nothing was graded: {cause[:400]}")
