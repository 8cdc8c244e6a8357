r"""Priors as objects: ``p(z)`` with ``sample(n, generator)`` and ``log_prob(z)``.

* :class:`StandardNormal`: ``p(z) = N(0, I_d)``, the VAE's prior.
* :class:`FittedGaussian`: ``p(z) = N(m, S)`` fitted to an encoder's codes (``m`` their mean,
  ``S`` their covariance): what makes a plain autoencoder a generative model that is evaluated
  like the others. Stored as buffers (mean, Cholesky factor ``L``, ``S = L L^T``)::

      log N(z; m, S) = -1/2 |L^{-1}(z - m)|^2 - sum_j log L_jj - d/2 log(2 pi)

* :class:`UniformCodes`: every code map of ``h x w`` codes out of K equally likely,
  ``log p(k) = -h w log K`` (a VQ-VAE's prior before a learned one replaces it).
* :class:`~genlearn.models.code_prior.CodePrior`: a PixelCNN over code maps (its own module).

Gaussian priors also give the KL of a diagonal Gaussian ``q = N(mu, diag v)`` in closed form::

    KL(q || N(m, S)) = 1/2 [tr(S^-1 V) + (m - mu)^T S^-1 (m - mu) - d + log det S - sum_j log v_j]

which is the ELBO's KL term (for ``N(0, I)`` it is ``1/2 sum_j (v_j - (1 + log v_j) + mu_j^2)``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from genlearn._validate import check_count, check_finite
from genlearn.kl import _kl_normal_logvar
from genlearn.models.base import Prior, draw_normal  # the base class lives with the protocol

__all__ = ["Prior", "StandardNormal", "FittedGaussian", "UniformCodes", "check_codes"]

_LOG_2PI = math.log(2 * math.pi)


def _check_vectors(z: Tensor, dim: int, name: str = "z") -> Tensor:
    if not isinstance(z, Tensor) or z.ndim < 2 or z.shape[-1] != dim or not z.dtype.is_floating_point:
        got = f"{tuple(z.shape)} {z.dtype}" if isinstance(z, Tensor) else type(z).__name__
        raise ValueError(f"{name} must be a floating tensor (..., {dim}), got {got}")
    return z


class StandardNormal(Prior):
    """``p(z) = N(0, I_dim)``."""

    _like: Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = check_count(dim, "dim")
        # an empty buffer that follows model.to(device, dtype): where and in what precision to draw
        self.register_buffer("_like", torch.empty(0), persistent=False)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, dim)`` draws on the prior's device, in its dtype (those of the model it belongs to)."""
        return draw_normal((check_count(n, "n"), self.dim), self._like, generator)

    def log_prob(self, z: Tensor) -> Tensor:
        z = _check_vectors(z, self.dim)
        return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)

    closed_form_kl = True

    def kl_from(self, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
        """``KL(N(mu, diag e^logvar) || N(0, I))`` per example (sum over the last axis)."""
        return _kl_normal_logvar(mu, logvar)

    def kl_per_dim(self, mu: Tensor, logvar: Tensor) -> Tensor:
        """``KL`` per latent dimension: ``(e^s + mu^2 - 1 - s) / 2``, shape of ``mu``."""
        return _kl_normal_logvar(mu.unsqueeze(-1), logvar.unsqueeze(-1))

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class FittedGaussian(Prior):
    """``p(z) = N(m, L L^T)`` fitted to codes with :meth:`fit`; until then it refuses to sample."""

    mean: Tensor
    scale_tril: Tensor
    fitted: Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = check_count(dim, "dim")
        self.register_buffer("mean", torch.zeros(self.dim))
        self.register_buffer("scale_tril", torch.eye(self.dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @torch.no_grad()
    def fit(self, z: Tensor, jitter: float = 1e-5) -> FittedGaussian:
        """Set ``m`` and ``S`` to the mean and covariance (N - 1) of the codes ``z`` ``(N, dim)``,
        N >= 2, plus ``jitter * I`` so that ``S`` is invertible. Returns self."""
        z = _check_vectors(z, self.dim, "codes")
        if z.ndim != 2 or len(z) < 2:
            raise ValueError(f"codes must be (N, {self.dim}) with N >= 2, got {tuple(z.shape)}")
        check_finite(z, "codes")
        z = z.detach().double()
        cov = torch.cov(z.T).reshape(self.dim, self.dim) + jitter * torch.eye(self.dim, dtype=z.dtype, device=z.device)
        self.mean.copy_(z.mean(0))
        self.scale_tril.copy_(torch.linalg.cholesky(cov))
        self.fitted.fill_(True)
        return self

    def _require_fit(self) -> None:
        if not bool(self.fitted):
            raise ValueError("this Gaussian prior has not been fitted: call model.fit_prior(x_train) first "
                             "(it fits N(m, S) to the encoder's codes of x_train)")

    def covariance(self) -> Tensor:
        return self.scale_tril @ self.scale_tril.T

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        self._require_fit()
        n = check_count(n, "n")
        eps = draw_normal((n, self.dim), self.mean, generator)
        return self.mean + eps @ self.scale_tril.T

    def log_prob(self, z: Tensor) -> Tensor:
        self._require_fit()
        z = _check_vectors(z, self.dim)
        lower = self.scale_tril.to(z.dtype)
        r = torch.linalg.solve_triangular(lower, (z - self.mean.to(z.dtype)).reshape(-1, self.dim).T, upper=False)
        logdet = torch.log(torch.diagonal(lower)).sum()
        return (-0.5 * (r.pow(2).sum(0) + self.dim * _LOG_2PI) - logdet).reshape(z.shape[:-1])

    closed_form_kl = True

    def kl_from(self, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
        """``KL(N(mu, diag e^logvar) || N(m, S))`` per example, closed form (module docstring)."""
        self._require_fit()
        lower = self.scale_tril.to(mu.dtype)
        prec = torch.cholesky_inverse(lower)  # S^-1
        diff = mu - self.mean.to(mu.dtype)
        quad = ((diff @ prec) * diff).sum(-1)
        trace = (torch.diagonal(prec) * logvar.exp()).sum(-1)
        logdet_s = 2 * torch.log(torch.diagonal(lower)).sum()
        return 0.5 * (trace + quad - self.dim + logdet_s - logvar.sum(-1))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, fitted={bool(self.fitted)}"


def check_codes(idx: Tensor, num_codes: int, code_shape: Sequence[int]) -> Tensor:
    """``idx`` as a long tensor after checking shape ``(N, h, w)``, an integer dtype and the range
    ``[0, K)``: the one validation of code maps in the package."""
    h, w = code_shape
    if not isinstance(idx, Tensor) or idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        what = idx.dtype if isinstance(idx, Tensor) else type(idx).__name__
        raise ValueError(f"code maps must be an integer tensor (N, {h}, {w}), got {what}")
    if idx.ndim != 3 or tuple(idx.shape[1:]) != (h, w):
        raise ValueError(f"code maps must have shape (N, {h}, {w}), got {tuple(idx.shape)}")
    if idx.numel() and (idx.min() < 0 or idx.max() >= num_codes):
        raise ValueError(f"codes must lie in [0, {num_codes}), got min {int(idx.min())}, max {int(idx.max())}")
    return idx.long()


class UniformCodes(Prior):
    """Every code of an ``h x w`` map uniform over ``[0, K)``: ``log p(k) = -h w log K``."""

    def __init__(self, num_codes: int, code_shape: Sequence[int]) -> None:
        super().__init__()
        self.num_codes = check_count(num_codes, "num_codes")
        if isinstance(code_shape, (int, str)) or not isinstance(code_shape, Sequence) or len(code_shape) != 2:
            raise ValueError(f"code_shape must be (h, w), the size of a code map, got {code_shape!r}")
        self.code_shape = (check_count(code_shape[0], "code_shape"), check_count(code_shape[1], "code_shape"))

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        n = check_count(n, "n")
        return torch.randint(self.num_codes, (n, *self.code_shape), generator=generator)

    def log_prob(self, idx: Tensor) -> Tensor:
        idx = check_codes(idx, self.num_codes, self.code_shape)
        value = -math.prod(self.code_shape) * math.log(self.num_codes)
        return torch.full((len(idx),), value, dtype=torch.float64)

    def extra_repr(self) -> str:
        return f"num_codes={self.num_codes}, code_shape={self.code_shape}"
