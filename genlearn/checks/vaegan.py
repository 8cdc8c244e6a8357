"""Checks for the VAE-GAN exercises: the blurry best guess, learned similarity, adversarial losses."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from genlearn.checks._train import digits_split, direction, predict_then_measure, target
from genlearn.checks._util import close, grads, raises, rand, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["BEST_GUESS", "FEATURE_SIMILARITY", "DISCRIMINATOR_LOSS", "GENERATOR_LOSS",
           "THREE_CLASS_DISCRIMINATOR_LOSS", "VAEGAN_BUILD_STEP", "PREDICT_SHARPER", "sharpness_with_and_without_gan"]


def _bce(logits: torch.Tensor, target: float) -> float:
    return float(F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target)))


# --- best_guess(candidates, probs) --------------------------------------------------------------
BEST_GUESS = exercise(
    "best_guess", "the image minimising the expected squared error over the candidates",
    hints=(
        "Write the expected squared error of a guess c as sum_k p_k |c - x_k|^2 and find where its gradient "
        "with respect to c vanishes.",
        "The minimiser is the probability-weighted average of the candidates - which is why pixel-wise "
        "losses blur.",
        "`probs` has shape (K,) and `candidates` (K, C, H, W): reshape probs so it broadcasts over the image "
        "axes, weight, and add up over the K candidates.",
    ),
)


@BEST_GUESS.case(make=lambda gen: {"args": [torch.stack([torch.zeros(1, 2, 2, dtype=torch.float64),
                                                         torch.ones(1, 2, 2, dtype=torch.float64)]),
                                            torch.tensor([0.5, 0.5], dtype=torch.float64)]})
def _two_equal(inp, out):
    got = tensor(out, (1, 2, 2), "best_guess of two 1x2x2 candidates")
    assert torch.allclose(got, torch.full_like(got, 0.5)), "two equally likely candidates: the answer is their mean"


def _weighted_inputs(gen: torch.Generator) -> dict:
    p = rand(gen, 3, low=0.1, high=1.0)
    return {"args": [rand(gen, 3, 1, 4, 4), p / p.sum()]}


@BEST_GUESS.case(make=_weighted_inputs)
def _weighted(inp, out):
    x, p = inp["args"]
    got = tensor(out, (1, 4, 4), "best_guess of three 1x4x4 candidates")
    assert torch.allclose(got, (p[:, None, None, None] * x).sum(0), atol=1e-12), (
        "weight each candidate by its probability and add up"
    )


# --- feature_similarity(f_real, f_rec, sigma) ---------------------------------------------------
FEATURE_SIMILARITY = exercise(
    "feature_similarity", "learned similarity: -log N(f_real; f_rec, sigma^2 I) without its constant, batch mean",
    hints=(
        "This is a Gaussian negative log-likelihood in feature space: a squared distance scaled by "
        "1 / (2 sigma^2).",
        "Reduction: add the squared differences over the units of each example (dim 1), then average over "
        "the batch.",
        "Use torch operations throughout, so that the gradient reaches the reconstruction's features.",
    ),
)


def _similarity_probe(fn, inp):
    f_rec = inp["f_rec"].clone().requires_grad_(True)
    out = fn(inp["f_real"], f_rec, inp["sigma"])
    return {"value": out, "grads": grads(out, f_rec)}


def _similarity_inputs(gen: torch.Generator) -> dict:
    return {"f_real": randn(gen, 4, 5), "f_rec": randn(gen, 4, 5), "sigma": float(rand(gen, 1, low=0.3, high=2.0))}


@FEATURE_SIMILARITY.case(make=_similarity_inputs, run=_similarity_probe)
def _value(inp, out):
    assert isinstance(out, dict) and isinstance(out.get("grads"), list), "feature_similarity should return a number"
    got = to_float(out["value"], "feature_similarity(f_real, f_rec, sigma)")
    sq, s2 = (inp["f_real"] - inp["f_rec"]).pow(2), 2 * inp["sigma"] ** 2
    close(got, float(sq.sum(1).mean() / s2), 1e-9,
          "sum the squared differences over the units of each example, average over the batch, divide by "
          f"2 sigma^2 (a mean over units would give {float(sq.mean(1).mean() / s2):.4f}; a sum over the batch "
          f"{float(sq.sum() / s2):.4f})")
    assert out["grads"][0] is not None, "use torch operations so the gradient reaches the reconstruction's features"


@FEATURE_SIMILARITY.case(make=lambda gen: {"args": [randn(gen, 3, 2)] * 2 + [1.0]})
def _identical(inp, out):
    close(to_float(out, "feature_similarity of identical features"), 0.0, 1e-12, "identical features must give 0")


# --- discriminator_loss(real, rec, gen) ---------------------------------------------------------
DISCRIMINATOR_LOSS = exercise(
    "discriminator_loss", "two-class discriminator loss from the logits of real, reconstructed and generated images",
    hints=(
        "The discriminator is a binary classifier: real images should get target 1, both kinds of fakes "
        "target 0; its loss is the sum of three batch-mean cross-entropies.",
        "Work from logits, not probabilities: sigmoid followed by log overflows for large logits. PyTorch's "
        "binary cross-entropy has a variant that takes logits.",
        "A target tensor of the right shape: `torch.ones_like(logits)` or `torch.zeros_like(logits)`.",
    ),
)


@DISCRIMINATOR_LOSS.case(make=lambda gen: {"args": [randn(gen, 5), randn(gen, 5), randn(gen, 5)]})
def _value(inp, out):
    r, c, g = inp["args"]
    got = to_float(out, "discriminator_loss(...)")
    swapped = _bce(r, 0.0) + _bce(c, 1.0) + _bce(g, 1.0)
    close(got, _bce(r, 1.0) + _bce(c, 0.0) + _bce(g, 0.0), 1e-9,
          "real images should be called real (target 1), both kinds of fakes fake (target 0)"
          + (" - you swapped the targets" if abs(got - swapped) < 1e-9 else ""))


@DISCRIMINATOR_LOSS.case(make=lambda gen: {"big": 200.0 + float(rand(gen, 1, high=50.0))},
                         run=lambda fn, inp: [fn(*(torch.tensor([s * inp["big"]], dtype=torch.float64)
                                                   for s in signs)) for signs in ((1, -1, -1), (-1, 1, 1))])
def _stable(inp, out):
    assert isinstance(out, list) and len(out) == 2, "discriminator_loss should return a number"
    right, wrong = (to_float(o, f"discriminator_loss for a confident, {w} discriminator")
                    for o, w in zip(out, ("correct", "wrong"), strict=True))
    close(right, 0.0, 1e-9, "a confident, correct discriminator has loss ~0")
    close(wrong, 3 * inp["big"], 1e-6, "sigmoid then log overflows for large logits: use the cross-entropy on logits")


# --- generator_loss(rec, gen, form="non_saturating") --------------------------------------------
GENERATOR_LOSS = exercise(
    "generator_loss", "the decoder's adversarial loss from the fakes' logits, non-saturating or saturating",
    points=2,
    hints=(
        "The decoder wants both kinds of fakes called real. The non-saturating form is the cross-entropy "
        "of the fakes with target 1; the saturating form is minus the discriminator's own fake terms "
        "(target 0).",
        "Both are sums of two batch means, one for the reconstructions and one for the prior samples. Work "
        "from logits (softplus or the cross-entropy on logits) so large logits stay finite.",
        "`form` is the string 'non_saturating' or 'saturating'; anything else is a ValueError.",
    ),
)


def _generator_reference(rec: torch.Tensor, gen: torch.Tensor, form: str) -> float:
    if form == "non_saturating":
        return _bce(rec, 1.0) + _bce(gen, 1.0)
    return -(_bce(rec, 0.0) + _bce(gen, 0.0))


def _both_forms(fn, inp):
    return [fn(*inp["args"], form=form) for form in ("non_saturating", "saturating")]


@GENERATOR_LOSS.case(make=lambda gen: {"args": [randn(gen, 6), randn(gen, 6)]}, run=_both_forms)
def _values(inp, out):
    assert isinstance(out, list) and len(out) == 2, "generator_loss should return a number"
    for got, form in zip(out, ("non_saturating", "saturating"), strict=True):
        close(to_float(got, f"generator_loss(..., form={form!r})"), _generator_reference(*inp["args"], form), 1e-9,
              "non-saturating: cross-entropy of both fakes with target 1; saturating: minus the discriminator's "
              "fake terms (each a batch mean)")


def _slopes(fn, inp):
    found = {}
    for form in ("non_saturating", "saturating"):
        for name, value in (("zero", 0.0), ("rejected", inp["rejected"])):
            rec = torch.full((4,), value, dtype=torch.float64, requires_grad=True)
            gen = torch.full((4,), value, dtype=torch.float64, requires_grad=True)
            found[f"{form}/{name}"] = grads(fn(rec, gen, form=form), rec, gen)
    return found


@GENERATOR_LOSS.case(make=lambda gen: {"rejected": -10.0 - float(rand(gen, 1, high=2.0))}, run=_slopes)
def _gradients(inp, out):
    assert isinstance(out, dict), "generator_loss should return a differentiable tensor"
    for form in ("non_saturating", "saturating"):
        g_rec, g_gen = out[f"{form}/zero"]
        assert g_rec is not None and g_gen is not None and (g_rec < 0).all() and (g_gen < 0).all(), (
            f"form={form!r}: raising the fakes' logits (looking more real) must lower the decoder's loss - "
            "check the sign, and use torch operations"
        )
    slope = {form: float(out[f"{form}/rejected"][0].abs().sum()) for form in ("non_saturating", "saturating")}
    assert slope["non_saturating"] > 0.2 and slope["saturating"] < 1e-3, (
        "when D rejects the fakes (logit -10) the saturating form's gradient vanishes "
        f"(got {slope['saturating']:.2g}) while the non-saturating one stays near 1 (got "
        f"{slope['non_saturating']:.2g})"
    )


@GENERATOR_LOSS.case(make=lambda gen: {"form": "minimax"},
                     run=lambda fn, inp: raises(lambda: fn(torch.zeros(2), torch.zeros(2), form=inp["form"])))
def _unknown_form(inp, out):
    assert out == "ValueError", f"form='minimax' is not one of the two forms: raise ValueError (got {out})"


# --- three_class_discriminator_loss(logits_real, logits_rec, logits_gen) ------------------------
THREE_CLASS_DISCRIMINATOR_LOSS = exercise(
    "three_class_discriminator_loss", "three-class discriminator: CE(real -> 0) + CE(rec -> 1) + CE(gen -> 2)",
    hints=(
        "Each image set has its own true class: real 0, reconstructed 1, generated 2. The loss is the sum "
        "over the three sets of a batch-mean cross-entropy.",
        "`F.cross_entropy(logits, targets)` takes raw (N, 3) logits and integer targets of shape (N,); it "
        "applies the log-softmax itself.",
        "Targets for a whole set: a long tensor filled with its class index (`torch.full`, dtype=torch.long).",
    ),
)


def _three_reference(r: torch.Tensor, c: torch.Tensor, g: torch.Tensor) -> float:
    return sum(float(F.cross_entropy(x, torch.full((len(x),), k))) for k, x in enumerate((r, c, g)))


@THREE_CLASS_DISCRIMINATOR_LOSS.case(make=lambda gen: {"args": [randn(gen, 4, 3), randn(gen, 4, 3), randn(gen, 4, 3)]})
def _value(inp, out):
    close(to_float(out, "three_class_discriminator_loss(...)"), _three_reference(*inp["args"]), 1e-9,
          "each image set gets its own class: real 0, reconstructed 1, generated 2; cross-entropy on the raw logits")


@THREE_CLASS_DISCRIMINATOR_LOSS.case(make=lambda gen: {"big": 50.0 + float(rand(gen, 1, high=10.0))},
                                     run=lambda fn, inp: fn(*((torch.eye(3, dtype=torch.float64) * inp["big"])[k]
                                                              .repeat(2, 1) for k in (1, 0, 2))))
def _swapped_sets(inp, out):
    close(to_float(out, "loss with the real and reconstructed sets swapped"), 2 * inp["big"], 1e-6,
          "a confident discriminator that swaps the real and reconstructed sets pays about 2 x the logit gap")


# --- build and train: vaegan_train_step(model, x, optimizers) --------------------------------------
VAEGAN_BUILD_STEP = exercise(
    "vaegan_build_step", "build and train: one VAE-GAN step that routes each loss to its own network",
    points=4, depth="build",
    hints=(
        "Three networks, three objectives: the encoder minimises prior + similarity, the decoder "
        "gamma * similarity + its adversarial term, the discriminator its own classification loss - and "
        "each network must receive the gradient of its own objective only.",
        "A single `.backward()` on a sum of terms sends every term's gradient to every network it depends "
        "on (the similarity would train the discriminator's features, the discriminator's loss would train "
        "the decoder). `torch.autograd.grad(objective, parameters, retain_graph=True)` gives one "
        "objective's gradient for one group of parameters, without touching the others.",
        "Compute all three gradients from the same forward pass before any optimiser steps (a step changes "
        "weights a later gradient still needs), then put each into its parameters' `.grad` and call that "
        "network's optimiser. `model.parameter_groups()` gives the parameters of each network.",
    ),
)

TERMS = ("prior", "similarity", "gan", "generator")
GROUPS = ("encoder", "decoder", "discriminator")
GAN_EPOCHS, GAN_RECON_TARGET, GAN_SHARPNESS_TARGET = 25, 4.5, 0.24


def _small_vaegan():
    from genlearn.models.vaegan import VAEGAN

    return VAEGAN((1, 8, 8), 8, hidden=(64,), dis_channels=(8, 16))


class _Recorder:
    """An optimiser that records the gradient it is asked to apply, and changes nothing (student side)."""

    def __init__(self, params: list) -> None:
        self.params = params
        self.applied = [torch.zeros_like(p) for p in params]
        self.steps = 0

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        self.steps += 1
        for a, p in zip(self.applied, self.params, strict=True):
            if p.grad is not None:
                a.add_(p.grad)


def _route_inputs(gen: torch.Generator) -> dict:
    inp = digits_split(gen, n_train=32, binarize=False)
    return {"x": inp["x_train"].view(-1, 1, 8, 8), "model_seed": inp["seed"],
            "noise_seed": int(torch.randint(0, 2**31 - 1, (1,), generator=gen))}


def _route_run(fn, inp):
    torch.manual_seed(inp["model_seed"])
    model = _small_vaegan()
    groups = model.parameter_groups()
    recorders = {g: _Recorder(groups[g]) for g in GROUPS}
    torch.manual_seed(inp["noise_seed"])
    fn(model, inp["x"], recorders)
    return {g: {"applied": torch.cat([a.flatten() for a in recorders[g].applied]), "steps": recorders[g].steps}
            for g in GROUPS}


def term_routes(out: dict, inp: dict) -> dict[str, dict[str, float]]:
    """Checker side: ``{network: {term: weight}}`` that best explains the gradient each network received,
    by least squares on the gradient of every term for that network (same weights, same noise)."""
    from genlearn.models.vaegan import vaegan_loss

    torch.manual_seed(inp["model_seed"])
    model = _small_vaegan()
    groups = model.parameter_groups()
    torch.manual_seed(inp["noise_seed"])
    loss = vaegan_loss(model, inp["x"])
    found = {}
    for g in GROUPS:
        columns = []
        for t in TERMS:
            got = torch.autograd.grad(getattr(loss, t), groups[g], retain_graph=True, allow_unused=True)
            columns.append(torch.cat([(torch.zeros_like(p) if gi is None else gi).flatten()
                                      for p, gi in zip(groups[g], got, strict=True)]))
        a = torch.stack(columns, 1).double()
        b = out[g]["applied"].double()
        assert b.shape == (a.shape[0],), "the recorded gradients have the wrong size"
        keep = a.abs().sum(0) > 0  # a term that cannot reach this network has weight 0
        w = torch.zeros(len(TERMS), dtype=torch.float64)
        if keep.any():
            w[keep] = torch.linalg.lstsq(a[:, keep], b[:, None]).solution.squeeze(1)
        residual = float((a @ w - b).norm() / max(float(b.norm()), 1e-12))
        assert residual < 0.05, (
            f"the {g}'s gradient is not a weighted sum of the four loss terms' gradients (relative residual "
            f"{residual:.2f}): use one forward pass (`out = model(x)`, drawing z and the prior codes once) and "
            "compute every gradient before any optimiser step")
        found[g] = {t: round(float(w[i]), 3) for i, t in enumerate(TERMS)}
    return found


@VAEGAN_BUILD_STEP.case(make=_route_inputs, run=_route_run)
def _routing_audit(inp, out):
    from genlearn.models.vaegan import routes

    assert isinstance(out, dict) and set(out) == set(GROUPS), "the step should train the three networks"
    for g in GROUPS:
        assert out[g]["steps"] >= 1, f"the {g}'s optimiser never stepped: call optimizers[{g!r}].step()"
    found = term_routes(out, inp)
    want = routes(_small_vaegan())
    wrong = [f"{t} -> {g}: weight {found[g][t]:g}, expected {want[g].get(t, 0.0):g}"
             for g in GROUPS for t in TERMS if abs(found[g][t] - want[g].get(t, 0.0)) > 0.05]
    assert not wrong, ("gradient routing audit: " + "; ".join(wrong)
                       + " (each network must receive only its own objective's gradient: "
                         "genlearn.models.vaegan.routes)")


def _train_inputs(gen: torch.Generator) -> dict:
    inp = digits_split(gen, n_train=1200, binarize=False)
    inp["z"] = torch.randn(300, 8, generator=gen)
    return inp


def _train_run(fn, inp):
    import time

    torch.manual_seed(inp["seed"])
    model = _small_vaegan()
    groups = model.parameter_groups()
    optimizers = {g: torch.optim.Adam(groups[g], lr=1e-3, betas=(0.5, 0.999)) for g in GROUPS}
    x = inp["x_train"].view(-1, 1, 8, 8)
    shuffle = torch.Generator().manual_seed(inp["seed"])
    start, epochs = time.perf_counter(), 0
    for _ in range(GAN_EPOCHS):
        for idx in torch.randperm(len(x), generator=shuffle).split(100):
            fn(model, x[idx], optimizers)
        epochs += 1
        if time.perf_counter() - start > 40:
            break
    model.eval()
    with torch.no_grad():
        x_test = inp["x_test"].view(-1, 1, 8, 8)
        mu, _ = model.encode(x_test)
        return {"recon": model.decode_mean(mu).flatten(1), "samples": model.decode_mean(inp["z"]),
                "epochs": epochs, "seconds": time.perf_counter() - start}


@VAEGAN_BUILD_STEP.case(make=_train_inputs, run=_train_run)
def _trained(inp, out):
    from genlearn.sample_quality import sharpness

    assert isinstance(out, dict) and "recon" in out, "training with your step should leave a working model"
    n = len(inp["x_test"])
    recon = tensor(out["recon"], (n, 64), "the test reconstructions")
    samples = tensor(out["samples"], (300, 1, 8, 8), "the samples")
    error = float(((recon - inp["x_test"].double()) ** 2).sum(1).mean())
    done = f"after {out['epochs']} epochs ({out['seconds']:.1f} s)"
    target("test reconstruction error (squared, summed over pixels)", error, GAN_RECON_TARGET, why=done)
    target("sample sharpness", float(sharpness(samples.float()).mean()), GAN_SHARPNESS_TARGET, below=False,
           why=f"{done}; a VAE's blurry samples score about 0.16-0.19")


# --- predict, then measure: are the VAE-GAN's samples sharper? -------------------------------------
PREDICT_SHARPER = exercise(
    "predict_sharper", "predict, then measure: are a VAE-GAN's samples sharper than a plain VAE's?",
    depth="predict",
    hints=(
        "Exercise 1 showed what squared error rewards when the decoder is unsure: the average of the "
        "candidates. Averages of digits are blurry.",
        "This VAE-GAN changes two things at once: it measures reconstructions in the discriminator's learned "
        "features instead of pixels, and it adds a GAN term. Would either of them still reward the blurry "
        "average? (Lesson 06's ablation tells them apart.)",
    ),
)

CHOICES_SHARPER = ("vaegan", "vae", "same")


@functools.lru_cache(maxsize=4)  # the grader measures once, not once per submission
def sharpness_with_and_without_gan(seed: int = 0, epochs: int = 8) -> dict[str, float]:
    """The experiment: the same VAE-GAN trained on the digits with its GAN term and learned similarity
    (``"vaegan"``) and without them (``adversarial_weight=0``, pixel similarity: a VAE with a Gaussian
    decoder, ``"vae"``); the mean sharpness of 500 samples of each."""
    from genlearn.data import load_digits
    from genlearn.models.vaegan import VAEGAN
    from genlearn.recipes import fit_vaegan
    from genlearn.sample_quality import sharpness

    x = load_digits("train").x
    found = {}
    for name, weight, similarity in (("vaegan", 1.0, "feature"), ("vae", 0.0, "pixel")):
        torch.manual_seed(seed)
        model = VAEGAN((1, 8, 8), 8, hidden=(128,), dis_channels=(16, 32), adversarial_weight=weight,
                       similarity=similarity)
        fit_vaegan(model, x, epochs, seed=seed, progress=False)
        found[name] = round(float(sharpness(model.sample(500, torch.Generator().manual_seed(seed))).mean()), 3)
    return found


def _sharper(found: dict[str, float]) -> tuple[str, str]:
    a, b = found["vaegan"], found["vae"]
    measured = direction(a, b, 0.1, "same", "vaegan", "vae")
    return measured, (
        f"measured sample sharpness: VAE-GAN {a:.3f}, VAE {b:.3f} (answer {measured!r}). A decoder trained on "
        "squared error alone hedges towards the average of plausible images, which is blurry. This VAE-GAN "
        "changes two things at once, the similarity (learned features instead of pixels) and the GAN term; "
        "lesson 06's ablation separates them and finds that the learned similarity does the work, not the GAN "
        "term. Sharpness also rises with speckle: it is a measure to read beside the Frechet distance")


predict_then_measure(PREDICT_SHARPER, CHOICES_SHARPER, lambda seed: sharpness_with_and_without_gan(seed=seed),
                     _sharper)
