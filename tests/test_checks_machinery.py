"""The check machinery itself: messages a student sees, and the terminal command."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genlearn.checks import ExerciseFailed, check, run_check, run_notebook

ROOT = Path(__file__).resolve().parent.parent


def test_wrong_answer_gives_hint_not_traceback(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    result = check("kl_closed_form", lambda mu, sigma: torch.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5)
    assert result.status == "failed" and "Hint" in result.message or "log(1/sigma)" in result.message
    assert "Traceback" not in result.line()


def test_crashing_answer_is_summarised(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    result = check("kl_discrete", lambda p, q: undefined_name)  # noqa: F821
    assert result.status == "error" and "NameError" in result.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GENLEARN_CHECKS_STRICT", "1")
    with pytest.raises(ExerciseFailed, match="kl_logvar"):
        check("kl_logvar", lambda mu, logvar: mu)


def test_unknown_exercise_lists_known_ones():
    result = run_check("no_such_exercise", lambda: None)
    assert result.status == "error" and "kl_logvar" in result.message


def test_wrong_answer_written_into_a_notebook_is_caught(tmp_path):
    text = (ROOT / "exercises" / "03_kl_divergence.py").read_text()
    text = text.replace(
        "def kl_closed_form(mu, sigma):",
        "def kl_closed_form(mu, sigma):\n    return -torch.log(sigma) + sigma**2 / 2 - 0.5\n\n\n"
        "def _unused(mu, sigma):",
    )
    path = tmp_path / "03_kl_divergence.py"
    path.write_text(text)
    (result,) = run_notebook(path, only="kl_closed_form")
    assert result.status == "failed" and "mu=1.0" in result.message


def test_syntax_error_in_notebook_is_reported(tmp_path):
    path = tmp_path / "02_broken.py"
    path.write_text("# %%\ndef trapezoid_rule(f, pdf, grid)\n    return 1\n")
    (result,) = run_notebook(path)
    assert result.status == "error" and "syntax error" in result.message and "cell 1" in result.message


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "genlearn", "check", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def test_terminal_check_passes_on_solutions():
    out = _cli("solutions/02_expectation.ipynb")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 passed, 0 failed" in out.stdout


def test_terminal_check_fails_on_exercises_with_friendly_report():
    out = _cli("exercises/03_kl_divergence.ipynb", "kl_logvar")
    assert out.returncode == 1
    assert "[TODO] kl_logvar: not implemented yet" in out.stdout and "Traceback" not in out.stderr


def test_terminal_check_missing_notebook():
    out = _cli("exercises/nope.ipynb")
    assert out.returncode == 2 and "no notebook" in out.stderr
