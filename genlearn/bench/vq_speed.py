"""``python -m genlearn.bench vq-speed``: time one VectorQuantizer training step.

Forward + backward on z of shape (N, D) = (8192, 64) (requires grad) with K = 512
codes and loss = sum(quantized) + codebook + commitment, in loss mode and in EMA mode
(the EMA codebook update is part of the timed step; the module is in train mode).
Prints one line per mode, then a JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from genlearn.models.vq import VectorQuantizer
from genlearn.runtime import seed_everything


def time_step(ema: bool, n: int, d: int, k: int, warmup: int, iters: int, seed: int) -> dict:
    """Milliseconds per forward + backward step (median, min, max over ``iters`` runs)."""
    seed_everything(seed)
    vq = VectorQuantizer(k, d, ema=ema, fused=True).train()
    z = torch.randn(n, d, requires_grad=True)

    def step() -> None:
        out = vq(z)
        (out.quantized.sum() + out.codebook_loss + out.commitment_loss).backward()
        z.grad = None
        vq.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1e3)
    return {
        "ms_per_iter_median": round(statistics.median(times), 3),
        "ms_per_iter_min": round(min(times), 3),
        "ms_per_iter_max": round(max(times), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench vq-speed", description=__doc__)
    parser.add_argument("--n", type=int, default=8192, help="number of vectors N")
    parser.add_argument("--d", type=int, default=64, help="code dimension D")
    parser.add_argument("--k", type=int, default=512, help="number of codes K")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    result: dict = {}
    for mode in ("loss", "ema"):
        r = time_step(mode == "ema", args.n, args.d, args.k, args.warmup, args.iters, args.seed)
        result[mode] = r
        print(
            f"{mode:>4} mode: {r['ms_per_iter_median']:.2f} ms/iter median "
            f"(min {r['ms_per_iter_min']:.2f}, max {r['ms_per_iter_max']:.2f}) over {args.iters} "
            f"iters, N={args.n} D={args.d} K={args.k}, {torch.get_num_threads()} threads",
            flush=True,
        )
    result.update(N=args.n, D=args.d, K=args.k)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
