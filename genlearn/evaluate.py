r"""How good is a latent-variable model? Bounds on ``log p(x)`` and latent-usage statistics.

Works with any model that has ``encode(x) -> (mu, logvar)`` (a diagonal Gaussian
``q(z|x)``), ``log_px_given_z(x, z) -> (N,)`` and the prior ``p(z) = N(0, I)``:
:class:`genlearn.models.VAE` and :class:`genlearn.models.LinearGaussian`.

* ELBO (one or more z per example, closed-form KL)::

      ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x)

* Importance-weighted bound (Burda et al., 2016), ``z_k ~ q(z|x)``::

      L_K(x) = log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)

  with every normalising constant included. ``L_1 = ELBO`` in expectation,
  ``L_K <= L_{K+1} <= log p(x)`` in expectation, and ``L_K -> log p(x)`` as
  ``K -> infinity``: with K = 1000 it is the standard estimate of the test
  log-likelihood. Computed in chunks of samples with a running ``logsumexp``.
* Bits per dimension: ``nats / (D ln 2)``.
* Active units (Burda et al.): dimension ``j`` is active if
  ``Cov_x(E_q[z_j]) = Var_x(mu_j(x)) > 0.01``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple, Protocol

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.kl import kl_normal_logvar

__all__ = [
    "LatentModel",
    "elbo",
    "iwae_bound",
    "bits_per_dim",
    "kl_per_dim",
    "active_units",
    "ActiveUnits",
    "Evaluation",
    "evaluate",
]

_LOG_2PI = math.log(2 * math.pi)


class LatentModel(Protocol):
    """What the estimators need from a model (prior ``N(0, I)`` implied)."""

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]: ...

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor: ...


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _randn(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    if generator is None:
        return torch.randn(shape, device=like.device, dtype=like.dtype)
    eps = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
    return eps.to(like.device)


def _check_x(x: Tensor) -> Tensor:
    if not isinstance(x, Tensor) or x.ndim < 2 or len(x) == 0:
        raise ValueError("x must be a non-empty batch tensor of shape (N, ...) matching the model's input")
    return x


def _batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


def elbo(
    model: LatentModel, x: Tensor, n_samples: int = 1, *, batch_size: int = 1000,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-example ELBO ``(N,)`` in nats: ``(1/S) sum_s log p(x|z_s) - KL(q(z|x) || N(0, I))``,
    ``z_s ~ q(z|x)``, with ``S = n_samples`` and the KL in closed form. Not differentiated."""
    x = _check_x(x)
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(batch_size, "batch_size")
    device = next(iter(model.parameters())).device if isinstance(model, nn.Module) else x.device
    out = []
    with _eval_mode(model):
        for sl in _batches(len(x), batch_size):
            xb = x[sl].to(device)
            mu, logvar = model.encode(xb)
            rec = torch.zeros(len(xb), dtype=mu.dtype, device=mu.device)
            for _ in range(n_samples):
                z = mu + torch.exp(0.5 * logvar) * _randn(tuple(mu.shape), mu, generator)
                rec = rec + model.log_px_given_z(xb, z).to(mu.dtype)
            out.append(rec / n_samples - kl_normal_logvar(mu, logvar))
    return torch.cat(out).cpu()


def iwae_bound(
    model: LatentModel, x: Tensor, k: int, *, batch_size: int = 1000, max_points: int = 2**14,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Per-example importance-weighted bound ``L_K`` ``(N,)`` in nats (the module docstring)::

        log w_k = log p(x|z_k) + log N(z_k; 0, I) - log N(z_k; mu, diag e^logvar)
        L_K     = logsumexp_k(log w_k) - log K

    Examples are processed ``batch_size`` at a time and samples in chunks so that at most
    ``max_points`` decoder evaluations happen at once. ``-L_K`` with K = 1000 is the usual
    "test NLL" of a VAE.
    """
    x = _check_x(x)
    k = check_count(k, "k")
    batch_size, max_points = check_count(batch_size, "batch_size"), check_count(max_points, "max_points")
    device = next(iter(model.parameters())).device if isinstance(model, nn.Module) else x.device
    out = []
    with _eval_mode(model):
        for sl in _batches(len(x), batch_size):
            xb = x[sl].to(device)
            n = len(xb)
            mu, logvar = model.encode(xb)
            d = mu.shape[-1]
            std = torch.exp(0.5 * logvar)
            chunk = max(1, min(k, max_points // n))
            acc = torch.full((n,), -math.inf, dtype=mu.dtype, device=mu.device)
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                eps = _randn((c, n, d), mu, generator)
                z = mu + std * eps  # (c, n, d)
                log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(-1)
                log_prior = -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)
                xr = xb.unsqueeze(0).expand(c, *xb.shape).reshape(c * n, *xb.shape[1:])
                log_lik = model.log_px_given_z(xr, z.reshape(c * n, d)).reshape(c, n).to(mu.dtype)
                acc = torch.logaddexp(acc, torch.logsumexp(log_lik + log_prior - log_q, dim=0))
            out.append(acc - math.log(k))
    return torch.cat(out).cpu()


def bits_per_dim(nats: Tensor | float, n_dims: int) -> Tensor | float:
    """Convert a negative log-likelihood in nats per example to bits per dimension:
    ``nats / (n_dims * ln 2)``."""
    n_dims = check_count(n_dims, "n_dims")
    return nats / (n_dims * math.log(2))


def _posterior_params(model: LatentModel, x: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    x = _check_x(x)
    device = next(iter(model.parameters())).device if isinstance(model, nn.Module) else x.device
    mus, logvars = [], []
    with _eval_mode(model):
        for sl in _batches(len(x), check_count(batch_size, "batch_size")):
            mu, logvar = model.encode(x[sl].to(device))
            mus.append(mu.cpu())
            logvars.append(logvar.cpu())
    return torch.cat(mus), torch.cat(logvars)


def kl_per_dim(model: LatentModel, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Mean over the examples of ``KL(q(z_j|x) || N(0, 1))`` for each latent dimension ``j``,
    shape ``(latent_dim,)`` in nats (the sum is the average KL term of the ELBO)."""
    mu, logvar = _posterior_params(model, x, batch_size)
    return kl_normal_logvar(mu.unsqueeze(-1), logvar.unsqueeze(-1)).mean(0)


class ActiveUnits(NamedTuple):
    """``count`` of dimensions whose ``variance`` ``Var_x(E_q[z_j])`` exceeds ``threshold``."""

    count: int
    variance: Tensor
    threshold: float


def active_units(model: LatentModel, x: Tensor, threshold: float = 0.01, batch_size: int = 1000) -> ActiveUnits:
    """Active units (Burda et al., 2016): ``A_j = Var_x(mu_j(x))`` over the examples ``x``
    (``E_q[z_j] = mu_j``; sample variance, N - 1 in the denominator); unit ``j`` is active
    if ``A_j > threshold``."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    mu, _ = _posterior_params(model, x, batch_size)
    if len(mu) < 2:
        raise ValueError("active_units needs at least 2 examples to measure a variance")
    var = mu.var(dim=0, correction=1)
    return ActiveUnits(int((var > threshold).sum()), var, float(threshold))


class Evaluation(NamedTuple):
    """Test-set figures, averaged over examples: nats per example unless named otherwise."""

    neg_elbo: float
    nll: float
    bits_per_dim: float
    kl: float
    active_units: int


def evaluate(
    model: LatentModel, x: Tensor, k: int = 1000, elbo_repeats: int = 10,
    generator: torch.Generator | None = None,
) -> Evaluation:
    """Average ``-ELBO`` (one z per example, averaged over ``elbo_repeats`` draws), NLL
    ``-L_K`` (importance sampling, ``k`` samples), NLL in bits per dimension, mean KL and
    the number of active units on the examples ``x``."""
    elbo_repeats = check_count(elbo_repeats, "elbo_repeats")
    neg_elbo = torch.stack([-elbo(model, x, 1, generator=generator).mean() for _ in range(elbo_repeats)])
    nll = -iwae_bound(model, x, k, generator=generator).mean()
    n_dims = math.prod(x.shape[1:])
    return Evaluation(
        neg_elbo=float(neg_elbo.mean()),
        nll=float(nll),
        bits_per_dim=float(bits_per_dim(nll, n_dims)),
        kl=float(kl_per_dim(model, x).sum()),
        active_units=active_units(model, x).count,
    )
