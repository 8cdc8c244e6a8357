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
# # Lesson 04 - The variational autoencoder
#
# Lesson 01 ended with two wishes: let each example cover a *region* of [code
# space](glossary.md#latent-space), and keep all codes near one known distribution so that we can sample.
# The [variational autoencoder](glossary.md#vae) (VAE) grants both. In this lesson we
#
# 1. make every latent attribute a distribution instead of a number;
# 2. sample it with the [reparameterisation trick](glossary.md#reparameterisation-trick), and measure why that beats
#    the alternative;
# 3. see $p(x)$ as an infinite mixture and derive the training objective, the
#    [ELBO](glossary.md#elbo), checking it on a model where $\log p(x)$ is known exactly;
# 4. compare an AE and a VAE trained on the same digits;
# 5. meet the VAE's failure modes - blur and [posterior collapse](glossary.md#posterior-collapse) - and cure one.

# %% slideshow={"slide_type": "skip"}
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from sklearn.neighbors import KNeighborsClassifier

from genlearn import evaluate, expectation, seed_everything
from genlearn.data import load_digits
from genlearn.gradients import reparameterization_gradients, score_function_gradients
from genlearn.sample_quality import digit_frechet_distance, sharpness
from genlearn.models import AE, VAE, LinearGaussian, ae_loss, kl_warmup, vae_loss
from genlearn.models.nets import ConvDecoder
from genlearn.train import fit
from genlearn.viz import image_grid, interpolation_strip
from genlearn.widgets import interpolation_slider, latent_explorer
from genlearn.widgets.latent import decode_points, encode_mean, interpolate

seed_everything(0, threads=1)  # one CPU thread: the same numbers on every machine (and fast for small nets)
train, test = load_digits("train", binarize=True), load_digits("test", binarize=True)
print(f"binarised digits: train {tuple(train.x.shape)}, test {tuple(test.x.shape)}, values {train.x.unique().tolist()}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Each latent attribute as a distribution
#
# Imagine a face [autoencoder](glossary.md#autoencoder) with a "smile" number in its code. Shown a
# half-smile, a plain autoencoder must commit to one value. A VAE's [encoder](glossary.md#encoder)
# instead outputs, for every latent dimension $j$, a mean $\mu_j(x)$ and a
# variance $\sigma_j^2(x)$: "the smile is about 0.6, give or take 0.1". The
# [decoder](glossary.md#decoder) is then trained on codes *drawn* from $q(z|x) = N(\mu(x), \mathrm{diag}\,\sigma^2(x))$,
# so every example owns a cloud of codes, and a KL term pulls every cloud towards
# the [prior](glossary.md#prior) $p(z) = N(0, I)$ so the clouds cannot run away from each other
# (lesson 01's escape) and cannot shrink to points (lesson 03's $e^s - (1+s)$).
#
# A VAE with a 2-D code on the binarised digits (Bernoulli decoder):

# %%
seed_everything(0)
vae2 = VAE((1, 8, 8), latent_dim=2, hidden=(256, 128))
hist2 = fit(vae2, vae_loss, train.x, epochs=60, lr=2e-3, seed=0, device="cpu")
mu2, logvar2 = (t.detach() for t in vae2.encode(test.x))

fig, ax = plt.subplots(figsize=(5.5, 5))
sc = ax.scatter(mu2[:, 0], mu2[:, 1], c=test.y, cmap="tab10", s=6)
for k in range(0, 297, 12):  # one-standard-deviation ellipses of q(z|x) for some test digits
    w, h = 2 * logvar2[k].mul(0.5).exp()
    ax.add_patch(plt.matplotlib.patches.Ellipse(mu2[k].tolist(), w, h, fill=False, color=sc.to_rgba(test.y[k])))
circle = plt.Circle((0, 0), 2, fill=False, ls="--", color="k", label="prior: 2 standard deviations")
ax.add_patch(circle); ax.set_aspect("equal"); ax.legend(loc="upper right")
ax.set_title("q(z|x): a cloud per digit, all inside the prior");

# %% [markdown]
# Every test digit is now an ellipse, not a point, and the codes sit inside the
# prior's bulk. Measured: the average [posterior](glossary.md#posterior) standard deviation is far from
# zero, and the codes' overall spread is close to the prior's.

# %%
post_std = logvar2.mul(0.5).exp().mean().item()
code_std = mu2.std(0)
print(f"mean posterior std: {post_std:.3f};  spread of the means per dimension: {code_std.tolist()}")
assert 0.05 < post_std < 1.0
assert (code_std < 1.5).all()

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The reparameterisation trick
#
# Training needs $\nabla_{\mu,\sigma}\,\mathbb{E}_{z\sim N(\mu,\sigma^2)}[f(z)]$, but a
# sampling step has no derivative. The trick is to move the randomness out of
# the way:
#
# $$z = \mu + \sigma\,\varepsilon, \qquad \varepsilon \sim N(0, 1).$$
#
# The **mean is added** and the **standard deviation multiplies**; $\varepsilon$
# does not depend on the parameters, so $\partial z/\partial\mu = 1$ and
# $\partial z/\partial\sigma = \varepsilon$, and ordinary backpropagation
# works. The alternative *score-function* estimator
# $f(z)\,\nabla_\mu \log q(z) = f(z)(z - \mu)/\sigma^2$ is also unbiased and never
# differentiates $f$. Which is better? Estimate $\nabla_\mu \mathbb{E}[(z - 3)^2] = 2(\mu - 3)$
# at $\mu = 0.5$, $\sigma = 1$ with both, 100,000 samples each:

# %%
f = lambda z: (z - 3.0) ** 2  # noqa: E731
gen = torch.Generator().manual_seed(0)
g_rep = reparameterization_gradients(f, 0.5, 1.0, 100_000, gen)
g_sf = score_function_gradients(f, 0.5, 1.0, 100_000, gen)
exact = 2 * (0.5 - 3.0)
for name, g in [("reparameterisation", g_rep), ("score function", g_sf)]:
    print(f"{name:18s}: mean {g.mean():+.3f} (exact {exact:+.1f}), variance per sample {g.var():8.2f}")
assert abs(g_rep.mean() - exact) < 4 * g_rep.std() / math.sqrt(len(g_rep))
assert abs(g_sf.mean() - exact) < 4 * g_sf.std() / math.sqrt(len(g_sf))
ratio = float(g_sf.var() / g_rep.var())
print(f"the score-function estimate needs {ratio:.0f}x more samples for the same accuracy")
assert ratio > 10

# %% [markdown]
# Both are right on average, but the score-function gradient is an order of
# magnitude noisier; with a neural decoder the gap grows with the number of
# latent dimensions. That is why VAEs reparameterise. In the library it is one
# line, `VAE.reparameterize`:

# %%
mu, logvar = torch.zeros(4, 2, requires_grad=True), torch.zeros(4, 2, requires_grad=True)
eps = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
z = mu + torch.exp(0.5 * logvar) * eps  # step by step
gz = vae2.reparameterize(mu, logvar, torch.Generator().manual_seed(1))
assert torch.equal(z, gz)
z.sum().backward()
print("dz/dmu =", mu.grad[0].tolist(), "  dz/dlogvar = eps/2 =", logvar.grad[0].tolist())
assert torch.allclose(mu.grad, torch.ones_like(mu)) and torch.allclose(logvar.grad, eps / 2)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. An infinite mixture of Gaussians
#
# A finite mixture writes $p(x) = \sum_m P(m)\,p(x|m)$. Let the component label
# become a continuous code $z$ with density $p(z)$ and the sum becomes an integral:
#
# $$p(x) = \int p(z)\,p(x|z)\,dz ,$$
#
# an *infinite* mixture, one Gaussian $p(x|z) = N(g(z), s^2)$ per value of $z$,
# with a neural network $g$ choosing where each one sits. A 1-D example with
# $z \sim N(0,1)$ and $g(z) = 2\tanh(2z)$: lesson 02's trapezoid rule over $z$
# gives $p(x)$ on a grid, and it matches a histogram of samples drawn by first
# sampling $z$, then $x$. (Try Gauss-Hermite here: the integrand in $z$ is so
# peaked near $x = 0$ that even 200 nodes miss by 20 %.)

# %%
s, g = 0.3, (lambda z: 2 * torch.tanh(2 * z))
xs = torch.linspace(-4, 4, 401, dtype=torch.float64)
z_grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
prior_pdf = lambda z: torch.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)  # noqa: E731


def mixture_density(x):
    """p(x) = integral of p(z) N(x; g(z), s^2) dz, by the trapezoid rule over z."""
    component = lambda z: torch.exp(-0.5 * ((x - g(z)) / s) ** 2) / (s * math.sqrt(2 * math.pi))  # noqa: E731
    return expectation.trapezoid(component, prior_pdf, z_grid)


density = torch.stack([mixture_density(x) for x in xs])
gen = torch.Generator().manual_seed(2)
z = torch.randn(200_000, generator=gen, dtype=torch.float64)
samples = g(z) + s * torch.randn(200_000, generator=gen, dtype=torch.float64)
counts, edges = torch.histogram(samples, bins=80, range=(-4.0, 4.0), density=True)
centres = (edges[1:] + edges[:-1]) / 2
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(centres, counts, width=edges[1] - edges[0], alpha=0.4, label="samples: z ~ p(z), then x ~ p(x|z)")
ax.plot(xs, density, "C3", label="quadrature of the integral")
ax.legend(fontsize=8); ax.set_xlabel("x");

mass = float(torch.trapezoid(density, xs))
on_centres = torch.stack([mixture_density(x) for x in centres])
tv = 0.5 * float(((counts - on_centres).abs() * (edges[1] - edges[0])).sum())
print(f"total mass {mass:.5f}; total-variation distance to the histogram {tv:.4f}")
assert abs(mass - 1) < 1e-3 and tv < 0.02

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The ELBO, derived and checked
#
# The integral above is intractable for a neural $g$ in many dimensions, so we
# bring in the encoder $q(z|x)$. For any $q$,
#
# $$\log p(x) = \mathbb{E}_{q}\Big[\log\frac{p(x|z)\,p(z)}{q(z|x)}\Big] + \mathbb{E}_{q}\Big[\log\frac{q(z|x)}{p(z|x)}\Big]
# = \mathcal{L}_b + KL\big(q(z|x)\,\|\,p(z|x)\big),$$
#
# (multiply and divide by $q$ inside $\log p(x) = \log\frac{p(x|z)p(z)}{p(z|x)}$ and
# average over $q$). The KL is $\ge 0$, so
#
# $$\mathcal{L}_b = \mathbb{E}_q[\log p(x|z)] - KL\big(q(z|x)\,\|\,p(z)\big) \le \log p(x)$$
#
# is a lower bound, the **evidence lower bound (ELBO)**: a [reconstruction](glossary.md#reconstruction) term
# and lesson 03's KL to the prior. Maximising it over $q$ closes the gap;
# maximising it over the decoder raises $\log p(x)$.
#
# To check every piece we need a model whose $\log p(x)$ is exact: the
# linear-Gaussian model $p(x|z) = N(Wz + b, s^2 I)$, for which $p(x)$ and $p(z|x)$
# are Gaussians in closed form. Take an arbitrary (deliberately poor) $q$:

# %%
seed_everything(3)
lg = LinearGaussian.random(data_dim=5, latent_dim=2, sigma=0.7)
x = lg.sample(6)
q_mu, q_logvar = torch.randn(6, 2, dtype=torch.float64), torch.randn(6, 2, dtype=torch.float64)
log_px = lg.log_marginal(x)
elbo_exact = lg.elbo_exact(x, q_mu, q_logvar)
gap = lg.kl_to_posterior(x, q_mu, q_logvar)
print("log p(x)            :", [round(v, 4) for v in log_px.tolist()])
print("ELBO + KL(q||p(z|x)):", [round(v, 4) for v in (elbo_exact + gap).tolist()])
assert torch.allclose(log_px, elbo_exact + gap, atol=1e-10) and (gap > 0).all()

# %% [markdown]
# The identity holds to rounding. With the best diagonal $q$ the gap shrinks,
# and sampling more codes with importance weights (lesson 02) tightens the
# bound further: the [IWAE](glossary.md#iwae) bound $\mathcal{L}_K = \mathbb{E}\log\frac1K\sum_k \frac{p(x, z_k)}{q(z_k|x)}$
# rises with $K$ towards $\log p(x)$.

# %%
def poor_encoder(x):
    """The best diagonal q, made deliberately too wide (variance x e^1.5) so the gap is visible."""
    mu, logvar = lg.mean_field(x)
    return mu, logvar + 1.5


lg.encoder = poor_encoder
x = lg.sample(2000)
gen = torch.Generator().manual_seed(4)
truth = lg.log_marginal(x).mean().item()
elbo_samples = evaluate.elbo(lg, x, 1, generator=gen)  # one z per example
elbo_mc, elbo_se = elbo_samples.mean().item(), (elbo_samples.std() / math.sqrt(len(x))).item()
elbo_closed = lg.elbo_exact(x, *poor_encoder(x)).mean().item()
bounds = {k: evaluate.iwae_bound(lg, x, k, generator=gen).mean().item() for k in (1, 4, 16, 64, 256)}
print(f"exact log p(x) {truth:.4f};  ELBO closed form {elbo_closed:.4f}, Monte Carlo {elbo_mc:.4f} +- {elbo_se:.4f}")
for k, v in bounds.items():
    print(f"IWAE K = {k:4d}: {v:.4f}   gap to log p(x) {truth - v:.4f}")
values = list(bounds.values())
assert abs(elbo_mc - elbo_closed) < 4 * elbo_se and elbo_closed < truth
assert all(a < b for a, b in zip(values, values[1:])) and values[-1] <= truth + 0.01
assert truth - values[-1] < 0.1 * (truth - values[0])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Choosing the decoder's likelihood
#
# The reconstruction term $-\log p(x|z)$ depends on what we assume about pixels:
#
# * **binary data** (our binarised digits): Bernoulli, $p(x_i|z) = s(l_i)^{x_i}(1 - s(l_i))^{1 - x_i}$
#   with logits $l$ and sigmoid $s$; $-\log p(x|z)$ is the **binary cross-entropy**;
# * **general data**: a Gaussian with fixed variance $\sigma^2$:
#   $-\log p(x|z) = \frac{1}{2\sigma^2}\lVert x - m\rVert^2 + \frac{D}{2}\log(2\pi\sigma^2)$,
#   i.e. the **squared error**, scaled, plus a constant.
#
# The library's `vae_loss` implements both; here they are checked against the formulas:

# %%
xb = test.x[:16]
out = vae2(xb)
bce = F.binary_cross_entropy_with_logits(out.decoded, xb, reduction="none").flatten(1).sum(1).mean()
assert torch.allclose(vae_loss(vae2, xb, out).recon, bce)
gauss = VAE((1, 8, 8), latent_dim=2, hidden=(32,), likelihood="gaussian", sigma=0.2)
xg = load_digits("test").x[:16]
out_g = gauss(xg)
mse_form = ((xg - out_g.decoded) ** 2).flatten(1).sum(1) / (2 * 0.2**2) + 32 * math.log(2 * math.pi * 0.2**2)
assert torch.allclose(vae_loss(gauss, xg, out_g).recon, mse_form.mean(), rtol=1e-5)
print("Bernoulli = binary cross-entropy, Gaussian = scaled squared error + constant: checked")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. AE versus VAE on the same digits
#
# An AE maps $x$ to a **point** $z = f(x)$; a VAE maps it to a **distribution**.
# Train a plain AE with the same 2-D code and network and compare:
# (a) samples from the prior $N(0, I)$, (b) [interpolations](glossary.md#interpolation).

# %%
seed_everything(0)
ae2 = AE((1, 8, 8), latent_dim=2, hidden=(256, 128))
fit(ae2, ae_loss, train.x, epochs=60, lr=2e-3, seed=0, device="cpu", progress=False)

gen = torch.Generator().manual_seed(5)
z_prior = torch.randn(300, 2, generator=gen)
samples = {"AE": decode_points(ae2, z_prior), "VAE": decode_points(vae2, z_prior)}
frechet = {name: digit_frechet_distance(imgs) for name, imgs in samples.items()}
for name, value in frechet.items():
    print(f"{name}: Frechet distance of 300 prior samples to the real test digits {value:.1f}")
assert frechet["VAE"] < 0.5 * frechet["AE"]
fig, axes = plt.subplots(1, 2, figsize=(10, 2.6))
for ax, (name, imgs) in zip(axes, samples.items()):
    ax.imshow(torch.cat([torch.cat(list(imgs[r * 12:(r + 1) * 12, 0]), dim=1) for r in range(3)], dim=0), cmap="gray")
    ax.set_title(f"{name}: decoded z ~ N(0, I)"); ax.axis("off")

# %% [markdown]
# The AE's decoder was never told which codes matter, so its prior samples are
# a poor population of digits (lesson 01 measured the same); the VAE's prior
# samples are far closer to real digits. Interpolating
# between two test digits passes through plausible digits with the VAE:

# %%
pair = test.x[[1, 5]]
for name, model in (("AE", ae2), ("VAE", vae2)):
    zs = encode_mean(model, pair)
    interpolation_strip(decode_points(model, interpolate(zs[0], zs[1], 9)), title=f"{name}: interpolation")

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Latent arithmetic with class vectors
#
# In a continuous latent space, directions carry meaning: the seed articles'
# "glasses vector" is the average code of faces with glasses minus the average
# without. With digits, the **class vectors** are the mean codes of each class.
# Move the codes of test 1s by (mean of 7s - mean of 1s), decode, and ask a
# classifier what it sees. We use an 8-D VAE for a richer space.

# %%
seed_everything(0)
vae8 = VAE((1, 8, 8), latent_dim=8, hidden=(256, 128))
fit(vae8, vae_loss, train.x, epochs=60, lr=2e-3, seed=0, device="cpu", progress=False)
z_train8 = encode_mean(vae8, train.x)
centroids = torch.stack([z_train8[train.y == c].mean(0) for c in range(10)])
pixel_knn = KNeighborsClassifier(n_neighbors=3).fit(train.x.flatten(1).numpy(), train.y.numpy())

source, target = 1, 7
ones = test.x[test.y == source]
moved = encode_mean(vae8, ones) + (centroids[target] - centroids[source])
decoded = decode_points(vae8, moved)
before = (pixel_knn.predict(vae8.reconstruct(ones).flatten(1).numpy()) == target).mean()
after = (pixel_knn.predict(decoded.flatten(1).numpy()) == target).mean()
print(f"classified as {target}: {before:.0%} of reconstructed {source}s, {after:.0%} after adding the class vector")
assert after > 0.6 and before < 0.1
image_grid(torch.cat([vae8.reconstruct(ones[:8]), decoded[:8]]), ncols=8,
           title=f"top: test {source}s; bottom: + (mean {target} - mean {source})")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. Failure mode 1: blurry samples
#
# The decoder outputs the *average* image over all digits that could have
# produced a code. Averages of shifted strokes are smeared, so VAE samples are
# less sharp than the digits it was trained on. Two measurements on the 8-D
# VAE's prior samples, against the binarised test digits: sharpness as the mean
# image-gradient magnitude (`genlearn.metrics.sharpness`), and the share of
# "undecided" grey pixels (between 0.1 and 0.9), which binary data never has.

# %%
vae_samples = vae8.sample(500, generator=torch.Generator().manual_seed(6))
sharp_real, sharp_vae = sharpness(test.x).mean().item(), sharpness(vae_samples).mean().item()
grey_share = ((vae_samples > 0.1) & (vae_samples < 0.9)).float().mean().item()
print(f"sharpness: real test digits {sharp_real:.3f}, VAE samples {sharp_vae:.3f}; "
      f"grey pixels in VAE samples: {grey_share:.0%}")
assert sharp_vae < 0.85 * sharp_real and grey_share > 0.1
image_grid(vae_samples[:30], ncols=10, title="VAE samples (means of p(x|z))")

# %% [markdown]
# Lesson 06 puts a [discriminator](glossary.md#discriminator) after the decoder to fight exactly this.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Failure mode 2: posterior collapse, and three cures
#
# If the KL term wins, the encoder gives up: $q(z|x) = p(z)$ for some or all
# dimensions, which then carry no information (their KL is 0). We count
# **[active units](glossary.md#active-units)** - dimensions whose posterior mean varies across the data,
# $\mathrm{Var}_x(\mathbb{E}_q[z_j]) > 0.01$ - after training an 8-D VAE five ways:
#
# * $\beta = 2$: the KL weighted twice (provokes collapse);
# * $\beta = 2$ with a **[KL warm-up](glossary.md#kl-warm-up)**: $\beta$ rises linearly from 0 over 40 epochs,
#   so the encoder learns to use its code before the KL pressure arrives;
# * $\beta = 2$ with **[free bits](glossary.md#free-bits)**: no KL pressure below 0.5 [nats](glossary.md#nat) per dimension;
# * $\beta = 1$ (the plain ELBO), with and without warm-up.

# %%
def train_variant(beta, free_bits=0.0, warmup=None):
    seed_everything(0)
    model = VAE((1, 8, 8), latent_dim=8, hidden=(256, 128), beta=beta, free_bits=free_bits)
    fit(model, vae_loss, train.x, epochs=60, lr=2e-3, seed=0, device="cpu", progress=False,
        before_epoch=kl_warmup(warmup, beta) if warmup else None)
    return evaluate.active_units(model, test.x).count, evaluate.kl_per_dim(model, test.x)


variants = {
    "beta = 2": train_variant(2.0),
    "beta = 2 + warm-up": train_variant(2.0, warmup=40),
    "beta = 2 + free bits 0.5": train_variant(2.0, free_bits=0.5),
    "beta = 1": train_variant(1.0),
    "beta = 1 + warm-up": train_variant(1.0, warmup=40),
}
active = {name: count for name, (count, _) in variants.items()}
for name, (count, kl_dims) in variants.items():
    print(f"{name:26s} active units {count}/8   KL per dim " + " ".join(f"{v:.2f}" for v in kl_dims.tolist()))
fig, ax = plt.subplots(figsize=(7, 3))
for i, (name, (_, kl_dims)) in enumerate(variants.items()):
    ax.bar(torch.arange(8) + 0.16 * i - 0.32, kl_dims.sort(descending=True).values, width=0.16, label=name)
ax.set_xlabel("latent dimension (sorted by KL)"); ax.set_ylabel("KL (nats)"); ax.legend(fontsize=7);

# %% [markdown]
# With $\beta = 2$ most dimensions carry no information (KL 0). Each remedy
# brings units back: the warm-up lets the encoder commit to a code before the
# KL pressure arrives, free bits stop the pressure on a dimension below a floor
# (here every dimension sits at about the floor), and a lighter $\beta$ shifts
# the trade-off. Even at $\beta = 1$ the warm-up keeps more units alive.

# %%
collapsed = active["beta = 2"]
assert collapsed <= 4
assert active["beta = 2 + warm-up"] > collapsed
assert active["beta = 2 + free bits 0.5"] == 8
assert active["beta = 1"] > collapsed and active["beta = 1 + warm-up"] >= active["beta = 1"]

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 9. Upsampling in convolutional decoders
#
# Convolutional decoders must grow a small feature map into an image. A
# **transposed convolution** with stride 2 and kernel 3 overlaps its kernels
# unevenly, so even a constant input gives a checkerboard; **upsample then
# convolve** (`upsample="nearest"`) covers every pixel equally. Measured on
# freshly initialised decoders fed a constant feature map: the energy of the
# alternating $(-1)^{i+j}$ pattern in the output.

# %%
def checkerboard_energy(upsample):
    seed_everything(0)
    dec = ConvDecoder((1, 16, 16), None, channels=(8, 8), upsample=upsample)
    with torch.no_grad():
        out = dec(torch.ones(1, *dec.in_shape))[0, 0]
    i, j = torch.meshgrid(torch.arange(16), torch.arange(16), indexing="ij")
    centred = out - out.mean()
    return float((centred * (-1.0) ** (i + j)).mean().abs() / centred.std())


energy = {mode: checkerboard_energy(mode) for mode in ("transpose", "nearest")}
print({k: round(v, 4) for k, v in energy.items()})
assert energy["transpose"] > 5 * energy["nearest"]

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 10. Explore
#
# Walk the 2-D VAE's code space with the sliders (compare with the AE of
# lesson 01: here every point decodes to something digit-like), and interpolate
# between two test digits.

# %% tags=["nbval-ignore-output"]
latent_explorer(vae2, lo=-3.0, hi=3.0, step=0.1)

# %% tags=["nbval-ignore-output"]
interpolation_slider(vae2, test.x[1], test.x[5])

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# * A VAE encodes each input as $q(z|x) = N(\mu(x), \sigma^2(x))$ and decodes
#   samples $z = \mu + \sigma\varepsilon$ (reparameterisation: lower-variance
#   gradients than the score function, measured).
# * $p(x) = \int p(z)p(x|z)dz$ is an infinite mixture; the ELBO
#   $\mathbb{E}_q[\log p(x|z)] - KL(q(z|x)\|p(z)) = \log p(x) - KL(q\|p(z|x))$ bounds it,
#   verified exactly above; IWAE tightens it.
# * Bernoulli decoder = binary cross-entropy; Gaussian = squared error.
# * Compared with an AE, prior samples and interpolations decode to digits, and
#   class vectors do arithmetic; but samples are blurrier, and a heavy KL
#   collapses latent dimensions unless a warm-up, free bits or a lighter $\beta$ keep them.
#
# Exercises: `exercises/04_vae.ipynb` (`genlearn check exercises/04_vae.ipynb`).
