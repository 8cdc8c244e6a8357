r"""The deterministic autoencoder: ``z = f(x)``, ``x_hat = g(z)``, trained on squared error.

Loss (nats-style reduction used across genlearn: sum over pixels, mean over the batch)::

    recon = (1/N) sum_n sum_i (x_hat_ni - x_ni)^2

(the Gaussian negative log-likelihood with variance 1/2, up to a constant).

Noise variants (active only in training mode, ``model.train()``):

* ``input_noise = s``: denoising AE: encode ``x + s * eps`` but reconstruct the clean ``x``.
* ``code_noise = s``: noisy code: decode ``z + s * eps``, so each example covers a
  small ball of codes instead of a point: the step from an AE towards a VAE.

An AE becomes a generative model, evaluated like the others, with :meth:`AE.fit_prior`
(closed-form fits after training, no gradient steps):

* the prior ``p(z) = N(m, S)``, a Gaussian fitted to the training codes
  (:class:`~genlearn.models.priors.FittedGaussian`): :meth:`AE.sample` draws from it;
* a likelihood on the decoder's output chosen by the data (binary: Bernoulli on the
  pre-sigmoid output; grey levels: discretized logistic with its scale fitted; continuous:
  Gaussian with ``sigma`` = the RMS reconstruction error);
* a posterior ``q(z|x) = N(f(x), diag v)`` with ``v_j = (c s_j)^2`` (``s_j`` the codes' std,
  ``c`` picked from a grid to maximise the training ELBO), so the ELBO and IWAE bounds of
  :mod:`genlearn.evaluate` apply: the fair rival of a VAE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count, check_number
from genlearn.models.base import Posterior, draw_normal, eval_mode, map_batches, model_device
from genlearn.models.likelihoods import (
    Bernoulli,
    DiscretizedLogistic,
    Gaussian,
    Likelihood,
    SquaredError,
    grey_levels,
)
from genlearn.models.nets import UPSAMPLE_MODES, build_decoder, build_encoder, check_inputs, check_shape, check_sizes
from genlearn.models.priors import FittedGaussian

__all__ = ["AE", "AEOutput", "AELoss", "ae_loss", "squared_error"]

OUTPUTS = ("sigmoid", "linear")


class AEOutput(NamedTuple):
    """``recon``: reconstruction ``(N, *in_shape)``; ``z``: the code ``(N, latent_dim)``
    (with code noise added in training mode)."""

    recon: Tensor
    z: Tensor


class AELoss(NamedTuple):
    """Named loss terms, each a 0-dim tensor in units per example (``loss == recon``)."""

    loss: Tensor
    recon: Tensor


class AE(nn.Module):
    """Autoencoder ``x -> z = encoder(x) -> x_hat = decoder(z)``.

    ``in_shape``: shape of one input, e.g. ``(1, 8, 8)`` or ``(2,)``; ``arch`` is
    ``"mlp"`` (``hidden`` widths, mirrored in the decoder) or ``"conv"`` (``channels``,
    ``upsample="transpose"|"nearest"``). ``output="sigmoid"`` keeps reconstructions in
    (0, 1) (images); ``"linear"`` for unbounded data.
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 2,
        *,
        arch: str = "mlp",
        hidden: Sequence[int] = (256, 256),
        channels: Sequence[int] = (32, 64),
        upsample: str = "transpose",
        output: str = "sigmoid",
        input_noise: float = 0.0,
        code_noise: float = 0.0,
        likelihood: str | None = None,
        levels: int = 256,
        sigma: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_shape = check_shape(in_shape)
        self.latent_dim = check_count(latent_dim, "latent_dim")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.arch, self.output, self.upsample = arch, output, upsample
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.hidden, self.channels = check_sizes(hidden, "hidden"), check_sizes(channels, "channels", False)
        self.input_noise = check_number(input_noise, "input_noise (a noise std)")
        self.code_noise = check_number(code_noise, "code_noise (a noise std)")
        self.encoder = build_encoder(self.in_shape, self.latent_dim, arch, self.hidden, self.channels)
        self.decoder = build_decoder(
            self.in_shape, self.latent_dim, arch, self.hidden[::-1], self.channels[::-1], upsample
        )
        self.prior = FittedGaussian(self.latent_dim)
        self.register_buffer("posterior_logvar", torch.zeros(self.latent_dim))
        self._set_likelihood(likelihood, levels, sigma)

    def _set_likelihood(self, name: str | None, levels: int = 256, sigma: float = 1.0) -> None:
        allowed = (None, "bernoulli", "logistic", "gaussian")
        if name not in allowed:
            raise ValueError(f"likelihood must be one of {allowed} (None: chosen by fit_prior from the data), "
                             f"got {name!r}")
        if name in ("bernoulli", "logistic") and self.output != "sigmoid":
            raise ValueError(f"likelihood={name!r} needs output='sigmoid' (its mean is the sigmoid of the "
                             "decoder's output)")
        self.likelihood, self.levels = name, check_count(levels, "levels", minimum=2)
        self.sigma = float(sigma)
        self.px_given_z: Likelihood = {
            None: SquaredError, "bernoulli": Bernoulli,
            "logistic": lambda: DiscretizedLogistic(self.levels, self.in_shape[0] if len(self.in_shape) == 3 else 1),
            "gaussian": lambda: Gaussian(self.sigma),
        }[name]()

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able), saved with checkpoints (with the likelihood
        :meth:`fit_prior` chose)."""
        return {
            "in_shape": list(self.in_shape), "latent_dim": self.latent_dim, "arch": self.arch,
            "hidden": list(self.hidden), "channels": list(self.channels), "upsample": self.upsample,
            "output": self.output, "input_noise": self.input_noise, "code_noise": self.code_noise,
            "likelihood": self.likelihood, "levels": self.levels, "sigma": self.sigma,
        }

    def encode(self, x: Tensor) -> Tensor:
        """Codes ``z = f(x)``, shape ``(N, latent_dim)`` (no noise)."""
        return self.encoder(check_inputs(x, self.in_shape, like=self))

    def decode(self, z: Tensor) -> Tensor:
        """Reconstructions ``g(z)``, shape ``(N, *in_shape)``."""
        check_inputs(z, (self.latent_dim,), "z", like=self)
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    decode_mean = decode  # same name as VAE.decode_mean: the image a code stands for
    code = encode  # the point code of the protocol: f(x)

    def forward(self, x: Tensor) -> AEOutput:
        check_inputs(x, self.in_shape, like=self)
        if self.training and self.input_noise > 0:
            x = x + self.input_noise * torch.randn_like(x)
        z = self.encoder(x)
        if self.training and self.code_noise > 0:
            z = z + self.code_noise * torch.randn_like(z)
        return AEOutput(self.decode(z), z)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """``g(f(x))`` without noise or gradients."""
        return self.decode(self.encode(x.to(model_device(self))))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images ``g(z)``, ``z ~ N(m, S)`` fitted to the training codes (:meth:`fit_prior` first)."""
        return self.decode(self.prior.sample(n, generator).to(model_device(self)))

    # --- the AE as a latent-Gaussian model (after fit_prior) ------------------------------------
    def latent_posterior(self, x: Tensor) -> Posterior:
        """``q(z|x) = N(f(x), diag exp(posterior_logvar))`` (fitted by :meth:`fit_prior`)."""
        self.prior._require_fit()
        mu = self.encode(x)
        return Posterior(mu, self.posterior_logvar.to(mu.dtype).expand_as(mu))

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """``log p(x|z)`` per example under the likelihood :meth:`fit_prior` chose."""
        check_inputs(x, self.in_shape, like=self)
        if not self.px_given_z.is_likelihood:
            raise ValueError("this AE has no likelihood yet: call model.fit_prior(x_train) after training")
        return self.px_given_z.log_prob(x, self._likelihood_param(check_inputs(z, (self.latent_dim,), "z", like=self)))

    def _likelihood_param(self, z: Tensor) -> Tensor:
        """The likelihood's parameter: the pre-sigmoid output (Bernoulli, logistic) or the image."""
        raw = self.decoder(z)
        if self.likelihood in ("bernoulli", "logistic") or self.output != "sigmoid":
            return raw
        return torch.sigmoid(raw)

    @torch.no_grad()
    def fit_prior(self, x: Tensor, *, scales: tuple[float, ...] = (1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0),
                  max_examples: int = 2000, generator: torch.Generator | None = None) -> AE:
        """Make the trained AE a generative model (module docstring): fit the code Gaussian to
        ``f(x)``, the likelihood to the data, and the posterior width. ``x``: training data.
        Returns self."""
        x = check_inputs(x, self.in_shape, like=self)
        codes = map_batches(self.encode, self, x)
        self.prior.fit(codes)
        sub = x[:max_examples].to(model_device(self))
        with eval_mode(self):
            raw = self.decoder(self.encode(sub))
            self._fit_likelihood(sub, raw)
            param = self._likelihood_param
            std = codes.std(0).clamp(min=1e-6).to(sub.device)
            gen = generator if generator is not None else torch.Generator().manual_seed(0)
            best = (-math.inf, 0.0)
            for c in scales:
                logvar = 2 * torch.log(c * std)
                mu = self.encode(sub)
                z = mu + torch.exp(0.5 * logvar) * draw_normal(tuple(mu.shape), mu, gen)
                elbo = (-self.px_given_z.nll(param(z), sub)
                        - self.prior.kl_from(mu, logvar.expand_as(mu))).mean()
                if float(elbo) > best[0]:
                    best = (float(elbo), c)
            self.posterior_logvar.copy_(2 * torch.log(best[1] * std))
        return self

    def _fit_likelihood(self, x: Tensor, raw: Tensor) -> None:
        if self.likelihood is None:
            levels = grey_levels(x)
            if self.output == "sigmoid" and levels == 2:
                self._set_likelihood("bernoulli")
            elif self.output == "sigmoid" and levels is not None:
                self._set_likelihood("logistic", levels)
            else:
                self._set_likelihood("gaussian", sigma=1.0)
            self.px_given_z.to(raw.device)
        lik = self.px_given_z
        if isinstance(lik, Gaussian):  # the maximum-likelihood sigma: RMS error
            out = torch.sigmoid(raw) if self.output == "sigmoid" else raw
            self.sigma = lik.sigma = max(float((out - x).pow(2).mean().sqrt()), 1e-4)
        elif isinstance(lik, DiscretizedLogistic):  # a 1-D search of the log scale
            grid = torch.linspace(math.log(1e-3), math.log(1.0), 24)
            nlls = []
            for v in grid:
                lik.log_scale.fill_(float(v))
                nlls.append(float(lik.nll(raw, x).mean()))
            lik.log_scale.fill_(float(grid[int(torch.tensor(nlls).argmin())]))


def ae_loss(model: AE, x: Tensor, out: AEOutput | None = None) -> AELoss:
    """Squared error summed over pixels, averaged over the batch: ``(1/N) sum ||x_hat - x||^2``.

    ``out`` reuses a forward pass (``model(x)``) if given.
    """
    if out is None:
        out = model(x)
    recon = squared_error(out.recon, x).sum() / x.shape[0]
    return AELoss(recon, recon)


def squared_error(x_hat: Tensor, x: Tensor) -> Tensor:
    """``||x_hat - x||^2`` per example ``(N,)``, summed over all but the first axis: the one
    squared reconstruction error of the package. Shapes must match (nothing is broadcast)."""
    if not isinstance(x_hat, Tensor) or not isinstance(x, Tensor) or x_hat.shape != x.shape:
        got = [tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__ for t in (x_hat, x)]
        raise ValueError(f"reconstruction and input must be tensors of the same shape (N, ...), got {got[0]} "
                         f"and {got[1]}")
    return (x_hat - x).pow(2).flatten(1).sum(1)
