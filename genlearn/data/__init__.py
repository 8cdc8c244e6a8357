"""Datasets for the course, all as float tensors with no download at run time.

* ``load_digits``: scikit-learn's 8x8 digits, ``(N, 1, 8, 8)`` in [0, 1], fixed split.
* ``moon_phases`` / ``moon_phase`` / ``random_moons``: drawn moon-phase images.
* ``two_moons`` / ``gaussian_mixture`` / ``rings``: 2-D toy distributions.
* ``load_mnist`` / ``load_fashion_mnist``: IDX files from a local folder.
"""

from genlearn.data.digits import (
    DIGITS_N_TEST,
    DIGITS_SHAPE,
    DIGITS_SPLIT_SEED,
    Images,
    digits_split,
    load_digits,
)
from genlearn.data.idx import (
    MNIST_FILES,
    data_dir,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    write_idx,
)
from genlearn.data.loaders import make_loader, tensor_dataset
from genlearn.data.moon_phase import moon_phase, moon_phases, random_moons
from genlearn.data.toy2d import gaussian_mixture, rings, two_moons

__all__ = [
    "Images",
    "load_digits",
    "digits_split",
    "DIGITS_SHAPE",
    "DIGITS_SPLIT_SEED",
    "DIGITS_N_TEST",
    "moon_phase",
    "moon_phases",
    "random_moons",
    "two_moons",
    "gaussian_mixture",
    "rings",
    "read_idx",
    "write_idx",
    "load_mnist",
    "load_fashion_mnist",
    "data_dir",
    "MNIST_FILES",
    "tensor_dataset",
    "make_loader",
]
