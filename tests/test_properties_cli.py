"""Property-based tests of the command line's argument space: ``genlearn.cli.main(argv)`` runs
in-process on generated argument lists; the work itself (training, sampling, Jupyter, a benchmark)
is replaced by a recorder, so a run either reaches the work with arguments in their stated bounds
(exit 0) or stops with exactly one stderr line that names the argument (exit 2) and reaches
nothing - no training started, no file written. Profiles: test_properties.py.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import budget

from genlearn import cli

pytestmark = pytest.mark.usefixtures("one_thread")

WORK = Path(tempfile.mkdtemp(prefix="genlearn-cli-props-"))
(WORK / "a_file").write_text("x")
(WORK / "not_a_checkpoint.pt").write_text("hello")


def _checkpoint() -> Path:
    from genlearn.checkpoint import save
    from genlearn.models import VAE

    return save(VAE((1, 8, 8), latent_dim=2, hidden=(8,)), WORK / "model.pt")


CHECKPOINT = _checkpoint()

numbers = st.one_of(st.integers(-5, 70_000).map(str), st.sampled_from(
    ["0", "1", "-1", "1e3", "0.5", "nan", "inf", "-inf", "", "abc", "99999999", "4294967295", "4294967296", "1e-400",
     "0x10", " 7", "3,000", "10_000", "١٢"]))
folders = st.sampled_from(["new/sub", "new", "a_file", "a_file/sub", "/proc/x", "/dev/null", "/", "", "a\0b",
                           "x" * 300, "."])
pngs = st.sampled_from(["g.png", "new/g.png", "g.PNG", "g.jpg", "g", ".png", "a_file/g.png", "/proc/x/g.png",
                        "/dev/null", "new"])
checkpoints = st.sampled_from([str(CHECKPOINT), str(WORK / "not_a_checkpoint.pt"), str(WORK / "none.pt"), str(WORK),
                               "model.pt"])


def mostly(valid: st.SearchStrategy, invalid: st.SearchStrategy) -> st.SearchStrategy:
    """Three draws in four from ``valid``, so that whole argument lists are often valid too."""
    return st.one_of(valid, valid, valid, invalid)


small = st.integers(1, 500).map(str)
ports = st.one_of(st.integers(-2, 70_000).map(str), st.sampled_from(["99999999", "http", "", "8888", "1", "65535"]))


def _path(text: str) -> str:
    return text if text.startswith("/") or not text else str(WORK / "run" / text)


@st.composite
def argvs(draw) -> list[str]:
    command = draw(st.sampled_from(["train", "sample", "lessons", "bench", "nonsense"]))
    if command == "train":
        argv = ["train", draw(mostly(st.sampled_from(["ae", "vae", "vqvae", "vaegan"]), st.sampled_from(["gan", ""])))]
        for option, values in (("--data", mostly(st.sampled_from(["digits", "moons"]),
                                                 st.sampled_from(["mnist:/nowhere", "fashion:", "cifar"]))),
                               ("--epochs", mostly(small, numbers)), ("--batch-size", mostly(small, numbers)),
                               ("--lr", mostly(st.sampled_from(["0.001", "1e-2", "10"]), numbers)),
                               ("--seed", mostly(small, numbers)),
                               ("--out", mostly(st.sampled_from(["new/sub", "new", "."]), folders).map(_path)),
                               ("--quiet", st.none()), ("--bogus", numbers)):
            if option == "--bogus" and draw(st.integers(0, 5)) > 0:
                continue
            if draw(st.booleans()) or (option == "--out" and draw(st.integers(0, 9)) > 0):
                value = draw(values)
                argv += [option] if value is None else [f"{option}={value}"]
        return argv
    if command == "sample":
        argv = ["sample", draw(mostly(st.just(str(CHECKPOINT)), checkpoints))]
        for option, values in (("-n", mostly(small, numbers)),
                               ("--out", mostly(st.sampled_from(["g.png", "new/g.png", "g.PNG"]), pngs).map(_path)),
                               ("--seed", mostly(small, numbers))):
            if draw(st.booleans()) or (option == "--out" and draw(st.integers(0, 9)) > 0):
                argv += [option, draw(values)] if option == "-n" else [f"{option}={draw(values)}"]
        return argv
    if command == "lessons":
        argv = ["lessons"]  # os.execv is replaced by the recorder
        for _ in range(draw(st.integers(0, 3))):
            form = draw(st.sampled_from(["--port", "--port=", "--ServerApp.port=", "--no-browser", "--ip=127.0.0.1"]))
            argv += [form, draw(ports)] if form == "--port" else [form + draw(ports)] if form.endswith("=") else [form]
        return argv
    if command == "bench":
        name = draw(st.sampled_from([*cli.BENCH_OPTIONS, "nope"]))
        options = list(cli.BENCH_OPTIONS.get(name, {})) + ["--bogus"]
        argv = ["bench", name]
        for _ in range(draw(st.integers(0, 3))):
            option = draw(st.sampled_from(options))
            argv += [option] if cli.BENCH_OPTIONS.get(name, {}).get(option) == "flag" else [option, draw(
                st.one_of(numbers, st.sampled_from(["cpu", "cuda", "gpu", "mps"])))]
        return argv
    return ["nonsense"]


class Recorder:
    """Stands in for the work; remembers what reached it."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, name: str):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return None if name != "sample" else args[2]

        return record


def run(argv: list[str], monkeypatch) -> tuple[int, list[str], Recorder]:
    from genlearn import train_report as report
    from genlearn.bench import __main__ as bench_main

    recorder = Recorder()
    monkeypatch.setattr(report, "train_and_report", recorder("train"))
    monkeypatch.setattr(report, "sample_to_png", recorder("sample"))
    monkeypatch.setattr(bench_main, "main", lambda argv: recorder("bench")(argv) or 0)
    monkeypatch.setattr(os, "execv", recorder("execv"))
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as stop:
            code = stop.code
    return code, [ln for ln in err.getvalue().splitlines() if ln.strip()], recorder


def option_names(argv: list[str]) -> set[str]:
    names = {a.split("=")[0] for a in argv if a.startswith("-")}
    return names | {"unknown model", "unknown benchmark", "CHECKPOINT", "invalid choice", "required", "unrecognized"}


@budget(300)
@given(argvs())
def test_every_argument_list_runs_or_gives_one_line_naming_the_argument(argv):
    with pytest.MonkeyPatch.context() as monkeypatch:
        code, lines, recorder = run(argv, monkeypatch)
    if code == 0:
        assert len(recorder.calls) == 1 and lines == []
        name, args, kwargs = recorder.calls[0]
        if name == "train":
            _, _, epochs, out = args
            assert 1 <= epochs <= cli.EPOCHS_MAX and 1 <= kwargs["batch_size"] <= cli.BATCH_SIZE_MAX
            assert kwargs["lr"] is None or 0 < kwargs["lr"] <= cli.LR_MAX and 0 <= kwargs["seed"] <= cli.SEED_MAX
            assert out.is_dir() and os.access(out, os.W_OK)
        if name == "sample":
            assert 1 <= args[1] <= cli.sample_limit((1, 8, 8)) and args[2].suffix.lower() == ".png"
        return
    assert code == 2, (argv, code, lines)
    assert recorder.calls == [], f"work started for {argv}"
    assert len(lines) == 1 and "Traceback" not in lines[0], (argv, lines)
    assert lines[0].startswith("genlearn"), lines
    assert any(name in lines[0] for name in option_names(argv)), (argv, lines[0])
    assert not any(p.name.startswith(".genlearn-probe") for p in WORK.rglob("*")), "a probe file was left behind"
