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
# # Exercises 02 - Expectation: numeric versus sampled
#
# Four small functions, each followed by a check cell. Write your code where it
# says `raise NotImplementedError(...)`, run the cell, then run the check: it
# prints `PASS`, `TODO` (not implemented yet) or `FAIL` with a hint.
#
# You can also check the whole notebook from a terminal:
# `genlearn check exercises/02_expectation.ipynb` (add an exercise name to check
# just one). Use torch operations throughout; all inputs are float64 tensors.
#
# Stuck? `hint("trapezoid_rule")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/02_expectation.ipynb trapezoid_rule --hint`.

# %%
import math

import torch

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: the trapezoid rule
#
# Given ordered points $x_0 < \dots < x_n$ (`grid`), return
# $\sum_{i=1}^{n} \frac{g(x_{i-1}) + g(x_i)}{2}(x_i - x_{i-1})$ with
# $g(x) = f(x)\,p(x)$. `f` and `pdf` take a tensor of points and return a tensor
# of the same shape. The grid need not be evenly spaced.

# %%
def trapezoid_rule(f, pdf, grid):
    """Trapezoid estimate of E_p[f(x)] on the points `grid`."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('trapezoid_rule')")
# %%
check("trapezoid_rule", trapezoid_rule)

# %% [markdown]
# ## Exercise 2: Monte Carlo with a standard error
#
# `sample(n)` returns `n` draws from $p$. Return the pair
# `(estimate, standard_error)`: the mean of $f(x_i)$ and $s/\sqrt{n}$, with $s$
# the sample standard deviation of the $f(x_i)$. Call `sample` exactly once.

# %%
def monte_carlo_estimate(f, sample, n):
    """(mean of f(x_i), std(f(x_i)) / sqrt(n)) with x_i = sample(n)."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('monte_carlo_estimate')")
# %%
check("monte_carlo_estimate", monte_carlo_estimate)

# %% [markdown]
# ## Exercise 3: importance sampling
#
# Estimate $\mathbb{E}_p[f]$ from $n$ draws of another density $q$
# (`sample_q(n)`): average $f(x_i)\,w_i$ with $w_i = p(x_i)/q(x_i) =
# \exp(\log p(x_i) - \log q(x_i))$. Return `(estimate, standard_error)` as in
# exercise 2 (the standard error of the mean of $f(x_i) w_i$).

# %%
def importance_estimate(f, log_p, log_q, sample_q, n):
    """(estimate, standard error) of E_p[f] using n draws from q."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('importance_estimate')")
# %%
check("importance_estimate", importance_estimate)

# %% [markdown]
# ## Exercise 4: measuring a convergence rate
#
# The lesson fits the slope of $\log(\text{error})$ against $\log n$. Write that
# fit: given 1-D tensors `ns` and `errors`, return the least-squares slope
# $b$ of the line $\log(\text{error}) \approx a + b \log n$.

# %%
def loglog_slope(ns, errors):
    """Least-squares slope of log(errors) against log(ns)."""
    raise NotImplementedError("Your turn: replace this line with your code. Stuck? Ask for a hint: hint('loglog_slope')")
# %%
check("loglog_slope", loglog_slope)

# %% [markdown]
# ## Putting it together
#
# Your functions reproduce the lesson's two headline numbers: Monte Carlo error
# falls with slope about $-1/2$, the trapezoid rule's much faster.

# %%
with demo("trapezoid_rule, monte_carlo_estimate, loglog_slope"):  # until your code above runs: one line, and Run All goes on
    ns = torch.tensor([16.0, 64.0, 256.0, 1024.0, 4096.0])
    pdf = lambda x: 2 * x  # noqa: E731  (p(x) = 2x on [0, 1], mean 2/3)
    gen = torch.Generator().manual_seed(0)
    trap_err = torch.tensor([abs(float(trapezoid_rule(lambda x: x, pdf, torch.linspace(0, 1, int(n) + 1, dtype=torch.float64))) - 2 / 3) for n in ns])
    mc_se = torch.tensor([float(monte_carlo_estimate(lambda x: x, lambda k: torch.rand(k, 2, generator=gen, dtype=torch.float64).max(1).values, int(n))[1]) for n in ns])
    print(f"trapezoid slope {float(loglog_slope(ns, trap_err)):+.2f}; Monte Carlo standard-error slope {float(loglog_slope(ns, mc_se)):+.2f}")
