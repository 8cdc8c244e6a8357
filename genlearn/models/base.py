r"""The model protocol: what every generative model of the course answers, and how.

Every model (:class:`~genlearn.models.AE`, :class:`~genlearn.models.VAE`,
:class:`~genlearn.models.VQVAE`, :class:`~genlearn.models.VAEGAN`,
:class:`~genlearn.models.LinearGaussian`) offers::

    encode(x)                  the code of x (a Posterior(mu, logvar) for latent-Gaussian models,
                               a vector for an AE, a feature map for a VQ-VAE)
    decode(z)                  the decoder's output for a code
    reconstruct(x)             E[x | code of x], no sampling, no gradients
    sample(n, generator=None)  n new examples: z ~ model.prior, decoded to E[x|z]
    config()                   the constructor arguments, JSON-able: type(m)(**m.config()) rebuilds it
    prior                      a :class:`~genlearn.models.priors.Prior` (sample(n, generator), log_prob(z))

Models that define a likelihood ``p(x|z)`` and a Gaussian ``q(z|x)`` (a *latent-Gaussian
model*: VAE, LinearGaussian, and an AE once :meth:`~genlearn.models.AE.fit_prior` has been
called) add ``latent_posterior(x) -> Posterior`` and ``log_px_given_z(x, z) -> (N,)``; the
bounds of :mod:`genlearn.evaluate` need nothing else.

:func:`eval_mode` is the one "switch to eval mode, no gradients, restore" of the package and
:func:`map_batches` the one "apply in chunks on the model's device, gather on the CPU".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from genlearn._validate import check_count

__all__ = [
    "GenerativeModel",
    "LatentGaussianModel",
    "Posterior",
    "eval_mode",
    "model_device",
    "map_batches",
    "draw_normal",
    "check_batch",
]


class Posterior(NamedTuple):
    """Parameters of ``q(z|x) = N(mu, diag exp(logvar))``, each ``(N, latent_dim)``."""

    mu: Tensor
    logvar: Tensor


@runtime_checkable
class GenerativeModel(Protocol):
    """The questions every model of the course answers (module docstring)."""

    prior: nn.Module

    def encode(self, x: Tensor) -> Any: ...

    def decode(self, z: Tensor) -> Tensor: ...

    def reconstruct(self, x: Tensor) -> Tensor: ...

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...

    def config(self) -> dict[str, Any]: ...


@runtime_checkable
class LatentGaussianModel(Protocol):
    """What the likelihood bounds need: ``q(z|x)``, ``log p(x|z)`` and ``p(z)``."""

    prior: nn.Module

    def latent_posterior(self, x: Tensor) -> Posterior: ...

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor: ...


def model_device(model: Any, fallback: Tensor | None = None) -> torch.device:
    """The device of a model's first parameter or buffer (``fallback``'s device, else the CPU)."""
    if isinstance(model, nn.Module):
        for t in model.parameters():
            return t.device
        for t in model.buffers():
            return t.device
    return fallback.device if fallback is not None else torch.device("cpu")


@contextmanager
def eval_mode(model: Any) -> Iterator[None]:
    """Evaluation mode and no gradients inside the block; the model's mode is restored after."""
    was_training = getattr(model, "training", False)
    if isinstance(model, nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if isinstance(model, nn.Module):
            model.train(was_training)


def check_batch(x: Any, name: str = "x") -> Tensor:
    """A non-empty batch tensor ``(N, ...)``, N >= 1, at least 2-D."""
    if not isinstance(x, Tensor) or x.ndim < 2 or len(x) == 0:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a non-empty batch tensor of shape (N, ...) matching the model's "
                         f"input, got {got}")
    return x


def map_batches(fn: Callable[[Tensor], Tensor], model: Any, x: Tensor, batch_size: int = 1000) -> Tensor:
    """``fn(x[i:i+b])`` for consecutive chunks moved to the model's device, in eval mode and
    without gradients, concatenated on the CPU."""
    x = check_batch(x)
    batch_size = check_count(batch_size, "batch_size")
    dev = model_device(model, x)
    with eval_mode(model):
        return torch.cat([fn(x[i : i + batch_size].to(dev)).cpu() for i in range(0, len(x), batch_size)])


def draw_normal(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """``N(0, 1)`` draws with ``like``'s dtype and device; with a ``generator`` they are drawn on
    the generator's device and moved, so the same generator gives the same numbers anywhere."""
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype).to(like.device)
