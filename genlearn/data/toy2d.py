r"""Simple 2-D distributions for latent-space pictures. Each returns ``(points, labels)``:
``points`` float32 ``(n, 2)``, ``labels`` int64 ``(n,)`` naming the component drawn.

* ``two_moons``: two interleaved half circles plus Gaussian noise.
* ``gaussian_mixture``: ``k`` equal-weight Gaussians with centres on a circle.
* ``rings``: concentric circles of radii 1, 2, ..., plus radial noise.

Pass a ``torch.Generator`` for reproducible draws.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from genlearn._validate import check_count, check_number

__all__ = ["two_moons", "gaussian_mixture", "rings"]


MAX_SCALE = 1e6  # points are float32: larger scales would overflow to inf


def _check_scale(v: float, name: str) -> float:
    return check_number(v, f"{name} (at most {MAX_SCALE:g})", hi=MAX_SCALE * (1 + 1e-12))


def two_moons(n: int, noise: float = 0.1, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """Upper moon ``(cos t, sin t)`` and lower moon ``(1 - cos t, 1/2 - sin t)``, ``t ~ U(0, pi)``,
    plus ``N(0, noise^2)`` on each coordinate; labels 0 / 1 alternate."""
    n = check_count(n, "n")
    noise = _check_scale(noise, "noise")
    labels = torch.arange(n) % 2
    t = torch.rand(n, generator=generator, dtype=torch.float64) * math.pi
    upper = torch.stack([torch.cos(t), torch.sin(t)], 1)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], 1)
    pts = torch.where(labels[:, None] == 0, upper, lower)
    pts = pts + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return pts.to(torch.float32), labels


def gaussian_mixture(
    n: int, k: int = 8, radius: float = 2.0, std: float = 0.2, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """``x = radius * (cos 2pi j/k, sin 2pi j/k) + std * eps``, ``j ~ U{0..k-1}``, ``eps ~ N(0, I)``."""
    n, k = check_count(n, "n"), check_count(k, "k")
    radius, std = _check_scale(radius, "radius"), _check_scale(std, "std")
    j = torch.randint(k, (n,), generator=generator)
    angle = 2 * math.pi * j.double() / k
    centres = radius * torch.stack([torch.cos(angle), torch.sin(angle)], 1)
    pts = centres + std * torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return pts.to(torch.float32), j


def rings(
    n: int, n_rings: int = 2, noise: float = 0.05, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Ring ``j`` (label ``j``) has radius ``j + 1``: ``x = (j + 1 + noise * eps) (cos t, sin t)``,
    ``t ~ U(0, 2pi)``, rings drawn in turn."""
    n, n_rings = check_count(n, "n"), check_count(n_rings, "n_rings")
    noise = _check_scale(noise, "noise")
    j = torch.arange(n) % n_rings
    t = torch.rand(n, generator=generator, dtype=torch.float64) * 2 * math.pi
    r = (j + 1).double() + noise * torch.randn(n, generator=generator, dtype=torch.float64)
    pts = r[:, None] * torch.stack([torch.cos(t), torch.sin(t)], 1)
    return pts.to(torch.float32), j
