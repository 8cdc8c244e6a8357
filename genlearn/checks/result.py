"""The outcome of checking one exercise, as the student sees it."""

from __future__ import annotations

import html
from dataclasses import dataclass

__all__ = ["Result", "CHECK_STATUSES"]

CHECK_STATUSES = ("passed", "not_implemented", "failed", "error", "grader_error")


@dataclass
class Result:
    """``status`` is passed, not_implemented, failed, error or grader_error (the grader failed, not the
    student: no points either way, and ``genlearn grade`` leaves the gradebook cell empty); ``points``
    earned of ``max_points``."""

    name: str
    status: str
    message: str
    passed_cases: int = 0
    total_cases: int = 0
    max_points: float = 0

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def points(self) -> float:
        return self.max_points if self.passed else 0

    def __bool__(self) -> bool:
        return self.passed

    def line(self) -> str:
        mark = {"passed": "PASS", "not_implemented": "TODO", "grader_error": "GRADER ERROR"}.get(self.status, "FAIL")
        return f"[{mark}] {self.name}: {self.message}"

    def _repr_html_(self) -> str:  # a coloured line in Jupyter
        colour = {"passed": "#1a7f37", "not_implemented": "#9a6700"}.get(self.status, "#cf222e")
        return f'<pre style="color:{colour};margin:0">{html.escape(self.line())}</pre>'

    def __repr__(self) -> str:
        return self.line()
