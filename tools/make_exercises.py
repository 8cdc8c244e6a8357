"""Generate the student notebooks in exercises/ from the solution notebooks in solutions/.

In a solution's code, the answer sits between two marker lines (the markers
nbgrader and otter-grader read)::

    def kl_logvar(mu, logvar):
        # BEGIN SOLUTION
        ...answer...
        # END SOLUTION

and is replaced by ``raise NotImplementedError("Your turn ... hint('kl_logvar')")``
at the same indentation; the id is the one the notebook's ``check("id", fn)`` call
gives the enclosing function. The hints live with the exercise in
``genlearn.checks``, never in the notebook. In a markdown cell (lines starting
with ``# ``), a marked block is removed. Usage::

    python tools/make_exercises.py          # write exercises/*.py and *.ipynb
    python tools/make_exercises.py --check  # exit 1 if the committed ones differ
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = re.compile(r"^(?P<indent>\s*)(?P<md># )?# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*(# )?# END SOLUTION\s*$")
OLD = re.compile(r"^\s*(# )?(#{2,} (BEGIN|END) SOLUTION|# (BEGIN|END) SOLUTION\S.*|# (BEGIN|END) SOLUTION\s+\S.*)$")
DEF = re.compile(r"^(?P<indent>\s*)(def|class) (?P<name>\w+)[(:]")
CHECK = re.compile(r"""check\(\s*["'](?P<id>\w+)["']\s*,\s*(?P<fn>\w+)\s*\)""")


def _exercise_id(lines: list[str], at: int, checks: dict[str, str]) -> str | None:
    """The exercise id of the function or class enclosing line ``at`` (via the notebook's check calls):
    the outermost enclosing definition a check call names (a method's class), else the innermost one."""
    indent = len(lines[at]) - len(lines[at].lstrip())
    enclosing = []
    for line in reversed(lines[:at]):
        m = DEF.match(line)
        if m and len(m.group("indent")) < indent:
            enclosing.append(m.group("name"))
            indent = len(m.group("indent"))
    named = [checks[name] for name in enclosing if name in checks]
    return named[-1] if named else (enclosing[0] if enclosing else None)


def stub(indent: str, exercise_id: str | None) -> str:
    """The line that replaces a solution block."""
    if exercise_id is None:
        message = "Your turn: replace this line with your code."
    else:
        message = f"Your turn: replace this line with your code. Stuck? Ask for a hint: hint({exercise_id!r})"
    return f"{indent}raise NotImplementedError({message!r})"


def render(solution: str, source: str = "<solution>") -> str:
    """The exercise version of a solution notebook's percent-format text."""
    out: list[str] = []
    lines = solution.splitlines()
    checks = {m.group("fn"): m.group("id") for m in CHECK.finditer(solution)}
    for number, line in enumerate(lines, start=1):
        if OLD.match(line):
            raise ValueError(f"{source}:{number}: write the markers exactly `# BEGIN SOLUTION` and `# END SOLUTION` "
                             "(hints belong to the exercise in genlearn.checks)")
    i = 0
    while i < len(lines):
        m = BEGIN.match(lines[i])
        if not m:
            if END.match(lines[i]):
                raise ValueError(f"{source}:{i + 1}: END SOLUTION without BEGIN SOLUTION")
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not END.match(lines[j]):
            if BEGIN.match(lines[j]):
                raise ValueError(f"{source}:{j + 1}: nested BEGIN SOLUTION")
            j += 1
        if j == len(lines):
            raise ValueError(f"{source}:{i + 1}: BEGIN SOLUTION is never closed")
        if not m.group("md"):
            out.append(stub(m.group("indent"), _exercise_id(lines, i, checks)))
        i = j + 1
    return "\n".join(out) + "\n"


def notebook_json(py_text: str) -> str:
    """The .ipynb (no outputs) that jupytext pairs with a percent-format text."""
    import jupytext

    nb = jupytext.reads(py_text, fmt="py:percent")
    for i, cell in enumerate(nb.cells):  # nbformat draws random ids; fixed ones keep the file stable
        cell.id = f"cell-{i:03d}"
    return jupytext.writes(nb, fmt="ipynb")


def targets() -> dict[Path, str]:
    """exercises/ path -> expected content, for every solution notebook."""
    expected: dict[Path, str] = {}
    for sol in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py")):
        text = render(sol.read_text(), str(sol.relative_to(ROOT)))
        expected[ROOT / "exercises" / sol.name] = text
        expected[ROOT / "exercises" / sol.with_suffix(".ipynb").name] = notebook_json(text)
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    expected = targets()
    stale = [p for p, text in expected.items() if not p.exists() or p.read_text() != text]
    extra = [
        p for p in (ROOT / "exercises").glob("[0-9][0-9]_*")
        if p.suffix in (".py", ".ipynb") and p not in expected
    ]
    if args.check:
        for p in stale:
            print(f"out of date: {p.relative_to(ROOT)} (run `make exercises`)")
        for p in extra:
            print(f"no solution for: {p.relative_to(ROOT)}")
        return 1 if stale or extra else 0
    (ROOT / "exercises").mkdir(exist_ok=True)
    for p in stale:
        p.write_text(expected[p])
        print(f"wrote {p.relative_to(ROOT)}")
    for p in extra:
        p.unlink()
        print(f"removed {p.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
