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

# %% [markdown] slideshow={"slide_type": "slide"}
# # Lesson 02 - Expectation: numeric versus sampled
#
# A [variational autoencoder](glossary.md#vae) is trained on an
# *[expectation](glossary.md#expectation)*: the average [reconstruction](glossary.md#reconstruction)
# quality over the codes the [encoder](glossary.md#encoder) might produce. Before we build one,
# we need to be sure what an expectation is and how a computer can evaluate it.
# There are two families of methods:
#
# * **numeric** ([quadrature](glossary.md#quadrature)): evaluate the density on chosen points and weight
#   each point by how much of the line it stands for;
# * **sampled** ([Monte Carlo](glossary.md#monte-carlo)): draw points *from* the density and average.
#
# By the end of this lesson you will have measured how fast each one converges,
# seen why sampling wins in many dimensions (and therefore why VAEs sample), and
# met [importance sampling](glossary.md#importance-sampling), which returns in lesson 04 as the
# [IWAE](glossary.md#iwae) bound.
#
# Everything numeric here is computed by `genlearn.expectation`; the notebook
# asserts every claim it makes, so if a claim stopped being true the lesson
# would fail its tests.

# %% tags=["hide-cell"] slideshow={"slide_type": "skip"}
import math

import matplotlib.pyplot as plt
import torch

from genlearn import expectation, seed_everything
from genlearn.scale import base_seed
from genlearn.viz import plot_error_vs_n
from genlearn.widgets import expectation_explorer

SEED = base_seed()  # GENLEARN_SEED, default 0
seed_everything(SEED)
torch.set_default_dtype(torch.float64)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. The definition
#
# For a random variable $x$ with density $p(x)$, the expectation of a function
# $f$ is
#
# $$\mathbb{E}_{p}[f(x)] = \int f(x)\,p(x)\,dx .$$
#
# With $f(x) = x$ this is the mean. Our running example is the triangular
# density on $[0, 1]$, $p(x) = 2x$ (the Beta(2, 1) distribution), whose mean is
# exactly $\int_0^1 2x^2\,dx = 2/3$. It lives on a bounded interval, which
# makes it a fair test for grid methods.

# %%
def beta_pdf(x):
    """Triangular (Beta(2, 1)) density p(x) = 2x on [0, 1], zero outside."""
    inside = (x >= 0) & (x <= 1)
    return torch.where(inside, 2 * x, torch.zeros_like(x))


def beta_sample(n, generator=None):
    """Draws from p(x) = 2x: the larger of two uniforms has exactly this law."""
    return torch.rand(n, 2, generator=generator).max(dim=1).values


identity = lambda x: x  # noqa: E731
EXACT = 2 / 3

x = torch.linspace(0, 1, 400)
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(x, beta_pdf(x))
ax.axvline(EXACT, color="C3", ls="--", label="mean 2/3")
ax.set_xlabel("x"); ax.set_ylabel("p(x)"); ax.legend(); ax.set_title("p(x) = 2x")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Numeric: weight each point by its share of the line
#
# Choose ordered points $x_0 < x_1 < \dots < x_n$. Each interval
# $[x_{i-1}, x_i]$ has width $\Delta_i = x_i - x_{i-1}$, and the integral is
# approximately the sum of "height times width":
#
# $$\text{Riemann:}\quad \mathbb{E}[f] \approx \sum_{i=1}^{n} f(x_i)\,p(x_i)\,\Delta_i,
# \qquad
# \text{trapezoid:}\quad \mathbb{E}[f] \approx \sum_{i=1}^{n} \frac{g(x_{i-1}) + g(x_i)}{2}\,\Delta_i,
# \quad g = f\,p .$$
#
# ### Checking a formula you were given
#
# A popular write-up on VAEs prints the numeric rule with the weight
# $\frac{x_i - x_{i-1}}{x_n - x_0}$, i.e. the spacing divided by the width of
# the whole grid. Do not take a formula on trust: compute it.

# %%
for width in (1.0, 3.0, 10.0):
    grid = torch.linspace(0.0, width, int(2000 * width) + 1)  # spacing 1/2000, covers [0, 1]
    printed = expectation.range_normalised_sum(identity, beta_pdf, grid)
    right = expectation.riemann(identity, beta_pdf, grid)
    print(f"grid [0, {width:4.1f}]: printed weight -> {float(printed):.5f}, "
          f"Riemann -> {float(right):.5f}, ratio {float(right / printed):.3f}")
    assert torch.isclose(right / printed, torch.tensor(width))
    assert abs(right - EXACT) < 2e-3  # a Riemann sum with 2000 intervals

# %% [markdown]
# The printed weight gives the right answer only when the grid happens to have
# width one (as on $[0, 1]$ here); on $[0, 10]$ it is ten times too small. The
# extra factor $1/(x_n - x_0)$ is what the weights would need if $p$ were left
# out and the points were spread uniformly; with $p(x_i)$ present, the weight
# must be the plain spacing $\Delta_i$.
#
# A second correct variant divides by the same rule applied to $p$ alone,
# $\sum_i f(x_i)p(x_i)\Delta_i \big/ \sum_i p(x_i)\Delta_i$. This
# **self-normalised** form works even when $p$ is known only up to a constant,
# which is the usual situation in Bayesian inference.

# %%
grid = torch.linspace(0.0, 1.0, 1001)
unnormalised = lambda x: 7.5 * beta_pdf(x)  # noqa: E731  (a density times an unknown constant)
plain = expectation.trapezoid(identity, unnormalised, grid)
selfnorm = expectation.trapezoid(identity, unnormalised, grid, normalise=True)
print(f"plain rule with an unnormalised p: {float(plain):.4f}; self-normalised: {float(selfnorm):.6f}; exact {EXACT:.6f}")
assert abs(selfnorm - EXACT) < 1e-5 and abs(plain - EXACT) > 1

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Sampled: let the points carry the density
#
# If we can *draw* $x_i \sim p(x)$, then
#
# $$\mathbb{E}_{p}[f(x)] \approx \frac{1}{n}\sum_{i=1}^{n} f(x_i), \qquad x_i \sim p(x).$$
#
# There is no $p(x_i)$ in this sum. Likely values are drawn more often, so the
# density is already "inside" the sample: multiplying by $p(x_i)$ again would
# count it twice. The price is randomness: the answer changes with the draws, so
# it comes with a **[standard error](glossary.md#standard-error)** $s/\sqrt{n}$, where $s$ is the standard
# deviation of the $f(x_i)$.

# %%
gen = torch.Generator().manual_seed(0)
draws = beta_sample(5000, gen)
est = expectation.monte_carlo(identity, lambda n: draws[:n], 5000)
double_counted = expectation.monte_carlo(lambda x: x * beta_pdf(x), lambda n: draws[:n], 5000)
print(f"Monte Carlo: {float(est.value):.4f} +- {float(est.stderr):.4f} (exact {EXACT:.4f})")
print(f"multiplying by p(x_i) as well: {float(double_counted.value):.4f}  <- wrong")
assert abs(est.value - EXACT) < 4 * est.stderr
assert abs(double_counted.value - EXACT) > 20 * double_counted.stderr

fig, ax = plt.subplots(figsize=(6, 3))
ax.hist(draws, bins=50, density=True, alpha=0.5, label="histogram of 5000 draws")
ax.plot(x, beta_pdf(x), label="p(x)")
ax.set_xlabel("x"); ax.legend(); ax.set_title("The draws already follow p")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. How fast does each method converge?
#
# We measure the absolute error against the number of points $n$ and fit the
# slope of $\log(\text{error})$ against $\log n$. For Monte Carlo we average
# the error over 400 independent repetitions, because a single run is itself
# random.

# %%
ns = [16, 32, 64, 128, 256, 512, 1024, 2048]
REPEATS = 400
errors = {"Riemann": [], "trapezoid": [], "Monte Carlo (mean |error|)": []}
gen = torch.Generator().manual_seed(1)
for n in ns:
    grid = torch.linspace(0, 1, n + 1)
    errors["Riemann"].append(abs(float(expectation.riemann(identity, beta_pdf, grid)) - EXACT))
    errors["trapezoid"].append(abs(float(expectation.trapezoid(identity, beta_pdf, grid)) - EXACT))
    mc = beta_sample(REPEATS * n, gen).reshape(REPEATS, n).mean(dim=1)
    errors["Monte Carlo (mean |error|)"].append(float((mc - EXACT).abs().mean()))

slopes = {name: expectation.loglog_slope(ns, err) for name, err in errors.items()}
for name, slope in slopes.items():
    print(f"{name:28s} slope {slope:+.3f}")
plot_error_vs_n(ns, errors, reference={"n^(-1/2)": -0.5})

# %% [markdown]
# The measured slopes say:
#
# * Monte Carlo error shrinks like $n^{-1/2}$: to gain one decimal digit you
#   need **100 times** more samples;
# * the trapezoid rule on this smooth integrand falls like $n^{-2}$, and the
#   right Riemann sum like $n^{-1}$.
#
# In one dimension, grids win by a mile.

# %%
assert abs(slopes["Monte Carlo (mean |error|)"] + 0.5) < 0.1
assert slopes["trapezoid"] < -1.8
assert -1.2 < slopes["Riemann"] < -0.8
assert errors["trapezoid"][-1] < 1e-5 < errors["Monte Carlo (mean |error|)"][-1]

# %% [markdown]
# The standard error that `monte_carlo` reports predicts this without knowing
# the answer: fitted against $n$, it too has slope $-1/2$.

# %%
stderrs = [float(expectation.monte_carlo(identity, lambda k: beta_sample(k, gen), n).stderr) for n in ns]
se_slope = expectation.loglog_slope(ns, stderrs)
print(f"slope of the reported standard error: {se_slope:+.3f}")
assert abs(se_slope + 0.5) < 0.1

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Gauss-Hermite: a grid designed for the normal distribution
#
# For $x \sim N(\mu, \sigma^2)$ there is an even better grid. The $n$-point
# Gauss-Hermite rule picks nodes $t_k$ and weights $w_k$ so that
#
# $$\mathbb{E}[f(x)] \approx \frac{1}{\sqrt{\pi}} \sum_{k=1}^{n} w_k\, f(\mu + \sqrt{2}\,\sigma\, t_k)$$
#
# is **exact** for every polynomial of degree up to $2n - 1$. With three nodes
# it already gets $\mathbb{E}[x^4] = 3\sigma^4$ (for $\mu = 0$) right.

# %%
for degree, exact in [(2, 2.0**2), (4, 3 * 2.0**4), (6, 15 * 2.0**6)]:
    value = expectation.gauss_hermite(lambda x, k=degree: x**k, mu=0.0, sigma=2.0, n=3)
    print(f"E[x^{degree}] with 3 nodes: {float(value):10.4f}   exact {exact:10.4f}")
assert abs(expectation.gauss_hermite(lambda x: x**4, 0.0, 2.0, n=3) - 48.0) < 1e-10
assert abs(expectation.gauss_hermite(lambda x: x**6, 0.0, 2.0, n=3) - 960.0) > 1  # degree 6 > 2*3 - 1

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Many dimensions: why VAEs sample
#
# A VAE's [latent code](glossary.md#latent-code) has $d$ dimensions, often dozens. A grid with $m$ points
# per axis has $m^d$ points. Give both methods the **same budget** of 4096
# function evaluations and estimate $\mathbb{E}[\lVert x\rVert^2 / d] = 1$ for
# $x \sim N(0, I_d)$: the grid gets $m = 4096^{1/d}$ points per axis, Monte
# Carlo simply takes 4096 draws.

# %%
BUDGET = 4096
dims = [1, 2, 3, 4, 6, 12]
grid_err, mc_err = [], []
gen = torch.Generator().manual_seed(2)
for d in dims:
    m = round(BUDGET ** (1 / d))
    assert m**d == BUDGET
    f = lambda z, d=d: (z**2).sum(dim=1) / d  # noqa: E731
    pdf = lambda z: torch.exp(-0.5 * (z**2).sum(dim=1)) / (2 * math.pi) ** (z.shape[1] / 2)  # noqa: E731
    grid_value = expectation.product_midpoint(f, pdf, -5.0, 5.0, m, d)
    # average |error| of Monte Carlo over 200 repetitions
    reps = torch.stack([f(torch.randn(BUDGET, d, generator=gen)).mean() for _ in range(200)])
    grid_err.append(abs(float(grid_value) - 1.0))
    mc_err.append(float((reps - 1.0).abs().mean()))
    print(f"d = {d:2d}: grid {m:4d} points/axis, |error| {grid_err[-1]:.2e}   "
          f"Monte Carlo |error| {mc_err[-1]:.2e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(dims, grid_err, "o-", label="midpoint grid, 4096 points")
ax.semilogy(dims, mc_err, "s-", label="Monte Carlo, 4096 draws")
ax.set_xlabel("dimension d"); ax.set_ylabel("|error|"); ax.legend()
ax.set_title("Same budget, growing dimension")

# %% [markdown]
# In one dimension the grid is more than a hundred times more accurate than
# Monte Carlo. By $d = 6$ it has only four points per axis and is several times
# *worse*, and at $d = 12$, with two points per axis, it misses by the whole
# answer. The Monte Carlo error has not grown at all (it even shrinks, because
# this $f$ averages $d$ independent terms). Sampling does not care how many
# dimensions there are; grids pay $m^d$. That is why the expectation inside a
# VAE's loss is estimated by sampling the code.

# %%
assert 100 * grid_err[0] < mc_err[0]            # d = 1: the grid wins by > 100x
assert grid_err[dims.index(6)] > 3 * mc_err[dims.index(6)]  # d = 6: the grid loses
assert grid_err[-1] > 0.5 > 20 * mc_err[-1]     # d = 12: the grid misses by > 50 %
assert max(mc_err) <= mc_err[0]                 # sampling error does not grow with d

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Importance sampling: sampling from the wrong distribution on purpose
#
# Sometimes the draws we can make, or the ones that are informative, come from
# another density $q$. Since
# $\mathbb{E}_p[f] = \int f\,\frac{p}{q}\,q\,dx = \mathbb{E}_q\!\left[f\,\frac{p}{q}\right]$,
#
# $$\mathbb{E}_p[f(x)] \approx \frac1n\sum_{i=1}^n f(x_i)\,\frac{p(x_i)}{q(x_i)}, \qquad x_i\sim q .$$
#
# A classic use is a rare event: the probability that $x > 4$ for
# $x \sim N(0, 1)$ is about $3.2\times10^{-5}$. Plain Monte Carlo with 10,000
# draws expects to see the event 0.3 times, so it usually answers 0; drawing
# from $q = N(4.5, 1)$, which lives where the event happens, and reweighting,
# nails it.

# %%
from genlearn.kl import normal_logpdf  # noqa: E402

tail = lambda x: (x > 4).to(x.dtype)  # noqa: E731
exact_tail = 0.5 * math.erfc(4 / math.sqrt(2))
gen = torch.Generator().manual_seed(3)
n = 10_000
plain = expectation.monte_carlo(tail, lambda k: torch.randn(k, generator=gen), n)
weighted = expectation.importance_sampling(
    tail, normal_logpdf(0, 1), normal_logpdf(4.5, 1), lambda k: 4.5 + torch.randn(k, generator=gen), n
)
print(f"exact P(x > 4)     = {exact_tail:.3e}")
print(f"plain Monte Carlo  = {float(plain.value):.3e} +- {float(plain.stderr):.1e}")
print(f"importance sampled = {float(weighted.value):.3e} +- {float(weighted.stderr):.1e}")
plain_se_theory = math.sqrt(exact_tail * (1 - exact_tail) / n)
print(f"standard error: plain MC {plain_se_theory:.1e} (theory) vs importance sampling "
      f"{float(weighted.stderr):.1e}, {plain_se_theory / float(weighted.stderr):.0f}x smaller")
assert abs(weighted.value - exact_tail) < 0.05 * exact_tail
assert weighted.stderr < 0.05 * exact_tail
assert plain_se_theory > 50 * weighted.stderr

# %% [markdown]
# The importance-sampled answer is within a few percent, with a standard error
# more than fifty times smaller than plain Monte Carlo's at the same $n$. In lesson 04
# the same idea, with the VAE's encoder as $q$, turns the [ELBO](glossary.md#elbo) into the tighter
# importance-weighted (IWAE) bound on $\log p(x)$.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Try it yourself
#
# Pick a method, a number of points and a distribution, and answer two questions; the cells after
# the widget compute the answers.
#
# 1. With the exponential density, set the trapezoid rule and then the Riemann sum, and double $n$
#    from 50 to 400. By how much does the error shrink at each doubling? (The exponential density
#    jumps at 0, but the grid starts exactly there, so the jump sits at its edge.)
# 2. With Monte Carlo, how many samples do you need for three correct digits of $\mathbb{E}[x] = 1$
#    (a standard error of 0.0005)?

# %% tags=["nbval-ignore-output"]
explorer = expectation_explorer()
explorer

# %% [markdown]
# The widget calls `genlearn.widgets.expectation.estimate_expectation`, which
# you can also call directly:

# %%
from genlearn.widgets.expectation import estimate_expectation  # noqa: E402

view = estimate_expectation("trapezoid", 400, "exponential (rate 1)")
print(f"trapezoid, exponential, n=400: |error| = {view.error:.2e}")
assert view.error < 1e-2

ns = [50, 100, 200, 400]
for method in ("trapezoid", "riemann"):
    errors = [estimate_expectation(method, n, "exponential (rate 1)").error for n in ns]
    slope = expectation.loglog_slope(ns, errors)
    print(f"{method:9s}: errors {[f'{e:.1e}' for e in errors]}, each doubling divides by "
          f"{errors[0] / errors[1]:.2f}; slope {slope:.2f}")
    assert abs(slope + 2) < 0.15  # both converge like n^-2 here: the jump at 0 is at the grid's edge

# %% [markdown]
# Answer 1: both rules divide the error by about 4 at each doubling ($n^{-2}$): with the jump on the
# grid's edge it does no harm. (A jump *inside* the grid would cost the trapezoid rule its second order.)
# Answer 2: the standard error is $\sigma/\sqrt n$ with $\sigma = 1$ for this density, so
# $n = (1 / 0.0005)^2 = 4{,}000{,}000$ samples - measured below with the library's estimator:

# %%
n_needed = math.ceil((1.0 / 0.0005) ** 2)
check = estimate_expectation("monte carlo", n_needed, "exponential (rate 1)", seed=SEED)
print(f"n = {n_needed:,}: estimate {check.estimate:.5f}, standard error {check.stderr:.6f}")
assert abs(check.stderr - 0.0005) < 0.00002

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# | | numeric (quadrature) | sampled (Monte Carlo) |
# |---|---|---|
# | needs | $p(x)$ evaluated on a grid | draws $x_i \sim p$ |
# | weight of a point | $p(x_i)\,\Delta_i$ | $1/n$ (the density is in the draws) |
# | error in 1-D (measured above) | $n^{-2}$ (trapezoid) | $n^{-1/2}$ |
# | cost in $d$ dimensions | $m^d$ points | unchanged |
#
# Exercises: `exercises/02_expectation.ipynb` (check your answers in the
# notebook, or run `genlearn check exercises/02_expectation.ipynb`).
