"""Where MNIST and Fashion-MNIST come from, and the folders the loaders search.

Both datasets are the same four gzipped IDX files (:data:`MNIST_FILES`). With no
``root`` given, :func:`find_dataset` looks, in this order, in

1. ``$GENLEARN_DATA/<name>`` (``GENLEARN_DATA`` defaults to ``~/.genlearn/data``);
2. the user cache ``cache_dir(<name>)``: the operating system's cache folder for genlearn
   (platformdirs: ``$XDG_CACHE_HOME/genlearn`` or ``~/.cache/genlearn`` on Linux,
   ``~/Library/Caches/genlearn`` on macOS, ``%LOCALAPPDATA%\\genlearn\\Cache`` on Windows),
   where ``genlearn data fetch <name>`` downloads to;
3. for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist``, the folder Debian's
   ``dataset-fashion-mnist`` package installs.

``<name>`` is ``mnist`` or ``fashion-mnist``. Files lying directly in ``$GENLEARN_DATA``
are not used: MNIST and Fashion-MNIST have the same file names, so a subfolder is what
tells them apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MNIST_FILES",
    "IdxDataset",
    "DATASETS",
    "DataNotFoundError",
    "dataset",
    "data_dir",
    "cache_dir",
    "search_dirs",
    "find_file",
    "find_dataset",
    "how_to_get",
]

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class IdxDataset:
    """One MNIST-format dataset: its gz files with their accepted SHA-256 digests, the
    download mirrors tried in order, and where a system package installs it (if any)."""

    name: str
    checksums: Mapping[str, tuple[str, ...]]
    mirrors: tuple[str, ...]
    homepage: str
    system_dir: Path | None = None
    apt_package: str | None = None


# SHA-256 of the original gz files as every mirror below serves them. MNIST: the values
# published with many downloaders (e.g. guild.ai's docs, Bazel http_file rules, mnists.py);
# Fashion-MNIST: the values in Zalando's S3 bucket, also published by mnists.py and
# batchup. Debian's dataset-fashion-mnist (0.0~git20200523.55506a9-1) re-gzipped the files
# (no file name in the gzip header), so their digests differ; their *decompressed* bytes match
# the published raw SHA-256 of Zalando's files (c59f468a..., bad3541b..., 5b4141f0...,
# 0402a96d...), so a copy of the Debian files is accepted as a valid cache too.
_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
    "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
    "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
    "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
}
_FASHION_SHA256 = {  # (Zalando's original, Debian's re-gzipped copy)
    "train-images-idx3-ubyte.gz": ("08dc20ab1689590a0bcd66e874647b6ee8464e2d501b5a3f1f78831db19a3fdc",
                                   "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
    "train-labels-idx1-ubyte.gz": ("b0197879cbda89f3dc7b894f9fd52b858e68ea4182b6947c9d8c2b67e5f18dcc",
                                   "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
    "t10k-images-idx3-ubyte.gz": ("78dcbbfb5a27efaf1b6c1d616caca68560be8766c5bffcb2791df9273a534229",
                                  "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
    "t10k-labels-idx1-ubyte.gz": ("42bd18137a62d5998cdeae52bf3a0676ac6b706f5cf8439b47bb5b151ae3dccf",
                                  "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
}

DATASETS: dict[str, IdxDataset] = {
    "mnist": IdxDataset(
        name="mnist",
        checksums=_MNIST_SHA256,
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror (torchvision)
            "https://storage.googleapis.com/cvdf-datasets/mnist/",  # CVDF's mirror (TensorFlow)
            "http://yann.lecun.com/exdb/mnist/",  # the original site
        ),
        homepage="http://yann.lecun.com/exdb/mnist/",
    ),
    "fashion-mnist": IdxDataset(
        name="fashion-mnist",
        checksums=_FASHION_SHA256,
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's bucket
            "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
            "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # Keras' copy
        ),
        homepage="https://github.com/zalandoresearch/fashion-mnist",
        system_dir=Path("/usr/share/datasets/fashion-mnist"),  # `dpkg -L dataset-fashion-mnist`
        apt_package="dataset-fashion-mnist",
    ),
}
_ALIASES = {"fashion": "fashion-mnist"}


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are in none of the folders searched; the message says how to get them."""


def dataset(name: str) -> IdxDataset:
    """The :class:`IdxDataset` called ``name`` (``mnist``, ``fashion-mnist`` or ``fashion``)."""
    key = _ALIASES.get(name, name)
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(DATASETS)} (or fashion)")
    return DATASETS[key]


def data_dir() -> Path:
    """Folder for local datasets: ``$GENLEARN_DATA``, default ``~/.genlearn/data``."""
    return Path(os.environ.get("GENLEARN_DATA") or "~/.genlearn/data").expanduser()


def cache_dir(name: str | None = None) -> Path:
    """genlearn's cache folder, the operating system's own (``platformdirs.user_cache_path``: on
    Linux ``$XDG_CACHE_HOME/genlearn``, default ``~/.cache/genlearn``), or the subfolder of dataset
    ``name``."""
    import platformdirs

    root = platformdirs.user_cache_path("genlearn", appauthor=False)
    return root / dataset(name).name if name is not None else root


def search_dirs(name: str) -> list[tuple[str, Path]]:
    """``(label, folder)`` for every folder searched for ``name``, in the order searched."""
    ds = dataset(name)
    label = f"$GENLEARN_DATA/{ds.name}" if os.environ.get("GENLEARN_DATA") else "data folder (GENLEARN_DATA unset)"
    dirs = [(label, data_dir() / ds.name), ("cache", cache_dir(ds.name))]
    if ds.system_dir is not None:
        dirs.append((f"Debian package {ds.apt_package}", ds.system_dir))
    return dirs


def find_file(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` gzipped or not (``stem.gz``; ``-idx`` may also be spelled ``.idx``)."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem + ".gz", stem, dotted + ".gz", dotted):
        if (folder / name).is_file():
            return folder / name
    return None


def find_dataset(name: str, split: str | None = None) -> Path | None:
    """The first folder of :func:`search_dirs` holding the files of ``split`` (both splits
    if None), or None."""
    stems = [s for key, pair in MNIST_FILES.items() if split in (None, key) for s in pair]
    for _, folder in search_dirs(name):
        if all(find_file(folder, stem) for stem in stems):
            return folder
    return None


def how_to_get(name: str, fetch: bool = True) -> str:
    """The commands that get dataset ``name`` onto this machine, one per line (``fetch=False``:
    only the ways that need no download by genlearn, for when downloading failed)."""
    ds = dataset(name)
    lines = []
    if fetch:
        lines.append(f"  genlearn data fetch {ds.name}   (downloads into {cache_dir(ds.name)})")
    if ds.apt_package:
        lines.append(f"  sudo apt-get install {ds.apt_package}   (Debian/Ubuntu; installs {ds.system_dir})")
    lines.append(f"  {'or ' if lines else ''}copy {', '.join(ds.checksums)}\n"
                 f"    from {ds.homepage} into $GENLEARN_DATA/{ds.name}")
    if not fetch:
        lines.append(f"  or try another mirror: genlearn data fetch {ds.name} --mirror URL")
    return "\n".join(lines)
