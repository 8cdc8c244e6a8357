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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count, check_finite
from genlearn.models.nets import UPSAMPLE_MODES, ConvDecoder, ConvEncoder, check_inputs, check_shape
from genlearn.models.vq import VectorQuantizer, VQOutput, perplexity

__all__ = [
    "VQVAE",
    "VQVAEOutput",
    "VQVAELoss",
    "vqvae_loss",
    "CodebookStats",
    "codebook_stats",
    "codebook_tracker",
    "VQ_LIKELIHOODS",
]

VQ_LIKELIHOODS = ("bernoulli", "mse")


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
        likelihood: ``"bernoulli"`` (decoder outputs logits, reconstruction in nats) or
            ``"mse"`` (decoder outputs the image, reconstruction = squared error).
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
    ) -> None:
        super().__init__()
        self.in_shape = check_shape(in_shape)
        if len(self.in_shape) != 3:
            raise ValueError(f"in_shape must be (C, H, W) for a VQ-VAE, got {self.in_shape}")
        if likelihood not in VQ_LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {VQ_LIKELIHOODS}, got {likelihood!r}")
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.channels = tuple(check_count(c, "channels") for c in channels)
        self.upsample, self.likelihood = upsample, likelihood
        self.encoder = ConvEncoder(self.in_shape, check_count(code_dim, "code_dim"), self.channels)
        self.quantizer = VectorQuantizer(
            num_codes, code_dim, beta=beta, ema=ema, decay=decay, restart_after=restart_after
        )
        self.decoder = ConvDecoder(self.in_shape, code_dim, self.channels[::-1], upsample=upsample)

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

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able), saved with checkpoints."""
        q = self.quantizer
        return {
            "in_shape": list(self.in_shape), "num_codes": q.num_codes, "code_dim": q.code_dim,
            "channels": list(self.channels), "upsample": self.upsample, "likelihood": self.likelihood,
            "beta": q.beta, "ema": q.ema, "decay": q.decay, "restart_after": q.restart_after,
        }

    # --- the three stages -------------------------------------------------------------------
    def encode(self, x: Tensor) -> Tensor:
        """Continuous encoder output ``z_e``, shape ``(N, D, h, w)``."""
        check_inputs(x, self.in_shape)
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
        """The image a code map stands for: ``sigmoid(logits)`` (Bernoulli) or the output (MSE)."""
        out = self.decode(z_q)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

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
        h, w = self.code_shape
        if not isinstance(idx, Tensor) or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
            what = idx.dtype if isinstance(idx, Tensor) else type(idx).__name__
            raise ValueError(f"code maps must be an integer tensor (N, {h}, {w}), got {what}")
        if idx.ndim != 3 or tuple(idx.shape[1:]) != (h, w):
            raise ValueError(f"code maps must have shape (N, {h}, {w}) for this model, got {tuple(idx.shape)}")
        if idx.numel() and (idx.min() < 0 or idx.max() >= self.num_codes):
            raise ValueError(f"code indices must lie in [0, {self.num_codes}), got min {int(idx.min())}, "
                             f"max {int(idx.max())}")
        return idx.long()

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
        return self.decode_mean(self.quantizer.lookup(self.encode_indices(x)))

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
    if model.likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(decoded, x, reduction="sum") / x.shape[0]
    return F.mse_loss(decoded, x, reduction="sum") / x.shape[0]


def vqvae_loss(model: VQVAE, x: Tensor, out: VQVAEOutput | None = None) -> VQVAELoss:
    """VQ-VAE loss terms (module docstring); ``out`` reuses a forward pass ``model(x)``."""
    if out is None:
        out = model(x)
    recon = _recon(model, out.decoded, x)
    vq = out.vq
    loss = recon + vq.codebook_loss + vq.commitment_loss
    return VQVAELoss(loss, recon, vq.codebook_loss, vq.commitment_loss, vq.perplexity.detach().to(loss.dtype))


class CodebookStats(NamedTuple):
    """Code usage over a data set: ``counts`` (K,), ``used`` (fraction of codes picked at
    least once), ``perplexity`` (exp of the usage entropy, 1..K), ``dead`` (number of unused codes)."""

    counts: Tensor
    used: float
    perplexity: float
    dead: int


@torch.no_grad()
def codebook_stats(model: VQVAE, x: Tensor, batch_size: int = 1000) -> CodebookStats:
    """How the images ``x`` use the codebook (eval mode, no state change)."""
    batch_size = check_count(batch_size, "batch_size")
    if len(x) == 0:
        raise ValueError("x is empty; expected images (N, C, H, W) with N >= 1")
    dev = model.quantizer.codebook.device
    was_training = model.training
    model.eval()
    try:
        idx = torch.cat([model.encode_indices(x[i : i + batch_size].to(dev)).reshape(-1)
                         for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)
    counts = torch.bincount(idx, minlength=model.num_codes).cpu()
    used = int((counts > 0).sum())
    return CodebookStats(counts, used / model.num_codes, float(perplexity(counts.double(), model.num_codes)),
                         model.num_codes - used)


def codebook_tracker(x: Tensor, prefix: str = "data_", model: VQVAE | None = None):
    """An ``after_epoch`` hook for :func:`genlearn.train.fit` that appends, after every epoch,
    the codebook usage on ``x`` to ``history[prefix + "used"]`` (fraction of codes used) and
    ``history[prefix + "perplexity"]``. Given ``model``, the untrained state is measured now
    and becomes entry 0 (then entry ``e`` is the state after ``e`` epochs)."""
    start = [codebook_stats(model, x)] if model is not None else []

    def record(history: dict[str, list[float]], stats: CodebookStats) -> None:
        history.setdefault(prefix + "used", []).append(stats.used)
        history.setdefault(prefix + "perplexity", []).append(stats.perplexity)

    def track(epoch: int, model: nn.Module, history: dict[str, list[float]]) -> None:
        while start:
            record(history, start.pop())
        record(history, codebook_stats(model, x))

    return track
