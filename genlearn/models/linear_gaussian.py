r"""A linear-Gaussian latent model where everything is exact (probabilistic PCA).

    p(z) = N(0, I_d),    p(x|z) = N(W z + b, s^2 I_D)

Marginal and posterior are Gaussian in closed form::

    p(x)   = N(b, C),              C = W W^T + s^2 I_D
    p(z|x) = N(m, S),              S = (I_d + W^T W / s^2)^{-1},  m = S W^T (x - b) / s^2

so the ELBO of any ``q(z|x) = N(mu, diag v)`` satisfies exactly::

    log p(x) = ELBO(q) + KL(q || p(z|x))

The best diagonal ``q`` (:meth:`LinearGaussian.mean_field`) has ``mu = m`` and
``v_j = 1 / Lambda_jj`` with ``Lambda = S^{-1}``; its gap is zero only when ``W^T W``
is diagonal. Everything is float64. The model offers the same ``encode`` /
``log_px_given_z`` interface as :class:`genlearn.models.VAE`, so the estimators in
:mod:`genlearn.evaluate` run on it and can be checked against ``log_marginal``.

This is probabilistic PCA (Tipping & Bishop, 1999): its maximum-likelihood ``W`` spans the
principal subspace of the data, the subspace PCA finds (lesson 01), scaled by
``(lambda_j - sigma^2)^{1/2}`` per principal direction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.kl import kl_normal_logvar
from genlearn.models.base import Posterior
from genlearn.models.likelihoods import Gaussian
from genlearn.models.nets import check_inputs
from genlearn.models.priors import StandardNormal

__all__ = ["LinearGaussian"]

_LOG_2PI = math.log(2 * math.pi)


class LinearGaussian(nn.Module):
    """``p(z) = N(0, I)``, ``p(x|z) = N(W z + b, sigma^2 I)`` with learnable ``W`` (D, d), ``b`` (D,).

    ``encoder``: optional callable ``x -> (mu, logvar)`` used by :meth:`encode`; by default
    ``encode`` returns the optimal mean-field posterior.
    """

    def __init__(
        self,
        data_dim: int,
        latent_dim: int,
        sigma: float = 0.5,
        encoder: Callable[[Tensor], tuple[Tensor, Tensor]] | None = None,
    ) -> None:
        super().__init__()
        self.data_dim = check_count(data_dim, "data_dim")
        self.latent_dim = check_count(latent_dim, "latent_dim")
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 1e-100 <= sigma <= 1e100:
            # sigma^2 and 1 / sigma^2 must both be finite float64 numbers
            raise ValueError(f"sigma must be a number in [1e-100, 1e100], got {sigma!r}")
        self.sigma = float(sigma)
        self.in_shape = (self.data_dim,)
        self.W = nn.Parameter(torch.zeros(self.data_dim, self.latent_dim, dtype=torch.float64))
        self.b = nn.Parameter(torch.zeros(self.data_dim, dtype=torch.float64))
        self.encoder = encoder
        self.px_given_z = Gaussian(self.sigma)  # p(x|z) = N(W z + b, sigma^2 I), as log_px_given_z computes it
        self.prior = StandardNormal(self.latent_dim).to(torch.float64)  # draws in the model's precision

    @classmethod
    def from_params(cls, W: Tensor, b: Tensor, sigma: float, **kwargs: Any) -> LinearGaussian:
        """A model with the given ``W`` (D, d) and ``b`` (D,)."""
        W = torch.as_tensor(W, dtype=torch.float64)
        b = torch.as_tensor(b, dtype=torch.float64)
        if W.ndim != 2 or b.shape != W.shape[:1]:
            raise ValueError(f"W must be (D, d) and b (D,), got {tuple(W.shape)} and {tuple(b.shape)}")
        model = cls(W.shape[0], W.shape[1], sigma, **kwargs)
        with torch.no_grad():
            model.W.copy_(W)
            model.b.copy_(b)
        return model

    @classmethod
    def random(
        cls, data_dim: int, latent_dim: int, sigma: float = 0.5, generator: torch.Generator | None = None
    ) -> LinearGaussian:
        """``W`` and ``b`` with independent ``N(0, 1)`` entries."""
        W = torch.randn(data_dim, latent_dim, generator=generator, dtype=torch.float64)
        b = torch.randn(data_dim, generator=generator, dtype=torch.float64)
        return cls.from_params(W, b, sigma)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able; a custom ``encoder`` is not saved)."""
        return {"data_dim": self.data_dim, "latent_dim": self.latent_dim, "sigma": self.sigma}

    def _x(self, x: Tensor) -> Tensor:
        return check_inputs(x, self.in_shape).to(torch.float64)

    def marginal_cov(self) -> Tensor:
        """``C = W W^T + sigma^2 I``, (D, D)."""
        return self.W @ self.W.T + self.sigma**2 * torch.eye(self.data_dim, dtype=torch.float64)

    def log_marginal(self, x: Tensor) -> Tensor:
        """Exact ``log p(x) = log N(x; b, C)`` per example, (N,)."""
        x = self._x(x)
        L = torch.linalg.cholesky(self.marginal_cov())
        r = torch.linalg.solve_triangular(L, (x - self.b).T, upper=False)  # (D, N)
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        return -0.5 * (r.pow(2).sum(0) + logdet + self.data_dim * _LOG_2PI)

    def posterior_precision(self) -> Tensor:
        """``Lambda = I + W^T W / sigma^2`` (d, d), the inverse posterior covariance."""
        return torch.eye(self.latent_dim, dtype=torch.float64) + self.W.T @ self.W / self.sigma**2

    def posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Exact ``p(z|x) = N(m, S)``: returns ``(m (N, d), S (d, d))``."""
        x = self._x(x)
        S = torch.linalg.inv(self.posterior_precision())
        m = (x - self.b) @ self.W @ S / self.sigma**2  # S symmetric
        return m, S

    def mean_field(self, x: Tensor) -> Posterior:
        """The diagonal ``q`` closest to the posterior in ``KL(q || p(z|x))``:
        ``mu = m``, ``logvar_j = -log Lambda_jj``."""
        m, _ = self.posterior(x)
        logvar = -torch.log(torch.diagonal(self.posterior_precision()))
        return Posterior(m, logvar.expand_as(m))

    def encode(self, x: Tensor) -> Posterior:
        """``q(z|x)`` as ``Posterior(mu, logvar)``: ``encoder(x)`` if given, else :meth:`mean_field`."""
        if self.encoder is None:
            return self.mean_field(x)
        mu, logvar = self.encoder(self._x(x))
        return Posterior(mu, logvar)

    def decode(self, z: Tensor) -> Tensor:
        """The mean of ``p(x|z)``: ``W z + b``, (N, D)."""
        return check_inputs(z, (self.latent_dim,), "z").to(torch.float64) @ self.W.T + self.b

    decode_mean = decode

    latent_posterior = encode  # the protocol's name for q(z|x)

    def code(self, x: Tensor) -> Tensor:
        """The point code: the posterior mean ``mu(x)``."""
        return self.encode(x).mu

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """``W mu(x) + b``: the decoder's mean at the posterior mean."""
        return self.decode(self.encode(x).mu)

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """``log N(x; W z + b, sigma^2 I)`` per example, (N,)."""
        x = self._x(x)
        r = x - self.decode(z)
        return -0.5 * (r.pow(2).sum(-1) / self.sigma**2 + self.data_dim * math.log(2 * math.pi * self.sigma**2))

    def kl_to_posterior(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        """Exact ``KL(N(mu, diag e^logvar) || p(z|x))`` per example, (N,):
        ``1/2 [tr(Lambda V) + (m - mu)^T Lambda (m - mu) - d - log det Lambda - sum logvar]``."""
        m, _ = self.posterior(x)
        lam = self.posterior_precision()
        diff = m - mu
        quad = ((diff @ lam) * diff).sum(-1)
        trace = (torch.diagonal(lam) * logvar.exp()).sum(-1)
        logdet = torch.linalg.slogdet(lam).logabsdet
        return 0.5 * (trace + quad - self.latent_dim - logdet - logvar.sum(-1))

    def elbo_exact(self, x: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        """Closed-form ELBO of ``q = N(mu, diag e^logvar)`` per example, (N,)::

            E_q[log p(x|z)] = -D/2 log(2 pi s^2) - (||x - b - W mu||^2 + sum_j v_j ||W_j||^2) / (2 s^2)
            ELBO = E_q[log p(x|z)] - KL(q || N(0, I))
        """
        x = self._x(x)
        r = x - self.b - mu @ self.W.T
        col_norms = self.W.pow(2).sum(0)  # ||W_j||^2, (d,)
        expected = -0.5 * (
            (r.pow(2).sum(-1) + (logvar.exp() * col_norms).sum(-1)) / self.sigma**2
            + self.data_dim * math.log(2 * math.pi * self.sigma**2)
        )
        return expected - kl_normal_logvar(mu, logvar)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` draws of ``x = W z + b + sigma * eps``, (n, D)."""
        n = check_count(n, "n")
        z = self.prior.sample(n, generator)
        eps = torch.randn(n, self.data_dim, generator=generator, dtype=torch.float64)
        return self.decode(z) + self.sigma * eps
