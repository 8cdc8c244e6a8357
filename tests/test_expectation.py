import math

import pytest
import torch

from genlearn import expectation as E


@pytest.fixture(autouse=True)
def float64_by_default():
    """These tests compare against exact values: float64, restored afterwards for other modules."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def normal_pdf(mu, sigma):
    return lambda x: torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def test_riemann_is_right_endpoint_sum():
    grid = torch.tensor([0.0, 0.5, 2.0])
    got = E.riemann(lambda x: x, lambda x: torch.ones_like(x), grid)
    assert got == pytest.approx(0.5 * 0.5 + 2.0 * 1.5)


def test_trapezoid_exact_for_linear_integrand_on_uneven_grid():
    grid = torch.tensor([0.0, 0.1, 0.7, 1.0])
    got = E.trapezoid(lambda x: x, lambda x: torch.ones_like(x), grid)
    assert got == pytest.approx(0.5, abs=1e-15)


def test_quadrature_of_normal_mean():
    grid = torch.linspace(-10, 14, 2001)
    assert E.trapezoid(lambda x: x, normal_pdf(2.0, 1.5), grid) == pytest.approx(2.0, abs=1e-9)
    assert E.riemann(lambda x: x, normal_pdf(2.0, 1.5), grid) == pytest.approx(2.0, abs=1e-9)


def test_self_normalised_rules_ignore_the_density_constant():
    grid = torch.linspace(-10, 14, 2001)
    pdf = lambda x: 17.0 * normal_pdf(2.0, 1.5)(x)  # noqa: E731
    assert E.trapezoid(lambda x: x, pdf, grid, normalise=True) == pytest.approx(2.0, abs=1e-9)
    assert E.riemann(lambda x: x, pdf, grid, normalise=True) == pytest.approx(2.0, abs=1e-9)


def test_printed_range_weight_is_off_by_grid_width():
    grid = torch.linspace(-8, 12, 4001)  # width 20
    right = E.riemann(lambda x: x, normal_pdf(2.0, 1.5), grid)
    printed = E.range_normalised_sum(lambda x: x, normal_pdf(2.0, 1.5), grid)
    assert float(printed) == pytest.approx(float(right) / 20.0, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 12])
def test_gauss_hermite_exact_up_to_degree_2n_minus_1(n):
    mu, sigma = 0.7, 1.3
    # exact E[x^k] for N(mu, sigma^2) from the moment recursion m_k = mu m_{k-1} + (k-1) sigma^2 m_{k-2}
    moments = [1.0, mu]
    for k in range(2, 2 * n):
        moments.append(mu * moments[k - 1] + (k - 1) * sigma**2 * moments[k - 2])
    for k in range(2 * n):
        got = E.gauss_hermite(lambda x, k=k: x**k, mu, sigma, n)
        assert abs(float(got) - moments[k]) <= 1e-10 * max(1.0, abs(moments[k]))


def test_gauss_hermite_not_exact_beyond_degree_2n_minus_1():
    assert abs(float(E.gauss_hermite(lambda x: x**4, 0.0, 1.0, n=2)) - 3.0) > 0.5


def test_monte_carlo_estimate_and_standard_error():
    gen = torch.Generator().manual_seed(0)
    est = E.monte_carlo(lambda x: x**2, lambda n: torch.randn(n, generator=gen), 40_000)
    assert abs(est.value - 1.0) < 4 * est.stderr
    assert est.stderr == pytest.approx(math.sqrt(2 / 40_000), rel=0.05)  # Var[x^2] = 2


def test_monte_carlo_standard_error_shrinks_like_inverse_sqrt_n():
    gen = torch.Generator().manual_seed(1)
    ns = [100, 400, 1600, 6400, 25600, 102400]
    ses = [float(E.monte_carlo(lambda x: x, lambda n: torch.randn(n, generator=gen), n).stderr) for n in ns]
    assert abs(E.loglog_slope(ns, ses) + 0.5) < 0.1


def test_monte_carlo_value_keeps_gradients():
    mu = torch.tensor(0.3, requires_grad=True)
    eps = torch.randn(1000, generator=torch.Generator().manual_seed(0))
    est = E.monte_carlo(lambda x: x**2, lambda n: mu + eps[:n], 1000)
    est.value.backward()
    assert float(mu.grad) == pytest.approx(float(2 * (mu.detach() + eps).mean()), rel=1e-9)


def test_importance_sampling_matches_target_mean():
    gen = torch.Generator().manual_seed(2)
    log_p = lambda x: -0.5 * (x - 3) ** 2  # noqa: E731  (unnormalised for the self-normalised form)
    log_q = lambda x: -0.5 * (x / 2) ** 2 - math.log(2)  # noqa: E731
    sample_q = lambda n: 2 * torch.randn(n, generator=gen)  # noqa: E731
    est = E.importance_sampling(lambda x: x, log_p, log_q, sample_q, 50_000, self_normalised=True)
    assert abs(est.value - 3.0) < 4 * est.stderr and est.stderr < 0.05
    log_p_norm = lambda x: log_p(x) - 0.5 * math.log(2 * math.pi)  # noqa: E731
    log_q_norm = lambda x: log_q(x) - 0.5 * math.log(2 * math.pi)  # noqa: E731
    plain = E.importance_sampling(lambda x: x, log_p_norm, log_q_norm, sample_q, 50_000)
    assert abs(plain.value - 3.0) < 4 * plain.stderr


def test_product_midpoint_counts_mass_in_two_dimensions():
    pdf = lambda z: torch.exp(-0.5 * (z**2).sum(1)) / (2 * math.pi)  # noqa: E731
    got = E.product_midpoint(lambda z: torch.ones(len(z)), pdf, -6.0, 6.0, 60, 2)
    assert got == pytest.approx(1.0, abs=1e-6)


def test_loglog_slope_recovers_power_law():
    ns = torch.tensor([1.0, 10.0, 100.0])
    assert E.loglog_slope(ns, 5 * ns**-2) == pytest.approx(-2.0)


# --- bad input -------------------------------------------------------------------------
def test_grid_not_increasing_is_rejected():
    with pytest.raises(ValueError, match="strictly increasing"):
        E.trapezoid(lambda x: x, lambda x: x, torch.tensor([0.0, 2.0, 1.0]))


def test_grid_with_nan_is_rejected():
    with pytest.raises(ValueError, match="NaN"):
        E.riemann(lambda x: x, lambda x: x, torch.tensor([0.0, float("nan"), 1.0]))


def test_grid_must_be_1d_with_two_points():
    with pytest.raises(ValueError, match="1-D"):
        E.trapezoid(lambda x: x, lambda x: x, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="at least 2"):
        E.trapezoid(lambda x: x, lambda x: x, torch.zeros(1))


def test_function_with_wrong_output_shape_is_rejected():
    with pytest.raises(ValueError, match="one value per point"):
        E.trapezoid(lambda x: x.sum(), lambda x: x, torch.linspace(0, 1, 5))


def test_negative_density_is_rejected():
    with pytest.raises(ValueError, match="pdf must be >= 0"):
        E.trapezoid(lambda x: x, lambda x: -torch.ones_like(x), torch.linspace(0, 1, 5))


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_sample_count_is_rejected(n):
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        E.monte_carlo(lambda x: x, lambda k: torch.zeros(int(k)), n)


def test_sampler_returning_wrong_count_is_rejected():
    with pytest.raises(ValueError, match="must return n=10 draws"):
        E.monte_carlo(lambda x: x, lambda k: torch.zeros(3), 10)


def test_nan_samples_are_rejected():
    with pytest.raises(ValueError, match="NaN"):
        E.monte_carlo(lambda x: x, lambda k: torch.full((k,), float("nan")), 4)


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_gauss_hermite_rejects_nonpositive_sigma(sigma):
    with pytest.raises(ValueError, match="sigma must be > 0"):
        E.gauss_hermite(lambda x: x, 0.0, sigma, 5)


def test_gauss_hermite_rejects_nan_mu():
    with pytest.raises(ValueError, match="mu contains NaN"):
        E.gauss_hermite(lambda x: x, float("nan"), 1.0, 5)
