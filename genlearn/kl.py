r"""Kullback-Leibler divergence :math:`KL(p\,\|\,q) = \int p(x) \log\frac{p(x)}{q(x)}\,dx \ge 0`.

Closed form for two normals (elementwise):

    KL(N(mu_p, s_p^2) || N(mu_q, s_q^2)) = log(s_q / s_p) + (s_p^2 + (mu_p - mu_q)^2) / (2 s_q^2) - 1/2

and, against the standard normal with ``logvar = log sigma^2`` (the VAE form),

    KL = 1/2 * sum_j (exp(logvar_j) - (1 + logvar_j) + mu_j^2)       [nats per example]

The curve ``e^s - (1 + s)`` is >= 0 with its only zero at ``s = 0``: that term
is what stops a VAE encoder from shrinking its noise to nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from genlearn._validate import (
    apply,
    as_tensor,
    check_count,
    check_finite,
    check_grid,
    check_positive,
)
from genlearn.expectation import Estimate, monte_carlo

Fn = Callable[[Tensor], Tensor]

__all__ = [
    "kl_normal",
    "kl_normal_logvar",
    "kl_quadrature",
    "kl_monte_carlo",
    "derive_kl_normal",
    "normal_logpdf",
]


def _is_plain_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def kl_normal(mu_p, sigma_p, mu_q=0.0, sigma_q=1.0):
    r"""Closed-form :math:`KL(N(\mu_p,\sigma_p^2)\,\|\,N(\mu_q,\sigma_q^2))`, elementwise.

    Accepts floats (returns a float) or tensors (returns a tensor, differentiable).
    Tensor arguments must share one shape; plain numbers combine with any tensor.
    """
    args = {"mu_p": mu_p, "sigma_p": sigma_p, "mu_q": mu_q, "sigma_q": sigma_q}
    all_numbers = all(_is_plain_number(v) for v in args.values())
    dtype = next((v.dtype for v in args.values() if isinstance(v, Tensor) and v.is_floating_point()), torch.float64)
    t = {k: check_finite(as_tensor(v, k, dtype=dtype), k) for k, v in args.items()}
    shaped = {k: v for k, v in t.items() if v.ndim > 0}  # tensors, lists, arrays
    if len({tuple(v.shape) for v in shaped.values()}) > 1:
        listed = ", ".join(f"{k}{tuple(v.shape)}" for k, v in shaped.items())
        raise ValueError(f"kl_normal: tensor arguments must have the same shape, got {listed}")
    check_positive(t["sigma_p"], "sigma_p")
    check_positive(t["sigma_q"], "sigma_q")
    # log(s_p / s_q) from the two logs: s_p / s_q itself may overflow or underflow (then inf - inf = NaN)
    log_ratio = torch.log(t["sigma_p"]) - torch.log(t["sigma_q"])
    kl = -log_ratio + 0.5 * (torch.exp(2 * log_ratio) + ((t["mu_p"] - t["mu_q"]) / t["sigma_q"]) ** 2) - 0.5
    return float(kl) if all_numbers else kl


def kl_normal_logvar(mu: Tensor, logvar: Tensor) -> Tensor:
    r""":math:`KL(N(\mu, e^{s}) \,\|\, N(0, I)) = \tfrac12\sum_j (e^{s_j} - (1 + s_j) + \mu_j^2)`.

    ``mu`` and ``logvar`` have shape (..., d); the result sums over the last
    dimension (nats per example) and has shape (...).
    """
    if not isinstance(mu, Tensor) or not isinstance(logvar, Tensor):
        raise ValueError("kl_normal_logvar expects tensors mu and logvar of shape (..., latent_dim)")
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (..., latent_dim), got {tuple(mu.shape)} "
            f"and {tuple(logvar.shape)}"
        )
    if mu.ndim == 0:
        raise ValueError("mu and logvar need a last (latent) dimension, got 0-dim tensors")
    for name, t in (("mu", mu), ("logvar", logvar)):
        if not t.is_floating_point():
            raise ValueError(f"{name} must be a floating-point tensor (e.g. {name}.float()), got {t.dtype}")
    check_finite(mu, "mu")
    check_finite(logvar, "logvar")
    return _kl_normal_logvar(mu, logvar)


def _kl_normal_logvar(mu: Tensor, logvar: Tensor) -> Tensor:
    """:func:`kl_normal_logvar` without the input checks, for losses whose inputs a model made
    (a check is a host-device sync per call; the trainer checks the loss itself)."""
    return 0.5 * (logvar.exp() - (1.0 + logvar) + mu.pow(2)).sum(dim=-1)


def kl_quadrature(log_p: Fn, log_q: Fn, grid) -> Tensor:
    r"""Trapezoid rule for :math:`\int p(x)\,[\log p(x) - \log q(x)]\,dx` on a 1-D grid.

    Choose a grid that covers the mass of ``p`` (e.g. mu_p +- 12 sigma_p).
    """
    x = check_grid(grid)
    lp = apply(log_p, x, "log_p")
    lq = apply(log_q, x, "log_q")
    p = lp.exp()
    # p log(p/q) -> 0 where p underflows, whatever q is
    integrand = torch.where(p > 0, p * (lp - lq), torch.zeros_like(p))
    check_finite(integrand, "p(x) * (log_p(x) - log_q(x))")
    return torch.trapezoid(integrand, x)


def kl_monte_carlo(log_p: Fn, log_q: Fn, sample_p: Callable[[int], Tensor], n: int) -> Estimate:
    r"""Monte Carlo :math:`\frac1n\sum_i [\log p(x_i) - \log q(x_i)]`, :math:`x_i \sim p`,
    with its standard error."""
    n = check_count(n, "n")
    return monte_carlo(lambda x: apply(log_p, x, "log_p") - apply(log_q, x, "log_q"), sample_p, n)


def normal_logpdf(mu: float = 0.0, sigma: float = 1.0) -> Fn:
    r"""The function :math:`x \mapsto \log N(x; \mu, \sigma^2)` (float64), for quadrature and sampling."""
    mu_t = check_finite(as_tensor(mu, "mu"), "mu")
    sigma_t = check_positive(check_finite(as_tensor(sigma, "sigma"), "sigma"), "sigma")

    def log_density(x: Tensor) -> Tensor:
        z = (x - mu_t) / sigma_t
        return -0.5 * z**2 - torch.log(sigma_t) - 0.5 * math.log(2 * math.pi)

    return log_density


def derive_kl_normal(general: bool = False):
    r"""Derive the Gaussian KL with sympy by integrating :math:`p\log(p/q)` over the real line.

    Returns a simplified sympy expression in the symbols ``mu`` and ``sigma``
    (``sigma > 0``) for :math:`KL(N(\mu,\sigma^2)\,\|\,N(0,1))`; with
    ``general=True``, in ``mu_p, sigma_p, mu_q, sigma_q`` for two arbitrary normals.
    """
    import sympy as sp

    x = sp.Symbol("x", real=True)
    if general:
        mu_p, mu_q = sp.symbols("mu_p mu_q", real=True)
        s_p, s_q = sp.symbols("sigma_p sigma_q", positive=True)
    else:
        mu_p, s_p = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
        mu_q, s_q = sp.Integer(0), sp.Integer(1)

    def log_normal(m, s):
        return -((x - m) ** 2) / (2 * s**2) - sp.log(s) - sp.log(2 * sp.pi) / 2

    p = sp.exp(log_normal(mu_p, s_p))
    log_ratio = sp.expand(log_normal(mu_p, s_p) - log_normal(mu_q, s_q))
    # log p - log q is a quadratic in x: integrate p * x^k term by term (k = 0, 1, 2)
    poly = sp.Poly(log_ratio, x)
    moments = {k: sp.integrate(p * x**k, (x, -sp.oo, sp.oo)) for k in range(poly.degree() + 1)}
    kl = sum(coeff * moments[k] for (k,), coeff in poly.terms())
    return sp.simplify(sp.expand_log(sp.simplify(kl), force=True))
