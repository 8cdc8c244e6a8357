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

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

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

# %% [markdown]
# ## Exercise 6: the discretized logistic, a likelihood of grey levels
#
# Lesson 04's decoder models each pixel's grey level with a
# [discretized logistic](../lessons/glossary.md#discretized-logistic): mean $m = \mathrm{sigmoid}(u)$,
# scale $s = e^{\text{log\_scale}}$, and $P(x) = F(x + h) - F(x - h)$ with $F$ the logistic CDF and
# $h$ half a grey level, the end bins $x = 0$ and $x = 1$ taking the tails. Given decoder outputs
# `u` and `log_scale` and images `x` of the same shape `(batch, pixels)` whose values are the
# `levels` grey levels $0, \frac{1}{L-1}, \dots, 1$, return $-\log p(x|z)$ per example, shape `(batch,)`.

# %%
def discretized_logistic_nll(u, log_scale, x, levels):
    """-log P(x) summed over the pixels of each example; P the logistic mass of each pixel's bin."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('discretized_logistic_nll')")
# %%
check("discretized_logistic_nll", discretized_logistic_nll)

# %% [markdown]
# ## Exercise 7 (build and train): a VAE of your own
#
# Put the pieces together into a model. Write a class `TinyVAE(n_pixels, n_latent)`
# (a `torch.nn.Module`) with this interface, for flat binary images `x` of shape
# `(batch, n_pixels)`:
#
# - `encode(x)` returns `(mu, logvar)`, each `(batch, n_latent)`;
# - `reparameterize(mu, logvar)` returns a draw of `z` that gradients flow through;
# - `decode(z)` returns the Bernoulli decoder's logits, `(batch, n_pixels)`;
# - `loss(x)` returns the negative ELBO, in nats per example (a single-number tensor).
#
# The check builds your class, trains it with Adam (learning rate 1e-3, batches of
# 100, 60 epochs or 40 s, whichever comes first) on 1,200 binarised 8x8 digits it
# picks itself, then measures the test ELBO from your `encode` and `decode`, and
# compares your `loss(x)` with it. Target: test -ELBO at most 23 nats. The cell
# below the class trains it once here, so you can watch the loss fall.

# %%
class TinyVAE(torch.nn.Module):
    """A one-hidden-layer MLP VAE with a Bernoulli decoder and a N(0, I) prior."""

    def __init__(self, n_pixels, n_latent, n_hidden=128):
        super().__init__()
        raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('vae_build_train')")

    def encode(self, x):
        raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('vae_build_train')")

    def reparameterize(self, mu, logvar):
        raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('vae_build_train')")

    def decode(self, z):
        raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('vae_build_train')")

    def loss(self, x):
        raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('vae_build_train')")


# %% tags=["nbval-ignore-output"]
from genlearn.data import load_digits  # noqa: E402

with demo("vae_build_train"):  # until your code above runs: one line, and Run All goes on
    digits = load_digits("train", binarize=True).x.flatten(1)
    torch.manual_seed(0)
    my_vae = TinyVAE(64, 8)
    optimizer = torch.optim.Adam(my_vae.parameters(), lr=1e-3)
    for epoch in range(30):
        for batch in digits[torch.randperm(len(digits))].split(100):
            loss = my_vae.loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 10 == 9:
            print(f"epoch {epoch + 1}: -ELBO {loss.item():.1f} nats")

# %%
check("vae_build_train", TinyVAE)

# %% [markdown]
# ## Exercise 8 (predict, then measure): what does beta do to the KL?
#
# The $\beta$-VAE minimises $\mathbb{E}_q[-\log p(x|z)] + \beta\,KL(q(z|x)\,\|\,p(z))$.
# Train the same VAE twice on the same data, with $\beta = 1$ and $\beta = 2$. How
# does the KL term of the trained model (measured on the test images) change when
# $\beta$ doubles? Write your prediction *before* running the experiment below:
# return `"increases"`, `"decreases"` or `"stays the same"`.

# %%
def predict_kl_when_beta_doubles():
    """Your prediction: "increases", "decreases" or "stays the same"."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('predict_kl_beta')")


# %% [markdown]
# Now measure: `kl_versus_beta` trains one VAE per $\beta$ (same seed, same data)
# and returns the test KL in nats. The check runs the same experiment and tells
# you what it measured.

# %%
from genlearn.checks.vae import kl_versus_beta  # noqa: E402

kl_versus_beta(betas=(1.0, 2.0))

# %%
check("predict_kl_beta", predict_kl_when_beta_doubles)
