"""VectorQuantizer: nearest-code search, straight-through gradients, losses, EMA, restarts."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from genlearn.models import VectorQuantizer, VQOutput
from genlearn.models.vq import perplexity

B, D, H, W, K = 3, 4, 5, 6, 7


def _vq(**kw) -> VectorQuantizer:
    torch.manual_seed(0)
    vq = VectorQuantizer(K, D, **kw).double()
    vq.init_codebook(torch.randn(K, D, dtype=torch.float64))
    return vq


def _z(*shape: int, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _grad(out: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
    """d out / d inp, with an unused input counting as a zero gradient."""
    (g,) = torch.autograd.grad(out, inp, retain_graph=True, allow_unused=True)
    return torch.zeros_like(inp) if g is None else g


def _brute_force_nearest(flat: torch.Tensor, codebook: torch.Tensor) -> torch.Tensor:
    return ((flat[:, None, :] - codebook[None, :, :]) ** 2).sum(-1).argmin(1)  # (N, K, D)


def test_nearest_matches_brute_force_on_tiny_example():
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [-3.0, -3.0]], dtype=torch.float64)
    z = torch.tensor(
        [[0.1, 0.1], [0.9, -0.2], [0.2, 1.6], [-2.0, -2.5], [0.6, 0.1], [5.0, 0.0]],
        dtype=torch.float64,
    )
    vq = VectorQuantizer(4, 2, channel_dim=-1).double()
    vq.init_codebook(codebook)
    assert vq.nearest(z).tolist() == [0, 1, 2, 3, 1, 1]
    assert torch.equal(vq.nearest(z), _brute_force_nearest(z, codebook))


def test_nearest_code_is_as_close_as_brute_force_on_random_data():
    torch.manual_seed(0)
    vq = VectorQuantizer(64, 8, channel_dim=-1)
    z = torch.randn(500, 8) * 0.05
    idx = vq.nearest(z)
    dist = ((z[:, None, :] - vq.codebook[None]) ** 2).sum(-1)
    best = dist.min(1).values
    # the expanded formula ||z||^2 - 2 z.e + ||e||^2 rounds; allow float32 rounding of ~||z||^2
    assert torch.allclose(dist.gather(1, idx[:, None]).squeeze(1), best, atol=1e-6)
    assert (idx == _brute_force_nearest(z, vq.codebook)).float().mean() > 0.99


def test_forward_returns_named_result_with_quantized_codes():
    vq = _vq()
    z = _z(B, D, H, W)
    out = vq(z)
    assert isinstance(out, VQOutput)
    assert out.quantized.shape == z.shape and out.indices.shape == (B, H, W)
    assert torch.allclose(out.quantized, vq.lookup(out.indices), atol=1e-12)
    assert torch.equal(out.indices, vq.nearest(z))
    assert out.usage.shape == (K,) and out.usage.sum().item() == B * H * W


def test_straight_through_gradient_equals_decoder_gradient_at_the_codes():
    vq = _vq()
    z = _z(B, D, H, W).requires_grad_()
    target = _z(B, D, H, W, seed=2)

    def decoder_loss(q: torch.Tensor) -> torch.Tensor:  # any differentiable function of z_q
        return (torch.tanh(q) * target).sum() + (q**3).mean()

    out = vq(z)
    grad_z = _grad(decoder_loss(out.quantized), z)

    z_q = vq.lookup(out.indices).detach().requires_grad_()  # z_q as a leaf
    grad_zq = _grad(decoder_loss(z_q), z_q)
    assert torch.allclose(grad_z, grad_zq, atol=1e-10)
    assert _grad(decoder_loss(out.quantized), vq.codebook).abs().max() == 0  # no path to codes


def test_codebook_and_commitment_losses_route_gradients_as_stop_gradients_say():
    beta = 0.3
    vq = _vq(beta=beta)
    z = _z(B, D, H, W).requires_grad_()
    out = vq(z)
    e = vq.lookup(out.indices).detach()  # the chosen code at every position, (B, D, H, W)
    diff = (z - e).detach()

    sq = (diff**2).sum() / B  # summed per example, meaned over the batch
    assert torch.allclose(out.codebook_loss, sq)
    assert torch.allclose(out.commitment_loss, beta * sq)
    assert torch.allclose(out.loss, (1 + beta) * sq)

    # encoder: only the commitment term reaches z, with gradient 2 beta (z - e) / B
    assert torch.allclose(_grad(out.commitment_loss, z), 2 * beta * diff / B)
    assert _grad(out.codebook_loss, z).abs().max() == 0
    # codebook: only the codebook term reaches the codes: -2/B * sum of (z - e_k) over z -> k
    rows = diff.movedim(1, -1).reshape(-1, D)
    expected = torch.zeros(K, D, dtype=torch.float64)
    for i, k in enumerate(out.indices.reshape(-1).tolist()):
        expected[k] -= 2 * rows[i] / B
    assert torch.allclose(_grad(out.codebook_loss, vq.codebook), expected)
    assert _grad(out.commitment_loss, vq.codebook).abs().max() == 0
    assert _grad(out.quantized.sum(), vq.codebook).abs().max() == 0


@pytest.mark.parametrize("fused", [False, True])
def test_step_matches_plain_autograd_formulation(fused):
    vq = _vq(beta=0.25)
    vq.fused = fused
    z = _z(B, D, H, W).requires_grad_()
    w = _z(B, D, H, W, seed=3)
    out = vq(z)
    ((out.quantized * w).sum() + out.codebook_loss + out.commitment_loss).backward()

    z2 = z.detach().clone().requires_grad_()
    codes = vq.codebook.detach().clone().requires_grad_()
    e = F.embedding(out.indices, codes).movedim(-1, 1)
    z_q = z2 + (e - z2).detach()
    loss = (
        (z_q * w).sum()
        + ((z2.detach() - e) ** 2).sum() / B
        + 0.25 * ((z2 - e.detach()) ** 2).sum() / B
    )
    loss.backward()
    assert torch.equal(out.quantized, z_q)
    assert torch.allclose(z.grad, z2.grad, atol=1e-12)
    assert torch.allclose(vq.codebook.grad, codes.grad, atol=1e-12)


def test_ema_update_matches_hand_computation():
    decay, eps = 0.9, 0.1
    vq = VectorQuantizer(3, 2, ema=True, decay=decay, eps=eps, channel_dim=-1).double()
    vq.init_codebook(torch.tensor([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]], dtype=torch.float64))
    z = torch.tensor([[0.0, 0.0], [0.2, 0.0], [1.0, 1.0], [1.2, 1.0]], dtype=torch.float64)
    z.requires_grad_()
    out = vq(z)  # training mode: assignments 0, 0, 1, 1; code 2 unused

    assert out.indices.tolist() == [0, 0, 1, 1]
    assert out.codebook_loss.item() == 0 and not out.codebook_loss.requires_grad
    # N_k = 0.9 * 1 + 0.1 * n_k with n = (2, 2, 0); m_k = 0.9 * e_k + 0.1 * (sum of z -> k)
    sizes = [1.1, 1.1, 0.9]
    sums = [[0.02, 0.0], [0.9 + 0.22, 0.9 + 0.2], [4.5, 4.5]]
    n = 3.1
    smoothed = [(s + eps) / (n + 3 * eps) * n for s in sizes]
    expected = torch.tensor([[v / smoothed[k] for v in sums[k]] for k in range(3)])
    assert torch.allclose(vq.ema_state.size, torch.tensor(sizes, dtype=torch.float64))
    assert torch.allclose(vq.ema_state.sum, torch.tensor(sums, dtype=torch.float64))
    assert torch.allclose(vq.codebook, expected.double())
    # the returned codes and commitment use the codebook from before the update
    old_codes = torch.tensor([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    assert torch.allclose(out.quantized, old_codes)
    assert math.isclose(out.commitment_loss.item(), 0.25 * (0.04 + 0.04) / 4)
    # EMA codes are buffers (never seen by an optimizer) and eval mode leaves them alone
    assert not any(p is vq.codebook for p in vq.parameters())
    before = vq.codebook.clone()
    vq.eval()
    vq(z)
    assert torch.equal(vq.codebook, before)


def test_perplexity_is_k_for_uniform_use_and_one_for_a_single_code():
    assert math.isclose(perplexity(torch.arange(8).repeat(5), 8).item(), 8.0, rel_tol=1e-12)
    assert math.isclose(perplexity(torch.full((20,), 3), 8).item(), 1.0, rel_tol=1e-12)
    counts = torch.tensor([1.0, 1.0, 0.0, 0.0])  # two codes used equally: perplexity 2
    assert math.isclose(perplexity(counts, 4).item(), 2.0, rel_tol=1e-12)
    p = torch.tensor([0.5, 0.25, 0.25], dtype=torch.float64)  # H = 1.5 log 2, exp(H) = 2^1.5
    assert math.isclose(perplexity(p * 4, 3).item(), 2**1.5, rel_tol=1e-12)
    assert math.isclose(perplexity(torch.tensor([2, 1, 1]), 3, counts=True).item(),
                        perplexity(p, 3).item(), rel_tol=1e-12)


def test_forward_reports_usage_counts_and_perplexity_of_the_batch():
    vq = _vq()
    out = vq(_z(B, D, H, W))
    counts = torch.bincount(out.indices.reshape(-1), minlength=K)
    assert torch.equal(out.usage, counts.to(out.usage.dtype))
    assert torch.allclose(out.perplexity, perplexity(out.indices, K).to(out.perplexity.dtype))
    assert 1.0 <= out.perplexity.item() <= K


def test_dead_code_restart_reseeds_an_unused_code_from_the_batch():
    vq = VectorQuantizer(3, 2, restart_after=3, channel_dim=-1).double()
    codes = torch.tensor([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]], dtype=torch.float64)
    vq.init_codebook(codes)
    near_both = torch.tensor([[0.1, 0.0], [0.0, 0.1], [0.9, 1.0], [1.0, 0.9]], dtype=torch.float64)
    near_zero = near_both[:2] * 0.5

    vq(near_both)  # step 1: codes 0 and 1 used, code 2 idle once
    vq(near_zero)  # step 2: code 1 idle once, code 2 idle twice
    assert torch.equal(vq.codebook, codes)
    assert vq.unused_steps.tolist() == [0, 1, 2]
    vq.eval()
    vq(near_zero)  # eval steps neither count nor restart
    assert vq.unused_steps.tolist() == [0, 1, 2]
    vq.train()
    vq(near_zero)  # step 3: code 2 reaches 3 idle steps and is re-seeded; code 1 only has 2
    assert torch.equal(vq.codebook[:2], codes[:2])
    assert any(torch.equal(vq.codebook[2], row) for row in near_zero)
    assert vq.unused_steps.tolist() == [0, 2, 0]
    assert vq.num_restarts.item() == 1


def test_dead_code_restart_in_ema_mode_restarts_the_averages():
    vq = VectorQuantizer(3, 2, ema=True, restart_after=1, channel_dim=-1).double()
    vq.init_codebook(torch.tensor([[0.0, 0.0], [1.0, 1.0], [100.0, 100.0]], dtype=torch.float64))
    z = torch.tensor([[0.1, 0.0], [0.9, 1.0]], dtype=torch.float64)
    vq(z)
    assert any(torch.equal(vq.codebook[2], row) for row in z)
    assert vq.ema_state.size[2].item() == 1.0 and torch.equal(vq.ema_state.sum[2], vq.codebook[2])


def test_channel_first_and_channel_last_layouts_agree():
    first, last = _vq(channel_dim=1), _vq(channel_dim=-1)
    z = _z(B, D, H, W).requires_grad_()
    z_last = z.detach().permute(0, 2, 3, 1).contiguous().requires_grad_()  # (B, H, W, D)
    a, b = first(z), last(z_last)
    assert torch.equal(a.indices, b.indices) and a.quantized.is_contiguous()
    assert torch.allclose(a.quantized.permute(0, 2, 3, 1), b.quantized)
    assert torch.allclose(a.codebook_loss, b.codebook_loss)
    assert torch.allclose(a.commitment_loss, b.commitment_loss)
    assert torch.allclose(a.perplexity, b.perplexity)
    (a.quantized.square().sum() + a.loss).backward()
    (b.quantized.square().sum() + b.loss).backward()
    assert torch.allclose(z.grad.permute(0, 2, 3, 1), z_last.grad)
    assert torch.allclose(first.codebook.grad, last.codebook.grad)
    assert first.lookup(a.indices).shape == z.shape and last.lookup(b.indices).shape == z_last.shape
    # a plain (N, D) batch is the same for both layouts
    flat = z_last.detach().reshape(-1, D)
    assert torch.equal(first.nearest(flat), last.nearest(flat))
    assert torch.equal(first.nearest(flat).view(B, H, W), a.indices)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_codes": 0, "code_dim": 4}, "num_codes"),
        ({"num_codes": 8, "code_dim": 0}, "code_dim"),
        ({"num_codes": 8, "code_dim": 4, "beta": -1.0}, "beta"),
        ({"num_codes": 8, "code_dim": 4, "ema": True, "decay": 1.0}, "decay"),
        ({"num_codes": 8, "code_dim": 4, "restart_after": 0}, "restart_after"),
        ({"num_codes": 8, "code_dim": 4, "channel_dim": 2}, "channel_dim"),
    ],
)
def test_bad_settings_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VectorQuantizer(**kwargs)


def test_bad_inputs_raise_helpful_value_errors():
    vq = _vq()
    with pytest.raises(ValueError, match=r"expects D=4"):
        vq(_z(B, 3, H, W))
    with pytest.raises(ValueError, match=r"expects D=4.*\(B, \.\.\., D\)"):
        _vq(channel_dim=-1)(_z(B, D, H, W))
    bad = _z(B, D, H, W)
    bad[1, 2, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        vq(bad)
    bad[1, 2, 3, 4] = float("inf")
    with pytest.raises(ValueError, match="inf"):
        vq(bad)
    with pytest.raises(ValueError, match="NaN"):
        vq.nearest(torch.full((2, D), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="floating"):
        vq(torch.ones(B, D, dtype=torch.long))
    with pytest.raises(ValueError, match="shape"):
        vq(torch.ones(D, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        vq.lookup(torch.tensor([[0, 7]]))
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        perplexity(torch.tensor([-1, 2]), K)
    with pytest.raises(ValueError, match="shape"):
        perplexity(torch.ones(3), K)
    with pytest.raises(ValueError, match="num_codes"):
        perplexity(torch.tensor([0]), 0)


@pytest.mark.parametrize("ema", [False, True])
def test_fused_path_gives_the_plain_path_values_and_gradients(ema):
    """The opt-in fused autograd function and the lesson's three lines agree."""
    results = []
    for fused in (False, True):
        torch.manual_seed(0)
        vq = VectorQuantizer(K, D, beta=0.3, ema=ema, fused=fused).double().train()
        z = _z(B, D, H, W).requires_grad_()
        w = _z(B, D, H, W, seed=3)
        out = vq(z)
        ((out.quantized * w).sum() + out.codebook_loss + out.commitment_loss).backward()
        results.append((out, z.grad, None if ema else vq.codebook.grad, vq.codebook.detach().clone()))
    (a, ga, ca, cba), (b, gb, cb, cbb) = results
    assert torch.equal(a.quantized, b.quantized) and torch.equal(a.indices, b.indices)
    torch.testing.assert_close(a.codebook_loss, b.codebook_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(a.commitment_loss, b.commitment_loss, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-12)
    if not ema:
        torch.testing.assert_close(ca, cb, rtol=1e-12, atol=1e-12)
    assert torch.equal(cba, cbb)
