"""The `genlearn` command line, driven as a user would: in a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def genlearn(*args, cwd=ROOT, timeout=300):
    return subprocess.run([sys.executable, "-m", "genlearn", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env={**__import__("os").environ, "GENLEARN_DEVICE": "cpu"})


def assert_one_line_error(out, *words):
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.mark.parametrize("sub", ["lessons", "check", "train", "sample", "bench"])
def test_every_subcommand_has_help(sub):
    out = genlearn(sub, "--help")
    assert out.returncode == 0 and "usage: genlearn " + sub in out.stdout


def test_lessons_starts_jupyterlab_on_the_course():
    out = genlearn("lessons", "--print-command", "--no-browser", "--port", "8899")
    assert out.returncode == 0
    assert "jupyterlab" in out.stdout and f"root_dir={ROOT}" in out.stdout and "--port 8899" in out.stdout


@pytest.mark.parametrize("model", ["ae", "vae", "vqvae", "vaegan"])
def test_train_writes_checkpoint_plots_and_metrics_then_sample_reads_it(model, tmp_path):
    out = genlearn("train", model, "--data", "digits", "--epochs", "2", "--out", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr
    for name in ("model.pt", "losses.png", "samples.png", "metrics.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["model"] == model and metrics["epochs"] == 2 and metrics["train_seconds"] > 0
    assert metrics["test_recon_error"] > 0 and metrics["frechet"] > 0
    grid = tmp_path / "grid.png"
    out = genlearn("sample", str(tmp_path / "model.pt"), "-n", "16", "--out", str(grid))
    assert out.returncode == 0, out.stderr
    assert grid.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_on_moons(tmp_path):
    out = genlearn("train", "ae", "--data", "moons", "--epochs", "1", "--out", str(tmp_path), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "frechet" not in json.loads((tmp_path / "metrics.json").read_text())  # digit metric only


def test_unknown_model_is_a_one_line_error(tmp_path):
    assert_one_line_error(genlearn("train", "gan", "--out", str(tmp_path)), "unknown model 'gan'")


def test_missing_data_folder_is_a_one_line_error(tmp_path):
    out = genlearn("train", "vae", "--data", f"mnist:{tmp_path / 'nowhere'}", "--out", str(tmp_path))
    assert_one_line_error(out, "nowhere")


def test_unknown_data_is_a_one_line_error(tmp_path):
    assert_one_line_error(genlearn("train", "vae", "--data", "cifar", "--out", str(tmp_path)), "unknown data")


def test_sample_needs_at_least_one(tmp_path):
    assert_one_line_error(genlearn("sample", "model.pt", "-n", "0", "--out", str(tmp_path / "g.png")), "from 1 to")


def test_sample_missing_checkpoint(tmp_path):
    assert_one_line_error(genlearn("sample", str(tmp_path / "none.pt"), "--out", str(tmp_path / "g.png")),
                          "no checkpoint")


def test_sample_from_a_checkpoint_of_another_model(tmp_path):
    code = ("from genlearn.models import CodePrior; from genlearn.train import save; "
            f"save(CodePrior(4, (2, 2)), r'{tmp_path / 'prior.pt'}')")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    out = genlearn("sample", str(tmp_path / "prior.pt"), "--out", str(tmp_path / "g.png"))
    assert_one_line_error(out, "CodePrior", "not a model of genlearn's protocol")


def test_sample_from_a_file_that_is_not_a_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_text("hello")
    assert_one_line_error(genlearn("sample", str(bad), "--out", str(tmp_path / "g.png")), "not a readable checkpoint")


def test_unknown_benchmark_is_a_one_line_error():
    assert_one_line_error(genlearn("bench", "nope"), "unknown benchmark")


def test_check_reports_and_sets_exit_status():
    assert genlearn("check", "solutions/03_kl_divergence.ipynb").returncode == 0
    out = genlearn("check", "exercises/03_kl_divergence.ipynb")
    assert out.returncode == 1 and "[TODO]" in out.stdout
