"""What grading writes: ``grades.csv``, ``feedback/<student>.txt``, ``gradescope/<student>/results.json``."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from genlearn.checks.exercise import Exercise
from genlearn.checks.result import Result

__all__ = ["StudentGrade", "write_reports", "points_text"]

_STATUS_TEXT = {
    "graded": "graded",
    "timeout": "an exercise ran past the time limit; the exercises after it were run again and count",
    "error": "your code ended the process; the exercises after the one that did were run again and count",
    "unreadable": "your notebook could not be read",
}


@dataclass
class StudentGrade:
    """One student's results and the submission's status (graded, timeout, error, unreadable)."""

    student: str
    status: str
    results: list[Result]

    @property
    def total(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max(self) -> float:
        return sum(r.max_points for r in self.results)


def points_text(value: float) -> str:
    """1.0 -> "1", 0.5 -> "0.5"."""
    return f"{value:g}"


def _feedback(grade: StudentGrade, exercises: dict[str, Exercise]) -> str:
    lines = [f"{grade.student}: {points_text(grade.total)} / {points_text(grade.max)} points "
             f"({_STATUS_TEXT.get(grade.status, grade.status)})", ""]
    for r in grade.results:
        lines.append(f"{r.line()}  [{points_text(r.points)}/{points_text(r.max_points)}]")
        if not r.passed and r.name in exercises:
            lines.append(f"    hint: {exercises[r.name].hints[0]}")
    return "\n".join(lines) + "\n"


def _gradescope(grade: StudentGrade) -> dict:
    return {
        "score": grade.total,
        "max_score": grade.max,
        "output": _STATUS_TEXT.get(grade.status, grade.status),
        "tests": [{"name": r.name, "score": r.points, "max_score": r.max_points, "output": r.line(),
                   "status": "passed" if r.passed else "failed", "visibility": "visible"} for r in grade.results],
    }


def write_reports(out: Path, exercise_ids: list[str], grades: list[StudentGrade],
                  exercises: dict[str, Exercise]) -> None:
    """Write the gradebook, one feedback file per student and Gradescope's results."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *exercise_ids, "total", "max", "status"])
        for g in grades:
            by_id = {r.name: r for r in g.results}
            writer.writerow([g.student, *(points_text(by_id[i].points) for i in exercise_ids),
                             points_text(g.total), points_text(g.max), g.status])
    for g in grades:
        (out / "feedback" / f"{g.student}.txt").write_text(_feedback(g, exercises))
        folder = out / "gradescope" / g.student
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(_gradescope(g), indent=1) + "\n")
