r"""The variational autoencoder (Kingma & Welling, 2014).

Encoder ``q(z|x) = N(mu(x), diag exp(logvar(x)))``, prior ``p(z) = N(0, I)``, decoder
``p(x|z)``, sampled with the reparameterisation ``z = mu + exp(logvar / 2) * eps``,
``eps ~ N(0, I)``. Training maximises the evidence lower bound::

    log p(x) >= ELBO = E_q[log p(x|z)] - KL(q(z|x) || p(z))

:func:`vae_loss` returns ``-ELBO`` (one sample of z) in **nats per example**: sums over
pixels and latent dimensions, a mean over the batch::

    recon = -(1/N) sum_n log p(x_n | z_n)
    kl    =  (1/N) sum_n 1/2 sum_j (exp(s_nj) - (1 + s_nj) + mu_nj^2)      (s = logvar)
    loss  = recon + beta * sum_j max(free_bits, (1/N) sum_n KL_nj)

Likelihoods (``likelihood=``, :mod:`genlearn.models.likelihoods`): ``"bernoulli"`` (logits,
binary data), ``"logistic"`` (discretized logistic over ``levels`` grey levels), ``"gaussian"``
(fixed std ``sigma``, continuous data). The prior is an object, ``model.prior``
(:class:`~genlearn.models.priors.StandardNormal`), used by :meth:`VAE.sample` and by the bounds
of :mod:`genlearn.evaluate`.

Remedies for posterior collapse: ``beta`` (weight of the KL; a warm-up from 0 to 1 with
:func:`kl_warmup`) and ``free_bits`` (Kingma et al., 2016: no pressure on a latent
dimension whose batch-mean KL is below ``free_bits`` nats). The log-variance is
soft-clamped to ``logvar_range`` so ``exp(logvar)`` never overflows or underflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count, check_number
from genlearn.models.base import LatentGaussianModel, Posterior, draw_normal, model_device
from genlearn.models.likelihoods import make_likelihood
from genlearn.models.nets import (
    UPSAMPLE_MODES,
    build_decoder,
    build_encoder,
    check_inputs,
    check_shape,
    check_sizes,
    soft_clamp,
)
from genlearn.models.priors import StandardNormal

__all__ = ["VAE", "Posterior", "VAEOutput", "VAELoss", "vae_loss", "kl_warmup", "LIKELIHOODS"]

LIKELIHOODS = ("bernoulli", "logistic", "gaussian")


class VAEOutput(NamedTuple):
    """One forward pass. ``decoded``: the decoder output ``(N, *in_shape)``, i.e. the parameter
    of ``p(x|z)``: **logits** (Bernoulli) or the **mean** (Gaussian); ``mu``, ``logvar``: the
    encoder's ``q(z|x)``; ``z``: the reparameterised sample ``(N, latent_dim)``."""

    decoded: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor


class VAELoss(NamedTuple):
    """Named terms, 0-dim tensors in nats per example. ``loss`` is what is minimised;
    ``recon + kl`` is the one-sample negative ELBO (they differ when beta != 1 or free bits bite)."""

    loss: Tensor
    recon: Tensor
    kl: Tensor



class VAE(nn.Module):
    """Variational autoencoder with a diagonal-Gaussian encoder and a standard-normal prior.

    ``in_shape``: one input, e.g. ``(1, 8, 8)``; ``arch="mlp"`` (``hidden`` widths,
    mirrored in the decoder) or ``"conv"`` (``channels``, ``upsample="transpose"|"nearest"``);
    ``likelihood="bernoulli"|"logistic"|"gaussian"`` (``levels``: grey levels of the
    discretized logistic; ``sigma``: fixed decoder std of the Gaussian);
    ``beta``, ``free_bits`` weight the KL in :func:`vae_loss` and may be changed during
    training (e.g. by :func:`kl_warmup`).
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 8,
        *,
        arch: str = "mlp",
        hidden: Sequence[int] = (256, 256),
        channels: Sequence[int] = (32, 64),
        upsample: str = "transpose",
        likelihood: str = "bernoulli",
        sigma: float = 0.1,
        levels: int = 256,
        beta: float = 1.0,
        free_bits: float = 0.0,
        logvar_range: Sequence[float] = (-12.0, 8.0),
    ) -> None:
        super().__init__()
        self.in_shape = check_shape(in_shape)
        self.latent_dim = check_count(latent_dim, "latent_dim")
        ok = isinstance(logvar_range, Sequence) and not isinstance(logvar_range, str) and len(logvar_range) == 2
        lo, hi = (check_number(v, "logvar_range", lo=-math.inf) for v in logvar_range) if ok else (0.0, 0.0)
        if not ok or not lo < hi:
            raise ValueError(f"logvar_range must be two finite numbers (low, high), low < high, got {logvar_range!r}")
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.arch, self.upsample, self.likelihood = arch, upsample, likelihood
        self.hidden, self.channels = check_sizes(hidden, "hidden"), check_sizes(channels, "channels", False)
        self.sigma = check_number(sigma, "sigma", strict=True)
        self.levels = check_count(levels, "levels", minimum=2)
        self.px_given_z = make_likelihood(likelihood, self.in_shape, sigma=self.sigma, levels=self.levels,
                                          allowed=LIKELIHOODS)
        self.beta = check_number(beta, "beta")
        self.free_bits = check_number(free_bits, "free_bits")
        self.logvar_range = (lo, hi)
        self.prior = StandardNormal(self.latent_dim)
        self.encoder = build_encoder(self.in_shape, 2 * self.latent_dim, arch, self.hidden, self.channels)
        self.decoder = build_decoder(
            self.in_shape, self.latent_dim, arch, self.hidden[::-1], self.channels[::-1], upsample
        )

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able, current ``beta`` / ``free_bits``), saved with checkpoints."""
        return {
            "in_shape": list(self.in_shape), "latent_dim": self.latent_dim, "arch": self.arch,
            "hidden": list(self.hidden), "channels": list(self.channels), "upsample": self.upsample,
            "likelihood": self.likelihood, "sigma": self.sigma, "levels": self.levels, "beta": self.beta,
            "free_bits": self.free_bits, "logvar_range": list(self.logvar_range),
        }

    def encode(self, x: Tensor) -> Posterior:
        """``q(z|x)``: ``Posterior(mu, logvar)``, each ``(N, latent_dim)``; logvar soft-clamped."""
        h = self.encoder(check_inputs(x, self.in_shape, like=self))
        mu, raw = h.chunk(2, dim=-1)
        return Posterior(mu, soft_clamp(raw, *self.logvar_range))

    latent_posterior = encode  # the protocol's name for q(z|x) (genlearn.models.base)

    def code(self, x: Tensor) -> Tensor:
        """The point code: the posterior mean ``mu(x)``."""
        return self.encode(x).mu

    def reparameterize(self, mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``: differentiable in mu and logvar."""
        eps = torch.randn_like(mu) if generator is None else draw_normal(tuple(mu.shape), mu, generator)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: Tensor) -> Tensor:
        """The parameter of ``p(x|z)``, ``(N, *in_shape)``: logits (Bernoulli, logistic) or mean (Gaussian)."""
        return self.decoder(check_inputs(z, (self.latent_dim,), "z", like=self))

    def decode_mean(self, z: Tensor) -> Tensor:
        """``E[x|z]``: ``sigmoid(u)`` (Bernoulli, logistic; in [0, 1]) or the Gaussian mean."""
        return self.px_given_z.mean(self.decode(z))

    def forward(self, x: Tensor) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return VAEOutput(self.decoder(z), mu, logvar, z)

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """``log p(x|z)`` per example, shape ``(N,)``, summed over pixels, constants included.
        Raises ``ValueError`` for data the likelihood is not a likelihood of (e.g. grey pixels
        under a Bernoulli)."""
        check_inputs(x, self.in_shape, like=self)
        return self.px_given_z.log_prob(x, self.decode(z))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images ``E[x|z]``, ``z ~ p(z)`` (means, not noisy draws), ``(n, *in_shape)``."""
        return self.decode_mean(self.prior.sample(n, generator))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """``E[x|z = mu(x)]``: the reconstruction from the posterior mean (no sampling)."""
        return self.decode_mean(self.encode(x.to(model_device(self))).mu)


def _neg_log_likelihood(model: VAE, decoded: Tensor, x: Tensor) -> Tensor:
    """``-log p(x|z)`` per example ``(N,)`` from the decoder output, summed over pixels."""
    if decoded.shape != x.shape:
        raise ValueError(f"decoder output {tuple(decoded.shape)} and x {tuple(x.shape)} differ in shape")
    return model.px_given_z.nll(decoded, x)


def vae_loss(model: VAE, x: Tensor, out: VAEOutput | None = None) -> VAELoss:
    """Negative ELBO with one z per example, in nats per example (see the module docstring).

    ``loss = recon + beta * sum_j max(free_bits, mean_n KL_nj)``; ``kl`` reports the plain
    KL (no free bits). ``out`` reuses a forward pass (``model(x)``) if given. Any
    :class:`~genlearn.models.base.LatentGaussianModel` whose forward pass returns a
    :class:`VAEOutput` trains with it (``beta`` and ``free_bits`` default to 1 and 0).
    """
    if not isinstance(model, LatentGaussianModel):
        raise ValueError(f"vae_loss needs a LatentGaussianModel such as a VAE, got {type(model).__name__}"
                         + (f" ({model.likelihood_why_not})" if getattr(type(model), "likelihood_why_not", None)
                            else ""))
    if out is None:
        out = model(x)
    n = x.shape[0]
    if out.decoded.shape != x.shape:
        raise ValueError(f"decoder output {tuple(out.decoded.shape)} and x {tuple(x.shape)} differ in shape")
    recon = model.px_given_z.nll_sum(out.decoded, x) / n
    # the KL to the model's own prior object (closed form where it has one, else one draw at out.z):
    # the model trains against the prior it is sampled and evaluated with
    beta, free_bits = getattr(model, "beta", 1.0), getattr(model, "free_bits", 0.0)
    if free_bits > 0:
        kl_dims = model.prior.kl_per_dim(out.mu, out.logvar).mean(0)
        kl = kl_dims.sum()
        kl_term = kl_dims.clamp(min=free_bits).sum()
    else:
        kl = model.prior.kl_from(out.mu, out.logvar, out.z).sum() / n
        kl_term = kl
    loss = recon + kl_term if beta == 1.0 else recon + beta * kl_term  # skip a multiply
    return VAELoss(loss, recon, kl)


def kl_warmup(epochs: int, beta: float = 1.0, start: float = 0.0) -> Callable[..., None]:
    """An epoch callback for :func:`genlearn.train.fit` (``before_epoch=``) that raises
    ``model.beta`` linearly from ``start`` to ``beta`` over ``epochs`` epochs:

        beta_e = start + (beta - start) * min(1, (e + 1) / epochs)      (e = 0, 1, ...)
    """
    epochs = check_count(epochs, "epochs")
    beta, start = check_number(beta, "beta"), check_number(start, "start")

    def set_beta(epoch: int, model: nn.Module, history: dict[str, list[float]]) -> None:
        model.beta = start + (beta - start) * min(1.0, (epoch + 1) / epochs)

    return set_beta
