"""CodePrior (PixelCNN over code maps): causality, likelihood, sampling, training, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from genlearn.models import VQVAE, CodePrior, code_prior_loss
from genlearn.models.code_prior import MaskedConv2d, causal_mask, uniform_codes
from genlearn.recipes import decode_prior_samples as sample_images
from genlearn.recipes import fit_code_prior

pytestmark = pytest.mark.usefixtures("one_thread")


def _prior(k: int = 10, shape=(3, 4), **kw) -> CodePrior:
    torch.manual_seed(0)
    return CodePrior(k, shape, channels=8, **kw).double()


def _codes(n: int, k: int = 10, shape=(3, 4), seed: int = 0) -> torch.Tensor:
    return torch.randint(k, (n, *shape), generator=torch.Generator().manual_seed(seed))


def _raster_grad(fn, h: int, w: int, channels: int) -> dict[tuple[int, int], torch.Tensor]:
    """For every output position, |d out[:, r, c] / d input| summed over channels -> (h, w) map."""
    x = torch.randn(1, channels, h, w, dtype=torch.float64, requires_grad=True)
    out = fn(x)
    grads = {}
    for r in range(h):
        for c in range(w):
            (g,) = torch.autograd.grad(out[0, :, r, c].sum(), x, retain_graph=True)
            grads[(r, c)] = g[0].abs().sum(0)
    return grads


def test_causal_masks():
    assert causal_mask(3, "A").tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert causal_mask(3, "B").tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    assert causal_mask(5, "A").sum() == 12 and causal_mask(5, "B").sum() == 13
    with pytest.raises(ValueError, match="odd"):
        causal_mask(4, "A")
    with pytest.raises(ValueError, match="mask_type"):
        causal_mask(3, "C")


@pytest.mark.parametrize("mask_type", ["A", "B"])
def test_masked_conv_output_ignores_inputs_at_and_after_its_position(mask_type):
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 2, 5, mask_type).double()
    h, w = 4, 5
    for (r, c), g in _raster_grad(conv, h, w, 3).items():
        i = r * w + c
        flat = g.reshape(-1)
        assert flat[i + 1 :].abs().max() == 0 if i + 1 < h * w else True  # nothing after i
        assert (flat[i] == 0) if mask_type == "A" else (flat[i] > 0)  # A excludes i itself


@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (7, 7)])
def test_prior_logits_at_i_depend_on_all_of_and_only_the_past(shape):
    h, w = shape
    prior = _prior(shape=shape)
    grads = _raster_grad(prior.logits_from_features, h, w, prior.channels)
    for (r, c), g in grads.items():
        i = r * w + c
        flat = g.reshape(-1)
        assert flat[i:].abs().max() == 0, f"position {(r, c)} sees the present or the future"
        assert (flat[:i] > 0).all(), f"position {(r, c)} misses part of its past (blind spot)"


def test_log_prob_and_loss_agree_and_are_uniform_for_a_zero_head():
    k, shape = 10, (3, 4)
    prior = _prior(k, shape)
    idx = _codes(6, k, shape)
    terms = code_prior_loss(prior, idx)
    assert torch.allclose(terms.loss, -prior.log_prob(idx).mean())
    assert torch.allclose(terms.bits_per_code, terms.loss / (12 * math.log(2)))
    with torch.no_grad():  # all-zero logits = the uniform prior: exactly log2 K bits per code
        prior.head.weight.zero_()
        prior.head.bias.zero_()
    assert math.isclose(code_prior_loss(prior, idx).bits_per_code.item(), math.log2(k), rel_tol=1e-12)


def test_sample_shapes_range_and_determinism():
    prior = _prior()
    a = prior.sample(5, torch.Generator().manual_seed(1))
    b = prior.sample(5, torch.Generator().manual_seed(1))
    c = prior.sample(5, torch.Generator().manual_seed(2))
    assert a.shape == (5, 3, 4) and a.dtype == torch.long
    assert a.min() >= 0 and a.max() < 10
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert prior.sample(2, temperature=0.5).shape == (2, 3, 4)
    with pytest.raises(ValueError, match="temperature"):
        prior.sample(2, temperature=0.0)
    with pytest.raises(ValueError, match="n must be"):
        prior.sample(0)


def test_low_temperature_follows_a_peaked_prior():
    prior = _prior(k=5, shape=(2, 2))
    with torch.no_grad():  # head always prefers code 3
        prior.head.weight.zero_()
        prior.head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 5.0, 0.0]))
    draws = prior.sample(50, torch.Generator().manual_seed(0), temperature=0.1)
    assert (draws == 3).all()


def test_uniform_codes_and_sample_images():
    u = uniform_codes(4, (2, 2), 7, torch.Generator().manual_seed(0))
    assert u.shape == (4, 2, 2) and u.max() < 7 and u.min() >= 0
    assert torch.equal(u, uniform_codes(4, (2, 2), 7, torch.Generator().manual_seed(0)))
    torch.manual_seed(0)
    vq = VQVAE((1, 8, 8), num_codes=7, code_dim=3, channels=(4, 8))
    prior = CodePrior(7, vq.code_shape, channels=8)
    images = sample_images(prior, vq, 3, torch.Generator().manual_seed(0))
    assert images.shape == (3, 1, 8, 8) and images.min() >= 0 and images.max() <= 1
    with pytest.raises(ValueError, match="does not match"):
        sample_images(CodePrior(8, vq.code_shape, channels=8), vq, 2)


def test_fit_code_prior_learns_and_keeps_the_best_validation_epoch():
    k, shape = 4, (2, 2)
    g = torch.Generator().manual_seed(0)
    first = torch.randint(k, (200,), generator=g)
    idx = first.view(-1, 1, 1).expand(-1, *shape).clone()  # every map repeats its first code
    prior = CodePrior(k, shape, channels=16).float()
    history = fit_code_prior(prior, idx[:150], 15, val_codes=idx[150:], lr=1e-2, batch_size=50, device="cpu")
    best = int(history["best_epoch"][0])
    assert history["val_loss"][best] == min(history["val_loss"])
    with torch.no_grad():
        again = code_prior_loss(prior, idx[150:]).loss.item()
    assert math.isclose(again, history["val_loss"][best], rel_tol=1e-4)
    # only the first code is uncertain: about log2(4) / 4 = 0.5 bits per code, far below uniform (2)
    assert history["val_bits_per_code"][best] < 1.0


def test_bad_input_raises_clear_errors():
    prior = _prior()
    with pytest.raises(ValueError, match="num_codes"):
        CodePrior(0, (2, 2))
    with pytest.raises(ValueError, match=r"\(h, w\)"):
        CodePrior(4, (2, 2, 2))
    with pytest.raises(ValueError, match="kernel_size"):
        CodePrior(4, (2, 2), kernel_size=4)
    with pytest.raises(ValueError, match="integer"):
        prior.log_prob(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"\(N, 3, 4\)"):
        prior(torch.zeros(2, 4, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        code_prior_loss(prior, torch.full((1, 3, 4), 10))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        prior(torch.full((1, 3, 4), -1))
