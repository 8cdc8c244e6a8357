"""Small helpers for writing check cases: inputs, probes and readable verdicts."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["randn", "rand", "to_float", "pair", "close", "tensor", "grads", "raises"]


def randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    """Standard-normal float64 draws (times ``scale``)."""
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def rand(gen: torch.Generator, *shape: int, low: float = 0.0, high: float = 1.0) -> torch.Tensor:
    """Uniform float64 draws on [low, high)."""
    return low + (high - low) * torch.rand(*shape, generator=gen, dtype=torch.float64)


def to_float(value: Any, what: str) -> float:
    """A student's answer as a float; a readable AssertionError when it is not a number."""
    if isinstance(value, torch.Tensor):
        assert value.numel() == 1, f"{what} should be a single number, got a tensor of shape {tuple(value.shape)}"
        value = value.item()
    assert isinstance(value, (int, float)) and not isinstance(value, bool), (
        f"{what} should be a number, got {type(value).__name__}"
    )
    value = float(value)
    assert math.isfinite(value), f"{what} is {value}; expected a finite number"
    return value


def pair(value: Any, what: str) -> tuple[float, float]:
    """A (value, standard error) answer."""
    assert isinstance(value, (tuple, list)) and len(value) == 2, (
        f"{what} should return a pair (estimate, standard_error), got {type(value).__name__}"
    )
    return to_float(value[0], f"the estimate of {what}"), to_float(value[1], f"the standard error of {what}")


def close(got: float, want: float, tol: float, hint: str) -> None:
    assert abs(got - want) <= tol, f"got {got:.6g}, expected {want:.6g} (within {tol:.2g}). Hint: {hint}"


def tensor(value: Any, shape: tuple[int, ...], what: str) -> torch.Tensor:
    """``value`` must be a tensor of ``shape``; returned as float64 (integers kept)."""
    got = getattr(value, "shape", type(value).__name__)
    assert isinstance(value, torch.Tensor) and tuple(value.shape) == tuple(shape), (
        f"{what} should be a tensor of shape {tuple(shape)}, got {tuple(got) if isinstance(got, torch.Size) else got}"
    )
    return value.double() if value.is_floating_point() else value


def grads(out: Any, *inputs: torch.Tensor) -> list[torch.Tensor | None]:
    """Probe (student side): d out.sum() / d each input, ``None`` where no gradient reaches it."""
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return [None for _ in inputs]
    got = torch.autograd.grad(out.sum(), inputs, retain_graph=True, allow_unused=True)
    return list(got)


def raises(call: Callable[[], Any]) -> str:
    """Probe (student side): the name of the exception ``call`` raises, or ``"nothing"``.

    ``NotImplementedError`` passes through, so an untouched stub is reported as such.
    """
    try:
        call()
    except NotImplementedError:
        raise
    except Exception as err:  # noqa: BLE001 - the name is the answer
        return type(err).__name__
    return "nothing"
