"""What grading writes: ``grades.csv``, ``feedback/<student>.txt``, ``gradescope/<student>/results.json``,
and the class report ``summary.md`` / ``summary.html``.

The gradebook is rewritten (atomically) after every student, and each finished student's grade is
kept as a row file (``.rows/<student>.json``), so that a run killed midway loses nothing and
``--resume`` grades only the students without a final row.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from genlearn.checks.exercise import Exercise
from genlearn.checks.result import Result

__all__ = ["StudentGrade", "write_reports", "write_student", "write_gradebook", "write_summary", "points_text",
           "load_rows", "ROWS", "VISIBILITIES", "gradescope_results"]

ROWS = ".rows"  # OUT/.rows/<student>.json: one finished student each
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")

_STATUS_TEXT = {
    "graded": "graded",
    "timeout": "an exercise ran past the time limit; the exercises after it were run again and count",
    "error": "your code ended the process; the exercises after the one that did were run again and count",
    "unreadable": "your notebook could not be read",
    "grader-error": "the grader failed on part of your notebook (not your fault); those exercises have no score "
                    "yet and will be graded again",
}


@dataclass
class StudentGrade:
    """One student's results, the submission's status (graded, timeout, error, unreadable, grader-error) and
    the seconds its grading took."""

    student: str
    status: str
    results: list[Result]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max(self) -> float:
        return sum(r.max_points for r in self.results)

    @property
    def final(self) -> bool:
        """A grade that stands: anything but a grader error (which is graded again)."""
        return self.status != "grader-error"

    def to_json(self) -> dict:
        return {**asdict(self), "results": [asdict(r) for r in self.results]}

    @classmethod
    def from_json(cls, data: dict) -> StudentGrade:
        return cls(data["student"], data["status"], [Result(**r) for r in data["results"]],
                   float(data.get("seconds", 0.0)), list(data.get("notes", [])))


def points_text(value: float) -> str:
    """1.0 -> "1", 0.5 -> "0.5"."""
    return f"{value:g}"


def _cell(r: Result) -> str:
    return "" if r.status == "grader_error" else points_text(r.points)


def _total(g: StudentGrade) -> str:
    return "" if not g.final else points_text(g.total)


def _feedback(grade: StudentGrade, exercises: dict[str, Exercise]) -> str:
    score = f"{points_text(grade.total)} / {points_text(grade.max)} points" if grade.final else \
        f"no score yet / {points_text(grade.max)} points"
    lines = [f"{grade.student}: {score} ({_STATUS_TEXT.get(grade.status, grade.status)})", ""]
    for r in grade.results:
        lines.append(f"{r.line()}  [{_cell(r) or '-'}/{points_text(r.max_points)}]")
        if not r.passed and r.status != "grader_error" and r.name in exercises:
            lines.append(f"    hint: {exercises[r.name].hints[0]}")
    return "\n".join(lines + grade.notes) + "\n"


def gradescope_results(grade: StudentGrade, visibility: str = "visible") -> dict:
    """Gradescope's ``results.json`` for one student: one test per exercise."""
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, got {visibility!r}")
    return {
        "score": grade.total,
        "max_score": grade.max,
        "output": _STATUS_TEXT.get(grade.status, grade.status),
        "visibility": visibility,
        "stdout_visibility": "hidden",
        "tests": [{"name": r.name, "score": r.points, "max_score": r.max_points, "output": r.line(),
                   "status": "passed" if r.passed else "failed", "visibility": visibility} for r in grade.results],
    }


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_gradebook(out: Path, exercise_ids: list[str], grades: list[StudentGrade]) -> None:
    """``grades.csv``, sorted by student, written through a temporary file (never half a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student", *exercise_ids, "total", "max", "status"])
    for g in sorted(grades, key=lambda g: g.student):
        by_id = {r.name: r for r in g.results}
        writer.writerow([g.student, *(_cell(by_id[i]) for i in exercise_ids), _total(g), points_text(g.max),
                         g.status])
    _write_atomic(out / "grades.csv", buffer.getvalue())


def write_student(out: Path, grade: StudentGrade, exercises: dict[str, Exercise]) -> None:
    """One student's feedback, Gradescope results and row file."""
    (out / "feedback").mkdir(exist_ok=True)
    _write_atomic(out / "feedback" / f"{grade.student}.txt", _feedback(grade, exercises))
    folder = out / "gradescope" / grade.student
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / "results.json", json.dumps(gradescope_results(grade), indent=1) + "\n")
    (out / ROWS).mkdir(exist_ok=True)
    _write_atomic(out / ROWS / f"{grade.student}.json", json.dumps(grade.to_json()) + "\n")


def load_rows(out: Path) -> dict[str, StudentGrade]:
    """The students already graded in ``out`` (their row files)."""
    found = {}
    for path in sorted((out / ROWS).glob("*.json")) if (out / ROWS).is_dir() else []:
        try:
            grade = StudentGrade.from_json(json.loads(path.read_text()))
        except (ValueError, KeyError, TypeError):
            continue
        found[grade.student] = grade
    return found


def write_reports(out: Path, exercise_ids: list[str], grades: list[StudentGrade],
                  exercises: dict[str, Exercise]) -> None:
    """Write the gradebook, one feedback file per student, Gradescope's results and the class report."""
    out.mkdir(parents=True, exist_ok=True)
    for g in grades:
        write_student(out, g, exercises)
    write_gradebook(out, exercise_ids, grades)
    write_summary(out, exercise_ids, grades)


def _summary_rows(exercise_ids: list[str], grades: list[StudentGrade]) -> list[dict]:
    rows = []
    for i in exercise_ids:
        results = [r for g in grades for r in g.results if r.name == i]
        scored = [r for r in results if r.status != "grader_error"]
        failures = Counter(r.message for r in scored if not r.passed)
        rows.append({"exercise": i, "submissions": len(scored),
                     "pass_rate": sum(r.passed for r in scored) / len(scored) if scored else float("nan"),
                     "failures": failures.most_common(5),
                     "grader_errors": sum(r.status == "grader_error" for r in results)})
    return rows


def write_summary(out: Path, exercise_ids: list[str], grades: list[StudentGrade]) -> None:
    """``summary.md`` and ``summary.html``: per exercise the pass rate, the five most common failure
    messages with their counts, the grader errors; the time per submission - what to re-teach."""
    rows = _summary_rows(exercise_ids, grades)
    times = [g.seconds for g in grades if g.seconds > 0]
    timing = (f"median {statistics.median(times):.1f} s, max {max(times):.1f} s over {len(times)} submissions"
              if times else "no timings")
    statuses = Counter(g.status for g in grades)
    md = ["# Class report", "", f"{len(grades)} submissions: "
          + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ".", f"Time per submission: {timing}.", "",
          "| exercise | pass rate | graded | grader errors |", "|---|---|---|---|"]
    for row in rows:
        md.append(f"| {row['exercise']} | {row['pass_rate']:.0%} | {row['submissions']} | {row['grader_errors']} |")
    for row in rows:
        md += ["", f"## {row['exercise']}: the most common failures", ""]
        md += [f"- {n} x {message}" for message, n in row["failures"]] or ["- none"]
    errors = [g.student for g in grades if g.status == "grader-error"]
    md += ["", "## Grader errors", "", (f"{len(errors)} submissions: {', '.join(errors)} - fix the cause, then "
                                        "`genlearn grade ... --resume` grades them again") if errors else "none"]
    _write_atomic(out / "summary.md", "\n".join(md) + "\n")
    table = "".join(f"<tr><td>{html.escape(r['exercise'])}</td><td>{r['pass_rate']:.0%}</td><td>{r['submissions']}"
                    f"</td><td>{r['grader_errors']}</td></tr>" for r in rows)
    failures = "".join(f"<h2>{html.escape(r['exercise'])}: the most common failures</h2><ul>"
                       + ("".join(f"<li>{n} &times; {html.escape(m)}</li>" for m, n in r["failures"])
                          or "<li>none</li>")
                       + "</ul>" for r in rows)
    page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Class report</title><h1>Class report</h1>"
            f"<p>{html.escape(md[2])}</p><p>{html.escape(md[3])}</p><table><thead><tr><th>exercise</th>"
            f"<th>pass rate</th><th>graded</th><th>grader errors</th></tr></thead><tbody>{table}</tbody></table>"
            f"{failures}<h2>Grader errors</h2><p>{html.escape(md[-1])}</p></html>\n")
    _write_atomic(out / "summary.html", page)
