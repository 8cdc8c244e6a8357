"""Input checks shared by the library: each raises ValueError naming what was expected."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "as_tensor", "check_finite", "check_positive", "check_count", "check_grid", "check_same_shape", "apply",
    "check_number", "check_finite_loss",
]

Number = float | int


def as_tensor(x: Any, name: str, dtype: torch.dtype | None = torch.float64) -> Tensor:
    """Convert ``x`` to a tensor and reject NaN. Tensors keep their dtype if ``dtype`` is None."""
    if isinstance(x, bool):
        raise ValueError(f"{name} must be a number or a tensor, got a bool")
    if isinstance(x, complex) or (isinstance(x, Tensor) and x.is_complex()):
        raise ValueError(f"{name} must hold real numbers, got complex values")
    if isinstance(x, Tensor):
        t = x if dtype is None or not x.dtype.is_floating_point else x.to(dtype)
        if not t.dtype.is_floating_point:
            t = t.to(torch.float64 if dtype is None else dtype)
    else:
        try:
            t = torch.as_tensor(x, dtype=dtype or torch.float64)
        except (TypeError, ValueError, RuntimeError, OverflowError) as err:
            raise ValueError(f"{name} must be a number or a tensor of numbers ({err})") from None
    if torch.isnan(t).any():
        raise ValueError(f"{name} contains NaN; expected finite numbers")
    return t


def check_finite(t: Tensor, name: str) -> Tensor:
    if not torch.isfinite(t).all():
        bad = "NaN" if torch.isnan(t).any() else "inf"
        raise ValueError(f"{name} contains {bad}; expected finite numbers")
    return t


def check_positive(t: Tensor, name: str) -> Tensor:
    if (t <= 0).any():
        raise ValueError(f"{name} must be > 0 everywhere, got min {t.min().item():.4g}")
    return t


def check_count(n: Any, name: str = "n", minimum: int = 1) -> int:
    """An integer (Python or NumPy, not bool or float) of at least ``minimum``."""
    if isinstance(n, (bool, float)) or not hasattr(n, "__index__"):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n!r}")
    n = int(n.__index__())
    if n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {n}")
    return n


def check_grid(grid: Any, name: str = "grid") -> Tensor:
    """A 1-D, finite, strictly increasing grid of at least two points (float64)."""
    g = as_tensor(grid, name)
    if g.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {tuple(g.shape)}")
    if g.numel() < 2:
        raise ValueError(f"{name} needs at least 2 points, got {g.numel()}")
    check_finite(g, name)
    if not torch.isfinite(torch.diff(g)).all():
        raise ValueError(f"{name} spans more than the largest float64 (its spacing overflows to inf)")
    if not (torch.diff(g) > 0).all():
        i = int(torch.nonzero(torch.diff(g) <= 0)[0])
        raise ValueError(
            f"{name} must be strictly increasing, but {name}[{i + 1}]={g[i + 1].item():.6g} "
            f"<= {name}[{i}]={g[i].item():.6g}"
        )
    return g


def check_same_shape(a: Tensor, b: Tensor, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def apply(fn: Callable[[Tensor], Any], x: Tensor, name: str) -> Tensor:
    """Call a user function on the points ``x`` (shape (n,) or (n, d)); expect one value per point."""
    y = as_tensor(fn(x), f"{name}(x)", dtype=x.dtype)
    if y.shape != x.shape[:1]:
        raise ValueError(
            f"{name} must return one value per point: expected shape {tuple(x.shape[:1])}, got "
            f"{tuple(y.shape)} (for a constant use e.g. lambda x: torch.ones(len(x)))"
        )
    return y


def check_number(v: Any, name: str, lo: float = 0.0, strict: bool = False, hi: float | None = None) -> float:
    """A finite real number ``>= lo`` (``> lo`` when ``strict``) and ``< hi`` when ``hi`` is given,
    as a float; NumPy and 0-dim tensor scalars are accepted, bools are not: the one number check."""
    if isinstance(v, Tensor) and v.ndim == 0 and not v.dtype.is_complex and v.dtype != torch.bool:
        v = v.item()
    elif not isinstance(v, (int, float, bool)) and hasattr(v, "__float__") and not hasattr(v, "__len__"):
        try:
            v = float(v)  # NumPy scalars
        except (TypeError, ValueError):
            pass
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if not ok or (v <= lo if strict else v < lo) or (hi is not None and v >= hi):
        rng = f"{'>' if strict else '>='} {lo}" + (f" and < {hi}" if hi is not None else "")
        raise ValueError(f"{name} must be a finite number {rng}, got {v!r}")
    return float(v)


def check_finite_loss(value: Tensor, where: str) -> None:
    """Raise ``FloatingPointError`` unless every entry of ``value`` (a loss or a stack of loss
    terms) is finite: the one NaN check of the training loop, made before an optimizer step.
    One host sync (a single ``.item()``)."""
    total = value.detach().sum().item() if value.numel() > 1 else value.detach().item()
    if not math.isfinite(total):
        raise FloatingPointError(
            f"the loss became {total} in {where}; lower the learning rate or check the data and the loss"
        )
