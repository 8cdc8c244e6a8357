"""Checks for exercises of lesson 04 (the VAE)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from genlearn.checks import exercise
from genlearn.checks._util import close, to_float

LESSON = "04"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- reparameterize(mu, logvar, eps) -----------------------------------------------------
RP = "z = mu + sigma * eps with sigma = exp(logvar / 2)"


@exercise("reparameterize", LESSON, RP)
def _rep_value(fn):
    mu = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, math.log(4.0)]], dtype=torch.float64)
    eps = torch.tensor([[1.0, -1.0]], dtype=torch.float64)
    got = fn(mu, logvar, eps)
    assert torch.allclose(got, torch.tensor([[1.0, -1.0]], dtype=torch.float64)), (
        "sigma is exp(logvar / 2), not exp(logvar): with logvar = log 4, sigma = 2"
    )


@exercise("reparameterize", LESSON, RP)
def _rep_gradients(fn):
    mu = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    logvar = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    eps = torch.randn(3, 2, generator=_gen(0), dtype=torch.float64)
    fn(mu, logvar, eps).sum().backward()
    assert mu.grad is not None and logvar.grad is not None, "use torch operations so gradients reach mu and logvar"
    assert torch.allclose(mu.grad, torch.ones_like(mu)), "dz/dmu = 1: the mean is added"
    assert torch.allclose(logvar.grad, 0.5 * eps), "dz/dlogvar = eps * sigma / 2: the standard deviation multiplies"


# --- bernoulli_nll(x, logits) --------------------------------------------------------------
B = "-log p(x|z) for a Bernoulli decoder: binary cross-entropy with logits, summed over pixels"


@exercise("bernoulli_nll", LESSON, B)
def _bern_value(fn):
    x = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    logits = torch.tensor([[2.0, -1.0, 0.0], [0.5, 3.0, -2.0]], dtype=torch.float64)
    got = fn(x, logits)
    want = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    assert isinstance(got, torch.Tensor) and got.shape == (2,), "return one value per example (shape (batch,))"
    assert torch.allclose(got, want, atol=1e-9), "-[x log s(l) + (1 - x) log(1 - s(l))] summed over pixels"


@exercise("bernoulli_nll", LESSON, B)
def _bern_stable(fn):
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    got = fn(x, torch.tensor([[-200.0, 200.0]], dtype=torch.float64))
    value = to_float(got.sum(), "bernoulli_nll with large logits")
    close(value, 400.0, 1e-6, "use F.binary_cross_entropy_with_logits (or logsigmoid): sigmoid then log "
          "underflows to -inf for large logits")


# --- negative_elbo(x, logits, mu, logvar) ----------------------------------------------------
NE = "batch mean of (Bernoulli NLL summed over pixels + KL(q(z|x) || N(0, I)) summed over latents)"


@exercise("negative_elbo", LESSON, NE)
def _nelbo_value(fn):
    gen = _gen(1)
    x = (torch.rand(4, 6, generator=gen) > 0.5).double()
    logits = torch.randn(4, 6, generator=gen, dtype=torch.float64)
    mu = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    logvar = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    kl = 0.5 * (logvar.exp() - 1 - logvar + mu**2).sum(-1)
    got = to_float(fn(x, logits, mu, logvar), "negative_elbo(...)")
    close(got, float((rec + kl).mean()), 1e-9,
          "sum over pixels and latents per example (nats per example), then the mean over the batch; "
          f"a mean over pixels would give {float((rec / 6 + kl).mean()):.4f}")


# --- iwae_bound(log_weights) -------------------------------------------------------------------
IW = "log (1/K) sum_k w_k computed stably: logsumexp over the K samples minus log K"


@exercise("iwae_bound", LESSON, IW)
def _iwae_value(fn):
    log_w = torch.tensor([[-1.0, -3.0], [-2.0, -3.0], [-3.0, -3.0]], dtype=torch.float64)  # (K=3, batch=2)
    got = fn(log_w)
    want = torch.logsumexp(log_w, dim=0) - math.log(3)
    assert isinstance(got, torch.Tensor) and got.shape == (2,), "log_weights has shape (K, batch): reduce dim 0"
    assert torch.allclose(got, want, atol=1e-9), "log-mean-exp over the K samples, per example"


@exercise("iwae_bound", LESSON, IW)
def _iwae_stable(fn):
    got = fn(torch.tensor([[-1000.0], [-1001.0]], dtype=torch.float64))
    value = to_float(got[0], "iwae_bound for very negative log weights")
    close(value, -1000.0 + math.log((1 + math.exp(-1)) / 2), 1e-9,
          "exp(-1000) underflows to 0: use torch.logsumexp, which subtracts the maximum first")


@exercise("iwae_bound", LESSON, IW)
def _iwae_ge_elbo(fn):
    log_w = torch.randn(50, 7, generator=_gen(2), dtype=torch.float64)
    assert (fn(log_w) >= log_w.mean(0) - 1e-12).all(), "by Jensen, log-mean-exp >= mean of the log weights"


# --- free_bits_kl(kl_per_dim, lam) -------------------------------------------------------------
FB = "free bits: sum over latents of max(lam, batch-mean KL of that latent)"


@exercise("free_bits_kl", LESSON, FB)
def _free_bits(fn):
    kl = torch.tensor([[0.0, 2.0, 0.3], [0.2, 4.0, 0.1]], dtype=torch.float64)  # (batch, latent)
    got = to_float(fn(kl, 0.5), "free_bits_kl(kl, 0.5)")
    close(got, 0.5 + 3.0 + 0.5, 1e-12, "average each latent's KL over the batch first (0.1, 3.0, 0.2), "
          "then clamp each from below at lam and add up")
