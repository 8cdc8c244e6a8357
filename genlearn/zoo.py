"""The four models of the course behind one interface, for the command line and the capstone.

``train_and_report("vae", "digits", epochs, out)`` trains a model with its default
settings and writes ``model.pt`` (a checkpoint :func:`genlearn.train.load` reads),
``losses.png``, ``samples.png`` and ``metrics.json``. :func:`sample_images` draws
from any of them:

* ``ae``: no prior of its own; codes are drawn from a Gaussian fitted to the training
  codes after training (:class:`PosthocGaussianAE`) - the honest best an AE can do;
* ``vae``: ``z ~ N(0, I)`` decoded to ``E[x|z]``;
* ``vqvae``: code maps drawn from a PixelCNN prior (:class:`VQVAEGenerator`);
* ``vaegan``: like the VAE, through the VAE-GAN's decoder.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from genlearn import distributed
from genlearn._validate import check_count
from genlearn.data import DATA_HELP, load_data  # noqa: F401 (DATA_HELP re-exported for the CLI)
from genlearn.models import AE, VAE, VAEGAN, VQVAE, CodePrior, ae_loss, vae_loss, vqvae_loss
from genlearn.models.code_prior import fit_code_prior
from genlearn.models.vaegan import fit_vaegan
from genlearn.runtime import seed_everything
from genlearn.train import fit, load, save

MODELS = ("ae", "vae", "vqvae", "vaegan")


# --------------------------------------------------------------------------------- data
# load_data and DATA_HELP live in genlearn.data.catalog; imported above, so zoo.load_data still works.


# --------------------------------------------------------------------------------- models
class PosthocGaussianAE(AE):
    """An :class:`AE` plus a Gaussian fitted to its training codes, so that it can :meth:`sample`.

    ``code_mean`` and ``code_scale_tril`` (Cholesky factor of the code covariance) are
    buffers, saved with the checkpoint; call :meth:`fit_code_gaussian` after training.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_buffer("code_mean", torch.zeros(self.latent_dim))
        self.register_buffer("code_scale_tril", torch.eye(self.latent_dim))

    @torch.no_grad()
    def fit_code_gaussian(self, x: Tensor) -> None:
        z = self.encode(x.to(self.code_mean.device))
        cov = torch.cov(z.T).reshape(self.latent_dim, self.latent_dim)
        cov = cov + 1e-5 * torch.eye(self.latent_dim, device=cov.device)
        self.code_mean.copy_(z.mean(0))
        self.code_scale_tril.copy_(torch.linalg.cholesky(cov))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        n = check_count(n, "n")
        eps = torch.randn(n, self.latent_dim, generator=generator).to(self.code_mean.device)
        return self.decode(self.code_mean + eps @ self.code_scale_tril.T)


class VQVAEGenerator(nn.Module):
    """A VQ-VAE and the PixelCNN prior over its code maps, saved and loaded as one model."""

    def __init__(self, vqvae: dict[str, Any], prior: dict[str, Any]) -> None:
        super().__init__()
        self.vqvae = VQVAE(**vqvae)
        self.prior = CodePrior(**prior)
        self.in_shape = self.vqvae.in_shape

    @property
    def config(self) -> dict[str, Any]:
        return {"vqvae": self.vqvae.config, "prior": self.prior.config}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        codes = self.prior.sample(check_count(n, "n"), generator=generator)
        return self.vqvae.decode_indices(codes)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        return self.vqvae.reconstruct(x)


@dataclass
class Spec:
    """How to build and train one model with the course's defaults."""

    build: Callable[..., nn.Module]  # (in_shape, binary=False) -> model
    train: Callable[..., dict[str, list[float]]]
    lr: float


def _train_plain(loss_fn):
    def train(model, x, epochs, *, batch_size, lr, seed, progress, device=None):
        return fit(model, loss_fn, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                   device=device)

    return train


def _train_ae(model, x, epochs, **kw):
    history = _train_plain(ae_loss)(model, x, epochs, **kw)
    model.fit_code_gaussian(x)
    return history


def _train_vqvae(model: VQVAEGenerator, x, epochs, *, batch_size, lr, seed, progress, device=None):
    vq = model.vqvae
    vq.init_codebook_from_data(x[:2000], torch.Generator().manual_seed(seed))  # on the CPU, before fit moves it
    history = fit(vq, vqvae_loss, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                  device=device)
    with torch.no_grad():
        codes = torch.cat([vq.encode_indices(x[i:i + 1000].to(next(vq.parameters()).device)).cpu()
                           for i in range(0, len(x), 1000)])
    prior_history = fit_code_prior(model.prior, codes, max(10, epochs // 2), batch_size=batch_size, seed=seed,
                                   progress=False, device=device)
    history["prior_loss"] = prior_history["loss"]
    return history


def _train_vaegan(model, x, epochs, *, batch_size, lr, seed, progress, device=None):
    return fit_vaegan(model, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress, device=device)


def _vqvae_build(shape, binary=False):
    vq = VQVAE(shape, num_codes=64, code_dim=16, likelihood="bernoulli" if binary else "mse", restart_after=20)
    h, w = vq.code_shape
    return VQVAEGenerator(vq.config, CodePrior(64, (h, w)).config)


SPECS: dict[str, Spec] = {
    "ae": Spec(lambda shape, binary=False: PosthocGaussianAE(shape, latent_dim=8, hidden=(256, 128)),
               _train_ae, 2e-3),
    "vae": Spec(lambda shape, binary=False: VAE(shape, latent_dim=8, hidden=(256, 128)), _train_plain(vae_loss), 2e-3),
    "vqvae": Spec(_vqvae_build, _train_vqvae, 2e-3),
    "vaegan": Spec(lambda shape, binary=False: VAEGAN(shape, latent_dim=8, hidden=(256, 128)), _train_vaegan, 1e-3),
}


def build(name: str, in_shape: tuple[int, ...], binary: bool = False) -> nn.Module:
    """A fresh model ``name`` (one of :data:`MODELS`) for inputs of shape ``in_shape``; ``binary``
    picks a Bernoulli likelihood where the model has a choice (the VQ-VAE; the VAE always has one)."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return SPECS[name].build(tuple(in_shape), binary=binary)


def train(name: str, model: nn.Module, x: Tensor, epochs: int, *, batch_size: int = 100, lr: float | None = None,
          seed: int = 0, progress: bool = True, device: torch.device | str | None = None) -> dict[str, list[float]]:
    """Train a model from :func:`build` with the course's defaults (learning rate, prior fitting);
    ``device`` defaults to :func:`genlearn.device` (under torchrun: the process's device)."""
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    spec = SPECS[name]
    return spec.train(model, x, check_count(epochs, "epochs"), batch_size=batch_size, lr=lr or spec.lr,
                      seed=seed, progress=progress, device=device)


def sample_images(model: nn.Module, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` images in [0, 1] from any of the four models (see the module docstring)."""
    if not hasattr(model, "sample"):
        raise ValueError(f"{type(model).__name__} cannot sample; expected a model written by `genlearn train`")
    return model.sample(n, generator=generator).clamp(0, 1).cpu()


def reconstruction_images(model: nn.Module, x: Tensor) -> Tensor:
    """The model's reconstructions of ``x`` (no sampling: codes are means or nearest codes), on the CPU."""
    device = next(model.parameters()).device
    with torch.no_grad():
        return torch.cat([model.reconstruct(x[i:i + 1000].to(device)).clamp(0, 1).cpu()
                          for i in range(0, len(x), 1000)])


def reconstruction_error(model: nn.Module, x: Tensor) -> float:
    """Squared error per image (sum over pixels, mean over images) of the model's reconstructions."""
    return float((reconstruction_images(model, x) - x).pow(2).flatten(1).sum(1).mean())


def codes(model: nn.Module, x: Tensor) -> Tensor:
    """Continuous codes of ``x`` (N, d) on the CPU: ``f(x)`` for an AE, the posterior mean for a VAE / VAE-GAN."""
    if isinstance(model, VQVAEGenerator):
        raise ValueError("a VQ-VAE's codes are discrete: use model.vqvae.encode_indices(x)")
    device = next(model.parameters()).device
    with torch.no_grad():
        z = model.encode(x.to(device))
    return (z.mu if hasattr(z, "mu") else z).cpu()


# --------------------------------------------------------------------------------- reports
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
    if name not in SPECS:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    epochs = check_count(epochs, "epochs")
    train_set, test_set = load_data(data, seed)
    seed_everything(seed)
    model = build(name, tuple(train_set.x.shape[1:]))
    is_main = distributed.is_main_process()
    start = time.perf_counter()
    history = train(name, model, train_set.x, epochs, batch_size=batch_size, lr=lr, seed=seed,
                    progress=progress and is_main)
    seconds = time.perf_counter() - start
    if not is_main:
        return None
    model.eval()
    metrics: dict[str, Any] = {
        "model": name, "data": data, "epochs": epochs, "seed": seed, "train_seconds": round(seconds, 3),
        "final_losses": {k: v[-1] for k, v in history.items() if k != "seconds" and v},
        "test_recon_error": reconstruction_error(model, test_set.x),
    }
    samples = sample_images(model, 64, torch.Generator().manual_seed(seed))
    if tuple(train_set.x.shape[1:]) == (1, 8, 8):
        from genlearn.metrics import sample_quality

        quality = sample_quality(samples)
        metrics.update(frechet=quality.frechet, sharpness_gap=quality.sharpness_gap)
    if name == "vae":
        from genlearn.evaluate import iwae_bound

        metrics["test_nll_nats_iwae100"] = float(-iwae_bound(model, test_set.x, 100).mean())
    out.mkdir(parents=True, exist_ok=True)
    report = Report(metrics)
    report.files["checkpoint"] = save(model, out / "model.pt")
    report.files["losses"] = _save_figure(_loss_figure(history, name), out / "losses.png")
    report.files["samples"] = _save_figure(_grid_figure(samples, f"{name}: samples"), out / "samples.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    report.files["metrics"] = out / "metrics.json"
    return report


def sample_to_png(checkpoint: Path, n: int, out: Path, seed: int = 0) -> Path:
    """Load a checkpoint written by :func:`train_and_report` and save ``n`` samples as a grid."""
    n = check_count(n, "n")
    model = load(checkpoint)
    if type(model).__name__ not in ("PosthocGaussianAE", "VAE", "VQVAEGenerator", "VAEGAN"):
        raise ValueError(f"{checkpoint} holds a {type(model).__name__}, not a model written by `genlearn train`")
    samples = sample_images(model, n, torch.Generator().manual_seed(seed))
    return _save_figure(_grid_figure(samples, f"{n} samples"), out)


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
