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
# # Exercises 01 - Autoencoders
#
# Four functions, each followed by a check cell that prints `PASS`, `TODO` or
# `FAIL` with a hint. From a terminal: `genlearn check exercises/01_autoencoders.ipynb`.
#
# Stuck? `hint("squared_error")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/01_autoencoders.ipynb squared_error --hint`.

# %%
import torch

from genlearn.checks import check, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: squared reconstruction error in the course's units
#
# The course reports every loss *per example*: the squared error summed over all
# pixels of an image (the batch mean is then one `.mean()` away). `x_hat` and
# `x` have the same shape `(N, ...)`; if they do not, raise a `ValueError` that
# names both shapes instead of letting broadcasting produce a wrong number.
# Return one value per example, shape `(N,)`. (The library's
# `squared_error(x_hat, x)` has this signature.)

# %%
def squared_error(x_hat, x):
    """Per-example sum of squared errors, shape (N,)."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('squared_error')")
# %%
check("squared_error", squared_error)

# %% [markdown]
# ## Exercise 2: PCA, the best linear autoencoder
#
# `x` has shape `(n, d)`. Centre it by its mean, take the top-`k` right-singular
# vectors $V_k$ (shape `(k, d)`) of the centred data, and return the
# reconstruction $(x - \bar x) V_k^\top V_k + \bar x$. A linear autoencoder with
# a `k`-dimensional code can do no better than this.

# %%
def pca_reconstruct(x, k):
    """Reconstruct x from its projection on the top-k principal components."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('pca_reconstruct')")
# %%
check("pca_reconstruct", pca_reconstruct)

# %% [markdown]
# ## Exercise 3: two paths between two codes
#
# Return a tensor of shape `(steps, d)` whose rows go from `z0` to `z1` in equal
# steps of $t \in [0, 1]$, both ends included, along one of two paths:
#
# * `method="linear"` (the default): the straight line $(1 - t)\,z_0 + t\,z_1$;
# * `method="slerp"`: the arc of the great circle,
#   $\frac{\sin((1-t)\,\omega)}{\sin\omega}\,z_0 + \frac{\sin(t\,\omega)}{\sin\omega}\,z_1$,
#   where $\omega$ is the angle between $z_0$ and $z_1$. Unlike the line, it does not pass
#   close to the origin, where a Gaussian prior puts few codes in many dimensions.
#
# Any other `method` is a `ValueError`. (The library's `interpolate`, used in the
# lesson, has this signature.)

# %%
def interpolate(z0, z1, steps, method="linear"):
    """steps codes from z0 (t = 0) to z1 (t = 1) along a line or a great circle."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('interpolate')")
# %%
check("interpolate", interpolate)

# %% [markdown]
# ## Exercise 4: where does each class live in latent space?
#
# Given codes `(n, d)` and integer labels `(n,)`, return the mean code of each
# class as a `(num_classes, d)` tensor. A class without examples has no mean:
# fill its row with `nan`. (Lesson 04 uses class means for latent arithmetic.)

# %%
def class_centroids(codes, labels, num_classes):
    """Mean code of each class; NaN rows for classes without examples."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('class_centroids')")
# %%
check("class_centroids", class_centroids)
