r"""Training loop, checkpoints.

:func:`fit` is a plain minibatch loop (what a lesson would write by hand) plus a
progress bar, a per-epoch history and hooks::

    for epoch in range(epochs):
        before_epoch hooks (e.g. a KL warm-up setting model.beta)
        perm = randperm(N, generator)                # reshuffled each epoch
        for each batch b of perm:
            terms = loss_fn(model, *batch)           # e.g. VAELoss(loss, recon, kl)
            terms.loss.backward(); optimizer.step()
        history[name].append(mean over examples of each term)
        after_epoch hooks (return True to stop)

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

:func:`save` / :func:`load` store the state dict with a JSON-able config and the model
class, read back with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import TensorDataset
from tqdm.auto import tqdm

from genlearn import distributed
from genlearn._validate import check_count
from genlearn.runtime import device as default_device

__all__ = ["fit", "History", "Hook", "save", "load", "loss_terms"]

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
    optimizer: torch.optim.Optimizer | None = None,
    val_data: Data | None = None,
    before_epoch: Hook | Iterable[Hook] | None = None,
    after_epoch: Hook | Iterable[Hook] | None = None,
    device: torch.device | str | None = None,
    seed: int | None = None,
    shuffle: bool = True,
    clip_grad_norm: float | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` by minimising ``loss_fn(model, *batch).loss`` with Adam (or ``optimizer``).

    ``train_data``: a tensor ``x`` or a tuple ``(x, y, ...)`` / ``TensorDataset``; each batch
    is passed as ``loss_fn(model, x_b, y_b, ...)``. Returns the history: for every term the
    loss returns, its mean over the epoch's examples (``history["recon"][e]``, ...), the
    same with a ``val_`` prefix on ``val_data`` (in eval mode, no gradients), and
    ``history["seconds"]``, the wall time of each training epoch. Hooks are called as
    ``hook(epoch, model, history)``; an ``after_epoch`` hook that returns True stops training.
    ``seed`` seeds the shuffling (default: drawn from the global torch RNG).
    ``device`` defaults to :func:`genlearn.device`. The model is left in eval mode.
    Under torchrun, ``batch_size`` is the global batch (divisible by the number of
    processes) and ``device`` defaults to the process's own GPU or the CPU.
    """
    epochs = check_count(epochs, "epochs", minimum=0)
    batch_size = check_count(batch_size, "batch_size")
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    parallel = distributed.init_from_env()
    world = distributed.world_size()
    if batch_size % world:
        raise ValueError(f"batch_size {batch_size} must be divisible by the number of processes ({world})")
    if device is None:
        dev = distributed.device() if parallel else default_device()
    else:
        dev = torch.device(device)
    model.to(dev)
    tensors = tuple(t.to(dev) for t in _as_tensors(train_data, "train_data"))
    val = None if val_data is None else tuple(t.to(dev) for t in _as_tensors(val_data, "val_data"))
    if optimizer is None:
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"lr must be a number > 0, got {lr!r}")
        optimizer = _adam(model, lr)
    if seed is None:
        seed = int(torch.randint(0, 2**31, (1,)).item())
        if parallel:  # every process must shuffle alike: take rank 0's seed
            seed = int(distributed.broadcast_int(seed))
    starts, ends = _hooks(before_epoch, "before_epoch"), _hooks(after_epoch, "after_epoch")
    n = len(tensors[0])
    local_batch = batch_size // world
    trained = _DDPView(DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)) \
        if parallel else model
    history: History = {}
    names: list[str] | None = None

    show = progress and distributed.is_main_process()
    bar = tqdm(range(epochs), disable=not show, unit="epoch", desc=type(model).__name__)
    for epoch in bar:
        for hook in starts:
            hook(epoch, model, history)
        t0 = time.perf_counter()
        model.train()
        order = distributed.epoch_order(n, epoch, seed, shuffle, dev) if shuffle or parallel else None
        rows: list[Tensor] = []  # one row of loss terms per batch, summed once per epoch
        sizes: list[int] = []
        for i in range(0, n if order is None else len(order), local_batch):
            if order is None:
                batch = tuple(t[i : i + local_batch] for t in tensors)
            else:
                idx = order[i : i + local_batch]
                batch = tuple(t.index_select(0, idx) for t in tensors)
            out = loss_fn(trained, *batch)
            if names is None:
                names, _ = loss_terms(out)
                history.update({k: [] for k in names})
                history["seconds"] = []
            values = out if isinstance(out, tuple) else (out.values() if isinstance(out, dict) else (out,))
            objective = out if isinstance(out, Tensor) else (out["loss"] if isinstance(out, dict) else out.loss)
            value = objective.item()
            if not math.isfinite(value):  # stop before the step spreads NaN into the weights
                bar.close()
                raise FloatingPointError(
                    f"the loss became {value} in epoch {epoch}, batch {i // local_batch}; "
                    "lower the learning rate or check the data and the loss"
                )
            optimizer.zero_grad(set_to_none=True)
            objective.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            with torch.no_grad():
                rows.append(torch.stack(tuple(values)))
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
        if any([bool(hook(epoch, model, history)) for hook in ends]):
            break
    bar.close()
    model.eval()
    return history


def _evaluate_loss(model: nn.Module, loss_fn: Callable[..., Any], data: tuple[Tensor, ...],
                   batch_size: int) -> dict[str, float]:
    """Mean of each loss term over ``data`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    n = len(data[0])
    rows: list[Tensor] = []
    sizes: list[int] = []
    names: list[str] = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            batch = tuple(t[i : i + batch_size] for t in data)
            names, values = loss_terms(loss_fn(model, *batch))
            rows.append(torch.stack(values))
            sizes.append(len(batch[0]))
    model.train(was_training)
    return dict(zip(names, _weighted_means(rows, sizes), strict=True))


def _weighted_means(rows: list[Tensor], sizes: list[int]) -> list[float]:
    """Per-example means of the loss terms: sum_b n_b * terms_b / sum_b n_b."""
    if not rows:
        return []
    w = torch.tensor(sizes, dtype=torch.float64, device=rows[0].device)
    return ((torch.stack(rows).to(torch.float64) * w[:, None]).sum(0) / w.sum()).tolist()


def _adam(model: nn.Module, lr: float) -> torch.optim.Optimizer:
    """Adam, using the fused kernel where the device supports it (same update, fewer ops)."""
    params = [p for p in model.parameters() if p.requires_grad]
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(params, lr=lr)


# ----------------------------------------------------------------------------- checkpoints

_FORMAT = "genlearn-checkpoint-1"


def _config(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if not isinstance(config, dict):
        raise ValueError(
            f"{type(model).__name__} has no `config` dict (its constructor arguments); genlearn "
            "models have one. Save a plain module's state_dict with torch.save instead."
        )
    try:
        return json.loads(json.dumps(config))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{type(model).__name__}.config must be JSON-able ({err})") from None


def save(model: nn.Module, path: str | os.PathLike) -> Path:
    """Write ``{format, class, module, config, state_dict}`` to ``path`` (tensors moved to CPU)."""
    cls = type(model)
    checkpoint = {
        "format": _FORMAT,
        "class": cls.__name__,
        "module": cls.__module__,
        "config": _config(model),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path


def _build(checkpoint: dict[str, Any], path: Path) -> nn.Module:
    module_name, class_name = checkpoint["module"], checkpoint["class"]
    if not (module_name == "genlearn" or module_name.startswith("genlearn.")):
        raise ValueError(f"{path}: refusing to build {module_name}.{class_name}; pass model= to load into")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ValueError(f"{path}: model class {module_name}.{class_name} not found") from None
    try:
        return cls(**checkpoint["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{path}: cannot build {class_name} from config {checkpoint['config']}: {err}") from None


def load(
    path: str | os.PathLike, model: nn.Module | None = None, device: torch.device | str | None = None
) -> nn.Module:
    """Read a checkpoint written by :func:`save` and return the model (in eval mode).

    Without ``model`` the class is rebuilt from the stored config; with ``model`` the
    weights are loaded into it after checking that its class and config match. Any
    mismatch (class, config, parameter names or shapes) raises ``ValueError`` saying what
    differs. ``device`` defaults to :func:`genlearn.device`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise ValueError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    keys = {"format", "class", "module", "config", "state_dict"}
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _FORMAT or not keys <= set(checkpoint):
        raise ValueError(f"{path}: not a genlearn checkpoint (expected keys {sorted(keys)})")
    if model is None:
        model = _build(checkpoint, path)
    else:
        if type(model).__name__ != checkpoint["class"]:
            raise ValueError(f"{path} holds a {checkpoint['class']}, cannot load it into a {type(model).__name__}")
        mine = _config(model)
        diff = {k: (checkpoint["config"].get(k), mine.get(k))
                for k in set(mine) | set(checkpoint["config"]) if checkpoint["config"].get(k) != mine.get(k)}
        if diff:
            listed = "; ".join(f"{k}: saved {a!r}, model {b!r}" for k, a, b in
                               ((k, *v) for k, v in sorted(diff.items())))
            raise ValueError(f"{path}: config does not match the model ({listed})")
    _load_state(model, checkpoint["state_dict"], path)
    model.to(torch.device(device) if device is not None else default_device())
    model.eval()
    return model


def _load_state(model: nn.Module, state: dict[str, Tensor], path: Path) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: saved {tuple(state[k].shape)}, model {tuple(own[k].shape)}"
              for k in own if k in state and state[k].shape != own[k].shape]
    problems = []
    if shapes:
        problems.append("shape mismatch: " + "; ".join(shapes))
    if missing:
        problems.append(f"missing from checkpoint: {missing}")
    if unexpected:
        problems.append(f"not in model: {unexpected}")
    if problems:
        raise ValueError(f"{path} does not fit {type(model).__name__}: " + " | ".join(problems))
    model.load_state_dict(state)
