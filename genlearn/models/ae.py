r"""The deterministic autoencoder: ``z = f(x)``, ``x_hat = g(z)``, trained on squared error.

Loss (nats-style reduction used across genlearn: sum over pixels, mean over the batch)::

    recon = (1/N) sum_n sum_i (x_hat_ni - x_ni)^2

(the Gaussian negative log-likelihood with variance 1/2, up to a constant).

Noise variants (active only in training mode, ``model.train()``):

* ``input_noise = s``: denoising AE: encode ``x + s * eps`` but reconstruct the clean ``x``.
* ``code_noise = s``: noisy code: decode ``z + s * eps``, so each example covers a
  small ball of codes instead of a point: the step from an AE towards a VAE.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.models.nets import build_decoder, build_encoder, check_inputs, check_shape

__all__ = ["AE", "AEOutput", "AELoss", "ae_loss"]

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


def _check_noise(v: float, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0 (a noise std), got {v!r}")
    return float(v)


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
    ) -> None:
        super().__init__()
        self.in_shape = check_shape(in_shape)
        self.latent_dim = check_count(latent_dim, "latent_dim")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.arch, self.output, self.upsample = arch, output, upsample
        self.hidden, self.channels = tuple(hidden), tuple(channels)
        self.input_noise = _check_noise(input_noise, "input_noise")
        self.code_noise = _check_noise(code_noise, "code_noise")
        self.encoder = build_encoder(self.in_shape, self.latent_dim, arch, self.hidden, self.channels)
        self.decoder = build_decoder(
            self.in_shape, self.latent_dim, arch, self.hidden[::-1], self.channels[::-1], upsample
        )

    @property
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able), saved with checkpoints."""
        return {
            "in_shape": list(self.in_shape), "latent_dim": self.latent_dim, "arch": self.arch,
            "hidden": list(self.hidden), "channels": list(self.channels), "upsample": self.upsample,
            "output": self.output, "input_noise": self.input_noise, "code_noise": self.code_noise,
        }

    def encode(self, x: Tensor) -> Tensor:
        """Codes ``z = f(x)``, shape ``(N, latent_dim)`` (no noise)."""
        return self.encoder(check_inputs(x, self.in_shape))

    def decode(self, z: Tensor) -> Tensor:
        """Reconstructions ``g(z)``, shape ``(N, *in_shape)``."""
        check_inputs(z, (self.latent_dim,), "z")
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    decode_mean = decode  # same name as VAE.decode_mean: the image a code stands for

    def forward(self, x: Tensor) -> AEOutput:
        check_inputs(x, self.in_shape)
        if self.training and self.input_noise > 0:
            x = x + self.input_noise * torch.randn_like(x)
        z = self.encoder(x)
        if self.training and self.code_noise > 0:
            z = z + self.code_noise * torch.randn_like(z)
        return AEOutput(self.decode(z), z)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """``g(f(x))`` without noise or gradients."""
        return self.decode(self.encode(x))


def ae_loss(model: AE, x: Tensor, out: AEOutput | None = None) -> AELoss:
    """Squared error summed over pixels, averaged over the batch: ``(1/N) sum ||x_hat - x||^2``.

    ``out`` reuses a forward pass (``model(x)``) if given.
    """
    if out is None:
        out = model(x)
    if out.recon.shape != x.shape:
        raise ValueError(f"reconstruction shape {tuple(out.recon.shape)} != input shape {tuple(x.shape)}")
    recon = (out.recon - x).pow(2).sum() / x.shape[0]
    return AELoss(recon, recon)
