"""The bare PyTorch loop the benchmarks measure ``genlearn.train.fit`` against (same run, same model)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["bare_loop"]


def bare_loop(model: nn.Module, loss_fn: Callable[..., Any], x: Tensor, epochs: int, batch_size: int,
              lr: float, seed: int) -> list[float]:
    """Train ``model`` with a plain loop (Adam, fused where available; ``randperm`` per epoch,
    ``index_select``, ``loss_fn(model, batch).loss``, backward, step; no progress bar, no history)
    and return the seconds of each epoch."""
    try:
        opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x), generator=gen).to(x.device)
        for i in range(0, len(x), batch_size):
            loss = loss_fn(model, x.index_select(0, perm[i : i + batch_size])).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - t0)
    return seconds
