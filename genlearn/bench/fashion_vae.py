"""``python -m genlearn.bench fashion-vae``: the course's conv VAE on 28x28 Fashion-MNIST against
pythae's VAE with networks of the same size, and against a bare PyTorch loop, in one run.

Protocol (fixed; the defaults of this script):

* Data: Fashion-MNIST (:func:`genlearn.data.load_fashion_mnist`), the first ``--n-train`` (6,000)
  training and ``--n-test`` (2,000) test images, ``x = pixel / 255`` on 256 grey levels.
* Networks (both libraries): encoder conv 1-32-64 (3x3, stride 2, ReLU) -> flatten -> linear to
  ``(mu, logvar)`` of a 16-D code; decoder linear -> 64x7x7 -> two stride-2 transposed convs (64-32,
  ReLU) -> 3x3 conv to one channel (64-32, 32-32: the course's ConvDecoder layout).
  Adam, lr 1e-3, batch 128, ``--epochs`` (8) epochs, seed 0.
* The course: :class:`genlearn.models.VAE` (``arch="conv"``), a discretized-logistic likelihood over
  the 256 grey levels, trained with :func:`genlearn.train.fit`.
* pythae 0.1.2: ``pythae.models.VAE`` with the same networks (decoder output through a sigmoid),
  its binary cross-entropy reconstruction loss (its choice for data in [0, 1]), its ``BaseTrainer``.
* The bare loop: the course's model and loss in a plain loop (randperm, index_select, backward, step).
* Evaluation, the same for both models, with a likelihood *of the data as given*: the test NLL in bits
  per dimension, an importance-weighted bound (K = ``--k``) with each model's own encoder as the
  proposal and a discretized logistic over the 256 levels whose mean is the decoder's output; pythae's
  model never learned a scale, so its scale is fitted on the training images first (1-D search), as
  :meth:`genlearn.models.AE.fit_prior` does. Beside them: independent pixels.

Prints the figures and one JSON object on its last line (``course_nll_bits_per_dim``,
``pythae_nll_bits_per_dim``, ``course_seconds_per_epoch_median``, ``bare_seconds_per_epoch_median``,
``fit_over_bare``; targets: NLL no worse than pythae's, ``fit_over_bare <= 1.1``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time

import torch
from torch import Tensor, nn

from genlearn.bench._bare import bare_loop
from genlearn.data import load_fashion_mnist
from genlearn.evaluate import IndependentPixels, bits_per_dim
from genlearn.models import VAE, DiscretizedLogistic, vae_loss
from genlearn.models.base import Posterior
from genlearn.runtime import seed_everything
from genlearn.train import fit

LATENT, CHANNELS = 16, (32, 64)


def _iwae_bits(encode, decode_logits, lik: DiscretizedLogistic, x: Tensor, k: int, seed: int) -> float:
    """``-log p(x)`` bound in bits/dim: ``-(logsumexp_k [log p(x|z_k) + log N(z_k) - log q(z_k|x)] - log K)``."""
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(x), 250):
            xb = x[i : i + 250]
            mu, logvar = encode(xb)
            eps = torch.randn((k, *mu.shape), generator=gen)
            z = mu + (0.5 * logvar).exp() * eps
            log_q = -0.5 * (eps.pow(2) + logvar + math.log(2 * math.pi)).sum(-1)
            log_p = -0.5 * (z.pow(2) + math.log(2 * math.pi)).sum(-1)
            log_lik = torch.stack([-lik.nll(decode_logits(zk), xb) for zk in z])
            total += float((torch.logsumexp(log_lik + log_p - log_q, 0) - math.log(k)).sum())
    return float(bits_per_dim(-total / len(x), x[0].numel()))


def _pythae_vae(epochs: int, x: Tensor, seed: int) -> tuple[nn.Module, float]:
    """pythae's VAE with the course's network sizes, trained by pythae's trainer."""
    from pythae.data.datasets import BaseDataset
    from pythae.models import VAE as PythaeVAE
    from pythae.models import VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from pythae.trainers import BaseTrainer, BaseTrainerConfig

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Sequential(nn.Conv2d(1, CHANNELS[0], 3, 2, 1), nn.ReLU(),
                                      nn.Conv2d(CHANNELS[0], CHANNELS[1], 3, 2, 1), nn.ReLU(), nn.Flatten())
            self.head = nn.Linear(CHANNELS[1] * 7 * 7, 2 * LATENT)

        def forward(self, x):
            mu, logvar = self.head(self.conv(x)).chunk(2, dim=-1)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(LATENT, CHANNELS[1] * 7 * 7), nn.ReLU(), nn.Unflatten(1, (CHANNELS[1], 7, 7)),
                nn.ConvTranspose2d(CHANNELS[1], CHANNELS[0], 3, 2, 1, output_padding=1), nn.ReLU(),
                nn.ConvTranspose2d(CHANNELS[0], CHANNELS[0], 3, 2, 1, output_padding=1), nn.ReLU(),
                nn.Conv2d(CHANNELS[0], 1, 3, padding=1))

        def logits(self, z):
            return self.net(z)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    seed_everything(seed)
    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=LATENT, reconstruction_loss="bce")
    model = PythaeVAE(model_config=config, encoder=Encoder(), decoder=Decoder())
    with tempfile.TemporaryDirectory() as out:
        training = BaseTrainerConfig(output_dir=out, num_epochs=epochs, learning_rate=1e-3,
                                     per_device_train_batch_size=128, per_device_eval_batch_size=128,
                                     no_cuda=True, steps_saving=None, seed=seed)
        trainer = BaseTrainer(model=model, train_dataset=BaseDataset(x, torch.zeros(len(x))),
                              training_config=training)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        model = trainer._best_model if getattr(trainer, "_best_model", None) is not None else trainer.model
    return model.eval(), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genlearn.bench fashion-vae", description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--n-train", type=int, default=6_000)
    parser.add_argument("--n-test", type=int, default=2_000)
    parser.add_argument("--k", type=int, default=50, help="importance samples of the test NLL bound")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-pythae", action="store_true", help="skip pythae (it is a development dependency)")
    args = parser.parse_args(argv)
    for name in ("epochs", "n_train", "n_test", "k"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    t_start = time.perf_counter()
    train = load_fashion_mnist("train").x[: args.n_train]
    test = load_fashion_mnist("test").x[: args.n_test]
    result: dict = {"benchmark": "fashion-vae", "n_train": len(train), "n_test": len(test), "epochs": args.epochs,
                    "seed": args.seed, "threads": torch.get_num_threads()}
    result["independent_pixels_bits_per_dim"] = round(IndependentPixels(train).bits_per_dim(test), 4)

    seed_everything(args.seed)
    course = VAE((1, 28, 28), LATENT, arch="conv", channels=CHANNELS, likelihood="logistic", levels=256)
    history = fit(course, vae_loss, train, args.epochs, batch_size=128, lr=1e-3, seed=args.seed, device="cpu",
                  progress=False)
    seed_everything(args.seed)
    bare_model = VAE((1, 28, 28), LATENT, arch="conv", channels=CHANNELS, likelihood="logistic", levels=256)
    bare = bare_loop(bare_model, vae_loss, train, args.epochs, 128, 1e-3, args.seed)
    course_bits = _iwae_bits(lambda xb: course.encode(xb), course.decode, course.px_given_z, test, args.k, args.seed)
    result.update(course_nll_bits_per_dim=round(course_bits, 4),
                  course_seconds_per_epoch_median=round(statistics.median(history["seconds"]), 4),
                  bare_seconds_per_epoch_median=round(statistics.median(bare), 4))
    result["fit_over_bare"] = round(statistics.median(history["seconds"]) / statistics.median(bare), 3)
    print(f"course VAE: test NLL {course_bits:.4f} bits/dim; {result['course_seconds_per_epoch_median']:.3f} s/epoch "
          f"(bare loop {result['bare_seconds_per_epoch_median']:.3f} s/epoch, ratio {result['fit_over_bare']:.3f})")

    if not args.no_pythae:
        pythae_model, seconds = _pythae_vae(args.epochs, train, args.seed)
        lik = DiscretizedLogistic(256)
        with torch.no_grad():  # its scale, fitted on training images at the posterior mean (a 1-D search)
            mu = pythae_model.encoder(train[:2000]).embedding
            logits = pythae_model.decoder.logits(mu)
            grid = torch.linspace(math.log(1e-3), 0.0, 60)
            nlls = []
            for v in grid:
                lik.log_scale.fill_(float(v))
                nlls.append(float(lik.nll(logits, train[:2000]).mean()))
            lik.log_scale.fill_(float(grid[int(torch.tensor(nlls).argmin())]))

        def encode(xb):
            out = pythae_model.encoder(xb)
            return Posterior(out.embedding, out.log_covariance)

        pythae_bits = _iwae_bits(encode, pythae_model.decoder.logits, lik, test, args.k, args.seed)
        result.update(pythae_nll_bits_per_dim=round(pythae_bits, 4),
                      pythae_seconds_per_epoch=round(seconds / args.epochs, 4))
        result["course_nll_no_worse_than_pythae"] = course_bits <= pythae_bits
        print(f"pythae VAE: test NLL {pythae_bits:.4f} bits/dim (its scale fitted after training); "
              f"{result['pythae_seconds_per_epoch']:.3f} s/epoch with its trainer")
    print(f"independent pixels: {result['independent_pixels_bits_per_dim']:.4f} bits/dim")
    result["total_seconds"] = round(time.perf_counter() - t_start, 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
