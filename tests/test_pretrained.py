"""The full-scale models that ship with the course: made by `genlearn pretrain`, checked against their cards.

`genlearn pretrain` checkpoints every epoch; a run killed (kill -9) and resumed ends with the same
checkpoint, bit for bit, as an uninterrupted one. Every shipped model loads after its SHA-256 is
checked, rebuilds from its config, and reproduces its card's test metric.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genlearn import checkpoint, pretrained
from genlearn.scale import SCALES, fashion

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "GENLEARN_DEVICE": "cpu"}
SHIPPED = sorted(p.stem for p in pretrained.shipped_dir().glob("*.json"))


def _pretrain(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "genlearn", "pretrain", "vae", "--scale", "laptop", "--epochs", "6", "--out",
            str(out), "--no-progress", *extra]


def test_kill_9_mid_training_then_resume_gives_the_same_checkpoint(tmp_path):
    whole = subprocess.run(_pretrain(tmp_path / "whole"), capture_output=True, text=True, cwd=ROOT, env=ENV,
                           timeout=600)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(_pretrain(out), cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (out / "vae.state.pt").exists():
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "vae.pt").exists(), "killed too late: the run had finished"
    done = torch.load(out / "vae.state.pt", weights_only=True)["epoch"]
    assert 1 <= done < 6
    resumed = subprocess.run(_pretrain(out, "--resume"), capture_output=True, text=True, cwd=ROOT, env=ENV,
                             timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    a, b = json.loads((tmp_path / "whole" / "vae.json").read_text()), json.loads((out / "vae.json").read_text())
    assert a["sha256"] == b["sha256"] == pretrained.sha256(out / "vae.pt")
    assert a["metrics"] == b["metrics"] and not (out / "vae.state.pt").exists()
    assert b["epochs"] == 6 and b["train_images"] == SCALES["laptop"].n_train


def test_a_damaged_checkpoint_is_refused(tmp_path):
    model = pretrained.load(SHIPPED[0]) if SHIPPED else None
    if model is None:
        pytest.skip("no shipped model")
    card = pretrained.card(SHIPPED[0])
    (tmp_path / f"{SHIPPED[0]}.json").write_text(json.dumps(card))
    checkpoint.save(model, tmp_path / card["checkpoint"])
    with open(tmp_path / card["checkpoint"], "ab") as f:
        f.write(b"\0")
    with pytest.raises(ValueError, match="does not match its card"):
        pretrained.load(SHIPPED[0], tmp_path)


def test_the_course_ships_its_full_scale_models():
    assert SHIPPED, f"no model cards in {pretrained.shipped_dir()}"
    size = sum(p.stat().st_size for p in pretrained.shipped_dir().glob("*.pt"))
    assert size <= 25 * 2**20, f"the shipped checkpoints take {size / 2**20:.1f} MB (at most 25)"


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_model_loads_rebuilds_and_reproduces_its_card(name):
    card = pretrained.card(name)
    model = pretrained.load(name)  # checks the SHA-256
    rebuilt = type(model)(**model.config())
    assert rebuilt.config() == model.config() == json.loads(json.dumps(card["config"]))
    assert card["commit"] != "unknown" and not card["commit"].endswith("+changes"), card["commit"]
    assert card["command"].startswith(f"genlearn pretrain {name}") and card["scale"] == "full"
    _, test = fashion(SCALES["full"])
    torch.set_num_threads(1)
    from genlearn import evaluate

    # the reconstruction error is deterministic: it must match the card closely (another arithmetic
    # could move the last digits)
    got = float(evaluate.reconstruction_error(model, test.x[: pretrained.N_TEST]))
    want = card["metrics"]["reconstruction_error"]
    assert abs(got - want) <= 1e-3 * abs(want) + 1e-5, (got, want)


def test_genlearn_sample_draws_from_a_shipped_model(tmp_path):
    if not SHIPPED:
        pytest.skip("no shipped model")
    out = tmp_path / "grid.png"
    run = subprocess.run([sys.executable, "-m", "genlearn", "sample", "--pretrained", SHIPPED[0], "-n", "16", "--out",
                          str(out)], capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_showcase_shows_each_shipped_model_with_its_cards_numbers():
    """What lessons 04-07 show beside their laptop-scale runs: test images, reconstructions and samples of the
    shipped models in one titled figure, and each card's numbers in a sentence."""
    from genlearn.sample_quality import RECOGNISABLE, confidence_line
    from genlearn.scale import SCALES, fashion

    _, test = fashion(SCALES["laptop"])
    fig, said = pretrained.showcase(["vae", "vqvae"], test.x, n=6)
    assert "Full-scale VAE, VQ-VAE" in fig._suptitle.get_text()
    assert [ax.get_ylabel() for ax in fig.axes] == ["test images", "VAE recon.", "VQ-VAE recon.", "VAE samples",
                                                   "VQ-VAE samples"]
    lines = said.splitlines()
    assert len(lines) == 2 and all("Frechet" in line and "classifier confidence" in line for line in lines)
    assert f"Frechet {pretrained.card('vae')['metrics']['frechet']:.1f}" in lines[0]
    line = confidence_line(test.x[:200], test.x[200:400], "fashion", "real")
    assert "ratio 1.0" in line and "recognisable" in line and str(RECOGNISABLE) in line


def test_pretrain_passes_the_recipe_options_on_and_the_card_rebuilds_the_model(tmp_path):
    recipe = pretrained.PRETRAINED["vaegan"]
    assert recipe.build, "the full-scale VAE-GAN recipe chooses its own options"
    torch.set_num_threads(1)
    path = pretrained.pretrain("vaegan", tmp_path, scale="laptop", epochs=1, progress=False, device="cpu")
    card = json.loads(path.read_text())
    assert all(card["config"][k] == (list(v) if isinstance(v, tuple) else v) for k, v in recipe.build.items())
    assert card.get("train_options", {}) == json.loads(json.dumps(recipe.train))
    model = pretrained.load("vaegan", tmp_path)
    assert model.config() == card["config"] and type(model)(**model.config()).config() == card["config"]


def test_recipe_options_are_checked():
    from genlearn import recipes

    model = recipes.build("vaegan", (1, 28, 28), 256, hidden=(32,), channels=(8, 16), latent_dim=4,
                          dis_spectral_norm=True)
    assert model.latent_dim == 4 and model.discriminator.spectral_norm
    assert recipes.build("vaegan", (1, 28, 28), 256).config()["latent_dim"] == 8  # the lessons' default is kept
    x = torch.rand(4, 1, 28, 28)
    with pytest.raises(ValueError, match="unknown VAE-GAN training options"):
        recipes.train_model("vaegan", model, x, 1, lr_gen=1e-3)
    with pytest.raises(ValueError, match="are the VAE-GAN's"):
        recipes.train_model("vae", recipes.build("vae", (1, 28, 28), 256), x, 1, lr_dis=1e-3)
