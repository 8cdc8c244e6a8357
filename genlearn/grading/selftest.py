"""The grader's self-test: a known-good submission every worker grades before the class.

Its one exercise (not part of the course; not in the registry) exercises what a real submission
needs of its process: importing every module the assignment's notebook imports (afresh where the
fork server did not preload it, so a package folder the child cannot read shows), autograd and an
optimiser step, and returning tensors. Its notebook is correct, so anything short of full marks is
the grader's failure (a sandbox the child cannot see through, a package it cannot read, a limit
too tight), and ``genlearn grade`` stops before grading anyone (:func:`genlearn.grading.grade.grade`).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import torch

from genlearn.checks.exercise import Exercise

__all__ = ["SELFTEST", "SELFTEST_NOTEBOOK", "selftest_notebook", "notebook_imports"]

SELFTEST = Exercise("genlearn_selftest", "the grader's self-test: a known-good answer",
                    ("not a course exercise", "see genlearn.grading.selftest"), 1, __name__)

SELFTEST_NOTEBOOK = '''# %%
import torch
from genlearn.checks import check

# %%
def selftest_answer(x):
    """A known-good answer: twice x, through autograd and one optimiser step of nothing."""
    weight = torch.nn.Parameter(torch.zeros(()))
    optimiser = torch.optim.Adam([weight], lr=0.1)
    (weight * x.sum()).backward()
    optimiser.step()
    return 2 * x

# %%
check("genlearn_selftest", selftest_answer)
'''


def selftest_notebook() -> str:
    """The self-test submission as ``.ipynb`` text."""
    import jupytext

    return jupytext.writes(jupytext.reads(SELFTEST_NOTEBOOK, fmt="py:percent"), fmt="ipynb")


def _environment_run(fn: Any, inp: dict) -> Any:
    importlib.invalidate_caches()
    for name in inp.get("modules", []):  # what the assignment's notebook imports, afresh where not preloaded
        importlib.import_module(name)
    return fn(inp["x"])


def notebook_imports(path: str | os.PathLike) -> list[str]:
    """The modules an exercise notebook imports (absolute imports; genlearn's checker left out): a submission
    will import them too, so the self-test child must be able to."""
    import ast

    from genlearn.checks.notebook import code_cells

    found: list[str] = []
    for source in code_cells(path):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            found += [n for n in names if not n.startswith(("genlearn.checks", "genlearn.grading")) and n not in found]
    return found


@SELFTEST.case(make=lambda gen: {"x": torch.randn(4, generator=gen, dtype=torch.float64)}, run=_environment_run)
def _twice(inp: dict, out: Any) -> None:
    assert isinstance(out, torch.Tensor) and torch.equal(out, 2 * inp["x"]), "the self-test answer came back wrong"
