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

from genlearn.checks import check, hint  # noqa: F401 - hint("id") is there when you are stuck

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

x = load_digits("test").x.double()
blurred = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
print(f"sharpness: real {image_sharpness(x).mean():.3f}, blurred {image_sharpness(blurred).mean():.3f}")
print(f"a VAE at 0.44 nats per pixel... {bits_per_dim(0.44 * 64, 64):.3f} bits per pixel")
