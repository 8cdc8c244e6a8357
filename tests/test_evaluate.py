"""genlearn.evaluate on the linear-Gaussian model, where log p(x) and p(z|x) are exact."""

import math

import pytest
import torch

from genlearn.evaluate import Evaluation, active_units, bits_per_dim, elbo, evaluate, iwae_bound, kl_per_dim
from genlearn.models import VAE, LinearGaussian


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def model():
    return LinearGaussian.random(5, 2, sigma=0.7, generator=_gen(0))


@pytest.fixture
def poor_encoder_model(model):
    """The same model with a deliberately poor q(z|x): shrunk mean, inflated variance."""

    def encoder(x):
        mu, logvar = model.mean_field(x)
        return 0.7 * mu, logvar + 1.0

    model.encoder = encoder
    return model


def test_log_marginal_matches_the_multivariate_normal(model):
    x = model.sample(50, generator=_gen(1))
    C = model.W.detach() @ model.W.detach().T + 0.49 * torch.eye(5, dtype=torch.float64)
    expected = torch.distributions.MultivariateNormal(model.b.detach(), C).log_prob(x)
    torch.testing.assert_close(model.log_marginal(x).detach(), expected, rtol=0, atol=1e-10)


def test_elbo_gap_is_the_kl_to_the_exact_posterior(model):
    # log p(x) = ELBO(q) + KL(q || p(z|x)) for any q: here a random one
    x = model.sample(30, generator=_gen(2))
    mu = torch.randn(30, 2, generator=_gen(3), dtype=torch.float64)
    logvar = torch.randn(30, 2, generator=_gen(4), dtype=torch.float64)
    with torch.no_grad():
        lhs = model.log_marginal(x)
        kl = model.kl_to_posterior(x, mu, logvar)
        rhs = model.elbo_exact(x, mu, logvar) + kl
    torch.testing.assert_close(lhs, rhs, rtol=0, atol=1e-9)
    assert (kl > 0).all()


def test_kl_to_posterior_matches_torch_distributions(model):
    x = model.sample(3, generator=_gen(5))
    mu = torch.randn(3, 2, generator=_gen(6), dtype=torch.float64)
    logvar = torch.randn(3, 2, generator=_gen(7), dtype=torch.float64)
    m, S = model.posterior(x)
    with torch.no_grad():
        for i in range(3):
            q = torch.distributions.MultivariateNormal(mu[i], torch.diag(logvar[i].exp()))
            p = torch.distributions.MultivariateNormal(m[i], S)
            expected = torch.distributions.kl_divergence(q, p)
            torch.testing.assert_close(model.kl_to_posterior(x[i : i + 1], mu[i : i + 1], logvar[i : i + 1])[0],
                                       expected, rtol=0, atol=1e-10)


def test_importance_weights_are_constant_when_q_is_the_exact_posterior():
    # orthogonal columns of W make the posterior diagonal, so mean-field q = p(z|x) and every
    # weight p(x|z)p(z)/q(z|x) equals p(x): L_1 = log p(x) exactly (all constants included)
    Q, _ = torch.linalg.qr(torch.randn(6, 3, generator=_gen(8), dtype=torch.float64))
    model = LinearGaussian.from_params(Q * torch.tensor([2.0, 1.0, 0.5], dtype=torch.float64),
                                       torch.randn(6, generator=_gen(9), dtype=torch.float64), sigma=0.3)
    x = model.sample(40, generator=_gen(10))
    lp = model.log_marginal(x).detach()
    mu, logvar = model.mean_field(x)
    assert float(model.kl_to_posterior(x, mu, logvar).detach().abs().max()) < 1e-10
    for k in (1, 7):
        torch.testing.assert_close(iwae_bound(model, x, k, generator=_gen(11)), lp, rtol=0, atol=1e-9)


def test_elbo_estimate_is_unbiased(poor_encoder_model):
    model = poor_encoder_model
    x = model.sample(400, generator=_gen(13))
    mu, logvar = model.encode(x)
    exact = model.elbo_exact(x, mu, logvar).detach()
    diff = elbo(model, x, n_samples=1, generator=_gen(14)) - exact  # independent, mean zero
    assert abs(float(diff.mean())) < 4 * float(diff.std()) / math.sqrt(len(diff))


def test_iwae_bound_rises_with_k_towards_the_exact_log_likelihood(poor_encoder_model):
    model = poor_encoder_model
    x = model.sample(100, generator=_gen(15))
    lp = model.log_marginal(x).detach()
    mu, logvar = model.encode(x)
    gap_elbo = float((lp - model.elbo_exact(x, mu, logvar).detach()).mean())
    gaps = {k: lp - iwae_bound(model, x, k, generator=_gen(16)) for k in (1, 5, 50)}
    means = {k: float(g.mean()) for k, g in gaps.items()}
    assert means[1] > means[5] > means[50], means
    # L_1 is a one-sample ELBO estimate: its mean gap is the exact ELBO gap, within MC error
    assert abs(means[1] - gap_elbo) < 4 * float(gaps[1].std()) / 10
    # with many samples (computed in 10 chunks) the bound reaches log p(x) within MC error
    gap = lp - iwae_bound(model, x, 2000, max_points=20_000, generator=_gen(17))
    assert abs(float(gap.mean())) < 4 * float(gap.std()) / 10 + 1e-3
    assert float(gap.mean()) < gap_elbo / 100


def test_iwae_bound_does_not_depend_on_the_chunk_size(model):
    """With n * d a multiple of 16 (torch fills normal draws in blocks of 16), max_points only splits
    the same draws into chunks and changes the order of the sums."""
    x = model.sample(32, generator=_gen(18))  # n * d = 32 * 2
    whole = iwae_bound(model, x, 40, max_points=32 * 40, generator=_gen(19))
    for max_points in (1, 32 * 7, 32 * 39):
        chunked = iwae_bound(model, x, 40, max_points=max_points, generator=_gen(19))
        torch.testing.assert_close(chunked, whole, rtol=1e-12, atol=1e-12)


def test_iwae_is_at_least_the_elbo_on_average_for_a_vae():
    torch.manual_seed(0)
    model = VAE((1, 4, 4), 2, hidden=(16,))
    with torch.no_grad():  # a decoder that depends strongly on z and a poor encoder: large gaps
        model.decoder[0][0].weight.mul_(5)
        model.encoder[1][-1].weight.mul_(0.2)
    x = (torch.rand(64, 1, 4, 4, generator=_gen(18)) > 0.5).float()
    e = elbo(model, x, n_samples=50, generator=_gen(19)).mean()
    iw = {k: iwae_bound(model, x, k, generator=_gen(20)).mean() for k in (10, 100)}
    assert e < iw[10] < iw[100]


def test_bits_per_dim_converts_nats():
    assert bits_per_dim(64 * math.log(2), 64) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        bits_per_dim(1.0, 0)


def test_a_latent_the_decoder_ignores_is_inactive_with_zero_kl():
    W = torch.randn(5, 3, generator=_gen(21), dtype=torch.float64)
    W[:, 1] = 0  # z_1 does not reach x: its posterior is the prior
    model = LinearGaussian.from_params(W, torch.zeros(5, dtype=torch.float64), sigma=0.5)
    x = model.sample(300, generator=_gen(22))
    kl = kl_per_dim(model, x)
    assert kl.shape == (3,) and float(kl[1]) == pytest.approx(0.0, abs=1e-12) and (kl[[0, 2]] > 0.1).all()
    au = active_units(model, x)
    assert au.count == 2 and float(au.variance[1]) == 0.0 and au.threshold == 0.01
    with torch.no_grad():
        mu, _ = model.encode(x)
    torch.testing.assert_close(au.variance, mu.var(0))


def test_evaluate_reports_consistent_figures(model):
    x = model.sample(50, generator=_gen(23))
    result = evaluate(model, x, k=200, elbo_repeats=4, generator=_gen(24))
    assert isinstance(result, Evaluation)
    assert result.bits_per_dim == pytest.approx(result.nll / (5 * math.log(2)))
    assert result.nll == pytest.approx(-float(model.log_marginal(x).detach().mean()), abs=0.05)
    mu, logvar = model.encode(x)
    exact = model.elbo_exact(x, mu, logvar).detach()
    spread = float((elbo(model, x, generator=_gen(25)) - exact).std())  # one-sample ELBO noise
    assert result.neg_elbo == pytest.approx(-float(exact.mean()), abs=4 * spread / math.sqrt(4 * 50))
    assert result.kl == pytest.approx(float(kl_per_dim(model, x).sum()))
    assert result.active_units == 2


def test_estimators_reject_bad_input(model):
    with pytest.raises(ValueError, match="k must be"):
        iwae_bound(model, model.sample(3), 0)
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        elbo(model, torch.zeros(3, 4, dtype=torch.float64))
