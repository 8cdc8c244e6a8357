"""VQVAE: shapes, loss reductions, gradients, code maps, codebook statistics, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genlearn.evaluate import codebook_stats, codebook_tracker
from genlearn.models import VQVAE, VQVAELoss, VQVAEOutput, vqvae_loss
from genlearn.models.vq import VQOutput, perplexity
from genlearn.train import fit, load, save

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(in_shape=(1, 8, 8), **kw) -> VQVAE:
    torch.manual_seed(0)
    kw.setdefault("num_codes", 16)
    kw.setdefault("code_dim", 4)
    kw.setdefault("channels", (8, 16))
    return VQVAE(in_shape, **kw)


def _x(n: int, shape=(1, 8, 8), seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize(
    ("in_shape", "code_shape"),
    [((1, 8, 8), (2, 2)), ((1, 16, 16), (4, 4)), ((1, 28, 28), (7, 7)), ((3, 16, 16), (4, 4))],
)
def test_shapes_for_digit_moon_and_mnist_sizes(in_shape, code_shape):
    model = _model(in_shape)
    x = _x(3, in_shape)
    out = model(x)
    assert isinstance(out, VQVAEOutput) and isinstance(out.vq, VQOutput)
    assert out.decoded.shape == x.shape
    assert out.z_e.shape == (3, 4, *code_shape) and out.z_q.shape == out.z_e.shape
    assert model.code_shape == code_shape and out.indices.shape == (3, *code_shape)
    idx = model.encode_indices(x)
    assert idx.dtype == torch.long and idx.shape == (3, *code_shape)
    assert torch.equal(idx, out.indices)
    assert model.decode_indices(idx).shape == x.shape


def test_one_downsampling_layer_gives_finer_code_maps():
    model = _model(channels=(8,))
    assert model.code_shape == (4, 4)
    assert model(_x(2)).decoded.shape == (2, 1, 8, 8)


@pytest.mark.parametrize("likelihood", ["bernoulli", "mse"])
def test_loss_terms_match_a_hand_computation(likelihood):
    beta = 0.4
    model = _model(likelihood=likelihood, beta=beta).double()
    x = _x(5).double()
    out = model(x)
    terms = vqvae_loss(model, x, out)
    assert isinstance(terms, VQVAELoss) and terms._fields[0] == "loss"
    if likelihood == "bernoulli":  # nats: BCE summed over pixels, averaged over the batch
        per_example = F.binary_cross_entropy_with_logits(out.decoded, x, reduction="none").flatten(1).sum(1)
    else:  # squared error summed over pixels, averaged over the batch
        per_example = ((out.decoded - x) ** 2).flatten(1).sum(1)
    assert torch.allclose(terms.recon, per_example.mean())
    e = model.lookup(out.indices)  # chosen code vectors (N, D, h, w)
    sq = ((out.z_e - e) ** 2).flatten(1).sum(1).mean()
    assert torch.allclose(terms.codebook, sq)
    assert torch.allclose(terms.commitment, beta * sq)
    assert torch.allclose(terms.loss, terms.recon + (1 + beta) * sq)
    assert math.isclose(terms.perplexity.item(), perplexity(out.indices, model.num_codes).item(), rel_tol=1e-9)
    assert all(t.ndim == 0 for t in terms)


def test_loss_recomputes_the_forward_pass_identically_in_eval_mode():
    model = _model().eval()
    x = _x(4)
    assert torch.allclose(vqvae_loss(model, x).loss, vqvae_loss(model, x, model(x)).loss)


def test_gradients_reach_encoder_decoder_and_codebook_through_straight_through():
    model = _model()
    vqvae_loss(model, _x(6)).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    # the reconstruction alone reaches the encoder only through the straight-through path
    model.zero_grad()
    F.binary_cross_entropy_with_logits(model(_x(6)).decoded, _x(6), reduction="sum").backward()
    assert model.encoder.net[0].weight.grad.abs().sum() > 0
    assert model.quantizer.codebook.grad is None or model.quantizer.codebook.grad.abs().sum() == 0


def test_code_maps_round_trip_to_the_reconstruction():
    model = _model().eval()
    x = _x(4)
    idx = model.encode_indices(x)
    expected = torch.sigmoid(model(x).decoded)
    assert torch.allclose(model.decode_indices(idx), expected, atol=1e-6)
    assert torch.allclose(model.reconstruct(x), expected, atol=1e-6)
    assert model.decode_indices(idx.int()).shape == x.shape  # any integer dtype


def test_mse_likelihood_decodes_to_the_raw_output():
    model = _model(likelihood="mse").eval()
    x = _x(2)
    assert torch.allclose(model.decode_indices(model.encode_indices(x)), model(x).decoded, atol=1e-6)


def test_codebook_stats_and_tracker():
    model = _model(num_codes=8)
    x = _x(10)
    stats = codebook_stats(model, x, batch_size=3)
    assert stats.counts.shape == (8,) and int(stats.counts.sum()) == 10 * 4
    used = int((stats.counts > 0).sum())
    assert stats.used == used / 8 and stats.dead == 8 - used
    assert 1.0 <= stats.perplexity <= used + 1e-9
    history = fit(model, vqvae_loss, x, 2, batch_size=5, seed=0, progress=False, device="cpu",
                  after_epoch=codebook_tracker(x, model=model))
    assert len(history["data_used"]) == 3 and len(history["data_perplexity"]) == 3  # untrained + 2 epochs
    assert history["data_used"][0] == stats.used
    assert set(history) >= {"loss", "recon", "codebook", "commitment", "perplexity"}


def test_init_codebook_from_data_uses_encoder_outputs():
    model = _model(num_codes=8)
    x = _x(4)  # 4 images x 4 positions = 16 vectors >= 8 codes
    model.init_codebook_from_data(x, torch.Generator().manual_seed(0))
    rows = model.encode(x).detach().movedim(1, -1).reshape(-1, 4)
    for code in model.quantizer.codebook.detach():
        assert (rows - code).abs().sum(1).min() < 1e-6
    with pytest.raises(ValueError, match="at least num_codes=8"):
        model.init_codebook_from_data(_x(1))


def test_options_reach_the_quantizer_and_checkpoints_round_trip(tmp_path):
    model = _model(ema=True, decay=0.9, restart_after=5, beta=0.5, upsample="nearest")
    q = model.quantizer
    assert q.ema and q.decay == 0.9 and q.restart_after == 5 and q.beta == 0.5
    path = save(model, tmp_path / "vq.pt")
    again = load(path, device="cpu")
    assert again.config() == model.config()
    x = _x(2)
    assert torch.equal(again.encode_indices(x), model.eval().encode_indices(x))


def test_bad_input_raises_clear_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"shape \(N, 1, 8, 8\)"):
        model(_x(2, (3, 8, 8)))  # wrong channel size
    with pytest.raises(ValueError, match=r"add the channel axis"):
        model(torch.rand(2, 8, 8))
    bad = _x(2)
    bad[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(bad)
    bad[0, 0, 1, 1] = float("inf")
    with pytest.raises(ValueError, match="inf"):
        model.encode_indices(bad)
    with pytest.raises(ValueError, match="floating"):
        model(torch.ones(2, 1, 8, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="num_codes"):
        VQVAE((1, 8, 8), num_codes=0)
    with pytest.raises(ValueError, match="code_dim"):
        VQVAE((1, 8, 8), code_dim=0)
    with pytest.raises(ValueError, match="likelihood"):
        VQVAE((1, 8, 8), likelihood="gaussian")
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        VQVAE((64,))
    with pytest.raises(ValueError, match=r"\(N, 2, 2\)"):
        model.decode_indices(torch.zeros(2, 3, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        model.decode_indices(torch.zeros(2, 2, 2))
    with pytest.raises(ValueError, match=r"\[0, 16\)"):
        model.decode_indices(torch.full((1, 2, 2), 16))
