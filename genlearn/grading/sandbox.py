"""bubblewrap (``bwrap``): a file system with only what grading needs, no network, no other submissions.

Each grading worker's fork server runs inside its own sandbox, whose file system is built from
nothing (not the machine's ``/`` with holes cut in it):

* the operating system, read-only: ``/usr`` (and ``/bin``, ``/lib``... as on the machine), ``/etc``,
  ``/sys``, a fresh ``/dev``, ``/proc`` and an empty private ``/tmp``;
* the interpreter and its installed packages, read-only: its prefixes and every ``sys.path`` folder,
  wherever they live (under ``/tmp``, in a home folder, under a path with spaces); a folder on
  ``sys.path`` that is a checkout (it holds ``genlearn/`` beside other things, as an editable install
  does) contributes its ``genlearn/`` folder only, so its ``solutions/`` stay out of sight;
* genlearn's checker and benchmarks (``genlearn/checks``, ``genlearn/bench``) hidden under empty
  folders: the fork server imports the checker from a private copy (:func:`checker_copy`) that the
  grader empties once the server is ready, so a submission finds no reference answer on disk;
* the worker's own folder, the only writable place.

Home folders, course repositories, other submissions and the output folder are simply absent.
Every folder the sandbox creates on the way to a bound path is made ``0755`` (bubblewrap would
make it ``0700``, which the unprivileged user a child drops to cannot enter). New PID, IPC, UTS and
network namespaces; killed with the grader.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["GradingError", "bwrap_path", "require_bwrap", "bwrap_command", "PLAIN_WARNING", "visible_paths",
           "checker_copy", "CHECKER_MOUNT", "HIDDEN_SUBPACKAGES"]

MISSING = ("--sandbox needs bubblewrap (the `bwrap` command), which is not installed: install Debian's "
           "`bubblewrap` package (sudo apt-get install bubblewrap), or grade without --sandbox")
PLAIN_WARNING = ("warning: grading without --sandbox: each submission runs in its own process with time, CPU, "
                 "memory, file-size and process limits, and cannot import genlearn's checker, but it can read "
                 "your files (a checkout's solutions/, your home folder: a submission that reads a solution "
                 "file scores its points) and, as your user, write them, see the other submissions and the "
                 "output folder, and reach the network; --sandbox (bubblewrap) shows it only the interpreter, "
                 "its packages and its own folder, with no network")
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
CHECKER_MOUNT = "/genlearn-checker"  # where a sandboxed fork server finds its private copy of the checker
HIDDEN_SUBPACKAGES = ("checks", "bench")  # genlearn's checker (reference answers) and benchmarks (answers)


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


def _package_dir() -> Path:
    import genlearn

    return Path(genlearn.__file__).resolve().parent


def _outermost(paths: Iterable[Path]) -> list[Path]:
    """Each path once, without those inside another one of them; sorted."""
    found: list[Path] = []
    for p in sorted(set(paths), key=lambda q: len(q.parts)):
        if not any(f == p or f in p.parents for f in found):
            found.append(p)
    return sorted(found)


def _under_system(path: Path) -> bool:
    return any(path == Path(s) or Path(s) in path.parents for s in SYSTEM)


def visible_paths() -> list[Path]:
    """The folders of the interpreter and its packages a sandboxed fork server needs, outside the system's
    folders: outermost first, each once (a checkout on ``sys.path`` replaced by its ``genlearn/``)."""
    package = _package_dir()
    candidates = [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix),
                  Path(sys.executable).parent, package]
    for entry in sys.path:
        if not entry:
            continue
        path = Path(entry)
        try:
            path = path.resolve()
        except OSError:
            continue
        if path == package.parent and path.name not in ("site-packages", "dist-packages"):
            continue  # a checkout (editable install): its genlearn/ is bound, not its solutions/
        candidates.append(path)
    found = []
    for c in candidates:
        try:
            c = c.resolve()
        except OSError:
            continue
        if c.exists() and c != Path("/") and not _under_system(c):
            found.append(c)
    return _outermost(found)


def _dirs(path: Path, made: set[Path]) -> list[str]:
    """``--perms 0755 --dir`` for each missing parent of ``path`` (outermost first)."""
    args = []
    for parent in reversed(path.parents):
        if parent == Path("/") or parent in made:
            continue
        made.add(parent)
        args += ["--perms", "0755", "--dir", str(parent)]
    return args


def checker_copy(dest: Path) -> Path:
    """Copy genlearn's checker (``genlearn/checks``) into ``dest/checks`` for one fork server; the grader
    removes it once that server has imported it."""
    target = dest / "checks"
    shutil.copytree(_package_dir() / "checks", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def bwrap_command(workdir: Path, hidden: Iterable[Path], env: dict[str, str], checker: Path | None = None) -> list[str]:
    """The bwrap prefix for a fork server whose only writable folder is ``workdir``; ``checker`` is its
    private copy of the checker (see :func:`checker_copy`), seen at :data:`CHECKER_MOUNT`."""
    cmd = [require_bwrap()]
    for name in SYSTEM:
        if os.path.islink(name):
            cmd += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            cmd += ["--ro-bind", name, name]
    cmd += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    made: set[Path] = {Path("/tmp")}
    binds = visible_paths()
    for path in binds:
        cmd += _dirs(path, made) + ["--ro-bind", str(path), str(path)]
        made.add(path)
    package = _package_dir()
    for name in HIDDEN_SUBPACKAGES:
        if (package / name).is_dir():
            cmd += ["--tmpfs", str(package / name)]
    for path in hidden:  # the submissions and the output folder, should they lie inside a bound folder
        path = Path(path).resolve()
        if any(b == path or b in path.parents for b in binds) or _under_system(path):
            cmd += ["--tmpfs", str(path)]
    workdir = workdir.resolve()
    cmd += _dirs(workdir, made) + ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    if checker is not None:
        cmd += ["--perms", "0755", "--dir", CHECKER_MOUNT, "--bind", str(checker), f"{CHECKER_MOUNT}/checks"]
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
