"""VAE-GAN: each network's gradient comes only from the losses meant to reach it.

Public VAE-GAN code often gets this wrong in one of four ways, each tested here:
the GAN term leaks into the encoder; the similarity term trains the discriminator; the
decoder's adversarial gradient has the wrong sign; or one network is stepped before
another's gradient is computed, so that gradient sees already-updated weights.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from genlearn.models import VAEGAN, VAEGANLoss, vaegan_loss
from genlearn.models.vaegan import (
    GROUPS,
    PRIOR,
    REAL,
    RECON,
    Discriminator,
    routes,
    term_gradient_norms,
    vaegan_grads,
)
from genlearn.recipes import fit_vaegan, vaegan_optimizers, vaegan_step
from genlearn.train import load, save


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _model(**kw):
    torch.manual_seed(0)
    kw.setdefault("hidden", (32, 32))
    kw.setdefault("dis_channels", (8, 16))
    return VAEGAN((1, 8, 8), 4, **kw).double()


@pytest.fixture
def x():
    return torch.rand(6, 1, 8, 8, generator=_gen(1), dtype=torch.float64)


def _grad(objective, params):
    g = torch.autograd.grad(objective, params, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(p) if gi is None else gi for p, gi in zip(params, g, strict=True)]


def _reference(model, x, seed=2):
    """Per-group gradients computed one objective at a time, by hand, from the module docstring."""
    terms = vaegan_loss(model, x, generator=_gen(seed))
    params = model.parameter_groups()
    enc = terms.prior + terms.similarity + model.code_weight * terms.code
    dec = model.gamma * terms.similarity + terms.generator
    return terms, {"encoder": _grad(enc, params["encoder"]), "decoder": _grad(dec, params["decoder"]),
                   "discriminator": _grad(terms.gan, params["discriminator"])}


def _same(a, b, atol=1e-12):
    return all(torch.allclose(u, v, atol=atol, rtol=0) for u, v in zip(a, b, strict=True))


def _norm(grads):
    return math.sqrt(sum(float(g.pow(2).sum()) for g in grads))


@pytest.mark.parametrize("mode", ["two_class", "three_class"])
@pytest.mark.parametrize("generator_loss", ["non_saturating", "saturating"])
def test_each_group_gets_exactly_its_own_objective(x, mode, generator_loss):
    model = _model(discriminator=mode, generator_loss=generator_loss)
    _, grads = vaegan_grads(model, x, generator=_gen(2))
    _, want = _reference(model, x)
    for name in GROUPS:
        assert _same(grads[name], want[name]), name
        assert _norm(grads[name]) > 0, name


def test_encoder_gets_no_gradient_from_the_gan_term(x):
    model = _model()
    terms = vaegan_loss(model, x, generator=_gen(2))
    enc = model.parameter_groups()["encoder"]
    leak = _grad(terms.gan + terms.generator, enc)
    assert _norm(leak) > 1e-6  # the GAN terms do depend on the encoder: the test is not vacuous
    _, grads = vaegan_grads(model, x, generator=_gen(2))
    assert _same(grads["encoder"], _grad(terms.prior + terms.similarity, enc))
    # the known bug: one backward of the summed losses sends the GAN gradient into the encoder
    naive = _grad(terms.encoder + terms.decoder + terms.discriminator, enc)
    assert not _same(naive, grads["encoder"], atol=1e-9)


def test_discriminator_gets_no_gradient_from_the_similarity(x):
    model = _model()
    terms = vaegan_loss(model, x, generator=_gen(2))
    dis = model.parameter_groups()["discriminator"]
    assert _norm(_grad(terms.similarity, dis)) > 1e-6  # it would leak if we let it
    _, grads = vaegan_grads(model, x, generator=_gen(2))
    assert _same(grads["discriminator"], _grad(terms.gan, dis))


@pytest.mark.parametrize("generator_loss", ["non_saturating", "saturating"])
def test_decoder_gan_gradient_fools_the_discriminator(x, generator_loss):
    """A small step of the decoder along its adversarial gradient raises D's 'real' logit on the fakes."""
    model = _model(generator_loss=generator_loss)
    terms = vaegan_loss(model, x, generator=_gen(2))
    dec = model.parameter_groups()["decoder"]
    g = _grad(terms.generator, dec)

    def fake_logits():
        with torch.no_grad():
            out = model(x, _gen(2))
            return model.discriminator(torch.cat([out.x_rec, out.x_gen])).mean()

    before = fake_logits()
    with torch.no_grad():
        for p, gi in zip(dec, g, strict=True):
            p -= 1e-3 * gi / _norm(g)
    assert fake_logits() > before


def test_saturating_generator_is_minus_the_discriminator_fake_terms(x):
    model = _model(generator_loss="saturating")
    terms = vaegan_loss(model, x, generator=_gen(2))
    out = model(x, _gen(2))
    logits = model.discriminator(torch.cat([out.x_rec, out.x_gen]))
    fake_as_fake = 2 * F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))
    torch.testing.assert_close(terms.generator, -fake_as_fake)


def test_step_uses_gradients_computed_before_any_update(x):
    model = _model()
    opts = vaegan_optimizers(model, lr=1e-2)
    twin = copy.deepcopy(model)
    twin_opts = vaegan_optimizers(twin, lr=1e-2)
    _, want = _reference(twin, x)  # on the copy, before any step
    vaegan_step(model, opts, x, generator=_gen(2))
    groups, twin_groups = model.parameter_groups(), twin.parameter_groups()
    for name in GROUPS:
        assert _same([p.grad for p in groups[name]], want[name]), name
        for p, g in zip(twin_groups[name], want[name], strict=True):
            p.grad = g
        getattr(twin_opts, name).step()
        assert _same(list(groups[name]), list(twin_groups[name])), f"{name} weights after the step"
    # the known bug: stepping the discriminator first changes the decoder's gradient
    stale = copy.deepcopy(twin)
    terms = vaegan_loss(stale, x, generator=_gen(2))
    _, fresh = _reference(stale, x)
    with torch.no_grad():
        for p, g in zip(stale.discriminator.parameters(), fresh["discriminator"], strict=True):
            p -= 0.5 * g
    _, after = _reference(stale, x)
    assert not _same(after["decoder"], fresh["decoder"], atol=1e-9)
    assert terms.loss.isfinite()


def test_terms_match_the_formulas(x):
    model = _model(similarity_sigma=0.5, gamma=2.0)
    terms = vaegan_loss(model, x, generator=_gen(3))
    out = model(x, _gen(3))
    n = len(x)
    kl = 0.5 * (out.logvar.exp() - 1 - out.logvar + out.mu**2).sum() / n
    f_real = model.discriminator.features(x, model.feature_layer)
    f_rec = model.discriminator.features(out.x_rec, model.feature_layer)
    sim = (f_real - f_rec).pow(2).sum() / (2 * 0.25 * n)
    d = torch.sigmoid
    l_real, l_rec, l_gen = (model.discriminator(t) for t in (x, out.x_rec, out.x_gen))
    l_gan = (d(l_real).log() + (1 - d(l_rec)).log() + (1 - d(l_gen)).log()).mean()  # Larsen's L_GAN
    torch.testing.assert_close(terms.prior, kl)
    torch.testing.assert_close(terms.similarity, sim)
    torch.testing.assert_close(terms.gan, -l_gan)
    torch.testing.assert_close(terms.generator, -(d(l_rec).log() + d(l_gen).log()).mean())
    torch.testing.assert_close(terms.decoder, 2.0 * sim + terms.generator)
    torch.testing.assert_close(terms.loss, kl + sim)
    assert terms.code == 0 and terms.encoder == terms.loss


def test_pixel_similarity_is_the_squared_error(x):
    model = _model(similarity="pixel", similarity_sigma=0.1)
    terms = vaegan_loss(model, x, generator=_gen(3))
    out = model(x, _gen(3))
    torch.testing.assert_close(terms.similarity, (x - out.x_rec).pow(2).sum() / (2 * 0.01 * len(x)))


def test_three_class_losses(x):
    model = _model(discriminator="three_class", code_weight=2.0)
    terms = vaegan_loss(model, x, generator=_gen(3))
    out = model(x, _gen(3))
    logp = [torch.log_softmax(model.discriminator(t), -1) for t in (x, out.x_rec, out.x_gen)]
    torch.testing.assert_close(terms.gan, -(logp[0][:, REAL] + logp[1][:, RECON] + logp[2][:, PRIOR]).mean())
    torch.testing.assert_close(terms.generator, -(logp[1][:, REAL] + logp[2][:, REAL]).mean())
    # code: reconstructions should be as likely 'generated' as 'reconstructed'
    p_gen = torch.sigmoid(logp[1][:, PRIOR] - logp[1][:, RECON])
    code = -(0.5 * p_gen.log() + 0.5 * (1 - p_gen).log()).mean()
    torch.testing.assert_close(terms.code, code)
    torch.testing.assert_close(terms.encoder, terms.prior + terms.similarity + 2.0 * code)
    assert terms.code >= math.log(2) - 1e-9


def test_forward_shapes_and_images_in_unit_range(x):
    model = _model()
    with torch.no_grad():
        out = model(x)
    assert out.x_rec.shape == x.shape and out.x_gen.shape == x.shape
    assert out.mu.shape == (6, 4) and out.z_prior.shape == (6, 4)
    assert 0 <= float(out.x_rec.min()) and float(out.x_gen.max()) <= 1
    assert model.sample(5).shape == (5, 1, 8, 8)
    d = Discriminator((1, 8, 8), 3, (8, 16)).double()
    f, logits = d.features_and_logits(x, 1)
    assert f.shape == (6, 8 * 4 * 4) and logits.shape == (6, 3)


@pytest.mark.parametrize("kwargs, match", [
    (dict(discriminator="four_class"), "discriminator must be one of"),
    (dict(similarity="l1"), "similarity must be one of"),
    (dict(generator_loss="wgan"), "generator_loss must be one of"),
    (dict(feature_layer=3), "feature_layer must be in 1..2"),
    (dict(code_weight=1.0), "code_weight needs discriminator='three_class'"),
    (dict(gamma=-1.0), "gamma must be"),
    (dict(similarity_sigma=0.0), "sigma must be"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VAEGAN((1, 8, 8), 4, **kwargs)


def test_bad_input_raises():
    model = _model()
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
        vaegan_loss(model, torch.rand(3, 8, 8, dtype=torch.float64))
    with pytest.raises(ValueError, match="needs images"):
        VAEGAN((64,), 4)


def test_fit_is_deterministic_and_records_every_term():
    data = torch.rand(40, 1, 8, 8, generator=_gen(4))
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = VAEGAN((1, 8, 8), 4, hidden=(32,), dis_channels=(8, 16))
        history = fit_vaegan(model, data, 2, batch_size=16, seed=5, device="cpu", progress=False)
        runs.append((model, history))
    (a, ha), (b, hb) = runs
    assert set(ha) == {*VAEGANLoss._fields, "seconds"}
    assert ha["loss"] == hb["loss"] and len(ha["gan"]) == 2
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not a.training


def test_save_and_load_round_trip(tmp_path):
    model = _model(discriminator="three_class", gamma=0.5).float()
    path = save(model, tmp_path / "vaegan.pt")
    back = load(path, device="cpu")
    assert isinstance(back, VAEGAN) and back.config() == model.config()
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), back.state_dict().values(),
                                                       strict=True))


def test_routes_and_gradient_norms_table(x):
    model = _model(gamma=0.5)
    assert routes(model) == {"encoder": {"prior": 1.0, "similarity": 1.0},
                             "decoder": {"similarity": 0.5, "generator": 1.0}, "discriminator": {"gan": 1.0}}
    assert routes(_model(discriminator="three_class", code_weight=3.0))["encoder"]["code"] == 3.0
    norms = term_gradient_norms(model, x, _gen(2), terms=("prior", "similarity", "gan", "generator", "code"))
    assert norms["prior"]["encoder"] > 0 and norms["prior"]["decoder"] == 0 == norms["prior"]["discriminator"]
    assert norms["gan"]["encoder"] > 0 and norms["similarity"]["discriminator"] > 0  # what routing must block
    assert all(v == 0 for v in norms["code"].values())
    _, grads = vaegan_grads(model, x, _gen(2))
    terms = vaegan_loss(model, x, generator=_gen(2))
    want = _grad(terms.prior + terms.similarity, model.parameter_groups()["encoder"])
    assert _norm(grads["encoder"]) == pytest.approx(_norm(want))


def test_tensor_level_losses_match_the_model_terms(x):
    from genlearn.models.vaegan import discriminator_loss, generator_loss, similarity_loss, three_class_losses

    logits = torch.randn(3, 5, generator=_gen(6), dtype=torch.float64)
    r, c, g = logits
    assert float(discriminator_loss(r, c, g)) == pytest.approx(
        float(-(torch.sigmoid(r).log() + (1 - torch.sigmoid(c)).log() + (1 - torch.sigmoid(g)).log()).mean()))
    assert float(generator_loss(c, g, "saturating")) == pytest.approx(
        float(((1 - torch.sigmoid(c)).log() + (1 - torch.sigmoid(g)).log()).mean()))
    with pytest.raises(ValueError, match="form must be one of"):
        generator_loss(c, g, "minimax")
    with pytest.raises(ValueError, match="same shape"):
        similarity_loss(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        three_class_losses(r, c, g)


def test_spectral_norm_discriminator_shapes_lipschitz_and_round_trip(tmp_path, x):
    model = _model(dis_spectral_norm=True)
    assert model.config()["dis_spectral_norm"] is True and "dis_spectral_norm" not in _model().config()
    with torch.no_grad():
        out = model(x)
        f, logits = model.discriminator.features_and_logits(torch.cat([x, out.x_rec]), 2)
    assert f.shape == (12, 16 * 2 * 2) and logits.shape == (12,)
    for _ in range(30):  # power iterations converge: the head's weight has spectral norm 1
        model.discriminator(x)
    w = model.discriminator.head.weight.detach()
    assert abs(float(torch.linalg.matrix_norm(w, ord=2)) - 1) < 1e-3
    terms, grads = vaegan_grads(model, x, _gen(2))
    assert all(torch.isfinite(g).all() for gs in grads.values() for g in gs)
    path = save(model.float(), tmp_path / "sn.pt")
    back = load(path, device="cpu")
    assert back.config() == model.config() and back.discriminator.spectral_norm
    assert all(torch.equal(p, q) for p, q in zip(model.state_dict().values(), back.state_dict().values(),
                                                       strict=True))
    with pytest.raises(ValueError, match="dis_spectral_norm must be True or False"):
        VAEGAN((1, 8, 8), 4, dis_spectral_norm=1)


def test_conv_vaegan_shapes_and_round_trip(tmp_path):
    torch.manual_seed(0)
    model = VAEGAN((1, 28, 28), 16, arch="conv", channels=(8, 16), dis_channels=(8, 16), gamma=0.01)
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        out = model(x)
    assert out.x_rec.shape == out.x_gen.shape == x.shape and model.sample(2).shape == (2, 1, 28, 28)
    back = load(save(model, tmp_path / "conv.pt"), device="cpu")
    assert back.config() == model.config() and back.config()["arch"] == "conv"
    with torch.no_grad():
        assert torch.equal(back.reconstruct(x), model.reconstruct(x))

