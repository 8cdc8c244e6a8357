r"""The model protocol: what every generative model of the course answers, and how.

Every model (:class:`~genlearn.models.AE`, :class:`~genlearn.models.VAE`,
:class:`~genlearn.models.VQVAE`, :class:`~genlearn.models.VAEGAN`,
:class:`~genlearn.models.LinearGaussian`, and any model a learner writes) is a
:class:`GenerativeModel`::

    in_shape                   the shape of one example, e.g. (1, 28, 28)
    prior                      a :class:`~genlearn.models.priors.Prior`: sample(n, generator), log_prob(z),
                               kl_from(mu, logvar, z)
    encode(x)                  the code of x (a Posterior(mu, logvar) for latent-Gaussian models,
                               a vector for an AE, a feature map for a VQ-VAE)
    decode(z)                  the decoder's raw output for a code (logits, parameters, or the image)
    decode_mean(z)             the image a code stands for, E[x|z]
    reconstruct(x)             E[x | code of x], no sampling, no gradients
    sample(n, generator=None)  n new examples: z ~ model.prior, decoded to E[x|z]
    config()                   the constructor arguments, JSON-able: type(m)(**m.config()) rebuilds it

Capabilities are further protocols, and shared code dispatches on them (``isinstance(model,
LatentGaussianModel)``), never on a class or its name:

* :class:`ContinuousLatentModel` - a vector code: ``latent_dim`` and ``code(x)``, the point code
  (``f(x)`` of an AE, the posterior mean ``mu(x)`` of a VAE): interpolation, traversals.
* :class:`LatentGaussianModel` - a likelihood ``px_given_z`` with ``log_px_given_z(x, z)`` and a
  Gaussian ``latent_posterior(x)``: the ELBO and IWAE bounds of :mod:`genlearn.evaluate`.
* :class:`CodeMapModel` - discrete code maps (a VQ-VAE): ``encode_indices``, ``decode_indices``,
  ``log_px_given_codes`` and the likelihood ``px_given_z``: the bound ``log p(x|z_q(k)) + log p(k)``.

A model that defines no likelihood of its data says why in a class attribute ``likelihood_why_not``
(the VAE-GAN: it trains a learned similarity), which :func:`genlearn.evaluate.test_nll` reports.

:func:`eval_mode` is the one "switch to eval mode, no gradients, restore" of the package and
:func:`map_batches` the one "apply in chunks on the model's device, gather on the CPU".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from genlearn._validate import check_count

if TYPE_CHECKING:
    from genlearn.models.likelihoods import Likelihood

_LOG_2PI = math.log(2 * math.pi)

__all__ = [
    "GenerativeModel",
    "Prior",
    "ContinuousLatentModel",
    "LatentGaussianModel",
    "CodeMapModel",
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


class Prior(nn.Module):
    """Base class: ``sample(n, generator=None)`` (on the prior's device, in its dtype: a prior is a
    module and moves with its model), ``log_prob(z) -> (n,)`` in nats and ``kl_from(mu, logvar, z)``,
    the KL of a diagonal-Gaussian posterior from this prior per example.

    ``kl_from`` is what every loss and bound calls, so that a model trains against the prior it is
    evaluated with. The base class estimates it by one Monte Carlo draw ``z ~ q``:

        KL(q || p) ~= log q(z) - log p(z),   log q(z) = -1/2 sum_j ((z_j - mu_j)^2 / e^{s_j} + s_j + log 2 pi);

    priors with a closed form override it and set ``closed_form_kl = True`` (then ``z`` is not needed).
    """

    closed_form_kl: bool = False

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws ``z ~ p``."""
        raise NotImplementedError

    def log_prob(self, z: Tensor) -> Tensor:
        """``log p(z)`` per draw, in nats."""
        raise NotImplementedError

    def kl_from(self, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
        """``KL(N(mu, diag e^logvar) || p)`` per example: one Monte Carlo draw at ``z`` (required here)."""
        if z is None:
            raise ValueError(f"{type(self).__name__} has no closed-form KL: pass the posterior sample z")
        log_q = -0.5 * ((z - mu).pow(2) / logvar.exp() + logvar + _LOG_2PI).sum(-1)
        return log_q - self.log_prob(z)

    def kl_per_dim(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """The KL split over latent dimensions ``(..., dim)`` (free bits need it): factorised priors only."""
        raise ValueError(f"{type(self).__name__} does not factorise over the latent dimensions: free bits need a "
                         "prior such as StandardNormal")



@runtime_checkable
class GenerativeModel(Protocol):
    """The questions every model of the course answers (module docstring)."""

    in_shape: tuple[int, ...]
    prior: Prior

    def encode(self, x: Tensor) -> Any: ...

    def decode(self, z: Tensor) -> Tensor: ...

    def decode_mean(self, z: Tensor) -> Tensor: ...

    def reconstruct(self, x: Tensor) -> Tensor: ...

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...

    def config(self) -> dict[str, Any]: ...


@runtime_checkable
class ContinuousLatentModel(GenerativeModel, Protocol):
    """A model with a vector code of ``latent_dim`` entries; ``code(x)`` is the point code ``(N, latent_dim)``."""

    latent_dim: int

    def code(self, x: Tensor) -> Tensor: ...


@runtime_checkable
class LatentGaussianModel(ContinuousLatentModel, Protocol):
    """What the likelihood bounds need: ``q(z|x)``, ``log p(x|z)`` (the likelihood ``px_given_z``) and ``p(z)``."""

    px_given_z: Likelihood

    def latent_posterior(self, x: Tensor) -> Posterior: ...

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor: ...


@runtime_checkable
class CodeMapModel(GenerativeModel, Protocol):
    """Discrete code maps ``k`` ``(N, h, w)`` with a prior over them and a likelihood ``p(x | z_q(k))``."""

    px_given_z: Likelihood

    def encode_indices(self, x: Tensor) -> Tensor: ...

    def decode_indices(self, idx: Tensor) -> Tensor: ...

    def log_px_given_codes(self, x: Tensor, idx: Tensor) -> Tensor: ...


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
