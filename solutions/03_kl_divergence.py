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
# # Exercises 03 - KL divergence
#
# Four functions, each followed by a check cell that prints `PASS`, `TODO` or
# `FAIL` with a hint. From a terminal: `genlearn check exercises/03_kl_divergence.ipynb`.
# Use torch operations so that your functions work elementwise and keep gradients.
#
# Stuck? `hint("kl_discrete")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/03_kl_divergence.ipynb kl_discrete --hint`.

# %%
import math

import torch

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: KL between discrete distributions
#
# `p` and `q` are 1-D tensors of probabilities (each sums to 1). Return
# $\sum_i p_i \log(p_i/q_i)$. Outcomes with $p_i = 0$ contribute 0, even though
# `0 * log(0)` is `nan` in floating point.

# %%
def kl_discrete(p, q):
    """KL(p || q) for two probability vectors."""
    # BEGIN SOLUTION
    return torch.where(p > 0, p * torch.log(p / q), torch.zeros_like(p)).sum()
    # END SOLUTION
# %%
check("kl_discrete", kl_discrete)

# %% [markdown]
# ## Exercise 2: the closed form against the standard normal
#
# Return $KL(N(\mu, \sigma^2)\,\|\,N(0,1)) = \log\frac1\sigma + \frac{\sigma^2 + \mu^2}{2} - \frac12$
# elementwise for tensors `mu` and `sigma` of the same shape.

# %%
def kl_closed_form(mu, sigma):
    """Elementwise KL(N(mu, sigma^2) || N(0, 1))."""
    # BEGIN SOLUTION
    return -torch.log(sigma) + (sigma**2 + mu**2) / 2 - 0.5
    # END SOLUTION
# %%
check("kl_closed_form", kl_closed_form)

# %% [markdown]
# ## Exercise 3: the VAE's log-variance form
#
# An encoder outputs `mu` and `logvar` $= s = \log\sigma^2$, both of shape
# `(batch, latent_dim)`. Return one KL per example (shape `(batch,)`):
# $\frac12\sum_j (e^{s_j} - (1 + s_j) + \mu_j^2)$.

# %%
def kl_logvar(mu, logvar):
    """KL(N(mu, exp(logvar)) || N(0, I)) summed over the last dimension."""
    # BEGIN SOLUTION
    return 0.5 * (logvar.exp() - (1 + logvar) + mu**2).sum(dim=-1)
    # END SOLUTION
# %%
check("kl_logvar", kl_logvar)

# %% [markdown]
# ## Exercise 4: KL by Monte Carlo
#
# Estimate $KL(N(\mu,\sigma^2)\,\|\,N(0,1)) = \mathbb{E}_{x\sim p}[\log p(x) - \log q(x)]$
# from `n` draws $x = \mu + \sigma\varepsilon$, $\varepsilon \sim N(0,1)$, made
# with `torch.randn(n, generator=generator, dtype=torch.float64)`. `mu` and
# `sigma` are floats. Return `(estimate, standard_error)`.

# %%
def kl_mc_normal(mu, sigma, n, generator):
    """Monte Carlo estimate of KL(N(mu, sigma^2) || N(0, 1)) and its standard error."""
    # BEGIN SOLUTION
    x = mu + sigma * torch.randn(n, generator=generator, dtype=torch.float64)
    log_p = -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)
    log_q = -0.5 * x**2 - 0.5 * math.log(2 * math.pi)
    ratio = log_p - log_q
    return ratio.mean(), ratio.std() / math.sqrt(n)
    # END SOLUTION
# %%
check("kl_mc_normal", kl_mc_normal)

# %% [markdown]
# ## Putting it together
#
# Your closed form and your Monte Carlo estimate agree, as in the lesson:

# %%
with demo("kl_mc_normal, kl_closed_form"):  # until your code above runs: one line, and Run All goes on
    est, se = kl_mc_normal(1.0, 0.5, 50_000, torch.Generator().manual_seed(0))
    exact = kl_closed_form(torch.tensor(1.0, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64))
    print(f"closed form {float(exact):.4f}; Monte Carlo {float(est):.4f} +- {float(se):.4f}")
