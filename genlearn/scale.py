"""The course's two scales and its base seed, read in one place.

``GENLEARN_SCALE`` picks the budget every model lesson trains with:

* ``laptop`` (default): a fixed subset of 28x28 Fashion-MNIST (6,000 training and 2,000 test
  images), small networks and short runs, so that each lesson runs in about two minutes on a
  2-core CPU with one thread;
* ``full``: all 60,000 training and 10,000 test images, wider networks, twice the epochs,
  on :func:`genlearn.device` (a GPU where there is one).

The same lesson code runs at both scales: a lesson asks ``S = current()`` for its sizes
(``S.n_train``, ``S.epochs(10)``, ``S.channels``, ``S.hidden``, ``S.device``) and never names a
number of images or a device itself. ``S.compare_train`` images and ``S.compare_epochs`` epochs are
the one budget of the model-versus-model comparisons that lessons 06 and 07 share (built with
:func:`genlearn.recipes.build` at this scale), so the two lessons measure the same runs.
``GENLEARN_SEED`` (default 0) is the base seed; a lesson
draws every seed as ``base_seed() + k``, so ``tools/seed_sweep.py`` can check that every
assert holds for other base seeds. ``GENLEARN_THREADS`` (default 1) is the number of CPU threads a
lesson trains with (:func:`lesson_threads`): one thread gives the same bits on every run, and
another count is another floating-point path, the way a learner's machine differs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import torch

from genlearn.data import Images, load_fashion_mnist
from genlearn.runtime import THREADS_ENV, lesson_threads
from genlearn.runtime import device as best_device

__all__ = ["Scale", "SCALES", "current", "base_seed", "lesson_threads", "fashion", "SCALE_ENV", "SEED_ENV",
           "THREADS_ENV"]

SCALE_ENV = "GENLEARN_SCALE"
REQUIRE_ENV = "GENLEARN_REQUIRE_DEVICE"
SEED_ENV = "GENLEARN_SEED"


@dataclass(frozen=True)
class Scale:
    """Sizes of one scale (module docstring)."""

    name: str
    n_train: int
    n_test: int
    epoch_factor: int
    channels: tuple[int, int]
    hidden: tuple[int, ...]
    use_best_device: bool
    compare_train: int
    compare_epochs: int

    @property
    def asserts_run_by_run(self) -> bool:
        """Whether lessons assert a statement on every run (``verdict.run_by_run(enforce=...)``): such an
        assert needs at least 20 runs of evidence, which the laptop scale has (development and held-out
        seeds, README) and the full scale's one base seed (three runs) does not: there it is printed."""
        return self.name == "laptop"

    def epochs(self, laptop_epochs: int) -> int:
        """The number of epochs for a run of ``laptop_epochs`` at the laptop scale."""
        return int(laptop_epochs) * self.epoch_factor

    @property
    def device(self) -> torch.device:
        """The CPU at the laptop scale (bit-reproducible, no transfer cost for small nets); the best
        device (CUDA, then MPS, then the CPU; ``GENLEARN_DEVICE`` overrides) at the full scale.
        With ``GENLEARN_REQUIRE_DEVICE=cuda`` (the GPU runner) any other device is an error, so a
        silent CPU fallback fails the run instead of passing slowly."""
        dev = best_device() if self.use_best_device else torch.device("cpu")
        wanted = os.environ.get(REQUIRE_ENV, "").strip()
        if wanted and self.use_best_device and dev.type != wanted:
            raise RuntimeError(f"{REQUIRE_ENV}={wanted} but the {self.name} scale would run on {dev.type}")
        return dev


SCALES = {
    "laptop": Scale("laptop", 6000, 2000, 1, (16, 32), (256,), False, 3000, 6),
    "full": Scale("full", 60000, 10000, 2, (32, 64), (512,), True, 60000, 20),
}


def current() -> Scale:
    """The scale named by ``GENLEARN_SCALE`` (``laptop`` or ``full``; default ``laptop``)."""
    name = os.environ.get(SCALE_ENV, "laptop").strip().lower() or "laptop"
    if name not in SCALES:
        raise ValueError(f"{SCALE_ENV} must be one of {sorted(SCALES)}, got {name!r}")
    return SCALES[name]


def base_seed() -> int:
    """The base seed of a lesson: ``GENLEARN_SEED`` (default 0), an integer >= 0."""
    raw = os.environ.get(SEED_ENV, "0").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"{SEED_ENV} must be an integer >= 0, got {raw!r}")
    return int(raw)


@lru_cache(maxsize=4)
def _subset(scale_name: str) -> tuple[Images, Images]:
    scale = SCALES[scale_name]
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    # a fixed subset, the same for every seed: the seeds vary the models, not the data
    g = torch.Generator().manual_seed(2026)
    tr = torch.randperm(len(train.x), generator=g)[: scale.n_train].sort().values
    te = torch.randperm(len(test.x), generator=g)[: scale.n_test].sort().values
    return Images(train.x[tr].contiguous(), train.y[tr]), Images(test.x[te].contiguous(), test.y[te])


def fashion(scale: Scale | None = None) -> tuple[Images, Images]:
    """``(train, test)``: the 28x28 Fashion-MNIST images of a scale (default :func:`current`),
    float ``(N, 1, 28, 28)`` in [0, 1] on 256 grey levels."""
    return _subset((scale or current()).name)
