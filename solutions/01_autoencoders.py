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
    ### BEGIN SOLUTION (hint: check x.shape == x_hat.shape; then ((x - x_hat) ** 2).flatten(1).sum(1).mean())
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    return ((x - x_hat) ** 2).flatten(1).sum(1).mean()
    ### END SOLUTION


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
    ### BEGIN SOLUTION (hint: mean = x.mean(0); _, _, vt = torch.linalg.svd(x - mean, full_matrices=False); use vt[:k])
    mean = x.mean(0)
    _, _, vt = torch.linalg.svd(x - mean, full_matrices=False)
    v = vt[:k]
    return (x - mean) @ v.T @ v + mean
    ### END SOLUTION


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
    ### BEGIN SOLUTION (hint: t = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]; (1 - t) * z0 + t * z1)
    t = torch.linspace(0, 1, steps, dtype=z0.dtype)[:, None]
    return (1 - t) * z0 + t * z1
    ### END SOLUTION


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
    ### BEGIN SOLUTION (hint: loop over c in range(num_classes) and use codes[labels == c].mean(0), or index_add_ and counts)
    out = torch.full((num_classes, codes.shape[1]), float("nan"), dtype=codes.dtype)
    for c in range(num_classes):
        members = codes[labels == c]
        if len(members):
            out[c] = members.mean(0)
    return out
    ### END SOLUTION


# %%
check("class_centroids", class_centroids)
