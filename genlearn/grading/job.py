"""What came back from one submission's process, and how its process ended (in words)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["JobResult", "how_it_ended"]


@dataclass
class JobResult:
    """What came back from one submission's process."""

    exit: int | None = None
    timeout: bool = False
    wall: float = 0.0
    unreadable: str | None = None
    loaded: dict | None = None
    outcomes: dict[int, Any] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    crashed_runner: str | None = None
    stops: dict[int, str] = field(default_factory=dict)  # exercise index -> why its run ended there
    runs: int = 1
    started: bool = False  # the child read the notebook (status.json): the submission's code may have run
    crash: dict | None = None  # crash.json: the child's own code failed after the submission's had run



def how_it_ended(result: JobResult) -> str:
    import signal

    if result.timeout:
        return f"timed out after {result.wall:.0f} s"
    if result.crashed_runner:
        return result.crashed_runner
    code = result.exit
    if code is None or code >= 0:
        return f"your code ended the process (exit status {code}; sys.exit or os._exit?)"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    why = {"SIGXCPU": "it used up its CPU-time limit", "SIGKILL": "it was killed (memory or a limit)",
           "SIGSEGV": "it crashed (segmentation fault)"}.get(name, f"it was stopped by {name}")
    return f"the process ended: {why}"
