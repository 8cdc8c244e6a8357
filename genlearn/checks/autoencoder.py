"""Checks for the autoencoder exercises: squared error, PCA, paths and class means in code space."""

from __future__ import annotations

import math

import torch

from genlearn.checks._util import raises, randn, tensor
from genlearn.checks.exercise import exercise

__all__ = ["SQUARED_ERROR", "PCA_RECONSTRUCT", "INTERPOLATE", "CLASS_CENTROIDS"]


def _low_rank_data(gen: torch.Generator, n: int = 50, d: int = 6) -> torch.Tensor:
    basis = randn(gen, 3, d)
    return randn(gen, n, 3) @ basis + randn(gen, n, d, scale=0.05) + 1.0


# --- squared_error(x_hat, x) --------------------------------------------------------------------
SQUARED_ERROR = exercise(
    "squared_error", "squared reconstruction error summed over the pixels of each example, shape (N,)",
    hints=(
        "One number per example, covering all of its pixels whatever the image shape (N, C, H, W) or (N, D).",
        "The error of a pixel is the square of the difference between the reconstruction and the image. "
        "`flatten(1)` turns (N, C, H, W) into (N, C*H*W), so that one sum over dim 1 covers every pixel.",
        "Compare the two shapes before any arithmetic: broadcasting would silently pair the wrong pixels. "
        "Raise ValueError naming both shapes.",
    ),
)


@SQUARED_ERROR.case(make=lambda gen: {"args": [randn(gen, 3, 1, 4, 4), randn(gen, 3, 1, 4, 4)]})
def _value(inputs, out):
    x_hat, x = inputs["args"]
    diff = (x_hat - x).pow(2).flatten(1)
    got = tensor(out, (3,), "squared_error(x_hat, x) for 3 images")
    assert not torch.allclose(got, diff.mean(1)), "sum over the pixels of each example: you averaged them"
    assert not torch.allclose(got, (x_hat + x).pow(2).flatten(1).sum(1)), "the error is the square of a difference"
    assert torch.allclose(got, diff.sum(1), atol=1e-9), "square the differences and sum over the pixels of each example"


@SQUARED_ERROR.case(make=lambda gen: {"args": [(randn(gen, 2, 1, 2, 2) > 0).double(),
                                               torch.zeros(2, 1, 2, 2, dtype=torch.float64)]})
def _zero_target(inputs, out):
    x_hat, _ = inputs["args"]
    got = tensor(out, (2,), "squared_error(x_hat, 0)")
    assert torch.allclose(got, x_hat.pow(2).flatten(1).sum(1)), (
        "with x = 0 the error of each example is the sum of x_hat's squared pixels"
    )


@SQUARED_ERROR.case(make=lambda gen: {"shapes": [[4, 1, 8, 8], [4, 64]]},
                    run=lambda fn, inp: raises(lambda: fn(*(torch.zeros(*s) for s in inp["shapes"]))))
def _shape_mismatch(inputs, out):
    assert out == "ValueError", (
        f"shapes (4, 1, 8, 8) and (4, 64) differ: raise a ValueError naming both shapes (got {out})"
    )


# --- pca_reconstruct(x, k) ----------------------------------------------------------------------
PCA_RECONSTRUCT = exercise(
    "pca_reconstruct", "project on the top-k principal components of the centred data, and back",
    hints=(
        "PCA works on centred data: subtract the mean example first, and add it back at the end.",
        "The principal directions are the right-singular vectors of the centred data "
        "(`torch.linalg.svd(..., full_matrices=False)` returns U, S, Vh; the rows of Vh are the directions, "
        "strongest first). Keep k of them.",
        "With the k directions as the rows of a (k, d) matrix V, `c @ V.T` gives the k coordinates of each "
        "centred row c, and multiplying those coordinates by V maps them back to d dimensions.",
    ),
)


@PCA_RECONSTRUCT.case(make=lambda gen: {"args": [_low_rank_data(gen), 2]})
def _matches_svd(inputs, out):
    x, k = inputs["args"]
    got = tensor(out, tuple(x.shape), "pca_reconstruct(x, 2)")
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    want = (x - mean) @ vt[:k].T @ vt[:k] + mean
    uncentred = x @ torch.linalg.svd(x, full_matrices=False)[2][:k].T @ torch.linalg.svd(x, full_matrices=False)[2][:k]
    assert not torch.allclose(got, uncentred, atol=1e-6), "centre the data (subtract its mean) before the SVD"
    assert torch.allclose(got, want, atol=1e-8), "keep the top-k right-singular vectors of the centred data"


@PCA_RECONSTRUCT.case(make=lambda gen: {"args": [_low_rank_data(gen, d=4), 4]})
def _full_rank_is_exact(inputs, out):
    x, _ = inputs["args"]
    got = tensor(out, tuple(x.shape), "pca_reconstruct(x, d)")
    assert torch.allclose(got, x, atol=1e-8), "with k equal to the dimension, PCA reconstructs x exactly"


# --- interpolate(z0, z1, steps, method="linear") ------------------------------------------------
INTERPOLATE = exercise(
    "interpolate", "paths between two codes: the straight line, or slerp on the great circle", points=2,
    hints=(
        "Both paths are indexed by t from 0 to 1 in `steps` equal steps, ends included "
        "(`torch.linspace`); give t a trailing axis of size 1 so that each t scales a whole code.",
        "The straight line weights z0 by (1 - t) and z1 by t. Slerp replaces those weights by "
        "sin((1 - t) omega) / sin(omega) and sin(t omega) / sin(omega), with omega the angle between z0 and z1.",
        "omega = arccos of the cosine similarity (z0 . z1 / (|z0| |z1|)); clamp the cosine to [-1, 1] "
        "against rounding. Any other method name is a ValueError.",
    ),
)


def _interp_inputs(gen: torch.Generator, method: str) -> dict:
    return {"args": [randn(gen, 3), randn(gen, 3), 7], "kwargs": {"method": method}}


@INTERPOLATE.case(make=lambda gen: {"args": [randn(gen, 2), randn(gen, 2), 5]})
def _line_ends(inputs, out):
    z0, z1, steps = inputs["args"]
    got = tensor(out, (steps, 2), "interpolate(z0, z1, 5)")
    assert torch.allclose(got[0], z0) and torch.allclose(got[-1], z1), "the first row is z0 and the last z1"
    assert torch.allclose(got[2], (z0 + z1) / 2), "the middle row of 5 is the midpoint (the default is a line)"


@INTERPOLATE.case(make=lambda gen: _interp_inputs(gen, "linear"))
def _line_equal_steps(inputs, out):
    z0, z1, steps = inputs["args"]
    got = tensor(out, (steps, 3), "interpolate(z0, z1, 7, method='linear')")
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    assert torch.allclose(got, z0 + t * (z1 - z0), atol=1e-9), "rows in equal steps along the segment"


@INTERPOLATE.case(make=lambda gen: _interp_inputs(gen, "slerp"))
def _slerp(inputs, out):
    z0, z1, steps = inputs["args"]
    got = tensor(out, (steps, 3), "interpolate(z0, z1, 7, method='slerp')")
    omega = math.acos(float((z0 @ z1 / (z0.norm() * z1.norm())).clamp(-1, 1)))
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    want = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / math.sin(omega)
    assert torch.allclose(got[0], z0) and torch.allclose(got[-1], z1), "slerp also starts at z0 and ends at z1"
    assert torch.allclose(got, want, atol=1e-8), (
        "slerp follows the great circle: weights sin((1-t) omega)/sin(omega) and sin(t omega)/sin(omega)"
    )


@INTERPOLATE.case(make=lambda gen: {"method": "cubic"},
                  run=lambda fn, inp: raises(lambda: fn(torch.zeros(2), torch.ones(2), 3, method=inp["method"])))
def _unknown_method(inputs, out):
    assert out == "ValueError", f"method='cubic' is not a path this function knows: raise ValueError (got {out})"


# --- class_centroids(codes, labels, num_classes) ------------------------------------------------
CLASS_CENTROIDS = exercise(
    "class_centroids", "the mean code of each class, shape (num_classes, latent_dim)",
    hints=(
        "Start from a (num_classes, d) result that already says 'no mean' everywhere (`torch.full` with "
        "nan), then fill in the classes that have examples.",
        "A boolean mask `labels == c` selects the rows of class c; average those rows over dim 0.",
        "Skip a class whose mask selects nothing: the mean of zero rows is not defined.",
    ),
)


def _centroid_inputs(gen: torch.Generator) -> dict:
    labels = torch.randint(0, 4, (12,), generator=gen)
    labels[labels == 1] = 0  # class 1 stays empty
    return {"args": [randn(gen, 12, 2), labels, 4]}


@CLASS_CENTROIDS.case(make=_centroid_inputs)
def _centroids(inputs, out):
    codes, labels, k = inputs["args"]
    got = tensor(out, (k, codes.shape[1]), "class_centroids(codes, labels, 4)")
    for c in range(k):
        members = codes[labels == c]
        if len(members):
            assert torch.allclose(got[c], members.mean(0), atol=1e-9), f"row {c}: the mean of the codes of class {c}"
        else:
            assert torch.isnan(got[c]).all(), f"class {c} has no examples: fill its row with NaN"
