r"""Procedurally drawn moon phases: a disc lit from 0 % (new moon) to 100 % (full moon).

The light comes from the right. The lit region is bounded by the right half of the
limb and by the *terminator*, the half-ellipse ``x = k * sqrt(r^2 - y^2)``; with
``k = 1 - 2 * phase`` the lit area is exactly ``phase`` times the disc's area::

    phase 0 -> k = 1 (dark),  0.5 -> k = 0 (half moon),  1 -> k = -1 (full moon)

Edges are anti-aliased with a one-pixel linear ramp (a crescent thinner than a pixel
fades with its width), so images change continuously with the phase: that is what
makes the "full moon / half moon" interpolation lesson fair to the autoencoder.
"""

from __future__ import annotations

import torch
from torch import Tensor

from genlearn._validate import as_tensor, check_count, check_finite

__all__ = ["moon_phase", "moon_phases", "random_moons"]


def moon_phases(
    phases, size: int = 28, radius: float = 0.4, shade: float = 0.0
) -> Tensor:
    """Images ``(N, 1, size, size)`` (float32 in [0, 1]) of the moon at each phase in ``phases``.

    ``phases``: 1-D values in [0, 1] (lit fraction of the disc). ``radius`` is a fraction
    of the image size (0 < radius <= 0.5). ``shade`` in [0, 1) is the brightness of the
    unlit part of the disc (0: invisible, as in the sky).
    """
    size = check_count(size, "size", minimum=4)
    p = check_finite(as_tensor(phases, "phases"), "phases")
    if p.ndim != 1:
        raise ValueError(f"phases must be 1-D (one value per image), got shape {tuple(p.shape)}")
    if ((p < 0) | (p > 1)).any():
        raise ValueError("phases must lie in [0, 1] (fraction of the disc that is lit)")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not 0 < radius <= 0.5:
        raise ValueError(f"radius must be a number in (0, 0.5] (a fraction of the image size), got {radius!r}")
    if isinstance(shade, bool) or not isinstance(shade, (int, float)) or not 0 <= shade < 1:
        raise ValueError(f"shade must be a number in [0, 1), got {shade!r}")
    r = radius * size  # in pixels
    c = torch.arange(size, dtype=torch.float64) - (size - 1) / 2  # pixel centres
    y, x = torch.meshgrid(c, c, indexing="ij")
    disc = (r - torch.sqrt(x**2 + y**2) + 0.5).clamp(0, 1)  # soft inside-the-limb mask
    half_chord = torch.sqrt((r**2 - y**2).clamp(min=0))  # (H, W)
    k = (1 - 2 * p).view(-1, 1, 1)
    lit = (x - k * half_chord + 0.5).clamp(0, 1)  # soft right-of-terminator mask
    # a lit crescent thinner than a pixel (width 2 r phase at the equator) fades out with its
    # width, and so does a dark one near full moon: phase 0 is exactly dark, phase 1 exactly
    # the full disc, and the image stays continuous in the phase
    lit = lit * (2 * r * p).clamp(max=1).view(-1, 1, 1)
    lit = 1 - (1 - lit) * (2 * r * (1 - p)).clamp(max=1).view(-1, 1, 1)
    img = disc * (shade + (1 - shade) * lit)
    return img.unsqueeze(1).to(torch.float32)


def moon_phase(phase: float, size: int = 28, radius: float = 0.4, shade: float = 0.0) -> Tensor:
    """One image ``(1, size, size)`` of the moon lit to ``phase`` in [0, 1]."""
    return moon_phases([float(phase)], size=size, radius=radius, shade=shade)[0]


def random_moons(
    n: int, size: int = 28, generator: torch.Generator | None = None, radius: float = 0.4
) -> tuple[Tensor, Tensor]:
    """``n`` moon images with phases drawn uniformly from [0, 1]: returns ``(images, phases)``."""
    n = check_count(n, "n")
    phases = torch.rand(n, generator=generator, dtype=torch.float64)
    return moon_phases(phases, size=size, radius=radius), phases.to(torch.float32)
