r"""The VQ-VAE (van den Oord et al., 2017): conv encoder -> vector quantiser -> conv decoder.

The encoder maps an image ``(N, C, H, W)`` to a feature map ``z_e`` of shape
``(N, D, h, w)`` (one D-vector per position; ``h = ceil(H / 2)`` per stride-2 layer,
so 8x8 -> 2x2, 16x16 -> 4x4, 28x28 -> 7x7 with the default two layers). Each vector
is replaced by its nearest of K codebook vectors (:class:`~genlearn.models.vq.VectorQuantizer`,
straight-through gradient), and the decoder maps the quantised map ``z_q`` back to an
image. An image is thus described by a *code map*: ``h x w`` integers in ``[0, K)``.

:func:`vqvae_loss` returns named terms, each summed over the pixels / positions of an
example and **averaged over the batch** (the reduction used everywhere in genlearn)::

    recon      = (1/N) sum_n -log p(x_n | z_q)            (likelihood="bernoulli", nats)
               = (1/N) sum_n ||x_n - x_hat_n||^2           (likelihood="mse", squared error)
    codebook   = (1/N) sum_n ||sg(z_e) - e||^2             (0 with an EMA codebook)
    commitment = (1/N) sum_n beta ||z_e - sg(e)||^2
    loss       = recon + codebook + commitment

There is no KL term: with a uniform prior over codes and a deterministic (one-hot)
encoder the KL is the constant ``h w log K``. The discrete bound on the data's
negative log-likelihood is then ``-log p(x) <= recon + h w log K`` (Bernoulli, binary x),
or ``recon + (-log p_prior(codes))`` with a learned prior (:mod:`genlearn.models.code_prior`).
The prior is an object, ``model.prior``: :class:`~genlearn.models.priors.UniformCodes` until
:meth:`VQVAE.set_prior` installs a fitted :class:`~genlearn.models.code_prior.CodePrior`;
:meth:`VQVAE.sample` draws code maps from it, and :func:`genlearn.evaluate.vq_bound` scores it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count, check_finite
from genlearn.models.base import model_device
from genlearn.models.code_prior import CodePrior
from genlearn.models.likelihoods import make_likelihood
from genlearn.models.nets import UPSAMPLE_MODES, ConvDecoder, ConvEncoder, check_inputs, check_shape, check_sizes
from genlearn.models.priors import Prior, UniformCodes, check_codes
from genlearn.models.vq import VectorQuantizer, VQOutput

__all__ = [
    "VQVAE",
    "VQVAEOutput",
    "VQVAELoss",
    "vqvae_loss",
    "VQ_LIKELIHOODS",
]

VQ_LIKELIHOODS = ("bernoulli", "logistic", "mse")


class VQVAEOutput(NamedTuple):
    """One forward pass. ``decoded``: decoder output ``(N, *in_shape)``: **logits** (Bernoulli)
    or the reconstruction itself (MSE); ``z_e``: encoder output ``(N, D, h, w)``; ``vq``: the
    quantiser's :class:`~genlearn.models.vq.VQOutput` (``quantized``, ``indices`` (N, h, w),
    losses, ``perplexity``, ``usage``)."""

    decoded: Tensor
    z_e: Tensor
    vq: VQOutput

    @property
    def indices(self) -> Tensor:
        """The code map ``(N, h, w)``."""
        return self.vq.indices

    @property
    def z_q(self) -> Tensor:
        """The quantised map ``(N, D, h, w)`` (straight-through: value e_k, gradient to z_e)."""
        return self.vq.quantized


class VQVAELoss(NamedTuple):
    """Named terms, 0-dim tensors per example (batch means). ``loss = recon + codebook +
    commitment`` is minimised; ``perplexity`` (of the batch's code usage) is only reported."""

    loss: Tensor
    recon: Tensor
    codebook: Tensor
    commitment: Tensor
    perplexity: Tensor


class VQVAE(nn.Module):
    r"""Vector-quantised autoencoder for images ``(N, C, H, W)``.

    Args:
        in_shape: one image, e.g. ``(1, 8, 8)``, ``(1, 16, 16)``, ``(1, 28, 28)``.
        num_codes: K, the codebook size. code_dim: D, the length of each code.
        channels: widths of the stride-2 conv layers (each halves H and W); the decoder mirrors them.
        upsample: ``"transpose"`` or ``"nearest"`` (see :mod:`genlearn.models.nets`).
        likelihood: ``"bernoulli"`` (decoder outputs logits, reconstruction in nats, binary data),
            ``"logistic"`` (discretized logistic over ``levels`` grey levels, nats) or
            ``"mse"`` (decoder outputs the image, reconstruction = squared error, no likelihood).
        prior: None (uniform codes) or the config of a :class:`~genlearn.models.code_prior.CodePrior`
            (set by :meth:`set_prior`, so a checkpoint rebuilds the model with its prior).
        beta, ema, decay, restart_after: passed to :class:`~genlearn.models.vq.VectorQuantizer`.
    """

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 8, 8),
        num_codes: int = 512,
        code_dim: int = 16,
        *,
        channels: Sequence[int] = (32, 64),
        upsample: str = "transpose",
        likelihood: str = "bernoulli",
        beta: float = 0.25,
        ema: bool = False,
        decay: float = 0.99,
        restart_after: int | None = None,
        levels: int = 256,
        fused: bool = False,
        prior: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.in_shape = check_shape(in_shape)
        if len(self.in_shape) != 3:
            raise ValueError(f"in_shape must be (C, H, W) for a VQ-VAE, got {self.in_shape}")
        if likelihood not in VQ_LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {VQ_LIKELIHOODS}, got {likelihood!r}")
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.channels = check_sizes(channels, "channels", False)
        self.upsample, self.likelihood = upsample, likelihood
        self.levels = check_count(levels, "levels", minimum=2)
        self.px_given_z = make_likelihood(likelihood, self.in_shape, levels=self.levels, allowed=VQ_LIKELIHOODS)
        self.encoder = ConvEncoder(self.in_shape, check_count(code_dim, "code_dim"), self.channels)
        self.quantizer = VectorQuantizer(
            num_codes, code_dim, beta=beta, ema=ema, decay=decay, restart_after=restart_after, fused=fused
        )
        self.decoder = ConvDecoder(self.in_shape, code_dim, self.channels[::-1], upsample=upsample)
        self.prior: Prior = UniformCodes(self.num_codes, self.code_shape)
        if prior is not None:
            if not isinstance(prior, dict):
                raise ValueError(f"prior must be None or a CodePrior config dict, got {type(prior).__name__}")
            self.set_prior(CodePrior(**prior))

    def set_prior(self, prior: Prior) -> VQVAE:
        """Install a prior over this model's code maps (a fitted :class:`CodePrior`, or
        :class:`UniformCodes`); it must have the same K and map size. Returns self."""
        k, shape = getattr(prior, "num_codes", None), tuple(getattr(prior, "code_shape", ()))
        if not isinstance(prior, Prior) or k != self.num_codes or shape != tuple(self.code_shape):
            raise ValueError(f"the prior must be a Prior over code maps with {self.num_codes} codes of shape "
                             f"{self.code_shape}, got {type(prior).__name__} ({k} codes, maps {shape or None})")
        self.prior = prior.to(model_device(self))
        return self

    # --- sizes ----------------------------------------------------------------------------
    @property
    def num_codes(self) -> int:
        return self.quantizer.num_codes

    @property
    def code_dim(self) -> int:
        return self.quantizer.code_dim

    @property
    def code_shape(self) -> tuple[int, int]:
        """``(h, w)``: the size of a code map."""
        return tuple(self.encoder.feature_shape[1:])  # type: ignore[return-value]

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able, with the prior's), saved with checkpoints."""
        q = self.quantizer
        return {
            "in_shape": list(self.in_shape), "num_codes": q.num_codes, "code_dim": q.code_dim,
            "channels": list(self.channels), "upsample": self.upsample, "likelihood": self.likelihood,
            "beta": q.beta, "ema": q.ema, "decay": q.decay, "restart_after": q.restart_after,
            "levels": self.levels, "fused": q.fused,
            "prior": self.prior.config() if isinstance(self.prior, CodePrior) else None,
        }

    # --- the three stages -------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Continuous encoder output ``z_e``, shape ``(N, D, h, w)``."""
        check_inputs(x, self.in_shape, like=self)
        check_finite(x, "x")
        return self.encoder(x)

    def quantize(self, z_e: Tensor) -> VQOutput:
        """Nearest codes of ``z_e`` (N, D, h, w): see :class:`~genlearn.models.vq.VQOutput`."""
        return self.quantizer(z_e)

    def decode(self, z_q: Tensor) -> Tensor:
        """Decoder output ``(N, *in_shape)`` for a map of code vectors ``(N, D, h, w)``:
        logits (Bernoulli) or the image (MSE)."""
        return self.decoder(z_q)

    def decode_mean(self, z_q: Tensor) -> Tensor:
        """The image a code map stands for: ``sigmoid(logits)`` (Bernoulli, logistic) or the output (MSE)."""
        return self.px_given_z.mean(self.decode(z_q))

    def forward(self, x: Tensor) -> VQVAEOutput:
        z_e = self.encode(x)
        vq = self.quantizer(z_e)
        return VQVAEOutput(self.decoder(vq.quantized), z_e, vq)

    # --- code maps --------------------------------------------------------------------------
    @torch.no_grad()
    def encode_indices(self, x: Tensor) -> Tensor:
        """Code map of each image: ``(N, h, w)`` long, values in ``[0, K)`` (no state change)."""
        return self.quantizer.nearest(self.encode(x))

    def _check_indices(self, idx: Tensor) -> Tensor:
        return check_codes(idx, self.num_codes, self.code_shape)

    def lookup(self, idx: Tensor) -> Tensor:
        """Code vectors ``(N, D, h, w)`` of a code map ``(N, h, w)``."""
        return self.quantizer.lookup(self._check_indices(idx))

    @torch.no_grad()
    def decode_indices(self, idx: Tensor) -> Tensor:
        """Images ``(N, *in_shape)`` (``decode_mean``) for code maps ``(N, h, w)``."""
        idx = self._check_indices(idx).to(self.quantizer.codebook.device)
        return self.decode_mean(self.quantizer.lookup(idx))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """``decode_mean(z_q(x))``: the image of each input's code map."""
        return self.decode_mean(self.quantizer.lookup(self.encode_indices(x.to(model_device(self)))))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images: code maps drawn from ``model.prior``, decoded (:meth:`decode_indices`)."""
        return self.decode_indices(self.prior.sample(check_count(n, "n"), generator))

    def log_px_given_codes(self, x: Tensor, idx: Tensor) -> Tensor:
        """``log p(x | z_q(k))`` per example for code maps ``k``; refuses data the likelihood
        is not a likelihood of (and a squared-error model has none)."""
        check_inputs(x, self.in_shape, like=self)
        return self.px_given_z.log_prob(x, self.decode(self.lookup(idx.to(model_device(self)))))

    @torch.no_grad()
    def init_codebook_from_data(self, x: Tensor, generator: torch.Generator | None = None) -> None:
        """Set the codebook to K encoder outputs of ``x`` drawn at random (data-dependent
        initialisation: every code starts where the data are). Needs at least K vectors."""
        rows = self.encode(x).movedim(1, -1).reshape(-1, self.code_dim)
        k = self.num_codes
        if len(rows) < k:
            raise ValueError(f"need at least num_codes={k} encoder vectors, x gives {len(rows)} "
                             f"({len(x)} images x {math.prod(self.code_shape)} positions)")
        pick = torch.randperm(len(rows), generator=generator)[:k].to(rows.device)
        self.quantizer.init_codebook(rows[pick])


def _recon(model: VQVAE, decoded: Tensor, x: Tensor) -> Tensor:
    """Reconstruction term summed over pixels, averaged over the batch."""
    if decoded.shape != x.shape:
        raise ValueError(f"decoder output {tuple(decoded.shape)} and x {tuple(x.shape)} differ in shape")
    return model.px_given_z.nll_sum(decoded, x) / x.shape[0]


def vqvae_loss(model: VQVAE, x: Tensor, out: VQVAEOutput | None = None) -> VQVAELoss:
    """VQ-VAE loss terms (module docstring); ``out`` reuses a forward pass ``model(x)``."""
    if out is None:
        out = model(x)
    recon = _recon(model, out.decoded, x)
    vq = out.vq
    loss = recon + vq.codebook_loss + vq.commitment_loss
    return VQVAELoss(loss, recon, vq.codebook_loss, vq.commitment_loss, vq.perplexity.detach().to(loss.dtype))
