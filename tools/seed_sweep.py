"""Run the lessons for several base seeds and print which pass (``make seed-sweep``).

Every lesson reads its base seed from ``GENLEARN_SEED`` (:func:`genlearn.scale.base_seed`) and
every assert must hold for base seeds 0 to 4. This runs each lesson notebook under nbval once per
seed (one CPU thread, as ``make test``) and prints a table of PASS / FAIL and seconds, then one
JSON object on its last line. Usage::

    python tools/seed_sweep.py                       # lessons 01-07, seeds 0-4
    python tools/seed_sweep.py --lessons 04 07 --seeds 0 1 2
    python tools/seed_sweep.py --seeds 40 43 --threads 2   # another arithmetic
    python tools/seed_sweep.py --confirm 300 --jobs 2      # held-out: base seeds 300, 303, ..., 327
    python tools/seed_sweep.py --confirm 300 --again --first 3 --threads 2   # the same range, another arithmetic

Development and confirmation: claims are written and tuned on development seeds. ``--confirm START``
runs every lesson once on ten disjoint triples of held-out base seeds (``START + 3k``, seeds
``START`` to ``START + 29``), refusing a range that overlaps one already seen: ``tools/seen_seeds.txt``
lists every seed range used while writing or confirming (a range once seen is development data from
then on), and ``--confirm`` adds its range there when it starts. ``--again`` reruns a recorded
confirmation (another thread count: another arithmetic), ``--first K`` takes its first K triples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEN = Path(__file__).resolve().parent / "seen_seeds.txt"


def seen_ranges(path: Path = SEEN) -> list[tuple[int, int]]:
    """The seed ranges ``first-last`` (inclusive) listed in ``path``, one a line, ``#`` comments allowed."""
    ranges = []
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            first, _, last = line.partition("-")
            ranges.append((int(first), int(last or first)))
    return ranges


def confirmation_seeds(start: int, path: Path = SEEN, again: bool = False) -> list[int]:
    """Ten disjoint triples of base seeds from ``start`` (seeds ``start`` .. ``start + 29``); a range that
    overlaps one in ``path`` is refused, since seeds once seen are development data. With ``again``
    the range must be a recorded confirmation (the same held-out runs, another arithmetic)."""
    last = start + 29
    ranges = seen_ranges(path)
    if again:
        if (start, last) not in ranges:
            raise ValueError(f"--again needs the recorded confirmation range {start}-{last} in {path.name}")
    else:
        clash = [(a, b) for a, b in ranges if a <= last and start <= b]
        if clash:
            raise ValueError(f"seeds {start}-{last} overlap ranges already seen: {clash}; draw a fresh range")
    return [start + 3 * k for k in range(10)]


def run(lesson: Path, seed: int, timeout: float, threads: int = 1,
        cell_timeout: float = 300.0) -> tuple[bool, float, str]:
    env = {**os.environ, "GENLEARN_SEED": str(seed), "GENLEARN_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "MPLBACKEND": "Agg"}
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "--no-header", "-p", "no:cacheprovider",
                              f"--nbval-cell-timeout={cell_timeout:.0f}", str(lesson)],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
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
    parser.add_argument("--cell-timeout", type=float, default=300.0,
                        help="seconds per notebook cell (nbval): a busy machine needs more")
    parser.add_argument("--confirm", type=int, default=None, metavar="START",
                        help="held-out confirmation: base seeds START, START+3, ..., START+27 (refused if seen before)")
    parser.add_argument("--again", action="store_true", help="with --confirm: rerun a recorded confirmation range")
    parser.add_argument("--first", type=int, default=10, metavar="K", help="with --confirm: only the first K triples")
    parser.add_argument("--jobs", type=int, default=1, help="lesson runs at once (each with --threads threads)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or not 1 <= args.first <= 10:
        parser.error("--jobs must be >= 1 and --first between 1 and 10")
    if args.confirm is not None:
        try:
            args.seeds = confirmation_seeds(args.confirm, again=args.again)[: args.first]
        except ValueError as err:
            parser.error(str(err))
        if not args.again:
            with SEEN.open("a") as f:
                f.write(f"{args.confirm}-{args.confirm + 29}  # --confirm, threads {args.threads}\n")
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

    def one(job: tuple[Path, int]) -> None:
        lesson, seed = job
        ok, seconds, why = run(lesson, seed, args.timeout, args.threads, args.cell_timeout)
        results.setdefault(lesson.stem, {})[seed] = {"passed": ok, "seconds": round(seconds, 1), "failure": why}
        print(f"  {lesson.stem} seed {seed}: {'PASS' if ok else 'FAIL'} {seconds:.0f} s {why}", flush=True)

    with ThreadPoolExecutor(args.jobs) as pool:  # seed by seed, so that an interrupted sweep has whole seeds
        list(pool.map(one, [(lesson, seed) for seed in args.seeds for lesson in lessons]))
    print(f"{'lesson':22s}" + "".join(f"{'seed ' + str(s):>14s}" for s in args.seeds), flush=True)
    for lesson in lessons:
        row = results[lesson.stem]
        cells = [f"{'PASS' if row[s]['passed'] else 'FAIL'} {row[s]['seconds']:5.0f} s" for s in args.seeds]
        print(f"{lesson.stem:22s}" + "".join(f"{c:>14s}" for c in cells), flush=True)
        for seed in args.seeds:
            if not row[seed]["passed"]:
                print(f"    seed {seed}: {row[seed]['failure']}")
    passed = sum(r["passed"] for row in results.values() for r in row.values())
    total = sum(len(row) for row in results.values())
    print(f"{passed} of {total} lesson runs passed")
    print(json.dumps({"seed_sweep": results, "threads": args.threads, "passed": passed, "total": total}))
    return 0 if passed == total else 1


if __name__ == "__main__":
    sys.exit(main())
