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
# # Lesson 07 - Capstone: the four models side by side
#
# We have built an [autoencoder](glossary.md#autoencoder) (AE), a [variational autoencoder](glossary.md#vae) (VAE), a VQ-VAE
# and a [VAE-GAN](glossary.md#vae-gan). Here they meet on equal terms: the **same data** (28x28
# [Fashion-MNIST](glossary.md#fashion-mnist) garments on 256 grey levels), the **same budget** (the comparison
# budget of `genlearn.scale`, shared with lesson 06: the same images, epochs and seeds) and the
# **same yardsticks**, those of the [measurement protocol](glossary.md#measurement-protocol):
#
# * [reconstruction](glossary.md#reconstruction) error on the test images (squared error per image);
# * a [likelihood](glossary.md#likelihood) bound in [bits per dimension](glossary.md#bits-per-dimension) where the model
#   defines one, beside the independent-pixel baseline;
# * the [Frechet distance](glossary.md#frechet-distance) of 1,000 samples to the 1,000 reference test images, beside
#   its real-versus-real value, and sharpness beside that of the real images;
# * training time;
#
# every one of them over three seeds, and every comparison a [verdict](glossary.md#verdict).
# Then we check the claims the source articles make against those numbers, and finish with three
# questions to ask of any [generative model](glossary.md#generative-model). All four models come from
# `genlearn.recipes`, the same code the `genlearn train` command runs.
#
# **At the full scale** (`GENLEARN_SCALE=full`) the lesson does not retrain: four models times three
# seeds over 60,000 images took more than an hour on a CPU before the first table. It loads the four
# full-scale models the course ships (`genlearn pretrain`, their SHA-256 checked) and its three
# seeds draw three independent sets of samples and likelihood estimates from the same four models:
# there a verdict is about these four trained models, not about the recipe over training seeds.

# %% slideshow={"slide_type": "skip"}
import math
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display

from genlearn import evaluate, pretrained, recipes, seed_everything
from genlearn.data import FASHION_CLASSES
from genlearn.evaluate import IndependentPixels, codebook_stats
from genlearn.models.latent import encode_mean
from genlearn.sample_quality import confidence_line, edge_sharpness, frechet, frechet_reference, sharpness
from genlearn.scale import base_seed, current, fashion, lesson_threads
from genlearn.verdict import column, compare, run_by_run, verdict_table
from genlearn.viz import image_grid

S, SEED = current(), base_seed()
SEEDS = [SEED + k for k in range(3)]
DEVICE = S.device
seed_everything(SEED, threads=lesson_threads())
train, test = fashion(S)
x_train = train.x[: S.compare_train]
EPOCHS = S.epochs(S.compare_epochs)
REF, N_SAMPLES = test.x[:1000], 1000
NAMES = pretrained.LABELS  # the four models and their display names, one list for the course
SHIPPED = S.name == "full"  # the full scale evaluates the shipped full-scale models (see above)
print(f"scale {S.name}: " + ("the shipped full-scale models" if SHIPPED else f"{len(x_train)} training images, {EPOCHS} epochs")
      + f", seeds {SEEDS}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Train all four with the same budget, three times

# %%
def run(key, seed):
    seed_everything(seed, threads=lesson_threads())
    if SHIPPED:  # trained once by `genlearn pretrain`; its card records the training time
        model, seconds = pretrained.load(key), pretrained.card(key)["wall_seconds"]
    else:
        model = recipes.build(key, (1, 28, 28), levels=256, hidden=S.hidden, channels=S.channels)
        start = time.perf_counter()
        recipes.train_model(key, model, x_train, EPOCHS, seed=seed, progress=False, device=DEVICE)
        seconds = time.perf_counter() - start
    model = model.cpu().eval()
    samples = recipes.sample_images(model, N_SAMPLES, torch.Generator().manual_seed(seed))
    # the one entry: IWAE (K = 20) for the AE and VAE, the VQ bound for the VQ-VAE, a reason for the VAE-GAN
    nll = evaluate.test_nll(model, test.x[:1000], 20, generator=torch.Generator().manual_seed(seed))
    bits = math.nan if nll.bits_per_dim is None else nll.bits_per_dim  # no likelihood of pixels: section 4
    return {"model": model, "seconds": seconds, "samples": samples,
            "recon": evaluate.reconstruction_error(model, test.x[:1000]), "bits": bits,
            "frechet": frechet(samples, REF, "fashion"), "sharpness": sharpness(samples).mean().item(),
            "edge": edge_sharpness(samples).mean().item()}


runs = {key: [run(key, seed) for seed in SEEDS] for key in NAMES}
for key, rs in runs.items():
    print(f"{NAMES[key]:8s} trained in {[round(r['seconds'], 1) for r in rs]} s")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. Reconstructions and samples

# %%
x_show = test.x[:10]
recons = [x_show] + [recipes.reconstruction_images(runs[k][0]["model"], x_show) for k in NAMES]
image_grid(torch.cat(recons), ncols=10, title="rows: test images, then AE, VAE, VQ-VAE, VAE-GAN reconstructions")

# %%
for k in NAMES:
    print(confidence_line(runs[k][0]["samples"], REF, "fashion", f"{NAMES[k]} samples (first seed)"))
image_grid(torch.cat([runs[k][0]["samples"][:10] for k in NAMES]), ncols=10,
           title="samples; rows: AE (Gaussian fitted to its codes), VAE, VQ-VAE (PixelCNN prior), VAE-GAN")

# %% [markdown]
# Look before measuring: at the laptop budget (3,000 images, 6 epochs) the AE's samples are blurry but
# recognisable garments, the VAE's dimmer and blurrier shapes, the VQ-VAE's garment-shaped blocks, and
# the VAE-GAN's sharp-edged textures more than garments. Section 5 measures what the eye suggests, and
# no more.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Latent spaces
#
# The AE, VAE and VAE-GAN have continuous 8-D codes, shown as their projection on the first two
# principal axes ([PCA](glossary.md#pca), lesson 01: a projection, so clusters that look merged may be apart in 8-D);
# the VQ-VAE has a 7x7 map of discrete codes, summarised by how it uses its [codebook](glossary.md#codebook).

# %%
fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
for ax, key in zip(axes[:3], ("ae", "vae", "vaegan")):
    z = encode_mean(runs[key][0]["model"], test.x)
    z = z - z.mean(0)
    p = z @ torch.linalg.svd(z, full_matrices=False).Vh[:2].T
    sc = ax.scatter(p[:, 0], p[:, 1], c=test.y, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    ax.set_title(f"{NAMES[key]}: test codes, first two principal axes", fontsize=10)
    ax.set_xlabel("principal axis 1"); ax.set_ylabel("principal axis 2")
cbar = fig.colorbar(sc, ax=axes[:3].tolist(), ticks=range(10), fraction=0.03)
cbar.ax.set_yticklabels(FASHION_CLASSES, fontsize=7); cbar.set_label("garment class")
vq = runs["vqvae"][0]["model"]
stats = codebook_stats(vq, test.x)
axes[3].bar(range(vq.num_codes), stats.counts.sort(descending=True).values)
axes[3].set_title(f"VQ-VAE: code usage, perplexity {stats.perplexity:.1f} of {vq.num_codes}", fontsize=10)
axes[3].set_xlabel("code, most used first"); axes[3].set_ylabel("positions of test images using it")
fig.suptitle("Latent spaces of the four models (first seed)")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. The scoreboard
#
# Likelihood bounds where defined, in bits per dimension (lower is better):
#
# * AE: the [IWAE](glossary.md#iwae) bound ($K = 20$) of the AE with its fitted Gaussian, fitted likelihood scale and
#   [posterior](glossary.md#posterior) width (lesson 04, section 6): bolted on after training;
# * VAE: the IWAE bound of its own trained model;
# * VQ-VAE: the bound $-\log p(x\,|\,k(x)) - \log p_{\text{prior}}(k(x))$ with the
#   [PixelCNN](glossary.md#pixelcnn) [prior](glossary.md#prior) over [code maps](glossary.md#code-map) (lesson 05);
# * VAE-GAN: none. Its [decoder](glossary.md#decoder) is trained by a [learned similarity](glossary.md#learned-similarity),
#   not a likelihood of pixels, and the library refuses to score it with one.

# %%
baseline_bits = IndependentPixels(train.x).bits_per_dim(test.x[:1000])
real_frechet = frechet_reference(1000, test.x, data="fashion")
real_sharpness = sharpness(REF).mean().item()
columns = ["recon", "bits", "frechet", "sharpness", "seconds"]
print(f"{'model':8s}" + "".join(f"{c:>18s}" for c in columns))
for key, rs in runs.items():
    cells = []
    for c in columns:
        v = torch.tensor([r[c] for r in rs], dtype=torch.float64)
        cells.append("n/a" if v.isnan().any() else f"{v.mean():.3f} +- {v.std():.3f}")
    print(f"{NAMES[key]:8s}" + "".join(f"{c:>18s}" for c in cells))
print(f"{'real':8s}{'':>18s}{f'{baseline_bits:.3f} (indep.)':>18s}{f'{real_frechet:.2f} (real/real)':>18s}"
      f"{f'{real_sharpness:.4f}':>18s}")
baseline_verdicts = [  # the lesson's one table of baselines: every model against the trivial rival and real data
    *[compare(f"{NAMES[key]}: bits/dim below independent pixels", column(runs[key], "bits"),
              [baseline_bits] * len(runs[key]), "lower") for key in ("ae", "vae", "vqvae")],
    *[compare(f"{NAMES[key]}: Frechet above twice the real-versus-real value", column(runs[key], "frechet"),
              [2 * real_frechet] * len(runs[key]), "higher") for key in NAMES],
]
print("baselines: independent pixels for the likelihoods, two real samples for the Frechet distance")
print(verdict_table(baseline_verdicts))
far = {key: v for key, v in zip(NAMES, baseline_verdicts[3:], strict=True)}
# the AE's and the VAE's likelihoods beat independent pixels at both scales; the VQ-VAE's bound, close to
# them at the laptop budget (lesson 05), was INCONCLUSIVE at held-out base seed 515: "not the opposite" there
assert baseline_verdicts[0].holds and baseline_verdicts[1].holds and baseline_verdicts[2].verdict != "DOES NOT"
if SHIPPED:  # at the full scale the VAE-GAN came within reach of real data (INCONCLUSIVE at base seed 400): printed
    assert all(v.verdict != "DOES NOT" for v in far.values())
else:  # at the laptop budget no model is near real data, and no single run either
    assert all(v.holds for v in far.values())
run_by_run("every run's Frechet above twice the real-versus-real value", (f > 2 * real_frechet for key in NAMES
                                                                          for f in column(runs[key], "frechet")),
           enforce=not SHIPPED)
run_by_run("AE and VAE: bits/dim below independent pixels", (r["bits"] < baseline_bits for key in ("ae", "vae")
                                                            for r in runs[key]), enforce=not SHIPPED)
run_by_run("VQ-VAE: bits/dim below independent pixels", (r["bits"] < baseline_bits for r in runs["vqvae"]), enforce=False)
assert all(math.isnan(r["bits"]) for r in runs["vaegan"])
try:
    evaluate.elbo(runs["vaegan"][0]["model"], test.x[:8])
    raise AssertionError("the VAE-GAN must not be scored with a likelihood")
except ValueError as err:
    print("VAE-GAN likelihood refused:", str(err)[:90], "...")

# %% [markdown]
# ### The scoreboard at the full scale
#
# The same four recipes trained on all 60,000 training images ship with the course (`genlearn
# pretrain all`; one run each, so the column below is a measurement of four models, not a verdict
# over seeds). Each model's card was measured this lesson's way on the same 1,000 test images; the
# models are loaded with their SHA-256 checked and shown below the table.

# %%
print(f"{'model':8s}{'recon':>10s}{'bits':>10s}{'frechet':>10s}{'sharpness':>11s}{'confidence':>12s}{'minutes':>9s}"
      "   (full scale, from the cards)")
for key in NAMES:
    info = pretrained.card(key)
    m = info["metrics"]
    bits = "n/a" if m["nll_bits_per_dim"] is None else f"{m['nll_bits_per_dim']:.3f}"
    print(f"{NAMES[key]:8s}{m['reconstruction_error']:>10.2f}{bits:>10s}{m['frechet']:>10.1f}{m['sharpness']:>11.4f}"
          f"{m['confidence']:>12.2f}{info['wall_seconds'] / 60:>9.1f}")
m = pretrained.card("vae")["metrics"]
print(f"{'real':8s}{'':>10s}{'':>10s}{m['frechet_real_vs_real']:>10.1f}{m['sharpness_real']:>11.4f}"
      f"{m['confidence_real']:>12.2f}")
fig, said = pretrained.showcase(list(NAMES), test.x)
print(said)
fig

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Checking the claims
#
# The source articles make comparative claims. Each is turned into a measurable statement and a
# verdict over the three seeds; the prose below quotes the table and claims nothing more.
#
# * **"VAE samples are blurrier."** Sharpness (mean image-gradient magnitude) of the samples, against
#   the VAE-GAN's and against the real images as they are.
# * **"VAE-GAN samples are better."** Sharper is not the same as closer to the data: the Frechet
#   distance decides that.
# * **"VQ-VAE is easier to train than VAE-GAN."** The two models' losses are different kinds of
#   objective (a likelihood-like reconstruction against an adversarial game) and cannot be compared.
#   Here "easier" means what a user sees: at the same budget and seeds, which one's samples are
#   closer to the data, and which one's Frechet distance varies less from seed to seed.
# * **"An AE cannot generate."** Against the fair rival (a Gaussian fitted to its codes).

# %%
verdicts = [
    compare("VAE samples blurrier than VAE-GAN samples", column(runs["vae"], "sharpness"), column(runs["vaegan"], "sharpness"), "lower"),
    compare("VAE samples blurrier than real images", column(runs["vae"], "sharpness"), [real_sharpness] * 3, "lower"),
    compare("VAE-GAN samples closer to the data (Frechet) than the likelihood-trained VAE's", column(runs["vaegan"], "frechet"),
            column(runs["vae"], "frechet"), "lower"),
    compare("VQ-VAE samples closer to the data than VAE-GAN samples", column(runs["vqvae"], "frechet"), column(runs["vaegan"], "frechet"),
            "lower"),
    compare("AE + fitted Gaussian samples closer to the data than VAE samples", column(runs["ae"], "frechet"),
            column(runs["vae"], "frechet"), "lower"),
    compare("VQ-VAE's bound lower than the VAE's NLL", column(runs["vqvae"], "bits"), column(runs["vae"], "bits"), "lower"),
]
print(verdict_table(verdicts))
real_edge = edge_sharpness(REF).mean().item()
print("edge sharpness (after a one-pixel blur; speckle cannot fake it), printed, not asserted:")
print(verdict_table([
    compare("VAE samples: softer edges than VAE-GAN samples (edge sharpness)", column(runs["vae"], "edge"),
            column(runs["vaegan"], "edge"), "lower"),
    compare("VAE samples: softer edges than real images (edge sharpness)", column(runs["vae"], "edge"), [real_edge] * 3,
            "lower"),
]))
vq_spread, gan_spread = (float(torch.tensor(column(runs[k], "frechet")).std() / torch.tensor(column(runs[k], "frechet")).mean())
                         for k in ("vqvae", "vaegan"))
print(f"relative seed-to-seed spread of the Frechet distance: VQ-VAE {vq_spread:.2f}, VAE-GAN {gan_spread:.2f} "
      "(three seeds: a description, not a verdict)")

# %% [markdown]
# What the verdicts say, in words (the numbers are this run's, written by the cell below):

# %%
v = {x.claim: x for x in verdicts}
gan_closer = v["VAE-GAN samples closer to the data (Frechet) than the likelihood-trained VAE's"]
fd = {key: sum(column(runs[key], "frechet")) / 3 for key in NAMES}
sh = {key: sum(column(runs[key], "sharpness")) / 3 for key in NAMES}
display(Markdown("\n".join([
    f"* **Blur, against real images**: the VAE's samples score sharpness {sh['vae']:.4f} against the real images' "
    f"{real_sharpness:.4f}: \"VAE samples blurrier than real images\" {v['VAE samples blurrier than real images'].said}. "
    "Plain sharpness counts every gradient, speckle's too, so the lines under the table repeat the blur claims with "
    "the *edge sharpness* (the gradient after a one-pixel blur, which speckle or a checkerboard cannot raise): where "
    "the two disagree, the extra sharpness is noise, not edges.",
    f"* **Blur, against the VAE-GAN** ({sh['vaegan']:.4f}): {v['VAE samples blurrier than VAE-GAN samples'].said}. "
    "At the laptop budget the VAE-GAN's sharpness varies from seed to seed and three seeds do not always decide; "
    "only the opposite verdict (the VAE sharper) is asserted never to appear.",
    f"* **Sharper is not closer**: Frechet {fd['vaegan']:.1f} for the VAE-GAN against {fd['vae']:.1f} for this VAE, "
    f"{gan_closer.said}. Mind which VAE: "
    "here it is lesson 04's, trained on a likelihood of the grey levels; lesson 06 compares the VAE-GAN with the VAE "
    "it is built from (the same networks, no GAN term).",
    f"* **\"VQ-VAE is easier to train\"**, read as samples closer to the data: {fd['vqvae']:.1f} against the "
    f"VAE-GAN's {fd['vaegan']:.1f}, {v['VQ-VAE samples closer to the data than VAE-GAN samples'].said}.",
    f"* **The AE, given a fair prior, generates**: Frechet {fd['ae']:.1f} against the VAE's {fd['vae']:.1f}, "
    f"{v['AE + fitted Gaussian samples closer to the data than VAE samples'].said}. Its fitted Gaussian sits where "
    "its codes lie, while the VAE's prior $N(0, I)$ puts its mass where few of its codes lie (lesson 04, section 6: "
    "decoded from a Gaussian fitted to its codes, the VAE's samples come close to the AE's). What the VAE offers "
    "instead is a trained likelihood bound.",
    f"* **Far from real data?** Frechet {', '.join(f'{NAMES[k]} {fd[k]:.1f}' for k in NAMES)} against twice the "
    f"real-versus-real {2 * real_frechet:.2f}: above it for "
    f"{', '.join(NAMES[k] for k in NAMES if far[k].holds) or 'none'} (HOLDS)"
    + ("" if all(x.holds for x in far.values()) else ", not decided for "
       + ", ".join(f"{NAMES[k]} ({far[k].verdict})" for k in NAMES if not far[k].holds))
    + ". Where it holds, \"closer to the data\" means less far, not close.",
])))

# %%
assert v["VAE samples blurrier than real images"].holds
assert v["VAE samples blurrier than VAE-GAN samples"].verdict != "DOES NOT"  # HOLDS at base seed 0

# %% [markdown]
# **"VQ-VAE cannot collapse."** It has no KL term, so the VAE's kind of collapse cannot happen; but it
# has its own, [index collapse](glossary.md#index-collapse): the [encoder](glossary.md#encoder) may use few of its codes. The
# [perplexity](glossary.md#perplexity) of code usage on the test images (the effective number of codes in use, lesson 05) and
# the reconstruction error against the best constant image (the mean training image) measure it:

# %%
mean_image_error = float((test.x[:1000] - x_train.mean(0)).pow(2).flatten(1).sum(1).mean())
ppl = [codebook_stats(r["model"], test.x[:1000]).perplexity for r in runs["vqvae"]]
print(f"VQ-VAE code perplexity {[round(p, 1) for p in ppl]} of {vq.num_codes}; reconstruction error "
      f"{[round(e, 2) for e in column(runs['vqvae'], 'recon')]} vs {mean_image_error:.2f} for the mean image")
assert all(p > 8 for p in ppl) and all(e < 0.5 * mean_image_error for e in column(runs["vqvae"], "recon"))

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Three questions to ask of any generative model
#
# | | structure | loss | where randomness enters | prior |
# |---|---|---|---|---|
# | **AE** | [encoder](glossary.md#encoder) -> code -> decoder, deterministic | reconstruction error | nowhere in training; sampling draws from the prior fitted afterwards | a Gaussian fitted to the codes after training |
# | **VAE** | encoder -> $N(\mu, \sigma^2)$ -> decoder | $-$[ELBO](glossary.md#elbo): reconstruction NLL + KL to $N(0, I)$ | the reparameterised draw $z = \mu + \sigma\varepsilon$; samples start from $z \sim N(0, I)$ | fixed $N(0, I)$ |
# | **VQ-VAE** | encoder -> nearest codebook vectors -> decoder, then a PixelCNN prior over code maps | reconstruction + codebook + $\beta\cdot$commitment (no KL); the prior's NLL | none in the autoencoder (quantisation is deterministic); all of it in the prior's ancestral sampling of codes | a PixelCNN learned from the codes |
# | **VAE-GAN** | VAE + a [discriminator](glossary.md#discriminator) after the decoder | KL + learned-similarity reconstruction + [GAN](glossary.md#gan) terms, each routed to its own network | the VAE's draw, plus prior samples $z \sim N(0, I)$ fed to the decoder for the GAN term | fixed $N(0, I)$ |
#
# Only one of the four learns its prior from the data it encodes; the AE fits one after the fact, and
# the VAE and VAE-GAN keep $N(0, I)$.
#
# Exercises: `exercises/07_capstone.ipynb` (`genlearn check exercises/07_capstone.ipynb`).
