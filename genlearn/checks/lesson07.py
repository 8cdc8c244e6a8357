"""Checks for exercises of lesson 07 (capstone: comparing generative models)."""

from __future__ import annotations

import math

import torch

from genlearn import evaluate, metrics
from genlearn.checks import exercise
from genlearn.checks._util import close, to_float

LESSON = "07"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- frechet_gaussians(m1, s1, m2, s2) ---------------------------------------------------
FG = "Frechet distance between N(m1, S1) and N(m2, S2): |m1 - m2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))"


def _spd(d: int, seed: int) -> torch.Tensor:
    a = torch.randn(d, d, generator=_gen(seed), dtype=torch.float64)
    return a @ a.T + 0.5 * torch.eye(d, dtype=torch.float64)


@exercise("frechet_gaussians", LESSON, FG)
def _fg_diagonal(fn):
    m1, m2 = torch.zeros(2, dtype=torch.float64), torch.tensor([3.0, 4.0], dtype=torch.float64)
    s1, s2 = torch.diag(torch.tensor([1.0, 4.0])).double(), torch.diag(torch.tensor([4.0, 1.0])).double()
    # 25 + (1 + 4 - 2*2) + (4 + 1 - 2*2) = 27
    close(to_float(fn(m1, s1, m2, s2), "frechet_gaussians"), 27.0, 1e-6,
          "for diagonal covariances the trace term is sum (sqrt(a) - sqrt(b))^2; don't forget |m1 - m2|^2")


@exercise("frechet_gaussians", LESSON, FG)
def _fg_general(fn):
    m1 = torch.randn(4, generator=_gen(0), dtype=torch.float64)
    m2 = torch.randn(4, generator=_gen(1), dtype=torch.float64)
    s1, s2 = _spd(4, 2), _spd(4, 3)
    want = metrics.frechet_gaussians(m1, s1, m2, s2)
    close(to_float(fn(m1, s1, m2, s2), "frechet_gaussians"), want, 1e-6 * max(1.0, abs(want)),
          "(S1 S2)^(1/2) is a matrix square root, not elementwise: use the eigenvalues of S1 S2 "
          "(sum of their square roots is its trace), or sqrt(S1) S2 sqrt(S1)")
    close(to_float(fn(m1, s1, m1, s1), "frechet_gaussians(same, same)"), 0.0, 1e-6,
          "the distance of a Gaussian to itself is 0")


# --- image_sharpness(images) ------------------------------------------------------------------
SH = "mean image-gradient magnitude of each image: forward differences dx, dy, mean of sqrt(dx^2 + dy^2)"


@exercise("image_sharpness", LESSON, SH)
def _sharp_matches(fn):
    images = torch.rand(5, 1, 8, 8, generator=_gen(4), dtype=torch.float64)
    got = fn(images)
    assert isinstance(got, torch.Tensor) and got.shape == (5,), "return one sharpness per image, shape (N,)"
    assert torch.allclose(got.double(), metrics.sharpness(images), atol=1e-9), (
        "use dx = x[..., :-1, 1:] - x[..., :-1, :-1] and dy = x[..., 1:, :-1] - x[..., :-1, :-1] "
        "(both 7x7), then the mean over pixels of sqrt(dx^2 + dy^2)"
    )


@exercise("image_sharpness", LESSON, SH)
def _sharp_flat(fn):
    flat = torch.full((2, 1, 8, 8), 0.3, dtype=torch.float64)
    assert torch.allclose(fn(flat).double(), torch.zeros(2, dtype=torch.float64)), "a flat image has sharpness 0"


# --- bits_per_dim(nats, dims) ------------------------------------------------------------------
BD = "convert nats per example to bits per dimension: nats / (dims * ln 2)"


@exercise("bits_per_dim", LESSON, BD)
def _bpd(fn):
    close(to_float(fn(64 * math.log(2), 64), "bits_per_dim"), 1.0, 1e-12,
          "divide by the number of dimensions and by ln 2")
    close(to_float(fn(30.0, 64), "bits_per_dim"), float(evaluate.bits_per_dim(30.0, 64)), 1e-12,
          "nats / (dims * math.log(2))")
