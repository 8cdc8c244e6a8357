"""``python -m genlearn.bench vaegan-digits``: VAE vs VAE-GAN sample quality on 8x8 digits.

Protocol (fixed; the defaults of this script):

* Data: ``sklearn.datasets.load_digits()``, ``X = data / 16`` (grey levels, not binarised);
  ``perm = numpy.random.RandomState(0).permutation(1797)``; test ``perm[:297]``, train
  ``perm[297:]`` (:func:`genlearn.data.load_digits`).
* Models, the same encoder and decoder in both: MLP 64-256-256-(mu, logvar), latent dim 8,
  decoder 8-256-256-64 logits, images ``sigmoid(logits)``.
  VAE: :class:`genlearn.models.VAE`, Bernoulli likelihood, :func:`vae_loss`, trained with
  :func:`genlearn.train.fit` (Adam lr 1e-3). VAE-GAN: :class:`genlearn.models.VAEGAN`
  with the defaults (two-class conv discriminator 32-64, similarity in its last conv block,
  sigma 0.1, gamma 1, non-saturating generator loss), trained with :func:`fit_vaegan`
  (Adam lr 1e-3, betas (0.5, 0.999)).
* Training: batch 100, 60 epochs each, seeds 0, 1, 2 (``seed_everything(seed)`` before each
  model), on the CPU with one thread (tiny networks: one thread is the fastest and its
  results do not depend on the machine's core count).
* Scores (:mod:`genlearn.sample_quality`): 1,000 prior samples ``E[x|z]``, ``z ~ N(0, I)`` (generator
  seeded with 1000 + seed) against the 297 real test digits: ``frechet`` (Frechet distance
  in the digit classifier's features) and ``sharpness_gap`` (|sharpness(samples) -
  sharpness(test)| / sharpness(test)); ``recon_error``: squared error summed over pixels
  between a test digit and its reconstruction from the posterior mean, averaged over the
  test set; ``train_seconds``: wall time of the training epochs.

Prints one JSON object on its last line: ``{"seeds": [...], "vae": {...}, "vaegan": {...}}``,
each model with lists over the seeds, plus ``targets`` (whether the VAE-GAN's Frechet
distance is lower in every seed and its sharpness gap smaller in every seed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch
from torch import nn

from genlearn.data import load_digits
from genlearn.models import VAE, vae_loss
from genlearn.models.vaegan import VAEGAN
from genlearn.recipes import fit_vaegan
from genlearn.runtime import seed_everything
from genlearn.sample_quality import digit_frechet_distance, sharpness_gap
from genlearn.train import fit

KEYS = ("frechet", "sharpness_gap", "recon_error", "train_seconds")


def score(model: nn.Module, x_test: torch.Tensor, seed: int, n_samples: int = 1000) -> dict[str, float]:
    """``frechet``, ``sharpness_gap`` of ``n_samples`` prior samples and the test ``recon_error``."""
    samples = model.sample(n_samples, generator=torch.Generator().manual_seed(1000 + seed)).cpu()
    with torch.no_grad():
        recon = model.reconstruct(x_test.to(next(model.parameters()).device)).cpu()
    return {
        "frechet": round(digit_frechet_distance(samples, x_test), 3),
        "sharpness_gap": round(sharpness_gap(samples, x_test), 4),
        "recon_error": round(float((recon - x_test).pow(2).flatten(1).sum(1).mean()), 4),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench vaegan-digits",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1, part of the protocol)")
    parser.add_argument("--device", default="cpu", help="the protocol measures the CPU (default cpu)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)

    t_start = time.perf_counter()
    x_train, x_test = load_digits("train").x, load_digits("test").x
    results: dict[str, dict[str, list[float]]] = {m: {k: [] for k in KEYS} for m in ("vae", "vaegan")}
    for seed in args.seeds:
        seed_everything(seed, threads=args.threads)
        vae = VAE((1, 8, 8), latent_dim=8, arch="mlp", hidden=(256, 256), likelihood="bernoulli")
        h_vae = fit(vae, vae_loss, x_train, args.epochs, batch_size=100, lr=1e-3, seed=seed, device=args.device,
                    progress=not args.no_progress)
        seed_everything(seed, threads=args.threads)
        gan = VAEGAN((1, 8, 8), latent_dim=8, arch="mlp", hidden=(256, 256))
        h_gan = fit_vaegan(gan, x_train, args.epochs, batch_size=100, lr=1e-3, seed=seed, device=args.device,
                           progress=not args.no_progress)
        for name, model, history in (("vae", vae, h_vae), ("vaegan", gan, h_gan)):
            row = score(model, x_test, seed) | {"train_seconds": round(sum(history["seconds"]), 3)}
            for k in KEYS:
                results[name][k].append(row[k])
            print(f"seed {seed} {name}: {row}", flush=True)

    vae, gan = results["vae"], results["vaegan"]
    result = {
        "benchmark": "vaegan-digits",
        "seeds": list(args.seeds),
        "vae": vae,
        "vaegan": gan,
        "targets": {
            "frechet_lower_every_seed": all(g < v for g, v in zip(gan["frechet"], vae["frechet"], strict=True)),
            "sharpness_closer_every_seed": all(
                g < v for g, v in zip(gan["sharpness_gap"], vae["sharpness_gap"], strict=True)),
        },
        "epochs": args.epochs,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "total_seconds": round(time.perf_counter() - t_start, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
