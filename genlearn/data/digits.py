r"""scikit-learn's bundled 8x8 handwritten digits (1,797 images, no download).

Pixels are integers 0..16; we scale them to ``[0, 1]`` with ``x = data / 16`` and give
images the shape ``(N, 1, 8, 8)``. The binarised variant thresholds at one half:
``x_bin = (x >= 0.5)``.

The split is fixed and the same everywhere in the course (and in the ``vae-digits``
benchmark)::

    perm = numpy.random.RandomState(0).permutation(1797)
    test = perm[:297]      # 297 test images
    train = perm[297:]     # 1,500 training images
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

__all__ = ["Images", "load_digits", "digits_split", "DIGITS_SHAPE", "DIGITS_SPLIT_SEED", "DIGITS_N_TEST"]

DIGITS_SHAPE = (1, 8, 8)
DIGITS_SPLIT_SEED = 0
DIGITS_N_TEST = 297
_SPLITS = ("train", "test", "all")


class Images(NamedTuple):
    """Images ``x`` (float32, ``(N, C, H, W)``, values in [0, 1]) and integer labels ``y`` (N,)."""

    x: Tensor
    y: Tensor


@lru_cache(maxsize=1)
def _raw_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sk_load_digits

    d = sk_load_digits()
    return d.data.astype(np.float64), d.target.astype(np.int64)


def digits_split(n: int = 1797) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` of the fixed split: ``perm = RandomState(0).permutation(n)``,
    ``test = perm[:297]``, ``train = perm[297:]``."""
    perm = np.random.RandomState(DIGITS_SPLIT_SEED).permutation(n)
    return perm[DIGITS_N_TEST:], perm[:DIGITS_N_TEST]


def load_digits(split: str = "train", binarize: bool = False) -> Images:
    """The 8x8 digits as ``Images(x, y)``: ``x`` float32 ``(N, 1, 8, 8)`` in [0, 1], ``y`` int64.

    ``split`` is ``"train"`` (1,500 images), ``"test"`` (297) or ``"all"`` (1,797, in
    scikit-learn's order). ``binarize=True`` returns ``(data / 16 >= 0.5)`` as 0.0 / 1.0.
    """
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    data, target = _raw_digits()
    x = data / 16.0
    if binarize:
        x = (x >= 0.5).astype(np.float64)
    if split != "all":
        train, test = digits_split(len(x))
        idx = train if split == "train" else test
        x, target = x[idx], target[idx]
    images = torch.tensor(x, dtype=torch.float32).reshape(-1, *DIGITS_SHAPE)
    return Images(images, torch.tensor(target, dtype=torch.int64))
