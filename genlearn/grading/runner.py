"""Run submissions in their own processes and bring back only plain outcomes.

A :class:`Runner` keeps one fork server (:mod:`.zygote`) per worker; each submission is copied
into that worker's empty job folder with its inputs, run by a forked child under the limits,
and its outcomes are read back (``torch.load(weights_only=True)``), size-capped.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import select
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from genlearn.grading.job import JobResult, how_it_ended
from genlearn.grading.limits import NOBODY, Limits
from genlearn.grading.sandbox import CHECKER_MOUNT, GradingError, bwrap_command, checker_copy

__all__ = ["Runner", "run_submission", "scrubbed_env", "shared_runner"]

_STARTUP_TIMEOUT = 120.0
# the fork server's first lines: in a sandbox genlearn/checks is hidden, so the checker is imported from the
# server's private copy (GENLEARN_CHECKER) before anything imports it
_BOOTSTRAP = """import os, sys
sys.path.insert(0, {root!r})
checker = os.environ.get("GENLEARN_CHECKER")
if checker:
    import importlib.util
    import genlearn
    spec = importlib.util.spec_from_file_location("genlearn.checks", os.path.join(checker, "__init__.py"),
                                                  submodule_search_locations=[checker])
    genlearn.checks = sys.modules["genlearn.checks"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(genlearn.checks)
from genlearn.grading.zygote import main
main()
"""
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def scrubbed_env(home: Path) -> dict[str, str]:
    """The whole environment a submission sees."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "OMP_NUM_THREADS": "1"}


class Worker:
    """One fork server and its work folder."""

    def __init__(self, root: Path, index: int, limits: Limits, sandbox: bool, hidden: list[Path],
                 uid: int | None) -> None:
        self.dir = root / f"w{index}"
        self.dir.mkdir(mode=0o711)
        self.checker = root / f"checker{index}"  # the sandboxed server's private copy of the checker
        self.limits, self.sandbox, self.hidden, self.uid = limits, sandbox, hidden, uid
        self.proc: subprocess.Popen | None = None

    def spawn(self) -> None:
        """Start the fork server (from a long-lived thread: bwrap's --die-with-parent follows the thread)."""
        env = scrubbed_env(self.dir)
        code = _BOOTSTRAP.format(root=_PACKAGE_ROOT)
        cmd = [sys.executable, "-I", "-c", code]
        if self.sandbox:
            shutil.rmtree(self.checker, ignore_errors=True)
            self.checker.mkdir(mode=0o700)
            checker_copy(self.checker)
            cmd = bwrap_command(self.dir, self.hidden, {**env, "GENLEARN_CHECKER": f"{CHECKER_MOUNT}/checks"},
                                checker=self.checker / "checks") + cmd
        with open(self.dir / "server.log", "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env,
                                         cwd=self.dir, close_fds=True, start_new_session=True)

    def wait_ready(self) -> None:
        line = self._readline(_STARTUP_TIMEOUT)
        # the server has imported the checker (or failed): its copy goes, so no submission can read it
        shutil.rmtree(self.checker, ignore_errors=True)
        if not line or not json.loads(line).get("ready"):
            log = (self.dir / "server.log").read_bytes()[-2000:].decode(errors="replace").strip().splitlines()
            code = None
            if self.proc is not None:
                try:  # its output ended: wait for its exit status (poll() alone can race the exit)
                    code = self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    code = None
            self.stop()
            how = f" ({'bwrap' if self.sandbox else 'python'} exited with status {code})" if code is not None else ""
            raise GradingError(f"the grading process did not start{how}: {log[-1] if log else 'no output'}")

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def _readline(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode() if ready else ""

    def stop(self) -> None:
        """End the fork server: it leaves on end of input (its sandbox with it); killed if it does not."""
        if self.proc is not None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
            self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self.proc = None

    def run(self, notebook: Path, job: dict, inputs: bytes) -> JobResult:
        if self.proc is None or self.proc.poll() is not None:
            self.stop()
            self.start()
        jobdir = self.dir / "job"
        shutil.rmtree(jobdir, ignore_errors=True)
        jobdir.mkdir(mode=0o700)
        name = "submission" + notebook.suffix
        shutil.copyfile(notebook, jobdir / name)
        (jobdir / "job.json").write_text(json.dumps({**job, "notebook": name}))
        (jobdir / "inputs.pt").write_bytes(inputs)
        if self.uid is not None:
            for path in (jobdir, *jobdir.iterdir()):
                os.chown(path, self.uid, self.uid)
        # relative to the fork server's folder: its parents need not be reachable (the sandbox's are not)
        request = {"dir": jobdir.name, "limits": self.limits.as_dict(), "uid": self.uid}
        assert self.proc is not None and self.proc.stdin is not None
        child = None
        try:
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            line = self._readline(30)
            child = json.loads(line).get("started") if line else None
            line = self._readline(self.limits.timeout + 60) if child else ""
        except (OSError, ValueError):
            line = ""
        result = JobResult()
        if line:
            reply = json.loads(line)
            result.exit, result.timeout, result.wall = reply["exit"], reply["timeout"], reply["wall"]
        else:  # the fork server died (or hung): kill what it ran; only this submission is affected
            result.crashed_runner = "the grading process serving this submission stopped"
            if isinstance(child, int) and child > 0 and not self.sandbox:  # a sandbox dies with its server
                for kill in (os.killpg, os.kill):
                    try:
                        kill(child, 9)
                    except OSError:
                        pass
            self.stop()
        _collect(jobdir, result, self.limits)
        shutil.rmtree(jobdir, ignore_errors=True)
        return result


def _read_capped(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


def _collect(jobdir: Path, result: JobResult, limits: Limits) -> None:
    """Read back what the child wrote: small JSON files, outcomes, the start of its output."""
    from genlearn.checks.steps import decode

    cap = limits.file_mb * 2**20
    for name, attr in (("stdout.txt", "stdout"), ("stderr.txt", "stderr")):
        data = _read_capped(jobdir / name, limits.output_bytes)
        setattr(result, attr, (data or b"").decode(errors="replace"))
    status = _read_capped(jobdir / "status.json", 10_000)
    result.started = status is not None
    crash = _read_capped(jobdir / "crash.json", 100_000)
    try:
        result.crash = json.loads(crash) if crash else None
    except ValueError:
        result.crash = None
    try:
        unreadable = json.loads(status).get("unreadable") if status else None
        result.unreadable = str(unreadable) if unreadable else None
    except (ValueError, AttributeError):
        pass
    loaded = _read_capped(jobdir / "loaded.json", 100_000)
    try:
        result.loaded = json.loads(loaded) if loaded else None
    except ValueError:
        result.loaded = {"problems": ["the notebook's load report was unreadable"]}
    for path in sorted(jobdir.glob("out-[0-9][0-9][0-9].pt")):
        data = _read_capped(path, cap + 1)
        if data is None or len(data) > cap:
            continue
        try:
            result.outcomes[int(path.stem[4:])] = decode(data)
        except Exception:  # noqa: BLE001 - anything unloadable counts as nothing
            result.outcomes[int(path.stem[4:])] = None


class Runner:
    """A pool of workers; :meth:`run` takes a free one (thread-safe). Use as a context manager."""

    def __init__(self, workers: int = 1, limits: Limits | None = None, sandbox: bool = False,
                 hidden: list[Path] | None = None, drop_privileges: bool = True) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.limits = limits or Limits()
        self.root = Path(tempfile.mkdtemp(prefix="genlearn-grade-"))
        os.chmod(self.root, 0o711)
        uid = NOBODY if drop_privileges and os.geteuid() == 0 else None
        hidden = [Path(p) for p in hidden or []]
        self._workers = [Worker(self.root, i, self.limits, sandbox, hidden, uid) for i in range(workers)]
        self._free: queue.Queue[Worker] = queue.Queue()
        try:
            for w in self._workers:  # spawned by this thread, which outlives them
                w.spawn()
            for w in self._workers:  # they import torch in parallel
                w.wait_ready()
        except BaseException:
            self.close()
            raise
        for w in self._workers:
            self._free.put(w)

    @property
    def workers(self) -> list[Worker]:
        """The workers (each with its own fork server), e.g. for a self-test on each."""
        return list(self._workers)

    def run(self, notebook: Path, job: dict, inputs: bytes) -> JobResult:
        worker = self._free.get()
        try:
            return worker.run(notebook, job, inputs)
        finally:
            self._free.put(worker)

    def close(self) -> None:
        for w in self._workers:
            w.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_submission(runner: Runner, notebook: Path, job: dict, inputs: bytes) -> JobResult:
    """Run a submission; when its process times out or ends while exercise k runs, run it again from
    exercise k + 1, so that one exercise cannot cost the others their points.

    A process that ends while loading the definitions is not run again (every run would).
    """
    n = len(job["exercises"])
    merged = last = runner.run(notebook, {**job, "start": 0}, inputs)
    while not merged.unreadable and merged.loaded is not None:
        missing = [k for k in range(n) if k not in merged.outcomes and k not in merged.stops]
        if not missing:
            break
        k = missing[0]
        merged.stops[k] = how_it_ended(last)
        if k + 1 >= n:
            break
        last = runner.run(notebook, {**job, "start": k + 1}, inputs)
        merged.runs += 1
        merged.timeout = merged.timeout or last.timeout
        merged.crashed_runner = merged.crashed_runner or last.crashed_runner
        merged.crash = merged.crash or last.crash
        if last.unreadable or last.loaded is None:
            for j in range(k + 1, n):
                merged.stops[j] = f"not run: {how_it_ended(last)} while loading the definitions again"
            break
        merged.outcomes.update({j: v for j, v in last.outcomes.items() if j > k})
    return merged


_SHARED: dict[float, Runner] = {}
_SHARED_LOCK = threading.Lock()


def shared_runner(timeout: float) -> Runner:
    """One fork server per process for ``genlearn check`` (:mod:`genlearn.grading.notebook_check`), closed at exit."""
    with _SHARED_LOCK:
        if timeout not in _SHARED:
            _SHARED[timeout] = Runner(1, Limits(timeout=timeout, memory_mb=4096), drop_privileges=False)
            atexit.register(_SHARED[timeout].close)
        return _SHARED[timeout]
