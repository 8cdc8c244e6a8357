r"""An autoregressive prior over VQ-VAE code maps: a small PixelCNN (van den Oord et al., 2016).

A VQ-VAE turns an image into a code map ``k`` of ``h x w`` integers in ``[0, K)``.
To *generate*, we need ``p(k)``. Reading the map in raster order (row by row,
left to right, positions ``i = 0 .. hw - 1``), the chain rule gives

    log p(k) = sum_i log p(k_i | k_<i),

and a PixelCNN computes all the conditionals in one pass with **masked**
convolutions: the kernel is zeroed at and after its centre in raster order
(mask ``"A"``, first layer: position i cannot see itself) or after its centre
(mask ``"B"``, later layers: it may see its own features, which already exclude k_i).
So the logits at position i depend only on ``k_<i``. The first layer's kernel
spans ``2 max(h, w) - 1`` positions by default, so every position sees *all* of its
past (no "blind spot" on these small maps).

Training minimises the negative log-likelihood in **nats per code map** (sum over
positions, mean over the batch, :func:`code_prior_loss`); it is also reported in
**bits per code**: ``nll / (h w log 2)``, to compare with ``log2 K`` bits for codes
drawn uniformly. Sampling draws ``k_0, k_1, ...`` one position at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count, check_number
from genlearn.models.base import eval_mode
from genlearn.models.priors import Prior, UniformCodes, check_codes

__all__ = [
    "MaskedConv2d",
    "CodePrior",
    "CodePriorLoss",
    "code_prior_loss",
    "uniform_codes",
    "causal_mask",
]


def causal_mask(kernel_size: int, mask_type: str) -> Tensor:
    """The ``(k, k)`` 0/1 mask: 1 on the rows above the centre and left of the centre in its
    row; the centre itself is 1 for type ``"B"`` and 0 for type ``"A"``."""
    if mask_type not in ("A", "B"):
        raise ValueError(f"mask_type must be 'A' (first layer) or 'B' (later layers), got {mask_type!r}")
    k = check_count(kernel_size, "kernel_size")
    if k % 2 == 0:
        raise ValueError(f"kernel_size must be odd so the kernel has a centre, got {k}")
    mask = torch.zeros(k, k)
    c = k // 2
    mask[:c] = 1.0
    mask[c, : c + (mask_type == "B")] = 1.0
    return mask


class MaskedConv2d(nn.Conv2d):
    """``Conv2d`` (stride 1, same padding) whose kernel is multiplied by :func:`causal_mask`,
    so output position i only sees input positions before i (type A) or up to i (type B)."""

    mask: Tensor

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask_type: str) -> None:
        mask = causal_mask(kernel_size, mask_type)
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.mask_type = mask_type
        self.register_buffer("mask", mask[None, None].clone())

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mask_type={self.mask_type}"


class CodePriorLoss(NamedTuple):
    """``loss``: negative log-likelihood in nats per code map (sum over positions, batch mean);
    ``bits_per_code``: the same divided by ``h w log 2`` (``log2 K`` for a uniform prior)."""

    loss: Tensor
    bits_per_code: Tensor


class CodePrior(Prior):
    r"""PixelCNN over code maps ``(N, h, w)`` with values in ``[0, K)``.

    ``embed`` (K -> ``channels``), a type-A masked conv (``kernel_size``, default
    ``2 max(h, w) - 1``), ``layers - 1`` residual blocks ``x + MaskedConv_B(ReLU(x))`` (3x3),
    then ReLU and a 1x1 conv to K logits per position.
    """

    def __init__(
        self,
        num_codes: int,
        code_shape: Sequence[int],
        channels: int = 64,
        layers: int = 3,
        kernel_size: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_codes = check_count(num_codes, "num_codes")
        if isinstance(code_shape, (int, str)) or not isinstance(code_shape, Sequence) or len(code_shape) != 2:
            raise ValueError(f"code_shape must be (h, w), the size of a code map, got {code_shape!r}")
        self.code_shape = (check_count(code_shape[0], "code_shape"), check_count(code_shape[1], "code_shape"))
        self.channels = check_count(channels, "channels")
        self.layers = check_count(layers, "layers")
        k = 2 * max(self.code_shape) - 1 if kernel_size is None else check_count(kernel_size, "kernel_size")
        self.kernel_size = max(3, k)
        self.dropout = check_number(dropout, "dropout", hi=1.0)
        self.embed = nn.Embedding(self.num_codes, self.channels)
        self.first = MaskedConv2d(self.channels, self.channels, self.kernel_size, "A")
        self.blocks = nn.ModuleList(
            MaskedConv2d(self.channels, self.channels, 3, "B") for _ in range(self.layers - 1)
        )
        self.drop = nn.Dropout(self.dropout)
        self.head = nn.Conv2d(self.channels, self.num_codes, 1)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able), saved with checkpoints."""
        return {"num_codes": self.num_codes, "code_shape": list(self.code_shape), "channels": self.channels,
                "layers": self.layers, "kernel_size": self.kernel_size, "dropout": self.dropout}

    def check_codes(self, idx: Tensor) -> Tensor:
        """``idx`` as a long tensor after checking shape ``(N, h, w)``, dtype and range."""
        return check_codes(idx, self.num_codes, self.code_shape)

    def embed_codes(self, idx: Tensor) -> Tensor:
        """Code embeddings as a feature map ``(N, channels, h, w)``."""
        return self.embed(self.check_codes(idx)).permute(0, 3, 1, 2)

    def logits_from_features(self, h: Tensor) -> Tensor:
        """The network after the embedding: ``(N, channels, h, w)`` -> logits ``(N, K, h, w)``.
        Causal: the logits at position i do not depend on the features at positions >= i."""
        h = self.first(h)
        for block in self.blocks:
            h = h + self.drop(block(F.relu(h)))
        return self.head(F.relu(h))

    def forward(self, idx: Tensor) -> Tensor:
        """Logits of ``p(k_i | k_<i)`` for every position: ``(N, K, h, w)``."""
        return self.logits_from_features(self.embed_codes(idx))

    def log_prob(self, idx: Tensor) -> Tensor:
        """``log p(k)`` in nats per code map, ``(N,)``."""
        idx = self.check_codes(idx)
        return -F.cross_entropy(self(idx), idx, reduction="none").flatten(1).sum(1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, temperature: float = 1.0) -> Tensor:
        """``n`` code maps ``(n, h, w)`` drawn position by position from ``p(k_i | k_<i)``
        (softmax of logits / ``temperature``). With a ``generator`` the draw is reproducible."""
        n = check_count(n, "n")
        if not (isinstance(temperature, (int, float)) and math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a number > 0, got {temperature!r}")
        dev = self.head.weight.device
        h, w = self.code_shape
        idx = torch.zeros(n, h, w, dtype=torch.long, device=dev)
        with eval_mode(self):
            for r in range(h):
                for c in range(w):
                    probs = torch.softmax(self(idx)[:, :, r, c].double() / temperature, dim=1)
                    if generator is not None:
                        draw = torch.multinomial(probs.to(generator.device), 1, generator=generator)
                    else:
                        draw = torch.multinomial(probs, 1)
                    idx[:, r, c] = draw[:, 0].to(dev)
        return idx


def code_prior_loss(prior: CodePrior, idx: Tensor) -> CodePriorLoss:
    """Negative log-likelihood of code maps ``(N, h, w)``: nats per map and bits per code."""
    idx = prior.check_codes(idx)
    nll = F.cross_entropy(prior(idx), idx, reduction="sum") / idx.shape[0]
    return CodePriorLoss(nll, nll.detach() / (math.prod(prior.code_shape) * math.log(2)))


def uniform_codes(
    n: int, code_shape: Sequence[int], num_codes: int, generator: torch.Generator | None = None
) -> Tensor:
    """``n`` code maps with every code drawn uniformly from ``[0, K)``: ``(n, h, w)`` long (CPU).
    Their cost under a uniform prior is exactly ``log2 K`` bits per code
    (:class:`~genlearn.models.priors.UniformCodes`)."""
    return UniformCodes(num_codes, code_shape).sample(n, generator)
