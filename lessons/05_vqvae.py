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
# VAE (VQ-VAE, van den Oord et al., 2017) describes it by a small grid of
# *integers*: each piece of the [encoder](glossary.md#encoder)'s output is replaced by the nearest entry
# of a learned **[codebook](glossary.md#codebook)** (码本) of $K$ vectors. In this lesson we
#
# 1. put a continuous and a discrete [latent space](glossary.md#latent-space) side by side;
# 2. see why "take the [nearest code](glossary.md#nearest-neighbour-lookup)" has no gradient, and fix it with the
#    [straight-through estimator](glossary.md#straight-through-estimator) (checked numerically);
# 3. take the loss apart - [reconstruction](glossary.md#reconstruction), codebook and commitment terms - and
#    measure what the weight $\beta$ does, over several seeds;
# 4. watch the VQ-VAE's own kind of collapse, [dead codes](glossary.md#dead-code), and bring them back - and measure
#    whether the healthier codebook is the better model (it need not be);
# 5. fit a [prior](glossary.md#prior) over [code maps](glossary.md#code-map) to generate new garments, and score it
#    against trivial baselines;
# 6. place VQ-VAE-2, ViT-VQGAN and MaskGIT in the story.
#
# The data are 28x28 [Fashion-MNIST](glossary.md#fashion-mnist) images on 256 grey levels. The [decoder](glossary.md#decoder)'s [likelihood](glossary.md#likelihood) is
# the [discretized logistic](glossary.md#discretized-logistic) of lesson 04 (a true likelihood of grey levels), so every
# reconstruction error below is a negative log-likelihood, reported in
# [bits per dimension](glossary.md#bits-per-dimension) (bits per pixel) beside what trivial models cost.
# Comparisons between settings are **[verdicts](glossary.md#verdict) over seeds** (`genlearn.verdict.compare`):
# HOLDS, DOES NOT, or INCONCLUSIVE when the seeds cannot decide at this budget.

# %% slideshow={"slide_type": "skip"}
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from IPython.display import display

from genlearn import pretrained, seed_everything
from genlearn.data import FASHION_CLASSES
from genlearn.evaluate import (
    IndependentPixels,
    bits_per_dim,
    codebook_stats,
    codebook_tracker,
    uniform_codes_bits_per_dim,
    vq_bound,
)
from genlearn.models import VAE, VQVAE, CodePrior, VectorQuantizer, vae_loss, vqvae_loss
from genlearn.models.base import map_batches
from genlearn.models.code_prior import code_prior_loss, uniform_codes
from genlearn.recipes import fit_code_prior
from genlearn.sample_quality import confidence_line, frechet, frechet_reference, sharpness
from genlearn.scale import base_seed, current, fashion, lesson_threads
from genlearn.train import fit, seeded_run
from genlearn.verdict import DOES_NOT, HOLDS, column, compare, run_by_run, verdict_table
from genlearn.viz import image_grid
from genlearn.viz.codebook import code_usage, codebook_health, latent_spaces
from genlearn.widgets.vq import code_atlas, code_explorer, decode_code_map, edit_code_map

S = current()                      # the scale: GENLEARN_SCALE=laptop (default) or full
SEED = base_seed()                 # GENLEARN_SEED, default 0; every seed below is SEED + k
seed_everything(SEED, threads=lesson_threads())   # GENLEARN_THREADS, default one: the same bits on every run
train, test = fashion(S)
x_train, x_test = train.x, test.x
D = x_train[0].numel()             # 784 pixels
K = 512                            # codebook size of every VQ-VAE below
SEEDS = [SEED + k for k in range(3)]
RUN_BY_RUN = S.asserts_run_by_run  # at least 20 runs of evidence: the laptop scale; printed at the full scale
x_small = x_train[: S.n_train // 6]   # training subset of the several-seed experiments (sections 4 and 5)
x_eval = x_test[: S.n_test // 2]      # and their test subset


def train_vqvae(seed, x=x_small, epochs=None, batch_size=25, lr=3e-3, track=False, **options):
    """A VQ-VAE for 28x28 images (7x7 code maps, K codes of length 16, discretized-logistic decoder).
    With ``track`` the history records the codebook usage on ``x`` before training and after each epoch."""
    epochs = S.epochs(2) if epochs is None else epochs
    model, history = seeded_run(  # seed (GENLEARN_THREADS threads), build, fit
        seed, lambda: VQVAE((1, 28, 28), num_codes=K, code_dim=16, channels=S.channels, likelihood="logistic", **options),
        lambda m: fit(m, vqvae_loss, x, epochs, batch_size=batch_size, lr=lr, seed=seed, progress=False,
                      device=S.device, after_epoch=codebook_tracker(x, model=m) if track else None))
    return model.eval(), history


def recon_bits(model, x):
    """-log2 p(x | z_q(x)) / D, averaged over the images: the distortion, in bits per pixel."""
    codes = map_batches(model.encode_indices, model, x)
    with torch.no_grad():
        log_p = torch.cat([model.log_px_given_codes(x[i : i + 1000].to(S.device), codes[i : i + 1000]).cpu()
                           for i in range(0, len(x), 1000)])
    return float(bits_per_dim(-log_p.mean(), D))


pixels_baseline = IndependentPixels(x_train)     # every pixel its own categorical over 256 grey levels
bpd_pixels = pixels_baseline.bits_per_dim(x_test)
print(f"Fashion-MNIST ({S.name} scale): train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, "
      f"{pixels_baseline.levels} grey levels; device {S.device}; seeds {SEEDS}")
print(f"baseline: independent pixels fitted to the training set cost {bpd_pixels:.3f} bits/dim on the test set "
      f"(8 bits/dim for no model at all)")
assert bpd_pixels < 8

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Continuous versus discrete latents
#
# We train two models on the same garments:
#
# * a VAE with a 2-D latent space (lesson 04), so we can draw it;
# * a VQ-VAE whose convolutional encoder turns each 28x28 image into a 7x7 map of
#   16-dimensional vectors; every vector is snapped to the nearest of $K = 512$
#   codebook vectors, and the [decoder](glossary.md#decoder) rebuilds the image from the snapped map.
#
# (This VQ-VAE already uses *dead-code restarts*; section 5 explains why.)

# %%
def train_pair(seed):
    """The 2-D VAE and the VQ-VAE of this section, trained with ``seed``."""
    vae, _ = seeded_run(seed, lambda: VAE((1, 28, 28), latent_dim=2, hidden=S.hidden, likelihood="logistic"),
                        lambda m: fit(m, vae_loss, x_train, S.epochs(3), batch_size=100, lr=2e-3, seed=seed,
                                      progress=False, device=S.device))
    vq, _ = train_vqvae(seed, x=x_train, epochs=S.epochs(3), batch_size=100, lr=2e-3, restart_after=20)
    return vae.eval(), vq


pairs = {s: train_pair(s) for s in SEEDS}  # three seeds for the comparison below; the first is shown
vae, vq = pairs[SEED]
print(vq.quantizer)
print(f"an image becomes a code map of shape {vq.code_shape}")

# %%
with torch.no_grad():
    mu = map_batches(lambda x: vae.encode(x).mu, vae, x_test)
    z_e = map_batches(vq.encode, vq, x_test[:300]).movedim(1, -1).reshape(-1, vq.code_dim)  # (300 * 49, 16)
codes_test = map_batches(vq.encode_indices, vq, x_test)
stats_test = codebook_stats(vq, x_test)
latent_spaces(mu, test.y, z_e, vq.quantizer.codebook.detach().cpu(), stats_test.counts, class_names=FASHION_CLASSES)

# %% [markdown]
# On the left, every point of the plane is a valid code that the decoder can
# read. On the right, the grey cloud is what the encoder produces and the dots are the
# codebook; both are 16-dimensional, so the panel shows their **projection on the two
# principal axes** of the encoder outputs ([PCA](glossary.md#pca), lesson 01): codes that look close here
# may be far apart in the directions left out. The decoder only ever sees the codebook
# vectors, so every test image is now 49 integers and costs at most $49\log_2 512 = 441$
# bits, whatever the encoder computed.

# %%
distinct_vae = len(torch.unique(mu, dim=0))
distinct_z_e = len(torch.unique(z_e, dim=0))
distinct_codes = len(torch.unique(codes_test))
print(f"{len(x_test)} test images: {distinct_vae} distinct VAE latent points")
print(f"VQ-VAE: {distinct_z_e} distinct encoder vectors in 300 images, snapped to {distinct_codes} distinct codes "
      f"(of K = {K}) over all test images; an image costs at most {49 * math.log2(K):.0f} bits")
assert distinct_vae == len(x_test)
assert distinct_codes <= K < distinct_z_e and 49 * math.log2(K) == 441

def recon_scores(s):
    """Sharpness and squared error per image of both models' test reconstructions, seed ``s``."""
    found = {}
    for name, model in zip(("2-D VAE", "VQ-VAE"), pairs[s]):
        recon = map_batches(model.reconstruct, model, x_test).clamp(0, 1)
        found[name] = {"recon": recon, "sharpness": float(sharpness(recon).mean()),
                       "sq_err": float((recon - x_test).pow(2).flatten(1).sum(1).mean())}
    return found


scores1 = {s: recon_scores(s) for s in SEEDS}
recon_vq, recon_vae = scores1[SEED]["VQ-VAE"]["recon"], scores1[SEED]["2-D VAE"]["recon"]
sharp_real = float(sharpness(x_test).mean())
for key in ("sharpness", "sq_err"):
    print(f"{key:9s} " + ", ".join(f"{name} {[round(scores1[s][name][key], 3) for s in SEEDS]}"
                                   for name in ("VQ-VAE", "2-D VAE")) + f"  (real images' sharpness {sharp_real:.3f})")


recon_verdicts = [
    compare("VQ-VAE reconstructions sharper than the 2-D VAE's", column((scores1[s]["VQ-VAE"] for s in SEEDS), "sharpness"),
            column((scores1[s]["2-D VAE"] for s in SEEDS), "sharpness"), "higher"),
    compare("VQ-VAE reconstructions closer to the images (squared error)", column((scores1[s]["VQ-VAE"] for s in SEEDS), "sq_err"),
            column((scores1[s]["2-D VAE"] for s in SEEDS), "sq_err"), "lower"),
]
print(verdict_table(recon_verdicts))
assert all(v.verdict == HOLDS for v in recon_verdicts)
sharp = {"real": sharp_real, **{name: scores1[SEED][name]["sharpness"] for name in ("VQ-VAE", "2-D VAE")}}
sq_err = {name: scores1[SEED][name]["sq_err"] for name in ("VQ-VAE", "2-D VAE")}
run_by_run("VQ-VAE reconstructions above 0.6 of the real images' sharpness and 1.05 times the 2-D VAE's",
           (scores1[s]["VQ-VAE"]["sharpness"] > max(0.6 * sharp_real, 1.05 * scores1[s]["2-D VAE"]["sharpness"])
            for s in SEEDS), enforce=RUN_BY_RUN)
run_by_run("VQ-VAE squared error below half the 2-D VAE's",
           (scores1[s]["VQ-VAE"]["sq_err"] < 0.5 * scores1[s]["2-D VAE"]["sq_err"] for s in SEEDS), enforce=RUN_BY_RUN)
image_grid(torch.cat([x_test[:12], recon_vq[:12], recon_vae[:12]]), ncols=12,
           title="test images | VQ-VAE reconstructions | 2-D VAE reconstructions")

# %% [markdown]
# The top row shows test garments, the second row their VQ-VAE reconstructions, the third
# the 2-D VAE's reconstructions of the same garments (the VQ-VAE's samples need the prior of
# section 6). The VQ-VAE's 49 codes keep the outline, the collar and the light and dark
# regions. Measured over three seeds (the verdict table), its reconstructions are sharper than the
# VAE's and closer to the images; for the seed shown, less than half the 2-D VAE's squared error and
# only part of the real images' sharpness (more than 60 %; the printed values give the ratio): the fine texture of the fabric is what a short
# training run on 7x7 codes loses first. (A 2-D latent is a much smaller [bottleneck](glossary.md#bottleneck); the point
# is what a 7x7 map of codes keeps, not a fair race.)

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
ax.set_title("quantisation is a staircase: flat (zero gradient) between jumps")

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
vq = vq.to(S.device)
x_batch = x_test[:16].to(S.device)
out = vq(x_batch)


def recon_nats(decoded):
    """-log p(x_batch | decoded) per image, averaged: the model's own discretized logistic."""
    return vq.px_given_z.nll_sum(decoded, x_batch) / len(x_batch)


z_e_batch = out.z_e.detach().requires_grad_()  # the encoder output, as a leaf
z_q_st = z_e_batch + (vq.lookup(out.indices) - z_e_batch).detach()  # straight-through, step by step
assert torch.equal(z_q_st, out.z_q)  # same values as the library's quantiser
(grad_z_e,) = torch.autograd.grad(recon_nats(vq.decode(z_q_st)), z_e_batch)

z_q_leaf = vq.lookup(out.indices).detach().requires_grad_()  # the codes themselves, as a leaf
(grad_codes,) = torch.autograd.grad(recon_nats(vq.decode(z_q_leaf)), z_q_leaf)
print(f"max |grad wrt z_e - grad wrt z_q| = {(grad_z_e - grad_codes).abs().max():.1e}; "
      f"gradient norm {grad_codes.norm():.3f}")
assert torch.allclose(grad_z_e, grad_codes, atol=1e-6) and grad_codes.norm() > 0

# without the trick, the reconstruction loss never reaches the encoder
vq.zero_grad()
hard = vq.lookup(vq.encode_indices(x_batch))  # plain lookup of the nearest codes
recon_nats(vq.decode(hard)).backward()
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
#   that picked it (a k-means step done by gradient descent);
# * the **commitment** term ([commitment loss](glossary.md#commitment-loss)) stops the encoder outputs from drifting away from
#   their codes; $\beta = 0.25$ in the paper.
#
# There is no KL term: with a uniform prior over codes and an encoder that puts
# all its probability on one code, $KL(q \,\|\, p) = \log K$ per position, a
# constant. So the KL cannot switch the code off, and the *[posterior
# collapse](glossary.md#posterior-collapse)* of lesson 04 does not happen in that form. The VQ-VAE has its own kind of
# collapse instead, which section 5 measures. First, the library's terms recomputed by hand:

# %%
terms = vqvae_loss(vq, x_batch, out)
e = vq.lookup(out.indices)
by_hand = {
    "recon": recon_nats(out.decoded),
    "codebook": ((out.z_e.detach() - e) ** 2).sum((1, 2, 3)).mean(),
    "commitment": vq.quantizer.beta * ((out.z_e - e.detach()) ** 2).sum((1, 2, 3)).mean(),
}
for name, value in by_hand.items():
    print(f"{name:>10}: library {getattr(terms, name).item():10.4f}   by hand {value.item():10.4f}")
    assert torch.allclose(getattr(terms, name), value, rtol=1e-5)
assert torch.allclose(terms.loss, sum(by_hand.values()), rtol=1e-5)

# %% [markdown]
# Now the effect of $\beta$. We train the same model with $\beta = 0.05$, $0.25$ and
# $2$, each with three seeds (a smaller subset and budget than above, so that nine runs fit
# in a few seconds each), and measure on the test set the squared distance
# $\|z_e - e\|^2$ between encoder outputs and their codes (the codebook term), the squared
# length $\|z_e\|^2$ of the encoder outputs, their ratio, and the reconstruction cost in bits/dim.

# %%
BETAS = (0.05, 0.25, 2.0)
sweep, histories = {}, {}
for beta in BETAS:
    for s in SEEDS:
        model, hist = train_vqvae(s, beta=beta, restart_after=20, track=beta == 0.25)
        with torch.no_grad():
            z = map_batches(model.encode, model, x_eval)
            e = model.lookup(model.quantizer.nearest(z.to(S.device))).cpu()
        distance = float((z - e).pow(2).sum((1, 2, 3)).mean())
        length = float(z.pow(2).sum((1, 2, 3)).mean())
        sweep[beta, s] = {"distance": distance, "length": length, "relative": distance / length,
                          "recon bits/dim": recon_bits(model, x_eval)}
        if beta == 0.25:
            histories["restart", s] = (model, hist)
for beta in BETAS:
    print(f"beta = {beta:4}: " + "   ".join(
        f"{key} " + "/".join(f"{sweep[beta, s][key]:.3g}" for s in SEEDS) for key in sweep[beta, SEEDS[0]]))


beta_verdicts = [  # the squared lengths change many-fold, so they are compared as logarithms (ratios)
    compare("beta 2 has a smaller log ||z_e - e||^2 than beta 0.05", column((sweep[2.0, s] for s in SEEDS), "distance", log=True),
            column((sweep[0.05, s] for s in SEEDS), "distance", log=True)),
    compare("beta 2 has a smaller log ||z_e||^2 than beta 0.05", column((sweep[2.0, s] for s in SEEDS), "length", log=True),
            column((sweep[0.05, s] for s in SEEDS), "length", log=True)),
    compare("beta 2 has a smaller log relative error ||z_e - e||^2 / ||z_e||^2",
            column((sweep[2.0, s] for s in SEEDS), "relative", log=True), column((sweep[0.05, s] for s in SEEDS), "relative", log=True)),
    compare("beta 2 reconstructs better (bits/dim) than beta 0.05",
            column((sweep[2.0, s] for s in SEEDS), "recon bits/dim"), column((sweep[0.05, s] for s in SEEDS), "recon bits/dim")),
]
print(verdict_table(beta_verdicts))
shrink_distance, shrink_length = math.exp(-beta_verdicts[0].effect), math.exp(-beta_verdicts[1].effect)
print(f"from beta 0.05 to 2 (geometric mean over the seeds): ||z_e - e||^2 falls {shrink_distance:.1f}x, "
      f"||z_e||^2 falls {shrink_length:.1f}x")
assert beta_verdicts[0].verdict == HOLDS and beta_verdicts[1].verdict != DOES_NOT
run_by_run("beta 2 shrinks ||z_e||^2 below beta 0.05's", (sweep[2.0, s]["length"] < sweep[0.05, s]["length"] for s in SEEDS),
           enforce=RUN_BY_RUN)
assert shrink_distance > 2 and shrink_length > 2 and 0.2 < shrink_distance / shrink_length < 5  # the same order

# %% [markdown]
# Read the table (the squared lengths are compared as logarithms, since they change many-fold:
# an effect of -2.3 means a tenfold fall). Raising $\beta$ does bring the encoder outputs closer
# to their codes: the squared distance falls several times over between $\beta = 0.05$ and
# $\beta = 2$ (HOLDS). But the squared length of the encoder outputs falls too, on every seed
# (run by run at the laptop scale; its verdict HOLDS unless one seed shrinks much less than the others, and then reads
# INCONCLUSIVE), by a factor of the same order (within 5x of the distance's, asserted): the encoder escapes much of the penalty by shrinking its whole latent space
# (the codes follow, and the decoder undoes the scale). The verdicts on the relative error and on
# reconstruction say what is left once the scale is divided out - the relative error - and what happens to the reconstruction;
# where they read INCONCLUSIVE, three seeds at this budget cannot tell. The VQ-VAE paper
# reports that its results hardly changed for $\beta$ between 0.1 and 2; the printed rows are
# what our budget measures, and where they read DOES NOT for "beta 2 reconstructs better",
# a large $\beta$ costs some reconstruction here.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Codebook health: dead codes, index collapse, and how to revive them
#
# A code that no encoder output picks receives no gradient from the codebook
# term, so it never moves and stays unpicked: it is **[dead](glossary.md#dead-code)**. When most codes die, the
# model uses a handful of the $K$ codes: **[index collapse](glossary.md#index-collapse)**, the VQ-VAE's own kind of
# collapse (the KL-free loss rules out lesson 04's posterior collapse, not this). Two numbers
# summarise the health of a codebook on a data set:
#
# * the fraction of the $K$ codes that are used at all;
# * the **[perplexity](glossary.md#perplexity)** $\exp(-\sum_k p_k\log p_k)$ of the usage frequencies $p_k$:
#   the effective number of codes, between 1 and $K$.
#
# The $\beta = 0.25$ runs above used `restart_after=20`: a code idle for 20 training steps is
# moved onto a randomly chosen encoder output of the current batch. Here are, with the same
# three seeds, two kinds of model without restarts: one whose codebook learns by its loss term
# (the "plain" VQ-VAE), and one whose codes are [exponential moving averages](glossary.md#ema) (EMA) of the
# encoder outputs assigned to them, the variant of the VQ-VAE paper's appendix.

# %%
for s in SEEDS:
    histories["plain", s] = train_vqvae(s, track=True)
    histories["EMA", s] = train_vqvae(s, track=True, ema=True)
VARIANTS = ("plain", "EMA", "restart")
codebook_health({name: histories[name, SEED][1] for name in VARIANTS}, K)

# %%
health = {}
for name in VARIANTS:
    for s in SEEDS:
        model, hist = histories[name, s]
        st = codebook_stats(model, x_eval)
        health[name, s] = {"start": hist["data_used"][0], "used": st.used, "perplexity": st.perplexity}
    print(f"{name:>8}: codes used (training subset) before training "
          + "/".join(f"{histories[name, s][1]['data_used'][0]:.1%}" for s in SEEDS)
          + "; codes used on the test subset at the end " + "/".join(f"{health[name, s]['used']:.1%}" for s in SEEDS)
          + "; perplexity " + "/".join(f"{health[name, s]['perplexity']:.0f}" for s in SEEDS))


health_verdicts = [  # usage differs many-fold between the variants: compared as logarithms (ratios)
    compare("restarts use more codes than the plain VQ-VAE (log)", column((health["restart", s] for s in SEEDS), "used", log=True),
            column((health["plain", s] for s in SEEDS), "used", log=True), better="higher"),
    compare("restarts use more codes than EMA (log)", column((health["restart", s] for s in SEEDS), "used", log=True),
            column((health["EMA", s] for s in SEEDS), "used", log=True), better="higher"),
    compare("restarts have a higher perplexity than the plain VQ-VAE (log)", column((health["restart", s] for s in SEEDS), "perplexity", log=True),
            column((health["plain", s] for s in SEEDS), "perplexity", log=True), better="higher"),
    compare("EMA uses more codes than the plain VQ-VAE (log)", column((health["EMA", s] for s in SEEDS), "used", log=True),
            column((health["plain", s] for s in SEEDS), "used", log=True), better="higher"),
]
print(verdict_table(health_verdicts))
assert all(v.verdict == HOLDS for v in health_verdicts[:3])
run_by_run("under 10 % of the codes win before training", (health[name, s]["start"] < 0.1 for name in VARIANTS for s in SEEDS),
           enforce=RUN_BY_RUN)
run_by_run("plain and EMA use under 10 % of the codes", (health["plain", s]["used"] < 0.1 and health["EMA", s]["used"] < 0.1
                                                         for s in SEEDS), enforce=RUN_BY_RUN)
run_by_run("restarts use over 40 % of the codes", (health["restart", s]["used"] > 0.4 for s in SEEDS), enforce=RUN_BY_RUN)

# %% [markdown]
# The codebook starts as a tiny ball around 0 (PyTorch's default initialisation), and the
# encoder's first outputs point in a few directions, so a handful of codes win every vector
# before training even begins (the "before training" figures, under 10 % in every run at the laptop
# scale). Without restarts, neither the plain model nor EMA gets beyond 10 % of the codebook: index
# collapse (run by run at the laptop scale; the lines under the table count the runs). EMA changes how
# *live* codes move, but a code that never wins a vector never moves either, so EMA alone does not
# rescue the codebook here ("EMA uses more codes than the plain VQ-VAE" says whether it helps even a
# little). Restarts do: their three verdicts against the plain model and EMA HOLD over the three
# seeds, and every restart run uses more than 40 % of the codebook.
#
# Sorted usage counts on the test set (base seed):

# %%
code_usage({name: codebook_stats(histories[name, SEED][0], x_test).counts for name in VARIANTS},
           title="test set: vectors per code")

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Is the healthier codebook the better model? Rate and distortion
#
# A code map is a message: its **rate** is what it costs to send the 49 codes, its
# **distortion** what the reconstruction still gets wrong ([rate and distortion](glossary.md#rate-distortion)). The VQ-VAE's
# bound on $-\log p(x)$ adds the two, in bits per pixel:
#
# $$-\log_2 p(x) \le \underbrace{-\log_2 p(x \mid z_q(k(x)))}_{\text{distortion}} + \underbrace{-\log_2 p(k(x))}_{\text{rate}} .$$
#
# With uniform codes the rate is the same $49\log_2 K$ bits for every model (0.5625 bits/dim
# for $K = 512$), so only the distortion differs. A fitted prior charges each model for the
# codes it actually uses. The simplest fitted prior is the counting baseline we used for
# pixels, applied to code maps: each of the 49 positions gets its own categorical over the
# $K$ codes, counted on the encoded training set (add-one smoothing). A model that uses
# few codes pays little rate; does its worse distortion outweigh that?

# %%
uniform_rate = uniform_codes_bits_per_dim(K, vq.code_shape, D)
rd = {}
for name in ("plain", "restart"):
    for s in SEEDS:
        model = histories[name, s][0]
        maps_train = map_batches(model.encode_indices, model, x_small)
        code_counts = IndependentPixels(maps_train[:, None].double() / (K - 1), levels=K)  # per-position categorical
        maps_test = map_batches(model.encode_indices, model, x_eval)
        rate = float(bits_per_dim(-code_counts.log_prob(maps_test[:, None].double() / (K - 1)).mean(), D))
        distortion = recon_bits(model, x_eval)
        rd[name, s] = {"distortion": distortion, "rate": rate, "bound": distortion + rate,
                       "bound, uniform codes": distortion + uniform_rate}
for name in ("plain", "restart"):
    print(f"{name:>8}: " + "   ".join(f"{key} " + "/".join(f"{rd[name, s][key]:.3f}" for s in SEEDS)
                                      for key in rd[name, SEEDS[0]]) + "  (bits/dim)")
rd_verdicts = [
    compare("restarts reconstruct better (lower distortion)", column((rd["restart", s] for s in SEEDS), "distortion"),
            column((rd["plain", s] for s in SEEDS), "distortion")),
    compare("restarts' codes cost more (higher rate)", column((rd["restart", s] for s in SEEDS), "rate"), column((rd["plain", s] for s in SEEDS), "rate"),
            better="higher"),
    compare("restarts give the better bound, counted-code prior", column((rd["restart", s] for s in SEEDS), "bound"),
            column((rd["plain", s] for s in SEEDS), "bound")),
]
print(verdict_table(rd_verdicts))
print(f"baselines: independent pixels {bpd_pixels:.3f} bits/dim; uniform codes alone cost {uniform_rate:.4f} bits/dim")
assert uniform_rate == 49 * math.log2(K) / D == 0.5625
assert rd_verdicts[1].verdict == HOLDS
run_by_run("the restart codebook's rate above twice the plain one's", (rd["restart", s]["rate"] > 2 * rd["plain", s]["rate"]
                                                                         for s in SEEDS), enforce=RUN_BY_RUN)
assert rd_verdicts[0].verdict != DOES_NOT

# %% [markdown]
# "Restarts' codes cost more" HOLDS: the healthy codebook's codes cost more than twice as much to
# send (in every run at the laptop scale), because a collapsed codebook says almost nothing per
# position. "Restarts reconstruct better" says whether that extra information buys a better
# reconstruction, and "restarts give the better bound" whether the sum, the bound, improves. Read the three together: a more evenly used codebook is *not
# automatically* a better model of the data; it moves the model along the rate-distortion
# trade-off, and only the sum decides. Beside the bounds, the independent-pixel
# baseline: at this small budget, compare the printed bounds with it before calling any of
# these models good.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. A prior over code maps: generating new garments
#
# The decoder turns any 7x7 code map into an image, but which maps are *likely*?
# Drawing the 49 codes uniformly ignores everything the training set says, and even the
# per-position counts above ignore how neighbouring codes go together. A generative VQ-VAE
# fits a second model, a **prior** $p(k)$ over code maps, on the encoded training set. Ours is
# a small [PixelCNN](glossary.md#pixelcnn) (`genlearn.models.CodePrior`): reading the map in raster order,
#
# $$\log p(k) = \sum_i \log p(k_i \mid k_{<i}),$$
#
# each conditional coming from [masked convolutions](glossary.md#masked-convolution) that cannot see position $i$
# or anything after it. We hold out a tenth of the training maps to stop training
# when the prior starts memorising, then measure it on the test maps in
# **bits per code**; a uniform prior costs exactly $\log_2 K = 9$ bits. One prior for each of the
# three VQ-VAEs of section 1, so that every claim below is a verdict over seeds.

# %%
def fit_prior(s):
    """A PixelCNN prior over the code maps of section 1's VQ-VAE of seed ``s``, and its test bits per code."""
    model = pairs[s][1]
    codes = map_batches(model.encode_indices, model, x_train)
    n_val = len(codes) // 10
    p, history = seeded_run(s, lambda: CodePrior(K, model.code_shape, channels=32, layers=3, kernel_size=5, dropout=0.1),
                            lambda m: fit_code_prior(m, codes[:-n_val], S.epochs(3), val_codes=codes[-n_val:], lr=3e-3,
                                                     seed=s, device=S.device))
    p.eval()
    with torch.no_grad():
        bits = code_prior_loss(p, map_batches(model.encode_indices, model, x_test).to(S.device)).bits_per_code.item()
    return p, history, bits


priors = {s: fit_prior(s) for s in SEEDS}
prior, prior_history, bits_prior = priors[SEED]
bits_uniform = math.log2(K)
print(f"best epochs {[int(priors[s][1]['best_epoch'][0]) + 1 for s in SEEDS]}; test bits per code with the "
      f"PixelCNN {[round(priors[s][2], 2) for s in SEEDS]} vs {bits_uniform:.0f} uniform")
run_by_run("the PixelCNN saves more than a bit per code", (priors[s][2] < bits_uniform - 1 for s in SEEDS), enforce=RUN_BY_RUN)

# %% [markdown]
# Because the encoder is deterministic, the bound of section 5 holds with any prior. Per
# pixel, in bits, beside the baselines:

# %%
bounds = {}
for s in SEEDS:
    model = pairs[s][1]
    uniform_bound = float(bits_per_dim(-vq_bound(model, x_test).mean(), D))      # model.prior: uniform codes
    prior_bound = float(bits_per_dim(-vq_bound(model.set_prior(priors[s][0]), x_test).mean(), D))
    bounds[s] = {"uniform codes": uniform_bound, "PixelCNN prior": prior_bound,
                 "distortion": uniform_bound - uniform_rate}
    # the prior saves exactly its bits per code times 49 / 784 per pixel
    assert abs((uniform_bound - prior_bound) - (bits_uniform - priors[s][2]) * 49 / D) < 1e-3
for key in ("uniform codes", "PixelCNN prior", "distortion"):
    print(f"VQ-VAE bound, {key:15s}: {[round(bounds[s][key], 3) for s in SEEDS]} bits/dim")
print(f"baselines: independent pixels {bpd_pixels:.3f} bits/dim; the codes alone under uniform codes {uniform_rate:.4f}")
bound_verdicts = [
    compare("the PixelCNN prior gives a lower bound than uniform codes", [bounds[s]["PixelCNN prior"] for s in SEEDS],
            [bounds[s]["uniform codes"] for s in SEEDS]),
]
print(verdict_table(bound_verdicts))
bound_uniform, bound_prior = bounds[SEED]["uniform codes"], bounds[SEED]["PixelCNN prior"]
assert bound_verdicts[0].verdict == HOLDS
run_by_run("distortion above 80 % of the bound", (bounds[s]["distortion"] > 0.8 * bounds[s]["PixelCNN prior"] for s in SEEDS),
           enforce=RUN_BY_RUN)

# %% [markdown]
# The prior saves exactly its bits per code times 49/784 per pixel (checked for every seed), and
# its bound is below the uniform codes' ("the PixelCNN prior gives a lower bound" HOLDS). Whether the
# VQ-VAE's bound beats the independent-pixel baseline is in the baseline table after the samples (in
# our runs it was close to it, on either side of it at smaller budgets). A decoder with one global
# logistic scale, trained for a few epochs, pays more than 80 % of its bits in distortion (run by run
# at the laptop scale), and no prior over codes can buy those back.
#
# Now sample: 1,000 code maps from the prior and 1,000 drawn uniformly, each decoded by
# the same decoder; the first 32 of each (seed shown) are displayed.

# %%
N_FD = 1000                                   # the course's Frechet sample size
reference = x_test[:N_FD]                     # fixed reference set: the first 1,000 test images


def prior_and_uniform_samples(s):
    model = pairs[s][1]
    sampled = model.sample(N_FD, generator=torch.Generator(device=S.device).manual_seed(s)).cpu()
    uniform = model.decode_indices(uniform_codes(N_FD, model.code_shape, K, generator=torch.Generator().manual_seed(s))
                                   .to(S.device)).cpu()
    return sampled, uniform


samples6 = {s: prior_and_uniform_samples(s) for s in SEEDS}
from_prior, from_uniform = samples6[SEED]
display(image_grid(from_prior[:32], ncols=16, title="code maps from the PixelCNN prior"),
        image_grid(from_uniform[:32], ncols=16, title="code maps drawn uniformly"))
print(confidence_line(from_prior.clamp(0, 1), x_test[:N_FD], "fashion", "PixelCNN-prior samples (first seed)"))
print(confidence_line(from_uniform.clamp(0, 1), x_test[:N_FD], "fashion", "uniform-code samples (first seed)"))

# %% [markdown]
# To put a number on "looks like clothing" we use the [Frechet distance](glossary.md#frechet-distance): fit a Gaussian
# $N(m, \Sigma)$ to the 64 features a small Fashion-MNIST classifier computes for each image
# (`genlearn.sample_quality.image_features`), once for the samples and once for the 1,000
# reference test images, and measure
#
# $$FD = \lVert m_1 - m_2\rVert^2 + \mathrm{tr}\big(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2}\big).$$
#
# Lower is better, but 0 is out of reach even for real images: two disjoint sets of 1,000
# real test images are not at 0 either. That real-versus-real value is printed beside.

# %%
fd_real = frechet_reference(N_FD, x_test, data="fashion")
fd = {s: {"PixelCNN prior": frechet(samples6[s][0].clamp(0, 1), reference, "fashion"),
          "uniform codes": frechet(samples6[s][1].clamp(0, 1), reference, "fashion")} for s in SEEDS}
for name in ("PixelCNN prior", "uniform codes"):
    print(f"Frechet distance, {N_FD} images vs {N_FD} test images: {name:15s} {[round(fd[s][name], 2) for s in SEEDS]}")
print(f"Frechet distance, real vs real: {fd_real:.2f}")
fd_verdicts = [
    compare("PixelCNN prior samples closer to the data than uniform codes (log Frechet)",
            [math.log(fd[s]["PixelCNN prior"]) for s in SEEDS], [math.log(fd[s]["uniform codes"]) for s in SEEDS]),
]
print(verdict_table(fd_verdicts))
baseline_verdicts = [  # the lesson's one table of baselines
    compare("the VQ-VAE (PixelCNN prior) below the independent-pixel baseline (bits/dim)",
            [bounds[s]["PixelCNN prior"] for s in SEEDS], [bpd_pixels] * len(SEEDS)),
    compare("PixelCNN prior samples above three times the real-versus-real value (Frechet)",
            [fd[s]["PixelCNN prior"] for s in SEEDS], [3 * fd_real] * len(SEEDS), "higher"),
]
print("baselines: independent pixels for the bound, two real samples for the Frechet distance")
print(verdict_table(baseline_verdicts))
if S.name == "laptop":
    assert fd_verdicts[0].verdict == HOLDS and baseline_verdicts[1].verdict == HOLDS
else:  # at the full scale (base seed 400) this cell's assert failed: both verdicts are printed there, and only
    assert fd_verdicts[0].verdict != DOES_NOT  # "not the opposite" is asserted for the prior's (not yet confirmed)
run_by_run("PixelCNN samples: Frechet between 3x real-versus-real and 0.75x uniform codes'",
           (3 * fd_real < fd[s]["PixelCNN prior"] < 0.75 * fd[s]["uniform codes"] for s in SEEDS), enforce=RUN_BY_RUN)

# %% [markdown]
# The prior's samples are closer to the data than decoded uniform codes (HOLDS; less than three
# quarters of their Frechet distance in every run at the laptop scale) and, in the baseline table,
# more than three times the real-versus-real value (HOLDS): the prior has learned which codes go together, but at this budget its
# garments are still easy to tell from real ones. (Both are asserted at the laptop scale; at the full scale the
# cell's assert failed once, at base seed 400, so there the two verdicts are printed and only "not the
# opposite" is asserted for the prior's.)

# %% [markdown]
# ### The VQ-VAE and its PixelCNN prior at the full scale
#
# The course ships a VQ-VAE with its PixelCNN prior trained on all 60,000 training images
# (`genlearn pretrain vqvae`; its card is on the course site's models page). Loaded here with its
# SHA-256 checked, it is shown as this section shows its own runs; the sentence under the figure is
# its card, measured this lesson's way (1,000 samples against 1,000 test images).

# %%
fig, said = pretrained.showcase("vqvae", x_test)
print(said)
fig

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. What does a code mean?
#
# Each code is a vector the decoder has learned to read. Filling all 49
# positions with one code shows what that code paints; here are the 32 codes
# used most on the test set.

# %%
top = torch.argsort(stats_test.counts, descending=True)[:32]
image_grid(code_atlas(vq, top), ncols=16, title="the 32 most used codes, each repeated over the 7x7 map")

# %% [markdown]
# The widget lets you pick any code, and edit the code map of a test garment one
# position at a time.
#
# **Question.** Change the code in the centre cell (row 3, column 3) to another code, e.g. the
# most used one. Which part of the image changes: the whole garment, or a patch around the
# centre? Guess before you try; the next cell measures it.

# %% tags=["nbval-ignore-output"]
code_explorer(vq, x_test[0])

# %% [markdown]
# The answer, measured: decode the garment's map before and after changing the centre code,
# and see where the change lands. Each map position sits over a 4x4 block of pixels; we
# measure what share of the total change falls inside the 12x12 window around the centre
# block (18 % of the image's area).

# %%
start = codes_test[0]
before = decode_code_map(vq, start)
new_code = int(top[0]) if int(top[0]) != int(start[3, 3]) else int(top[1])
change = (decode_code_map(vq, edit_code_map(vq, start, 3, 3, new_code)) - before).abs()[0]
inside = float(change[8:20, 8:20].sum() / change.sum())
print(f"total change {float(change.sum()):.2f}; share inside the 12x12 window around the centre: {inside:.0%}")
assert inside > 0.5

# %% [markdown]
# Most of the change lands around the edited position: the decoder's two [transposed
# convolutions](glossary.md#transposed-convolution) give each code a local receptive field, so a code map is a coarse picture
# whose cells each paint their own neighbourhood.

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
gen = torch.Generator().manual_seed(SEED + 1)
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
prior.sample(8, generator=torch.Generator(device=S.device).manual_seed(SEED))
hook.remove()
print(f"{len(calls)} sequential network calls for a {vq.code_shape[0]}x{vq.code_shape[1]} map")
assert len(calls) == math.prod(vq.code_shape) == 49

# %% [markdown]
# On a 32x32 token map that becomes 1024 sequential calls; MaskGIT's ~10
# refinement steps are why it samples so much faster.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# | | VAE (lesson 04) | VQ-VAE |
# |---|---|---|
# | latent | a point in $\mathbb{R}^d$, drawn from $q(z\mid x)$ | a map of integers in $[0, K)$ |
# | gradient through the [bottleneck](glossary.md#bottleneck) | reparameterisation | straight-through copy (checked, section 3) |
# | regulariser | KL to $N(0, I)$ | codebook + commitment terms (no KL) |
# | its own collapse | posterior collapse (lesson 04) | index collapse: dead codes (section 5; restarts revive them) |
# | generating | decode $z \sim N(0, I)$ | sample a code map from a learned prior, decode |
#
# What this notebook measured, and no more: raising $\beta$ shrinks both the quantisation
# error and the latent space itself (section 4); without restarts the codebook
# collapses to under 10 % of its codes on every seed, with restarts it does not, and a
# healthier codebook costs more rate - whether it gives a better bound is the third
# rate-distortion verdict (section 5); the PixelCNN prior saves more than a bit per code over
# uniform codes, and its samples score less than three quarters of the Frechet distance of decoded
# uniform codes, yet more than three times the real-versus-real value (section 6). Every number above was computed here by `genlearn`; the terms are in the
# [glossary](glossary.md). Try the exercises in `exercises/05_vqvae.ipynb` to write the key pieces yourself.
