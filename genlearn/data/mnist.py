"""MNIST and Fashion-MNIST as ``Images(x, y)``: ``x`` float32 ``(N, 1, 28, 28)`` = pixel / 255.

    load_fashion_mnist("train")                    # searched for, see below
    load_fashion_mnist("test", root="~/data/fm")   # from this folder only
    load_mnist("train", download=True)             # downloaded into the cache if missing

The argument order is ``(split, root)``, as in ``load_digits(split)``. Without ``root``
the files are looked for in ``$GENLEARN_DATA/<name>``, the user cache, then (Fashion-MNIST)
Debian's ``/usr/share/datasets/fashion-mnist`` (:mod:`genlearn.data.sources`).
"""

from __future__ import annotations

import os
from pathlib import Path

from genlearn.data.digits import Images
from genlearn.data.download import download as _download
from genlearn.data.idx import read_idx_images
from genlearn.data.sources import (
    MNIST_FILES,
    DataNotFoundError,
    dataset,
    find_dataset,
    find_file,
    how_to_get,
    search_dirs,
)

__all__ = ["load_mnist", "load_fashion_mnist", "FASHION_CLASSES"]

FASHION_CLASSES = ("T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag",
                   "ankle boot")  # the names of Fashion-MNIST's labels 0-9


def _split_and_root(func: str, split: object, root: object) -> tuple[str, object]:
    """``(split, root)``; a folder where the split belongs is refused with the call to make instead."""
    if isinstance(split, str) and split in MNIST_FILES:
        return split, root
    folder_like = isinstance(split, os.PathLike) or (isinstance(split, str)
                                                     and (os.sep in split or Path(split).is_dir()))
    hint = f"{func}('train', root={str(split)!r})" if folder_like else f"{func}('train', root=DIR)"
    raise ValueError(f"split must be 'train' or 'test', got {split!r} (a folder goes in root=, e.g. {hint})")


def _missing_in(folder: Path, stem: str, name: str) -> DataNotFoundError:
    state = "does not exist" if not folder.is_dir() else f"has no file {stem}[.gz]"
    listing = "\n  ".join(f for pair in MNIST_FILES.values() for f in pair)
    return DataNotFoundError(
        f"{name}: the folder {folder} {state}.\nPut the four IDX files (gzipped or not) there:\n  {listing}\n"
        f"or pass root=<folder> / set GENLEARN_DATA, or get them with:\n{how_to_get(name)}"
    )


def _not_found(name: str, split: str) -> DataNotFoundError:
    stems = " and ".join(f"{s}[.gz]" for s in MNIST_FILES[split])
    searched = "\n".join(f"  {label}: {folder}" for label, folder in search_dirs(name))
    return DataNotFoundError(
        f"{name}: no {split} files ({stems}) in any folder searched:\n{searched}\n"
        f"Get them with one of:\n{how_to_get(name)}"
    )


def _load(func: str, name: str, split: object, root: object, download: bool) -> Images:
    split, root = _split_and_root(func, split, root)
    if root is not None:
        folder = Path(root).expanduser()  # type: ignore[arg-type]
        if download:
            _download(name, folder)
    else:
        found = find_dataset(name, split)
        if found is None and download:
            found = _download(name)
        if found is None:
            raise _not_found(name, split)
        folder = found
    paths = []
    for stem in MNIST_FILES[split]:
        path = find_file(folder, stem)
        if path is None:
            raise _missing_in(folder, stem, name)
        paths.append(path)
    return read_idx_images(*paths)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, *, download: bool = False) -> Images:
    """MNIST ``split`` (``"train"``: 60,000 images, ``"test"``: 10,000) as ``Images(x, y)``.

    ``root``: the folder with the four IDX files (default: searched for, see the module).
    ``download=True`` downloads missing files first (into ``root``, else the cache).
    Raises :class:`~genlearn.data.DataNotFoundError` saying how to get the files.
    """
    return _load("load_mnist", dataset("mnist").name, split, root, download)


def load_fashion_mnist(
    split: str = "train", root: str | os.PathLike | None = None, *, download: bool = False
) -> Images:
    """Fashion-MNIST, like :func:`load_mnist` (same format and file names). Labels: 0 T-shirt,
    1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot."""
    return _load("load_fashion_mnist", dataset("fashion-mnist").name, split, root, download)
