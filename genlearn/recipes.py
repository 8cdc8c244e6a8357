"""Training recipes: how the course builds and trains each of its four generative models.

Every recipe runs the one training loop, :func:`genlearn.train.fit`; what differs is the loss
or the step, and the closed-form fits after training:

* ``ae``: :func:`~genlearn.models.ae_loss`, then :meth:`AE.fit_prior` (a Gaussian fitted to
  its codes, so it samples and gets an ELBO like the VAE: the fair rival);
* ``vae``: :func:`~genlearn.models.vae_loss`;
* ``vqvae``: :func:`~genlearn.models.vqvae_loss`, then a PixelCNN prior over its code maps
  (:func:`fit_code_prior`, installed with :meth:`VQVAE.set_prior`);
* ``vaegan``: :func:`fit_vaegan`, the VAE-GAN's own step (per-network ``autograd.grad``
  routing, three optimizers) inside ``fit``.

``build(name, in_shape, levels)`` makes a fresh model; ``train_model(name, model, x, epochs)``
trains it. The likelihood follows the data: ``levels=2`` (binary) gives Bernoulli decoders,
more grey levels a discretized logistic, so every reported likelihood is one of the data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn import distributed
from genlearn._validate import check_count, check_number
from genlearn.models import AE, VAE, VAEGAN, VQVAE, CodePrior, ae_loss, code_prior_loss, vae_loss, vqvae_loss
from genlearn.models.base import map_batches
from genlearn.models.nets import check_inputs
from genlearn.models.vaegan import GROUPS, VAEGANLoss, vaegan_grads, vaegan_loss
from genlearn.train import History, Hook, StepContext, fit

__all__ = [
    "MODELS",
    "build",
    "train_model",
    "fit_code_prior",
    "fit_vaegan",
    "VAEGANOptimizers",
    "vaegan_optimizers",
    "vaegan_step",
    "sample_images",
    "decode_prior_samples",
    "reconstruction_images",
    "codes",
]

MODELS = ("ae", "vae", "vqvae", "vaegan")


def fit_code_prior(
    prior: CodePrior,
    codes: Tensor,
    epochs: int,
    *,
    val_codes: Tensor | None = None,
    batch_size: int = 100,
    lr: float = 1e-3,
    seed: int | None = 0,
    progress: bool = False,
    device: torch.device | str | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    resume: dict[str, Any] | None = None,
) -> History:
    """Train ``prior`` on code maps ``codes`` (N, h, w) with :func:`genlearn.train.fit` and
    :func:`code_prior_loss`. With ``val_codes`` the weights of the epoch with the lowest
    validation NLL are restored at the end (early stopping: with ~1000s of maps a PixelCNN
    soon memorises them) and ``history["best_epoch"]`` holds that epoch (0-based). ``device``
    defaults to :func:`genlearn.device`."""
    codes = prior.check_codes(codes)
    best: dict[str, Any] = {"loss": math.inf, "epoch": -1, "state": None}

    def keep_best(epoch: int, model: nn.Module, history: History) -> None:
        if history["val_loss"][-1] < best["loss"]:
            best.update(loss=history["val_loss"][-1], epoch=epoch,
                        state={k: v.detach().clone() for k, v in model.state_dict().items()})

    val = None if val_codes is None else prior.check_codes(val_codes)
    history = fit(prior, code_prior_loss, codes, epochs, batch_size=batch_size, lr=lr, seed=seed,
                  progress=progress, val_data=val, device=device, after_epoch=keep_best if val is not None else None,
                  checkpoint=checkpoint, resume=resume)
    if best["state"] is not None:
        prior.load_state_dict(best["state"])
        history["best_epoch"] = [float(best["epoch"])]
    return history


# --------------------------------------------------------------------------- the VAE-GAN's training
class VAEGANOptimizers(NamedTuple):
    """One optimizer per network."""

    encoder: torch.optim.Optimizer
    decoder: torch.optim.Optimizer
    discriminator: torch.optim.Optimizer


def vaegan_optimizers(model: VAEGAN, lr: float = 1e-3, lr_dis: float | None = None,
                      betas: tuple[float, float] = (0.5, 0.999)) -> VAEGANOptimizers:
    """Adam for each group; the discriminator's learning rate is ``lr_dis`` (default ``lr``).
    ``beta1 = 0.5`` is the usual GAN setting (less momentum to overshoot with)."""
    lr = check_number(lr, "lr", strict=True)
    lr_dis = lr if lr_dis is None else check_number(lr_dis, "lr_dis", strict=True)
    groups = model.parameter_groups()
    return VAEGANOptimizers(*(torch.optim.Adam(groups[g], lr=r, betas=betas)
                              for g, r in zip(GROUPS, (lr, lr, lr_dis), strict=True)))


def vaegan_step(model: VAEGAN, optimizers: VAEGANOptimizers, x: Tensor,
                generator: torch.Generator | None = None,
                check: Callable[[Tensor], None] | None = None) -> VAEGANLoss:
    """One training step: all three gradients from :func:`vaegan_grads` first, then (after
    ``check(terms)``, e.g. the training loop's NaN check) the three optimizer steps. Returns
    the (detached) terms measured before the step."""
    terms, grads = vaegan_grads(model, x, generator)
    if check is not None:
        check(torch.stack(tuple(terms)))
    params = model.parameter_groups()
    for name in GROUPS:
        for p, g in zip(params[name], grads[name], strict=True):
            p.grad = g
    distributed.average_gradients(model.parameters())  # under torchrun: the mean over processes
    for name in GROUPS:
        getattr(optimizers, name).step()
    return terms


def _vaegan_train_step(model: nn.Module, batch: tuple[Tensor, ...], ctx: StepContext) -> Any:
    return vaegan_step(model, ctx.optimizer, batch[0], ctx.generator, ctx.check_finite)


def fit_vaegan(
    model: VAEGAN,
    train_data: Tensor,
    epochs: int,
    *,
    batch_size: int = 100,
    lr: float = 1e-3,
    lr_dis: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    optimizers: VAEGANOptimizers | None = None,
    seed: int | None = None,
    device: torch.device | str | None = None,
    after_epoch: Hook | Iterable[Hook] | None = None,
    progress: bool = True,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    resume: dict[str, Any] | None = None,
) -> History:
    """Train a VAE-GAN on images ``train_data`` ``(N, *in_shape)`` with :func:`genlearn.train.fit`
    and :func:`~genlearn.models.vaegan_step` as its step (Adam per network, ``beta1 = 0.5``).
    Returns the history: per-epoch means of every :class:`~genlearn.models.VAEGANLoss` term and
    ``seconds``. ``seed`` seeds the shuffling and the noise (z and z_prior). A non-finite term
    raises ``FloatingPointError`` before the step. The model is left in eval mode."""
    if not isinstance(model, VAEGAN):
        raise ValueError(f"fit_vaegan needs a VAEGAN, got {type(model).__name__}")
    x = check_inputs(train_data, model.in_shape, "train_data")
    if optimizers is None:
        optimizers = vaegan_optimizers(model, lr, lr_dis, betas)
    return fit(model, vaegan_loss, x, epochs, batch_size=batch_size, optimizer=optimizers, step=_vaegan_train_step,
               seed=seed, device=device, after_epoch=after_epoch, progress=progress, desc="VAEGAN",
               checkpoint=checkpoint, resume=resume)


# ----------------------------------------------------------------------------- the course's four models
@dataclass
class _Recipe:
    build: Callable[..., nn.Module]  # (in_shape, likelihood, levels, hidden, channels, **options) -> model
    train: Callable[..., History]
    lr: float


def _likelihood(levels: int | None) -> str:
    return "bernoulli" if levels == 2 else "logistic" if levels else "gaussian"


def _train_with(loss_fn: Callable[..., Any]) -> Callable[..., History]:
    def train(model, x, epochs, *, batch_size, lr, seed, progress, device=None, checkpoint=None, resume=None):
        return fit(model, loss_fn, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                   device=device, checkpoint=checkpoint, resume=resume)

    return train


def _train_ae(model: AE, x, epochs, **kw) -> History:
    history = _train_with(ae_loss)(model, x, epochs, **kw)
    model.fit_prior(x)
    return history


def _phase(name: str, checkpoint: Callable[[dict[str, Any]], None] | None, **more: Any):
    """A checkpoint callback that tags each state with the training phase (and ``more``)."""
    if checkpoint is None:
        return None
    return lambda state: checkpoint({**state, "phase": name, **more})


def _train_vqvae(model: VQVAE, x, epochs, *, batch_size, lr, seed, progress, device=None, checkpoint=None,
                 resume=None) -> History:
    """Two phases, each checkpointed every epoch: the VQ-VAE, then a PixelCNN prior over its code maps."""
    in_prior = resume is not None and resume.get("phase") == "prior"
    if resume is None:
        model.init_codebook_from_data(x[:2000], torch.Generator().manual_seed(seed))  # on the CPU, before fit
    if in_prior:
        model.load_state_dict(resume["vqvae"])
        history = {k: list(v) for k, v in resume["vqvae_history"].items()}
    else:
        history = fit(model, vqvae_loss, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=progress,
                      device=device, checkpoint=_phase("vqvae", checkpoint), resume=resume)
    model.to(device or next(model.parameters()).device).eval()
    maps = map_batches(model.encode_indices, model, x)
    # a small PixelCNN: 32 channels, a 7x7 first kernel at most (2 max(h, w) - 1 would be 13 on 7x7 maps,
    # six times the work for positions that the three residual layers reach anyway)
    prior = CodePrior(model.num_codes, model.code_shape, channels=32, kernel_size=min(7, 2 * max(model.code_shape) - 1))
    vq_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()} if checkpoint else None
    prior_history = fit_code_prior(prior, maps, max(5, epochs), batch_size=batch_size, seed=seed,
                                   progress=progress, device=device,
                                   checkpoint=_phase("prior", checkpoint, vqvae=vq_state, vqvae_history=history),
                                   resume=resume if in_prior else None)
    model.set_prior(prior)
    history["prior_loss"] = prior_history["loss"]
    return history


def _train_vaegan(model, x, epochs, *, batch_size, lr, seed, progress, device=None, checkpoint=None,
                  resume=None, lr_dis=None, betas=(0.5, 0.999)) -> History:
    return fit_vaegan(model, x, epochs, batch_size=batch_size, lr=lr, lr_dis=lr_dis, betas=tuple(betas), seed=seed,
                      progress=progress, device=device, checkpoint=checkpoint, resume=resume)


def _build_vqvae(shape, likelihood, levels, hidden, channels, **options):
    if likelihood == "gaussian":
        likelihood = "mse"
    return VQVAE(shape, **{"num_codes": 64, "code_dim": 16, "channels": channels, "likelihood": likelihood,
                           "levels": levels, "restart_after": 20, **options})


_RECIPES: dict[str, _Recipe] = {
    "ae": _Recipe(lambda shape, lik, levels, hidden, channels, **kw: AE(
        shape, **{"latent_dim": 8, "hidden": hidden, **kw}),
                  _train_ae, 2e-3),
    "vae": _Recipe(lambda shape, lik, levels, hidden, channels, **kw: VAE(
        shape, **{"latent_dim": 8, "hidden": hidden, "likelihood": lik, "levels": levels, **kw}),
                   _train_with(vae_loss), 2e-3),
    "vqvae": _Recipe(_build_vqvae, _train_vqvae, 2e-3),
    "vaegan": _Recipe(lambda shape, lik, levels, hidden, channels, **kw: VAEGAN(
        shape, **{"latent_dim": 8, "hidden": hidden, "dis_channels": channels, **kw}),
                      _train_vaegan, 1e-3),
}


def _recipe(name: str) -> _Recipe:
    if name not in _RECIPES:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return _RECIPES[name]


def build(name: str, in_shape: tuple[int, ...], levels: int | None = 2, *,
          hidden: tuple[int, ...] = (256, 128), channels: tuple[int, ...] = (32, 64), **options: Any) -> nn.Module:
    """A fresh model ``name`` (one of :data:`MODELS`) for inputs of shape ``in_shape`` whose pixels
    take ``levels`` grey levels (2: binary, Bernoulli decoder; 17 or 256: discretized logistic;
    None: continuous), with MLP widths ``hidden`` (AE, VAE, the VAE-GAN's VAE) and conv widths
    ``channels`` (the VQ-VAE, the VAE-GAN's discriminator); pass a :mod:`genlearn.scale` scale's
    ``S.hidden`` and ``S.channels`` to build at that scale. ``options`` are constructor arguments
    that replace the recipe's (e.g. ``latent_dim=32, arch="conv"`` for the VAE-GAN; the
    full-scale recipes of :data:`genlearn.pretrained.PRETRAINED` pass theirs)."""
    if levels is not None:
        levels = check_count(levels, "levels", minimum=2)
    return _recipe(name).build(tuple(in_shape), _likelihood(levels), levels or 256, tuple(hidden), tuple(channels),
                               **options)


def train_model(name: str, model: nn.Module, x: Tensor, epochs: int, *, batch_size: int = 100,
                lr: float | None = None, seed: int = 0, progress: bool = True,
                device: torch.device | str | None = None,
                checkpoint: Callable[[dict[str, Any]], None] | None = None,
                resume: dict[str, Any] | None = None, **options: Any) -> History:
    """Train a model from :func:`build` with the course's defaults (learning rate, prior fitting);
    ``device`` defaults to :func:`genlearn.device` (under torchrun: the process's device).
    ``checkpoint`` / ``resume``: as in :func:`genlearn.train.fit` (a state also names its phase).
    ``options``: the VAE-GAN's ``lr_dis`` and ``betas`` (:func:`fit_vaegan`); the other models take none."""
    recipe = _recipe(name)
    if options and name != "vaegan":
        raise ValueError(f"training options {sorted(options)} are the VAE-GAN's; {name!r} takes none")
    unknown = set(options) - {"lr_dis", "betas"}
    if unknown:
        raise ValueError(f"unknown VAE-GAN training options {sorted(unknown)}; it takes lr_dis and betas")
    return recipe.train(model, x, check_count(epochs, "epochs"), batch_size=batch_size, lr=lr or recipe.lr,
                        seed=seed, progress=progress, device=device, checkpoint=checkpoint, resume=resume, **options)


def sample_images(model: nn.Module, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` images in [0, 1] on the CPU from any model of the protocol (``model.sample``)."""
    if not callable(getattr(model, "sample", None)):
        raise ValueError(f"{type(model).__name__} cannot sample; expected a genlearn generative model")
    return model.sample(check_count(n, "n"), generator=generator).clamp(0, 1).cpu()


def decode_prior_samples(prior: CodePrior, vqvae: VQVAE, n: int, generator: torch.Generator | None = None,
                         temperature: float = 1.0) -> Tensor:
    """``n`` images on the CPU from code maps drawn from ``prior`` (at ``temperature``), decoded by
    ``vqvae`` (whose own prior is left as it is; ``vqvae.set_prior(prior).sample(n)`` is the same
    at temperature 1)."""
    if prior.num_codes != vqvae.num_codes or tuple(prior.code_shape) != tuple(vqvae.code_shape):
        raise ValueError(f"prior ({prior.num_codes} codes, maps {prior.code_shape}) does not match the VQ-VAE "
                         f"({vqvae.num_codes} codes, maps {vqvae.code_shape})")
    return vqvae.decode_indices(prior.sample(n, generator, temperature)).cpu()


def reconstruction_images(model: nn.Module, x: Tensor) -> Tensor:
    """The model's reconstructions of ``x`` (no sampling: codes are means or nearest codes), on the CPU."""
    return map_batches(model.reconstruct, model, x).clamp(0, 1)


def codes(model: nn.Module, x: Tensor) -> Tensor:
    """Continuous codes of ``x`` (N, d) on the CPU: ``f(x)`` for an AE, the posterior mean for a VAE / VAE-GAN."""
    if isinstance(model, VQVAE):
        raise ValueError("a VQ-VAE's codes are discrete: use model.encode_indices(x)")
    from genlearn.models.latent import encode_mean

    return encode_mean(model, x)
