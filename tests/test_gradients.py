import pytest
import torch

from genlearn.gradients import reparameterization_gradients, score_function_gradients


def test_both_estimators_are_unbiased_and_reparameterisation_has_lower_variance():
    f = lambda z: (z - 3.0) ** 2  # noqa: E731  d/dmu E[f] = 2 (mu - 3)
    gen = torch.Generator().manual_seed(0)
    rep = reparameterization_gradients(f, 0.5, 1.0, 50_000, gen)
    sf = score_function_gradients(f, 0.5, 1.0, 50_000, gen)
    for g in (rep, sf):
        assert abs(g.mean() - (-5.0)) < 4 * g.std() / len(g) ** 0.5
    # Var of the pathwise gradient 2 (mu + eps - 3) is 4 exactly
    assert float(rep.var()) == pytest.approx(4.0, rel=0.03)
    assert sf.var() > 10 * rep.var()


def test_reparameterisation_gradient_of_linear_function_is_constant():
    g = reparameterization_gradients(lambda z: 3 * z, 0.0, 2.0, 10)
    assert torch.equal(g, torch.full((10,), 3.0, dtype=torch.float64))


@pytest.mark.parametrize("sigma", [0.0, -1.0])
def test_nonpositive_sigma_rejected(sigma):
    with pytest.raises(ValueError, match="sigma must be > 0"):
        score_function_gradients(lambda z: z, 0.0, sigma, 10)


def test_too_few_samples_rejected():
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        reparameterization_gradients(lambda z: z, 0.0, 1.0, 1)
