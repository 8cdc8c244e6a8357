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
# # Lesson 03 - KL divergence
#
# The second half of a [VAE](glossary.md#vae)'s loss is a
# [Kullback-Leibler (KL) divergence](glossary.md#kl-divergence): it measures how far the
# [encoder](glossary.md#encoder)'s distribution over codes is from the [prior](glossary.md#prior).
# This lesson defines it, shows its two key properties (never negative, not
# symmetric) with numbers, derives the closed form for normal distributions
# with a computer-algebra system, checks that formula three independent ways,
# and explains the log-variance form every VAE implementation uses.

# %% slideshow={"slide_type": "skip"}
import math

import matplotlib.pyplot as plt
import sympy as sp
import torch
from torch.distributions import Normal, kl_divergence

from genlearn import expectation, kl, seed_everything
from genlearn.scale import base_seed
from genlearn.widgets import kl_explorer, mc_spread, mc_spread_explorer

SEED = base_seed()  # GENLEARN_SEED, default 0
seed_everything(SEED)
torch.set_default_dtype(torch.float64)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Definition
#
# For two distributions $p$ and $q$ over the same outcomes,
#
# $$KL(p\,\|\,q) = \sum_x p(x)\log\frac{p(x)}{q(x)}
# \qquad\text{or}\qquad
# KL(p\,\|\,q) = \int p(x)\log\frac{p(x)}{q(x)}\,dx .$$
#
# It is the expected extra "surprise" ($\log\frac1q$ instead of $\log\frac1p$)
# when outcomes really come from $p$ but we describe them with $q$. Measured
# with the natural logarithm, its unit is the **[nat](glossary.md#nat)**.
#
# Here it is for two distributions over four outcomes, in both directions.

# %%
def kl_discrete(p, q):
    """sum_x p(x) log(p(x)/q(x)), with 0 log 0 = 0."""
    return torch.where(p > 0, p * (p / q).log(), torch.zeros_like(p)).sum(-1)


p = torch.tensor([0.10, 0.40, 0.40, 0.10])
q = torch.tensor([0.40, 0.10, 0.10, 0.40])
r = torch.tensor([0.25, 0.25, 0.25, 0.25])
print(f"KL(p||q) = {kl_discrete(p, q):.4f}   KL(q||p) = {kl_discrete(q, p):.4f}   (mirror images: equal)")
print(f"KL(p||r) = {kl_discrete(p, r):.4f}   KL(r||p) = {kl_discrete(r, p):.4f}   <- not symmetric")
print(f"KL(p||p) = {kl_discrete(p, p):.4f}")
assert kl_discrete(p, p) == 0
assert abs(kl_discrete(p, r) - kl_discrete(r, p)) > 0.01

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Never negative, zero only when $p = q$
#
# Because $\log t \le t - 1$ (with equality only at $t = 1$),
#
# $$-KL(p\,\|\,q) = \sum_x p\log\frac{q}{p} \le \sum_x p\left(\frac{q}{p} - 1\right) = \sum_x q - \sum_x p = 0 .$$
#
# Let us test it on 100,000 random pairs of distributions over five outcomes,
# and watch KL go to zero as $q$ moves towards $p$.

# %%
P = torch.distributions.Dirichlet(torch.ones(5)).sample((100_000,))
Q = torch.distributions.Dirichlet(torch.ones(5)).sample((100_000,))
values = kl_discrete(P, Q)
print(f"smallest KL over 100,000 random pairs: {values.min():.2e}; largest {values.max():.1f}")
assert (values >= 0).all()

ts = torch.linspace(0, 1, 11)
path = [float(kl_discrete(p, (1 - t) * q + t * p)) for t in ts]
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(ts, path, "o-")
ax.set_xlabel("t   (q_t = (1 - t) q + t p)"); ax.set_ylabel("KL(p || q_t)")
ax.set_title("KL shrinks to 0 exactly when q reaches p")
assert all(a > b for a, b in zip(path, path[1:])) and path[-1] == 0

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Two normal distributions: the closed form, derived
#
# For $p = N(\mu, \sigma^2)$ and $q = N(0, 1)$,
# $\log p(x) - \log q(x) = -\log\sigma - \frac{(x-\mu)^2}{2\sigma^2} + \frac{x^2}{2}$
# is a quadratic in $x$, and its average under $p$ only needs the moments
# $\mathbb{E}_p[(x-\mu)^2] = \sigma^2$ and $\mathbb{E}_p[x^2] = \mu^2 + \sigma^2$:
#
# $$KL\big(N(\mu,\sigma^2)\,\|\,N(0,1)\big) = \log\frac1\sigma + \frac{\sigma^2 + \mu^2}{2} - \frac12 .$$
#
# `kl.derive_kl_normal()` does the integral with sympy, term by term, without
# being told the answer:

# %%
derived = kl.derive_kl_normal()
mu_s, sigma_s = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
textbook = sp.log(1 / sigma_s) + (sigma_s**2 + mu_s**2) / 2 - sp.Rational(1, 2)
assert sp.simplify(derived - textbook) == 0
derived

# %% [markdown]
# The general case, $KL(N(\mu_p,\sigma_p^2)\,\|\,N(\mu_q,\sigma_q^2)) =
# \log\frac{\sigma_q}{\sigma_p} + \frac{\sigma_p^2 + (\mu_p - \mu_q)^2}{2\sigma_q^2} - \frac12$,
# comes out of the same derivation:

# %%
general = kl.derive_kl_normal(general=True)
mp, mq = sp.symbols("mu_p mu_q", real=True)
sp_, sq = sp.symbols("sigma_p sigma_q", positive=True)
assert sp.simplify(general - (sp.log(sq / sp_) + (sp_**2 + (mp - mq) ** 2) / (2 * sq**2) - sp.Rational(1, 2))) == 0
general

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Trust, but verify: the formula checked three ways
#
# A formula is only as good as its checks. For a grid of $(\mu, \sigma)$ that
# includes extreme cases ($\sigma = 10^{-3}$, $|\mu| = 10$) we compare:
#
# 1. the closed form `kl.kl_normal`;
# 2. [quadrature](glossary.md#quadrature) of $p\log(p/q)$ on a grid that covers $p$ (`kl.kl_quadrature`);
# 3. [Monte Carlo](glossary.md#monte-carlo) with 20,000 samples from $p$ (`kl.kl_monte_carlo`), which
#    comes with a [standard error](glossary.md#standard-error);
# 4. PyTorch's own `torch.distributions.kl_divergence`.

# %%
rows = []
gen = torch.Generator().manual_seed(1)
for mu in (0.0, 1.0, -10.0, 10.0):
    for sigma in (1e-3, 0.5, 1.0, 3.0):
        closed = kl.kl_normal(mu, sigma)
        grid = torch.linspace(mu - 14 * sigma, mu + 14 * sigma, 4001)
        quad = float(kl.kl_quadrature(kl.normal_logpdf(mu, sigma), kl.normal_logpdf(0, 1), grid))
        mc = kl.kl_monte_carlo(kl.normal_logpdf(mu, sigma), kl.normal_logpdf(0, 1),
                               lambda n, m=mu, s=sigma: m + s * torch.randn(n, generator=gen), 20_000)
        torch_kl = float(kl_divergence(Normal(mu, sigma), Normal(0.0, 1.0)))
        rows.append((mu, sigma, closed, quad, float(mc.value), float(mc.stderr), torch_kl))

print(f"{'mu':>6} {'sigma':>6} {'closed form':>12} {'quadrature':>12} {'Monte Carlo':>20} {'torch':>12}")
for mu, sigma, closed, quad, mc, se, tk in rows:
    print(f"{mu:6.1f} {sigma:6.3f} {closed:12.6f} {quad:12.6f} {mc:12.4f} +-{se:6.4f} {tk:12.6f}")
    assert abs(quad - closed) <= 1e-6 * max(1.0, abs(closed))
    assert abs(mc - closed) <= 4 * se + 1e-12
    assert abs(tk - closed) <= 1e-6 * max(1.0, abs(closed))

# %% [markdown]
# All three agree: quadrature to six significant digits, Monte Carlo within
# four standard errors, PyTorch to rounding. Note $\sigma = 10^{-3}$: a very
# confident $p$ is far from the broad prior (about 6.4 nats even at $\mu = 0$),
# and $|\mu| = 10$ costs $\mu^2/2 = 50$ nats.

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Asymmetry for normals
#
# Swapping the arguments changes the value. With $p = N(0, \sigma^2)$ and
# $q = N(0, 1)$, a narrow $p$ inside a broad $q$ is cheap in one direction
# and expensive in the other:

# %%
sigmas = torch.linspace(0.2, 3.0, 100)
forward = kl.kl_normal(torch.zeros(100), sigmas)          # KL(N(0, s^2) || N(0, 1))
reverse = kl.kl_normal(torch.zeros(100), torch.ones(100), torch.zeros(100), sigmas)  # KL(N(0,1) || N(0, s^2))
fig, ax = plt.subplots(figsize=(6, 3.2))
ax.plot(sigmas, forward, label="KL(N(0, s^2) || N(0, 1))")
ax.plot(sigmas, reverse, label="KL(N(0, 1) || N(0, s^2))")
ax.set_xlabel("s"); ax.set_ylabel("nats"); ax.legend(); ax.set_ylim(0, 4)
ax.set_title("KL is not symmetric: the two directions between N(0, s^2) and N(0, 1)")
at = int((sigmas - 0.3).abs().argmin())
print(f"s = {sigmas[at]:.2f}: forward {forward[at]:.3f} nats, reverse {reverse[at]:.3f} nats")
assert reverse[at] > 2 * forward[at]

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Which direction? Fitting one Gaussian to two bumps
#
# The asymmetry decides what an approximation looks like. Let $p$ be a mixture of two narrow normals
# at $\pm 3$ and fit a single normal $q = N(m, s^2)$ to it twice:
#
# * **forward KL**, $KL(p\,\|\,q) = \mathbb{E}_p[\log p - \log q]$: $q$ pays wherever $p$ has mass and $q$
#   has none, so it must **cover** both bumps (*mass-covering*); the best $q$ matches $p$'s mean and variance;
# * **reverse KL**, $KL(q\,\|\,p) = \mathbb{E}_q[\log q - \log p]$: $q$ pays wherever *it* has mass and $p$ has
#   none, so it hides inside **one** bump (*mode-seeking*).
#
# Both KLs are computed by the trapezoid rule on a grid (lesson 02) and minimised over $(m, s)$ on a grid:

# %%
x_grid = torch.linspace(-10, 10, 4001)


def mixture_pdf(x):
    return 0.5 * (Normal(-3.0, 0.7).log_prob(x).exp() + Normal(3.0, 0.7).log_prob(x).exp())


def kl_grid(log_a, log_b, a_pdf):
    """KL(a || b) = integral of a (log a - log b), trapezoid rule."""
    return float(expectation.trapezoid(lambda x: log_a(x) - log_b(x), a_pdf, x_grid))


log_p = lambda x: mixture_pdf(x).clamp_min(1e-300).log()  # noqa: E731
fits = {}
means, stds = torch.linspace(-4, 4, 41), torch.linspace(0.3, 5, 48)
for name in ("forward", "reverse"):
    best = (math.inf, None)
    for m in means:
        for sd in stds:
            q = Normal(float(m), float(sd))
            value = kl_grid(log_p, q.log_prob, mixture_pdf) if name == "forward" else \
                kl_grid(q.log_prob, log_p, lambda x, q=q: q.log_prob(x).exp())
            best = min(best, (value, (float(m), float(sd))), key=lambda t: t[0])
    fits[name] = best
    print(f"{name:7s} KL: best q = N({best[1][0]:+.2f}, {best[1][1]:.2f}^2), KL {best[0]:.3f} nats")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(x_grid, mixture_pdf(x_grid), "k", label="p: two bumps")
for name, (_, (m, sd)) in fits.items():
    ax.plot(x_grid, Normal(m, sd).log_prob(x_grid).exp(), label=f"q minimising the {name} KL")
ax.legend(fontsize=8); ax.set_xlim(-7, 7); ax.set_xlabel("x"); ax.set_ylabel("density")
ax.set_title("one Gaussian q fitted to two bumps p, by each direction of the KL");
(m_f, s_f), (m_r, s_r) = fits["forward"][1], fits["reverse"][1]
assert abs(m_f) < 0.2 and s_f > 2.5  # covers both bumps (p's standard deviation is about 3.08)
assert abs(abs(m_r) - 3) < 0.2 and s_r < 1.0  # sits in one bump

# %% [markdown]
# The VAE's [ELBO](glossary.md#elbo) contains $KL(q(z|x)\,\|\,p(z|x))$ (lesson 04): the **reverse** direction, with the
# approximation first. So a VAE's encoder is mode-seeking: when the true [posterior](glossary.md#posterior) has several modes
# or correlated dimensions, $q$ settles in one part of it and *underestimates* its spread, rather than
# smearing over all of it. The reason it is this direction: the ELBO needs [expectations](glossary.md#expectation) under $q$,
# which we can sample (the [reparameterisation trick](glossary.md#reparameterisation-trick)); the forward KL would need samples from the
# true posterior, which we do not have.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The log-variance form used by VAEs
#
# A VAE encoder outputs, for every latent dimension $j$, a mean $\mu_j$ and
# $s_j = \log\sigma_j^2$ (any real number, so no positivity constraint is
# needed). Substituting $\sigma^2 = e^{s}$ into the closed form and summing
# over the dimensions gives the KL term of the VAE loss, in nats per example:
#
# $$KL\big(q(z|x)\,\|\,N(0, I)\big) = \frac12\sum_j \left(e^{s_j} - (1 + s_j) + \mu_j^2\right).$$

# %%
mu = torch.randn(4, 8)
logvar = torch.randn(4, 8)
vae_form = kl.kl_normal_logvar(mu, logvar)                         # shape (4,): one value per example
elementwise = kl.kl_normal(mu, (0.5 * logvar).exp()).sum(dim=-1)
print(vae_form)
assert vae_form.shape == (4,) and torch.allclose(vae_form, elementwise)

# %% [markdown]
# Look at the variance part, $e^{s} - (1 + s)$. The line $1 + s$ is the
# tangent of $e^{s}$ at $s = 0$, and $e^s$ is convex, so the difference is never
# negative and is zero only at $s = 0$, i.e. $\sigma = 1$.
#
# Why it matters: the [reconstruction](glossary.md#reconstruction) term alone would like the encoder to make
# its noise vanish ($s \to -\infty$, a plain [autoencoder](glossary.md#autoencoder)). The KL term charges
# roughly $-s/2$ nats per dimension for that, growing without bound, which is
# what keeps the codes noisy and the [latent space](glossary.md#latent-space) smooth.

# %%
s = torch.linspace(-3, 2, 501)
gap = s.exp() - (1 + s)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(s, s.exp(), label="$e^s$")
ax.plot(s, 1 + s, label="$1 + s$")
ax.plot(s, gap, lw=3, label="$e^s - (1 + s)$")
ax.axhline(0, color="0.6", lw=0.8); ax.axvline(0, color="0.6", lw=0.8)
ax.set_xlabel("s = log sigma^2"); ax.set_ylabel("value"); ax.legend()
ax.set_title("the KL's variance term e^s - (1 + s) is never negative, 0 only at s = 0")
i_min = int(gap.argmin())
print(f"minimum of e^s - (1+s) on the grid: {gap[i_min]:.2e} at s = {s[i_min]:.3f}")
assert (gap >= 0).all() and abs(s[i_min]) < 1e-9 and gap[i_min] == 0
assert gap[0] > 1.0  # s = -3: shrinking the noise is penalised

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Explore
#
# Move $\mu$ and $\sigma$: the title shows KL in both directions. Three questions, answered by the
# cell after the widget: when is $KL(p\|q)$ zero? How does it grow with $|\mu|$ (at $\sigma = 1$),
# and with $\sigma \to 0$ (at $\mu = 0$)?

# %% tags=["nbval-ignore-output"]
kl_explorer()

# %%
mus, small_sigmas = torch.linspace(-3, 3, 61), torch.tensor([0.1, 0.01, 0.001])
kl_mu = kl.kl_normal(mus, torch.ones(61))
kl_sigma = kl.kl_normal(torch.zeros(3), small_sigmas)
print(f"zero only at mu = {mus[int(kl_mu.argmin())]:.1f} (sigma = 1); KL / (mu^2 / 2) at mu = 3: {kl_mu[-1] / 4.5:.3f}; "
      f"KL at sigma = 0.1, 0.01, 0.001: {[round(v, 2) for v in kl_sigma.tolist()]}")
assert kl_mu.min() == 0 and int((kl_mu == 0).sum()) == 1 and torch.allclose(kl_mu, mus**2 / 2)  # grows like mu^2 / 2
steps = kl_sigma[1:] - kl_sigma[:-1]
assert torch.allclose(steps, torch.full_like(steps, math.log(10)), atol=0.01)  # each factor 10 costs about log 10 nats

# %% [markdown]
# A single Monte Carlo estimate of KL is random. This widget repeats the
# estimate 300 times with $n$ samples each; move $n$ and watch the histogram
# tighten around the exact value.

# %% tags=["nbval-ignore-output"]
mc_spread_explorer(mu=1.0, sigma=0.5)

# %% [markdown]
# The spread the widget shows shrinks like $1/\sqrt{n}$: a hundred times more
# samples, a ten times narrower histogram.

# %%
spreads = {n: mc_spread(1.0, 0.5, n).spread for n in (10, 100, 1000, 10_000)}
for n, spread in spreads.items():
    print(f"n = {n:6d}: spread {spread:.4f}   spread * sqrt(n) = {spread * math.sqrt(n):.3f}")
for small, big in [(10, 1000), (100, 10_000)]:
    assert 7 < spreads[small] / spreads[big] < 13  # ~ sqrt(100) = 10

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# * $KL(p\|q) = \mathbb{E}_p[\log p - \log q] \ge 0$, zero only when $p = q$, and
#   $KL(p\|q) \ne KL(q\|p)$ in general.
# * For normals it has a closed form, derived above with sympy and verified by
#   quadrature, Monte Carlo and PyTorch.
# * VAEs use it as $\frac12\sum_j (e^{s_j} - (1 + s_j) + \mu_j^2)$ with
#   $s = \log\sigma^2$; the $e^s - (1+s)$ part keeps the encoder's noise from
#   collapsing.
#
# Exercises: `exercises/03_kl_divergence.ipynb`; check them with
# `genlearn check exercises/03_kl_divergence.ipynb`.
