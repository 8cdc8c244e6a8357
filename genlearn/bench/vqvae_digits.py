"""``python -m genlearn.bench vqvae-digits``: a VQ-VAE on binarised 8x8 digits, with and without
dead-code restarts: reconstruction, codebook usage and the discrete likelihood bound.

Protocol (fixed; the defaults of this script):

* Data: ``sklearn.datasets.load_digits()``, ``X = data / 16``, ``x = (X >= 0.5)``;
  ``perm = numpy.random.RandomState(0).permutation(1797)``; test ``perm[:297]``,
  train ``perm[297:]`` (:func:`genlearn.data.load_digits`, as in ``vae-digits``).
* Model: :class:`genlearn.models.VQVAE`, conv encoder 1-32-64 (two stride-2 layers) + 1x1 conv
  to D = 16, so a 2x2 code map per image; K = 512 codes; mirrored decoder (transposed convs)
  to Bernoulli logits; beta = 0.25; codebook learned by its loss term (no EMA).
* Training: :func:`genlearn.train.fit` with :func:`vqvae_loss`, Adam lr 2e-3, batch 100, 40
  epochs, seed 0, one CPU thread (bit-reproducible). Run twice: without restarts, and with
  ``restart_after=20`` (a code idle for 20 steps is re-seeded at an encoder output).
* Prior: :class:`genlearn.models.CodePrior` (PixelCNN, 64 channels, 3 layers, dropout 0.5) on the
  code maps of the first 1,350 training images, early-stopped on the other 150 (at most 40 epochs).
* Evaluation on the 297 test images: ``recon`` = -log p(x | z_q(x)) in nats per image; squared
  error of ``sigmoid(logits)``; code usage of the test encodings (fraction of the K codes used,
  perplexity); and the discrete bound in bits per dimension (x is binary, so it is a bound on
  -log2 p(x) / 64)::

      uniform prior: (recon + h w ln K) / (64 ln 2)
      learned prior: (recon - ln p_prior(codes)) / (64 ln 2)

Prints one JSON object on its last line, with one entry per run (``no_restart``, ``restart``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch

from genlearn.data import load_digits
from genlearn.evaluate import codebook_stats
from genlearn.models.code_prior import CodePrior, code_prior_loss
from genlearn.models.vqvae import VQVAE, vqvae_loss
from genlearn.recipes import fit_code_prior
from genlearn.runtime import seed_everything
from genlearn.train import fit


def evaluate(model: VQVAE, prior: CodePrior | None, x_test: torch.Tensor) -> dict:
    """Test-set figures of a trained VQ-VAE (and its prior)."""
    n_dims = x_test[0].numel()
    positions = math.prod(model.code_shape)
    x_test = x_test.to(model.quantizer.codebook.device)
    with torch.no_grad():
        terms = vqvae_loss(model.eval(), x_test)
        sq_err = ((model.reconstruct(x_test) - x_test) ** 2).flatten(1).sum(1).mean()
    stats = codebook_stats(model, x_test)
    recon = float(terms.recon)
    out = {
        "test_recon_nats": round(recon, 4),
        "test_squared_error": round(float(sq_err), 4),
        "test_codes_used_fraction": round(stats.used, 4),
        "test_perplexity": round(stats.perplexity, 2),
        "test_dead_codes": stats.dead,
        "bits_per_dim_uniform_prior": round((recon + positions * math.log(model.num_codes)) / (n_dims * math.log(2)),
                                            4),
    }
    if prior is not None:
        with torch.no_grad():
            p = code_prior_loss(prior.eval(), model.encode_indices(x_test))
        out["prior_bits_per_code"] = round(float(p.bits_per_code), 4)
        out["uniform_bits_per_code"] = round(math.log2(model.num_codes), 4)
        out["bits_per_dim_learned_prior"] = round((recon + float(p.loss)) / (n_dims * math.log(2)), 4)
    return out


def run(restart_after: int | None, args: argparse.Namespace, x_train: torch.Tensor, x_test: torch.Tensor) -> dict:
    seed_everything(args.seed)
    model = VQVAE((1, 8, 8), num_codes=args.codes, code_dim=16, channels=(32, 64), beta=0.25,
                  restart_after=restart_after)
    t0 = time.perf_counter()
    history = fit(model, vqvae_loss, x_train, args.epochs, batch_size=100, lr=2e-3, seed=args.seed,
                  device=args.device, progress=not args.no_progress)
    train_seconds = time.perf_counter() - t0
    train_stats = codebook_stats(model, x_train)

    codes = model.encode_indices(x_train.to(model.quantizer.codebook.device)).cpu()
    split = len(codes) - len(codes) // 10
    seed_everything(args.seed)
    prior = CodePrior(model.num_codes, model.code_shape, channels=64, layers=3, dropout=0.5)
    t1 = time.perf_counter()
    prior_history = fit_code_prior(prior, codes[:split], args.prior_epochs, val_codes=codes[split:],
                                   lr=1e-3, seed=args.seed, device=args.device, progress=not args.no_progress)
    result = evaluate(model, prior, x_test)
    result.update({
        "train_recon_last_epoch": round(history["recon"][-1], 4),
        "train_codes_used_fraction": round(train_stats.used, 4),
        "train_perplexity": round(train_stats.perplexity, 2),
        "restarts": int(model.quantizer.num_restarts),
        "train_seconds": round(train_seconds, 3),
        "prior_best_epoch": int(prior_history["best_epoch"][0]) + 1,
        "prior_seconds": round(time.perf_counter() - t1, 3),
    })
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench vqvae-digits",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--prior-epochs", type=int, default=40)
    parser.add_argument("--codes", type=int, default=512, help="codebook size K")
    parser.add_argument("--restart-after", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (0: PyTorch's default)")
    parser.add_argument("--device", default="cpu", help="the protocol measures the CPU (default cpu)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t_start = time.perf_counter()
    x_train = load_digits("train", binarize=True).x
    x_test = load_digits("test", binarize=True).x
    runs = {}
    for name, restart in (("no_restart", None), ("restart", args.restart_after)):
        runs[name] = run(restart, args, x_train, x_test)
        print(f"{name:>10}: " + ", ".join(f"{k}={v}" for k, v in runs[name].items()), file=sys.stderr, flush=True)
    k = args.codes
    positions = 4 * len(x_test)
    result = {
        "benchmark": "vqvae-digits",
        **runs,
        "num_codes": k,
        "code_map": [2, 2],
        "test_code_positions": positions,
        # even perfectly uniform use would leave a share e^(-positions / K) of the codes unseen
        "test_used_fraction_if_uniform": round(1 - math.exp(-positions / k), 4),
        "epochs": args.epochs,
        "seed": args.seed,
        "threads": torch.get_num_threads(),
        "device": args.device,
        "total_seconds": round(time.perf_counter() - t_start, 3),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
