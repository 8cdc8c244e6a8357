"""Subnormal flushing at import: on every CPU thread PyTorch computes with, and switchable off."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

import genlearn
from genlearn.runtime import FLUSH_DENORMAL_ENV, denormals_flushed

# 2**20 elements: an elementwise op this large is split across PyTorch's worker threads.
# Each thread flushes or not on its own, so counting the survivors tells which threads flushed.
_PROBE = """
import torch
torch.set_num_threads(2)
{before}
import genlearn
from genlearn.runtime import denormals_flushed
bits = torch.full((2**20,), 1 << 20, dtype=torch.int32)  # 2**-129, a subnormal, made without arithmetic
x = bits.view(torch.float32) * 1.0
print(denormals_flushed(), int((x != 0).sum()))
"""


def _run(before: str = "", flush: str | None = None) -> tuple[bool, int]:
    env = {k: v for k, v in os.environ.items() if k not in (FLUSH_DENORMAL_ENV, "OMP_NUM_THREADS")}
    if flush is not None:
        env[FLUSH_DENORMAL_ENV] = flush
    code = textwrap.dedent(_PROBE.format(before=before))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    flag, survivors = out.stdout.split()
    return flag == "True", int(survivors)


def test_this_process_flushes_after_import():
    assert genlearn.__name__ == "genlearn"
    assert denormals_flushed()
    assert float(torch.tensor([2e-39]) * 1.0) == 0.0
    assert float(torch.tensor([2e-38]) * 1.0) == pytest.approx(2e-38, rel=1e-6)  # normal floats untouched


def test_import_before_any_computation_flushes_on_every_worker_thread():
    flushed, survivors = _run()
    assert flushed and survivors == 0, f"{survivors} subnormals survived a multi-threaded multiply"


def test_flushing_can_be_switched_off():
    flushed, survivors = _run(flush="0")
    assert not flushed and survivors == 2**20


def test_workers_started_before_the_import_keep_subnormals():
    # The documented limitation: the mode is copied into OpenMP's worker threads when the
    # first parallel operation creates them, so later imports flush the main thread only.
    flushed, survivors = _run(before="torch.ones(2**20).mul(2.0).sum()")
    assert flushed and 0 < survivors < 2**20


def test_lesson_threads_seeded_run_and_column(monkeypatch):
    """The lessons' shared helpers: GENLEARN_THREADS read in one place, one 'seed, build, fit', one per-seed column."""
    import math

    import pytest
    import torch

    from genlearn.runtime import lesson_threads
    from genlearn.train import seeded_run
    from genlearn.verdict import column

    monkeypatch.delenv("GENLEARN_THREADS", raising=False)
    assert lesson_threads() == 1
    monkeypatch.setenv("GENLEARN_THREADS", "2")
    assert lesson_threads() == 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("GENLEARN_THREADS", bad)
        with pytest.raises(ValueError, match="GENLEARN_THREADS"):
            lesson_threads()
    monkeypatch.setenv("GENLEARN_THREADS", "1")
    threads = torch.get_num_threads()
    try:
        a = seeded_run(7, lambda: torch.nn.Linear(3, 2), lambda m: torch.randn(4))
        b = seeded_run(7, lambda: torch.nn.Linear(3, 2), lambda m: torch.randn(4))
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[1], b[1])
    rows = [{"x": 1.0}, {"x": math.e}]
    assert column(rows, "x") == [1.0, math.e] and column(rows, "x", log=True) == [0.0, 1.0]
    with pytest.raises(ValueError, match="positive"):
        column([{"x": 0.0}], "x", log=True)
