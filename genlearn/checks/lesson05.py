"""Checks for exercises of lesson 05 (VQ-VAE)."""

from __future__ import annotations

import math

import torch

from genlearn.checks import exercise
from genlearn.checks._util import close, to_float

LESSON = "05"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _grad(out: torch.Tensor, inp: torch.Tensor) -> torch.Tensor:
    """d out / d inp, zero when ``out`` does not depend on ``inp``."""
    if not out.requires_grad:
        return torch.zeros_like(inp)
    (g,) = torch.autograd.grad(out, inp, retain_graph=True, allow_unused=True)
    return torch.zeros_like(inp) if g is None else g


# --- nearest_code(z, codebook) ------------------------------------------------------------------
NC = "index of the nearest codebook vector (squared Euclidean distance) for every row of z"


@exercise("nearest_code", LESSON, NC)
def _nearest_small(fn):
    codebook = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [-3.0, -3.0]], dtype=torch.float64)
    z = torch.tensor([[0.1, 0.1], [0.9, -0.2], [0.2, 1.6], [-2.0, -2.5], [5.0, 0.0]], dtype=torch.float64)
    got = fn(z, codebook)
    assert isinstance(got, torch.Tensor) and got.shape == (5,), (
        f"return one index per row of z, shape (5,), got {getattr(got, 'shape', type(got).__name__)}: "
        "take the argmin over the codebook dimension"
    )
    assert not got.is_floating_point(), "return integer indices (argmin gives a long tensor), not distances"
    assert got.tolist() == [0, 1, 2, 3, 1], (
        f"got {got.tolist()}, expected [0, 1, 2, 3, 1]: the nearest code minimises ||z - e_k||^2 (argmin, not argmax)"
    )


@exercise("nearest_code", LESSON, NC)
def _nearest_euclidean_not_l1(fn):
    # L1 and L2 disagree here: code 0 is L1-nearer, code 1 is L2-nearer
    codebook = torch.tensor([[1.0, 1.0], [0.0, 1.9]], dtype=torch.float64)
    z = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    assert fn(z, codebook).tolist() == [0], "squared Euclidean distance: ||(0,0)-(1,1)||^2 = 2 < 3.61"
    codebook = torch.tensor([[1.5, 1.5], [0.0, 2.0]], dtype=torch.float64)
    assert fn(z, codebook).tolist() == [1], (
        "use the squared Euclidean distance sum_d (z_d - e_d)^2; the L1 distance |z_d - e_d| picks the wrong code here"
    )


@exercise("nearest_code", LESSON, NC)
def _nearest_random(fn):
    gen = _gen(0)
    codebook = torch.randn(16, 5, generator=gen, dtype=torch.float64)
    z = torch.randn(40, 5, generator=gen, dtype=torch.float64)
    want = ((z[:, None, :] - codebook[None]) ** 2).sum(-1).argmin(1)
    got = fn(z, codebook)
    assert torch.equal(got.long(), want), "wrong code for some rows: compare every z with every code (broadcast "\
        "z[:, None, :] - codebook[None, :, :] or use torch.cdist), then argmin over the codes"


# --- straight_through(z, e) ---------------------------------------------------------------------
ST = "straight-through output z + sg(e - z): the value of e, the gradient of z"


@exercise("straight_through", LESSON, ST)
def _st_value(fn):
    z = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64, requires_grad=True)
    e = torch.tensor([[0.0, -1.0], [2.5, 0.0]], dtype=torch.float64)
    out = fn(z, e)
    assert isinstance(out, torch.Tensor) and out.shape == z.shape, "return a tensor of z's shape"
    assert torch.allclose(out, e), "the forward value must be the code e (z + (e - z) = e)"


@exercise("straight_through", LESSON, ST)
def _st_gradients(fn):
    gen = _gen(1)
    z = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    e = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    loss = (fn(z, e) * w).sum()
    assert torch.allclose(_grad(loss, z), w), (
        "the gradient must pass to z unchanged (d out / d z = identity): stop the gradient of (e - z) only, "
        "with .detach(), and add z outside it"
    )
    assert _grad(loss, e).abs().max() == 0, (
        "no gradient may reach the code e through this output (it is inside the stop-gradient); "
        "the codebook is trained by its own loss term"
    )


# --- vq_losses(z, e, beta) ----------------------------------------------------------------------
VL = ("codebook = ||sg(z) - e||^2 and commitment = beta ||z - sg(e)||^2, each summed per example "
      "and averaged over the batch")


def _vq_case(seed: int):
    gen = _gen(seed)
    z = torch.randn(4, 3, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)  # (B, D, h, w)
    e = torch.randn(4, 3, 2, 2, generator=gen, dtype=torch.float64, requires_grad=True)
    return z, e


def _pair(value, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    assert isinstance(value, (tuple, list)) and len(value) == 2, (
        f"{what} should return a pair (codebook_loss, commitment_loss), got {type(value).__name__}"
    )
    for v in value:
        assert isinstance(v, torch.Tensor) and v.ndim == 0, "each loss should be a 0-dim tensor (one number)"
    return value[0], value[1]


@exercise("vq_losses", LESSON, VL)
def _vq_values(fn):
    z, e = _vq_case(2)
    codebook, commitment = _pair(fn(z, e, 0.25), "vq_losses")
    diff = (z - e).detach()
    sq = float((diff**2).sum() / 4)
    per_element = float((diff**2).mean())
    close(to_float(codebook.detach(), "codebook loss"), sq, 1e-9,
          f"sum the squared differences over every element of an example (D x h x w), then average over the "
          f"batch (divide by B = 4); a plain .mean() over all elements gives {per_element:.4f}")
    close(to_float(commitment.detach(), "commitment loss"), 0.25 * sq, 1e-9, "the commitment term is beta times the "
          "same squared distance")


@exercise("vq_losses", LESSON, VL)
def _vq_gradients(fn):
    z, e = _vq_case(3)
    beta = 0.4
    codebook, commitment = _pair(fn(z, e, beta), "vq_losses")
    diff = (z - e).detach()
    assert _grad(codebook, z).abs().max() == 0, "the codebook loss must not move the encoder: use z.detach() in it"
    assert torch.allclose(_grad(codebook, e), -2 * diff / 4), "the codebook loss moves e towards z: "\
        "d/de ||sg(z) - e||^2 / B = -2 (z - e) / B"
    assert _grad(commitment, e).abs().max() == 0, "the commitment loss must not move the codes: use e.detach() in it"
    assert torch.allclose(_grad(commitment, z), 2 * beta * diff / 4), "the commitment loss pulls z towards e "\
        "with weight beta"


# --- code_perplexity(indices, num_codes) ------------------------------------------------------------
PP = "perplexity exp(-sum_k p_k log p_k) of how often each of the num_codes codes is used"


@exercise("code_perplexity", LESSON, PP)
def _ppl_extremes(fn):
    close(to_float(fn(torch.arange(8).repeat(3), 8), "code_perplexity(uniform use of 8 codes)"), 8.0, 1e-9,
          "all 8 codes used equally often: entropy log 8, perplexity 8")
    try:
        single = to_float(fn(torch.full((10,), 2), 8), "code_perplexity(a single code)")
    except AssertionError as err:
        raise AssertionError(f"{err}. Hint: unused codes have p = 0 and 0 * log 0 is NaN in floating point: "
                             "sum only over codes with p > 0") from None
    close(single, 1.0, 1e-9,
          "one code used for everything: entropy 0, perplexity 1 (and unused codes add 0, not NaN: "
          "treat 0 log 0 as 0)")


@exercise("code_perplexity", LESSON, PP)
def _ppl_uneven(fn):
    idx = torch.tensor([[0, 0], [1, 2]])  # a 2x2 code map: p = (1/2, 1/4, 1/4, 0, 0)
    got = to_float(fn(idx, 5), "code_perplexity([[0, 0], [1, 2]], 5)")
    close(got, 2**1.5, 1e-9, "count each code with torch.bincount(indices.flatten(), minlength=num_codes), divide by "
          "the total, H = -sum p log p over codes with p > 0, perplexity = exp(H) (here 2^1.5, not the 3 codes used)")


@exercise("code_perplexity", LESSON, PP)
def _ppl_between(fn):
    idx = torch.randint(16, (5, 7, 7), generator=_gen(4))
    got = to_float(fn(idx, 16), "code_perplexity(random codes)")
    p = torch.bincount(idx.flatten(), minlength=16).double() / idx.numel()
    want = math.exp(-float((p[p > 0] * p[p > 0].log()).sum()))
    close(got, want, 1e-9, "use all positions of all maps (flatten the indices)")
