"""Checks for the vector-quantisation exercises: nearest code, straight-through, the two losses, perplexity."""

from __future__ import annotations

import math

import torch

from genlearn.checks._util import close, grads, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["NEAREST_CODE", "STRAIGHT_THROUGH", "VQ_LOSSES", "CODE_PERPLEXITY"]


# --- nearest_code(z, codebook) ------------------------------------------------------------------
NEAREST_CODE = exercise(
    "nearest_code", "the index of the nearest codebook vector (squared Euclidean distance) for every row of z",
    hints=(
        "You need the distance from every row of z (N of them) to every code (K of them): an (N, K) table, "
        "then the best code of each row.",
        "Broadcasting builds the table without a loop: give z a code axis and the codebook a row axis "
        "(`None` in an index adds an axis of size 1), subtract, square, and sum over the last dimension.",
        "The nearest code has the smallest distance: take the position of the minimum along the code axis "
        "(an integer index, not the distance itself).",
    ),
)


@NEAREST_CODE.case(make=lambda gen: {"args": [randn(gen, 40, 5), randn(gen, 16, 5)]})
def _random(inp, out):
    z, codebook = inp["args"]
    got = tensor(out, (40,), "nearest_code(z, codebook) for 40 rows")
    assert not got.is_floating_point(), "return integer indices (argmin gives a long tensor), not distances"
    want = ((z[:, None, :] - codebook[None]) ** 2).sum(-1).argmin(1)
    wrong = int((got.long() != want).sum())
    assert wrong == 0, f"wrong code for {wrong} of 40 rows: compare every row with every code, then take the argmin"


@NEAREST_CODE.case(make=lambda gen: {"scale": float(1 + torch.rand(1, generator=gen))},
                   run=lambda fn, inp: [fn(torch.zeros(1, 2, dtype=torch.float64), inp["scale"] * torch.tensor(
                       [[1.5, 1.5], [0.0, 2.0]], dtype=torch.float64))])
def _euclidean_not_l1(inp, out):
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], torch.Tensor), "return a tensor of indices"
    assert out[0].tolist() == [1], (
        "use the squared Euclidean distance sum_d (z_d - e_d)^2; the L1 distance |z_d - e_d| picks the wrong code here"
    )


# --- straight_through(z, e) ---------------------------------------------------------------------
STRAIGHT_THROUGH = exercise(
    "straight_through", "straight-through output: the value of e, the gradient of z",
    hints=(
        "The output must equal e in the forward pass, yet the gradient must flow to z as if the output were z.",
        "`.detach()` makes a tensor a constant for autograd: anything inside it carries no gradient.",
        "Write the output as z plus a correction that turns z into e; detaching only the correction keeps the "
        "value and hides the correction from autograd.",
    ),
)


def _st_probe(fn, inp):
    z = inp["z"].clone().requires_grad_(True)
    e = inp["e"].clone().requires_grad_(True)
    out = fn(z, e)
    weighted = out * inp["w"] if isinstance(out, torch.Tensor) else out
    return {"value": out, "grads": grads(weighted, z, e)}


@STRAIGHT_THROUGH.case(make=lambda gen: {"z": randn(gen, 3, 4), "e": randn(gen, 3, 4), "w": randn(gen, 3, 4)},
                       run=_st_probe)
def _value_and_gradients(inp, out):
    assert isinstance(out, dict) and isinstance(out.get("grads"), list), "straight_through should return a tensor"
    value = tensor(out["value"], (3, 4), "straight_through(z, e)")
    assert torch.allclose(value, inp["e"]), "the forward value must be the code e"
    g_z, g_e = out["grads"]
    assert g_z is not None and torch.allclose(g_z.double(), inp["w"]), (
        "the gradient must pass to z unchanged (d out / d z = identity)"
    )
    assert g_e is None or g_e.abs().max() == 0, (
        "no gradient may reach the code e through this output; the codebook is trained by its own loss term"
    )


# --- vq_losses(z, e, beta) ----------------------------------------------------------------------
VQ_LOSSES = exercise(
    "vq_losses", "codebook loss ||sg(z) - e||^2 and commitment loss beta ||z - sg(e)||^2, per example, batch mean",
    points=2,
    hints=(
        "Both losses measure the same squared distance between z and e; they differ only in which side "
        "receives the gradient, and in the weight beta.",
        "The codebook loss must move only the codes, so z is a constant inside it; the commitment loss must "
        "move only the encoder, so e is a constant inside it (`.detach()`).",
        "Reduction: sum the squared differences over everything (channels and positions) and divide by the "
        "batch size B = z.shape[0] - not a mean over all elements.",
    ),
)


def _vq_probe(fn, inp):
    z = inp["z"].clone().requires_grad_(True)
    e = inp["e"].clone().requires_grad_(True)
    out = fn(z, e, inp["beta"])
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return {"value": out}
    return {"value": list(out), "codebook_grads": grads(out[0], z, e), "commitment_grads": grads(out[1], z, e)}


def _vq_inputs(gen: torch.Generator) -> dict:
    return {"z": randn(gen, 4, 3, 2, 2), "e": randn(gen, 4, 3, 2, 2), "beta": float(0.1 + torch.rand(1, generator=gen))}


@VQ_LOSSES.case(make=_vq_inputs, run=_vq_probe)
def _values(inp, out):
    assert isinstance(out, dict) and isinstance(out.get("value"), list), (
        "vq_losses should return a pair (codebook_loss, commitment_loss)"
    )
    codebook = to_float(out["value"][0], "the codebook loss")
    commitment = to_float(out["value"][1], "the commitment loss")
    diff = inp["z"] - inp["e"]
    sq = float((diff**2).sum() / 4)
    close(codebook, sq, 1e-9, "sum the squared differences over every element of an example, then average over "
          f"the batch (divide by B = 4); a plain .mean() over all elements gives {float((diff**2).mean()):.4f}")
    close(commitment, inp["beta"] * sq, 1e-9, "the commitment term is beta times the same squared distance")


@VQ_LOSSES.case(make=_vq_inputs, run=_vq_probe)
def _gradients(inp, out):
    assert isinstance(out, dict) and "codebook_grads" in out, "vq_losses should return a pair of losses"
    (cz, ce), (mz, me) = out["codebook_grads"], out["commitment_grads"]
    diff, beta = inp["z"] - inp["e"], inp["beta"]

    def zero(g):
        return g is None or g.abs().max() == 0

    assert zero(cz), "the codebook loss must not move the encoder: z is a constant inside it"
    assert ce is not None and torch.allclose(ce.double(), -2 * diff / 4), "the codebook loss moves e towards z"
    assert zero(me), "the commitment loss must not move the codes: e is a constant inside it"
    assert mz is not None and torch.allclose(mz.double(), 2 * beta * diff / 4), (
        "the commitment loss pulls z towards e with weight beta"
    )


# --- code_perplexity(indices, num_codes) --------------------------------------------------------
CODE_PERPLEXITY = exercise(
    "code_perplexity", "perplexity exp(entropy) of how often each of the num_codes codes is used",
    hints=(
        "Turn the code map into a usage distribution: how often each of the num_codes codes appears, divided "
        "by the number of positions (every position of every map counts).",
        "`torch.bincount` counts integer values; flatten the indices first and pass minlength so unused codes "
        "get a count of 0.",
        "Perplexity is exp of the entropy -sum_k p_k log p_k. Unused codes have p = 0, and 0 * log 0 is nan "
        "in floating point: leave them out of the sum.",
    ),
)


def _perplexity(indices: torch.Tensor, k: int) -> float:
    p = torch.bincount(indices.flatten(), minlength=k).double() / indices.numel()
    p = p[p > 0]
    return math.exp(-float((p * p.log()).sum()))


@CODE_PERPLEXITY.case(make=lambda gen: {"args": [torch.randint(16, (5, 7, 7), generator=gen), 16]})
def _random(inp, out):
    idx, k = inp["args"]
    close(to_float(out, "code_perplexity(random code maps)"), _perplexity(idx, k), 1e-9,
          "count each code over all positions of all maps, p = count / total, perplexity = exp(-sum p log p)")


@CODE_PERPLEXITY.case(make=lambda gen: {"args": [torch.full((10,), int(torch.randint(8, (1,), generator=gen))), 8]})
def _single_code(inp, out):
    close(to_float(out, "code_perplexity(a single code used everywhere)"), 1.0, 1e-9,
          "one code used for everything: entropy 0, perplexity 1 (unused codes add 0, not NaN)")


@CODE_PERPLEXITY.case(make=lambda gen: {"args": [torch.randperm(8, generator=gen).repeat(3), 8]})
def _uniform(inp, out):
    close(to_float(out, "code_perplexity(uniform use of 8 codes)"), 8.0, 1e-9,
          "all 8 codes used equally often: entropy log 8, perplexity 8")
