"""Datasets for the course, all as float tensors.

* ``load_digits``: scikit-learn's 8x8 digits, ``(N, 1, 8, 8)`` in [0, 1], fixed split.
* ``moon_phases`` / ``moon_phase`` / ``random_moons``: drawn moon-phase images.
* ``two_moons`` / ``gaussian_mixture`` / ``rings``: 2-D toy distributions.
* ``load_mnist`` / ``load_fashion_mnist``: 28x28 IDX files, found in ``$GENLEARN_DATA``,
  the user cache or Debian's ``dataset-fashion-mnist`` folder (``sources``), or
  downloaded with checked SHA-256 (``download``; ``genlearn data fetch NAME``).
* ``load_data("digits" | "moons" | "mnist" | "fashion-mnist" | "fashion:DIR", seed)``: a
  ``(train, test)`` pair by name, as the command line's ``--data`` takes it.
"""

from genlearn.data.catalog import DATA_HELP, load_data
from genlearn.data.digits import (
    DIGITS_N_TEST,
    DIGITS_SHAPE,
    DIGITS_SPLIT_SEED,
    Images,
    digits_split,
    load_digits,
)
from genlearn.data.download import DownloadError, download
from genlearn.data.idx import read_idx, read_idx_images, write_idx
from genlearn.data.loaders import make_loader, tensor_dataset
from genlearn.data.mnist import FASHION_CLASSES, load_fashion_mnist, load_mnist
from genlearn.data.moon_phase import moon_phase, moon_phases, random_moons
from genlearn.data.sources import (
    DATASETS,
    MNIST_FILES,
    DataNotFoundError,
    cache_dir,
    data_dir,
    find_dataset,
    search_dirs,
)
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
    "read_idx_images",
    "load_mnist",
    "load_fashion_mnist",
    "FASHION_CLASSES",
    "load_data",
    "DATA_HELP",
    "download",
    "DownloadError",
    "DataNotFoundError",
    "DATASETS",
    "MNIST_FILES",
    "data_dir",
    "cache_dir",
    "search_dirs",
    "find_dataset",
    "tensor_dataset",
    "make_loader",
]
