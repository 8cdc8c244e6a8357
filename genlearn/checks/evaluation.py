"""Checks for the evaluation exercises: Frechet distance, sharpness, bits per dimension."""

from __future__ import annotations

import math

import torch

from genlearn.checks._util import close, rand, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["FRECHET_GAUSSIANS", "IMAGE_SHARPNESS", "BITS_PER_DIM"]


def _spd(gen: torch.Generator, d: int) -> torch.Tensor:
    a = randn(gen, d, d)
    return a @ a.T + 0.5 * torch.eye(d, dtype=torch.float64)


def _frechet(m1: torch.Tensor, s1: torch.Tensor, m2: torch.Tensor, s2: torch.Tensor) -> float:
    eig = torch.linalg.eigvals(s1 @ s2).real.clamp(min=0)
    return float(((m1 - m2) ** 2).sum() + s1.trace() + s2.trace() - 2 * eig.sqrt().sum())


# --- frechet_gaussians(m1, s1, m2, s2) ----------------------------------------------------------
FRECHET_GAUSSIANS = exercise(
    "frechet_gaussians", "Frechet distance between N(m1, S1) and N(m2, S2)", points=2,
    hints=(
        "Two parts: the squared distance between the means, and a trace term that compares the covariances.",
        "(S1 S2)^(1/2) is a matrix square root, not an elementwise one. You only need its trace: the sum of "
        "the square roots of the eigenvalues of S1 S2.",
        "`torch.linalg.eigvals` returns complex numbers; for covariance matrices they are real and "
        "non-negative up to rounding, so keep the real part and clamp tiny negatives to 0 before the sqrt.",
    ),
)


def _diagonal_inputs(gen: torch.Generator) -> dict:
    a, b = rand(gen, 2, low=0.5, high=4.0), rand(gen, 2, low=0.5, high=4.0)
    return {"args": [torch.zeros(2, dtype=torch.float64), torch.diag(a), randn(gen, 2, scale=3.0), torch.diag(b)]}


@FRECHET_GAUSSIANS.case(make=_diagonal_inputs)
def _diagonal(inp, out):
    close(to_float(out, "frechet_gaussians"), _frechet(*inp["args"]), 1e-6,
          "for diagonal covariances the trace term is sum (sqrt(a) - sqrt(b))^2; don't forget |m1 - m2|^2")


@FRECHET_GAUSSIANS.case(make=lambda gen: {"args": [randn(gen, 4), _spd(gen, 4), randn(gen, 4), _spd(gen, 4)]})
def _general(inp, out):
    want = _frechet(*inp["args"])
    close(to_float(out, "frechet_gaussians"), want, 1e-6 * max(1.0, abs(want)),
          "(S1 S2)^(1/2) is a matrix square root, not elementwise: use the eigenvalues of S1 S2")


@FRECHET_GAUSSIANS.case(make=lambda gen: {"args": [randn(gen, 3), _spd(gen, 3)]},
                        run=lambda fn, inp: fn(*inp["args"], *inp["args"]))
def _same(inp, out):
    close(to_float(out, "frechet_gaussians(same, same)"), 0.0, 1e-6, "the distance of a Gaussian to itself is 0")


# --- image_sharpness(images) --------------------------------------------------------------------
IMAGE_SHARPNESS = exercise(
    "image_sharpness", "mean image-gradient magnitude of each image, from forward differences",
    hints=(
        "Sharpness is the average size of the image gradient: differences between neighbouring pixels, "
        "horizontally (dx) and vertically (dy).",
        "dx is each pixel's right neighbour minus the pixel, dy its lower neighbour minus the pixel. Slice "
        "the last two axes so that both use the same reference pixels: all but the last row and column (7x7 "
        "for 8x8 images).",
        "The magnitude at each pixel is sqrt(dx^2 + dy^2); average it over all pixels of each image, giving "
        "shape (N,).",
    ),
)


def _sharpness(x: torch.Tensor) -> torch.Tensor:
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1)


@IMAGE_SHARPNESS.case(make=lambda gen: {"args": [rand(gen, 5, 1, 8, 8)]})
def _matches(inp, out):
    (images,) = inp["args"]
    got = tensor(out, (5,), "image_sharpness of 5 images")
    assert torch.allclose(got, _sharpness(images), atol=1e-9), (
        "forward differences dx (along a row) and dy (along a column), both 7x7, then the mean over pixels of "
        "the gradient magnitude"
    )


@IMAGE_SHARPNESS.case(make=lambda gen: {"args": [torch.full((2, 1, 8, 8), float(rand(gen, 1)), dtype=torch.float64)]})
def _flat(inp, out):
    got = tensor(out, (2,), "image_sharpness of 2 flat images")
    assert torch.allclose(got, torch.zeros(2, dtype=torch.float64)), "a flat image has sharpness 0"


# --- bits_per_dim(nats, n_dims) -----------------------------------------------------------------
BITS_PER_DIM = exercise(
    "bits_per_dim", "convert a negative log-likelihood in nats per example to bits per dimension",
    hints=(
        "Two conversions: from nats to bits, and from per example to per dimension.",
        "One bit is ln 2 nats (`math.log(2)`); an example has n_dims dimensions.",
    ),
)


@BITS_PER_DIM.case(make=lambda gen: {"args": [float(rand(gen, 1, low=10.0, high=500.0)), 64]})
def _value(inp, out):
    nats, n_dims = inp["args"]
    close(to_float(out, "bits_per_dim"), nats / (n_dims * math.log(2)), 1e-12,
          "divide by the number of dimensions and by ln 2")


@BITS_PER_DIM.case(make=lambda gen: {"args": [64 * math.log(2), 64]})
def _one_bit(inp, out):
    close(to_float(out, "bits_per_dim(64 ln 2, 64)"), 1.0, 1e-12, "64 ln 2 nats over 64 dimensions is one bit each")
