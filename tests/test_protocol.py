"""The model protocol (genlearn.models.base), priors as objects, true likelihoods, and the
library's shape: every model answers the same questions the same way."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from genlearn.checkpoint import load, save
from genlearn.data import load_digits
from genlearn.evaluate import (
    IndependentPixels,
    elbo,
    iwae_bound,
    reconstruction_error,
    uniform_codes_bits_per_dim,
    vq_bound,
)
from genlearn.models import (
    AE,
    VAE,
    VAEGAN,
    VQVAE,
    CodePrior,
    DiscretizedLogistic,
    FittedGaussian,
    GenerativeModel,
    LinearGaussian,
    StandardNormal,
    UniformCodes,
    vae_loss,
)
from genlearn.runtime import seed_everything

ROOT = Path(__file__).resolve().parent.parent


def _ae():
    x = load_digits("train").x[:300]
    seed_everything(0)
    model = AE((1, 8, 8), 3, hidden=(16,))
    return model.fit_prior(x)


def _vqvae():
    seed_everything(0)
    model = VQVAE((1, 8, 8), num_codes=8, code_dim=4, channels=(4, 8))
    model.set_prior(CodePrior(8, model.code_shape, channels=8, layers=2))
    return model


MODELS = {
    "ae": _ae,
    "vae": lambda: VAE((1, 8, 8), 3, hidden=(16,)),
    "vae-logistic": lambda: VAE((1, 8, 8), 3, arch="conv", channels=(4, 8), likelihood="logistic", levels=17),
    "vqvae": _vqvae,
    "vqvae-uniform": lambda: VQVAE((1, 8, 8), num_codes=8, code_dim=4, channels=(4, 8)),
    "vaegan": lambda: VAEGAN((1, 8, 8), 3, hidden=(16,), dis_channels=(4, 8)),
    "linear-gaussian": lambda: LinearGaussian.random(6, 2, generator=torch.Generator().manual_seed(0)),
}


def _inputs(model, n=5):
    if isinstance(model, LinearGaussian):
        return torch.randn(n, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    return load_digits("test").x[:n]


@pytest.mark.parametrize("name", MODELS)
def test_every_model_answers_the_protocol(name, tmp_path):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    assert isinstance(model, GenerativeModel)
    x = _inputs(model)
    shape = tuple(x.shape[1:])
    # shapes
    rec = model.reconstruct(x)
    assert rec.shape == x.shape and torch.isfinite(rec).all()
    code = model.encode(x)
    decoded = model.decode(model.quantizer.lookup(model.encode_indices(x)) if isinstance(model, VQVAE) else
                           (code.mu if isinstance(code, tuple) else code))
    assert decoded.shape == x.shape
    # sampling is reproducible with a generator
    a = model.sample(4, generator=torch.Generator().manual_seed(3))
    b = model.sample(4, generator=torch.Generator().manual_seed(3))
    assert a.shape == (4, *shape) and torch.equal(a, b)
    # config is JSON-able and rebuilds the same model
    config = model.config()
    again = type(model)(**json.loads(json.dumps(config)))
    assert again.config() == config
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    # save / load round trip
    if isinstance(model, LinearGaussian):
        return  # float64 W, b; its checkpoint test lives in test_evaluate
    loaded = load(save(model, tmp_path / "m.pt"), device="cpu")
    assert type(loaded) is type(model) and loaded.config() == config
    assert torch.equal(loaded.sample(4, generator=torch.Generator().manual_seed(3)), a)
    assert torch.equal(loaded.reconstruct(x), rec)


def test_priors_sample_and_score_consistently():
    gen = torch.Generator().manual_seed(0)
    normal = StandardNormal(3)
    z = normal.sample(5, gen)
    torch.testing.assert_close(normal.log_prob(z), torch.distributions.Normal(0, 1).log_prob(z).sum(-1))
    fitted = FittedGaussian(3)
    with pytest.raises(ValueError, match="fit_prior"):
        fitted.sample(2)
    data = torch.randn(4000, 3, generator=gen) @ torch.tensor([[2.0, 0, 0], [1, 1, 0], [0, 0, 0.5]]) + 3
    fitted.fit(data)
    ref = torch.distributions.MultivariateNormal(data.double().mean(0), torch.cov(data.double().T))
    torch.testing.assert_close(fitted.log_prob(z.double()), ref.log_prob(z.double()), rtol=1e-4, atol=1e-4)
    # the closed-form KL against a Monte Carlo estimate
    mu, logvar = torch.tensor([[3.0, 1.0, 3.0]], dtype=torch.float64), torch.tensor([[0.0, -1.0, 0.5]],
                                                                                        dtype=torch.float64)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    draws = q.sample((200000,)).squeeze(1)
    mc = (q.log_prob(draws.unsqueeze(1)).sum(-1).squeeze(1) - fitted.log_prob(draws)).mean()
    assert abs(float(fitted.kl_from(mu, logvar)) - float(mc)) < 0.02
    uniform = UniformCodes(512, (2, 2))
    assert float(uniform.log_prob(uniform.sample(3, gen))[0]) == pytest.approx(-4 * math.log(512))
    assert uniform_codes_bits_per_dim(512, (2, 2), 64) == pytest.approx(0.5625)


def test_iwae_equals_the_exact_likelihood_of_the_linear_gaussian_model():
    """Probabilistic PCA with orthogonal columns of W: the exact posterior is diagonal, so the best
    mean-field q *is* the posterior, every importance weight equals p(x), and IWAE is exact for any K."""
    q, _ = torch.linalg.qr(torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    model = LinearGaussian.from_params(q * torch.tensor([1.5, 0.8], dtype=torch.float64),
                                       torch.zeros(5, dtype=torch.float64), 0.7)
    x = model.sample(20, generator=torch.Generator().manual_seed(1))
    exact = model.log_marginal(x)
    for k in (1, 7):
        torch.testing.assert_close(iwae_bound(model, x, k, generator=torch.Generator().manual_seed(2)), exact,
                                   rtol=0, atol=1e-6)
    # the closed-form ELBO of that q is exact too (its one-sample estimate is only exact in expectation)
    torch.testing.assert_close(model.elbo_exact(x, *model.latent_posterior(x)).detach(), exact.detach(),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["vae", "vae-logistic", "ae", "linear-gaussian"])
def test_elbo_below_iwae_k_below_iwae_larger_k(name):
    model = MODELS[name]()
    x = _inputs(model, 40)
    if name == "vae":
        x = load_digits("test", binarize=True).x[:40]
    seed_everything(0)
    g = torch.Generator().manual_seed(5)
    # the inequalities hold in expectation: average the estimators over many draws
    e = float(elbo(model, x, 200, generator=g).mean())
    i5 = float(iwae_bound(model, x.repeat(40, *[1] * (x.ndim - 1)), 5, generator=g).mean())
    i500 = float(iwae_bound(model, x.repeat(2, *[1] * (x.ndim - 1)), 500, generator=g).mean())
    assert e <= i5 <= i500, (e, i5, i500)


def test_ae_with_a_fitted_gaussian_is_evaluated_like_the_vae():
    train, test = load_digits("train"), load_digits("test")
    from genlearn.models import ae_loss
    from genlearn.train import fit

    seed_everything(0)
    ae = AE((1, 8, 8), 4, hidden=(64,))
    fit(ae, ae_loss, train.x, 3, seed=0, progress=False, device="cpu")
    with pytest.raises(ValueError, match="fit_prior"):
        ae.sample(2)
    ae.fit_prior(train.x)
    assert isinstance(ae.px_given_z, DiscretizedLogistic) and ae.px_given_z.levels == 17  # the digits' 17 levels
    samples = ae.sample(16, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (16, 1, 8, 8)
    bound = elbo(ae, test.x, generator=torch.Generator().manual_seed(0))
    assert bound.shape == (len(test.x),) and torch.isfinite(bound).all()
    # its bound beats nothing trivially: a proper likelihood is at most 0 nats per pixel of a discrete variable
    assert float(bound.max()) <= 0


def test_discretized_logistic_is_a_distribution_over_the_grey_levels():
    for levels in (2, 17, 256):
        lik = DiscretizedLogistic(levels, channels=1, init_scale=0.07)
        grid = torch.arange(levels, dtype=torch.float64) / (levels - 1)
        for mean_logit in (-4.0, -0.3, 0.0, 1.2, 6.0):
            x = grid.view(levels, 1, 1, 1)
            u = torch.full_like(x, mean_logit)
            total = lik.nll(u.double(), x).neg().exp().sum()
            assert float(total) == pytest.approx(1.0, abs=1e-6), (levels, mean_logit)
    with pytest.raises(ValueError, match="grey levels"):
        DiscretizedLogistic(17).log_prob(torch.full((1, 1, 2, 2), 0.3), torch.zeros(1, 1, 2, 2))


def test_a_bernoulli_likelihood_refuses_grey_data():
    model = VAE((1, 8, 8), 3, hidden=(16,))
    grey = load_digits("test").x[:10]
    with pytest.raises(ValueError, match="binary data only"):
        elbo(model, grey)
    with pytest.raises(ValueError, match="binary data only"):
        iwae_bound(model, grey, 3)
    elbo(model, load_digits("test", binarize=True).x[:10])  # binary: fine


def test_vaegan_is_a_composition_that_claims_no_likelihood():
    model = MODELS["vaegan"]()
    x = load_digits("test", binarize=True).x[:8]
    assert isinstance(model.vae, VAE) and not isinstance(model, VAE)
    with pytest.raises(ValueError, match="vae_loss needs a LatentGaussianModel"):
        vae_loss(model, x)
    with pytest.raises(ValueError, match="VAE-GAN"):
        elbo(model, x)
    assert set(model.parameter_groups()) == {"encoder", "decoder", "discriminator"}
    n_params = sum(p.numel() for g in model.parameter_groups().values() for p in g)
    assert n_params == sum(p.numel() for p in model.parameters())


def test_vq_bound_and_baselines():
    model = _vqvae()
    x = load_digits("test", binarize=True).x
    bound = vq_bound(model, x)
    assert bound.shape == (len(x),) and (bound <= 0).all()
    uniform = VQVAE(**{**model.config(), "prior": None})
    uniform.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("prior.")})
    k = model.encode_indices(x)
    gap = vq_bound(uniform, x) - vq_bound(model, x)
    torch.testing.assert_close(gap, -4 * math.log(8) - model.prior.log_prob(k).double(), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="binary data only"):
        vq_bound(model, load_digits("test").x)
    baseline = IndependentPixels(load_digits("train", binarize=True).x)
    assert 0 < baseline.bits_per_dim(x) < 1
    assert reconstruction_error(model, x) > 0


def test_import_graph_models_data_evaluation_stand_alone():
    code = ("import sys, genlearn.models, genlearn.data, genlearn.evaluate, genlearn.sample_quality;"
            "print(sorted(m for m in sys.modules if m.startswith('genlearn')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = set(eval(out))  # noqa: S307 - our own output
    forbidden = {"genlearn.train", "genlearn.recipes", "genlearn.train_report", "genlearn.cli", "genlearn.checkpoint"}
    forbidden |= {m for m in loaded if m.startswith(("genlearn.widgets", "genlearn.viz"))}
    assert not loaded & forbidden, loaded & forbidden


def test_nothing_under_models_imports_the_training_loop_and_there_is_one_loop():
    for path in (ROOT / "genlearn" / "models").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.col_offset == 0:
                assert not node.module.startswith(("genlearn.train", "genlearn.recipes", "genlearn.widgets",
                                                   "genlearn.viz", "genlearn.cli")), (path.name, node.module)
    # every loop that calls backward() or an optimiser's step(), outside fit, and why it may
    assert training_loops() == ONE_LOOP_EXCEPTIONS.keys(), training_loops() ^ ONE_LOOP_EXCEPTIONS.keys()


# The loops outside genlearn.train.fit that call backward() or an optimiser's step(), each with its reason.
ONE_LOOP_EXCEPTIONS = {
    "genlearn/bench/_bare.py:bare_loop": "the benchmarks' reference: the plain PyTorch loop fit is timed against",
    "genlearn/checks/_train.py:train_loop": "the student side of a build exercise: a wall-clock-bounded loop over "
    "the student's loss(batch), which need not be a model's loss_fn(model, batch)",
    "genlearn/grading/zygote.py:_preload": "one step of each optimiser in the fork server, so that children find "
    "its lazy imports done",
    "genlearn/recipes.py:vaegan_step": "the VAE-GAN's step function (one optimiser per network), called by fit",
    "genlearn/sample_quality.py:digit_classifier": "the 8x8 feature network of every digit score: moving it onto "
    "fit changes the feature space the course's Frechet numbers are measured in (with the next re-confirmation)",
    "genlearn/sample_quality.py:fashion_classifier": "the 28x28 feature network, cached on disk: as above",
}


def training_loops() -> set[str]:
    """``file:function`` of every for/while loop in genlearn whose body calls ``.backward()`` or ``.step()``."""
    found = set()
    for path in (ROOT / "genlearn").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for loop in ast.walk(fn):
                if isinstance(loop, (ast.For, ast.While)) and any(
                        isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                        and c.func.attr in ("backward", "step") for c in ast.walk(loop)):
                    found.add(f"{path.relative_to(ROOT).as_posix()}:{fn.name}")
    return found


def test_cli_train_reports_a_likelihood_only_of_its_data(tmp_path):
    """`genlearn train vae --data digits`: the digits have 17 grey levels, so the VAE is a discretized
    logistic over them; the reported NLL is recomputed here by an independent IWAE."""
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "genlearn", "train", "vae", "--data", "digits", "--epochs", "2",
                    "--out", str(out), "--quiet"], check=True, capture_output=True, text=True,
                   env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "GENLEARN_DEVICE": "cpu"})
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["likelihood"] == {"name": "logistic", "of": "grey levels k/16, k = 0..16"}
    assert metrics["data_grey_levels"] == 17
    model = load(out / "model.pt", device="cpu")
    x = load_digits("test").x.double()
    model = model.double()
    # an IWAE written out here, from the model's pieces, with 2000 samples
    with torch.no_grad():
        mu, logvar = model.encode(x)
        k = 2000
        eps = torch.randn((k, *mu.shape), generator=torch.Generator().manual_seed(7), dtype=torch.float64)
        z = mu + (0.5 * logvar).exp() * eps
        log_q = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
        log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
        log_lik = torch.stack([-model.px_given_z.nll(model.decode(zk), x) for zk in z])
        iwae = (torch.logsumexp(log_lik + log_p - log_q, 0) - math.log(k)).mean()
    assert abs(float(-iwae) - metrics["test_nll_nats_iwae100"]) < 0.02 * abs(float(iwae)) + 0.5
    assert metrics["test_nll_bits_per_dim"] == pytest.approx(metrics["test_nll_nats_iwae100"] / (64 * math.log(2)))
    # a Bernoulli VAE is not reported on grey data at all
    vaegan_out = tmp_path / "gan"
    subprocess.run([sys.executable, "-m", "genlearn", "train", "vaegan", "--data", "digits", "--epochs", "1",
                    "--out", str(vaegan_out), "--quiet"], check=True, capture_output=True, text=True,
                   env={**__import__("os").environ, "OMP_NUM_THREADS": "1", "GENLEARN_DEVICE": "cpu"})
    gan = json.loads((vaegan_out / "metrics.json").read_text())
    assert gan["likelihood"] is None and "test_nll_nats_iwae100" not in gan
    assert "similarity" in gan["likelihood_why_not"]


def test_regressions_found_by_the_fuzzer():
    """The last `make fuzz` run's three failing properties, as examples (fixed)."""
    from genlearn.models import ae_loss
    from genlearn.train import fit

    with pytest.raises(ValueError, match="code_shape"):
        CodePrior(1, None)
    with pytest.raises(ValueError, match="code_shape"):
        UniformCodes(4, None)
    with pytest.raises(ValueError, match="train_data contains NaN"):
        fit(AE((3,), 2, hidden=(4,), output="linear"), ae_loss, torch.full((20, 3), math.nan), 1, progress=False)
    gaussian = VAE((3,), 2, hidden=(8,), likelihood="gaussian")
    with pytest.raises(ValueError, match="magnitude"):
        elbo(gaussian, torch.tensor([[1e30, 0.52, 0.74]]))


def test_an_encoder_overflow_is_named_not_returned():
    """Third `make fuzz` run: a 1e30 pixel overflowed a Gaussian VAE's encoder into an infinite KL."""
    from genlearn.evaluate import active_units, kl_per_dim

    model = VAE((3,), 2, hidden=(8,), likelihood="gaussian")
    for fn in (kl_per_dim, active_units):
        with pytest.raises(ValueError, match="non-finite codes"):
            fn(model, torch.tensor([[1e30, 0.8, 0.06], [0.1, 0.2, 0.3]]))


def test_linear_gaussian_refuses_a_sigma_whose_square_underflows():
    """Fourth `make fuzz` run: sigma = 4e-240 squared is 0 in float64."""
    with pytest.raises(ValueError, match="sigma"):
        LinearGaussian(1, 1, sigma=4.2e-240)


def test_fit_refuses_an_infinite_learning_rate():
    """Fifth `make fuzz` run: lr = inf passed the check and sent the weights to inf."""
    from genlearn.models import ae_loss
    from genlearn.train import fit

    with pytest.raises(ValueError, match="lr"):
        fit(AE((3,), 2, hidden=(4,), output="linear"), ae_loss, torch.randn(20, 3), 1, lr=math.inf, progress=False)


def test_a_vae_trains_against_the_prior_it_is_evaluated_with():
    """vae_loss takes its KL from model.prior: give a VAE a fitted Gaussian prior and its training KL is
    the KL to that Gaussian (the same number evaluate.elbo reports), not to N(0, I)."""
    import torch

    from genlearn import evaluate
    from genlearn.models import VAE, vae_loss
    from genlearn.models.priors import FittedGaussian, StandardNormal
    from genlearn.train import fit

    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8).round()
    vae = VAE((1, 8, 8), latent_dim=2, hidden=(16,))
    out = vae(x)
    standard = vae_loss(vae, x, out).kl
    assert torch.allclose(standard, StandardNormal(2).kl_from(out.mu, out.logvar).mean())
    vae.prior = FittedGaussian(2).fit(torch.randn(500, 2) * 3 + 1)
    fitted = vae_loss(vae, x, out).kl
    assert torch.allclose(fitted, vae.prior.kl_from(out.mu, out.logvar).mean())
    assert not torch.allclose(fitted, standard)
    fit(vae, vae_loss, x, 2, batch_size=32, seed=0, progress=False, device="cpu")
    with torch.no_grad():
        out = vae(x)
        bound = evaluate.elbo(vae, x, generator=torch.Generator().manual_seed(0))
    assert bound.shape == (64,) and torch.isfinite(bound).all()
    assert not torch.allclose(vae_loss(vae, x, out).kl, StandardNormal(2).kl_from(out.mu, out.logvar).mean())
