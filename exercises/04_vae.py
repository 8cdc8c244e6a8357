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
# # Exercises 04 - The variational autoencoder
#
# Five functions that together make a VAE's loss and its best likelihood
# bound. Each is followed by a check cell that prints `PASS`, `TODO` or `FAIL`
# with a hint. From a terminal: `genlearn check exercises/04_vae.ipynb`.
#
# Stuck? `hint("reparameterize")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/04_vae.ipynb reparameterize --hint`.

# %%
import math

import torch
import torch.nn.functional as F

from genlearn.checks import check, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: the reparameterisation trick
#
# Turn a standard-normal draw `eps` into a draw from $N(\mu, \sigma^2)$ with
# $\sigma = e^{\text{logvar}/2}$, so that gradients flow to `mu` and `logvar`.

# %%
def reparameterize(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('reparameterize')")
# %%
check("reparameterize", reparameterize)

# %% [markdown]
# ## Exercise 2: the Bernoulli decoder's negative log-likelihood
#
# For binary pixels `x` and decoder logits of the same shape `(batch, pixels)`,
# return $-\log p(x|z) = -\sum_i [x_i \log s(l_i) + (1 - x_i)\log(1 - s(l_i))]$
# per example, with $s$ the sigmoid. Make it stable for large logits.

# %%
def bernoulli_nll(x, logits):
    """Binary cross-entropy with logits, summed over the last dimension."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('bernoulli_nll')")
# %%
check("bernoulli_nll", bernoulli_nll)

# %% [markdown]
# ## Exercise 3: the negative ELBO
#
# $-\text{ELBO} = \mathbb{E}_q[-\log p(x|z)] + KL(q(z|x)\,\|\,N(0, I))$, estimated
# with the one $z$ that produced `logits`. Return the batch mean of
# (Bernoulli NLL summed over pixels + KL summed over latents): nats per example.

# %%
def negative_elbo(x, logits, mu, logvar):
    """Batch mean of reconstruction NLL + KL, in nats per example."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('negative_elbo')")
# %%
check("negative_elbo", negative_elbo)

# %% [markdown]
# ## Exercise 4: the importance-weighted bound
#
# With $K$ codes $z_k \sim q(z|x)$ and log weights
# $\log w_k = \log p(x|z_k) + \log p(z_k) - \log q(z_k|x)$ (shape `(K, batch)`),
# the IWAE bound is $\log \frac1K\sum_k w_k$. Compute it without underflow.
# (The library's `genlearn.evaluate.iwae_bound(model, x, k)` draws the codes and
# their log weights for a model, then reduces them exactly like this.)

# %%
def iwae_from_log_weights(log_weights):
    """log-mean-exp over dim 0."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('iwae_from_log_weights')")
# %%
check("iwae_from_log_weights", iwae_from_log_weights)

# %% [markdown]
# ## Exercise 5: free bits
#
# Posterior collapse drives some latents' KL to zero. *Free bits* stop
# penalising a latent once its KL (averaged over the batch) is below a floor
# `lam`: return $\sum_j \max(\lambda, \overline{KL}_j)$ for `kl_per_dim` of shape
# `(batch, latent)`.

# %%
def free_bits_kl(kl_per_dim, lam):
    """Sum over latents of max(lam, batch-mean KL of the latent)."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('free_bits_kl')")
# %%
check("free_bits_kl", free_bits_kl)
