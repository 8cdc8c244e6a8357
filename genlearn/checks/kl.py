"""Checks for the KL-divergence exercises: discrete, closed form, log-variance form, Monte Carlo."""

from __future__ import annotations

import math

import torch

from genlearn.checks._util import close, grads, pair, rand, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["KL_DISCRETE", "KL_CLOSED_FORM", "KL_LOGVAR", "KL_MC_NORMAL"]


def _kl_normal(mu: torch.Tensor | float, sigma: torch.Tensor | float) -> torch.Tensor:
    """Reference KL(N(mu, sigma^2) || N(0, 1)), elementwise."""
    mu, sigma = torch.as_tensor(mu, dtype=torch.float64), torch.as_tensor(sigma, dtype=torch.float64)
    return (sigma**2 + mu**2 - 1) / 2 - sigma.log()


def _simplex(gen: torch.Generator, k: int) -> torch.Tensor:
    w = rand(gen, k, low=0.05, high=1.0)
    return w / w.sum()


# --- kl_discrete(p, q) --------------------------------------------------------------------------
KL_DISCRETE = exercise(
    "kl_discrete", "KL between two discrete distributions, with 0 log 0 = 0",
    hints=(
        "KL(p || q) is an expectation under p of the log-ratio log(p_i / q_i): weight each outcome's "
        "log-ratio by p_i and add up.",
        "An outcome with p_i = 0 contributes nothing, but in floating point 0 * log(0) is nan; the term "
        "must be made exactly 0 there.",
        "`torch.where(condition, a, b)` picks a where the condition holds and b elsewhere, which lets you "
        "choose 0 for the outcomes where p is 0.",
    ),
)


@KL_DISCRETE.case(make=lambda gen: {"args": [_simplex(gen, 4), _simplex(gen, 4)]})
def _value(inp, out):
    p, q = inp["args"]
    close(to_float(out, "kl_discrete(p, q)"), float((p * (p / q).log()).sum()), 1e-9,
          "sum p * log(p / q) over all outcomes")


@KL_DISCRETE.case(make=lambda gen: {"args": [_simplex(gen, 3)] * 2})
def _zero_for_equal(inp, out):
    close(to_float(out, "kl_discrete(p, p)"), 0.0, 1e-12, "KL(p || p) must be 0")


@KL_DISCRETE.case(make=lambda gen: {"args": [torch.cat([_simplex(gen, 2), torch.zeros(1, dtype=torch.float64)]),
                                             torch.full((3,), 1 / 3, dtype=torch.float64)]})
def _zero_in_p(inp, out):
    p, q = inp["args"]
    want = float((p[:2] * (p[:2] / q[:2]).log()).sum())
    close(to_float(out, "kl_discrete(p, q) with a zero in p"), want, 1e-9,
          "terms with p_i = 0 contribute 0: 0 * log(0) would give NaN")


# --- kl_closed_form(mu, sigma) ------------------------------------------------------------------
KL_CLOSED_FORM = exercise(
    "kl_closed_form", "closed-form KL(N(mu, sigma^2) || N(0, 1)), elementwise",
    hints=(
        "The formula is written above the exercise; translate it term by term with torch operations so "
        "that tensors of any shape work elementwise.",
        "log(1/sigma) is minus the log of sigma; the quadratic term adds the variance and the squared mean "
        "before halving.",
        "Test yourself: mu = 0, sigma = 1 must give exactly 0, and growing |mu| must increase the KL.",
    ),
)


@KL_CLOSED_FORM.case(make=lambda gen: {"args": [randn(gen, 6), rand(gen, 6, low=0.2, high=3.0)]})
def _values(inp, out):
    mu, sigma = inp["args"]
    got = tensor(out, (6,), "kl_closed_form(mu, sigma) for 6 pairs")
    want = _kl_normal(mu, sigma)
    worst = int((got - want).abs().argmax())
    assert torch.allclose(got, want, atol=1e-9), (
        f"for mu={float(mu[worst]):.3f}, sigma={float(sigma[worst]):.3f}: got {float(got[worst]):.6g}, "
        f"expected {float(want[worst]):.6g}; check each term of the formula"
    )


@KL_CLOSED_FORM.case(make=lambda gen: {"args": [torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64),
                                                torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)]})
def _known_values(inp, out):
    got = tensor(out, (3,), "kl_closed_form(mu, sigma)")
    want = _kl_normal(*inp["args"])
    assert torch.allclose(got, want, atol=1e-9), (
        f"for (mu, sigma) = (0, 1), (1, 1), (0, 2) expected {[round(float(w), 4) for w in want]}, got "
        f"{[round(float(g), 4) for g in got]}"
    )


# --- kl_logvar(mu, logvar) ----------------------------------------------------------------------
KL_LOGVAR = exercise(
    "kl_logvar", "the VAE's KL from mu and log-variance, one value per example",
    hints=(
        "Encoders output s = log sigma^2 rather than sigma; rewrite sigma^2 and log(1/sigma) of the closed "
        "form in terms of s.",
        "sigma^2 = exp(s), and log(1/sigma) = -s / 2. Compute the per-latent KL first, with the same shape "
        "as mu.",
        "One KL per example: add up the latent dimensions (the last axis), so (batch, latent_dim) becomes "
        "(batch,).",
    ),
)


def _kl_logvar_probe(fn, inp):
    mu = inp["mu"].clone().requires_grad_(True)
    logvar = inp["logvar"].clone().requires_grad_(True)
    out = fn(mu, logvar)
    return {"value": out, "grads": grads(out, mu, logvar)}


@KL_LOGVAR.case(make=lambda gen: {"args": [randn(gen, 5, 4), randn(gen, 5, 4)]})
def _values(inp, out):
    mu, logvar = inp["args"]
    got = tensor(out, (5,), "kl_logvar(mu, logvar) for 5 examples of 4 latents")
    assert torch.allclose(got, _kl_normal(mu, (0.5 * logvar).exp()).sum(-1), atol=1e-9), (
        "one KL per example: the closed form with sigma^2 = exp(logvar), summed over the latents"
    )


@KL_LOGVAR.case(make=lambda gen: {"args": [randn(gen, 2, 3, 4), randn(gen, 2, 3, 4)]})
def _last_dimension(inp, out):
    mu, logvar = inp["args"]
    got = tensor(out, (2, 3), "kl_logvar for codes of shape (2, 3, 4) (e.g. K samples of a batch)")
    assert torch.allclose(got, _kl_normal(mu, (0.5 * logvar).exp()).sum(-1), atol=1e-9), (
        "sum over the last dimension only (dim=-1), whatever the leading dimensions"
    )


@KL_LOGVAR.case(make=lambda gen: {"mu": randn(gen, 2, 3), "logvar": randn(gen, 2, 3)}, run=_kl_logvar_probe)
def _differentiable(inp, out):
    assert isinstance(out, dict) and isinstance(out.get("grads"), list), "kl_logvar should return a tensor"
    g_mu, g_logvar = out["grads"]
    assert g_mu is not None and g_logvar is not None, "use torch operations so gradients reach mu and logvar"
    assert torch.allclose(g_logvar.double(), 0.5 * (inp["logvar"].exp() - 1)), "d KL / d s should be (e^s - 1)/2"
    assert torch.allclose(g_mu.double(), inp["mu"]), "d KL / d mu should be mu"


# --- kl_mc_normal(mu, sigma, n, generator) -> (estimate, standard error) ------------------------
KL_MC_NORMAL = exercise(
    "kl_mc_normal", "Monte Carlo KL(N(mu, sigma^2) || N(0, 1)) from n draws, with its standard error",
    hints=(
        "KL(p || q) = E_p[log p(x) - log q(x)]: draw x from p = N(mu, sigma^2), evaluate both log "
        "densities at the same x, and average their difference.",
        "Draw with the generator you are given (eps from `torch.randn(n, generator=generator, "
        "dtype=torch.float64)`, shifted and scaled), so that the same seed gives the same estimate.",
        "log N(x; m, s^2) = -((x - m) / s)^2 / 2 - log s - log(2 pi) / 2. The standard error is as in "
        "lesson 02: the std of the log-ratios over sqrt(n).",
    ),
)


def _mc_repeat(fn, inp):
    return [fn(inp["mu"], inp["sigma"], inp["n"], torch.Generator().manual_seed(inp["seed"])) for _ in range(2)]


def _mc_inputs(gen: torch.Generator) -> dict:
    return {"args": [float(rand(gen, 1, low=-1.5, high=1.5)), float(rand(gen, 1, low=0.4, high=1.6)), 20000],
            "seed": int(torch.randint(0, 2**31, (1,), generator=gen))}


@KL_MC_NORMAL.case(make=_mc_inputs, run=lambda fn, inp: fn(*inp["args"], torch.Generator().manual_seed(inp["seed"])))
def _value(inp, out):
    mu, sigma, n = inp["args"]
    est, se = pair(out, "kl_mc_normal")
    assert 0 < se < 0.05, f"standard error {se:.3g} looks wrong: std of the log-ratios / sqrt(n)"
    close(est, float(_kl_normal(mu, sigma)), 5 * se + 1e-9,
          f"the KL of N({mu:.3f}, {sigma:.3f}^2) from N(0, 1): average log p(x) - log q(x) over x drawn from p")
    # the draws are specified (x = mu + sigma * eps, eps from the generator): the same numbers, exactly
    x = mu + sigma * torch.randn(n, generator=torch.Generator().manual_seed(inp["seed"]), dtype=torch.float64)
    ratio = 0.5 * x**2 - 0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma)
    close(est, float(ratio.mean()), 1e-9, "draw x = mu + sigma * eps with eps = torch.randn(n, generator=generator, "
          "dtype=torch.float64), in that order, and average the log-ratios at those x")
    close(se, float(ratio.std()) / math.sqrt(n), 1e-9, "the standard error is the standard deviation of the "
          "log-ratios divided by sqrt(n)")


@KL_MC_NORMAL.case(make=lambda gen: {"mu": 0.3, "sigma": 1.7, "n": 100,
                                     "seed": int(torch.randint(0, 2**31, (1,), generator=gen))}, run=_mc_repeat)
def _uses_generator(inp, out):
    assert isinstance(out, list) and len(out) == 2, "kl_mc_normal should return (estimate, standard_error)"
    a, b = (pair(o, "kl_mc_normal") for o in out)
    assert a == b, "draw with generator=generator so that the same seed gives the same estimate"


@KL_MC_NORMAL.case(make=lambda gen: {"args": [0.0, 1.0, 50], "seed": 1},
                   run=lambda fn, inp: fn(*inp["args"], torch.Generator().manual_seed(inp["seed"])))
def _zero_when_equal(inp, out):
    close(pair(out, "kl_mc_normal")[0], 0.0, 1e-9, "when p = q every log-ratio is exactly 0")

