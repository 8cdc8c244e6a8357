"""A model the library has never seen, defined in this file only: a VAE variant with a convolutional
encoder and a learned mixture-of-Gaussians prior (no closed-form KL). Through the protocol alone
(genlearn.models.base) it trains with `fit` and `vae_loss` against its own prior, gets ELBO, IWAE and
`test_nll`, samples, saves and loads, and `genlearn sample` draws from its checkpoint - nothing was
added to genlearn for it (issue 23's acceptance)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from genlearn import checkpoint
from genlearn.data import load_digits
from genlearn.evaluate import elbo, iwae_bound, test_nll
from genlearn.models import GenerativeModel, LatentGaussianModel, Posterior
from genlearn.models.base import ContinuousLatentModel, draw_normal, model_device
from genlearn.models.latent import encode_mean, interpolation_frames
from genlearn.models.likelihoods import Bernoulli
from genlearn.models.priors import Prior
from genlearn.models.vae import VAEOutput, vae_loss
from genlearn.train import fit


class MixturePrior(Prior):
    """``p(z) = (1/C) sum_c N(z; m_c, I)`` with learned means ``m_c``: no closed-form KL, so every loss
    and bound uses the base class's one-draw estimate ``log q(z) - log p(z)``."""

    def __init__(self, dim: int, components: int) -> None:
        super().__init__()
        self.dim, self.components = dim, components
        self.means = nn.Parameter(torch.linspace(-1, 1, components)[:, None].repeat(1, dim))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        which = torch.randint(self.components, (n,), generator=generator)
        return self.means[which.to(self.means.device)] + draw_normal((n, self.dim), self.means, generator)

    def log_prob(self, z: Tensor) -> Tensor:
        sq = (z[..., None, :] - self.means).pow(2).sum(-1)  # (..., C)
        log_n = -0.5 * (sq + self.dim * math.log(2 * math.pi))
        return torch.logsumexp(log_n, -1) - math.log(self.components)


class ConvMixtureVAE(nn.Module):
    """A conv encoder ``q(z|x)``, an MLP decoder with a Bernoulli ``p(x|z)``, a :class:`MixturePrior`."""

    def __init__(self, in_shape: tuple[int, ...] = (1, 8, 8), latent_dim: int = 2, components: int = 4) -> None:
        super().__init__()
        self.in_shape, self.latent_dim, self.components = tuple(in_shape), latent_dim, components
        c, h, w = self.in_shape
        self.px_given_z = Bernoulli()
        self.prior = MixturePrior(latent_dim, components)
        self.encoder = nn.Sequential(nn.Conv2d(c, 8, 3, padding=1), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(8 * h * w, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, c * h * w),
                                     nn.Unflatten(1, self.in_shape))

    def config(self) -> dict:
        return {"in_shape": list(self.in_shape), "latent_dim": self.latent_dim, "components": self.components}

    def encode(self, x: Tensor) -> Posterior:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return Posterior(mu, logvar.clamp(-8, 8))

    latent_posterior = encode

    def code(self, x: Tensor) -> Tensor:
        return self.encode(x).mu

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)

    def decode_mean(self, z: Tensor) -> Tensor:
        return self.px_given_z.mean(self.decode(z))

    def forward(self, x: Tensor) -> VAEOutput:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return VAEOutput(self.decode(z), mu, logvar, z)

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        return self.px_given_z.log_prob(x, self.decode(z))

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode_mean(self.code(x.to(model_device(self))))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        return self.decode_mean(self.prior.sample(n, generator))


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    x_train = load_digits("train", binarize=True).x
    x_test = load_digits("test", binarize=True).x
    model = ConvMixtureVAE()
    before = float(elbo(model, x_test, generator=torch.Generator().manual_seed(1)).mean())
    prior_means = model.prior.means.detach().clone()
    history = fit(model, vae_loss, x_train, 15, lr=3e-3, seed=0, progress=False, device="cpu")
    return model, x_test, before, prior_means, history


def test_a_new_model_answers_the_protocol_and_trains_against_its_own_prior(trained):
    model, x_test, before, prior_means, history = trained
    assert isinstance(model, GenerativeModel) and isinstance(model, ContinuousLatentModel)
    assert isinstance(model, LatentGaussianModel)
    assert history["loss"][-1] < history["loss"][0]
    # the KL came from model.prior: its learned means moved under training
    assert not torch.allclose(model.prior.means.detach(), prior_means)
    g = torch.Generator().manual_seed(2)
    after = elbo(model, x_test, generator=g)
    assert after.shape == (len(x_test),) and float(after.mean()) > before + 5
    iw = iwae_bound(model, x_test, 50, generator=torch.Generator().manual_seed(3))
    assert float(iw.mean()) >= float(after.mean()) - 0.5  # L_50 >= ELBO in expectation
    nll = test_nll(model, x_test, 50, generator=torch.Generator().manual_seed(3))
    assert nll.why_not is None and nll.likelihood == "bernoulli" and nll.estimator == "iwae" and nll.k == 50
    assert nll.nats == pytest.approx(-float(iw.mean()), rel=1e-9)
    assert nll.bits_per_dim == pytest.approx(nll.nats / (64 * math.log(2)))
    # the latent helpers work through code() and decode_mean()
    assert encode_mean(model, x_test[:5]).shape == (5, 2)
    assert interpolation_frames(model, x_test[0], x_test[1], steps=4).shape == (4, 1, 8, 8)
    a = model.sample(6, generator=torch.Generator().manual_seed(4))
    b = model.sample(6, generator=torch.Generator().manual_seed(4))
    assert a.shape == (6, 1, 8, 8) and torch.equal(a, b) and 0 <= float(a.min()) and float(a.max()) <= 1


def test_a_new_model_saves_loads_and_samples_from_the_command_line(trained, tmp_path):
    model, *_ = trained
    path = checkpoint.save(model, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="outside genlearn"):
        checkpoint.load(path)  # importing a module the file names runs its code: the caller must trust it
    module = type(model).__module__
    again = checkpoint.load(path, trust=(module,), device="cpu")
    assert type(again).__name__ == "ConvMixtureVAE" and again.config() == model.config()
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(again.sample(8, g()), model.sample(8, g()))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "genlearn", "sample", str(path), "-n", "16", "--out", str(tmp_path / "grid.png")]
    refused = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert refused.returncode == 2 and f"--trust {module}" in refused.stderr
    done = subprocess.run([*cmd, "--trust", module], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_models_without_a_likelihood_say_why():
    from genlearn.models import VAEGAN, VQVAE

    x = load_digits("test").x[:20]
    gan = VAEGAN((1, 8, 8), 2, hidden=(16,), dis_channels=(4, 8))
    assert not isinstance(gan, LatentGaussianModel)
    assert "learned similarity" in test_nll(gan, x).why_not
    vq = VQVAE((1, 8, 8), num_codes=8, code_dim=4, channels=(4, 8), likelihood="mse")
    assert "not a likelihood" in test_nll(vq, x).why_not  # trained on squared error
    grey = test_nll(ConvMixtureVAE(), x).why_not  # a Bernoulli is no likelihood of grey pixels
    assert grey is not None and "binar" in grey.lower()
