"""Checks for exercises of lesson 03 (KL divergence)."""

from __future__ import annotations

import math

import torch

from genlearn import kl as K
from genlearn.checks import exercise
from genlearn.checks._util import close, pair, to_float

LESSON = "03"

# --- kl_discrete(p, q) -----------------------------------------------------------------
D = "KL between two discrete distributions: sum_i p_i log(p_i / q_i), with 0 log 0 = 0"


@exercise("kl_discrete", LESSON, D)
def _discrete_value(fn):
    p = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    q = torch.tensor([0.2, 0.2, 0.6], dtype=torch.float64)
    want = float((p * (p / q).log()).sum())
    close(to_float(fn(p, q), "kl_discrete(p, q)"), want, 1e-9, "sum p * log(p / q) over all outcomes")


@exercise("kl_discrete", LESSON, D)
def _discrete_zero_and_asymmetry(fn):
    p = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64)
    q = torch.tensor([0.1, 0.2, 0.7], dtype=torch.float64)
    close(to_float(fn(p, p), "kl_discrete(p, p)"), 0.0, 1e-12, "KL(p || p) must be 0")
    r = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    u = torch.tensor([1 / 3, 1 / 3, 1 / 3], dtype=torch.float64)
    got = to_float(fn(r, u), "kl_discrete(p, q) with a zero in p")
    close(got, math.log(1.5), 1e-9, "terms with p_i = 0 contribute 0 (use torch.where or a mask): "
          "0 * log(0) would give NaN")
    assert to_float(fn(p, q), "kl") > 0, "KL of two different distributions must be positive"


# --- kl_closed_form(mu, sigma) ----------------------------------------------------------
C = "closed-form KL(N(mu, sigma^2) || N(0, 1)) = log(1/sigma) + (sigma^2 + mu^2)/2 - 1/2"


@exercise("kl_closed_form", LESSON, C)
def _closed_values(fn):
    for mu, sigma in [(0.0, 1.0), (1.0, 1.0), (0.0, 2.0), (-1.5, 0.3)]:
        want = K.kl_normal(mu, sigma)
        got = to_float(fn(torch.tensor(mu, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64)),
                       f"kl_closed_form({mu}, {sigma})")
        close(got, want, 1e-9, f"for mu={mu}, sigma={sigma}: log(1/sigma) + (sigma^2 + mu^2)/2 - 1/2")


@exercise("kl_closed_form", LESSON, C)
def _closed_elementwise(fn):
    mu = torch.tensor([0.0, 1.0, -2.0], dtype=torch.float64)
    sigma = torch.tensor([1.0, 0.5, 3.0], dtype=torch.float64)
    got = fn(mu, sigma)
    assert isinstance(got, torch.Tensor) and got.shape == (3,), (
        "work elementwise with torch operations (torch.log, **): tensors in, a tensor of the same shape out"
    )
    assert torch.allclose(got, K.kl_normal(mu, sigma), atol=1e-9), "one KL value per (mu, sigma) pair"


# --- kl_logvar(mu, logvar) --------------------------------------------------------------
L = "VAE form: 1/2 * sum over the last dim of (exp(s) - (1 + s) + mu^2), s = log sigma^2"


@exercise("kl_logvar", LESSON, L)
def _logvar_values(fn):
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    logvar = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    got = fn(mu, logvar)
    assert isinstance(got, torch.Tensor) and got.shape == (5,), (
        f"expected one KL per example, shape (5,), got {getattr(got, 'shape', type(got).__name__)}: "
        "sum over the last (latent) dimension"
    )
    want = K.kl_normal(mu, (0.5 * logvar).exp()).sum(-1)
    assert torch.allclose(got, want, atol=1e-9), "check the formula: exp(s) - (1 + s) + mu^2, halved"


@exercise("kl_logvar", LESSON, L)
def _logvar_differentiable(fn):
    mu = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    logvar = torch.tensor([[0.0, 1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    fn(mu, logvar).sum().backward()
    assert logvar.grad is not None, "use torch operations so gradients reach logvar"
    want = 0.5 * (logvar.detach().exp() - 1)
    assert torch.allclose(logvar.grad, want), "d KL / d s should be (e^s - 1)/2"


# --- kl_mc_normal(mu, sigma, n, generator) -> (estimate, standard error) -----------------
MC = "Monte Carlo KL(N(mu, sigma^2) || N(0,1)): mean of log p(x) - log q(x) over x ~ p"


@exercise("kl_mc_normal", LESSON, MC)
def _mc_value(fn):
    gen = torch.Generator().manual_seed(0)
    est, se = pair(fn(1.0, 0.5, 20000, gen), "kl_mc_normal")
    want = K.kl_normal(1.0, 0.5)
    assert 0 < se < 0.05, f"standard error {se:.3g} looks wrong: std of the log-ratios / sqrt(n)"
    close(est, want, 4 * se + 1e-9, "draw x = mu + sigma * eps with eps ~ N(0,1), then average "
          "log N(x; mu, sigma^2) - log N(x; 0, 1)")


@exercise("kl_mc_normal", LESSON, MC)
def _mc_uses_generator(fn):
    a = pair(fn(0.3, 1.7, 100, torch.Generator().manual_seed(5)), "kl_mc_normal")
    b = pair(fn(0.3, 1.7, 100, torch.Generator().manual_seed(5)), "kl_mc_normal")
    assert a == b, "pass generator=generator to torch.randn so the same seed gives the same estimate"
    close(to_float(fn(0.0, 1.0, 50, torch.Generator().manual_seed(1))[0], "estimate"), 0.0, 1e-9,
          "when p = q every log-ratio is exactly 0")
