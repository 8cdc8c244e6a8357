"""Resource limits of one submission's process, applied in the child after ``fork``."""

from __future__ import annotations

import os
import resource
import signal
from dataclasses import asdict, dataclass

__all__ = ["Limits", "apply_limits", "vm_bytes", "tasks_of_user", "NOBODY"]

NOBODY = 65534  # the unprivileged user a submission runs as when the grader is root


@dataclass(frozen=True)
class Limits:
    """What one submission may use: wall and CPU seconds, memory it may add (MB), the largest file it
    may write (MB, stdout and stderr included), extra processes, and how much output is read back."""

    timeout: float = 60.0
    cpu: float | None = None  # default: the wall-time limit
    memory_mb: int = 2048
    file_mb: int = 64
    processes: int = 32
    output_bytes: int = 20_000

    def __post_init__(self) -> None:
        for name in ("timeout", "memory_mb", "file_mb", "processes", "output_bytes"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")

    def as_dict(self) -> dict:
        return asdict(self)


def vm_bytes() -> int:
    """This process's current address-space size (VmSize)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def tasks_of_user(uid: int) -> int:
    """How many tasks (processes and threads) ``uid`` runs now: RLIMIT_NPROC counts them all."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


def apply_limits(limits: dict, base_vm: int, base_tasks: int) -> None:
    """In the child: CPU seconds, address space (``base_vm`` + memory_mb), file size, processes, no core."""
    cpu = int(limits.get("cpu") or limits["timeout"]) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = base_vm + int(limits["memory_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    size = int(limits["file_mb"]) * 2**20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    tasks = base_tasks + int(limits["processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
