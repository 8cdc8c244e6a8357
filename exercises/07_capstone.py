# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["genlearn-setup", "hide-cell"] slideshow={"slide_type": "skip"}
# Set-up for Colab and other hosted notebooks: installs genlearn 0.2.0 only when it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("genlearn") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "genlearn==0.2.0"])
    importlib.invalidate_caches()

# %% [markdown]
# # Exercises 07 - Comparing generative models
#
# The capstone compares models with three yardsticks; here you build them.
# Each function is followed by a check cell that prints `PASS`, `TODO` or
# `FAIL` with a hint. From a terminal: `genlearn check exercises/07_capstone.ipynb`.
#
# Stuck? `hint("frechet_gaussians")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/07_capstone.ipynb frechet_gaussians --hint`.

# %%
import math

import torch

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: the Frechet distance between two Gaussians
#
# The Frechet distance compares two sets of images through Gaussians fitted to
# their features: $d^2 = \lVert m_1 - m_2\rVert^2 + \mathrm{tr}\big(S_1 + S_2 - 2\,(S_1 S_2)^{1/2}\big)$.
# The trace of the matrix square root $(S_1S_2)^{1/2}$ is the sum of the square
# roots of the eigenvalues of $S_1 S_2$ (they are real and non-negative for
# covariance matrices). Inputs are float64 tensors: means `(d,)`, covariances `(d, d)`.

# %%
def frechet_gaussians(m1, s1, m2, s2):
    """Frechet distance between N(m1, s1) and N(m2, s2)."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('frechet_gaussians')")
# %%
check("frechet_gaussians", frechet_gaussians)

# %% [markdown]
# ## Exercise 2: sharpness
#
# Blur shows up as small differences between neighbouring pixels. For images
# `(N, 1, H, W)` compute forward differences on the common `(H-1) x (W-1)` grid,
# $dx = x_{i, j+1} - x_{i,j}$ and $dy = x_{i+1, j} - x_{i,j}$, and return for each
# image the mean of $\sqrt{dx^2 + dy^2}$: shape `(N,)`.

# %%
def image_sharpness(images):
    """Mean image-gradient magnitude per image."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('image_sharpness')")
# %%
check("image_sharpness", image_sharpness)

# %% [markdown]
# ## Exercise 3: nats to bits per dimension
#
# Likelihoods are compared across data sets in bits per dimension: divide the
# negative log-likelihood in nats per example by the number of dimensions (64
# pixels for the digits) and by $\ln 2$.

# %%
def bits_per_dim(nats, n_dims):
    """nats per example -> bits per dimension."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('bits_per_dim')")
# %%
check("bits_per_dim", bits_per_dim)

# %% [markdown]
# ## Putting it together
#
# A blurred copy of the digits is less sharp, and its features drift away from
# the real ones:

# %%
from genlearn.data import load_digits  # noqa: E402

with demo("image_sharpness, bits_per_dim"):  # until your code above runs: one line, and Run All goes on
    x = load_digits("test").x.double()
    blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    print(f"sharpness: real {image_sharpness(x).mean():.3f}, blurred {image_sharpness(blurred).mean():.3f}")
    print(f"a VAE at 0.44 nats per pixel... {bits_per_dim(0.44 * 64, 64):.3f} bits per pixel")

# %% [markdown]
# ## Exercise 4 (build and train): make an autoencoder generative
#
# A plain autoencoder has no prior: decoding $z \sim N(0, I)$ gives poor images,
# because its codes live elsewhere. Fit a Gaussian to the codes instead. Write
# `sample_fitted_gaussian(codes, n, generator)`: `codes` is `(N, d)`, one code per
# training image; fit $N(m, S)$ with the codes' mean and **full** covariance, and
# return `n` draws from it, shape `(n, d)`, using `generator` for the noise.
#
# The check trains an autoencoder (genlearn's `AE`, 4 latents, 30 epochs on 1,200
# digits), passes your function its training codes, decodes your draws, and
# compares the samples with the test digits in the Frechet distance of exercise 1:
# target at most 0.6 x the distance of the same autoencoder's $N(0, I)$ samples.

# %%
def sample_fitted_gaussian(codes, n, generator):
    """n draws from N(mean, covariance) of the codes."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('gaussian_prior_build')")


# %% tags=["nbval-ignore-output"]
from genlearn.models import AE  # noqa: E402
from genlearn.models.ae import ae_loss  # noqa: E402
from genlearn.sample_quality import digit_frechet_distance  # noqa: E402
from genlearn.train import fit  # noqa: E402

with demo("gaussian_prior_build"):  # until your code above runs: one line, and Run All goes on
    digits = load_digits("train").x
    torch.manual_seed(0)
    ae = AE((1, 8, 8), 4, hidden=(128,))
    fit(ae, ae_loss, digits, 30, seed=0, progress=False)
    with torch.no_grad():
        fitted = ae.decode_mean(sample_fitted_gaussian(ae.encode(digits), 1000, torch.Generator().manual_seed(0)))
        standard = ae.decode_mean(torch.randn(1000, 4))
    print(f"Frechet distance: fitted Gaussian {digit_frechet_distance(fitted):.1f}, "
          f"N(0, I) {digit_frechet_distance(standard):.1f}")

# %%
check("gaussian_prior_build", sample_fitted_gaussian)

# %% [markdown]
# ## Exercise 5 (predict, then measure): whose bound is lowest?
#
# On the binarised test digits, compare two codelengths in bits per dimension:
# a VAE's negative ELBO (an upper bound on its codelength) and the
# independent-pixels baseline (every pixel stored by its own frequency). Which is
# lower? Return `"vae"`, `"independent pixels"` or `"equal"` - then measure.

# %%
def predict_lowest_bits():
    """Your prediction: "vae", "independent pixels" or "equal"."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('predict_lowest_bits')")


# %%
from genlearn.checks.evaluation import bits_per_dim_vae_vs_pixels  # noqa: E402

bits_per_dim_vae_vs_pixels()

# %%
check("predict_lowest_bits", predict_lowest_bits)

# %% [markdown]
# ## Exercise 6: the paired verdict behind every comparison
#
# Every comparison of the course is a verdict over seeds (`genlearn.verdict.compare`). Write it:
# given per-seed scores `a` and `b` (lists, the same seeds in the same order), the claim "a is
# `better` than b" (`better` is `"lower"` or `"higher"`) and `alpha`, return
# `(verdict, low, high)`: the two-sided $1 - \alpha$ Student-t interval of the mean paired
# difference $a_s - b_s$, and `"HOLDS"`, `"DOES NOT"` or `"INCONCLUSIVE"` as the interval lies on
# the claimed side of 0, on the other side, or across it.

# %%
def paired_verdict(a, b, better="lower", alpha=0.05):
    """(verdict, low, high) for the claim "a is `better` than b", from scores paired by seed."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('paired_verdict')")
# %%
check("paired_verdict", paired_verdict)

# %% [markdown]
# ## Exercise 7: compare two models fairly
#
# `run(name, seed)` trains model `name` with `seed` (its initialisation, data order and noise)
# and returns its test scores, a dict. Compare models `a` and `b` fairly on the score `key`: the
# same budget is `run`'s business; yours is the same seeds for both, paired seed by seed. Return
# what the `paired_verdict` passed in (the course's own, so this exercise does not depend on the
# last one) says of the claim "a is `better` than b".

# %%
def compare_models(run, a, b, seeds, key, better, paired_verdict):
    """(verdict, low, high) for "a is `better` than b on `key`", both models run on every seed."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('compare_models')")
# %%
check("compare_models", compare_models)

