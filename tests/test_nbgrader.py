"""`genlearn export nbgrader`: nbgrader's own generate_assignment and autograde on the export give a
solution full marks, an untouched notebook zero, and the same scores as `genlearn grade`."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from genlearn.checks.exercise import registry

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "03_kl_divergence.py"
NAME = "03_kl_divergence.ipynb"
IDS = ["kl_discrete", "kl_closed_form", "kl_logvar", "kl_mc_normal"]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
       "OMP_NUM_THREADS": "1"}


def _run(*cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    out = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    _run(sys.executable, "-m", "genlearn", "export", "nbgrader", str(SOLUTION), "--out", str(course), cwd=ROOT)
    _run(sys.executable, "-m", "nbgrader", "generate_assignment", "ps1", "--force", cwd=course)
    source = nbformat.read(course / "source" / "ps1" / NAME, as_version=4)
    wrong = nbformat.from_dict(json.loads(json.dumps(source)))
    for cell in wrong.cells:  # carol gets kl_logvar wrong
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "kl_logvar_answer":
            cell.source = "def kl_logvar(mu, logvar):\n    return (mu**2).sum(dim=-1)\n"
    release = course / "release" / "ps1" / NAME
    students = {"alice": source, "bob": nbformat.read(release, as_version=4), "carol": wrong}
    for student, nb in students.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NAME)
    _run(sys.executable, "-m", "nbgrader", "autograde", "ps1", "--force", cwd=course)
    return course


def _nbgrader_scores(course: Path) -> dict[str, dict[str, float]]:
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in ("alice", "bob", "carol"):
            (notebook,) = gb.find_submission("ps1", student).notebooks
            scores[student] = {g.name: g.score for g in notebook.grades}
    return scores


def test_export_marks_answer_and_test_cells():
    from genlearn.grading.nbgrader import nbgrader_notebook

    cells = [c.metadata["nbgrader"] for c in nbgrader_notebook(SOLUTION).cells if "nbgrader" in c.metadata]
    tests = {m["grade_id"]: m["points"] for m in cells if m["grade"]}
    assert tests == {i: registry()[i].points for i in IDS}
    assert sorted(m["grade_id"] for m in cells if m["solution"]) == sorted(f"{i}_answer" for i in IDS)


def test_autograde_gives_the_solution_full_marks_and_an_untouched_notebook_zero(course):
    scores = _nbgrader_scores(course)
    assert scores["alice"] == {i: 1.0 for i in IDS}
    assert scores["bob"] == {i: 0.0 for i in IDS}
    assert scores["carol"] == {**{i: 1.0 for i in IDS}, "kl_logvar": 0.0}


def test_genlearn_grade_agrees_with_nbgrader_autograde(course, tmp_path):
    subs = tmp_path / "subs"
    for student in ("alice", "bob", "carol"):
        (subs / student).mkdir(parents=True)
        shutil.copy(course / "submitted" / student / "ps1" / NAME, subs / student / NAME)
    _run(sys.executable, "-m", "genlearn", "grade", str(ROOT / "exercises" / NAME), str(subs), "--out",
         str(tmp_path / "out"), "--timeout", "30", cwd=ROOT)
    with open(tmp_path / "out" / "grades.csv") as f:
        ours = {row["student"]: {i: float(row[i]) for i in IDS} for row in csv.DictReader(f)}
    assert ours == _nbgrader_scores(course)
