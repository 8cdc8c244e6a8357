"""Run the lessons for several base seeds and print which pass (``make seed-sweep``).

Every lesson reads its base seed from ``GENLEARN_SEED`` (:func:`genlearn.scale.base_seed`) and
every assert must hold for base seeds 0 to 4. This runs each lesson notebook under nbval once per
seed (one CPU thread, as ``make test``) and prints a table of PASS / FAIL and seconds, then one
JSON object on its last line. Usage::

    python tools/seed_sweep.py                       # lessons 01-07, seeds 0-4
    python tools/seed_sweep.py --lessons 04 07 --seeds 0 1 2
    python tools/seed_sweep.py --seeds 40 43 --threads 2   # another arithmetic
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(lesson: Path, seed: int, timeout: float, threads: int = 1) -> tuple[bool, float, str]:
    env = {**os.environ, "GENLEARN_SEED": str(seed), "GENLEARN_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "--no-header", "-p", "no:cacheprovider",
                              str(lesson)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        ok, text = out.returncode == 0, out.stdout[-2000:]
    except subprocess.TimeoutExpired:
        ok, text = False, f"timed out after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    failed = [ln for ln in text.splitlines() if ln.startswith("FAILED")]
    return ok, seconds, failed[0] if failed else ("" if ok else text.splitlines()[-1] if text else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lessons", nargs="*", default=None, help="lesson numbers, e.g. 04 07 (default: all)")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per lesson run")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads of each lesson run (GENLEARN_THREADS): another count is another arithmetic")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if any(s < 0 for s in args.seeds):
        parser.error("--seeds must be integers >= 0")
    lessons = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    if args.lessons:
        lessons = [p for p in lessons if p.name[:2] in {n.zfill(2) for n in args.lessons}]
        if not lessons:
            parser.error(f"no lesson matches {args.lessons}")
    results: dict[str, dict[int, dict]] = {}
    print(f"{'lesson':22s}" + "".join(f"{'seed ' + str(s):>14s}" for s in args.seeds), flush=True)
    for lesson in lessons:
        row = results.setdefault(lesson.stem, {})
        cells = []
        for seed in args.seeds:
            ok, seconds, why = run(lesson, seed, args.timeout, args.threads)
            row[seed] = {"passed": ok, "seconds": round(seconds, 1), "failure": why}
            cells.append(f"{'PASS' if ok else 'FAIL'} {seconds:5.0f} s")
        print(f"{lesson.stem:22s}" + "".join(f"{c:>14s}" for c in cells), flush=True)
        for seed, r in row.items():
            if not r["passed"]:
                print(f"    seed {seed}: {r['failure']}")
    passed = sum(r["passed"] for row in results.values() for r in row.values())
    total = sum(len(row) for row in results.values())
    print(f"{passed} of {total} lesson runs passed")
    print(json.dumps({"seed_sweep": results, "threads": args.threads, "passed": passed, "total": total}))
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
