"""Grading a class: each submission in its own limited process, verdicts decided by the grader.

    genlearn grade NOTEBOOK SUBMISSIONS --out DIR [--workers N] [--timeout S] [--memory MB]
                   [--seed N] [--sandbox]

The exercise notebook ``NOTEBOOK`` defines the exercises (its ``check("id", fn)`` calls).
For every submission the grader draws the check inputs from ``--seed``, runs the student's
definitions and functions in a forked child of a fork server (:mod:`.zygote`) under time, CPU,
memory, file-size and process limits (:mod:`.limits`), optionally inside bubblewrap
(:mod:`.sandbox`), reads back only plain outputs and verifies them itself (:mod:`.outcomes`).
When the process times out or ends during exercise k, it runs the submission again from
exercise k + 1 (:func:`.runner.run_submission`). Then it writes ``grades.csv``, ``feedback/``
and Gradescope's ``results.json`` (:mod:`.report`). ``genlearn check`` runs one notebook the same way
(:func:`.notebook_check.run_notebook`).
"""

from genlearn.grading.grade import GradeSummary, grade
from genlearn.grading.job import JobResult
from genlearn.grading.limits import Limits
from genlearn.grading.notebook_check import run_notebook
from genlearn.grading.runner import Runner
from genlearn.grading.sandbox import PLAIN_WARNING, GradingError, bwrap_path

__all__ = ["grade", "GradeSummary", "Limits", "Runner", "JobResult", "GradingError", "bwrap_path",
           "PLAIN_WARNING", "run_notebook"]
