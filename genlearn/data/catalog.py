"""Datasets by name, as the command line's ``--data`` takes them: ``load_data("fashion")``."""

from __future__ import annotations

import torch

from genlearn.data.digits import Images, load_digits
from genlearn.data.mnist import load_fashion_mnist, load_mnist
from genlearn.data.moon_phase import random_moons

__all__ = ["load_data", "DATA_HELP"]

DATA_HELP = ("digits (default; scikit-learn's 8x8), moons (drawn 16x16 moon phases), "
             "mnist or fashion-mnist (alias fashion; 28x28, found in $GENLEARN_DATA, the cache or "
             "Debian's dataset-fashion-mnist: see `genlearn data where`), or mnist:DIR / fashion:DIR "
             "(the IDX files in DIR)")


def load_data(spec: str, seed: int = 0) -> tuple[Images, Images]:
    """``(train, test)`` images in [0, 1] for a data name (see :data:`DATA_HELP`).

    ``moons`` draws 1,500 + 300 images with a generator seeded by ``seed``; the other
    data sets are fixed. Nothing is downloaded: a missing MNIST / Fashion-MNIST raises
    ``FileNotFoundError`` with the command that gets it.
    """
    if spec == "digits":
        return load_digits("train"), load_digits("test")
    if spec == "moons":
        gen = torch.Generator().manual_seed(seed)
        (train_x, _), (test_x, _) = random_moons(1500, 16, gen), random_moons(300, 16, gen)
        no_labels = torch.zeros(1500, dtype=torch.long)
        return Images(train_x, no_labels), Images(test_x, no_labels[:300])
    kind, colon, folder = spec.partition(":")
    loaders = {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist, "fashion": load_fashion_mnist}
    if kind in loaders and (folder or not colon):
        loader = loaders[kind]
        root = folder or None
        return loader("train", root=root), loader("test", root=root)
    raise ValueError(f"unknown data {spec!r}; expected {DATA_HELP}")
