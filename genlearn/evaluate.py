r"""How good is a generative model? The one home of evaluation in genlearn.

Likelihood bounds, for any *latent-Gaussian model* (``latent_posterior(x)``, ``log_px_given_z``
and a prior object ``model.prior``; :mod:`genlearn.models.base`): VAE, LinearGaussian, and an
AE after :meth:`~genlearn.models.AE.fit_prior`.

* ELBO (one or more z per example; the KL in closed form when the prior gives it)::

      ELBO(x) = E_q[log p(x|z)] - KL(q(z|x) || p(z)) <= log p(x)

* Importance-weighted bound (Burda et al., 2016), ``z_k ~ q(z|x)``::

      L_K(x) = log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)

  with every normalising constant included. ``L_1 = ELBO`` in expectation,
  ``L_K <= L_{K+1} <= log p(x)`` in expectation, and ``L_K -> log p(x)`` as
  ``K -> infinity``: with K = 1000 it is the standard estimate of the test
  log-likelihood. Computed in chunks of samples with a running ``logsumexp``.
* The VQ-VAE's bound with its code prior (a one-hot encoder, so the ELBO has no entropy term)::

      log p(x) >= log p(x | z_q(k(x))) + log p_prior(k(x))

* Bits per dimension: ``nats / (D ln 2)``.

:func:`test_nll` is the one entry the CLI, the lessons and the benches use: it picks the bound by
the model's capability (:class:`~genlearn.models.base.LatentGaussianModel`: IWAE;
:class:`~genlearn.models.base.CodeMapModel`: the VQ bound) and returns the likelihood's name, or
the reason there is none (no likelihood, a loss that is not one, data it is not a likelihood of).

Every bound goes through the model's likelihood, which refuses data it is not a likelihood of
(a Bernoulli and grey pixels, :mod:`genlearn.models.likelihoods`).

Also here: reconstruction error, active units (Burda et al.: dimension ``j`` is active if
``Var_x(E_q[z_j]) > 0.01``), the KL per latent dimension, the aggregate-posterior KL, codebook
usage and perplexity, and the trivial baselines a lesson compares against: independent pixels
fitted to the training set and uniform codes. Sample-quality scores (Frechet distance,
sharpness) live in :mod:`genlearn.sample_quality`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count, check_number
from genlearn.kl import kl_normal_logvar
from genlearn.models.ae import squared_error
from genlearn.models.base import (
    CodeMapModel,
    LatentGaussianModel,
    check_batch,
    draw_normal,
    eval_mode,
    map_batches,
    model_device,
)
from genlearn.models.likelihoods import grey_levels
from genlearn.models.vq import perplexity
from genlearn.models.vqvae import VQVAE

__all__ = [
    "reconstruction_error",
    "vq_bound",
    "CodebookStats",
    "codebook_stats",
    "codebook_tracker",
    "aggregate_posterior_kl",
    "IndependentPixels",
    "uniform_codes_bits_per_dim",
    "elbo",
    "iwae_bound",
    "bits_per_dim",
    "kl_per_dim",
    "active_units",
    "ActiveUnits",
    "Evaluation",
    "evaluate",
    "TestNLL",
    "test_nll",
    "likelihood_why_not",
]

_LOG_2PI = math.log(2 * math.pi)





def _latent_model(model: Any) -> Any:
    if not isinstance(model, LatentGaussianModel):
        why = getattr(type(model), "likelihood_why_not", None)
        raise ValueError(f"{type(model).__name__} is not a LatentGaussianModel (genlearn.models.base): the bounds "
                         "need latent_posterior(x), log_px_given_z(x, z), px_given_z and a prior"
                         + (f" ({why})" if why else ""))
    return model


def _batches(n: int, size: int) -> Iterator[slice]:
    for i in range(0, n, size):
        yield slice(i, min(i + size, n))


def _to_model(x: Tensor, model: Any, device: torch.device) -> Tensor:
    """A chunk of data on the model's device in its weights' dtype (data often arrive as float64 from
    NumPy; the models' own input checks then see their dtype). Non-floating data pass unchanged to be refused."""
    dtype = next((p.dtype for p in model.parameters()), None) if isinstance(model, nn.Module) else None
    return x.to(device, dtype=dtype) if dtype is not None and x.dtype.is_floating_point else x.to(device)


def _kl_term(model: Any, mu: Tensor, logvar: Tensor, z: Tensor | None = None) -> Tensor:
    """``KL(q(z|x) || p(z))`` per example: closed form when the prior offers it."""
    return model.prior.kl_from(mu, logvar, z)


def elbo(
    model: LatentGaussianModel, x: Tensor, n_samples: int = 1, *, batch_size: int = 1000,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Per-example ELBO ``(N,)`` in nats: ``(1/S) sum_s log p(x|z_s) - KL(q(z|x) || p(z))``,
    ``z_s ~ q(z|x)``, with ``S = n_samples`` and the KL in closed form where the prior gives it
    (else ``log q(z_s|x) - log p(z_s)``). Not differentiated."""
    x = check_batch(x)
    model = _latent_model(model)
    n_samples = check_count(n_samples, "n_samples")
    batch_size = check_count(batch_size, "batch_size")
    device = model_device(model, x)
    out = []
    with eval_mode(model):
        for sl in _batches(len(x), batch_size):
            xb = _to_model(x[sl], model, device)
            mu, logvar = model.latent_posterior(xb)
            rec = torch.zeros(len(xb), dtype=mu.dtype, device=mu.device)
            kl = torch.zeros(len(xb), dtype=mu.dtype, device=mu.device)
            for _ in range(n_samples):
                z = mu + torch.exp(0.5 * logvar) * draw_normal(tuple(mu.shape), mu, generator)
                rec = rec + model.log_px_given_z(xb, z).to(mu.dtype)
                kl = kl + _kl_term(model, mu, logvar, z).to(mu.dtype)
            out.append((rec - kl) / n_samples)
    return torch.cat(out).cpu()


def iwae_bound(
    model: LatentGaussianModel, x: Tensor, k: int, *, batch_size: int = 1000, max_points: int = 2**12,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Per-example importance-weighted bound ``L_K`` ``(N,)`` in nats (the module docstring)::

        log w_k = log p(x|z_k) + log p(z_k) - log N(z_k; mu, diag e^logvar)      (p(z): model.prior)
        L_K     = logsumexp_k(log w_k) - log K

    Examples are processed ``batch_size`` at a time and samples in chunks so that at most
    ``max_points`` decoder evaluations happen at once. ``-L_K`` with K = 1000 is the usual
    "test NLL" of a VAE. The default keeps each intermediate ``(max_points, 784)`` tensor of a 28x28
    image near 13 MB, which glibc's allocator mostly reuses; at ``2**14`` points each is 50 MB, above
    its largest mmap threshold (32 MB), so every one is mapped and its pages faulted afresh. K = 20
    over 1,000 images, one CPU thread, five processes each: median 0.46 s (0.35-0.80) against 1.03 s
    (0.98-1.05). Where every chunk draws a multiple of 16 normals (``n * d`` a multiple of 16, as
    with 1,000 images), torch fills them as one draw would, so the chunk size changes only the order
    of the sums (an ulp or two); otherwise it changes the Monte Carlo draws too.
    """
    x = check_batch(x)
    model = _latent_model(model)
    k = check_count(k, "k")
    batch_size, max_points = check_count(batch_size, "batch_size"), check_count(max_points, "max_points")
    device = model_device(model, x)
    out = []
    with eval_mode(model):
        for sl in _batches(len(x), batch_size):
            xb = _to_model(x[sl], model, device)
            n = len(xb)
            mu, logvar = model.latent_posterior(xb)
            d = mu.shape[-1]
            std = torch.exp(0.5 * logvar)
            chunk = max(1, min(k, max_points // n))
            acc = torch.full((n,), -math.inf, dtype=mu.dtype, device=mu.device)
            for start in range(0, k, chunk):
                c = min(chunk, k - start)
                eps = draw_normal((c, n, d), mu, generator)
                z = mu + std * eps  # (c, n, d)
                log_q = -0.5 * (eps.pow(2) + logvar + _LOG_2PI).sum(-1)
                log_prior = model.prior.log_prob(z).to(mu.dtype)
                xr = xb.unsqueeze(0).expand(c, *xb.shape).reshape(c * n, *xb.shape[1:])
                log_lik = model.log_px_given_z(xr, z.reshape(c * n, d)).reshape(c, n).to(mu.dtype)
                acc = torch.logaddexp(acc, torch.logsumexp(log_lik + log_prior - log_q, dim=0))
            out.append(acc - math.log(k))
    return torch.cat(out).cpu()


def bits_per_dim(nats: Tensor | float, n_dims: int) -> Tensor | float:
    """Convert a negative log-likelihood in nats per example to bits per dimension:
    ``nats / (n_dims * ln 2)``."""
    n_dims = check_count(n_dims, "n_dims")
    if isinstance(nats, Tensor):
        if not nats.dtype.is_floating_point or not bool(torch.isfinite(nats).all()):
            raise ValueError(f"nats must be finite floating values, got {nats}")
    else:
        nats = check_number(nats, "nats", lo=-math.inf)
    return nats / (n_dims * math.log(2))


def _posterior_params(model: LatentGaussianModel, x: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
    x = check_batch(x)
    model = _latent_model(model)
    device = model_device(model, x)
    mus, logvars = [], []
    with eval_mode(model):
        for sl in _batches(len(x), check_count(batch_size, "batch_size")):
            mu, logvar = model.latent_posterior(_to_model(x[sl], model, device))
            mus.append(mu.cpu())
            logvars.append(logvar.cpu())
    mu, logvar = torch.cat(mus), torch.cat(logvars)
    _finite_codes(x, mu, logvar)
    return mu, logvar


def _finite_codes(x: Tensor, *stats: Tensor) -> None:
    """A ValueError naming x when the encoder's codes, or a statistic of them, overflowed."""
    if not all(bool(torch.isfinite(t).all()) for t in stats):
        big = float(x.detach().abs().max())
        raise ValueError(f"x gives non-finite codes in the encoder (largest |x| = {big:.3g}): float arithmetic "
                         "overflowed; rescale x to the range the model was trained on")


def kl_per_dim(model: LatentGaussianModel, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Mean over the examples of ``KL(q(z_j|x) || N(0, 1))`` for each latent dimension ``j``,
    shape ``(latent_dim,)`` in nats (the sum is the average KL term of a VAE's ELBO)."""
    mu, logvar = _posterior_params(model, x, batch_size)
    kl = kl_normal_logvar(mu.unsqueeze(-1), logvar.unsqueeze(-1)).mean(0)
    _finite_codes(x, kl)
    return kl


class ActiveUnits(NamedTuple):
    """``count`` of dimensions whose ``variance`` ``Var_x(E_q[z_j])`` exceeds ``threshold``."""

    count: int
    variance: Tensor
    threshold: float


def active_units(model: LatentGaussianModel, x: Tensor, threshold: float = 0.01, batch_size: int = 1000) -> ActiveUnits:
    """Active units (Burda et al., 2016): ``A_j = Var_x(mu_j(x))`` over the examples ``x``
    (``E_q[z_j] = mu_j``; sample variance, N - 1 in the denominator); unit ``j`` is active
    if ``A_j > threshold``."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold >= 0:
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    mu, _ = _posterior_params(model, x, batch_size)
    if len(mu) < 2:
        raise ValueError("active_units needs at least 2 examples to measure a variance")
    var = mu.var(dim=0, correction=1)
    _finite_codes(x, var)
    return ActiveUnits(int((var > threshold).sum()), var, float(threshold))


class Evaluation(NamedTuple):
    """Test-set figures, averaged over examples: nats per example unless named otherwise."""

    neg_elbo: float
    nll: float
    bits_per_dim: float
    kl: float
    active_units: int


def evaluate(
    model: LatentGaussianModel, x: Tensor, k: int = 1000, elbo_repeats: int = 10,
    generator: torch.Generator | None = None,
) -> Evaluation:
    """Average ``-ELBO`` (one z per example, averaged over ``elbo_repeats`` draws), NLL
    ``-L_K`` (importance sampling, ``k`` samples), NLL in bits per dimension, mean KL and
    the number of active units on the examples ``x``."""
    elbo_repeats = check_count(elbo_repeats, "elbo_repeats")
    neg_elbo = torch.stack([-elbo(model, x, 1, generator=generator).mean() for _ in range(elbo_repeats)])
    nll = -iwae_bound(model, x, k, generator=generator).mean()
    n_dims = math.prod(x.shape[1:])
    return Evaluation(
        neg_elbo=float(neg_elbo.mean()),
        nll=float(nll),
        bits_per_dim=float(bits_per_dim(nll, n_dims)),
        kl=float(kl_per_dim(model, x).sum()),
        active_units=active_units(model, x).count,
    )


# ----------------------------------------------------------------------------- the one entry
class TestNLL(NamedTuple):
    """:func:`test_nll`'s answer. ``nats``: the mean upper bound on ``-log p(x)`` per example
    (None when there is no likelihood); ``bits_per_dim``: the same in bits per dimension;
    ``likelihood``: the likelihood's name (``"bernoulli"``, ``"logistic"``, ``"gaussian"``);
    ``estimator``: ``"iwae"`` (with ``k`` samples) or ``"vq_bound"``; ``why_not``: the reason when
    there is no figure."""

    __test__ = False  # not a pytest test class

    nats: float | None
    bits_per_dim: float | None
    likelihood: str | None
    estimator: str | None
    k: int | None
    why_not: str | None


def likelihood_why_not(model: Any, x: Tensor | None = None) -> str | None:
    """Why ``model`` has no likelihood of the data ``x`` (None when it has one): it defines none (its
    class's ``likelihood_why_not``, or no likelihood capability), its loss is not a likelihood, or
    ``x`` is not data its likelihood is a likelihood of."""
    declared = getattr(type(model), "likelihood_why_not", None)
    if declared:
        return str(declared)
    if not isinstance(model, (LatentGaussianModel, CodeMapModel)):
        return (f"{type(model).__name__} defines no likelihood p(x|z) (it is neither a LatentGaussianModel nor a "
                "CodeMapModel, genlearn.models.base)")
    lik = model.px_given_z
    if not lik.is_likelihood:
        return f"the model is trained on {lik.name!r} ({type(lik).__name__}), which is not a likelihood"
    if x is not None:
        try:
            lik.check_data(x)
        except ValueError as err:
            return str(err)
    return None


def test_nll(model: Any, x: Tensor, k: int = 100, *, generator: torch.Generator | None = None,
             batch_size: int = 1000) -> TestNLL:
    """The test NLL of any protocol model on ``x`` (module docstring): ``-L_K`` (IWAE, ``k`` samples)
    for a :class:`LatentGaussianModel`, ``-(log p(x|z_q(k)) + log p(k))`` for a :class:`CodeMapModel`,
    averaged over the examples; or the reason there is none (``why_not``)."""
    x = check_batch(x)
    k = check_count(k, "k")
    why = likelihood_why_not(model, x)
    if why is not None:
        return TestNLL(None, None, None, None, None, why)
    n_dims = math.prod(x.shape[1:])
    if isinstance(model, LatentGaussianModel):
        nats = float(-iwae_bound(model, x, k, batch_size=batch_size, generator=generator).mean())
        estimator, used_k = "iwae", k
    else:
        nats = float(-vq_bound(model, x, batch_size=batch_size).mean())
        estimator, used_k = "vq_bound", None
    return TestNLL(nats, float(bits_per_dim(nats, n_dims)), model.px_given_z.name, estimator, used_k, None)


test_nll.__test__ = False  # a library function, not a pytest test


# ----------------------------------------------------------------------------- reconstruction
def reconstruction_error(model: Any, x: Tensor, batch_size: int = 1000) -> float:
    """Squared error per example (sum over pixels, mean over examples) of ``model.reconstruct(x)``."""
    x = check_batch(x)
    recon = map_batches(model.reconstruct, model, x, batch_size)
    return float(squared_error(recon, x.cpu().to(recon.dtype)).mean())


# ----------------------------------------------------------------------------- VQ-VAE
def vq_bound(model: CodeMapModel, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Per-example lower bound on ``log p(x)`` in nats, ``(N,)``, of a VQ-VAE with its prior
    ``model.prior`` (uniform codes or a fitted PixelCNN): ``log p(x|z_q(k)) + log p_prior(k)``,
    ``k`` the code map of x (module docstring). Refuses data the likelihood is not a likelihood of."""
    if not isinstance(model, CodeMapModel):
        raise ValueError(f"vq_bound needs a CodeMapModel (code maps and their prior, e.g. a VQVAE), got "
                         f"{type(model).__name__}")
    x = check_batch(x)
    batch_size = check_count(batch_size, "batch_size")
    dev = model_device(model)
    out = []
    with eval_mode(model):
        for sl in _batches(len(x), batch_size):
            xb = _to_model(x[sl], model, dev)
            k = model.encode_indices(xb)
            out.append((model.log_px_given_codes(xb, k).double() + model.prior.log_prob(k).to(dev).double()).cpu())
    return torch.cat(out)


class CodebookStats(NamedTuple):
    """Code usage over a data set: ``counts`` (K,), ``used`` (fraction of codes picked at
    least once), ``perplexity`` (exp of the usage entropy, 1..K), ``dead`` (number of unused codes)."""

    counts: Tensor
    used: float
    perplexity: float
    dead: int


def codebook_stats(model: VQVAE, x: Tensor, batch_size: int = 1000) -> CodebookStats:
    """How the images ``x`` use the codebook (eval mode, no state change)."""
    idx = map_batches(model.encode_indices, model, check_batch(x), batch_size).reshape(-1)
    counts = torch.bincount(idx, minlength=model.num_codes)
    used = int((counts > 0).sum())
    return CodebookStats(counts, used / model.num_codes, float(perplexity(counts.double(), model.num_codes)),
                         model.num_codes - used)


def codebook_tracker(x: Tensor, prefix: str = "data_", model: VQVAE | None = None) -> Callable[..., None]:
    """An ``after_epoch`` hook for :func:`genlearn.train.fit` that appends, after every epoch,
    the codebook usage on ``x`` to ``history[prefix + "used"]`` (fraction of codes used) and
    ``history[prefix + "perplexity"]``. Given ``model``, the untrained state is measured now
    and becomes entry 0 (then entry ``e`` is the state after ``e`` epochs)."""
    start = [codebook_stats(model, x)] if model is not None else []

    def record(history: dict[str, list[float]], stats: CodebookStats) -> None:
        history.setdefault(prefix + "used", []).append(stats.used)
        history.setdefault(prefix + "perplexity", []).append(stats.perplexity)

    def track(epoch: int, model: nn.Module, history: dict[str, list[float]]) -> None:
        while start:
            record(history, start.pop())
        record(history, codebook_stats(model, x))

    return track


def uniform_codes_bits_per_dim(num_codes: int, code_shape: tuple[int, int], n_dims: int) -> float:
    """What the code maps alone cost under uniform codes: ``h w log2 K / D`` bits per dimension."""
    h, w = (check_count(s, "code_shape") for s in code_shape)
    return h * w * math.log2(check_count(num_codes, "num_codes")) / check_count(n_dims, "n_dims")


# ----------------------------------------------------------------------------- latent statistics
def aggregate_posterior_kl(mu: Tensor, logvar: Tensor) -> float:
    """``KL(N(m, S) || N(0, I))`` for the Gaussian fitted to the aggregate posterior
    ``q(z) = mean_x q(z|x)`` of codes ``q(z|x_n) = N(mu_n, diag exp(logvar_n))``, in nats:
    ``m = mean mu``, ``S = Cov(mu) + mean diag exp(logvar)``,
    ``KL = (tr S + |m|^2 - d - log det S) / 2``; 0 when the pooled codes look like prior draws
    (to second order). ``mu``, ``logvar``: ``(N, d)``, N >= 2."""
    if not isinstance(mu, Tensor) or not isinstance(logvar, Tensor) or mu.ndim != 2 or mu.shape != logvar.shape:
        raise ValueError("mu and logvar must be tensors of the same shape (N, d)")
    check_count(len(mu), "number of codes", minimum=2)
    mu, logvar = mu.detach().double().cpu(), logvar.detach().double().cpu()
    m = mu.mean(0)
    s = torch.cov(mu.T).reshape(len(m), len(m)) + torch.diag(logvar.exp().mean(0))
    return float(0.5 * (s.trace() + m.pow(2).sum() - len(m) - torch.linalg.slogdet(s)[1]))


# ----------------------------------------------------------------------------- baselines
class IndependentPixels:
    """The trivial baseline: every pixel independent, a categorical over the data's grey levels
    (a Bernoulli for binary data) fitted to the training set by counting, with add-``alpha``
    smoothing::

        p_i(v) = (count_i(v) + alpha) / (N + alpha L),   log p(x) = sum_i log p_i(x_i)

    A model worth its parameters beats it in bits per dimension."""

    def __init__(self, x_train: Tensor, levels: int | None = None, alpha: float = 1.0) -> None:
        x_train = check_batch(x_train, "x_train")
        self.levels = levels or grey_levels(x_train)
        if self.levels is None:
            raise ValueError("x_train must take grey levels k/(L-1) in [0, 1] (binary, 17 or 256 levels); "
                             "an independent-pixel likelihood of continuous data would be a density")
        self.shape = tuple(x_train.shape[1:])
        k = self._levels_of(x_train)
        counts = torch.zeros(k.shape[1], self.levels, dtype=torch.float64)
        counts.scatter_add_(1, k.T.contiguous(), torch.ones(k.T.shape, dtype=torch.float64))
        self.log_p = ((counts + alpha) / (len(k) + alpha * self.levels)).log()  # (D, L)

    def _levels_of(self, x: Tensor) -> Tensor:
        k = x.detach().cpu().double().flatten(1) * (self.levels - 1)
        if not bool(((k - k.round()).abs() <= 1e-4).all()) or float(k.min()) < 0 or float(k.max()) > self.levels - 1:
            raise ValueError(f"x must take the {self.levels} grey levels k/{self.levels - 1} of the fitted baseline")
        return k.round().long()

    def log_prob(self, x: Tensor) -> Tensor:
        """``log p(x)`` per example, ``(N,)`` nats."""
        x = check_batch(x)
        if tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"x must have shape (N, {', '.join(map(str, self.shape))}), got {tuple(x.shape)}")
        k = self._levels_of(x)
        return self.log_p.gather(1, k.T).sum(0)

    def bits_per_dim(self, x: Tensor) -> float:
        """Mean ``-log2 p(x) / D`` over the examples."""
        return float(bits_per_dim(-self.log_prob(x).mean(), math.prod(self.shape)))
