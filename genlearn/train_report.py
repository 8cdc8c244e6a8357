"""What ``genlearn train`` and ``genlearn sample`` do: train one of the course's models on a data
set and write its checkpoint, plots and ``metrics.json``; draw samples from a checkpoint.

``metrics.json`` names what it reports. A likelihood is reported only where it is one of the
data as given: ``likelihood`` says which (Bernoulli for binary pixels, discretized logistic for
grey levels, a Gaussian density for continuous data), ``test_nll_nats_iwae100`` and
``test_nll_bits_per_dim`` are the IWAE (K = 100) estimate for the AE (with its fitted Gaussian)
and the VAE, ``test_nll_bound_*`` the VQ-VAE's bound with its PixelCNN prior; the VAE-GAN has
no likelihood (``likelihood: null`` with the reason). ``baseline_independent_pixels_bits_per_dim``
is the trivial rival every likelihood should beat.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genlearn import distributed
from genlearn._validate import check_count
from genlearn.checkpoint import load, save
from genlearn.data import load_data
from genlearn.evaluate import IndependentPixels, reconstruction_error, test_nll
from genlearn.models.base import GenerativeModel
from genlearn.models.likelihoods import grey_levels
from genlearn.recipes import MODELS, build, sample_images, train_model
from genlearn.runtime import seed_everything

__all__ = ["save_sample_grid", "Report", "train_and_report", "likelihood_metrics", "sample_to_png"]


def likelihood_metrics(model: nn.Module, train_x: Tensor, test_x: Tensor, k: int = 100,
                       seed: int = 0) -> dict[str, Any]:
    """The likelihood figures of ``model`` on ``test_x``, only where the model has a likelihood
    of these data (module docstring); a ``likelihood`` entry says what was measured or why not."""
    out: dict[str, Any] = {}
    levels = grey_levels(train_x)
    if levels is not None:
        out["data_grey_levels"] = levels
        out["baseline_independent_pixels_bits_per_dim"] = IndependentPixels(train_x, levels).bits_per_dim(test_x)
    result = test_nll(model, test_x, k, generator=torch.Generator().manual_seed(seed))
    if result.why_not is not None:
        return out | {"likelihood": None, "likelihood_why_not": result.why_not}
    out["likelihood"] = {"name": result.likelihood, "of": model.px_given_z.describe_data()}
    if result.estimator == "vq_bound":
        return out | {"test_nll_bound_nats": result.nats, "test_nll_bound_bits_per_dim": result.bits_per_dim}
    return out | {f"test_nll_nats_iwae{k}": result.nats, "test_nll_bits_per_dim": result.bits_per_dim}


@dataclass
class Report:
    metrics: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


def train_and_report(name: str, data: str, epochs: int, out: Path, *, seed: int = 0, batch_size: int = 100,
                     lr: float | None = None, progress: bool = True) -> Report | None:
    """Train model ``name`` on ``data`` and write its checkpoint, plots and metrics to ``out``.

    Under ``torchrun`` every process trains its share of each batch and only rank 0
    writes files and returns the report (the others return None).
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    epochs = check_count(epochs, "epochs")
    train_set, test_set = load_data(data, seed)
    seed_everything(seed)
    model = build(name, tuple(train_set.x.shape[1:]), grey_levels(train_set.x))
    is_main = distributed.is_main_process()
    start = time.perf_counter()
    history = train_model(name, model, train_set.x, epochs, batch_size=batch_size, lr=lr, seed=seed,
                          progress=progress and is_main)
    seconds = time.perf_counter() - start
    if not is_main:
        distributed.barrier()  # wait for rank 0's files, so that every process returns with them written
        return None
    model.eval()
    metrics: dict[str, Any] = {
        "model": name, "data": data, "epochs": epochs, "seed": seed, "train_seconds": round(seconds, 3),
        "final_losses": {k: v[-1] for k, v in history.items() if k != "seconds" and v},
        "test_recon_error": reconstruction_error(model, test_set.x),
    }
    samples = sample_images(model, 64, torch.Generator().manual_seed(seed))
    if data == "digits":  # the one data set whose feature space sample_quality scores by default
        from genlearn.sample_quality import sample_quality

        quality = sample_quality(samples)
        metrics.update(frechet=quality.frechet, sharpness_gap=quality.sharpness_gap)
    metrics.update(likelihood_metrics(model, train_set.x, test_set.x, seed=seed))
    out.mkdir(parents=True, exist_ok=True)
    report = Report(metrics)
    report.files["checkpoint"] = save(model, out / "model.pt")
    report.files["losses"] = _save_figure(_loss_figure(history, name), out / "losses.png")
    report.files["samples"] = _save_figure(_grid_figure(samples, f"{name}: samples"), out / "samples.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    report.files["metrics"] = out / "metrics.json"
    distributed.barrier()
    return report


def sample_to_png(checkpoint: Path, n: int, out: Path, seed: int = 0, trust: tuple[str, ...] = ()) -> Path:
    """Load any protocol model's checkpoint (:func:`genlearn.checkpoint.save`; a class outside genlearn
    only from a module named in ``trust``) and save ``n`` samples as a grid."""
    n = check_count(n, "n")
    model = load(checkpoint, trust=trust)
    if not isinstance(model, GenerativeModel):
        raise ValueError(f"{checkpoint} holds a {type(model).__name__}, which is not a GenerativeModel "
                         "(genlearn.models.base): it cannot be sampled")
    return save_sample_grid(model, n, out, seed=seed)


def save_sample_grid(model: nn.Module, n: int, out: Path, seed: int = 0, title: str | None = None) -> Path:
    """``n`` samples of any model of the protocol, drawn with ``seed``, as a PNG grid at ``out``."""
    samples = sample_images(model, check_count(n, "n"), torch.Generator().manual_seed(seed))
    return _save_figure(_grid_figure(samples, f"{title + ': ' if title else ''}{n} samples"), out)


def _loss_figure(history: dict[str, list[float]], name: str):
    from genlearn.viz import loss_curves

    keys = [k for k in history if k not in ("seconds",) and history[k] and all(map(math.isfinite, history[k]))]
    return loss_curves({k: history[k] for k in keys}, keys=keys, title=f"{name}: training losses")


def _grid_figure(images: Tensor, title: str):
    from genlearn.viz import image_grid

    return image_grid(images, ncols=int(math.ceil(math.sqrt(len(images)))), title=title)


def _save_figure(fig, path: Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output must be a .png file, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
