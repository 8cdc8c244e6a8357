"""Checks for exercises of lesson 06 (VAE-GAN)."""

from __future__ import annotations

import torch

from genlearn.checks import exercise
from genlearn.checks._util import close, to_float
from genlearn.models.vaegan import discriminator_loss, generator_loss, similarity_loss
from genlearn.models.vaegan import three_class_losses as _three

LESSON = "06"


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=_gen(seed), dtype=torch.float64)


# --- best_guess(candidates, probs) -------------------------------------------------------------
BG = "the image minimising the expected squared error over candidates: their probability-weighted average"


@exercise("best_guess", LESSON, BG)
def _guess_two(fn):
    a = torch.zeros(1, 2, 2, dtype=torch.float64)
    b = torch.ones(1, 2, 2, dtype=torch.float64)
    got = fn(torch.stack([a, b]), torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert isinstance(got, torch.Tensor) and got.shape == (1, 2, 2), (
        f"return one image of shape (1, 2, 2), got {getattr(got, 'shape', type(got).__name__)}"
    )
    assert torch.allclose(got, torch.full_like(a, 0.5)), "with two equally likely candidates, the answer is their mean"


@exercise("best_guess", LESSON, BG)
def _guess_weighted(fn):
    x = torch.rand(3, 1, 4, 4, generator=_gen(1), dtype=torch.float64)
    p = torch.tensor([0.2, 0.5, 0.3], dtype=torch.float64)
    got = fn(x, p)
    want = (p[:, None, None, None] * x).sum(0)
    assert torch.allclose(got, want, atol=1e-12), "weight each candidate by its probability: sum_k p_k x_k"

    def risk(c: torch.Tensor) -> float:
        return float((p * (x - c).pow(2).sum(dim=(1, 2, 3))).sum())

    assert all(risk(got) <= risk(x[k]) for k in range(3)), "your guess must beat every single candidate"


# --- feature_similarity(f_real, f_rec, sigma) -----------------------------------------------------
FS = "learned similarity: batch mean of |f_real - f_rec|^2 (summed over units) / (2 sigma^2)"


@exercise("feature_similarity", LESSON, FS)
def _sim_value(fn):
    f_real, f_rec = _randn(4, 5, seed=2), _randn(4, 5, seed=3)
    got = to_float(fn(f_real, f_rec, 0.5), "feature_similarity(f_real, f_rec, 0.5)")
    want = float(similarity_loss(f_real, f_rec, 0.5))
    sq = (f_real - f_rec).pow(2)
    close(got, want, 1e-9,
          "sum the squared differences over the units of each example, average over the batch, divide by "
          f"2 sigma^2 (a mean over units would give {float(sq.mean(1).mean() / 0.5):.4f}; a sum over the batch "
          f"{float(sq.sum() / 0.5):.4f})")


@exercise("feature_similarity", LESSON, FS)
def _sim_sigma_and_grad(fn):
    f_real = _randn(3, 2, seed=4)
    f_rec = f_real.clone().requires_grad_(True)
    close(to_float(fn(f_real, f_rec, 1.0), "similarity of identical features"), 0.0, 1e-12,
          "identical features must give 0")
    shifted = (f_real + 1.0).detach().requires_grad_(True)
    value = fn(f_real, shifted, 2.0)
    close(to_float(value, "feature_similarity"), 2 * 1.0 / (2 * 4.0), 1e-9,
          "each example has 2 units off by 1: (1 + 1) / (2 sigma^2) with sigma = 2")
    value.backward()
    assert shifted.grad is not None, "use torch operations so the gradient reaches the reconstruction's features"


# --- discriminator_loss(logits_real, logits_rec, logits_gen) -------------------------------------
DL = "two-class discriminator: -[log D(x) + log(1 - D(x_rec)) + log(1 - D(x_gen))], D = sigmoid, batch mean"


@exercise("discriminator_loss", LESSON, DL)
def _dis_value(fn):
    r, c, g = _randn(5, seed=5), _randn(5, seed=6), _randn(5, seed=7)
    got = to_float(fn(r, c, g), "discriminator_loss(...)")
    swapped = float(discriminator_loss(-r, -c, -g))
    close(got, float(discriminator_loss(r, c, g)), 1e-9,
          "real images should be called real (target 1), both kinds of fakes fake (target 0)"
          + (" - you swapped the targets" if abs(got - swapped) < 1e-9 else ""))


@exercise("discriminator_loss", LESSON, DL)
def _dis_stable(fn):
    big = torch.tensor([200.0], dtype=torch.float64)
    right = to_float(fn(big, -big, -big), "discriminator_loss for a confident, correct discriminator")
    wrong = to_float(fn(-big, big, big), "discriminator_loss for a confident, wrong discriminator")
    close(right, 0.0, 1e-9, "a confident, correct discriminator has loss ~0")
    close(wrong, 600.0, 1e-6, "sigmoid then log overflows for large logits: use "
          "F.binary_cross_entropy_with_logits (or F.logsigmoid)")


# --- generator_loss(logits_rec, logits_gen, non_saturating) --------------------------------------
GL = "decoder's adversarial loss: -log D(fakes) (non-saturating) or log(1 - D(fakes)) (saturating)"


@exercise("generator_loss", LESSON, GL)
def _gen_values(fn):
    c, g = _randn(6, seed=8), _randn(6, seed=9)
    for non_sat, form in ((True, "non_saturating"), (False, "saturating")):
        got = to_float(fn(c, g, non_saturating=non_sat), f"generator_loss(..., non_saturating={non_sat})")
        close(got, float(generator_loss(c, g, form)), 1e-9,
              "non-saturating: -log sigmoid(l) summed over both fakes; saturating: log(1 - sigmoid(l)), "
              "i.e. minus the discriminator's fake terms (each a batch mean)")


@exercise("generator_loss", LESSON, GL)
def _gen_gradients(fn):
    for non_sat in (True, False):
        lr = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        lg = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        fn(lr, lg, non_saturating=non_sat).backward()
        assert lr.grad is not None and (lr.grad < 0).all() and (lg.grad < 0).all(), (
            f"non_saturating={non_sat}: raising the fakes' logits (looking more real) must lower the "
            "decoder's loss - check the sign"
        )
    rejected = torch.full((4,), -10.0, dtype=torch.float64)
    slopes = {}
    for non_sat in (True, False):
        lr = rejected.clone().requires_grad_(True)
        fn(lr, rejected, non_saturating=non_sat).backward()
        slopes[non_sat] = float(lr.grad.abs().sum())
    assert slopes[True] > 0.9 and slopes[False] < 1e-3, (
        "when D rejects the fakes (logit -10) the saturating form's gradient vanishes "
        f"(got {slopes[False]:.2g}) while the non-saturating one stays ~1 (got {slopes[True]:.2g})"
    )


# --- three_class_discriminator_loss(logits_real, logits_rec, logits_gen) -------------------------
TC = "three-class discriminator: CE(real -> 0) + CE(reconstructed -> 1) + CE(generated -> 2), batch means"


@exercise("three_class_discriminator_loss", LESSON, TC)
def _three_value(fn):
    r, c, g = _randn(4, 3, seed=10), _randn(4, 3, seed=11), _randn(4, 3, seed=12)
    got = to_float(fn(r, c, g), "three_class_discriminator_loss(...)")
    close(got, float(_three(r, c, g).discriminator), 1e-9,
          "each image set gets its own class: real 0, reconstructed 1, generated 2; use F.cross_entropy "
          "on the raw logits (it applies the log-softmax itself)")


@exercise("three_class_discriminator_loss", LESSON, TC)
def _three_perfect(fn):
    big = 50.0
    eye = torch.eye(3, dtype=torch.float64) * big
    r, c, g = (eye[k].repeat(2, 1) for k in range(3))
    close(to_float(fn(r, c, g), "loss of a perfect discriminator"), 0.0, 1e-9,
          "a discriminator that gives each set its own class with a huge logit has loss ~0")
    close(to_float(fn(c, r, g), "loss with real and reconstructed swapped"), 2 * big, 1e-6,
          "swapping the real and reconstructed sets should cost about 2 * 50")
