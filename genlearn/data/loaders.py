"""Small helpers to batch tensors (for code that wants a ``DataLoader``; ``genlearn.train.fit``
batches tensors itself, which is faster for small data)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from genlearn._validate import check_count

__all__ = ["tensor_dataset", "make_loader"]


def tensor_dataset(*tensors: Tensor) -> TensorDataset:
    """A ``TensorDataset`` after checking every tensor has the same first dimension."""
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise ValueError("tensor_dataset expects one or more torch.Tensors, e.g. tensor_dataset(x, y)")
    sizes = [len(t) for t in tensors]
    if len(set(sizes)) != 1:
        raise ValueError(f"all tensors must have the same first dimension, got sizes {sizes}")
    return TensorDataset(*tensors)


def make_loader(
    *tensors: Tensor, batch_size: int = 100, shuffle: bool = True, seed: int | None = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` over ``tensors``; with ``shuffle`` the order comes from a
    ``torch.Generator`` seeded with ``seed`` (reproducible), or from the global RNG if None."""
    batch_size = check_count(batch_size, "batch_size")
    generator = None
    if shuffle and seed is not None:
        generator = torch.Generator().manual_seed(int(seed))
    return DataLoader(
        tensor_dataset(*tensors), batch_size=batch_size, shuffle=shuffle, generator=generator,
        drop_last=drop_last,
    )
