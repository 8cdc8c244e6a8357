"""``python -m genlearn.bench vae-digits``: a VAE on binarised 8x8 digits, speed and test NLL.

Protocol (fixed; the defaults of this script):

* Data: ``sklearn.datasets.load_digits()``, ``X = data / 16``, ``x = (X >= 0.5)``;
  ``perm = numpy.random.RandomState(0).permutation(1797)``; test ``perm[:297]``,
  train ``perm[297:]`` (:func:`genlearn.data.load_digits`).
* Model: :class:`genlearn.models.VAE`, MLP encoder 64-256-256-(mu, logvar), latent dim 8,
  decoder 8-256-256-64 logits, ReLU, Bernoulli likelihood; loss = batch mean of
  (BCE summed over pixels + closed-form KL summed over latents) (:func:`vae_loss`).
* Training: :func:`genlearn.train.fit`, Adam lr 1e-3, batch 100, reshuffled each epoch,
  100 epochs, seed 0, default CPU threads.
* Evaluation on the 297 test images: negative ELBO (one z per example, averaged over
  10 repeats) and NLL by importance sampling with K = 1000.

Prints one JSON object on its last line: ``test_nll_nats``, ``test_neg_elbo_nats``,
``seconds_per_epoch_median``, ``train_seconds_total`` (plus a few descriptive keys), and, measured in
the same run, ``bare_loop_seconds_per_epoch_median``: a plain PyTorch loop training the same model
with the same Adam (``randperm``, ``index_select``, ``vae_loss``, backward, step; no progress bar,
no history), and ``fit_over_bare``, the ratio of the two medians (target <= 1.05), both taken over two
runs in the order bare, fit, fit, bare (whichever runs later in a process runs faster, by up to 20 %).

Speed: ``import genlearn`` flushes subnormal floats to zero on the CPU
(:func:`genlearn.runtime.flush_denormals_at_import`). Without it, Adam's first moments of
dead ReLU units decay into subnormals during the second half of training and each epoch
slows down by about a fifth. ``GENLEARN_FLUSH_DENORMAL=0 python -m genlearn.bench vae-digits``
measures that; ``denormals_flushed`` in the JSON says which way it ran.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from genlearn.bench._bare import bare_loop
from genlearn.data import load_digits
from genlearn.evaluate import elbo, test_nll
from genlearn.models import VAE, vae_loss
from genlearn.runtime import denormals_flushed, seed_everything
from genlearn.train import fit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench vae-digits", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--k", type=int, default=1000, help="importance samples for the test NLL")
    parser.add_argument("--device", default="cpu", help="the protocol measures the CPU (default cpu)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    seed_everything(args.seed)
    x_train = load_digits("train", binarize=True).x
    x_test = load_digits("test", binarize=True).x
    model = VAE((1, 8, 8), latent_dim=8, arch="mlp", hidden=(256, 256), likelihood="bernoulli")
    bare_runs = [_bare(args, x_train)]  # ABBA: bare, fit, fit, bare, so that neither side gets the warm process
    history = fit(model, vae_loss, x_train, args.epochs, batch_size=100, lr=1e-3, seed=args.seed,
                  device=args.device, progress=not args.no_progress)
    train_seconds = sum(history["seconds"])
    with torch.random.fork_rng(devices=[]):
        again = VAE((1, 8, 8), latent_dim=8, arch="mlp", hidden=(256, 256), likelihood="bernoulli")
        fit_runs = [statistics.median(history["seconds"]),
                    statistics.median(fit(again, vae_loss, x_train, args.epochs, batch_size=100, lr=1e-3,
                                          seed=args.seed, device=args.device, progress=False)["seconds"])]
    bare_runs.append(_bare(args, x_train))

    t_eval = time.perf_counter()
    generator = torch.Generator().manual_seed(args.seed)
    neg_elbo = -torch.stack([elbo(model, x_test, 1, generator=generator).mean() for _ in range(10)]).mean()
    nll = test_nll(model, x_test, args.k, generator=generator).nats
    eval_seconds = time.perf_counter() - t_eval

    result = {
        "benchmark": "vae-digits",
        "test_nll_nats": round(float(nll), 4),
        "test_neg_elbo_nats": round(float(neg_elbo), 4),
        "train_neg_elbo_last_epoch": round(history["loss"][-1], 4) if history["loss"] else None,
        "seconds_per_epoch_median": round(statistics.median(history["seconds"]), 5),
        "bare_loop_seconds_per_epoch_median": round(statistics.median(bare_runs), 5),
        "fit_over_bare": round(statistics.median(fit_runs) / statistics.median(bare_runs), 3),
        "train_seconds_total": round(train_seconds, 3),
        "eval_seconds": round(eval_seconds, 3),
        "total_seconds": round(time.perf_counter() - t_start, 3),
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "denormals_flushed": denormals_flushed(),
        "device": str(next(model.parameters()).device),
    }
    print(json.dumps(result))
    return 0


def _bare(args: argparse.Namespace, x: torch.Tensor) -> float:
    """Median epoch seconds of the bare loop on a fresh model of the protocol (the global random state is
    restored afterwards, so the measured run's numbers do not depend on it)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = VAE((1, 8, 8), latent_dim=8, arch="mlp", hidden=(256, 256), likelihood="bernoulli").to(args.device)
        return statistics.median(bare_loop(model, vae_loss, x.to(args.device), args.epochs, 100, 1e-3, args.seed))


if __name__ == "__main__":
    sys.exit(main())
