"""Helpers of the build-and-train and predict-then-measure exercises: course data made by the
checker, a bounded training loop that runs the student's model (student side), and readable
targets (checker side)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["digits_split", "train_loop", "target", "experiment_seed", "check_choice", "direction"]


def digits_split(gen: torch.Generator, n_train: int = 1200, binarize: bool = True) -> dict:
    """A random subset of the 8x8 digits' training images and the whole test split, flat (N, 64) float32,
    with the seed the run step trains from: made by the checker."""
    from genlearn.data import load_digits

    x_train = load_digits("train", binarize=binarize).x.flatten(1).float()
    x_test = load_digits("test", binarize=binarize).x.flatten(1).float()
    pick = torch.randperm(len(x_train), generator=gen)[:n_train]
    return {"x_train": x_train[pick].contiguous(), "x_test": x_test,
            "seed": int(torch.randint(0, 2**31 - 1, (1,), generator=gen))}


def train_loop(loss: Callable[[torch.Tensor], torch.Tensor], params, x: torch.Tensor, *, seed: int, epochs: int,
               lr: float = 1e-3, batch_size: int = 100, seconds: float = 40.0) -> dict:
    """Student side: Adam on ``loss(batch)`` for at most ``epochs`` epochs or ``seconds`` of wall time.

    Returns ``{"epochs": done, "seconds": wall, "last": mean loss of the last epoch}``; a loss that is not
    a finite scalar tensor with a gradient raises ``ValueError`` saying so.
    """
    params = [p for p in params if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (did you register the layers in __init__?)")
    opt = torch.optim.Adam(params, lr=lr)  # the grading fork server took its first step: nothing left to import
    gen = torch.Generator().manual_seed(seed)
    start, done, last = time.perf_counter(), 0, float("nan")
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            value = loss(x[idx])
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise ValueError(f"the loss should be a single-number tensor, got {type(value).__name__}"
                                 + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else ""))
            if not value.requires_grad:
                raise ValueError("the loss carries no gradient: compute it with torch operations on the model's "
                                 "outputs")
            if not torch.isfinite(value):
                raise ValueError(f"the loss became {float(value)} during training")
            opt.zero_grad()
            value.backward()
            opt.step()
            total += float(value.detach()) * len(idx)
        done, last = done + 1, total / len(x)
        if time.perf_counter() - start > seconds:
            break
    return {"epochs": done, "seconds": time.perf_counter() - start, "last": last}


def target(name: str, got: float, limit: float, unit: str = "", *, below: bool = True, why: str = "") -> None:
    """Checker side: ``got`` must be at most (``below``) or at least ``limit``; the message says by how much."""
    ok = got <= limit if below else got >= limit
    sign = "<=" if below else ">="
    assert ok, (f"{name} {got:.3g}{unit}, target {sign} {limit:.3g}{unit} (short by {abs(got - limit):.3g}{unit})"
                + (f". {why}" if why else ""))


def experiment_seed(gen: torch.Generator) -> dict:
    """Inputs of a predict-then-measure case: the experiment's seed (``genlearn grade`` gives every submission
    the same inputs, so the experiment runs once per grading; the effects measured hold for any seed)."""
    return {"seed": int(torch.randint(0, 2**16, (1,), generator=gen))}


def check_choice(out: object, choices: tuple[str, ...]) -> str:
    """A predict-then-measure answer must be one of ``choices``."""
    assert isinstance(out, str) and out in choices, (
        f"return one of {', '.join(repr(c) for c in choices)}, got {out!r}")
    return out


def predict_then_measure(ex: Any, choices: tuple[str, ...], measure: Callable[[int], dict],
                         verdict: Callable[[dict], tuple[str, str]]) -> None:
    """Give the predict-then-measure exercise ``ex`` its one case: the learner's function returns one of
    ``choices``; the checker runs the experiment ``measure(seed)`` (cache it: the grader measures once)
    and ``verdict(found)`` returns the measured choice and the sentence that reports and explains it."""

    def measured(inp: dict, out: object) -> None:
        check_choice(out, choices)
        answer, report = verdict(measure(inp["seed"]))
        assert out == answer, f"you predicted {out!r}; {report}"

    ex.case(make=experiment_seed, run=lambda fn, inp: fn())(measured)


def direction(new: float, old: float, rel_tol: float, same: str, higher: str, lower: str) -> str:
    """The measured answer of a predict-then-measure case: ``same`` when ``|new - old| < rel_tol |old|``
    (a change too small to call), else ``higher`` or ``lower`` as ``new`` is above or below ``old``."""
    return same if abs(new - old) < rel_tol * abs(old) else higher if new > old else lower
