"""Grading an instructor can trust: the sandbox wherever Python lives, a self-test before the class, the
grader's failures never a student's 0, nothing lost to a kill, no answer key, Gradescope, a class report.

(The full class of honest and cheating submissions, with and without the sandbox, as root and as an
unprivileged user, from a checkout two folders deep under /tmp, is tests/test_grade.py.)
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from test_grade import GOOD, KEY_IMPORT, READS_SOLUTIONS, _instructor, notebook, with_

from genlearn.bench import grade_class as grade_bench
from genlearn.checks.result import Result
from genlearn.grading.runner import JobResult

ROOT = Path(__file__).resolve().parent.parent
IDS = list(grade_bench.IDS)
needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None and not os.environ.get("CI"),
                                 reason="bubblewrap (bwrap) is not installed; with CI=true this fails instead")
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (children drop to another uid)")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def small_class(folder: Path) -> dict[str, int]:
    """A correct submission, the answer-key import and the solution-file reader; their scores in a sandbox."""
    folder.mkdir(parents=True, exist_ok=True)
    subs = {"correct": (GOOD, 5), "key_import": (with_(kl_closed_form=KEY_IMPORT), 4),
            "reads_solutions": (with_(kl_closed_form=READS_SOLUTIONS), 4)}
    for name, (cells, _) in subs.items():
        (folder / f"{name}.ipynb").write_text(notebook(cells))
    return {name: score for name, (_, score) in subs.items()}


def rows_of(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def grade_cmd(python: str | Path, tmp: Path, subs: Path, out: Path, *extra: str) -> list[str]:
    return [str(python), "-m", "genlearn", "grade", str(_instructor(tmp)), str(subs), "--out", str(out),
            "--workers", "1", "--timeout", "20", "--seed", "7", *extra]


def venv_at(folder: Path) -> Path:
    """A venv at ``folder`` (anywhere: nested, with spaces, in a home folder) that sees this environment's
    packages (genlearn, torch) through a .pth file; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, capture_output=True)
    site = next(folder.glob("lib/python*/site-packages"))
    ours = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "torch").is_dir())
    (site / "genlearn_test_parent.pth").write_text(f"import site; site.addsitedir({str(ours)!r})\n")
    return folder / "bin" / "python"


PLACEMENTS = {
    "nested under /tmp": lambda tmp: tmp / "a" / "b" / "venv",
    "a path with spaces": lambda tmp: tmp / "course files" / "my venv",
    "a home folder": lambda tmp: tmp / "home" / "alice" / ".venvs" / "course",
    "a read-only folder": lambda tmp: tmp / "ro" / "venv",
}


@needs_bwrap
@pytest.mark.parametrize("placement", list(PLACEMENTS))
def test_the_sandbox_works_wherever_python_lives(tmp_path, placement):
    where = PLACEMENTS[placement](tmp_path)
    python = venv_at(where)
    if placement == "a home folder":
        (tmp_path / "home" / "alice").chmod(0o700)  # as home folders are
    if placement == "a read-only folder":
        for p in [where, *where.rglob("*")]:
            if not p.is_symlink():
                p.chmod(p.stat().st_mode & ~0o222)
    honest = small_class(tmp_path / "subs")
    run = subprocess.run(grade_cmd(python, tmp_path, tmp_path / "subs", tmp_path / "out", "--sandbox"),
                         capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = rows_of(tmp_path / "out")
    assert {s: float(r["total"]) for s, r in rows.items()} == honest
    assert all(r["status"] == "graded" for r in rows.values())


def test_a_broken_sandbox_stops_before_grading_with_one_line(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    small_class(tmp_path / "subs")
    run = subprocess.run(grade_cmd(sys.executable, tmp_path, tmp_path / "subs", tmp_path / "out", "--sandbox"),
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**ENV, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"})
    assert run.returncode == 2, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "bwrap exited with status 1" in lines[0] and "Permission denied" in lines[0]
    assert not (tmp_path / "out" / "grades.csv").exists()


@needs_root
def test_an_interpreter_folder_the_child_cannot_read_fails_the_self_test(tmp_path):
    python = venv_at(tmp_path / "a" / "b" / "venv")
    site = next((tmp_path / "a" / "b" / "venv").glob("lib/python*/site-packages"))
    (site / "course_helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    site.chmod(0o700)  # the grader (root) reads it; the children (nobody) cannot
    small_class(tmp_path / "subs")
    instructor = tmp_path / "exercises.py"
    cmd = grade_cmd(python, tmp_path, tmp_path / "subs", tmp_path / "out")
    instructor.write_text("# %%\nimport course_helpers\n" + instructor.read_text())  # the assignment uses it
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    lines = [ln for ln in run.stderr.strip().splitlines() if not ln.startswith("warning: grading without")]
    assert len(lines) == 1 and "self-test failed" in lines[0] and "could not import course_helpers" in lines[0]
    assert not (tmp_path / "out" / "grades.csv").exists()


def test_kill_9_midway_then_resume_equals_one_uninterrupted_run(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    grade_bench.write_class(subs, 8)
    whole = subprocess.run(grade_cmd(sys.executable, tmp_path, subs, tmp_path / "whole"), capture_output=True,
                           text=True, cwd=ROOT, env=ENV, timeout=300)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(grade_cmd(sys.executable, tmp_path, subs, out), cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(list((out / ".rows").glob("student*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(rows_of(out))
    assert 3 <= kept < 8, kept  # killed midway, with every finished row in the gradebook
    resumed = subprocess.run(grade_cmd(sys.executable, tmp_path, subs, out, "--resume"), capture_output=True,
                             text=True, cwd=ROOT, env=ENV, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"graded {8 - kept} submissions" in resumed.stdout and f"kept {kept} graded before" in resumed.stdout
    assert (out / "grades.csv").read_text() == (tmp_path / "whole" / "grades.csv").read_text()


def test_grader_errors_are_not_zeros_and_forbidden_calls_are_reported(tmp_path):
    # a module the grader's Python finds but its children (isolated, -I) do not: the grader's failure
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "course_helpers.py").write_text("def twice(x):\n    return 2 * x\n")
    needs = "def bits_per_dim(nats, n_dims):\n    import course_helpers\n    return nats / (n_dims * math.log(2))\n"
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "correct.ipynb").write_text(notebook(GOOD))
    (subs / "needs_module.ipynb").write_text(notebook(with_(bits_per_dim=needs)))
    run = subprocess.run(grade_cmd(sys.executable, tmp_path, subs, tmp_path / "out", "--forbid", "torch.where"),
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**ENV, "PYTHONPATH": str(extra)})
    assert run.returncode == 3, run.stdout + run.stderr
    assert "grader errors (no score, not 0) for 1 submissions: needs_module" in run.stdout
    rows = rows_of(tmp_path / "out")
    assert rows["needs_module"]["bits_per_dim"] == "" and rows["needs_module"]["total"] == ""
    assert rows["needs_module"]["status"] == "grader-error"
    feedback = (tmp_path / "out" / "feedback" / "needs_module.txt").read_text()
    assert "[GRADER ERROR] bits_per_dim: the grader failed, not your code" in feedback and "course_helpers" in feedback
    # torch.where is forbidden: kl_discrete (which calls it) scores 0 and says why; the rest stands
    assert rows["correct"]["kl_discrete"] == "0" and rows["correct"]["total"] == "4"
    assert "calls torch.where, which this assignment does not allow" in \
        (tmp_path / "out" / "feedback" / "correct.txt").read_text()
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| bits_per_dim | 100% | 1 | 1 |" in summary and "needs_module" in summary


def _job(outcome, intact=True, started=True, crash=None) -> JobResult:
    result = JobResult(exit=0, started=started, loaded={"problems": []}, crash=crash)
    result.outcomes = {0: {"outcome": outcome, "intact": intact, "forbidden": []}}
    return result


def test_a_failure_is_the_graders_only_on_evidence():
    from genlearn.checks.exercise import registry
    from genlearn.grading.outcomes import job_inputs, results_of

    ex = registry()["bits_per_dim"]
    inputs, _ = job_inputs([ex], 0)
    inside = [{"raised": "RuntimeError", "message": "boom", "frames": ["/x/genlearn/checks/steps.py"]}]
    theirs = [{"raised": "RuntimeError", "message": "boom",
               "frames": ["/x/genlearn/checks/steps.py", "alice.ipynb[cell 3]"]}]

    def status(result: JobResult) -> tuple[str, str]:
        results, overall = results_of([ex], ["bits_per_dim"], inputs, result, "alice.ipynb")
        return results[0].status, overall

    assert status(_job(inside)) == ("grader_error", "grader-error")
    assert status(_job(theirs)) == ("error", "graded")  # a frame of the submission: the student's
    assert status(_job(inside, intact=False)) == ("error", "graded")  # it broke builtins or torch first
    assert status(_job(None, started=False)) == ("grader_error", "grader-error")  # stopped before reading it
    blocked = [{"raised": "CheckerBlocked", "message": "genlearn.checks.kl is genlearn's checker",
                "frames": ["alice.ipynb[cell 2]", "/x/genlearn/grading/seal.py"], "module": "genlearn.checks.kl"}]
    assert status(_job(blocked)) == ("error", "graded")
    assert Result("x", "grader_error", "m").line().startswith("[GRADER ERROR] x")


def test_check_in_a_notebook_cannot_import_the_answer_key(tmp_path):
    path = tmp_path / "thief.py"
    path.write_text("# %%\nimport torch\nfrom genlearn.checks import check\n\n# %%\n" + KEY_IMPORT
                    + "\n# %%\ncheck('kl_closed_form', kl_closed_form)\n")
    run = subprocess.run([sys.executable, "-m", "genlearn", "check", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, env=ENV)
    assert run.returncode == 1 and "[FAIL] kl_closed_form" in run.stdout
    assert "cannot be imported by graded code" in run.stdout


def test_gradescope_bundle_grades_a_submission_in_a_fake_autograder_tree(tmp_path):
    bundle = tmp_path / "autograder.zip"
    run = subprocess.run([sys.executable, "-m", "genlearn", "export", "gradescope", str(_instructor(tmp_path)),
                          "--out", str(bundle), "--visibility", "after_due_date"], capture_output=True, text=True,
                         cwd=ROOT, timeout=120, env=ENV)
    assert run.returncode == 0, run.stderr
    with zipfile.ZipFile(bundle) as zf:
        names = set(zf.namelist())
        assert {"setup.sh", "run_autograder", "genlearn-autograder.json", "exercises.py"} <= names
        assert (zf.getinfo("run_autograder").external_attr >> 16) & 0o111
        assert "download.pytorch.org/whl/cpu" in zf.read("setup.sh").decode()
    expected = {"solution": 5, "untouched": 0, "cheating": 4}
    texts = {"solution": notebook(GOOD), "untouched": notebook({i: f"def {i}(*a):\n    raise NotImplementedError\n"
                                                                for i in IDS}),
             "cheating": notebook(with_(kl_closed_form=KEY_IMPORT))}
    for name, text in texts.items():
        root = tmp_path / name
        (root / "submission").mkdir(parents=True)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(root / "source")
        (root / "source" / "run_autograder").chmod(0o755)
        (root / "submission" / "exercises.ipynb").write_text(text)
        run = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True, timeout=300,
                             env={**ENV, "GENLEARN_AUTOGRADER_ROOT": str(root), "GENLEARN_PYTHON": sys.executable})
        assert run.returncode == 0, run.stderr
        results = json.loads((root / "results" / "results.json").read_text())
        assert results["score"] == expected[name], (name, results)
        assert [t["name"] for t in results["tests"]] == IDS
        assert {t["visibility"] for t in results["tests"]} == {"after_due_date"}
        assert all(t["max_score"] == 1 and t["output"].startswith("[") for t in results["tests"])
