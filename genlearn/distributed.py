"""Data-parallel training under ``torchrun`` (one process per core or GPU).

``torchrun --nproc_per_node=N`` starts N copies of a script with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set. :func:`genlearn.train.fit` notices them,
joins the process group (gloo on CPU, nccl on CUDA), wraps the model in
``DistributedDataParallel`` and gives each process its share of every batch in
``DistributedSampler``'s order (:func:`epoch_order`): with a global batch of B examples each of the N processes
computes the mean loss of B/N of them, and DDP averages the gradients, so one step
equals a single-process step on the whole batch. Only rank 0 prints progress and
writes files. Outside torchrun every function here is a no-op for a single process.
"""

from __future__ import annotations

import atexit
import math
import os

import torch
import torch.distributed as dist

from genlearn.runtime import device as best_device

__all__ = [
    "launched_by_torchrun", "is_initialized", "init_from_env", "rank", "world_size", "is_main_process",
    "process_device", "barrier", "finish", "epoch_order", "average", "average_gradients", "broadcast_int",
    "broadcast_parameters",
]


def launched_by_torchrun() -> bool:
    """True when the environment asks for more than one process (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_from_env() -> bool:
    """Join the process group described by torchrun's environment (once); True if distributed."""
    if is_initialized():
        return True
    if not launched_by_torchrun():
        return False
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    atexit.register(_leave)  # an orderly teardown: gloo's threads aborted the process at exit now and then
    return True


def _leave() -> None:
    if is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Wait until every process reaches this line (a no-op for a single process)."""
    if is_initialized() and world_size() > 1:
        dist.barrier()


def finish() -> None:
    """Wait for every process, then leave the process group together: a rank that leaves
    while another still works (rank 0 writing files) was aborted by gloo's teardown now and
    then ("terminate called without an active exception"). A no-op for a single process."""
    barrier()
    _leave()


def rank() -> int:
    return dist.get_rank() if is_initialized() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0, or a single process: the one that prints, plots and writes checkpoints."""
    return rank() == 0


def process_device() -> torch.device:
    """This process's device under torchrun: :func:`genlearn.device`'s choice (``GENLEARN_DEVICE``
    honoured), made specific to the process: its own GPU ``cuda:LOCAL_RANK`` under nccl."""
    dev = best_device()
    if dev.type == "cuda" and dev.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return dev


def epoch_order(n: int, epoch: int, seed: int, shuffle: bool = True,
                device: torch.device | str | None = None, *,
                num_replicas: int | None = None, replica: int | None = None) -> torch.Tensor:
    """This process's indices for ``epoch``: the same as iterating
    ``DistributedSampler(range(n), num_replicas, replica, shuffle, seed)`` after
    ``set_epoch(epoch)``, built as a tensor without a Python list.

    ``perm = randperm(n)`` from a generator seeded with ``seed + epoch`` (``arange(n)`` when
    ``shuffle`` is False), padded by repeating itself to ``P * ceil(n / P)`` entries for ``P``
    processes, of which process ``r`` takes every P-th, starting at ``r``. ``num_replicas``
    and ``replica`` default to this process group's size and rank; one process gets the
    whole permutation."""
    world = world_size() if num_replicas is None else int(num_replicas)
    me = rank() if replica is None else int(replica)
    if n < 1 or world < 1 or not 0 <= me < world:
        raise ValueError(f"epoch_order needs n >= 1 and 0 <= replica < num_replicas, got n={n}, "
                         f"replica={me}, num_replicas={world}")
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed) + int(epoch)))
    else:
        order = torch.arange(n)
    total = world * math.ceil(n / world)
    if total > n:
        order = order.repeat(math.ceil(total / n))[:total]
    if world > 1:
        order = order[me:total:world]
    return order.to(device) if device is not None else order


def average(values: torch.Tensor) -> torch.Tensor:
    """The mean of ``values`` over all processes (the tensor itself when single-process)."""
    if not is_initialized() or world_size() == 1:
        return values
    out = values.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out / world_size()


def average_gradients(parameters) -> None:
    """Average ``.grad`` over all processes, for training loops that cannot use DDP
    (e.g. ``torch.autograd.grad`` per parameter group, as in the VAE-GAN)."""
    if not is_initialized() or world_size() == 1:
        return
    for p in parameters:
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad.div_(world_size())


def broadcast_int(value: int) -> int:
    """Rank 0's ``value`` on every process."""
    if not is_initialized():
        return value
    t = torch.tensor([value], dtype=torch.int64, device=process_device())
    dist.broadcast(t, src=0)
    return int(t.item())


def broadcast_parameters(model: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (what DDP does on construction)."""
    if not is_initialized() or world_size() == 1:
        return
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            dist.broadcast(t.data, src=0)
