"""Every `genlearn` argument is checked before any work starts (issue 17): one-line errors that
name the argument, in well under a second of work, with nothing trained, sampled or written."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genlearn import cli

ROOT = Path(__file__).resolve().parent.parent


def genlearn(*args, timeout=120):
    env = {**os.environ, "GENLEARN_DEVICE": "cpu"}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "genlearn", *args], capture_output=True, text=True, cwd=ROOT,
                         timeout=timeout, env=env)
    return out, time.perf_counter() - start


def one_line_error(out, *words):
    assert out.returncode == 2, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr, out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_work(monkeypatch):
    """Make every entry point that does work fail the test if it is reached."""
    from genlearn import train_report as report

    def forbidden(*args, **kwargs):
        raise AssertionError("work started although an argument was bad")

    for name in ("train_and_report", "sample_to_png", "load_data"):
        monkeypatch.setattr(report, name, forbidden)
    monkeypatch.setattr(os, "execv", forbidden)


def run_main(argv, capsys):
    """``genlearn.cli.main(argv)`` in-process: (exit status, stderr lines, seconds)."""
    start = time.perf_counter()
    try:
        code = cli.main(argv)
    except SystemExit as stop:  # argparse errors exit
        code = stop.code
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    return code, [ln for ln in err.splitlines() if ln.strip()], seconds


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from genlearn.checkpoint import save
    from genlearn.models import VAE

    return save(VAE((1, 8, 8), latent_dim=2, hidden=(8,)), tmp_path_factory.mktemp("ckpt") / "model.pt")


# --- the three cases of the issue, as a user meets them ---------------------------------------
def test_sample_count_beyond_memory_is_refused_before_loading(checkpoint, tmp_path):
    grid = tmp_path / "grid.png"
    out, seconds = genlearn("sample", str(checkpoint), "-n", "100000000", "--out", str(grid))
    line = one_line_error(out, "-n 100000000", "too many samples", f"{cli.sample_limit():,}", "GiB")
    assert not grid.exists() and seconds < 30, (line, seconds)


def test_unwritable_output_folder_is_refused_before_training(tmp_path):
    out, seconds = genlearn("train", "vqvae", "--data", "moons", "--epochs", "1", "--out", "/proc/x")
    one_line_error(out, "--out /proc/x", "cannot create")
    assert seconds < 30  # the whole run, most of it `import torch`; training would add much more


@pytest.mark.parametrize("port", [["--port", "99999999"], ["--port=99999999"], ["--ServerApp.port=99999999"],
                                  ["--ServerApp.port", "0"], ["--port", "http"]])
def test_port_out_of_range_is_refused_before_jupyter_starts(port):
    out, _ = genlearn("lessons", "--no-browser", *port, timeout=60)  # a started server would time out
    one_line_error(out, "port number from 1 to 65,535")


# --- in-process: the same checks, timed, with every piece of real work forbidden -----------------
@pytest.mark.parametrize("argv, words", [
    (["sample", "CKPT", "-n", "100000000", "--out", "OUT/g.png"], ["-n 100000000", "3,579"]),
    (["sample", "CKPT", "-n", "3574", "--out", "OUT/g.png"], ["-n 3574", "3,573", "(1, 8, 8)"]),
    (["sample", "CKPT", "-n", "0", "--out", "OUT/g.png"], ["-n", "from 1 to"]),
    (["sample", "CKPT", "--out", "OUT/g.jpg"], ["--out", ".png"]),
    (["sample", "CKPT", "--out", "/proc/x/g.png"], ["--out /proc/x", "cannot create"]),
    (["sample", "OUT", "--out", "OUT/g.png"], ["CHECKPOINT", "no checkpoint", "folder"]),
    (["sample", "CKPT", "--seed", "-3", "--out", "OUT/g.png"], ["--seed", "from 0 to"]),
    (["train", "vqvae", "--data", "moons", "--out", "/proc/x"], ["--out /proc/x"]),
    (["train", "vae", "--out", "/dev/null"], ["--out /dev/null", "not a folder"]),
    (["train", "gan", "--out", "OUT/t"], ["unknown model 'gan'"]),
    (["train", "vae", "--data", "mnist:OUT/nowhere", "--out", "OUT/t"], ["--data", "nowhere"]),
    (["train", "vae", "--epochs", "0", "--out", "OUT/t"], ["--epochs", "1 to 10,000"]),
    (["train", "vae", "--epochs", "10001", "--out", "OUT/t"], ["--epochs", "1 to 10,000"]),
    (["train", "vae", "--batch-size", "65537", "--out", "OUT/t"], ["--batch-size", "65,536"]),
    (["train", "vae", "--lr", "inf", "--out", "OUT/t"], ["--lr", "<= 10"]),
    (["train", "vae", "--lr=-1e-3", "--out", "OUT/t"], ["--lr", "> 0"]),
    (["train", "vae", "--seed", "4294967296", "--out", "OUT/t"], ["--seed", "4,294,967,295"]),
    (["lessons", "--port", "65536"], ["--port", "65,535"]),
    (["lessons", "--port"], ["--port", "got nothing"]),
    (["bench", "vq-speed", "--n", "0"], ["--n", "from 1"]),
    (["bench", "vq-speed", "--n", "1000000", "--k", "65536"], ["GiB"]),
    (["bench", "vae-digits", "--device", "gpu"], ["--device 'gpu'", "cpu, cuda"]),
    (["bench", "vae-digits", "--epochs", "-1"], ["--epochs", "from 1"]),
    (["bench", "vaegan-digits", "--seeds", "0", "x"], ["--seeds", "'x'"]),
    (["bench", "vq-speed", "--epochs", "3"], ["unknown option '--epochs'", "vq-speed"]),
    (["bench", "vae-digits", "--no-progress=1"], ["--no-progress", "flag"]),
])
def test_bad_arguments_fail_at_once_and_name_the_argument(argv, words, checkpoint, tmp_path, no_work, capsys):
    argv = [a.replace("CKPT", str(checkpoint)).replace("OUT", str(tmp_path)) for a in argv]
    code, lines, seconds = run_main(argv, capsys)
    assert code == 2 and len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert seconds < 1.0, seconds  # checks only: nothing loaded, trained or sampled
    assert not (tmp_path / "g.png").exists() and not (tmp_path / "t").exists()


def test_valid_arguments_reach_the_work(checkpoint, tmp_path, monkeypatch, capsys):
    from genlearn import train_report as report

    calls = []
    monkeypatch.setattr(report, "sample_to_png", lambda *a, **k: calls.append(("sample", a, k)) or a[2])
    monkeypatch.setattr(report, "train_and_report", lambda *a, **k: calls.append(("train", a, k)))
    out = tmp_path / "new" / "deeper"
    assert cli.main(["train", "vae", "--epochs", "3", "--batch-size", "7", "--lr", "0.01", "--seed", "5",
                     "--out", str(out), "--quiet"]) == 0
    assert out.is_dir() and list(out.iterdir()) == []  # created, and the probe file removed
    assert cli.main(["sample", str(checkpoint), "-n", "3573", "--out", str(tmp_path / "a" / "g.PNG")]) == 0
    assert [c[0] for c in calls] == ["train", "sample"]
    assert calls[0][1][:3] == ("vae", "digits", 3) and calls[0][2]["batch_size"] == 7
    assert calls[1][1][1] == 3573
    assert cli.main(["lessons", "--print-command", "--port", "8888", "--ServerApp.port=1"]) == 0
    assert "--port 8888" in capsys.readouterr().out


def test_bench_options_agree_with_the_benchmarks():
    """BENCH_OPTIONS lists exactly the options each benchmark's own parser defines."""
    from genlearn.bench import BENCHMARKS

    assert set(BENCHMARKS) <= set(cli.BENCH_OPTIONS)
    for name, module in BENCHMARKS.items():
        source = (ROOT / (module.replace(".", "/") + ".py")).read_text()
        defined = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", source))
        assert defined == set(cli.BENCH_OPTIONS[name]), name


def test_valid_bench_arguments_pass_through(monkeypatch):
    import genlearn.bench.__main__ as bench_main

    seen = []
    monkeypatch.setattr(bench_main, "main", lambda argv: seen.append(argv) or 0)
    assert cli.main(["bench", "vaegan-digits", "--seeds", "0", "1", "2", "--epochs=3", "--device", "cpu"]) == 0
    assert seen == [["vaegan-digits", "--seeds", "0", "1", "2", "--epochs=3", "--device", "cpu"]]


def test_output_folder_checks(tmp_path):
    folder = cli.check_output_dir(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []
    (tmp_path / "file").write_text("x")
    for bad, words in [(tmp_path / "file", "not a folder"), ("/proc/x", "cannot create"),
                       (tmp_path / "file" / "sub", "Not a directory"), ("a\0b", "not a usable path")]:
        with pytest.raises(cli.UsageError, match=words):
            cli.check_output_dir(bad, "--out")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.pt").mkdir()
    with pytest.raises(cli.UsageError, match="model.pt"):
        cli.check_train_outputs(tmp_path / "out")


def test_checkpoint_checks(tmp_path, checkpoint):
    assert cli.check_checkpoint(checkpoint)["class"] == "VAE"
    assert cli._find_in_shape({"vqvae": {"in_shape": [1, 28, 28]}, "prior": {}}) == (1, 28, 28)
    (tmp_path / "text.pt").write_text("hello")
    import torch

    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    for path, words in [(tmp_path / "none.pt", "no checkpoint"), (tmp_path / "text.pt", "not a readable checkpoint"),
                        (tmp_path / "other.pt", "not a genlearn checkpoint")]:
        with pytest.raises(cli.UsageError, match=words):
            cli.check_checkpoint(path)


def test_notebook_checks(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    assert cli.check_notebook_file(tmp_path / "a.ipynb") == tmp_path / "a.ipynb"
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "dir.py").mkdir()
    for path, words in [(tmp_path / "b.txt", "expected a notebook"), (tmp_path / "none.ipynb", "no notebook"),
                        (tmp_path / "dir.py", "it is a folder")]:
        with pytest.raises(cli.UsageError, match=words):
            cli.check_notebook_file(path)


def test_sample_limit_follows_the_image_size():
    assert cli.sample_limit() == cli.SAMPLE_MEMORY_BUDGET // cli.GRID_BYTES_PER_IMAGE
    assert cli.sample_limit((3, 64, 64)) < cli.sample_limit((1, 28, 28)) < cli.sample_limit((1, 8, 8))
    assert 3000 < cli.sample_limit((1, 28, 28)) < 4000  # the grid costs ~0.6 MB per image


def test_torchrun_batch_must_split_evenly(tmp_path, monkeypatch, no_work, capsys):
    monkeypatch.setenv("WORLD_SIZE", "3")
    code, lines, _ = run_main(["train", "vae", "--batch-size", "100", "--out", str(tmp_path / "t")], capsys)
    assert code == 2 and "--batch-size 100" in lines[0] and "3 processes" in lines[0]
