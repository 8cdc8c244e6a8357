"""Checks for exercises of lesson 01 (autoencoders)."""

from __future__ import annotations

import torch

from genlearn.checks import exercise
from genlearn.checks._util import close, to_float

LESSON = "01"


def _data(n: int = 50, d: int = 6, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    basis = torch.randn(3, d, generator=gen, dtype=torch.float64)
    return torch.randn(n, 3, generator=gen, dtype=torch.float64) @ basis + 0.05 * torch.randn(
        n, d, generator=gen, dtype=torch.float64) + 1.0


# --- reconstruction_error(x, x_hat) -------------------------------------------------------
R = "squared error summed over the pixels of each example, averaged over the batch"


@exercise("reconstruction_error", LESSON, R)
def _recon_value(fn):
    x = torch.zeros(2, 1, 2, 2, dtype=torch.float64)
    x_hat = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]], [[[1.0, 1.0], [1.0, 0.0]]]], dtype=torch.float64)
    got = to_float(fn(x, x_hat), "reconstruction_error(x, x_hat)")
    close(got, 2.0, 1e-12, "example 1 has error 1, example 2 has error 3: sum over all pixels of each "
          "example (dims 1, 2, 3...), then the mean over examples gives 2")


@exercise("reconstruction_error", LESSON, R)
def _recon_shape_mismatch(fn):
    try:
        fn(torch.zeros(4, 1, 8, 8), torch.zeros(4, 64))
    except ValueError:
        return
    except Exception as err:  # noqa: BLE001
        raise AssertionError(f"raise a ValueError naming both shapes (got {type(err).__name__})") from None
    raise AssertionError("shapes (4,1,8,8) and (4,64) differ: raise a ValueError instead of broadcasting")


# --- pca_reconstruct(x, k) ------------------------------------------------------------------
P = "project on the top-k principal components (of the centred data) and back"


@exercise("pca_reconstruct", LESSON, P)
def _pca_matches_svd(fn):
    x = _data()
    got = fn(x, 2)
    assert isinstance(got, torch.Tensor) and got.shape == x.shape, "return reconstructions shaped like x"
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    want = (x - mean) @ vt[:2].T @ vt[:2] + mean
    assert torch.allclose(got, want, atol=1e-8), (
        "centre x by its mean, take the first k right-singular vectors V_k, reconstruct "
        "(x - mean) V_k^T V_k + mean"
    )


@exercise("pca_reconstruct", LESSON, P)
def _pca_full_rank_is_exact(fn):
    x = _data(d=4)
    assert torch.allclose(fn(x, 4), x, atol=1e-8), "with k equal to the dimension, PCA reconstructs x exactly"


# --- interpolate(z0, z1, steps) ---------------------------------------------------------------
Z = "straight line from z0 to z1 in `steps` points, both ends included"


@exercise("interpolate", LESSON, Z)
def _interp_ends(fn):
    z0 = torch.tensor([0.0, 2.0], dtype=torch.float64)
    z1 = torch.tensor([1.0, -2.0], dtype=torch.float64)
    got = fn(z0, z1, 5)
    shape = getattr(got, "shape", None)
    assert isinstance(got, torch.Tensor) and got.shape == (5, 2), f"expected shape (5, 2), got {shape}"
    assert torch.allclose(got[0], z0) and torch.allclose(got[-1], z1), "the first row is z0 and the last z1"
    assert torch.allclose(got[2], (z0 + z1) / 2), "the middle row of 5 is the midpoint"


# --- class_centroids(codes, labels, num_classes) ---------------------------------------------
C = "the mean code of each class, shape (num_classes, latent_dim)"


@exercise("class_centroids", LESSON, C)
def _centroids(fn):
    codes = torch.tensor([[0.0, 0.0], [2.0, 2.0], [1.0, 5.0], [3.0, 7.0]], dtype=torch.float64)
    labels = torch.tensor([0, 0, 2, 2])
    got = fn(codes, labels, 3)
    assert isinstance(got, torch.Tensor) and got.shape == (3, 2), "one row per class, including empty ones"
    assert torch.allclose(got[0], torch.tensor([1.0, 1.0], dtype=torch.float64)), "class 0: mean of rows 0, 1"
    assert torch.allclose(got[2], torch.tensor([2.0, 6.0], dtype=torch.float64)), "class 2: mean of rows 2, 3"
    assert torch.isnan(got[1]).all(), "a class with no examples has no mean: fill its row with NaN"
