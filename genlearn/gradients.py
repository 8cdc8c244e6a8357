r"""Two unbiased estimators of the gradient of an expectation over a Gaussian,
:math:`\nabla_\mu\,\mathbb{E}_{z\sim N(\mu,\sigma^2)}[f(z)]` (elementwise in ``mu``):

* reparameterisation (pathwise): write :math:`z = \mu + \sigma\varepsilon`, :math:`\varepsilon\sim N(0,1)`,
  and differentiate through :math:`f`:  :math:`g = f'(\mu + \sigma\varepsilon)`;
* score function (REINFORCE): :math:`g = f(z)\,\nabla_\mu \log N(z;\mu,\sigma^2) = f(z)\,(z-\mu)/\sigma^2`,
  which needs no derivative of :math:`f` but has a much larger variance.

Both return one gradient sample per draw, so their mean and variance can be compared.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from genlearn._validate import as_tensor, check_count, check_finite, check_positive

__all__ = ["reparameterization_gradients", "score_function_gradients"]


def _setup(mu, sigma, n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
    n = check_count(n, "n", minimum=2)
    mu_t = check_finite(as_tensor(mu, "mu"), "mu")
    sigma_t = check_positive(check_finite(as_tensor(sigma, "sigma"), "sigma"), "sigma")
    if mu_t.ndim or sigma_t.ndim:
        raise ValueError("mu and sigma must be scalars")
    eps = torch.randn(n, generator=generator, dtype=torch.float64)
    return mu_t, sigma_t, eps


def reparameterization_gradients(f: Callable[[Tensor], Tensor], mu: float, sigma: float, n: int,
                                 generator: torch.Generator | None = None) -> Tensor:
    """``n`` samples of d/dmu f(mu + sigma * eps) (autograd through ``f``), shape (n,)."""
    mu_t, sigma_t, eps = _setup(mu, sigma, n, generator)
    mu_rep = mu_t.detach().expand(n).clone().requires_grad_(True)
    f(mu_rep + sigma_t * eps).sum().backward()
    return mu_rep.grad.detach()


def score_function_gradients(f: Callable[[Tensor], Tensor], mu: float, sigma: float, n: int,
                             generator: torch.Generator | None = None) -> Tensor:
    """``n`` samples of f(z) * (z - mu) / sigma^2 with z ~ N(mu, sigma^2), shape (n,)."""
    mu_t, sigma_t, eps = _setup(mu, sigma, n, generator)
    z = mu_t + sigma_t * eps
    with torch.no_grad():
        return f(z) * (z - mu_t) / sigma_t**2
