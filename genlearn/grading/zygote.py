"""A fork server: import torch and the checks once, then fork one limited child per submission.

Started by :class:`genlearn.grading.runner.Worker` (``python -I -c ...``), possibly inside
bubblewrap. It reads one JSON job per line on stdin and answers one JSON line on stdout::

    {"dir": "job", "limits": {...}, "uid": 65534 | null}
    -> {"started": 1234}
    -> {"exit": 0, "timeout": false, "wall": 0.21}

The child makes itself a session leader, drops to ``uid`` when one is given (the grader runs as
root), applies the limits, moves into the job folder with stdout and stderr going to files
there, runs :func:`genlearn.grading.child.main` and leaves with ``os._exit``. After it ends (or
is killed at the wall-time limit) every process it left behind is killed: its process group,
and the orphans this process adopts as a child subreaper.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import sys
import time

__all__ = ["main", "run_job"]

PR_SET_CHILD_SUBREAPER = 36
# imported once here, so that children neither pay for them nor need to read them from disk (a child that
# runs as an unprivileged user may not be able to: e.g. a Python installed under /root)
PRELOAD = ("math", "cmath", "random", "itertools", "functools", "operator", "collections", "collections.abc",
           "statistics", "fractions", "decimal", "numbers", "typing", "dataclasses", "enum", "abc", "inspect",
           "traceback", "linecache", "tokenize", "json", "csv", "re", "io", "copy", "string", "textwrap", "heapq",
           "bisect", "time", "datetime", "contextlib", "pathlib", "glob", "fnmatch", "shutil", "tempfile", "pickle",
           "struct", "array", "hashlib", "base64", "pprint", "warnings", "weakref", "types", "queue", "threading",
           "subprocess", "importlib.util", "unittest", "doctest", "timeit", "numpy", "torch", "torch.nn",
           "torch.nn.functional", "torch.distributions", "torch.utils.data", "torch.optim", "cProfile", "pstats",
           "profile", "jupytext", "nbformat",
           # genlearn's library, which exercise notebooks import (its checker, grader and benchmarks excepted)
           "genlearn.data", "genlearn.models", "genlearn.evaluate", "genlearn.train", "genlearn.recipes",
           "genlearn.sample_quality", "genlearn.kl", "genlearn.expectation", "genlearn.gradients", "genlearn.verdict",
           "genlearn.scale", "genlearn.runtime", "genlearn.checkpoint", "genlearn.distributed")


def _preload() -> None:
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    import torch

    torch.set_num_threads(1)
    # an optimizer's first step imports more modules lazily (profiling hooks among them): take that step
    # here, so that a submission that trains a model does not need imports its child may not make
    weight = torch.nn.Parameter(torch.zeros(2))
    for opt in (torch.optim.Adam([weight], lr=0.1), torch.optim.SGD([weight], lr=0.1)):
        weight.sum().backward()
        opt.step()
        opt.zero_grad()
    import io

    buffer = io.BytesIO()  # torch.save and torch.load import modules lazily (torch.utils.serialization):
    torch.save({"x": torch.zeros(2), "n": [1, "a"]}, buffer)  # import them here, as for the optimisers
    torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    import jupytext

    import genlearn.grading.limits  # noqa: F401 - everything a child runs, imported before its files go
    from genlearn.grading.child import MACHINERY
    from genlearn.grading.seal import prepare

    prepare(MACHINERY())  # the verify steps and references leave this process: children never have them
    jupytext.reads("# %%\nx = 1\n", fmt="py:percent")  # warm jupytext's lazy imports
    jupytext.writes(jupytext.reads("# %%\nx = 1\n", fmt="py:percent"), fmt="ipynb")


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def _kill_leftovers(child: int) -> None:
    """Kill the child's process group and every process reparented to us (we are a subreaper)."""
    me = os.getpid()
    for _ in range(200):
        try:
            os.killpg(child, signal.SIGKILL)
        except OSError:
            pass
        left = _children_of(me)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not left:
            return
        time.sleep(0.01)


def _child(job: dict, base_vm: int, base_tasks: int) -> None:
    """In the forked child: isolate, limit, run; never returns."""
    code = 70
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        uid = job.get("uid")
        if uid is not None:  # first, so that nothing below runs with the grader's privileges
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
        os.chdir(job["dir"])
        for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
            out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(out, fd)
            os.close(out)
        from genlearn.grading.limits import apply_limits

        apply_limits(job["limits"], base_vm, base_tasks)
        os.environ["HOME"] = os.getcwd()
        from genlearn.grading.child import main as child_main

        child_main()
        code = 0
    except BaseException:  # noqa: BLE001 - the grader reads stderr.txt
        import traceback

        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: BLE001
            pass
        os._exit(code)


def _wait(pid: int, timeout: float) -> tuple[int, bool]:
    """Wait for ``pid`` up to ``timeout`` seconds; kill its group on timeout. Returns (status, timed out)."""
    deadline = time.monotonic() + timeout
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = None
    timed_out = False
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
            _, status = os.waitpid(pid, 0)
            break
        if fd is not None:
            select.select([fd], [], [], left)
        else:
            time.sleep(min(0.01, left))
    if fd is not None:
        os.close(fd)
    return status, timed_out


def run_job(job: dict, base_vm: int, base_tasks: int) -> dict:
    """Fork a child for ``job``, wait for it within the wall-time limit, clean up after it."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(job, base_vm, base_tasks)
    print(json.dumps({"started": pid}), flush=True)  # the grader kills it should this server die
    status, timed_out = _wait(pid, float(job["limits"]["timeout"]))
    _kill_leftovers(pid)
    return {"exit": os.waitstatus_to_exitcode(status), "timeout": timed_out,
            "wall": round(time.monotonic() - start, 3)}


def main() -> None:
    _preload()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    from genlearn.grading.limits import tasks_of_user, vm_bytes

    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        uid = job.get("uid")
        base_tasks = tasks_of_user(os.getuid() if uid is None else uid)
        reply = run_job(job, vm_bytes(), base_tasks)
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
