r"""Training loop, checkpoints.

:func:`fit` is a plain minibatch loop (what a lesson would write by hand) plus a
progress bar, a per-epoch history and hooks::

    for epoch in range(epochs):
        before_epoch hooks (e.g. a KL warm-up setting model.beta)
        perm = randperm(N, generator)                # reshuffled each epoch
        for each batch b of perm:
            terms = step(model, batch, ctx)          # default: gradient_step, below
        history[name].append(mean over examples of each term)
        after_epoch hooks (return True to stop)

The default step, :func:`gradient_step`, is the textbook one::

    terms = loss_fn(model, *batch)                   # e.g. VAELoss(loss, recon, kl)
    ctx.check_finite(terms.loss)                     # stop *before* a NaN reaches the weights
    optimizer.zero_grad(); terms.loss.backward(); optimizer.step()

A model with its own update passes ``step=`` (the VAE-GAN's per-network ``autograd.grad``
routing and three optimizers, :func:`genlearn.recipes.fit_vaegan`); seeding, the NaN check,
progress, hooks, validation and data-parallel training stay the loop's, implemented once.

Data stay on the device as tensors and are indexed with a permutation (no
``DataLoader``), so the trainer adds almost nothing to a bare loop. The permutation of
epoch ``e`` is ``DistributedSampler``'s, ``randperm(N)`` seeded with ``seed + e``
(:func:`genlearn.distributed.epoch_order`): two runs with the same seed give identical
parameters (on the same device and number of threads).

Under ``torchrun --nproc_per_node=P`` the same call trains data-parallel
(:mod:`genlearn.distributed`): the model is wrapped in ``DistributedDataParallel``,
each process takes every P-th index of the epoch's permutation and ``batch_size / P``
examples of each global batch, DDP averages the gradients, and only rank 0 shows the
progress bar. A step then equals a single-process step on the same global batch.

Checkpoints (:func:`save`, :func:`load`) live in :mod:`genlearn.checkpoint`; they are
re-exported here.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from genlearn import distributed
from genlearn._validate import check_count, check_finite_loss
from genlearn.checkpoint import load, save
from genlearn.models.base import eval_mode
from genlearn.runtime import device as default_device
from genlearn.runtime import lesson_threads, seed_everything

__all__ = ["fit", "seeded_run", "History", "Hook", "Step", "StepContext", "gradient_step", "save", "load",
           "loss_terms"]

History = dict[str, list[float]]
Hook = Callable[[int, nn.Module, History], Any]
Data = Tensor | Sequence[Tensor] | TensorDataset


def _as_tensors(data: Data, name: str) -> tuple[Tensor, ...]:
    if isinstance(data, Tensor):
        tensors: tuple[Tensor, ...] = (data,)
    elif isinstance(data, TensorDataset):
        tensors = tuple(data.tensors)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data):
        tensors = tuple(data)
    else:
        raise ValueError(
            f"{name} must be a tensor (N, ...), a tuple of tensors with the same N (e.g. (x, y)) "
            f"or a TensorDataset; got {type(data).__name__}"
        )
    sizes = {len(t) if t.ndim else -1 for t in tensors}
    if len(sizes) != 1 or -1 in sizes:
        raise ValueError(f"{name}: every tensor needs the same first dimension N, got shapes "
                         f"{[tuple(t.shape) for t in tensors]}")
    if len(tensors[0]) == 0:
        raise ValueError(f"{name} is empty")
    for t in tensors:  # once, before any work: a NaN in the data would only surface as a NaN loss
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or inf")
    return tensors


def loss_terms(out: Any) -> tuple[list[str], list[Tensor]]:
    """Names and values of what a loss function returned: a 0-dim tensor (``"loss"``), a
    NamedTuple with a ``loss`` field, or a dict with a ``"loss"`` key."""
    if isinstance(out, Tensor):
        names, values = ["loss"], [out]
    elif isinstance(out, tuple) and hasattr(out, "_fields"):
        names, values = list(out._fields), list(out)
    elif isinstance(out, dict):
        names, values = list(out), list(out.values())
    else:
        raise ValueError(
            "loss_fn must return a 0-dim tensor, a NamedTuple with a 'loss' field or a dict with "
            f"a 'loss' key; got {type(out).__name__}"
        )
    if "loss" not in names:
        raise ValueError(f"loss_fn's result needs a term named 'loss' (the objective), got {names}")
    for n, v in zip(names, values, strict=True):
        if not isinstance(v, Tensor) or v.ndim != 0:
            raise ValueError(f"loss term {n!r} must be a 0-dim tensor (reduce over the batch), got "
                             f"{tuple(v.shape) if isinstance(v, Tensor) else type(v).__name__}")
    return names, values


@dataclass
class StepContext:
    """What a step function gets besides the model and the batch: the optimizer (or whatever
    ``fit`` was given), the loss function, ``forward`` (the model, or its DDP wrapper under
    torchrun), a noise ``generator`` seeded from fit's seed, the gradient clip, and where the
    loop is (``epoch``, ``batch``) for :meth:`check_finite`."""

    loss_fn: Callable[..., Any]
    optimizer: Any
    forward: Any
    generator: torch.Generator
    clip_grad_norm: float | None = None
    epoch: int = 0
    batch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def check_finite(self, value: Tensor) -> None:
        """Raise ``FloatingPointError`` (naming epoch and batch) unless every entry of ``value``
        is finite; call it before any optimizer step."""
        check_finite_loss(value, f"epoch {self.epoch}, batch {self.batch}")


Step = Callable[[nn.Module, tuple[Tensor, ...], StepContext], Any]


def _objective(out: Any) -> Tensor:
    return out if isinstance(out, Tensor) else (out["loss"] if isinstance(out, dict) else out.loss)


def gradient_step(model: nn.Module, batch: tuple[Tensor, ...], ctx: StepContext) -> Any:
    """The default step: ``terms = loss_fn(model, *batch)``, check ``terms.loss`` is finite,
    then ``zero_grad``, ``backward``, optional gradient clipping, ``optimizer.step()``."""
    out = ctx.loss_fn(ctx.forward, *batch)
    if not ctx.extra.get("terms_checked"):  # once: the loss returns named 0-dim terms with a "loss"
        loss_terms(out)
        ctx.extra["terms_checked"] = True
    objective = _objective(out)
    ctx.check_finite(objective)
    ctx.optimizer.zero_grad(set_to_none=True)
    objective.backward()
    if ctx.clip_grad_norm is not None:
        nn.utils.clip_grad_norm_(model.parameters(), ctx.clip_grad_norm)
    ctx.optimizer.step()
    return out


def _check_device(device: Any) -> torch.device:
    """``device`` as a ``torch.device`` that exists here, or a ``ValueError`` naming it."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r} ({err})") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ValueError(f"device {device!r} is not available here ({torch.cuda.device_count()} CUDA devices)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} is not available here (no MPS)")
    if dev.type not in ("cpu", "cuda", "mps") and dev.type != "meta":
        raise ValueError(f"device must be 'cpu', 'cuda' or 'mps', got {device!r}")
    return dev


def _noise_generator(dev: torch.device, seed: int) -> torch.Generator:
    try:
        return torch.Generator(device=dev).manual_seed(seed)
    except RuntimeError:  # a device without its own generator: draw on the CPU
        return torch.Generator().manual_seed(seed)


def _hooks(h: Hook | Iterable[Hook] | None, name: str) -> list[Hook]:
    if h is None:
        return []
    hooks = [h] if callable(h) else list(h)
    if not all(callable(f) for f in hooks):
        raise ValueError(f"{name} must be a callable f(epoch, model, history) or a list of them")
    return hooks


class _DDPView:
    """What a loss function receives under torchrun: calling it runs the DDP-wrapped forward
    (so gradients are averaged across processes); attributes come from the model itself."""

    def __init__(self, ddp: DistributedDataParallel) -> None:
        self._ddp = ddp

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ddp(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ddp.module, name)


def fit(
    model: nn.Module,
    loss_fn: Callable[..., Any],
    train_data: Data,
    epochs: int,
    *,
    batch_size: int = 100,
    lr: float = 1e-3,
    optimizer: Any = None,
    step: Step | None = None,
    val_data: Data | None = None,
    before_epoch: Hook | Iterable[Hook] | None = None,
    after_epoch: Hook | Iterable[Hook] | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
    shuffle: bool = True,
    clip_grad_norm: float | None = None,
    progress: bool = True,
    desc: str | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    resume: dict[str, Any] | None = None,
) -> History:
    """Train ``model`` by minimising ``loss_fn(model, *batch).loss`` with Adam (or ``optimizer``),
    or by calling ``step(model, batch, ctx)`` for each batch (module docstring).

    ``train_data``: a tensor ``x`` or a tuple ``(x, y, ...)`` / ``TensorDataset``; each batch
    is passed as ``loss_fn(model, x_b, y_b, ...)``. Returns the history: for every term the
    loss returns, its mean over the epoch's examples (``history["recon"][e]``, ...), the
    same with a ``val_`` prefix on ``val_data`` (in eval mode, no gradients), and
    ``history["seconds"]``, the wall time of each training epoch. Hooks are called as
    ``hook(epoch, model, history)``; an ``after_epoch`` hook that returns True stops training.
    ``seed`` seeds the shuffling and ``ctx.generator`` (default: drawn from the global torch RNG).
    ``device`` defaults to :func:`genlearn.device`. The model is left in eval mode.
    A non-finite loss raises ``FloatingPointError`` before the step that would spread it.
    Under torchrun, ``batch_size`` is the global batch (divisible by the number of
    processes) and ``device`` defaults to the process's own GPU or the CPU.

    ``checkpoint(state)`` is called after every epoch with the whole training state (the epochs
    done, the model's and the optimizer's state dicts, the noise generator's and the global RNG's
    states, the history); ``resume=state`` continues a run from such a state, so that a run
    interrupted and resumed ends with the same parameters, bit for bit, as one that was not
    (same seed, same device and thread count).
    """
    epochs = check_count(epochs, "epochs", minimum=0)
    batch_size = check_count(batch_size, "batch_size")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if step is not None and not callable(step):
        raise ValueError(f"step must be a function step(model, batch, ctx), got {type(step).__name__}")
    if clip_grad_norm is not None:
        clip_grad_norm = float(clip_grad_norm)
        if not clip_grad_norm > 0:
            raise ValueError(f"clip_grad_norm must be a number > 0, got {clip_grad_norm!r}")
    parallel = distributed.init_from_env()
    world = distributed.world_size()
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes ({world})")
    if device is None:
        dev = distributed.process_device() if parallel else default_device()
    else:
        dev = _check_device(device)
    tensors = tuple(t.to(dev) for t in _as_tensors(train_data, "train_data"))
    val = None if val_data is None else tuple(t.to(dev) for t in _as_tensors(val_data, "val_data"))
    model.to(dev)
    if optimizer is None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf:
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        optimizer = _adam(model, lr)
    if seed is not None:
        seed = check_count(seed, "seed", minimum=0)
        if seed >= 2**63:
            raise ValueError(f"seed must be an integer in [0, 2**63), got {seed}")
    if seed is None:
        seed = int(torch.randint(0, 2**31, (1,)).item())
        if parallel:  # every process must shuffle alike: take rank 0's seed
            seed = int(distributed.broadcast_int(seed))
    starts, ends = _hooks(before_epoch, "before_epoch"), _hooks(after_epoch, "after_epoch")
    n = len(tensors[0])
    local_batch = batch_size // world
    forward: Any = model
    if parallel and step is None:  # DDP averages the gradients of the default step
        forward = _DDPView(DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None))
    elif parallel:  # a custom step averages its own gradients (distributed.average_gradients)
        distributed.broadcast_parameters(model)
    ctx = StepContext(loss_fn, optimizer, forward, _noise_generator(dev, int(seed) + 1 + distributed.rank()),
                      clip_grad_norm)
    run_step = gradient_step if step is None else step
    history: History = {}
    names: list[str] | None = None
    start = 0
    if resume is not None:
        if resume.get("seed") != seed or not 0 <= int(resume.get("epoch", -1)) <= epochs:
            raise ValueError(f"resume: a state of seed {resume.get('seed')} after {resume.get('epoch')} epochs "
                             f"cannot continue a run of seed {seed} and {epochs} epochs")
        start = int(resume["epoch"])
        model.load_state_dict(resume["model"])
        _load_optimizer_state(optimizer, resume["optimizer"])
        ctx.generator.set_state(resume["generator"].to(ctx.generator.get_state().device))
        torch.set_rng_state(resume["rng"])
        history = {k: list(v) for k, v in resume["history"].items()}
        names = list(resume["names"]) if resume.get("names") is not None else None

    show = progress and distributed.is_main_process()
    bar = tqdm(range(start, epochs), disable=not show, unit="epoch", desc=desc or type(model).__name__,
               initial=start, total=epochs)
    for epoch in bar:
        for hook in starts:
            hook(epoch, model, history)
        t0 = time.perf_counter()
        model.train()
        ctx.epoch = epoch
        order = distributed.epoch_order(n, epoch, seed, shuffle, dev) if shuffle or parallel else None
        rows: list[Tensor] = []  # one row of loss terms per batch, summed once per epoch
        sizes: list[int] = []
        for i in range(0, n if order is None else len(order), local_batch):
            if order is None:
                batch = tuple(t[i : i + local_batch] for t in tensors)
            else:
                idx = order[i : i + local_batch]
                batch = tuple(t.index_select(0, idx) for t in tensors)
            ctx.batch = i // local_batch
            try:
                out = run_step(model, batch, ctx)
            except FloatingPointError:
                bar.close()
                raise
            if names is None:
                names, _ = loss_terms(out)
                history.update({k: [] for k in names})
                history["seconds"] = []
            values = out if isinstance(out, tuple) else (out.values() if isinstance(out, dict) else (out,))
            with torch.no_grad():
                rows.append(torch.stack([v.detach() for v in values]))
            sizes.append(len(batch[0]))
        means = _weighted_means(rows, sizes)
        if parallel and means:  # every process saw its share: average the epoch means
            means = distributed.average(torch.tensor(means, dtype=torch.float64, device=dev)).tolist()
        history["seconds"].append(time.perf_counter() - t0)
        for k, v in zip(names or [], means, strict=True):
            history[k].append(v)
        if val is not None:
            for k, v in _evaluate_loss(model, loss_fn, val, batch_size).items():
                history.setdefault(f"val_{k}", []).append(v)
        bar.set_postfix({k: f"{history[k][-1]:.4g}" for k in history if k != "seconds"}, refresh=False)
        stop = any([bool(hook(epoch, model, history)) for hook in ends])
        if checkpoint is not None:
            checkpoint({"epoch": epoch + 1, "seed": seed, "names": names, "history": history,
                        "model": model.state_dict(), "optimizer": _optimizer_state(optimizer),
                        "generator": ctx.generator.get_state(), "rng": torch.get_rng_state()})
        if stop:
            break
    bar.close()
    model.eval()
    if parallel:  # free DDP's reducer (and its hold on the process group) now, not at interpreter exit
        ctx.forward = forward = None
        gc.collect()
    return history


def _evaluate_loss(model: nn.Module, loss_fn: Callable[..., Any], data: tuple[Tensor, ...],
                   batch_size: int) -> dict[str, float]:
    """Mean of each loss term over ``data`` (eval mode, no gradients)."""
    n = len(data[0])
    rows: list[Tensor] = []
    sizes: list[int] = []
    names: list[str] = []
    with eval_mode(model):
        for i in range(0, n, batch_size):
            batch = tuple(t[i : i + batch_size] for t in data)
            names, values = loss_terms(loss_fn(model, *batch))
            rows.append(torch.stack(values))
            sizes.append(len(batch[0]))
    return dict(zip(names, _weighted_means(rows, sizes), strict=True))


def _weighted_means(rows: list[Tensor], sizes: list[int]) -> list[float]:
    """Per-example means of the loss terms: sum_b n_b * terms_b / sum_b n_b."""
    if not rows:
        return []
    w = torch.tensor(sizes, dtype=torch.float64, device=rows[0].device)
    return ((torch.stack(rows).to(torch.float64) * w[:, None]).sum(0) / w.sum()).tolist()


def _optimizer_state(optimizer: Any) -> Any:
    """The state dict of an optimizer, or of each optimizer of a tuple of them (the VAE-GAN's)."""
    if isinstance(optimizer, tuple):
        return [o.state_dict() for o in optimizer]
    return optimizer.state_dict()


def _load_optimizer_state(optimizer: Any, state: Any) -> None:
    if isinstance(optimizer, tuple):
        for o, s in zip(optimizer, state, strict=True):
            o.load_state_dict(s)
    else:
        optimizer.load_state_dict(state)


def _adam(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, using the fused kernel where the device supports it (same update, fewer ops)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr)


M = TypeVar("M")
R = TypeVar("R")


def seeded_run(seed: int, build: Callable[[], M], train: Callable[[M], R]) -> tuple[M, R]:
    """One seed's run of an experiment: seed Python, NumPy and PyTorch with ``seed`` (CPU threads from
    ``GENLEARN_THREADS``, :func:`genlearn.runtime.lesson_threads`), ``model = build()``, then
    ``train(model)``; returns ``(model, what train returned)``. The lessons' one "seed, build, fit"."""
    seed_everything(seed, threads=lesson_threads())
    model = build()
    return model, train(model)
