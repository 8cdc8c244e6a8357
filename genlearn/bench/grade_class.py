"""``python -m genlearn.bench grade``: how fast ``genlearn grade`` grades a class.

Writes N submissions (default 200) of a five-exercise notebook - a mix of correct, partly wrong,
untouched and crashing ones (an exception, ``sys.exit``, ``os._exit``) - grades them without and
with ``--sandbox`` (when bubblewrap is installed), checks every score against the one each
submission was written to earn, and prints submissions per minute, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

__all__ = ["main", "write_class"]

IDS = ("kl_discrete", "kl_closed_form", "kl_logvar", "bits_per_dim", "free_bits_kl")
HEAD = "import math\nimport os\nimport sys\nimport torch\nfrom genlearn.checks import check\n"
GOOD = {
    "kl_discrete": "def kl_discrete(p, q):\n    return torch.where(p > 0, p * torch.log(p / q), 0 * p).sum()\n",
    "kl_closed_form": "def kl_closed_form(mu, sigma):\n    return -torch.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5\n",
    "kl_logvar": "def kl_logvar(mu, logvar):\n    return 0.5 * (logvar.exp() - 1 - logvar + mu**2).sum(-1)\n",
    "bits_per_dim": "def bits_per_dim(nats, n_dims):\n    return nats / (n_dims * math.log(2))\n",
    "free_bits_kl": "def free_bits_kl(kl_per_dim, lam):\n    return kl_per_dim.mean(0).clamp(min=lam).sum()\n",
}
BODIES = {
    "wrong": "    return torch.zeros(())\n",
    "untouched": "    raise NotImplementedError('Your turn')\n",
    "raises": "    raise RuntimeError('oops')\n",
    "sys_exit": "    sys.exit(1)\n",
    "os_exit": "    os._exit(3)\n",
}


def _notebook(kinds: list[str]) -> str:
    import jupytext

    cells = [HEAD]
    for exercise_id, kind in zip(IDS, kinds, strict=True):
        cells.append(GOOD[exercise_id] if kind == "good" else f"def {exercise_id}(*args, **kwargs):\n{BODIES[kind]}")
    text = "".join(f"# %%\n{c}\n\n" for c in cells) + "# %%\n" + "".join(f'check("{i}", {i})\n' for i in IDS)
    return jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="ipynb")


def _expected(kinds: list[str]) -> int:
    return sum(kind == "good" for kind in kinds)  # after os._exit the grader runs the later exercises again


def write_class(folder: Path, n: int) -> dict[str, int]:
    """Write ``n`` submissions into ``folder``; return each student's expected score."""
    plans = [["good"] * 5, ["good", "good", "wrong", "good", "wrong"], ["untouched"] * 5,
             ["good", "raises", "good", "sys_exit", "good"], ["good", "good", "os_exit", "good", "good"],
             ["good", "good", "good", "good", "wrong"]]
    expected = {}
    for k in range(n):
        kinds = plans[k % len(plans)]
        name = f"student{k:04d}"
        (folder / f"{name}.ipynb").write_text(_notebook(kinds))
        expected[name] = _expected(kinds)
    return expected


def _instructor(folder: Path) -> Path:
    path = folder / "exercises.py"
    path.write_text("# %%\nfrom genlearn.checks import check\n\n# %%\n" + "".join(f'check("{i}", {i})\n' for i in IDS))
    return path


def run(n: int, workers: int, sandbox: bool, seed: int) -> dict:
    from genlearn.grading import grade

    folder = Path(tempfile.mkdtemp(prefix="genlearn-bench-grade-"))
    try:
        (folder / "subs").mkdir()
        expected = write_class(folder / "subs", n)
        start = time.perf_counter()
        summary = grade(_instructor(folder), folder / "subs", folder / "out", workers=workers, timeout=60,
                        seed=seed, sandbox=sandbox, log=lambda text: None)
        seconds = time.perf_counter() - start
        wrong = [g.student for g in summary.grades if g.total != expected[g.student]]
        return {"submissions": n, "seconds": round(seconds, 2), "per_minute": round(60 * n / seconds, 1),
                "scores_as_expected": not wrong, "unexpected": wrong[:5]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench grade", description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="number of submissions (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="grading workers (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-sandbox", action="store_true", help="skip the --sandbox run")
    args = parser.parse_args(argv)

    result: dict = {"cpus": os.cpu_count(), "workers": args.workers}
    modes = [("plain", False)] + ([] if args.no_sandbox or shutil.which("bwrap") is None else [("sandbox", True)])
    for name, sandbox in modes:
        r = run(args.n, args.workers, sandbox, args.seed)
        print(f"{name:8s}: {r['submissions']} submissions in {r['seconds']:.1f} s = {r['per_minute']:.0f} per minute"
              f" (scores as expected: {r['scores_as_expected']})")
        result[name] = r
    if shutil.which("bwrap") is None and not args.no_sandbox:
        print("sandbox : skipped (bubblewrap is not installed)")
    print(json.dumps(result))
    return 0 if all(result[name]["scores_as_expected"] for name, _ in modes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
