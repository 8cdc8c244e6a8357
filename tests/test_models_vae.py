"""genlearn.models: network builders, AE, VAE and the VAE loss in nats per example."""

import math

import pytest
import torch
import torch.nn.functional as F

from genlearn.models import AE, VAE, ConvDecoder, ConvEncoder, VAEOutput, ae_loss, kl_warmup, vae_loss
from genlearn.models.nets import soft_clamp


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ------------------------------------------------------------------------------------ nets

SHAPES = [(1, 8, 8), (1, 16, 16), (1, 28, 28), (3, 28, 28)]
FEATURES = {8: 2, 16: 4, 28: 7}  # H -> ceil(H/2) -> ceil(H/4)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("upsample", ["transpose", "nearest"])
def test_conv_encoder_and_decoder_round_trip_shapes(shape, upsample):
    enc = ConvEncoder(shape, out_channels=5)
    dec = ConvDecoder(shape, in_channels=5, upsample=upsample)
    h = FEATURES[shape[1]]
    assert enc.feature_shape == (5, h, h) and dec.in_shape == (5, h, h)
    feat = enc(torch.rand(2, *shape))
    assert feat.shape == (2, 5, h, h)
    assert dec(feat).shape == (2, *shape)


def test_decoder_upsampling_modes_use_different_layers():
    kinds = {
        up: {type(m).__name__ for m in ConvDecoder((1, 16, 16), 4, upsample=up).modules()}
        for up in ("transpose", "nearest")
    }
    assert "ConvTranspose2d" in kinds["transpose"] and "Upsample" not in kinds["transpose"]
    assert "Upsample" in kinds["nearest"] and "ConvTranspose2d" not in kinds["nearest"]
    with pytest.raises(ValueError, match="upsample must be one of"):
        ConvDecoder((1, 8, 8), 4, upsample="bilinear")


def test_soft_clamp_is_near_identity_inside_and_bounded_outside():
    x = torch.linspace(-4, 4, 81)
    # |soft_clamp(x) - x| = softplus(lo - x) + softplus(x - hi) <= e^(lo - x) + e^(x - hi)
    bound = math.exp(-12 + 4) + math.exp(4 - 8)
    assert float((soft_clamp(x, -12.0, 8.0) - x).abs().max()) <= bound
    y = soft_clamp(torch.tensor([-1e6, 1e6]), -12.0, 8.0)
    torch.testing.assert_close(y, torch.tensor([-12.0, 8.0]))


# ------------------------------------------------------------------------------ wrong input


@pytest.mark.parametrize("arch", ["mlp", "conv"])
def test_images_of_the_wrong_size_raise_naming_the_expected_shape(arch):
    for model in (VAE((1, 8, 8), 2, arch=arch), AE((1, 8, 8), 2, arch=arch)):
        with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\)"):
            model(torch.rand(3, 1, 28, 28))
        with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\).*unsqueeze"):
            model.encode(torch.rand(3, 8, 8))
        with pytest.raises(ValueError, match="floating"):
            model(torch.ones(3, 1, 8, 8, dtype=torch.int64))


def test_codes_of_the_wrong_size_raise():
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        VAE((1, 8, 8), 3).decode(torch.zeros(2, 4))


def test_bad_constructor_arguments_raise():
    with pytest.raises(ValueError, match="likelihood"):
        VAE(likelihood="poisson")
    with pytest.raises(ValueError, match="arch='conv' needs images"):
        VAE((2,), 2, arch="conv")
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(latent_dim=0)


# ------------------------------------------------------------------------------------- VAE


@pytest.mark.parametrize("arch", ["mlp", "conv"])
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28)])
def test_vae_forward_returns_named_parts_with_shapes(arch, shape):
    model = VAE(shape, 4, arch=arch, hidden=(32,), channels=(8, 16))
    out = model(torch.rand(5, *shape))
    assert isinstance(out, VAEOutput)
    assert out.decoded.shape == (5, *shape)
    assert out.mu.shape == out.logvar.shape == out.z.shape == (5, 4)
    samples = model.sample(6)
    assert samples.shape == (6, *shape) and 0 <= float(samples.min()) and float(samples.max()) <= 1


def _fixed_output(n=4, d=3, shape=(1, 2, 2)):
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(n, *shape, generator=g) > 0.5).float()
    out = VAEOutput(
        decoded=torch.randn(n, *shape, generator=g),
        mu=torch.randn(n, d, generator=g),
        logvar=torch.randn(n, d, generator=g),
        z=torch.zeros(n, d),
    )
    return x, out


def test_bernoulli_vae_loss_is_bce_plus_kl_in_nats_per_example():
    x, out = _fixed_output()
    model = VAE((1, 2, 2), 3, hidden=(4,))
    terms = vae_loss(model, x, out)
    p = torch.sigmoid(out.decoded)
    recon = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).sum() / len(x)  # sum pixels, mean batch
    kl = 0.5 * (out.logvar.exp() - 1 - out.logvar + out.mu**2).sum() / len(x)
    torch.testing.assert_close(terms.recon, recon)
    torch.testing.assert_close(terms.kl, kl)
    torch.testing.assert_close(terms.loss, recon + kl)
    # duplicating the batch leaves per-example values unchanged
    x2 = torch.cat([x, x])
    out2 = VAEOutput(*(torch.cat([t, t]) for t in out))
    torch.testing.assert_close(vae_loss(model, x2, out2).loss, terms.loss)


def test_gaussian_vae_loss_includes_the_normalising_constant():
    x, out = _fixed_output()
    sigma = 0.3
    model = VAE((1, 2, 2), 3, hidden=(4,), likelihood="gaussian", sigma=sigma)
    terms = vae_loss(model, x, out)
    per_pixel = (x - out.decoded) ** 2 / (2 * sigma**2) + 0.5 * math.log(2 * math.pi * sigma**2)
    torch.testing.assert_close(terms.recon, per_pixel.sum() / len(x))
    # and log p(x|z) is minus that, per example, for continuous data (a density is no likelihood of pixels
    # that take a few grey levels: that is refused)
    with pytest.raises(ValueError, match="continuous data"):
        model.log_px_given_z(x, torch.randn(4, 3))
    x = x + 0.01 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 3)
    lp = model.log_px_given_z(x, z)
    m = model.decode(z)
    expected = -((x - m) ** 2 / (2 * sigma**2) + 0.5 * math.log(2 * math.pi * sigma**2)).flatten(1).sum(1)
    torch.testing.assert_close(lp, expected)


def test_beta_and_free_bits_change_the_objective_not_the_reported_kl():
    x, out = _fixed_output()
    model = VAE((1, 2, 2), 3, hidden=(4,), beta=0.25)
    plain = vae_loss(VAE((1, 2, 2), 3, hidden=(4,)), x, out)
    t = vae_loss(model, x, out)
    torch.testing.assert_close(t.loss, plain.recon + 0.25 * plain.kl)
    torch.testing.assert_close(t.kl, plain.kl)
    # free bits: each dimension's batch-mean KL counts as at least lambda nats
    lam = 0.8
    model = VAE((1, 2, 2), 3, hidden=(4,), free_bits=lam)
    per_dim = (0.5 * (out.logvar.exp() - 1 - out.logvar + out.mu**2)).mean(0)
    t = vae_loss(model, x, out)
    torch.testing.assert_close(t.loss, plain.recon + per_dim.clamp(min=lam).sum())
    torch.testing.assert_close(t.kl, per_dim.sum())
    assert float(per_dim.min()) < lam < float(per_dim.max()), "the test should exercise both branches"


def test_reparameterisation_passes_gradients_to_mu_and_logvar():
    model = VAE((1, 2, 2), 3, hidden=(4,))
    mu = torch.zeros(5, 3, requires_grad=True)
    logvar = torch.full((5, 3), 0.4, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    z = model.reparameterize(mu, logvar, generator=g)
    z.sum().backward()
    eps = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.detach(), math.exp(0.2) * eps)
    torch.testing.assert_close(mu.grad, torch.ones(5, 3))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * math.exp(0.2) * eps)  # dz/ds = sigma eps / 2


def test_extreme_encoder_outputs_give_finite_losses():
    model = VAE((1, 8, 8), 2, hidden=(8,))
    x = (torch.rand(4, 1, 8, 8) > 0.5).float()
    last = model.encoder[-1][-1]
    for big in (1e4, -1e4):
        with torch.no_grad():
            last.bias[2:] = big  # the logvar half
        _, logvar = model.encode(x)
        assert float(logvar.detach().min()) >= -12.0 and float(logvar.detach().max()) <= 8.0
        terms = vae_loss(model, x)
        assert all(torch.isfinite(t) for t in terms)
        terms.loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_kl_warmup_raises_beta_linearly():
    model = VAE((1, 8, 8), 2, hidden=(8,), beta=0.0)
    hook = kl_warmup(4, beta=1.0)
    betas = []
    for epoch in range(6):
        hook(epoch, model, {})
        betas.append(model.beta)
    assert betas == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_config_lists_the_constructor_arguments():
    model = VAE((1, 8, 8), 3, arch="conv", channels=(4, 8), upsample="nearest", likelihood="gaussian")
    again = VAE(**model.config())
    assert again.config() == model.config()
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]


# -------------------------------------------------------------------------------------- AE


def test_ae_loss_is_squared_error_summed_over_pixels_mean_over_batch():
    model = AE((1, 4, 4), 2, hidden=(8,)).eval()
    x = torch.rand(3, 1, 4, 4)
    out = model(x)
    expected = ((out.recon - x) ** 2).sum() / 3
    torch.testing.assert_close(ae_loss(model, x, out).loss, expected)
    assert float(out.recon.detach().min()) >= 0 and float(out.recon.detach().max()) <= 1  # sigmoid output


def test_ae_noise_is_used_only_in_training_mode():
    x = torch.rand(3, 1, 4, 4)
    for kw in ({"code_noise": 0.5}, {"input_noise": 0.5}):
        model = AE((1, 4, 4), 2, hidden=(8,), **kw)
        model.eval()
        assert torch.equal(model(x).recon, model(x).recon)
        torch.testing.assert_close(model(x).recon, model.reconstruct(x))
        model.train()
        assert not torch.equal(model(x).recon, model(x).recon)
    plain = AE((1, 4, 4), 2, hidden=(8,)).train()
    assert torch.equal(plain(x).recon, plain(x).recon)


def test_ae_on_vectors_with_linear_output():
    model = AE((2,), 1, hidden=(16,), output="linear")
    out = model(torch.randn(7, 2) * 5)
    assert out.recon.shape == (7, 2) and out.z.shape == (7, 1)
    with pytest.raises(ValueError, match="output must be one of"):
        AE((2,), 1, output="relu")


def test_bernoulli_log_px_given_z_equals_minus_bce():
    model = VAE((1, 8, 8), 2, hidden=(8,))
    x = (torch.rand(3, 1, 8, 8) > 0.5).float()
    z = torch.randn(3, 2)
    expected = -F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none").sum((1, 2, 3))
    torch.testing.assert_close(model.log_px_given_z(x, z), expected)
