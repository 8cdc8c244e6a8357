"""The check machinery itself: declaring exercises, messages a student sees, hints, the terminal command."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genlearn.checks import ExerciseFailed, check, hint, hints, registry, run_check
from genlearn.checks.exercise import exercise
from genlearn.checks.steps import make_inputs
from genlearn.grading import run_notebook

ROOT = Path(__file__).resolve().parent.parent


def test_declaring_an_existing_id_is_an_error():
    registry()
    with pytest.raises(ValueError, match="already declared"):
        exercise("kl_logvar", "a second, different exercise", hints=("a", "b"))


def test_an_exercise_needs_two_or_three_hints_and_positive_points():
    with pytest.raises(ValueError, match="2 or 3 hints"):
        exercise("machinery_test_one_hint", "x", hints=("only one",))
    with pytest.raises(ValueError, match="points"):
        exercise("machinery_test_no_points", "x", hints=("a", "b"), points=0)
    assert "machinery_test_one_hint" not in registry() and "machinery_test_no_points" not in registry()


def test_every_exercise_has_cases_points_and_seeded_inputs():
    for ex in registry().values():
        assert ex.cases and ex.points > 0, ex.id
        a, b = make_inputs(ex, 1), make_inputs(ex, 2)
        seeded = any(repr(x) != repr(y) for x, y in zip(a, b, strict=True))
        assert seeded, f"{ex.id}: no case draws its inputs from the seed"
        assert repr(make_inputs(ex, 1)) == repr(a), f"{ex.id}: inputs are not reproducible from the seed"


def test_wrong_answer_gives_hint_not_traceback(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    result = check("kl_closed_form", lambda mu, sigma: torch.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5)
    assert result.status == "failed" and "for mu=" in result.message
    assert "Traceback" not in result.line()


def test_crashing_answer_is_summarised(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    result = check("kl_discrete", lambda p, q: undefined_name)  # noqa: F821
    assert result.status == "error" and "NameError" in result.message


def test_sys_exit_in_an_answer_is_an_error_not_an_exit(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    result = check("kl_discrete", lambda p, q: sys.exit(0))
    assert result.status == "error" and "SystemExit" in result.message


def test_an_answer_that_changes_its_inputs_in_place_cannot_change_the_verdict():
    def cheat(mu, logvar):
        out = torch.zeros(mu.shape[0], dtype=mu.dtype)
        mu.zero_()
        logvar.zero_()  # the KL of N(0, 1) is 0: the answer would be right for the changed inputs
        return out

    assert run_check("kl_logvar", cheat).status == "failed"


def test_squared_error_rejects_a_sum_instead_of_a_difference():
    result = run_check("squared_error", lambda x_hat, x: ((x_hat + x) ** 2).flatten(1).sum(1))
    assert result.status == "failed" and "square of a difference" in result.message


def test_strict_mode_raises(monkeypatch):
    monkeypatch.setenv("GENLEARN_CHECKS_STRICT", "1")
    with pytest.raises(ExerciseFailed, match="kl_logvar"):
        check("kl_logvar", lambda mu, logvar: mu)


def test_unknown_exercise_lists_known_ones():
    result = run_check("no_such_exercise", lambda: None)
    assert result.status == "error" and "kl_logvar" in result.message


def test_hint_gives_the_next_level_each_call(capsys):
    levels = hints("free_bits_kl")
    shown = [hint("free_bits_kl") for _ in range(len(levels) + 1)]
    for i, level in enumerate(levels):
        assert level in shown[i] and f"Hint {i + 1}/{len(levels)}" in shown[i]
    assert levels[-1] in shown[-1], "after the last level, the last hint again"
    assert capsys.readouterr().out.count("Hint ") == len(levels) + 1


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
    assert result.status == "failed" and "for mu=" in result.message


def test_the_notebook_decides_its_exercises_not_its_file_name(tmp_path):
    path = tmp_path / "99_anything.py"
    path.write_text("# %%\nimport torch\nfrom genlearn.checks import check\n\n"
                    "def my_bits(nats, n_dims):\n    return nats / (n_dims * 0.6931471805599453)\n\n"
                    "check('bits_per_dim', my_bits)\n")
    (result,) = run_notebook(path)
    assert result.name == "bits_per_dim" and result.passed, result.line()


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


def test_terminal_hint_prints_every_level():
    out = _cli("exercises/04_vae.ipynb", "free_bits_kl", "--hint")
    assert out.returncode == 1 and "[TODO] free_bits_kl" in out.stdout
    from genlearn.checks import hints

    for level, text in enumerate(hints("free_bits_kl"), start=1):
        assert f"Hint {level}/" in out.stdout and text in out.stdout


def test_terminal_hint_needs_an_exercise():
    out = _cli("exercises/04_vae.ipynb", "--hint")
    assert out.returncode == 2 and "--hint needs an EXERCISE" in out.stderr


def test_points_are_declared_with_the_exercise_and_earned_only_when_passing(monkeypatch):
    monkeypatch.delenv("GENLEARN_CHECKS_STRICT", raising=False)
    assert registry()["vq_losses"].points == 2 and registry()["kl_logvar"].points == 1
    assert run_check("vq_losses", lambda z, e, beta: (z.sum(), e.sum())).points == 0
    result = run_check("bits_per_dim", lambda nats, n_dims: nats / (n_dims * 0.6931471805599453))
    assert result.passed and (result.points, result.max_points) == (1, 1)


def test_hint_for_an_unknown_exercise_is_a_message_not_a_traceback(capsys):
    assert "no exercise called 'nope'" in hint("nope")
    assert "known exercises" in capsys.readouterr().out
