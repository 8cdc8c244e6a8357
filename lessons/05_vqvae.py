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
# # Lesson 05 - VQ-VAE: a discrete latent space
#
# A [VAE](glossary.md#vae) describes an image by a point in a continuous space. The vector-quantised
# VAE (VQ-VAE, van den Oord et al., 2017) describes it by a short list of
# *integers*: each piece of the [encoder](glossary.md#encoder)'s output is replaced by the nearest entry
# of a learned **[codebook](glossary.md#codebook)** (码本) of $K$ vectors. In this lesson we
#
# 1. put a continuous and a discrete [latent space](glossary.md#latent-space) side by side;
# 2. see why "take the nearest code" has no gradient, and fix it with the
#    [straight-through estimator](glossary.md#straight-through-estimator) (checked numerically);
# 3. take the loss apart - [reconstruction](glossary.md#reconstruction), codebook and commitment terms - and
#    measure what the weight $\beta$ does;
# 4. watch codes die during training and bring them back;
# 5. fit a [prior](glossary.md#prior) over [code maps](glossary.md#code-map) to generate new digits, and measure how much it
#    beats drawing codes at random;
# 6. place VQ-VAE-2, ViT-VQGAN and MaskGIT in the story.
#
# We use the 8x8 digits again, binarised as in lesson 04, so reconstruction
# errors are Bernoulli negative log-likelihoods in [nats](glossary.md#nat).

# %% slideshow={"slide_type": "skip"}
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display

import genlearn
from genlearn import seed_everything
from genlearn.data import load_digits
from genlearn.evaluate import codebook_stats, codebook_tracker
from genlearn.models import VAE, VQVAE, CodePrior, VectorQuantizer, vae_loss, vqvae_loss
from genlearn.recipes import fit_code_prior
from genlearn.models.code_prior import code_prior_loss, uniform_codes
from genlearn.train import fit
from genlearn.viz import image_grid, show_reconstructions
from genlearn.viz.codebook import code_usage, codebook_health, latent_spaces
from genlearn.widgets.vq import code_atlas, code_explorer, decode_code_map, edit_code_map

# The models are tiny, so one CPU thread is enough; pinning it also keeps a busy
# machine from slowing us down and makes the numbers below reproducible run to run.
seed_everything(0, threads=1)
dev = genlearn.device()
train, test = load_digits("train", binarize=True), load_digits("test", binarize=True)
x_train, x_test = train.x, test.x
K, EPOCHS = 512, 15  # codebook size and training length of every VQ-VAE below


def train_vqvae(epochs=EPOCHS, seed=0, track=True, **options):
    """A VQ-VAE for the 8x8 digits (2x2 code maps, K codes of length 16), trained with Adam; with
    ``track`` the history also records the codebook usage on the training set before and after each epoch."""
    seed_everything(seed, threads=1)
    model = VQVAE((1, 8, 8), num_codes=K, code_dim=16, **options)
    history = fit(model, vqvae_loss, x_train, epochs, batch_size=100, lr=2e-3, seed=seed, progress=False,
                  after_epoch=codebook_tracker(x_train, model=model) if track else None)
    return model, history


print(f"binarised digits: train {tuple(x_train.shape)}, test {tuple(x_test.shape)}; running on {dev}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Continuous versus discrete latents
#
# We train two models on the same digits:
#
# * a VAE with a 2-D latent space (lesson 04), so we can draw it;
# * a VQ-VAE whose convolutional encoder turns each 8x8 image into a 2x2 map of
#   16-dimensional vectors; every vector is snapped to the nearest of $K = 512$
#   codebook vectors, and the [decoder](glossary.md#decoder) rebuilds the image from the snapped map.
#
# (The VQ-VAE here already uses *dead-code restarts*; section 5 explains why.)

# %%
seed_everything(0, threads=1)
vae = VAE((1, 8, 8), latent_dim=2)
fit(vae, vae_loss, x_train, 30, batch_size=100, seed=0, progress=False)
vq, hist_restart = train_vqvae(restart_after=20)
print(vq.quantizer)
print(f"an image becomes a code map of shape {vq.code_shape}")

# %%
with torch.no_grad():
    mu = vae.encode(x_test.to(dev)).mu.cpu()
    z_e = vq.encode(x_test.to(dev)).movedim(1, -1).reshape(-1, vq.code_dim).cpu()  # (297 * 4, 16)
codes_test = vq.encode_indices(x_test.to(dev)).cpu()
stats_test = codebook_stats(vq, x_test)
latent_spaces(mu, test.y, z_e, vq.quantizer.codebook.detach().cpu(), stats_test.counts)

# %% [markdown]
# On the left, every point of the plane is a valid code that the decoder can
# read. On the right, the grey cloud is what the encoder produces,
# but the decoder only ever sees the blue points: the codebook. Every test image
# is now four integers, so it costs at most $4\log_2 512 = 36$ bits, whatever the
# encoder computed.

# %%
distinct_images = len(torch.unique(x_test.flatten(1), dim=0))
distinct_vae = len(torch.unique(mu, dim=0))
distinct_z_e = len(torch.unique(z_e, dim=0))
distinct_codes = len(torch.unique(codes_test))
print(f"{len(x_test)} test images, {distinct_images} of them different")
print(f"VAE: {distinct_vae} distinct latent points")
print(f"VQ-VAE: {distinct_z_e} distinct encoder vectors, snapped to only {distinct_codes} distinct codes "
      f"(of K = {K}); an image costs at most {4 * math.log2(K):.0f} bits")
assert distinct_vae == distinct_images
assert distinct_codes <= K < distinct_z_e and 4 * math.log2(K) == 36

with torch.no_grad():
    recon_test = vqvae_loss(vq, x_test.to(dev)).recon.item()
print(f"test reconstruction error: {recon_test:.2f} nats per image (64 binary pixels)")
show_reconstructions(x_test[:12], vq.reconstruct(x_test[:12].to(dev)).cpu(), n=12)

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. The nearest code, and why it has no gradient
#
# For an encoder output $z$ the quantiser picks
#
# $$k(z) = \arg\min_k \|z - e_k\|^2, \qquad z_q = e_{k(z)} .$$
#
# Take a one-dimensional toy: four codes on a line. As $z$ slides, $z_q$ stays
# flat and then jumps: a staircase. Its derivative is 0 between the jumps and
# undefined at them, so no useful gradient can reach the encoder through it.

# %%
toy = VectorQuantizer(4, 1, channel_dim=-1)
toy.init_codebook(torch.tensor([[-1.5], [-0.3], [0.6], [1.8]]))
z_line = torch.linspace(-2.5, 2.5, 1001)[:, None]
z_q_line = toy.lookup(toy.nearest(z_line)).detach()

fig, ax = plt.subplots(figsize=(5.5, 3))
ax.plot(z_line[:, 0], z_q_line[:, 0], label="$z_q = e_{k(z)}$")
ax.plot(z_line[:, 0], z_line[:, 0], ":", color="0.6", label="$z$")
ax.scatter(toy.codebook[:, 0].detach(), toy.codebook[:, 0].detach(), color="k", zorder=3, label="codes")
ax.set_xlabel("encoder output $z$"); ax.set_ylabel("quantised $z_q$"); ax.legend()

slope = (z_q_line[1:, 0] - z_q_line[:-1, 0]) / (z_line[1:, 0] - z_line[:-1, 0])
print(f"finite-difference slope: 0 on {(slope == 0).float().mean():.1%} of the line, "
      f"and as large as {slope.max():.0f} where it jumps")
assert (slope == 0).float().mean() > 0.99 and slope.max() > 100

# %% [markdown]
# PyTorch agrees: `argmin` returns integers, which carry no gradient, so the
# looked-up code is disconnected from $z$.

# %%
z = torch.tensor([[0.2]], requires_grad=True)
k = ((z - toy.codebook.detach()[:, 0]) ** 2).argmin(dim=1)
z_q = toy.codebook.detach()[k]
print(f"k = {k.tolist()} ({k.dtype}), z_q requires grad: {z_q.requires_grad}")
try:
    torch.autograd.grad(z_q.sum(), z)
except RuntimeError as err:
    print("autograd:", str(err).split(".")[0])
assert not k.dtype.is_floating_point and not z_q.requires_grad

# the library's quantiser finds the same codes as this step-by-step version
assert torch.equal(toy.nearest(z_line), ((z_line - toy.codebook.detach()[:, 0]) ** 2).argmin(dim=1))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. The straight-through estimator
#
# The fix is to pretend, in the backward pass only, that quantisation is the
# identity. With $\mathrm{sg}$ the [stop-gradient](glossary.md#stop-gradient) (`.detach()`):
#
# $$z_q = z + \mathrm{sg}(e_{k(z)} - z)$$
#
# The forward value is exactly $e_{k(z)}$; the backward pass sees $z_q = z + \text{const}$,
# so $\partial z_q / \partial z = I$ and the decoder's gradient at $z_q$ is copied
# onto $z$. The gradient check below does this on the trained model: the
# gradient the encoder output receives equals the decoder's gradient at the codes.

# %%
x_batch = x_test[:16].to(dev)
out = vq(x_batch)

z_e_batch = out.z_e.detach().requires_grad_()  # the encoder output, as a leaf
z_q_st = z_e_batch + (vq.lookup(out.indices) - z_e_batch).detach()  # straight-through, step by step
assert torch.equal(z_q_st, out.z_q)  # same values as the library's quantiser

recon = F.binary_cross_entropy_with_logits(vq.decode(z_q_st), x_batch, reduction="sum") / len(x_batch)
(grad_z_e,) = torch.autograd.grad(recon, z_e_batch)

z_q_leaf = vq.lookup(out.indices).detach().requires_grad_()  # the codes themselves, as a leaf
recon_at_codes = F.binary_cross_entropy_with_logits(vq.decode(z_q_leaf), x_batch, reduction="sum") / len(x_batch)
(grad_codes,) = torch.autograd.grad(recon_at_codes, z_q_leaf)
print(f"max |grad wrt z_e - grad wrt z_q| = {(grad_z_e - grad_codes).abs().max():.1e}; "
      f"gradient norm {grad_codes.norm():.3f}")
assert torch.allclose(grad_z_e, grad_codes, atol=1e-6) and grad_codes.norm() > 0

# without the trick, the reconstruction loss never reaches the encoder
vq.zero_grad()
hard = vq.lookup(vq.encode_indices(x_batch))  # plain lookup of the nearest codes
F.binary_cross_entropy_with_logits(vq.decode(hard), x_batch, reduction="sum").backward()
first_conv = vq.encoder.net[0].weight
print(f"encoder gradient without straight-through: {first_conv.grad}")
assert first_conv.grad is None
vq.zero_grad()

# %% [markdown]
# The copied gradient is an approximation: it tells $z$ how the loss would
# change if $z_q$ moved, although $z_q$ only moves when $z$ crosses into
# another code's cell. It works because the next two loss terms keep $z$ close
# to its code, where the approximation is good.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. Three loss terms, and what $\beta$ does
#
# Per example (summed over pixels and code positions) and averaged over the batch:
#
# $$\mathcal{L} = \underbrace{-\log p(x \mid z_q)}_{\text{reconstruction}}
# + \underbrace{\|\mathrm{sg}(z_e) - e\|^2}_{\text{codebook}}
# + \underbrace{\beta\,\|z_e - \mathrm{sg}(e)\|^2}_{\text{commitment}}$$
#
# * the **reconstruction** term trains decoder and (through the straight-through
#   copy) encoder;
# * the **codebook** term moves each chosen code towards the encoder outputs
#   that picked it (it is a k-means step done by gradient descent);
# * the **commitment** term stops the encoder outputs from drifting away from
#   their codes; $\beta = 0.25$ in the paper.
#
# There is no KL term: with a uniform prior over codes and an encoder that puts
# all its probability on one code, $KL(q \,\|\, p) = \log K$ per position, a
# constant. So nothing pushes the code towards uselessness, and the *[posterior
# collapse](glossary.md#posterior-collapse)* of lesson 04 cannot happen. First, the library's terms recomputed by hand:

# %%
terms = vqvae_loss(vq, x_batch, out)
e = vq.lookup(out.indices)
by_hand = {
    "recon": F.binary_cross_entropy_with_logits(out.decoded, x_batch, reduction="none").sum((1, 2, 3)).mean(),
    "codebook": ((out.z_e.detach() - e) ** 2).sum((1, 2, 3)).mean(),
    "commitment": vq.quantizer.beta * ((out.z_e - e.detach()) ** 2).sum((1, 2, 3)).mean(),
}
for name, value in by_hand.items():
    print(f"{name:>10}: library {getattr(terms, name).item():8.4f}   by hand {value.item():8.4f}")
    assert torch.allclose(getattr(terms, name), value, rtol=1e-5)
assert torch.allclose(terms.loss, sum(by_hand.values()), rtol=1e-5)

# %% [markdown]
# Now the effect of $\beta$. We train the same model with $\beta = 0.05$ and
# $\beta = 2$ next to our $\beta = 0.25$ model and measure on the test set the
# squared distance between encoder outputs and their codes (the codebook term),
# the squared length of the encoder outputs, and the reconstruction error.

# %%
sweep = {0.25: vq}
for beta in (0.05, 2.0):
    sweep[beta], _ = train_vqvae(beta=beta, restart_after=20, track=False)
rows = []
for beta in sorted(sweep):
    model = sweep[beta].eval()
    with torch.no_grad():
        t = vqvae_loss(model, x_test.to(dev))
        length = model.encode(x_test.to(dev)).pow(2).sum((1, 2, 3)).mean().item()
    rows.append((beta, t.codebook.item(), length, t.recon.item()))
    print(f"beta = {beta:4}: ||z_e - e||^2 = {rows[-1][1]:6.3f}   ||z_e||^2 = {length:7.2f}   "
          f"relative {rows[-1][1] / length:.3f}   reconstruction {rows[-1][3]:6.2f} nats")

distance, length, recon = ([r[i] for r in rows] for i in (1, 2, 3))
relative = [d / n for d, n in zip(distance, length)]
assert distance[0] > distance[1] > distance[2] and distance[0] / distance[2] > 5
assert length[0] > length[1] > length[2] and length[0] / length[2] > 5
assert max(relative) / min(relative) < 2 and max(recon) / min(recon) < 1.5

# %% [markdown]
# Raising $\beta$ does bring the encoder outputs closer to their codes: the
# squared distance falls many times over between $\beta = 0.05$ and $\beta = 2$.
# But the squared length of the outputs falls by a similar factor. The encoder
# escapes the penalty by shrinking its whole latent space (the codes follow, and
# the decoder undoes the scale), so *relative* to the length of the vectors the
# quantisation error barely moves, and neither does the reconstruction. Over this
# wide range $\beta$ mostly sets the scale of the latent space, in line with the
# VQ-VAE paper's remark that its results did not change for $\beta$ between 0.1
# and 2.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Codebook health: dead codes and how to revive them
#
# A code that no encoder output picks receives no gradient from the codebook
# term, so it never moves and stays unpicked: it is **dead**. Two numbers
# summarise the health of a codebook on a data set:
#
# * the fraction of the $K$ codes that are used at all;
# * the **[perplexity](glossary.md#perplexity)** $\exp(-\sum_k p_k\log p_k)$ of the usage frequencies $p_k$:
#   the effective number of codes, between 1 and $K$.
#
# Our model so far used `restart_after=20`: a code idle for 20 training steps is
# moved onto a randomly chosen encoder output of the current batch. Here are two
# models without restarts: one whose codebook learns by its loss term (the
# "plain" VQ-VAE), and one whose codes are exponential moving averages (EMA) of
# the encoder outputs assigned to them, the variant used in the VQ-VAE paper's
# appendix.

# %%
plain, hist_plain = train_vqvae()
ema, hist_ema = train_vqvae(ema=True)
health = {"plain": hist_plain, "EMA": hist_ema, "restart": hist_restart}
codebook_health(health, K)

# %%
for name, h in health.items():
    print(f"{name:>8}: codes used (training set) {h['data_used'][0]:.1%} before training, "
          f"{h['data_used'][1]:.1%} after one epoch, {h['data_used'][-1]:.1%} at the end; "
          f"perplexity {h['data_perplexity'][-1]:.0f}")
assert hist_plain["data_used"][1] < hist_plain["data_used"][0] / 2  # codes die in the first epoch
assert hist_plain["data_used"][-1] < 0.15 and hist_ema["data_used"][-1] < 0.15
assert hist_restart["data_used"][-1] > 0.85 and hist_restart["data_perplexity"][-1] > K / 2

# %% [markdown]
# Right at the start the codes sit in a tiny ball around 0 and the encoder
# outputs point in a few directions, so a handful of codes win everything and
# the rest die within the first epoch. Without restarts the plain model never
# recovers more than a few percent of its codebook. EMA updates change how
# *live* codes move, but a code that never wins a vector never moves either, so
# here EMA alone does not revive anything. Restarts do: within a few epochs
# nearly every code is in use and the perplexity is in the hundreds.
#
# Sorted usage counts on the test set, and what it costs the reconstruction:

# %%
counts = {name: codebook_stats(model, x_test).counts for name, model in
          (("plain", plain), ("EMA", ema), ("restart", vq))}
code_usage(counts, title="test set: vectors per code")

# %%
recon_by_model = {}
for name, model in (("plain", plain), ("EMA", ema), ("restart", vq)):
    with torch.no_grad():
        recon_by_model[name] = vqvae_loss(model.eval(), x_test.to(dev)).recon.item()
    print(f"{name:>8}: {int((counts[name] > 0).sum()):3d} codes used on the test set, "
          f"test reconstruction {recon_by_model[name]:.2f} nats")
assert recon_by_model["restart"] < 0.8 * min(recon_by_model["plain"], recon_by_model["EMA"])

# %% [markdown]
# Other remedies you will meet: initialising the codebook from encoder outputs
# (k-means style), lower-dimensional codes, and $\ell_2$-normalised codes
# (section 7). Dead-code restarts are the simplest and, here, enough.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. A prior over code maps: generating new digits
#
# The decoder turns any 2x2 code map into an image, but which maps are *likely*?
# Drawing the four codes uniformly ignores everything the training set says. A
# generative VQ-VAE fits a second model, a **prior** $p(k)$ over code maps, on the
# encoded training set. Ours is a small PixelCNN
# (`genlearn.models.CodePrior`): reading the map in raster order,
#
# $$\log p(k) = \sum_i \log p(k_i \mid k_{<i}),$$
#
# each conditional coming from masked convolutions that cannot see position $i$
# or anything after it. We hold out the last 150 training maps to stop training
# when the prior starts memorising, then measure it on the test maps in
# **bits per code**; a uniform prior costs exactly $\log_2 K = 9$ bits.

# %%
codes_train = vq.encode_indices(x_train.to(dev)).cpu()
seed_everything(0, threads=1)
prior = CodePrior(K, vq.code_shape, channels=32, layers=3, dropout=0.5)
prior_history = fit_code_prior(prior, codes_train[:-150], 20, val_codes=codes_train[-150:])
with torch.no_grad():
    prior_test = code_prior_loss(prior.eval(), codes_test.to(dev))
bits_prior, bits_uniform = prior_test.bits_per_code.item(), math.log2(K)
print(f"best epoch {int(prior_history['best_epoch'][0]) + 1}; test: {bits_prior:.2f} bits per code "
      f"with the prior vs {bits_uniform:.0f} bits uniform")
assert bits_prior < bits_uniform - 1

# %% [markdown]
# Because the encoder is deterministic, the reconstruction error plus the code
# cost is an upper bound on $-\log p(x)$, the number of nats needed to describe a
# test digit exactly. Per pixel, in bits:

# %%
pixels = x_test[0].numel()
bound_uniform = (recon_test + 4 * math.log(K)) / (pixels * math.log(2))
bound_prior = (recon_test + prior_test.loss.item()) / (pixels * math.log(2))
print(f"bits per pixel: {bound_uniform:.3f} with uniform codes, {bound_prior:.3f} with the learned prior "
      f"(a binary pixel costs 1 bit with no model at all)")
assert bound_prior < bound_uniform < 1

# %% [markdown]
# Now sample: 32 code maps from the prior and 32 drawn uniformly, each decoded by
# the same decoder.

# %%
gen = torch.Generator().manual_seed(0)
from_prior = vq.set_prior(prior).sample(32, generator=gen).cpu()
from_uniform = vq.decode_indices(uniform_codes(32, vq.code_shape, K, generator=gen).to(dev)).cpu()
fig_prior = image_grid(from_prior, ncols=16, title="codes from the PixelCNN prior")
fig_uniform = image_grid(from_uniform, ncols=16, title="codes drawn uniformly")
display(fig_prior, fig_uniform)

# %% [markdown]
# To put a number on "looks like a digit", measure how far each sample is from
# its nearest training image (squared distance over the 64 pixels):

# %%
def distance_to_training_set(images):
    return torch.cdist(images.flatten(1), x_train.flatten(1)).pow(2).min(dim=1).values.mean().item()


d_prior, d_uniform = distance_to_training_set(from_prior), distance_to_training_set(from_uniform)
print(f"mean squared distance to the nearest training digit: prior samples {d_prior:.2f}, "
      f"uniform codes {d_uniform:.2f}")
assert d_prior < 0.8 * d_uniform

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. What does a code mean?
#
# Each code is a vector the decoder has learned to read. Filling all four
# positions with one code shows what that code paints; here are the 32 codes
# used most on the test set.

# %%
top = torch.argsort(stats_test.counts, descending=True)[:32]
image_grid(code_atlas(vq, top), ncols=16, title="the 32 most used codes, each repeated over the 2x2 map")

# %% [markdown]
# The widget lets you pick any code, and edit the code map of a test digit one
# position at a time (try copying a code from one position to another).

# %% tags=["nbval-ignore-output"]
code_explorer(vq, x_test[0])

# %% [markdown]
# Behind it are plain functions. The receptive fields of the decoder's
# transposed convolutions make each position of the 2x2 map paint mostly its own
# quarter of the image; let us check that by changing the top-left code:

# %%
start = codes_test[0]
before = decode_code_map(vq, start)
changed = edit_code_map(vq, start, 0, 0, int(top[0]) if int(top[0]) != int(start[0, 0]) else int(top[1]))
change = (decode_code_map(vq, changed) - before).abs()[0]
quarters = {"top-left": change[:4, :4].sum(), "top-right": change[:4, 4:].sum(),
            "bottom-left": change[4:, :4].sum(), "bottom-right": change[4:, 4:].sum()}
print({name: round(v.item(), 2) for name, v in quarters.items()})
assert max(quarters, key=quarters.get) == "top-left"

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 8. Where the idea went next
#
# * **VQ-VAE-2** (Razavi et al., 2019) quantises twice: a small top map for the
#   global layout and a larger bottom map, conditioned on it, for detail. Each
#   level gets its own PixelCNN prior (with self-attention at the top), and the
#   samples rivalled the best [GANs](glossary.md#gan) of the time.
# * **ViT-VQGAN** (Yu et al., 2022) improves codebook use with two tricks. Codes
#   are *factorised*: the nearest-code search runs in a low-dimensional space
#   (e.g. 32-d) and the result is projected back up. And codes are
#   **$\ell_2$-normalised**, so all have length 1 and the squared distance
#   $\|a - b\|^2 = 2 - 2\cos(a, b)$ depends only on the angle: the nearest code is
#   the one with the highest cosine similarity.
# * **MaskGIT** (Chang et al., 2022) replaces the raster-order prior with a
#   bidirectional transformer trained to fill in randomly masked codes. It
#   generates a whole map in about 8-12 parallel refinement steps instead of one
#   step per position.
#
# The $\ell_2$ identity, checked on random vectors:

# %%
gen = torch.Generator().manual_seed(1)
a = F.normalize(torch.randn(1000, 32, generator=gen), dim=1)
b = F.normalize(torch.randn(64, 32, generator=gen), dim=1)
sq_dist = torch.cdist(a, b).pow(2)
assert torch.allclose(sq_dist, 2 - 2 * a @ b.T, atol=1e-5)
assert torch.equal(sq_dist.argmin(1), (a @ b.T).argmax(1))
print("for unit vectors, nearest code = most similar direction: checked on 1000 x 64 pairs")

# %% [markdown]
# Our PixelCNN must run once per position of the map, one after the other. We
# count its calls while it samples a batch:

# %%
calls = []
hook = prior.register_forward_hook(lambda module, inputs, output: calls.append(1))
prior.sample(8, generator=torch.Generator().manual_seed(0))
hook.remove()
print(f"{len(calls)} sequential network calls for a {vq.code_shape[0]}x{vq.code_shape[1]} map")
assert len(calls) == math.prod(vq.code_shape)

# %% [markdown]
# On a 32x32 token map that becomes 1024 sequential calls; MaskGIT's ~10
# refinement steps are why it samples so much faster.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# | | VAE (lesson 04) | VQ-VAE |
# |---|---|---|
# | latent | a point in $\mathbb{R}^d$, drawn from $q(z\mid x)$ | a map of integers in $[0, K)$ |
# | gradient through the [bottleneck](glossary.md#bottleneck) | reparameterisation | straight-through copy |
# | regulariser | KL to $N(0, I)$ (can collapse) | codebook + commitment terms (no KL) |
# | generating | decode $z \sim N(0, I)$ | sample a code map from a learned prior, decode |
# | typical trouble | blur, posterior collapse | [dead codes](glossary.md#dead-code) (fixed by restarts) |
#
# Every number above was computed in this notebook by `genlearn.models`
# (`VQVAE`, `VectorQuantizer`, `CodePrior`); try the exercises in
# `exercises/05_vqvae.ipynb` to write the key pieces yourself.
#
# **Glossary** - codebook 码本 · [vector quantisation](glossary.md#vector-quantisation) 向量量化 · code map 码图 ·
# nearest-neighbour lookup 最近邻查找 · straight-through estimator 直通估计器 ·
# stop-gradient 停止梯度 · [commitment loss](glossary.md#commitment-loss) 承诺损失 · dead code 死码 ·
# perplexity 困惑度 · prior 先验 · [autoregressive](glossary.md#autoregressive) 自回归 · masked convolution 掩码卷积
