"""Small helpers for writing exercise checks with readable hints."""

from __future__ import annotations

import math

import torch


def to_float(value, what: str) -> float:
    """A student's answer as a float; a readable AssertionError when it is not a number."""
    if isinstance(value, torch.Tensor):
        assert value.numel() == 1, f"{what} should be a single number, got a tensor of shape {tuple(value.shape)}"
        value = value.item()
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise AssertionError(f"{what} should be a number, got {type(value).__name__}") from None
    assert math.isfinite(value), f"{what} is {value}; expected a finite number"
    return value


def pair(value, what: str) -> tuple[float, float]:
    """A (value, standard error) answer."""
    assert isinstance(value, (tuple, list)) and len(value) == 2, (
        f"{what} should return a pair (estimate, standard_error), got {type(value).__name__}"
    )
    return to_float(value[0], f"the estimate of {what}"), to_float(value[1], f"the standard error of {what}")


def close(got: float, want: float, tol: float, hint: str) -> None:
    assert abs(got - want) <= tol, f"got {got:.6g}, expected {want:.6g} (within {tol:.2g}). Hint: {hint}"
