"""Checks for the vector-quantisation exercises: nearest code, straight-through, the two losses, perplexity."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from genlearn.checks._train import digits_split, direction, predict_then_measure, target, train_loop
from genlearn.checks._util import close, grads, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["NEAREST_CODE", "STRAIGHT_THROUGH", "VQ_LOSSES", "CODE_PERPLEXITY", "VQ_BUILD_TRAIN", "PREDICT_RESTARTS",
           "perplexity_with_restarts"]


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


# --- build and train: class MyQuantizer(num_codes, code_dim, beta) ---------------------------------
VQ_BUILD_TRAIN = exercise(
    "vq_build_train", "build and train: a VQ layer (nearest code, straight-through, both losses) inside a VQ-VAE",
    points=4, depth="build",
    hints=(
        "The layer is exercises 1-3 in one forward pass: flatten the (B, D, h, w) map into rows of length D, "
        "find each row's nearest code, put the codes back into the map's shape, and return the "
        "straight-through output with the two losses.",
        "Flattening: move the channel axis last (`movedim(1, -1)`), then `reshape(-1, D)`; undo it the same "
        "way for the codes. The indices have the map's shape without the channel axis, (B, h, w). The "
        "codebook must be an `nn.Parameter` called `codebook`, so that the optimiser trains it.",
        "If the check says the encoder gets no gradient through the output, or the codebook gets one, look "
        "at where the stop-gradient sits in the straight-through output and in each loss term.",
    ),
)

VQ_K, VQ_D, VQ_EPOCHS = 32, 8, 25
VQ_RECON_TARGET, VQ_PERPLEXITY_TARGET = 22.0, 4.0


def _vq_layer_inputs(gen: torch.Generator) -> dict:
    return {"z": randn(gen, 4, 3, 2, 2), "codebook": randn(gen, 5, 3), "w": randn(gen, 4, 3, 2, 2),
            "beta": float(0.1 + torch.rand(1, generator=gen))}


def _vq_layer_probe(cls, inp):
    layer = cls(5, 3, inp["beta"]).double()
    with torch.no_grad():
        layer.codebook.copy_(inp["codebook"])
    z = inp["z"].clone().requires_grad_(True)
    out = layer(z)
    if not (isinstance(out, (tuple, list)) and len(out) == 4):
        return {"value": out}
    quantized, indices, codebook_loss, commitment_loss = out
    book = layer.codebook
    return {"quantized": quantized, "indices": indices, "losses": [codebook_loss, commitment_loss],
            "output_grads": grads(quantized * inp["w"], z, book),
            "codebook_grads": grads(codebook_loss, z, book), "commitment_grads": grads(commitment_loss, z, book)}


def _zero(g) -> bool:
    return g is None or float(g.abs().max()) == 0


@VQ_BUILD_TRAIN.case(make=_vq_layer_inputs, run=_vq_layer_probe)
def _layer(inp, out):
    assert isinstance(out, dict) and "quantized" in out, (
        "forward(z) should return (quantized, indices, codebook_loss, commitment_loss)")
    z, book = inp["z"], inp["codebook"]
    rows = z.movedim(1, -1).reshape(-1, 3)
    want = ((rows[:, None] - book[None]) ** 2).sum(-1).argmin(1).view(4, 2, 2)
    idx = tensor(out["indices"], (4, 2, 2), "the indices for a (4, 3, 2, 2) map (batch, h, w)")
    wrong = int((idx.long() != want).sum())
    assert wrong == 0, f"{wrong} of 16 positions got the wrong code: nearest by squared distance, over the D axis"
    e = book[want].movedim(-1, 1)
    value = tensor(out["quantized"], (4, 3, 2, 2), "the quantised output")
    assert torch.allclose(value, e, atol=1e-9), "the output's value must be each position's code, in the map's shape"
    g_z, g_book = out["output_grads"]
    assert g_z is not None and torch.allclose(g_z.double(), inp["w"], atol=1e-9), (
        "the encoder gets no straight-through gradient: d output / d z must be the identity")
    assert _zero(g_book), "the output passes a gradient to the codebook: the codes learn only from the codebook loss"
    sq = float(((z - e) ** 2).sum() / 4)
    close(to_float(out["losses"][0], "the codebook loss"), sq, 1e-9,
          "codebook loss: squared distance summed per example, averaged over the batch")
    close(to_float(out["losses"][1], "the commitment loss"), inp["beta"] * sq, 1e-9,
          "commitment loss: beta times the same squared distance")
    (cz, cb), (mz, mb) = out["codebook_grads"], out["commitment_grads"]
    assert _zero(cz) and not _zero(cb), "the codebook loss must move the codes only (z is a constant in it)"
    assert _zero(mb) and not _zero(mz), "the commitment loss must move the encoder only (the codes are constant in it)"


class _PluggedQuantizer(torch.nn.Module):
    """The student's layer where genlearn's VQVAE expects its VectorQuantizer (student side)."""

    def __init__(self, layer: torch.nn.Module, num_codes: int, code_dim: int) -> None:
        super().__init__()
        self.layer, self.num_codes, self.code_dim = layer, num_codes, code_dim

    def forward(self, z: torch.Tensor):
        from genlearn.models.vq import VQOutput

        quantized, indices, codebook_loss, commitment_loss = self.layer(z)
        usage = torch.bincount(indices.reshape(-1).long(), minlength=self.num_codes).to(z.dtype)
        p = usage / usage.sum()
        ppl = torch.exp(-(p[p > 0] * p[p > 0].log()).sum())
        return VQOutput(quantized, indices, codebook_loss, commitment_loss, ppl, usage)

    @torch.no_grad()
    def nearest(self, z: torch.Tensor) -> torch.Tensor:
        return self.layer(z)[1]


def _vq_train_run(cls, inp):
    from genlearn.models.vqvae import VQVAE, vqvae_loss

    torch.manual_seed(inp["seed"])
    model = VQVAE((1, 8, 8), VQ_K, VQ_D, channels=(16, 32))
    model.quantizer = _PluggedQuantizer(cls(VQ_K, VQ_D, 0.25), VQ_K, VQ_D)
    x_train, x_test = inp["x_train"].view(-1, 1, 8, 8), inp["x_test"].view(-1, 1, 8, 8)
    with torch.no_grad():  # codes start at encoder outputs of random training images
        maps = model.encode(x_train[inp["init"]]).flatten(2)  # (K, D, h * w): one position of each image
        model.quantizer.layer.codebook.copy_(maps[torch.arange(VQ_K), :, torch.arange(VQ_K) % maps.shape[2]])
    trained = train_loop(lambda xb: vqvae_loss(model, xb.view(-1, 1, 8, 8)).loss, model.parameters(), x_train,
                         seed=inp["seed"], epochs=VQ_EPOCHS)
    model.eval()
    with torch.no_grad():
        z_e = model.encode(x_test)
        quantized, indices, _, _ = model.quantizer.layer(z_e)
        logits = model.decode(quantized)
    return {"logits": logits.flatten(1), "indices": indices, "z_e": z_e,
            "codebook": model.quantizer.layer.codebook, **trained}


def _vq_train_inputs(gen: torch.Generator) -> dict:
    inp = digits_split(gen, n_train=1200)
    inp["init"] = torch.randperm(1200, generator=gen)[:VQ_K]
    return inp


@VQ_BUILD_TRAIN.case(make=_vq_train_inputs, run=_vq_train_run)
def _trained_to_target(inp, out):
    assert isinstance(out, dict) and "logits" in out, "the VQ-VAE with your layer should train and reconstruct"
    n = len(inp["x_test"])
    codebook = tensor(out["codebook"], (VQ_K, VQ_D), "the layer's codebook")
    z_e = tensor(out["z_e"], (n, VQ_D, 2, 2), "the encoder outputs")
    idx = tensor(out["indices"], (n, 2, 2), "the indices of the test images").long()
    rows = z_e.movedim(1, -1).reshape(-1, VQ_D)
    dist = ((rows[:, None] - codebook[None]) ** 2).sum(-1)
    picked = dist.gather(1, idx.reshape(-1, 1)).squeeze(1)
    assert (picked <= dist.min(1).values + 1e-4).all(), "after training, the layer's indices are not the nearest codes"
    logits = tensor(out["logits"], (n, 64), "the reconstructions' logits")
    recon = float(F.binary_cross_entropy_with_logits(logits, inp["x_test"].double(), reduction="none").sum(1).mean())
    counts = torch.bincount(idx.reshape(-1), minlength=VQ_K).double()
    p = counts[counts > 0] / counts.sum()
    ppl = float(torch.exp(-(p * p.log()).sum()))
    done = f"after {out['epochs']} epochs ({out['seconds']:.1f} s)"
    target("test reconstruction", recon, VQ_RECON_TARGET, " nats", why=done)
    target("code perplexity on the test images", ppl, VQ_PERPLEXITY_TARGET, below=False,
           why=f"{done}; {int((counts == 0).sum())} of {VQ_K} codes unused")


# --- predict, then measure: do dead-code restarts raise the codebook's perplexity? ----------------
PREDICT_RESTARTS = exercise(
    "predict_restarts", "predict, then measure: how dead-code restarts change a VQ-VAE's code perplexity",
    depth="predict",
    hints=(
        "A code that no encoder output chooses gets no gradient from the codebook loss, so it never moves: "
        "it is dead for good. A restart moves an idle code onto a random encoder output of the batch.",
        "Perplexity is the effective number of codes in use. What happens to it when dead codes are "
        "brought back next to the data?",
    ),
)

CHOICES_RESTARTS = ("raises", "lowers", "no change")


@functools.lru_cache(maxsize=4)  # the grader measures once, not once per submission
def perplexity_with_restarts(seed: int = 0, epochs: int = 12, num_codes: int = 64) -> dict[str, float]:
    """The experiment: the same VQ-VAE trained on the binarised digits with and without dead-code restarts
    (``restart_after=20`` steps); the code perplexity on the test images of each."""
    from genlearn.data import load_digits
    from genlearn.evaluate import codebook_stats
    from genlearn.models.vqvae import VQVAE, vqvae_loss
    from genlearn.train import fit

    x_train, x_test = (load_digits(s, binarize=True).x for s in ("train", "test"))
    found = {}
    for name, restart in (("without restarts", None), ("with restarts", 20)):
        torch.manual_seed(seed)
        model = VQVAE((1, 8, 8), num_codes, 8, channels=(16, 32), restart_after=restart)
        fit(model, vqvae_loss, x_train, epochs, seed=seed, progress=False)
        found[name] = round(codebook_stats(model, x_test).perplexity, 2)
    return found


def _restarts(found: dict[str, float]) -> tuple[str, str]:
    off, on = found["without restarts"], found["with restarts"]
    measured = direction(on, off, 0.1, "no change", "raises", "lowers")
    return measured, (
        f"measured: perplexity {off:.1f} without restarts, {on:.1f} with them ({measured}). Codes that start far "
        "from the encoder outputs are never chosen, get no gradient and stay dead; a restart moves them onto "
        "encoder outputs, where they are chosen again, so more codes share the work")


predict_then_measure(PREDICT_RESTARTS, CHOICES_RESTARTS, lambda seed: perplexity_with_restarts(seed=seed),
                     _restarts)
