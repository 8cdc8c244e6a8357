r"""The IDX file format of MNIST and Fashion-MNIST: read, write, and read an image/label pair.

The IDX format (LeCun et al.) is a 4-byte magic number, one big-endian uint32 per
dimension, then the values in row-major, big-endian order::

    magic = 0x00 0x00 <type> <ndim>     type 0x08 uint8, 0x09 int8, 0x0B int16,
                                             0x0C int32, 0x0D float32, 0x0E float64

Files may be gzipped (recognised by their first bytes, whatever their name). The
dataset loaders are in :mod:`genlearn.data.mnist`.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from genlearn.data.digits import Images

__all__ = ["read_idx", "write_idx", "read_idx_images"]

_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in _DTYPES.items()}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({err}); download it again") from None
    return raw


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (plain or gzipped) into a NumPy array of its stored shape and type.

    Raises ``ValueError`` naming the file on a bad magic number, an unknown type code,
    or a size that does not match the header (truncated or trailing bytes).
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file: {len(raw)} bytes, need at least a 4-byte header")
    zero0, zero1, code, ndim = raw[:4]
    if zero0 != 0 or zero1 != 0:
        raise ValueError(
            f"{path}: bad IDX magic number {raw[:4].hex()}; expected 0000<type><ndim>, e.g. 00000803 "
            "for images (is this an IDX file?)"
        )
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in _DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02x}; expected one of {known}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header: {len(raw)} bytes, need {header} for {ndim} dims")
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow on absurd headers
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(
            f"{path}: IDX file {what}: header says shape {shape} ({expected} data bytes), found {got}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file; gzip it when ``compress`` (default: path ends in ``.gz``)."""
    path = Path(path)
    a = np.asarray(array)
    key = a.dtype.newbyteorder("=")
    if key not in _CODES:
        raise ValueError(f"IDX stores uint8, int8, int16, int32, float32 or float64, got dtype {a.dtype}")
    if a.ndim > 255:
        raise ValueError(f"IDX stores at most 255 dimensions, got {a.ndim}")
    if any(s >= 2**32 for s in a.shape):  # possible for an empty array
        raise ValueError(f"IDX stores sizes below 2**32 per dimension, got shape {a.shape}")
    data = bytes([0, 0, _CODES[key], a.ndim]) + np.asarray(a.shape, dtype=">u4").tobytes()
    data += np.ascontiguousarray(a, dtype=_DTYPES[_CODES[key]]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path




def read_idx_images(images: str | os.PathLike, labels: str | os.PathLike) -> Images:
    """An MNIST-style pair of IDX files as ``Images(x, y)``: ``x`` float32 ``(N, 1, 28, 28)`` =
    pixel / 255, ``y`` int64 labels 0..9. Raises ``ValueError`` naming the file that is wrong."""
    img_path, lbl_path = Path(images), Path(labels)
    pixels, targets = read_idx(img_path), read_idx(lbl_path)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[1:] != (28, 28):
        raise ValueError(
            f"{img_path}: expected uint8 images of shape (N, 28, 28), got {pixels.dtype} {pixels.shape}"
        )
    if targets.dtype != np.uint8 or targets.ndim != 1:
        raise ValueError(f"{lbl_path}: expected uint8 labels of shape (N,), got {targets.dtype} {targets.shape}")
    if len(targets) != len(pixels):
        raise ValueError(
            f"{img_path.name} holds {len(pixels)} images but {lbl_path.name} holds {len(targets)} labels"
        )
    if targets.size and targets.max() > 9:
        raise ValueError(f"{lbl_path}: labels must be 0..9, found {int(targets.max())}")
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0).unsqueeze(1)
    return Images(x, torch.from_numpy(targets.astype(np.int64)))
