"""Full-scale models that ship with the course: how they are made, their cards, and loading them.

    genlearn pretrain NAME|all [--scale full] [--out DIR] [--resume] [--seed 0]

trains the course's four models (the AE with its fitted Gaussian, the VAE, the VQ-VAE with its
PixelCNN code prior, the VAE-GAN) with the recipes of :mod:`genlearn.recipes` on every training
image of the scale (all 60,000 Fashion-MNIST images at ``full``), on :func:`genlearn.device`.
Every epoch writes the whole training state (``NAME.state.pt``), so ``--resume`` after a kill
continues where it stopped and ends with the same checkpoint, bit for bit, as an uninterrupted
run (same seed, device and thread count). At the end it writes the checkpoint ``NAME.pt`` and its
model card ``NAME.json``: the command, seed, commit, package versions, device, threads, epochs,
wall time, parameter count, the checkpoint's SHA-256, and test metrics measured as the lessons
measure them (:func:`measure`).

:func:`load` returns a shipped model after checking its SHA-256 against its card.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["PRETRAINED", "pretrain", "load", "card", "measure", "shipped_dir", "sha256", "Recipe", "showcase",
           "card_sentence", "LABELS"]

LABELS = {"ae": "AE", "vae": "VAE", "vqvae": "VQ-VAE", "vaegan": "VAE-GAN"}


@dataclass(frozen=True)
class Recipe:
    """A pretrained model's budget: epochs at each scale (sized to finish within an hour on a 2-core CPU
    at the full scale, one thread), and the options :func:`pretrain` passes on: ``build`` to
    :func:`genlearn.recipes.build` (constructor arguments replacing the lessons' defaults; the
    checkpoint's config records them) and ``train`` to :func:`genlearn.recipes.train_model`."""

    model: str
    epochs: dict[str, int]
    build: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)


PRETRAINED = {
    "ae": Recipe("ae", {"laptop": 6, "full": 20}),
    "vae": Recipe("vae", {"laptop": 6, "full": 20}),
    "vqvae": Recipe("vqvae", {"laptop": 6, "full": 10}),
    # the VAE-GAN's own options (the lessons keep VAEGAN's defaults): gamma = 0.003, so that the decoder follows
    # the GAN term (the similarity, summed over 3,136 feature units, otherwise drowns it); a spectrally normalised
    # discriminator (without it, it wins outright: Frechet 40-50 instead of 16-24 after 2-3 epochs); a 16-dim
    # latent (32 gave more prior samples that decode to nothing: confidence 0.72 instead of 0.74-0.75)
    "vaegan": Recipe("vaegan", {"laptop": 6, "full": 20},
                     build={"latent_dim": 16, "gamma": 0.003, "dis_spectral_norm": True}),
}
N_TEST = 1000  # the lessons' 1,000 reference test images


def shipped_dir() -> Path:
    """Where the shipped checkpoints and cards live (inside the package)."""
    return Path(__file__).resolve().parent / "weights"


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_name(name: str) -> Recipe:
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; choose one of: {', '.join(PRETRAINED)}")
    return PRETRAINED[name]


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=Path(__file__).resolve().parent).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def measure(model: nn.Module, test_x: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """Test metrics the lessons' way, on the first 1,000 test images: NLL in bits/dim where the model has a
    likelihood of the data (IWAE, K = 20, for the AE and VAE; the VQ-VAE's bound with its PixelCNN
    prior; none for the VAE-GAN), reconstruction error, Frechet distance of 1,000 samples against the
    1,000 test images beside real-versus-real, sharpness beside the real images', and the Fashion-MNIST
    classifier's mean top-class probability on samples beside real images'."""
    from genlearn import evaluate
    from genlearn.recipes import sample_images
    from genlearn.sample_quality import classifier_confidence, frechet, frechet_reference, sharpness

    model = model.cpu().eval()
    ref = test_x[:N_TEST]
    nll = evaluate.test_nll(model, ref, 20, generator=torch.Generator().manual_seed(seed))
    bits = math.nan if nll.bits_per_dim is None else nll.bits_per_dim
    how = (f"none: {nll.why_not}" if nll.why_not else
           "IWAE, K = 20" if nll.estimator == "iwae" else "VQ bound (PixelCNN)")
    samples = sample_images(model, N_TEST, torch.Generator().manual_seed(seed))
    return {"nll_bits_per_dim": None if math.isnan(bits) else round(bits, 4), "nll_how": how,
            "reconstruction_error": round(float(evaluate.reconstruction_error(model, ref)), 5),
            "frechet": round(frechet(samples, ref, "fashion"), 2),
            "frechet_real_vs_real": round(frechet_reference(N_TEST, test_x[: 2 * N_TEST], data="fashion"), 2),
            "sharpness": round(float(sharpness(samples).mean()), 5),
            "sharpness_real": round(float(sharpness(ref).mean()), 5),
            "confidence": round(classifier_confidence(samples, "fashion"), 4),
            "confidence_real": round(classifier_confidence(ref, "fashion"), 4),
            "test_images": N_TEST, "samples": N_TEST, "sample_seed": seed}


def pretrain(name: str, out: str | os.PathLike, *, scale: str = "full", seed: int = 0, resume: bool = False,
             epochs: int | None = None, progress: bool = True, device: torch.device | str | None = None,
             command: str | None = None) -> Path:
    """Train ``name`` at ``scale`` into ``out/NAME.pt`` with its card ``out/NAME.json``; return the card's path."""
    from genlearn import checkpoint as ckpt
    from genlearn import recipes
    from genlearn.runtime import seed_everything
    from genlearn.scale import SCALES, fashion

    recipe = _check_name(name)
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    S = SCALES[scale]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    state_path, final, card_path = out / f"{name}.state.pt", out / f"{name}.pt", out / f"{name}.json"
    n_epochs = epochs if epochs is not None else recipe.epochs[scale]
    state = None
    if resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
    elif not resume and state_path.exists():
        state_path.unlink()
    threads = torch.get_num_threads()
    commit = _commit()  # the code that trains, read before training (edits made meanwhile do not count)
    seed_everything(seed, threads=threads)
    train, test = fashion(S)
    dev = torch.device(device) if device is not None else S.device
    model = recipes.build(recipe.model, (1, 28, 28), levels=256, hidden=S.hidden, channels=S.channels,
                          **recipe.build)
    spent = float(state.get("spent", 0.0)) if state else 0.0
    began = time.perf_counter()

    def save_state(training_state: dict[str, Any]) -> None:
        tmp = state_path.with_suffix(".tmp")
        torch.save({**training_state, "spent": spent + time.perf_counter() - began, "commit": commit}, tmp)
        os.replace(tmp, state_path)

    history = recipes.train_model(recipe.model, model, train.x, n_epochs, seed=seed, progress=progress, device=dev,
                                  checkpoint=save_state, resume=state, **recipe.train)
    seconds = spent + time.perf_counter() - began
    model = model.cpu().eval()
    ckpt.save(model, final)
    import genlearn

    info = {
        "name": name, "model": type(model).__name__, "config": ckpt._config(model),
        "command": command or f"genlearn pretrain {name} --scale {scale} --seed {seed}",
        "seed": seed, "scale": scale, "train_images": len(train.x), "epochs": n_epochs,
        **({"train_options": recipe.train} if recipe.train else {}),
        "commit": state.get("commit", commit) if state else commit,
        "versions": {"genlearn": genlearn.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "device": str(dev), "threads": threads, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "wall_seconds": round(seconds, 1), "parameters": sum(p.numel() for p in model.parameters()),
        "sha256": sha256(final), "checkpoint": final.name,
        "final_loss": {k: round(v[-1], 5) for k, v in history.items() if k != "seconds" and v},
        "metrics": measure(model, test.x, seed),
    }
    tmp = card_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=1) + "\n")
    os.replace(tmp, card_path)
    state_path.unlink(missing_ok=True)
    return card_path


def card(name: str, folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The model card of a shipped (or ``folder``'s) model."""
    _check_name(name)
    path = Path(folder or shipped_dir()) / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no card for {name!r} at {path}: train it with `genlearn pretrain {name}`")
    return json.loads(path.read_text())


def load(name: str, folder: str | os.PathLike | None = None) -> nn.Module:
    """The pretrained model ``name``, after checking its checkpoint's SHA-256 against its card."""
    from genlearn import checkpoint as ckpt

    info = card(name, folder)
    path = Path(folder or shipped_dir()) / info["checkpoint"]
    got = sha256(path)
    if got != info["sha256"]:
        raise ValueError(f"{path}: SHA-256 {got} does not match its card's {info['sha256']}: the file is damaged "
                         "or not the one the card describes")
    return ckpt.load(path).eval()


def card_sentence(name: str, folder: str | os.PathLike | None = None) -> str:
    """One sentence with the card's numbers: budget, time, and the test metrics beside their real-data values."""
    info = card(name, folder)
    m = info["metrics"]
    nll = (f"NLL {m['nll_bits_per_dim']:.3f} bits/dim ({m['nll_how']})" if m.get("nll_bits_per_dim") is not None
           else "no likelihood of pixels")
    return (f"The full-scale {LABELS.get(name, name)}: {info['epochs']} epochs over all {info['train_images']:,} "
            f"training images, {info['wall_seconds'] / 60:.1f} min on {info['device']} ({info['threads']} thread(s)); "
            f"on {m['test_images']:,} test images: Frechet {m['frechet']:.1f} (real against real "
            f"{m['frechet_real_vs_real']:.1f}), classifier confidence {m['confidence']:.2f} on samples (real images "
            f"{m['confidence_real']:.2f}, ratio {m['confidence'] / m['confidence_real']:.2f}), sharpness "
            f"{m['sharpness']:.3f} (real {m['sharpness_real']:.3f}), reconstruction error "
            f"{m['reconstruction_error']:.1f}, {nll}.")


def showcase(names: str | list[str], test_x: torch.Tensor, n: int = 10, seed: int = 0,
             folder: str | os.PathLike | None = None) -> tuple[Any, str]:
    """The shipped full-scale models ``names``: a figure with ``n`` test images, each model's
    reconstructions of them and ``n`` of its samples (drawn with ``seed``), and the cards' sentences
    (:func:`card_sentence`). Returns ``(figure, text)``."""
    from genlearn.recipes import reconstruction_images, sample_images
    from genlearn.viz.images import image_rows

    names = [names] if isinstance(names, str) else list(names)
    x = test_x[:n]
    models = {name: load(name, folder) for name in names}
    rows: dict[str, torch.Tensor] = {"test images": x}
    for name, model in models.items():
        rows[f"{LABELS.get(name, name)} recon."] = reconstruction_images(model, x)
    for name, model in models.items():
        rows[f"{LABELS.get(name, name)} samples"] = sample_images(model, n, torch.Generator().manual_seed(seed))
    title = (f"Full-scale {', '.join(LABELS.get(k, k) for k in names)} (shipped, trained on all of Fashion-MNIST): "
             "test images, reconstructions, samples")
    return image_rows(rows, n, title=title), "\n".join(card_sentence(k, folder) for k in names)
