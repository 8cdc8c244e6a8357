"""Hints teach, never answer: no line of a solution, nor the expression it returns, appears in an
exercise notebook or in a hint."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from genlearn.checks import registry

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_exercises  # noqa: E402

SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py"))
BLOCK = re.compile(r"^[ \t]*# BEGIN SOLUTION[ \t]*\n(?P<body>.*?)^[ \t]*# END SOLUTION", re.M | re.S)


def squeeze(text: str) -> str:
    """Text without any whitespace, so that re-spacing a line does not hide it."""
    return re.sub(r"\s+", "", text)


def _trivial_expression(node: ast.AST) -> bool:
    if isinstance(node, ast.Tuple):
        return all(_trivial_expression(e) for e in node.elts)
    return isinstance(node, (ast.Name, ast.Constant))


def answer_fragments(solution: str) -> set[str]:
    """The non-trivial lines of every solution block, and every returned expression (squeezed)."""
    found: set[str] = set()
    for block in BLOCK.finditer(solution):
        body = block.group("body")
        for line in body.splitlines():
            line = line.split("#")[0] if "#" in line and "f\"" not in line else line
            text = squeeze(line)
            if len(text) >= 10 and text not in ("else:", "return"):
                found.add(text)
        lines = body.splitlines()
        indent = min(len(ln) - len(ln.lstrip()) for ln in lines if ln.strip())
        tree = ast.parse("\n".join(ln[indent:] for ln in lines))
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and node.value is not None and not _trivial_expression(node.value):
                found.add(squeeze(ast.unparse(node.value)))
    return found


def leaks(solution: str, texts: dict[str, str]) -> list[str]:
    squeezed = {name: squeeze(text) for name, text in texts.items()}
    return [f"{fragment!r} appears in {name}" for fragment in sorted(answer_fragments(solution))
            for name, text in squeezed.items() if fragment in text]


def _hint_texts() -> dict[str, str]:
    return {f"hint {i + 1} of {ex.id}": h for ex in registry().values() for i, h in enumerate(ex.hints)}


def _ipynb_text(path: Path) -> str:
    """The cells' text (JSON escapes undone), so that a line with quotes is found too."""
    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_no_solution_line_in_exercise_notebooks_or_hints(solution):
    text = solution.read_text()
    assert answer_fragments(text), f"{solution.name}: no solution blocks found"
    texts = {f"exercises/{solution.name}": (ROOT / "exercises" / solution.name).read_text(),
             f"exercises/{solution.stem}.ipynb": _ipynb_text(ROOT / "exercises" / f"{solution.stem}.ipynb"),
             **_hint_texts()}
    found = leaks(text, texts)
    assert not found, "\n".join(found)


def test_leak_detector_finds_planted_lines_and_returns():
    solution = ("def f(x, y):\n    # BEGIN SOLUTION\n    d = (x - y) ** 2\n    return d.flatten(1).sum(1)\n"
                "    # END SOLUTION\n")
    assert leaks(solution, {"hint": "try   d=(x-y)**2  first"}) == ["'d=(x-y)**2' appears in hint"]
    assert leaks(solution, {"stub": "the answer is d.flatten(1).sum(1)"})
    assert not leaks(solution, {"hint": "square the difference, then sum over pixels"})


def test_generator_replaces_solution_with_a_stub_that_offers_hints():
    text = ("# %%\ndef f(x):\n    # BEGIN SOLUTION\n    return 2 * x\n    # END SOLUTION\n\n\n"
            "# %%\ncheck('double_it', f)\n")
    out = make_exercises.render(text)
    assert "return 2 * x" not in out
    assert ("    raise NotImplementedError(\"Your turn: replace this line with your code. Stuck? Ask for a hint: "
            "hint('double_it')\")") in out


def test_generator_drops_marked_markdown_and_rejects_unbalanced_or_old_markers():
    md = "# %% [markdown]\n# intro\n# # BEGIN SOLUTION\n# answer text\n# # END SOLUTION\n# outro\n"
    assert make_exercises.render(md) == "# %% [markdown]\n# intro\n# outro\n"
    with pytest.raises(ValueError, match="never closed"):
        make_exercises.render("    # BEGIN SOLUTION\n    x = 1\n")
    with pytest.raises(ValueError, match="without BEGIN"):
        make_exercises.render("    # END SOLUTION\n")
    for old in ("    ### BEGIN SOLUTION\n", "    # BEGIN SOLUTION (hint: double it)\n"):
        with pytest.raises(ValueError, match="exactly `# BEGIN SOLUTION`"):
            make_exercises.render(old + "    x = 1\n    # END SOLUTION\n")


def test_every_stub_tells_how_to_ask_for_a_hint():
    for solution in SOLUTIONS:
        exercise = (ROOT / "exercises" / solution.name).read_text()
        ids = re.findall(r"check\(\"(\w+)\"", exercise)
        for exercise_id in ids:
            assert f"hint('{exercise_id}')" in exercise, f"{solution.name}: the stub of {exercise_id} offers no hint"
