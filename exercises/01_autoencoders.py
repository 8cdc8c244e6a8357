# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercises 01 - Autoencoders
#
# Four functions, each followed by a check cell that prints `PASS`, `TODO` or
# `FAIL` with a hint. From a terminal: `genlearn check exercises/01_autoencoders.ipynb`.

# %%
import torch

from genlearn.checks import check

# %% [markdown]
# ## Exercise 1: reconstruction error in the course's units
#
# The course reports every loss *per example*: sum the squared error over all
# pixels of an image, then average over the batch. `x` and `x_hat` have the same
# shape `(batch, ...)`; if they do not, raise a `ValueError` that names both
# shapes instead of letting broadcasting produce a wrong number.

# %%
def reconstruction_error(x, x_hat):
    """Mean over the batch of the per-example sum of squared errors."""
    raise NotImplementedError('Your turn: replace this line with your code. Hint: check x.shape == x_hat.shape; then ((x - x_hat) ** 2).flatten(1).sum(1).mean()')


# %%
check("reconstruction_error", reconstruction_error)

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
    raise NotImplementedError('Your turn: replace this line with your code. Hint: mean = x.mean(0); _, _, vt = torch.linalg.svd(x - mean, full_matrices=False); use vt[:k]')


# %%
check("pca_reconstruct", pca_reconstruct)

# %% [markdown]
# ## Exercise 3: a straight line between two codes
#
# Return a tensor of shape `(steps, d)` whose rows go from `z0` to `z1` in equal
# steps, both ends included.

# %%
def interpolate(z0, z1, steps):
    """steps points on the segment from z0 to z1."""
    raise NotImplementedError('Your turn: replace this line with your code. Hint: t = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]; (1 - t) * z0 + t * z1')


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
    raise NotImplementedError('Your turn: replace this line with your code. Hint: loop over c in range(num_classes) and use codes[labels == c].mean(0), or index_add_ and counts')


# %%
check("class_centroids", class_centroids)
