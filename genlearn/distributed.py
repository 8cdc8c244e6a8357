"""Data-parallel training under ``torchrun`` (one process per core or GPU).

``torchrun --nproc_per_node=N`` starts N copies of a script with ``RANK``,
``LOCAL_RANK`` and ``WORLD_SIZE`` set. :func:`genlearn.train.fit` notices them,
joins the process group (gloo on CPU, nccl on CUDA), wraps the model in
``DistributedDataParallel`` and gives each process its share of every batch through
``DistributedSampler``: with a global batch of B examples each of the N processes
computes the mean loss of B/N of them, and DDP averages the gradients, so one step
equals a single-process step on the whole batch. Only rank 0 prints progress and
writes files. Outside torchrun every function here is a no-op for a single process.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


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
    return True


def rank() -> int:
    return dist.get_rank() if is_initialized() else int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0, or a single process: the one that prints, plots and writes checkpoints."""
    return rank() == 0


def device() -> torch.device:
    """This process's device: its own GPU under nccl, else the CPU (gloo)."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


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
    t = torch.tensor([value], dtype=torch.int64, device=device())
    dist.broadcast(t, src=0)
    return int(t.item())


def broadcast_parameters(model: torch.nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every process (what DDP does on construction)."""
    if not is_initialized() or world_size() == 1:
        return
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            dist.broadcast(t.data, src=0)
