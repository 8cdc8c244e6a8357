"""Checks for the evaluation exercises: Frechet distance, sharpness, bits per dimension."""

from __future__ import annotations

import functools
import math

import torch

from genlearn.checks._train import digits_split, direction, predict_then_measure, target, train_loop
from genlearn.checks._util import close, rand, randn, tensor, to_float
from genlearn.checks.exercise import exercise

__all__ = ["FRECHET_GAUSSIANS", "IMAGE_SHARPNESS", "BITS_PER_DIM", "GAUSSIAN_PRIOR_BUILD", "PREDICT_LOWEST_BITS",
           "PAIRED_VERDICT", "COMPARE_MODELS", "bits_per_dim_vae_vs_pixels"]


def _spd(gen: torch.Generator, d: int) -> torch.Tensor:
    a = randn(gen, d, d)
    return a @ a.T + 0.5 * torch.eye(d, dtype=torch.float64)


def _frechet(m1: torch.Tensor, s1: torch.Tensor, m2: torch.Tensor, s2: torch.Tensor) -> float:
    eig = torch.linalg.eigvals(s1 @ s2).real.clamp(min=0)
    return float(((m1 - m2) ** 2).sum() + s1.trace() + s2.trace() - 2 * eig.sqrt().sum())


# --- frechet_gaussians(m1, s1, m2, s2) ----------------------------------------------------------
FRECHET_GAUSSIANS = exercise(
    "frechet_gaussians", "Frechet distance between N(m1, S1) and N(m2, S2)", points=2,
    hints=(
        "Two parts: the squared distance between the means, and a trace term that compares the covariances.",
        "(S1 S2)^(1/2) is a matrix square root, not an elementwise one. You only need its trace: the sum of "
        "the square roots of the eigenvalues of S1 S2.",
        "`torch.linalg.eigvals` returns complex numbers; for covariance matrices they are real and "
        "non-negative up to rounding, so keep the real part and clamp tiny negatives to 0 before the sqrt.",
    ),
)


def _diagonal_inputs(gen: torch.Generator) -> dict:
    a, b = rand(gen, 2, low=0.5, high=4.0), rand(gen, 2, low=0.5, high=4.0)
    return {"args": [torch.zeros(2, dtype=torch.float64), torch.diag(a), randn(gen, 2, scale=3.0), torch.diag(b)]}


@FRECHET_GAUSSIANS.case(make=_diagonal_inputs)
def _diagonal(inp, out):
    close(to_float(out, "frechet_gaussians"), _frechet(*inp["args"]), 1e-6,
          "for diagonal covariances the trace term is sum (sqrt(a) - sqrt(b))^2; don't forget |m1 - m2|^2")


@FRECHET_GAUSSIANS.case(make=lambda gen: {"args": [randn(gen, 4), _spd(gen, 4), randn(gen, 4), _spd(gen, 4)]})
def _general(inp, out):
    want = _frechet(*inp["args"])
    close(to_float(out, "frechet_gaussians"), want, 1e-6 * max(1.0, abs(want)),
          "(S1 S2)^(1/2) is a matrix square root, not elementwise: use the eigenvalues of S1 S2")


@FRECHET_GAUSSIANS.case(make=lambda gen: {"args": [randn(gen, 3), _spd(gen, 3)]},
                        run=lambda fn, inp: fn(*inp["args"], *inp["args"]))
def _same(inp, out):
    close(to_float(out, "frechet_gaussians(same, same)"), 0.0, 1e-6, "the distance of a Gaussian to itself is 0")


# --- image_sharpness(images) --------------------------------------------------------------------
IMAGE_SHARPNESS = exercise(
    "image_sharpness", "mean image-gradient magnitude of each image, from forward differences",
    hints=(
        "Sharpness is the average size of the image gradient: differences between neighbouring pixels, "
        "horizontally (dx) and vertically (dy).",
        "dx is each pixel's right neighbour minus the pixel, dy its lower neighbour minus the pixel. Slice "
        "the last two axes so that both use the same reference pixels: all but the last row and column (7x7 "
        "for 8x8 images).",
        "The magnitude at each pixel is sqrt(dx^2 + dy^2); average it over all pixels of each image, giving "
        "shape (N,).",
    ),
)


def _sharpness(x: torch.Tensor) -> torch.Tensor:
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1)


@IMAGE_SHARPNESS.case(make=lambda gen: {"args": [rand(gen, 5, 1, 8, 8)]})
def _matches(inp, out):
    (images,) = inp["args"]
    got = tensor(out, (5,), "image_sharpness of 5 images")
    assert torch.allclose(got, _sharpness(images), atol=1e-9), (
        "forward differences dx (along a row) and dy (along a column), both 7x7, then the mean over pixels of "
        "the gradient magnitude"
    )


@IMAGE_SHARPNESS.case(make=lambda gen: {"args": [torch.full((2, 1, 8, 8), float(rand(gen, 1)), dtype=torch.float64)]})
def _flat(inp, out):
    got = tensor(out, (2,), "image_sharpness of 2 flat images")
    assert torch.allclose(got, torch.zeros(2, dtype=torch.float64)), "a flat image has sharpness 0"


# --- bits_per_dim(nats, n_dims) -----------------------------------------------------------------
BITS_PER_DIM = exercise(
    "bits_per_dim", "convert a negative log-likelihood in nats per example to bits per dimension",
    hints=(
        "Two conversions: from nats to bits, and from per example to per dimension.",
        "One bit is ln 2 nats (`math.log(2)`); an example has n_dims dimensions.",
    ),
)


@BITS_PER_DIM.case(make=lambda gen: {"args": [float(rand(gen, 1, low=10.0, high=500.0)), 64]})
def _value(inp, out):
    nats, n_dims = inp["args"]
    close(to_float(out, "bits_per_dim"), nats / (n_dims * math.log(2)), 1e-12,
          "divide by the number of dimensions and by ln 2")


@BITS_PER_DIM.case(make=lambda gen: {"args": [64 * math.log(2), 64]})
def _one_bit(inp, out):
    close(to_float(out, "bits_per_dim(64 ln 2, 64)"), 1.0, 1e-12, "64 ln 2 nats over 64 dimensions is one bit each")


# --- build and train: sample_fitted_gaussian(codes, n, generator) ----------------------------------
GAUSSIAN_PRIOR_BUILD = exercise(
    "gaussian_prior_build", "build and train: make an autoencoder generative with a Gaussian fitted to its codes",
    points=4, depth="build",
    hints=(
        "An autoencoder's codes do not follow N(0, I): they have their own centre, scales and correlations. "
        "Fit them with a Gaussian: the mean of the codes and their full covariance matrix.",
        "To draw from N(m, S) with a full covariance, factor S = L L^T (Cholesky) and map a standard-normal "
        "draw eps to m + L eps; for a batch of row vectors that is `eps @ L.T`. Draw eps with the generator "
        "you are given.",
        "`torch.cov` expects variables in rows and observations in columns (transpose the codes). If the "
        "Cholesky fails, add a small multiple of the identity (say 1e-6) to the covariance.",
    ),
)

AE_EPOCHS, AE_LATENT, AE_SAMPLES, AE_FD_RATIO = 30, 4, 1000, 0.6


def _ae_inputs(gen: torch.Generator) -> dict:
    inp = digits_split(gen, n_train=1200, binarize=False)
    inp["eps"] = torch.randn(AE_SAMPLES, AE_LATENT, generator=gen)
    inp["draw_seed"] = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
    return inp


def _ae_run(fn, inp):
    from genlearn.models.ae import AE, ae_loss

    torch.manual_seed(inp["seed"])
    ae = AE((1, 8, 8), AE_LATENT, hidden=(128,))
    x = inp["x_train"].view(-1, 1, 8, 8)
    trained = train_loop(lambda xb: ae_loss(ae, xb.view(-1, 1, 8, 8)).loss, ae.parameters(), inp["x_train"],
                         seed=inp["seed"], epochs=AE_EPOCHS)
    ae.eval()
    with torch.no_grad():
        codes = ae.encode(x)
        z = fn(codes.clone(), AE_SAMPLES, torch.Generator().manual_seed(inp["draw_seed"]))
        if not isinstance(z, torch.Tensor) or tuple(z.shape) != (AE_SAMPLES, AE_LATENT):
            return {"z": z}
        return {"z": z, "codes": codes, "samples": ae.decode_mean(z.float()),
                "standard_normal": ae.decode_mean(inp["eps"]), **trained}


@GAUSSIAN_PRIOR_BUILD.case(make=_ae_inputs, run=_ae_run)
def _beats_standard_normal(inp, out):
    from genlearn.sample_quality import digit_frechet_distance

    assert isinstance(out, dict) and "z" in out, "sample_fitted_gaussian should return codes"
    z = tensor(out["z"], (AE_SAMPLES, AE_LATENT), f"sample_fitted_gaussian(codes, {AE_SAMPLES}, generator)")
    codes = tensor(out["codes"], (len(inp["x_train"]), AE_LATENT), "the autoencoder's codes")
    m, s = codes.mean(0), torch.cov(codes.T)
    scale = s.diagonal().sqrt()
    mean_error = float(((z.mean(0) - m) / scale).abs().max())
    assert mean_error < 0.25, (
        f"your samples' mean is {mean_error:.2f} standard deviations away from the codes' mean in some latent")
    corr_z = torch.cov(z.T) / (scale[:, None] * scale[None])
    corr_codes = s / (scale[:, None] * scale[None])
    cov_error = float((corr_z - corr_codes).abs().max())
    assert cov_error < 0.2, (
        f"your samples' covariance differs from the codes' by up to {cov_error:.2f} (in units of the codes' "
        "standard deviations): fit the full covariance, and draw with its Cholesky factor (a standard "
        "deviation, not a variance)")
    reference = inp["x_test"].view(-1, 1, 8, 8)
    fd = digit_frechet_distance(out["samples"].float(), reference)
    fd_normal = digit_frechet_distance(out["standard_normal"].float(), reference)
    target("Frechet distance of your samples to the test digits", fd, AE_FD_RATIO * fd_normal,
           why=f"{AE_FD_RATIO} x the same autoencoder's N(0, I) samples' {fd_normal:.3g}")


# --- predict, then measure: which has the lowest bits per dimension? --------------------------------
PREDICT_LOWEST_BITS = exercise(
    "predict_lowest_bits", "predict, then measure: a VAE's bound or independent pixels - which is lower?",
    depth="predict",
    hints=(
        "Both numbers are codelengths of the same test digits in bits per pixel: the independent-pixels "
        "baseline stores every pixel by its own frequency, the VAE pays for a code plus the pixels given it.",
        "The VAE's number is only an upper bound on its true codelength. Does the dependence between the "
        "pixels of a digit (strokes are connected) save more than the bound's slack costs?",
    ),
)

CHOICES_LOWEST = ("vae", "independent pixels", "equal")


@functools.lru_cache(maxsize=4)  # the grader measures once, not once per submission
def bits_per_dim_vae_vs_pixels(seed: int = 0, epochs: int = 25) -> dict[str, float]:
    """The experiment: on the binarised digits, the test bits per dimension of a VAE's negative ELBO
    (trained ``epochs`` epochs) and of the independent-pixels baseline fitted to the training images."""
    from genlearn.data import load_digits
    from genlearn.evaluate import IndependentPixels
    from genlearn.models.vae import VAE, vae_loss
    from genlearn.train import fit

    x_train, x_test = (load_digits(s, binarize=True).x for s in ("train", "test"))
    torch.manual_seed(seed)
    model = VAE((1, 8, 8), 8, hidden=(128,))
    fit(model, vae_loss, x_train, epochs, seed=seed, progress=False)
    with torch.no_grad():
        nats = float(vae_loss(model, x_test).loss)
    return {"vae": round(nats / (64 * math.log(2)), 4),
            "independent pixels": round(float(IndependentPixels(x_train).bits_per_dim(x_test)), 4)}


def _lowest_bits(found: dict[str, float]) -> tuple[str, str]:
    v, b = found["vae"], found["independent pixels"]
    measured = direction(v, b, 0.02, "equal", "independent pixels", "vae")  # the VAE higher: pixels are lowest
    return measured, (
        f"measured on the test digits: VAE bound {v:.3f} bits/dim, independent pixels {b:.3f} bits/dim (lowest: "
        f"{measured}). The pixels of a digit are strongly dependent; a code that describes the stroke saves far "
        "more than the bound's slack (the KL of the code) costs")


predict_then_measure(PREDICT_LOWEST_BITS, CHOICES_LOWEST, lambda seed: bits_per_dim_vae_vs_pixels(seed=seed),
                     _lowest_bits)


# --- paired_verdict(a, b, better, alpha) ---------------------------------------------------------------
PAIRED_VERDICT = exercise(
    "paired_verdict", "the verdict behind every comparison of the course: a paired t interval over seeds", points=2,
    hints=(
        "Pair the scores by seed: d_s = a_s - b_s. The claim is about the mean of d: is it below 0 (better = "
        "'lower') or above 0 (better = 'higher')?",
        "The two-sided 1 - alpha interval of the mean difference is mean(d) +- t * sd(d) / sqrt(n), with sd the "
        "sample standard deviation (n - 1 in the denominator) and t the 1 - alpha/2 quantile of Student's t "
        "with n - 1 degrees of freedom (scipy.stats.t.ppf).",
        "HOLDS when the whole interval is on the claimed side of 0, DOES NOT when it is on the other side, "
        "INCONCLUSIVE when it contains 0. Return (verdict, low, high).",
    ),
)

_VERDICTS = ("HOLDS", "DOES NOT", "INCONCLUSIVE")


def _verdict_answer(out: object) -> tuple[str, float, float]:
    size = f" of {len(out)}" if hasattr(out, "__len__") else ""
    assert isinstance(out, (tuple, list)) and len(out) == 3, (
        f"return (verdict, low, high), got {type(out).__name__}{size}")
    verdict, low, high = out
    assert verdict in _VERDICTS, f"the verdict must be one of {_VERDICTS}, got {verdict!r}"
    return verdict, to_float(low, "low"), to_float(high, "high")


# per-seed differences d = a - b whose intervals sit where a wrong threshold shows: HOLDS far from 0, an
# interval across 0 inside (-1, 1), one inside (0, 1)
_DIFFS = {"clear": [-2.2, -1.9, -2.6, -1.7, -2.1], "across": [-0.5, -0.1, 0.2, -0.4, 0.1],
          "small": [0.5, 0.6, 0.4, 0.55, 0.45]}


def _paired_case(diffs: str, better: str, alpha: float | None = 0.05):
    def make(gen: torch.Generator) -> dict:
        base = randn(gen, 5, scale=10.0)  # seeds differ a lot: only the pairing sees the effect
        a = base + torch.tensor(_DIFFS[diffs], dtype=torch.float64)
        return {"a": a.tolist(), "b": base.tolist(), "better": better, "alpha": alpha}
    return make


def _run_paired(fn, inp):
    if inp["alpha"] is None:  # the default alpha of the signature: 0.05
        return fn(inp["a"], inp["b"], inp["better"])
    return fn(inp["a"], inp["b"], inp["better"], inp["alpha"])


def _check_paired(inp: dict, out: object) -> None:
    from genlearn.verdict import compare

    verdict, low, high = _verdict_answer(out)
    want = compare("claim", inp["a"], inp["b"], inp["better"], inp["alpha"] or 0.05)
    close(low, want.low, 1e-6 * max(1.0, abs(want.low)), "the interval is mean(d) - t * sd(d) / sqrt(n), d = a - b")
    close(high, want.high, 1e-6 * max(1.0, abs(want.high)), "the interval is mean(d) + t * sd(d) / sqrt(n)")
    assert verdict == want.verdict, (f"the interval [{want.low:.3g}, {want.high:.3g}] with better = "
                                     f"{inp['better']!r} reads {want.verdict}, you said {verdict}")


for _diffs, _better, _alpha in (("clear", "lower", 0.05), ("across", "lower", None), ("small", "lower", 0.05),
                                ("across", "higher", 0.05), ("small", "higher", 0.1), ("clear", "higher", None)):
    PAIRED_VERDICT.case(make=_paired_case(_diffs, _better, _alpha), run=_run_paired)(_check_paired)


# --- compare_models(run, a, b, seeds, key, better) ------------------------------------------------------
COMPARE_MODELS = exercise(
    "compare_models", "compare two models fairly: the same seeds for both, paired by seed", points=2,
    hints=(
        "A fair comparison gives both models the same budget and the same seeds: call run(name, seed) for "
        "each model and each seed, and keep each model's scores in the order of the seeds.",
        "The pairs (a_s, b_s) share everything a seed decides (initialisation, data order, noise), so "
        "compare them pair by pair: your paired_verdict, with the scores under `key`.",
    ),
)


def _fair_inputs(gen: torch.Generator) -> dict:
    seeds = [int(s) for s in torch.randperm(50, generator=gen)[:4]]
    return {"seeds": seeds, "base": {s: float(10 * torch.randn(1, generator=gen)) for s in seeds},
            "noise": {s: float(0.3 * torch.randn(1, generator=gen)) for s in seeds}}


def _run_fair(fn, inp):
    calls: list[list] = []
    base = {int(k): v for k, v in inp["base"].items()}
    noise = {int(k): v for k, v in inp["noise"].items()}

    def run(name, seed):
        calls.append([name, seed])
        if seed not in base:
            return {"frechet": float("nan")}
        return {"frechet": base[seed] + (noise[seed] - 1.5 if name == "VQ-VAE" else 0.0)}

    from genlearn.verdict import compare

    def paired_verdict(a, b, better="lower", alpha=0.05):  # the course's verdict, lent to the learner's code
        v = compare("claim", a, b, better, alpha)
        return v.verdict, v.low, v.high

    out = fn(run, "VQ-VAE", "VAE-GAN", inp["seeds"], "frechet", "lower", paired_verdict)
    return {"calls": calls, "answer": list(out) if isinstance(out, tuple) else out}


@COMPARE_MODELS.case(make=_fair_inputs, run=_run_fair)
def _fair(inp, out):
    seeds = [int(s) for s in inp["seeds"]]
    calls = [(str(n), int(s)) for n, s in out["calls"]]
    for name in ("VQ-VAE", "VAE-GAN"):
        got = [s for n, s in calls if n == name]
        assert sorted(got) == sorted(seeds) and len(got) == len(seeds), (
            f"{name} was run with seeds {got}; a fair comparison runs both models once on each of {seeds}")
    verdict, low, high = _verdict_answer(out["answer"])
    from genlearn.verdict import compare

    a = [inp["base"][str(s)] if str(s) in inp["base"] else inp["base"][s] for s in seeds]
    noise = [inp["noise"][str(s)] if str(s) in inp["noise"] else inp["noise"][s] for s in seeds]
    want = compare("claim", [x + e - 1.5 for x, e in zip(a, noise, strict=True)], a, "lower")
    close(low, want.low, 1e-6 * max(1.0, abs(want.low)), "pair the scores by seed: the same order for both models")
    close(high, want.high, 1e-6 * max(1.0, abs(want.high)), "pair the scores by seed")
    assert verdict == want.verdict, f"paired by seed the verdict is {want.verdict}, you said {verdict}"
