"""bubblewrap (``bwrap``): a read-only file system, no network, and no view of other submissions.

Each grading worker's fork server runs inside its own sandbox: the whole file system read-only,
a private ``/tmp``, its own work folder the only writable place, the submissions folder and the
output folder hidden under empty tmpfs mounts, new PID, IPC, UTS and network namespaces, and
killed with the grader.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

__all__ = ["GradingError", "bwrap_path", "require_bwrap", "bwrap_command", "PLAIN_WARNING"]

MISSING = ("--sandbox needs bubblewrap (the `bwrap` command), which is not installed: install Debian's "
           "`bubblewrap` package (sudo apt-get install bubblewrap), or grade without --sandbox")
PLAIN_WARNING = ("warning: grading without --sandbox: each submission runs in its own process with time, CPU, "
                 "memory, file-size and process limits, but it can read your files (and, as your user, write "
                 "them), see the other submissions and the output folder, and reach the network; --sandbox "
                 "(bubblewrap) isolates the file system and the network too")


class GradingError(Exception):
    """A problem with the grading setup, reported on one line."""


def bwrap_path() -> str | None:
    """The ``bwrap`` executable, or ``None`` when bubblewrap is not installed."""
    return shutil.which("bwrap")


def require_bwrap() -> str:
    path = bwrap_path()
    if path is None:
        raise GradingError(MISSING)
    return path


def _interpreter_paths_under_tmp() -> list[Path]:
    """The folders the grading interpreter runs from (its prefix, its venv, ``sys.path``) that lie under
    ``/tmp``, which the sandbox replaces by an empty tmpfs: outermost first, each once."""
    import sys

    import genlearn

    tmp = Path("/tmp").resolve()
    candidates = [Path(sys.prefix), Path(sys.executable).parent.parent, Path(genlearn.__file__).parent.parent,
                  *(Path(p) for p in sys.path if p)]
    found: list[Path] = []
    for c in candidates:
        try:
            c = c.resolve()
        except OSError:
            continue
        if c.exists() and tmp in c.parents and not any(f == c or f in c.parents for f in found):
            found = [f for f in found if c not in f.parents] + [c]
    return sorted(found)


def bwrap_command(workdir: Path, hidden: Iterable[Path], env: dict[str, str]) -> list[str]:
    """The bwrap prefix for a fork server whose only writable folder is ``workdir``."""
    cmd = [require_bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for path in _interpreter_paths_under_tmp():  # a venv or checkout under /tmp must stay visible (read-only)
        cmd += ["--ro-bind", str(path), str(path)]
    for path in hidden:
        cmd += ["--tmpfs", str(Path(path).resolve())]
    cmd += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    if os.geteuid() == 0:
        # no user namespace: the children drop to an unprivileged uid (RLIMIT_NPROC then counts), so keep
        # only the capabilities that drop needs
        cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        cmd += ["--unshare-all"]
    cmd += ["--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--"]
