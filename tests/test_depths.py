"""Exercises at three depths in the model lessons (04-07): build and train, predict then measure.

Their checks train models, so instead of the mutation test (tests/test_mutation.py) each has
targeted wrong answers here: the mistakes a student makes (a VAE without its KL term, a VQ layer
without its detach, a VAE-GAN step that lets the similarity reach the discriminator, ...) must be
rejected, with a message that says which target fell short.
"""

import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from genlearn.checks import load_notebook, registry, run_check
from genlearn.checks.notebook import notebook_exercises

ROOT = Path(__file__).resolve().parent.parent
MODEL_LESSONS = ["04_vae", "05_vqvae", "06_vaegan", "07_capstone"]
CHECK_SECONDS = 60


def _depths(stem: str) -> set[str]:
    exercises = registry()
    return {exercises[i].depth for i, _ in notebook_exercises(ROOT / "solutions" / f"{stem}.py")}


@pytest.mark.parametrize("stem", MODEL_LESSONS)
def test_every_model_lesson_has_all_three_depths(stem):
    assert _depths(stem) == {"function", "build", "predict"}


def test_exercise_rejects_an_unknown_depth():
    from genlearn.checks.exercise import exercise

    with pytest.raises(ValueError, match="depth"):
        exercise("not_a_real_exercise", "x", hints=("a", "b"), depth="deep")


@pytest.fixture(scope="module")
def vae04():
    namespace, _ = load_notebook(ROOT / "solutions" / "04_vae.py")
    return namespace


def _timed(exercise_id, fn, seed=0):
    start = time.perf_counter()
    result = run_check(exercise_id, fn, seed=seed)
    return result, time.perf_counter() - start


# --- 04: vae_build_train ------------------------------------------------------------------------
def test_vae_build_train_passes_within_its_budget(vae04):
    result, seconds = _timed("vae_build_train", vae04["TinyVAE"], seed=7)
    assert result.passed, result.line()
    assert seconds < CHECK_SECONDS


def _vae_mistakes(ns):
    base = ns["TinyVAE"]

    class NoKL(base):  # the loss forgets the KL term
        def loss(self, x):
            mu, logvar = self.encode(x)
            return ns["bernoulli_nll"](x, self.decode(self.reparameterize(mu, logvar))).mean()

    class PixelMean(base):  # a mean over pixels instead of a sum
        def loss(self, x):
            mu, logvar = self.encode(x)
            logits = self.decode(self.reparameterize(mu, logvar))
            kl = 0.5 * (logvar.exp() - 1 - logvar + mu**2).sum(-1)
            return F.binary_cross_entropy_with_logits(logits, x) + kl.mean()

    class SigmaIsExpLogvar(base):  # the standard deviation taken as exp(logvar)
        def reparameterize(self, mu, logvar):
            return mu + logvar.exp() * torch.randn_like(mu)

    class NoNoise(base):  # z = mu: an autoencoder with a KL penalty
        def reparameterize(self, mu, logvar):
            return mu

    class Untrainable(base):  # the loss is detached: nothing learns
        def loss(self, x):
            return super().loss(x).detach().requires_grad_()

    return {"no KL": NoKL, "pixel mean": PixelMean, "sigma = exp(logvar)": SigmaIsExpLogvar,
            "no noise": NoNoise, "untrainable": Untrainable}


@pytest.mark.parametrize("mistake", ["no KL", "pixel mean", "sigma = exp(logvar)", "no noise", "untrainable"])
def test_vae_build_train_rejects_broken_models(vae04, mistake):
    result = run_check("vae_build_train", _vae_mistakes(vae04)[mistake])
    assert result.status == "failed", result.line()
    assert "nats" in result.message


def test_vae_build_train_says_which_target_and_by_how_much(vae04):
    import genlearn.checks.vae as vae

    old, vae.VAE_TARGET = vae.VAE_TARGET, 1.0
    try:
        result = run_check("vae_build_train", vae04["TinyVAE"])
    finally:
        vae.VAE_TARGET = old
    assert result.status == "failed" and "test -ELBO" in result.message and "target <= 1 nats" in result.message
    assert "short by" in result.message


# --- 04: predict_kl_beta ------------------------------------------------------------------------
def test_predict_kl_beta_explains_the_measurement():
    assert run_check("predict_kl_beta", lambda: "decreases").passed
    wrong = run_check("predict_kl_beta", lambda: "increases")
    assert wrong.status == "failed" and "measured" in wrong.message and "beta = 2" in wrong.message
    assert "return one of" in run_check("predict_kl_beta", lambda: "down").message


# --- 05: vq_build_train, predict_restarts --------------------------------------------------------
@pytest.fixture(scope="module")
def vq05():
    namespace, _ = load_notebook(ROOT / "solutions" / "05_vqvae.py")
    return namespace


def test_vq_build_train_passes_within_its_budget(vq05):
    result, seconds = _timed("vq_build_train", vq05["MyQuantizer"], seed=5)
    assert result.passed, result.line()
    assert seconds < CHECK_SECONDS


def _codes(layer, z, indices):
    b, d = z.shape[:2]
    return layer.codebook[indices.reshape(-1)].view(b, *z.shape[2:], d).movedim(-1, 1)


def _vq_mistakes(ns):
    base = ns["MyQuantizer"]

    class NoStraightThrough(base):  # returns the codes themselves: the encoder gets no gradient
        def forward(self, z):
            _, indices, codebook_loss, commitment_loss = super().forward(z)
            return _codes(self, z, indices), indices, codebook_loss, commitment_loss

    class CodebookLossWithoutDetach(base):  # the codebook loss also pulls the encoder
        def forward(self, z):
            quantized, indices, _, commitment_loss = super().forward(z)
            e = _codes(self, z, indices)
            return quantized, indices, ((z - e) ** 2).sum() / z.shape[0], commitment_loss

    class CommitmentWithoutDetach(base):  # the commitment loss also moves the codes
        def forward(self, z):
            quantized, indices, codebook_loss, _ = super().forward(z)
            e = _codes(self, z, indices)
            return quantized, indices, codebook_loss, self.beta * ((z - e) ** 2).sum() / z.shape[0]

    class NoCodebookLoss(base):
        def forward(self, z):
            quantized, indices, codebook_loss, commitment_loss = super().forward(z)
            return quantized, indices, 0 * codebook_loss, commitment_loss

    class FrozenCodebook(base):  # the codebook is a plain tensor: the optimiser never sees it
        def __init__(self, num_codes, code_dim, beta=0.25):
            super().__init__(num_codes, code_dim, beta)
            book = self.codebook.detach().clone()
            del self.codebook
            self.register_buffer("codebook", book)

    return {"no straight-through": NoStraightThrough, "codebook loss without detach": CodebookLossWithoutDetach,
            "commitment without detach": CommitmentWithoutDetach, "no codebook loss": NoCodebookLoss,
            "frozen codebook": FrozenCodebook}


@pytest.mark.parametrize("mistake", ["no straight-through", "codebook loss without detach",
                                     "commitment without detach", "no codebook loss", "frozen codebook"])
def test_vq_build_train_rejects_broken_layers(vq05, mistake):
    result = run_check("vq_build_train", _vq_mistakes(vq05)[mistake])
    assert result.status in ("failed", "error"), result.line()


def test_vq_build_train_reports_both_targets(monkeypatch):
    monkeypatch.setattr("genlearn.checks.vq.VQ_PERPLEXITY_TARGET", 33.0)
    namespace, _ = load_notebook(ROOT / "solutions" / "05_vqvae.py")
    result = run_check("vq_build_train", namespace["MyQuantizer"])
    assert "code perplexity on the test images" in result.message and "target >= 33" in result.message
    assert "codes unused" in result.message


def test_predict_restarts_explains_the_measurement():
    assert run_check("predict_restarts", lambda: "raises").passed
    wrong = run_check("predict_restarts", lambda: "no change")
    assert wrong.status == "failed" and "without restarts" in wrong.message and "with them" in wrong.message


# --- 06: vaegan_build_step, predict_sharper -------------------------------------------------------
@pytest.fixture(scope="module")
def gan06():
    namespace, _ = load_notebook(ROOT / "solutions" / "06_vaegan.py")
    return namespace


def test_vaegan_build_step_passes_within_its_budget(gan06):
    result, seconds = _timed("vaegan_build_step", gan06["vaegan_train_step"], seed=4)
    assert result.passed, result.line()
    assert seconds < CHECK_SECONDS


def _gan_terms(ns, model, x):
    out = model(x)
    n = len(x)
    features, logits = model.discriminator.features_and_logits(torch.cat([x, out.x_rec, out.x_gen]),
                                                               model.feature_layer)
    prior = 0.5 * (out.logvar.exp() - 1 - out.logvar + out.mu**2).sum() / n
    similarity = ns["feature_similarity"](features[:n], features[n : 2 * n], model.similarity_sigma)
    real, rec, gen = logits[:n], logits[n : 2 * n], logits[2 * n :]
    return prior, similarity, ns["discriminator_loss"](real, rec, gen), ns["generator_loss"](rec, gen)


def _apply(model, optimizers, objectives):
    groups = model.parameter_groups()
    for g, params in groups.items():
        grads = torch.autograd.grad(objectives[g], params, retain_graph=True, allow_unused=True)
        for p, grad in zip(params, grads, strict=True):
            p.grad = grad
        optimizers[g].step()


def _gan_mistakes(ns):
    def one_backward(model, x, optimizers):  # every term reaches every network
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        for opt in optimizers.values():
            opt.zero_grad()
        (prior + similarity + dis + adv).backward()
        for opt in optimizers.values():
            opt.step()

    def similarity_trains_discriminator(model, x, optimizers):
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        _apply(model, optimizers, {"encoder": prior + similarity, "decoder": similarity + adv,
                                   "discriminator": dis + similarity})

    def decoder_helps_discriminator(model, x, optimizers):  # the decoder minimises D's loss as well
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        _apply(model, optimizers, {"encoder": prior + similarity, "decoder": similarity + adv + dis,
                                   "discriminator": dis})

    def encoder_without_prior(model, x, optimizers):
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        _apply(model, optimizers, {"encoder": similarity, "decoder": similarity + adv, "discriminator": dis})

    def decoder_without_gan(model, x, optimizers):  # a VAE with a learned similarity: blurry samples
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        _apply(model, optimizers, {"encoder": prior + similarity, "decoder": similarity, "discriminator": dis})

    def discriminator_never_steps(model, x, optimizers):
        prior, similarity, dis, adv = _gan_terms(ns, model, x)
        _apply(model, {**optimizers, "discriminator": _Nothing()},
               {"encoder": prior + similarity, "decoder": similarity + adv, "discriminator": dis})

    return {f.__name__: f for f in (one_backward, similarity_trains_discriminator, decoder_helps_discriminator,
                                    encoder_without_prior, decoder_without_gan, discriminator_never_steps)}


class _Nothing:
    def step(self):
        pass


@pytest.mark.parametrize("mistake", ["one_backward", "similarity_trains_discriminator", "decoder_helps_discriminator",
                                     "encoder_without_prior", "decoder_without_gan", "discriminator_never_steps"])
def test_vaegan_build_step_rejects_wrong_routing(gan06, mistake):
    result = run_check("vaegan_build_step", _gan_mistakes(gan06)[mistake])
    assert result.status == "failed", result.line()
    if mistake == "similarity_trains_discriminator":
        assert "similarity -> discriminator: weight 1, expected 0" in result.message


def test_vaegan_build_step_solution_routes_match_the_library(gan06):
    from genlearn.checks.vaegan import _route_inputs, _route_run, term_routes
    from genlearn.models.vaegan import routes

    inp = _route_inputs(torch.Generator().manual_seed(1))
    found = term_routes(_route_run(gan06["vaegan_train_step"], inp), inp)
    want = routes(__import__("genlearn.checks.vaegan", fromlist=["_small_vaegan"])._small_vaegan())
    for g, terms in found.items():
        for t, w in terms.items():
            assert abs(w - want[g].get(t, 0.0)) < 0.01, (g, t, w)


def test_predict_sharper_explains_the_measurement():
    assert run_check("predict_sharper", lambda: "vaegan").passed
    wrong = run_check("predict_sharper", lambda: "vae")
    assert wrong.status == "failed" and "sharpness" in wrong.message


# --- 07: gaussian_prior_build, predict_lowest_bits -------------------------------------------------
def test_gaussian_prior_build_passes_within_its_budget():
    namespace, _ = load_notebook(ROOT / "solutions" / "07_capstone.py")
    result, seconds = _timed("gaussian_prior_build", namespace["sample_fitted_gaussian"], seed=2)
    assert result.passed, result.line()
    assert seconds < CHECK_SECONDS


def _diagonal(codes, n, generator):
    return codes.mean(0) + torch.randn(n, codes.shape[1], generator=generator, dtype=codes.dtype) * codes.std(0)


def _variance_as_scale(codes, n, generator):
    cov = torch.cov(codes.T)
    return codes.mean(0) + torch.randn(n, codes.shape[1], generator=generator, dtype=codes.dtype) @ cov.T


def _no_mean(codes, n, generator):
    chol = torch.linalg.cholesky(torch.cov(codes.T))
    return torch.randn(n, codes.shape[1], generator=generator, dtype=codes.dtype) @ chol.T


def _standard_normal(codes, n, generator):
    return torch.randn(n, codes.shape[1], generator=generator)


@pytest.mark.parametrize("mistake", [_diagonal, _variance_as_scale, _no_mean, _standard_normal],
                         ids=lambda f: f.__name__.lstrip("_"))
def test_gaussian_prior_build_rejects_wrong_gaussians(mistake):
    result = run_check("gaussian_prior_build", mistake)
    assert result.status == "failed", result.line()


def test_gaussian_prior_build_frechet_target_names_the_baseline(monkeypatch):
    monkeypatch.setattr("genlearn.checks.evaluation.AE_FD_RATIO", 0.01)
    namespace, _ = load_notebook(ROOT / "solutions" / "07_capstone.py")
    result = run_check("gaussian_prior_build", namespace["sample_fitted_gaussian"])
    assert "Frechet distance of your samples" in result.message and "N(0, I) samples'" in result.message
    assert "short by" in result.message


def test_predict_lowest_bits_explains_the_measurement():
    assert run_check("predict_lowest_bits", lambda: "vae").passed
    wrong = run_check("predict_lowest_bits", lambda: "independent pixels")
    assert wrong.status == "failed" and "bits/dim" in wrong.message


# --- genlearn grade on a notebook with a build-and-train exercise -------------------------------
def test_grade_scores_a_build_and_train_exercise(tmp_path):
    import csv

    import jupytext

    from genlearn.grading import grade

    solution = (ROOT / "solutions" / "04_vae.py").read_text()
    broken = solution.replace("return negative_elbo(x, self.decode(z), mu, logvar)",
                              "return bernoulli_nll(x, self.decode(z)).mean()")
    assert broken != solution
    subs = tmp_path / "subs"
    subs.mkdir()
    for name, text in (("correct", solution), ("no_kl", broken),
                       ("untouched", (ROOT / "exercises" / "04_vae.py").read_text())):
        (subs / f"{name}.ipynb").write_text(jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="ipynb"))
    grade(ROOT / "exercises" / "04_vae.ipynb", subs, tmp_path / "out", workers=1, timeout=90, seed=3,
          log=lambda text: None)
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    points = registry()["vae_build_train"].points
    assert rows["correct"]["status"] == "graded" and float(rows["correct"]["total"]) == float(rows["correct"]["max"])
    assert float(rows["no_kl"]["vae_build_train"]) == 0
    assert float(rows["no_kl"]["total"]) == float(rows["no_kl"]["max"]) - points
    assert float(rows["untouched"]["total"]) == 0
    feedback = (tmp_path / "out" / "feedback" / "no_kl.txt").read_text()
    assert "vae_build_train" in feedback and "nats" in feedback
