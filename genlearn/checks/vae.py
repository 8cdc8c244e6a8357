"""Checks for the VAE exercises: reparameterisation, Bernoulli NLL, the negative ELBO, IWAE, free bits."""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F

from genlearn.checks._train import digits_split, direction, predict_then_measure, target, train_loop
from genlearn.checks._util import close, grads, rand, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["REPARAMETERIZE", "BERNOULLI_NLL", "NEGATIVE_ELBO", "IWAE_FROM_LOG_WEIGHTS", "FREE_BITS_KL",
           "VAE_BUILD_TRAIN", "PREDICT_KL_BETA", "DISCRETIZED_LOGISTIC_NLL", "kl_versus_beta"]


def _bce(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def _binary(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return (torch.rand(*shape, generator=gen) > 0.5).double()


# --- reparameterize(mu, logvar, eps) ------------------------------------------------------------
REPARAMETERIZE = exercise(
    "reparameterize", "a draw from N(mu, sigma^2) as a differentiable function of mu and logvar",
    hints=(
        "A draw from N(mu, sigma^2) is a standard-normal draw, stretched by the standard deviation and "
        "shifted by the mean.",
        "`logvar` is log sigma^2, so the standard deviation is the exponential of half of it (not of "
        "logvar itself).",
        "Write it with torch operations on mu, logvar and eps, so that autograd sees how z depends on mu "
        "and logvar (eps is just data).",
    ),
)


def _rep_probe(fn, inp):
    mu = inp["mu"].clone().requires_grad_(True)
    logvar = inp["logvar"].clone().requires_grad_(True)
    out = fn(mu, logvar, inp["eps"])
    return {"value": out, "grads": grads(out, mu, logvar)}


@REPARAMETERIZE.case(make=lambda gen: {"args": [randn(gen, 4, 3), randn(gen, 4, 3), randn(gen, 4, 3)]})
def _value(inp, out):
    mu, logvar, eps = inp["args"]
    got = tensor(out, (4, 3), "reparameterize(mu, logvar, eps)")
    assert not torch.allclose(got, mu + logvar.exp() * eps), "sigma is exp(logvar / 2), not exp(logvar)"
    assert torch.allclose(got, mu + (0.5 * logvar).exp() * eps, atol=1e-9), (
        "z = mean + standard deviation * eps, elementwise"
    )


@REPARAMETERIZE.case(make=lambda gen: {"mu": randn(gen, 3, 2), "logvar": randn(gen, 3, 2), "eps": randn(gen, 3, 2)},
                     run=_rep_probe)
def _gradients(inp, out):
    assert isinstance(out, dict) and isinstance(out.get("grads"), list), "reparameterize should return a tensor"
    g_mu, g_logvar = out["grads"]
    assert g_mu is not None and g_logvar is not None, "use torch operations so gradients reach mu and logvar"
    assert torch.allclose(g_mu.double(), torch.ones_like(inp["mu"])), "dz/dmu = 1: the mean is added"
    want = 0.5 * inp["eps"] * (0.5 * inp["logvar"]).exp()
    assert torch.allclose(g_logvar.double(), want), "dz/dlogvar = eps * sigma / 2: the standard deviation multiplies"


# --- bernoulli_nll(x, logits) -------------------------------------------------------------------
BERNOULLI_NLL = exercise(
    "bernoulli_nll", "-log p(x|z) of a Bernoulli decoder given its logits, one value per example",
    hints=(
        "Each pixel is a coin with P(x = 1) = sigmoid(logit); its negative log-likelihood is the binary "
        "cross-entropy between the pixel and that probability.",
        "Computing sigmoid and then log loses everything for large |logits| (log 0 = -inf). PyTorch has a "
        "binary cross-entropy that takes the logits directly and stays finite.",
        "Ask that function for no reduction (one value per pixel), then add the pixels of each example: "
        "the result has shape (batch,).",
    ),
)


@BERNOULLI_NLL.case(make=lambda gen: {"args": [_binary(gen, 3, 5), randn(gen, 3, 5, scale=2.0)]})
def _value(inp, out):
    x, logits = inp["args"]
    got = tensor(out, (3,), "bernoulli_nll(x, logits) for 3 examples")
    assert torch.allclose(got, _bce(x, logits), atol=1e-9), (
        "-[x log s(l) + (1 - x) log(1 - s(l))] per pixel, summed over the pixels of each example"
    )


@BERNOULLI_NLL.case(make=lambda gen: {"args": [torch.tensor([[1.0, 0.0]], dtype=torch.float64),
                                               torch.tensor([[-200.0, 200.0]], dtype=torch.float64)]})
def _stable(inp, out):
    got = tensor(out, (1,), "bernoulli_nll with large logits")
    close(to_float(got.sum(), "bernoulli_nll with large logits"), 400.0, 1e-6,
          "sigmoid then log underflows to -inf for large logits: use the cross-entropy that takes logits")


# --- negative_elbo(x, logits, mu, logvar) -------------------------------------------------------
NEGATIVE_ELBO = exercise(
    "negative_elbo", "the VAE loss: batch mean of reconstruction NLL plus KL, in nats per example",
    hints=(
        "The negative ELBO of one example is its reconstruction term (-log p(x|z)) plus the KL of its "
        "posterior from the prior.",
        "You wrote the reconstruction term above (bernoulli_nll) and the KL in the log-variance form in "
        "exercises 03; both give one value per example.",
        "Add the two per-example values, and only then average over the batch: nats per example, never a "
        "mean over pixels or latents.",
    ),
)


@NEGATIVE_ELBO.case(make=lambda gen: {"args": [_binary(gen, 4, 6), randn(gen, 4, 6), randn(gen, 4, 3),
                                               randn(gen, 4, 3)]})
def _value(inp, out):
    x, logits, mu, logvar = inp["args"]
    rec = _bce(x, logits)
    kl = 0.5 * (logvar.exp() - 1 - logvar + mu**2).sum(-1)
    close(to_float(out, "negative_elbo(...)"), float((rec + kl).mean()), 1e-9,
          "sum over pixels and latents per example (nats per example), then the mean over the batch; "
          f"a mean over pixels would give {float((rec / 6 + kl).mean()):.4f}")


# --- iwae_from_log_weights(log_weights) ---------------------------------------------------------
IWAE_FROM_LOG_WEIGHTS = exercise(
    "iwae_from_log_weights", "the IWAE bound log (1/K) sum_k w_k from log weights, without underflow",
    hints=(
        "The bound is the log of the mean of the weights w_k = exp(log w_k) over the K samples (dim 0), "
        "one value per example.",
        "exp(-1000) is 0 in floating point, so exponentiating first fails; `torch.logsumexp` computes "
        "log sum exp without leaving log space (it subtracts the maximum first).",
        "log of a mean = log of the sum minus log K; K is the size of dim 0.",
    ),
)


@IWAE_FROM_LOG_WEIGHTS.case(make=lambda gen: {"args": [randn(gen, 3, 2, scale=2.0)]})
def _value(inp, out):
    (log_w,) = inp["args"]
    got = tensor(out, (2,), "iwae_from_log_weights for (K=3, batch=2) log weights: reduce dim 0; result")
    assert torch.allclose(got, torch.logsumexp(log_w, 0) - math.log(3), atol=1e-9), (
        "log-mean-exp over the K samples, per example"
    )


@IWAE_FROM_LOG_WEIGHTS.case(make=lambda gen: {"args": [-1000.0 - rand(gen, 2, 1, high=3.0)]})
def _stable(inp, out):
    (log_w,) = inp["args"]
    got = tensor(out, (1,), "iwae_from_log_weights for very negative log weights")
    close(to_float(got, "iwae_from_log_weights"), float(torch.logsumexp(log_w, 0) - math.log(2)), 1e-9,
          "exp(-1000) underflows to 0: stay in log space (torch.logsumexp)")


@IWAE_FROM_LOG_WEIGHTS.case(make=lambda gen: {"args": [randn(gen, 50, 7)]})
def _above_elbo(inp, out):
    (log_w,) = inp["args"]
    got = tensor(out, (7,), "iwae_from_log_weights")
    assert (got >= log_w.mean(0) - 1e-12).all(), "by Jensen, log-mean-exp >= mean of the log weights"
    assert torch.allclose(got, torch.logsumexp(log_w, 0) - math.log(50), atol=1e-9), "divide by K = 50 inside the log"


# --- free_bits_kl(kl_per_dim, lam) --------------------------------------------------------------
FREE_BITS_KL = exercise(
    "free_bits_kl", "free bits: sum over latents of max(lam, batch-mean KL of the latent)",
    hints=(
        "The floor applies to each latent's average KL over the batch, not to each example: reduce the "
        "batch dimension first.",
        "Raising every value below lam up to lam is a clamp from below.",
        "Finally add up the latents: the result is one number.",
    ),
)


def _free_bits_inputs(gen: torch.Generator) -> dict:
    return {"args": [rand(gen, 6, 5, high=1.0) ** 3 * torch.tensor([0.1, 4.0, 1.0, 0.2, 2.0]), 0.5]}


@FREE_BITS_KL.case(make=_free_bits_inputs)
def _value(inp, out):
    kl, lam = inp["args"]
    want = float(kl.mean(0).clamp(min=lam).sum())
    per_example = float(kl.clamp(min=lam).mean(0).sum())
    got = to_float(out, "free_bits_kl(kl, 0.5)")
    close(got, want, 1e-9, "average each latent's KL over the batch first, then clamp each from below at lam and add"
          + (" (you clamped before averaging)" if abs(got - per_example) < 1e-9 else ""))


# --- build and train: class TinyVAE(n_pixels, n_latent) --------------------------------------------
VAE_BUILD_TRAIN = exercise(
    "vae_build_train", "build and train: a VAE class whose loss(x) is the negative ELBO, trained to a test target",
    points=4, depth="build",
    hints=(
        "Four parts: an encoder network that outputs 2 * n_latent numbers (split them into mu and logvar), a "
        "decoder network from n_latent to n_pixels logits, a reparameterised draw of z, and the loss. One "
        "hidden layer of a hundred or so units with a ReLU is enough for the 8x8 digits.",
        "loss(x) is what you wrote in exercise 3 on your own networks' outputs: encode, draw z with the "
        "reparameterisation, decode, then reconstruction NLL plus KL, per example, averaged over the batch.",
        "The check trains your class with Adam (lr 1e-3, batches of 100) from its random initialisation and "
        "then measures the ELBO itself from encode and decode; if the target is missed, check that the KL "
        "uses exp(logvar) as the variance, that the loss is a sum over pixels (not a mean), and that "
        "decode returns logits, not probabilities.",
    ),
)

VAE_EPOCHS, VAE_LATENT, VAE_TARGET = 60, 8, 23.0


def _vae_build_inputs(gen: torch.Generator) -> dict:
    inp = digits_split(gen, n_train=1200)
    inp["eps"] = torch.randn(len(inp["x_test"]), VAE_LATENT, generator=gen)
    return inp


def _vae_build_run(cls, inp):
    torch.manual_seed(inp["seed"])
    model = cls(inp["x_train"].shape[1], VAE_LATENT)
    trained = train_loop(model.loss, model.parameters(), inp["x_train"], seed=inp["seed"], epochs=VAE_EPOCHS)
    x = inp["x_test"]
    with torch.no_grad():
        mu, logvar = model.encode(x)
        logits = model.decode(mu + (0.5 * logvar).exp() * inp["eps"])
        reported = [float(model.loss(x)) for _ in range(5)]
    return {"mu": mu, "logvar": logvar, "logits": logits, "reported": reported, **trained}


@VAE_BUILD_TRAIN.case(make=_vae_build_inputs, run=_vae_build_run)
def _trained_to_target(inp, out):
    assert isinstance(out, dict) and "mu" in out, "the class should train and answer encode / decode"
    n, d = inp["x_test"].shape
    mu = tensor(out["mu"], (n, VAE_LATENT), "encode(x)[0] (mu) for the test images")
    logvar = tensor(out["logvar"], (n, VAE_LATENT), "encode(x)[1] (logvar) for the test images")
    logits = tensor(out["logits"], (n, d), "decode(z) (logits) for the test images")
    x = inp["x_test"].double()
    rec = _bce(x, logits)
    kl = 0.5 * (logvar.exp() - 1 - logvar + mu**2).sum(-1)
    neg_elbo = float((rec + kl).mean())
    assert torch.isfinite(rec + kl).all(), "the measured ELBO is not finite: decode should return finite logits"
    reported = sum(to_float(v, "loss(x)") for v in out["reported"]) / len(out["reported"])
    tol = 1.5 + 0.03 * abs(neg_elbo)
    assert abs(reported - neg_elbo) <= tol, (
        f"your loss(x) reports {reported:.2f} nats on the test images, but the negative ELBO the checker measures "
        f"from your encode and decode is {neg_elbo:.2f} nats (reconstruction {float(rec.mean()):.2f} + KL "
        f"{float(kl.mean()):.2f}): loss(x) should be their sum per example, averaged over the batch")
    target("test -ELBO", neg_elbo, VAE_TARGET, " nats",
           why=f"after {out['epochs']} epochs ({out['seconds']:.1f} s): reconstruction {float(rec.mean()):.2f} + "
               f"KL {float(kl.mean()):.2f}")


# --- predict, then measure: how does the KL change when beta doubles? ------------------------------
PREDICT_KL_BETA = exercise(
    "predict_kl_beta", "predict, then measure: the KL term of a trained VAE when beta doubles",
    depth="predict",
    hints=(
        "beta multiplies the KL in the loss: with beta = 2 every nat the encoder sends about x costs twice "
        "as much, while the reconstruction term is unchanged.",
        "Think of the optimum as a trade: what does the encoder do with an information channel that has "
        "become more expensive? Then run the experiment cell and compare.",
    ),
)

CHOICES_KL_BETA = ("increases", "decreases", "stays the same")


@functools.lru_cache(maxsize=4)  # the grader measures once, not once per submission
def kl_versus_beta(betas: tuple[float, ...] = (1.0, 2.0), seed: int = 0, epochs: int = 25) -> dict[float, float]:
    """The experiment: train one VAE per beta on the binarised digits (same seed and data) and return the
    mean KL(q(z|x) || p(z)) on the test images, in nats, by beta."""
    from genlearn.data import load_digits
    from genlearn.models.vae import VAE, vae_loss
    from genlearn.train import fit

    x_train, x_test = (load_digits(s, binarize=True).x for s in ("train", "test"))
    found = {}
    for beta in betas:
        torch.manual_seed(seed)
        model = VAE((1, 8, 8), 8, hidden=(128,), beta=beta)
        fit(model, vae_loss, x_train, epochs, seed=seed, progress=False)
        with torch.no_grad():
            found[float(beta)] = round(float(vae_loss(model, x_test).kl), 3)
    return found


def _kl_beta(kl: dict[float, float]) -> tuple[str, str]:
    k1, k2 = kl[1.0], kl[2.0]
    measured = direction(k2, k1, 0.05, "stays the same", "increases", "decreases")
    return measured, (
        f"measured: KL {k1:.1f} nats at beta = 1, {k2:.1f} nats at beta = 2, so it {measured}. Doubling beta "
        "doubles the price of each nat the code carries about x, so the encoder sends less: posteriors move "
        "towards the prior and reconstructions get blurrier")


predict_then_measure(PREDICT_KL_BETA, CHOICES_KL_BETA, lambda seed: kl_versus_beta(seed=seed), _kl_beta)


# --- discretized_logistic_nll(u, log_scale, x, levels) ---------------------------------------------
DISCRETIZED_LOGISTIC_NLL = exercise(
    "discretized_logistic_nll", "-log p(x|z) of grey levels under a discretized logistic", points=2,
    hints=(
        "Each pixel takes one of `levels` grey values 0, 1/(L-1), ..., 1. Its probability is the mass of a "
        "logistic distribution (mean sigmoid(u), scale e^log_scale) over the pixel's bin: the CDF at the bin's "
        "upper edge minus the CDF at its lower edge.",
        "A bin is one grey level wide: half a level, h = 1 / (2 (L - 1)), either side of x. The logistic CDF "
        "is F(t) = sigmoid((t - mean) / scale). The two end bins take the tails: x = 0 gets F(h) (everything "
        "below), x = 1 gets 1 - F(1 - h).",
        "Then -log of each pixel's probability, summed over the pixels of each image: shape (N,). Clamp the "
        "probability to at least a tiny number (say 1e-12) before the log, so an unlikely pixel costs a lot "
        "but not infinity.",
    ),
)


def _logistic_nll_reference(u: torch.Tensor, log_scale: torch.Tensor, x: torch.Tensor, levels: int) -> torch.Tensor:
    h = 0.5 / (levels - 1)
    mean, scale = torch.sigmoid(u), log_scale.exp()
    upper = torch.where(x >= 1, torch.ones_like(x), torch.sigmoid((x + h - mean) / scale))
    lower = torch.where(x <= 0, torch.zeros_like(x), torch.sigmoid((x - h - mean) / scale))
    return -torch.log((upper - lower).clamp(min=1e-12)).flatten(1).sum(1)


def _logistic_inputs(gen: torch.Generator, levels: int = 256) -> dict:
    n, d = 4, 12
    x = torch.randint(0, levels, (n, d), generator=gen).double() / (levels - 1)
    x[0, :3] = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)  # the two end bins
    return {"u": randn(gen, n, d, scale=2.0), "log_scale": rand(gen, n, d, low=-4.0, high=-1.0), "x": x,
            "levels": levels}


@DISCRETIZED_LOGISTIC_NLL.case(make=_logistic_inputs,
                               run=lambda fn, inp: fn(inp["u"], inp["log_scale"], inp["x"], inp["levels"]))
def _grey_levels(inp, out):
    got = tensor(out, (4,), "discretized_logistic_nll(u, log_scale, x, levels)")
    want = _logistic_nll_reference(inp["u"], inp["log_scale"], inp["x"], inp["levels"])
    assert torch.allclose(got, want, rtol=1e-6, atol=1e-6), (
        f"got {got.tolist()}, expected {want.tolist()}: each pixel's bin is x +- h with h = 1 / (2 (L - 1)); "
        "the end bins x = 0 and x = 1 take the tails")


def _all_levels_inputs(gen: torch.Generator) -> dict:
    levels = 17
    grid = torch.arange(levels, dtype=torch.float64)[:, None] / (levels - 1)  # every grey level, one pixel each
    return {"u": randn(gen, 1, 1, scale=1.5).expand(levels, 1).clone(),
            "log_scale": rand(gen, 1, 1, low=-3.0, high=-0.5).expand(levels, 1).clone(), "x": grid, "levels": levels}


@DISCRETIZED_LOGISTIC_NLL.case(make=_all_levels_inputs,
                               run=lambda fn, inp: fn(inp["u"], inp["log_scale"], inp["x"], inp["levels"]))
def _a_distribution(inp, out):
    got = tensor(out, (17,), "discretized_logistic_nll over the 17 levels of one pixel")
    total = float((-got).exp().sum())
    assert abs(total - 1) < 1e-6, (
        f"the probabilities of the 17 grey levels of one pixel sum to {total:.6f}, not 1: the end bins must take "
        "the tails (x = 0 gets everything below its upper edge, x = 1 everything above its lower edge)")
    want = _logistic_nll_reference(inp["u"], inp["log_scale"], inp["x"], inp["levels"])
    assert torch.allclose(got, want, rtol=1e-6, atol=1e-6), f"got {got.tolist()}, expected {want.tolist()}"
