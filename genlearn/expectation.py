r"""Two ways to compute an expectation :math:`\mathbb{E}_p[f(x)] = \int f(x)\,p(x)\,dx`.

*Numeric* (quadrature) rules evaluate the density on chosen points and weight
each point by the spacing:

    riemann:       sum_{i=1}^{n} f(x_i) p(x_i) (x_i - x_{i-1})
    trapezoid:     sum_{i=1}^{n} [g(x_{i-1}) + g(x_i)] / 2 * (x_i - x_{i-1}),  g = f p
    gauss_hermite: E_{N(mu, sigma^2)}[f] ~= pi^{-1/2} sum_k w_k f(mu + sqrt(2) sigma t_k)

*Sampled* (Monte Carlo) estimates draw the points from ``p`` itself, so the
density is already "inside" the samples and is never multiplied in:

    monte_carlo:          (1/n) sum_i f(x_i),              x_i ~ p
    importance_sampling:  (1/n) sum_i f(x_i) p(x_i)/q(x_i), x_i ~ q

Every estimate is a float64 tensor (0-dim) that keeps gradients. Sampled estimates come with their
standard error ``std(f(x_i)) / sqrt(n)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
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

Fn = Callable[[Tensor], Tensor]
Sampler = Callable[[int], Tensor]

__all__ = [
    "Estimate",
    "riemann",
    "trapezoid",
    "range_normalised_sum",
    "gauss_hermite",
    "monte_carlo",
    "importance_sampling",
    "product_midpoint",
    "loglog_slope",
]


class Estimate(NamedTuple):
    """A sampled estimate and its standard error (one standard deviation of the estimator)."""

    value: Tensor
    stderr: Tensor


GAUSS_HERMITE_MAX_N = 300  # numpy's nodes and weights overflow to NaN from n = 371 on


def _integrand(f: Fn, pdf: Fn, grid: Tensor) -> Tensor:
    fx = check_finite(apply(f, grid, "f"), "f(grid)")
    px = apply(pdf, grid, "pdf")
    check_finite(px, "pdf(grid)")
    if (px < 0).any():
        raise ValueError("pdf must be >= 0 on the grid; got a negative density")
    return fx * px


def _real(v: object, name: str) -> float:
    """A finite real number (Python, NumPy or 0-dim tensor), as a float."""
    if isinstance(v, Tensor) and v.ndim == 0 and not v.is_complex():
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite real number, got {v!r}")
    return float(v)


def _normaliser(total: Tensor) -> Tensor:
    """The integral of ``pdf`` alone, which a self-normalised rule divides by: must be > 0."""
    if not total > 0:
        raise ValueError(f"normalise=True needs pdf > 0 somewhere on the grid; its integral is {float(total):.4g}")
    return total


def riemann(f: Fn, pdf: Fn, grid, normalise: bool = False) -> Tensor:
    r"""Right Riemann sum :math:`\sum_{i=1}^{n} f(x_i)\,p(x_i)\,(x_i - x_{i-1})`.

    With ``normalise=True`` it returns the self-normalised form
    :math:`\sum_i f(x_i) p(x_i) \Delta_i / \sum_i p(x_i) \Delta_i`, which stays
    correct when ``pdf`` is known only up to a constant.
    """
    x = check_grid(grid)
    dx = torch.diff(x)
    g = _integrand(f, pdf, x)[1:]
    total = (g * dx).sum()
    if normalise:
        total = total / _normaliser((apply(pdf, x, "pdf")[1:] * dx).sum())
    return total


def trapezoid(f: Fn, pdf: Fn, grid, normalise: bool = False) -> Tensor:
    r"""Trapezoid rule :math:`\sum_{i=1}^{n} \tfrac12[g(x_{i-1}) + g(x_i)](x_i - x_{i-1})`, g = f p.

    ``normalise=True`` divides by the same rule applied to ``pdf`` alone.
    """
    x = check_grid(grid)
    total = torch.trapezoid(_integrand(f, pdf, x), x)
    if normalise:
        total = total / _normaliser(torch.trapezoid(apply(pdf, x, "pdf"), x))
    return total


def range_normalised_sum(f: Fn, pdf: Fn, grid) -> Tensor:
    r"""The weight printed in the source article:
    :math:`\sum_{i=1}^{n} f(x_i)\,p(x_i)\,\frac{x_i - x_{i-1}}{x_n - x_0}`.

    Kept so the lessons can test it: it equals the Riemann sum divided by the
    width of the grid, so it is correct only on a grid of width 1.
    """
    x = check_grid(grid)
    return riemann(f, pdf, x) / (x[-1] - x[0])


def gauss_hermite(f: Fn, mu: float = 0.0, sigma: float = 1.0, n: int = 20) -> Tensor:
    r""":math:`\mathbb{E}_{N(\mu,\sigma^2)}[f(x)] \approx \pi^{-1/2}\sum_{k=1}^{n} w_k f(\mu + \sqrt2\sigma t_k)`.

    ``t_k, w_k`` are the nodes and weights of the n-point (physicists')
    Gauss-Hermite rule, exact for polynomials of degree up to 2n - 1; ``n <= 300``.
    """
    n = check_count(n, "n")
    if n > GAUSS_HERMITE_MAX_N:
        raise ValueError(f"n must be <= {GAUSS_HERMITE_MAX_N} for gauss_hermite (the weights overflow "
                         f"beyond ~370 points), got {n}")
    mu_t = check_finite(as_tensor(mu, "mu"), "mu")
    sigma_t = check_positive(check_finite(as_tensor(sigma, "sigma"), "sigma"), "sigma")
    if mu_t.ndim or sigma_t.ndim:
        raise ValueError("gauss_hermite takes a scalar mu and sigma")
    t, w = np.polynomial.hermite.hermgauss(n)
    x = mu_t + math.sqrt(2.0) * sigma_t * torch.as_tensor(t, dtype=torch.float64)
    fx = check_finite(apply(f, x, "f"), "f(nodes)")
    return (torch.as_tensor(w, dtype=torch.float64) * fx).sum() / math.sqrt(math.pi)


def _draw(sample: Sampler, n: int, name: str) -> Tensor:
    x = as_tensor(sample(n), f"{name}(n)", dtype=None)
    if x.ndim == 0 or x.shape[0] != n:
        raise ValueError(f"{name}(n) must return n={n} draws along dim 0, got shape {tuple(x.shape)}")
    return x.to(torch.float64)


def _mean_and_stderr(values: Tensor) -> Estimate:
    n = values.shape[0]
    check_finite(values, "f(samples)")
    mean = values.mean()
    stderr = values.std(unbiased=True) / math.sqrt(n) if n > 1 else torch.tensor(math.inf)
    return Estimate(mean, torch.as_tensor(stderr, dtype=torch.float64).detach())


def monte_carlo(f: Fn, sample: Sampler, n: int) -> Estimate:
    r"""Monte Carlo :math:`\frac1n\sum_{i=1}^n f(x_i)`, :math:`x_i \sim p`, with standard error
    :math:`s/\sqrt n` (``s`` the sample standard deviation of ``f(x_i)``; inf when n = 1).

    ``sample(n)`` must return ``n`` draws from p along the first dimension.
    """
    n = check_count(n, "n")
    x = _draw(sample, n, "sample")
    return _mean_and_stderr(apply(f, x, "f"))


def importance_sampling(
    f: Fn, log_p: Fn, log_q: Fn, sample_q: Sampler, n: int, self_normalised: bool = False
) -> Estimate:
    r"""Importance sampling :math:`\frac1n\sum_i f(x_i)\,w_i`, :math:`w_i = p(x_i)/q(x_i)`, :math:`x_i\sim q`.

    ``log_p`` and ``log_q`` return log densities (``log_p`` may be unnormalised
    when ``self_normalised=True``, which returns
    :math:`\sum_i w_i f(x_i) / \sum_i w_i` and a delta-method standard error).
    """
    n = check_count(n, "n")
    x = _draw(sample_q, n, "sample_q")
    fx = apply(f, x, "f")
    log_w = apply(log_p, x, "log_p") - apply(log_q, x, "log_q")
    if torch.isnan(log_w).any() or (log_w == math.inf).any():
        raise ValueError("log_p(x) - log_q(x) is NaN or +inf: q must be > 0 wherever p is")
    if not self_normalised:
        return _mean_and_stderr(fx * log_w.exp())
    check_finite(fx, "f(samples)")
    if not (log_w > -math.inf).any():
        raise ValueError("self-normalised importance sampling needs p(x) > 0 at one sample at least; "
                         "log_p - log_q is -inf at every sample")
    w = torch.softmax(log_w, dim=0)  # normalised weights, stable in log space
    value = (w * fx).sum()
    stderr = torch.sqrt((w**2 * (fx - value) ** 2).sum()) if n > 1 else torch.tensor(math.inf)
    return Estimate(value, torch.as_tensor(stderr, dtype=torch.float64).detach())


def product_midpoint(f: Fn, pdf: Fn, lower: float, upper: float, m: int, d: int) -> Tensor:
    r"""Midpoint rule on a d-dimensional grid with ``m`` points per axis (``m**d`` evaluations):
    :math:`\sum_{\text{cells}} f(x_c)\,p(x_c)\,h^d`, :math:`h = (\text{upper} - \text{lower}) / m`.

    ``f`` and ``pdf`` take points of shape (m**d, d). Used to show the curse of
    dimension: at a fixed budget of evaluations the grid gets coarser as d grows.
    """
    m, d = check_count(m, "m"), check_count(d, "d")
    lower, upper = _real(lower, "lower"), _real(upper, "upper")
    if not upper > lower:
        raise ValueError(f"upper must be > lower, got lower={lower}, upper={upper}")
    if not math.isfinite(upper - lower) or d * math.log(upper - lower) > 700:  # h**d would overflow
        raise ValueError(f"the box [lower, upper]^d = [{lower:g}, {upper:g}]^{d} is too large: its volume overflows")
    if m > 5_000_000 or d > 64 or m**d > 5_000_000:  # m**d itself is slow to compute for huge d
        raise ValueError(f"m**d = {m**d} grid points is too many for memory (limit 5e6)")
    h = (upper - lower) / m
    axis = lower + h * (torch.arange(m, dtype=torch.float64) + 0.5)
    points = torch.cartesian_prod(*([axis] * d)).reshape(-1, d)
    values = check_finite(apply(f, points, "f"), "f(points)") * check_finite(apply(pdf, points, "pdf"), "pdf(points)")
    return values.sum() * h**d


def loglog_slope(ns, errors) -> float:
    r"""Least-squares slope of :math:`\log(\text{error})` against :math:`\log n`.

    An error falling like :math:`n^{-1/2}` has slope -1/2; like :math:`n^{-2}`, slope -2.
    """
    x = as_tensor(ns, "ns")
    y = as_tensor(errors, "errors")
    if x.ndim != 1 or x.shape != y.shape or x.numel() < 2:
        raise ValueError(
            f"ns and errors must be 1-D of the same length >= 2, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    check_positive(check_finite(x, "ns"), "ns")
    check_positive(check_finite(y, "errors"), "errors")
    lx, ly = x.log(), y.log()
    lx = lx - lx.mean()
    if not (lx**2).sum() > 0:
        raise ValueError("ns must hold at least two different values to fit a slope")
    return float((lx * (ly - ly.mean())).sum() / (lx**2).sum())
