import math

import pytest
import sympy as sp
import torch
from torch.distributions import Normal, kl_divergence

from genlearn import kl as K

MUS = [0.0, 0.5, -2.0, 10.0, -10.0]
SIGMAS = [1e-3, 0.1, 1.0, 2.5, 7.0]


@pytest.mark.parametrize("mu", MUS)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_kl_normal_matches_quadrature(mu, sigma):
    closed = K.kl_normal(mu, sigma)
    grid = torch.linspace(mu - 14 * sigma, mu + 14 * sigma, 4001, dtype=torch.float64)
    quad = float(K.kl_quadrature(K.normal_logpdf(mu, sigma), K.normal_logpdf(0.0, 1.0), grid))
    assert abs(quad - closed) <= 1e-6 * max(abs(closed), 1e-3)


@pytest.mark.parametrize("mu", MUS)
@pytest.mark.parametrize("sigma", SIGMAS)
def test_kl_normal_matches_monte_carlo_within_four_standard_errors(mu, sigma):
    gen = torch.Generator().manual_seed(0)
    est = K.kl_monte_carlo(
        K.normal_logpdf(mu, sigma), K.normal_logpdf(0.0, 1.0),
        lambda n: mu + sigma * torch.randn(n, generator=gen, dtype=torch.float64), 20_000,
    )
    closed = K.kl_normal(mu, sigma)
    assert abs(est.value - closed) <= 4 * est.stderr + 1e-12


@pytest.mark.parametrize("mu_p,sigma_p,mu_q,sigma_q", [(1.0, 2.0, -1.0, 0.5), (0.0, 1e-3, 3.0, 4.0)])
def test_kl_normal_general_matches_torch(mu_p, sigma_p, mu_q, sigma_q):
    want = float(kl_divergence(Normal(mu_p, sigma_p), Normal(mu_q, sigma_q)))
    assert K.kl_normal(mu_p, sigma_p, mu_q, sigma_q) == pytest.approx(want, rel=1e-6)


def test_kl_normal_zero_only_at_standard_normal():
    assert K.kl_normal(0.0, 1.0) == 0.0
    assert K.kl_normal(1e-3, 1.0) > 0 and K.kl_normal(0.0, 1.001) > 0


def test_kl_normal_floats_give_float_and_tensors_give_differentiable_tensor():
    assert isinstance(K.kl_normal(1.0, 2.0), float)
    mu = torch.tensor([0.5, -1.0], requires_grad=True)
    out = K.kl_normal(mu, torch.tensor([1.0, 2.0]))
    assert isinstance(out, torch.Tensor) and out.shape == (2,)
    out.sum().backward()
    assert torch.allclose(mu.grad, mu.detach())  # d/dmu of mu^2/2


def test_kl_normal_logvar_sums_last_dimension():
    mu = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0], [0.0, math.log(4.0)]])
    want = torch.tensor([0.5, 2.0 + 0.5 * (4 - 1 - math.log(4.0))])
    assert torch.allclose(K.kl_normal_logvar(mu, logvar), want)


def test_derive_kl_normal_simplifies_to_closed_form():
    mu, sigma = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
    closed = sp.log(1 / sigma) + (sigma**2 + mu**2) / 2 - sp.Rational(1, 2)
    assert sp.simplify(K.derive_kl_normal() - closed) == 0


def test_derive_kl_normal_general_matches_numbers():
    expr = K.derive_kl_normal(general=True)
    values = {"mu_p": 1.0, "sigma_p": 2.0, "mu_q": -1.0, "sigma_q": 0.5}
    subs = {s: values[s.name] for s in expr.free_symbols}
    assert float(expr.subs(subs)) == pytest.approx(K.kl_normal(1.0, 2.0, -1.0, 0.5), rel=1e-12)


# --- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.0, -0.5])
def test_nonpositive_sigma_rejected(sigma):
    with pytest.raises(ValueError, match="sigma_p must be > 0"):
        K.kl_normal(0.0, sigma)
    with pytest.raises(ValueError, match="sigma_q must be > 0"):
        K.kl_normal(0.0, 1.0, 0.0, sigma)


def test_nan_rejected():
    with pytest.raises(ValueError, match="mu_p contains NaN"):
        K.kl_normal(float("nan"), 1.0)
    with pytest.raises(ValueError, match="logvar contains NaN"):
        K.kl_normal_logvar(torch.zeros(2, 3), torch.full((2, 3), float("nan")))


def test_mismatched_shapes_rejected():
    with pytest.raises(ValueError, match="same shape"):
        K.kl_normal(torch.zeros(3), torch.ones(4))
    with pytest.raises(ValueError, match="same shape"):
        K.kl_normal_logvar(torch.zeros(2, 3), torch.zeros(2, 4))


def test_quadrature_rejects_bad_grid():
    with pytest.raises(ValueError, match="strictly increasing"):
        K.kl_quadrature(K.normal_logpdf(), K.normal_logpdf(), torch.tensor([0.0, 0.0, 1.0]))


def test_monte_carlo_rejects_n_below_one():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        K.kl_monte_carlo(K.normal_logpdf(), K.normal_logpdf(), lambda n: torch.randn(n), 0)
