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
# # Lesson 06 - VAE-GAN: a learned similarity metric
#
# A [VAE](glossary.md#vae) trained with a pixel-wise loss draws garments that are soft at the edges
# (lesson 04's samples: recognisable, blurry). This lesson explains where the blur comes from, then takes apart the fix
# of Larsen et al. (2016, *Autoencoding beyond pixels using a [learned
# similarity metric](glossary.md#learned-similarity)*): put a [GAN](glossary.md#gan) [discriminator](glossary.md#discriminator) after the [decoder](glossary.md#decoder) and measure
# [reconstructions](glossary.md#reconstruction) in the discriminator's features instead of in pixels. The [VAE-GAN](glossary.md#vae-gan)
# changes two things at once - the similarity and the GAN term - so we switch them on one at a
# time, with several seeds:
#
# 1. why the best prediction under squared error is an average, hence blurry;
# 2. the [VAE-GAN](glossary.md#vae-gan): three networks, three loss terms, and which term may train which network;
# 3. the ablation at matched weights: pixel or learned similarity, with or without the GAN term,
#    scored with a [Frechet distance](glossary.md#frechet-distance) (with its real-versus-real value) and a sharpness score;
# 4. what the learned similarity tolerates (a small shift), computed;
# 5. an unstable run, and its growing features;
# 6. a discriminator with three classes (real / reconstructed / generated);
# 7. VAE-GAN vs "GAN-VAE": where the [encoder](glossary.md#encoder) sits.
#
# Data: 28x28 [Fashion-MNIST](glossary.md#fashion-mnist). Every comparison is a **[verdict](glossary.md#verdict) over seeds**
# (`genlearn.verdict.compare`: HOLDS, DOES NOT, or INCONCLUSIVE when three seeds cannot decide).

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import torch

from genlearn import pretrained, seed_everything
from genlearn.evaluate import aggregate_posterior_kl
from genlearn.models import VAEGAN, vaegan_loss
from genlearn.models.base import map_batches
from genlearn.models.vaegan import routes, term_gradient_norms, vaegan_grads
from genlearn.recipes import fit_vaegan
from genlearn.sample_quality import (
    confidence_line,
    edge_sharpness,
    frechet,
    frechet_reference,
    image_features,
    sharpness,
    sharpness_gap,
)
from genlearn.scale import base_seed, current, fashion, lesson_threads
from genlearn.train import seeded_run
from genlearn.verdict import DOES_NOT, HOLDS, column, compare, compare_adding_seeds, run_by_run, verdict_table
from genlearn.viz import image_grid
from genlearn.viz.vaegan import order_diagram, routing_figure, vaegan_diagram
from genlearn.widgets import paired_samples, sample_viewer

S = current()                      # GENLEARN_SCALE: laptop (default) or full
SEED = base_seed()                 # GENLEARN_SEED, default 0; every seed below is SEED + k
SEEDS = [SEED + k for k in range(3)]
RUN_BY_RUN = S.asserts_run_by_run  # at least 20 runs of evidence: the laptop scale; printed at the full scale
seed_everything(SEED, threads=lesson_threads())   # GENLEARN_THREADS, default one: the same bits on every run
train, test = fashion(S)
x_train = train.x[: S.n_train // 3]             # the training subset of every run below
N_FD = 1000                                     # the course's Frechet sample size
reference = test.x[:N_FD]                       # fixed reference set: the first 1,000 test images
FD_REAL = frechet_reference(N_FD, test.x, data="fashion")       # two disjoint sets of 1,000 real test images
SHARP_REAL = float(sharpness(test.x).mean())    # the real images' sharpness, measured as they are


def make_vaegan(similarity="feature", adversarial_weight=1.0, **options):
    """The course's VAE-GAN for 28x28 images: MLP encoder and decoder (16-D code), a small conv
    discriminator; the similarity term's weight is 1 / (2 sigma^2) = 50 in both spaces."""
    return VAEGAN((1, 28, 28), 16, arch="mlp", hidden=S.hidden, dis_channels=tuple(c // 2 for c in S.channels),
                  similarity=similarity, similarity_sigma=0.1, adversarial_weight=adversarial_weight, **options)


probe = x_train[:256]                           # a fixed batch of real images


def feature_size(epoch, model, history):
    """After each epoch: the mean squared length |Dis_l(x)|^2 of the probe's features (section 5)."""
    with torch.no_grad():
        f = model.discriminator.features(probe.to(S.device), model.feature_layer)
    history.setdefault("feature_size", []).append(float(f.pow(2).sum(1).mean()))


def train_vaegan(seed, lr_dis=None, **options):
    model, history = seeded_run(  # seed (GENLEARN_THREADS threads), build, fit
        seed, lambda: make_vaegan(**options),
        lambda m: fit_vaegan(m, x_train, S.epochs(3), batch_size=64, lr_dis=lr_dis, seed=seed, progress=False,
                             device=S.device, after_epoch=feature_size))
    return model.eval(), history


def samples(model, n=N_FD, seed=SEED):
    """n prior samples sigmoid(Dec(z)), z ~ N(0, I), on the CPU."""
    return model.sample(n, generator=torch.Generator(device=S.device).manual_seed(seed)).clamp(0, 1).cpu()


print(f"Fashion-MNIST ({S.name} scale): {len(x_train)} training images, Frechet reference: {N_FD} test images; "
      f"real-versus-real Frechet distance {FD_REAL:.2f}; real sharpness {SHARP_REAL:.3f}; seeds {SEEDS}")

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. Why squared error blurs
#
# Suppose the decoder cannot tell, from the code, *which* of two images is the
# right one: here a real garment and the same garment shifted three pixels to the
# right (enough to see the difference), each with probability 1/2. Which single image $c$ minimises the
# expected squared error $\mathbb{E}\,\lVert x - c\rVert^2$? Setting the
# gradient $2(c - \mathbb{E}[x])$ to zero gives the **average** of the
# candidates. Let us find it by gradient descent instead of algebra.

# %%
a = test.x[1]                                                     # a real garment (1, 28, 28)
b = torch.zeros_like(a); b[..., 3:] = a[..., :-3]                 # shifted three pixels right
candidates = torch.stack([a, b])

c = torch.full_like(a, 0.5, requires_grad=True)
opt = torch.optim.Adam([c], lr=0.05)
for _ in range(300):
    opt.zero_grad()
    (c - candidates).pow(2).sum(dim=(1, 2, 3)).mean().backward()   # E ||x - c||^2
    opt.step()
assert torch.allclose(c.detach(), candidates.mean(0), atol=1e-3)


def expected_error(guess):
    return float((candidates - guess).pow(2).sum(dim=(1, 2, 3)).mean())


mean = candidates.mean(0)
print(f"expected squared error: guess one candidate {expected_error(a):.2f}, guess the average {expected_error(mean):.2f}")
print(f"sharpness: candidate {float(sharpness(a[None])):.3f}, average {float(sharpness(mean[None])):.3f}")
assert abs(expected_error(mean) - expected_error(a) / 2) < 1e-4
assert sharpness(mean[None]) < sharpness(a[None])
image_grid(torch.stack([a, b, c.detach().clamp(0, 1)]), ncols=3,
           title="candidate 1 | candidate 2 (3 px right) | MSE-optimal guess: their average")

# %% [markdown]
# The average wins on squared error (exactly half the error of betting on one
# candidate) yet it is an image of *neither*: every edge is doubled at half
# intensity. **Sharpness** here is the mean image-gradient magnitude
# (`genlearn.sample_quality.sharpness`), measured on images as they are, and it drops.
# A VAE with a pixel-wise loss faces this at every pixel: whatever the code leaves
# uncertain gets averaged. Section 3 measures it on the VAE's samples.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. A discriminator after the decoder
#
# The VAE-GAN keeps the VAE's encoder and decoder and adds a **discriminator**
# `Dis`, a small convolutional classifier. Three kinds of images go into it:
# real images $x$, reconstructions $\tilde x = \mathrm{Dec}(z)$ with
# $z \sim q(z|x)$, and samples $x_p = \mathrm{Dec}(z_p)$ with $z_p \sim N(0, I)$.

# %%
vaegan_diagram()

# %% [markdown]
# Three loss terms (per example, averaged over the batch):
#
# * **[prior](glossary.md#prior)**: $\mathcal{L}_\text{prior} = KL(q(z|x)\,\|\,N(0, I))$, as in the VAE;
# * **learned similarity**: treat the activations of one hidden layer $l$ of the
#   discriminator as Gaussian around those of the reconstruction,
#   $\mathcal{L}_\text{llike} = -\log N(\mathrm{Dis}_l(x);\,\mathrm{Dis}_l(\tilde x),\,\sigma^2 I)
#   = \frac{1}{2\sigma^2}\lVert \mathrm{Dis}_l(x) - \mathrm{Dis}_l(\tilde x)\rVert^2 + \text{const}$;
# * **GAN**: $\mathcal{L}_\text{GAN} = \log D(x) + \log(1 - D(\tilde x)) + \log(1 - D(x_p))$.
#
# With $\sigma = 0.1$ the similarity weighs $1/(2\sigma^2) = 50$ against the KL's weight 1. Put
# the same weight on pixels instead of features, $\frac{1}{2\sigma^2}\lVert x - \tilde x\rVert^2$,
# and drop the GAN term, and you have a VAE with a squared-error reconstruction term: the rival
# of section 3. (That VAE's loss is a Gaussian density of continuous pixels; the grey-level
# [likelihood](glossary.md#likelihood) of lesson 04 is what we would report as [bits/dim](glossary.md#bits-per-dimension). No likelihood is reported in
# this lesson: a VAE-GAN does not train one.) The similarity term step by step, checked against the library:

# %%
seed_everything(SEED, threads=lesson_threads())
gan = make_vaegan().to(S.device)
x = x_train[:64].to(S.device)
out = gan(x, torch.Generator(device=S.device).manual_seed(SEED))
f_real = gan.discriminator.features(x, gan.feature_layer)        # Dis_l(x), one row per image
f_rec = gan.discriminator.features(out.x_rec, gan.feature_layer)
by_hand = (f_real - f_rec).pow(2).sum(1).mean() / (2 * gan.similarity_sigma**2)
print(f"Dis_l has {f_real.shape[1]} units; similarity = {by_hand.item():.3f} "
      f"(weight 1/(2 sigma^2) = {1 / (2 * gan.similarity_sigma**2):.0f})")
assert torch.allclose(by_hand, vaegan_loss(gan, x, out).similarity)

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Which loss trains which network
#
# | network | minimises | must **not** receive |
# |---|---|---|
# | encoder | $\mathcal{L}_\text{prior} + \mathcal{L}_\text{llike}$ | the GAN term |
# | decoder | $\gamma\,\mathcal{L}_\text{llike} - \mathcal{L}_\text{GAN}$ (in practice the [non-saturating](glossary.md#non-saturating-loss) $-\log D(\tilde x) - \log D(x_p)$) | the prior term |
# | discriminator | $-\mathcal{L}_\text{GAN}$ | the similarity term |
#
# All three networks sit in one computation graph, so every term *could* send a
# gradient to most of them. The figure shows the size of each term's gradient
# for each network on one batch. It has a row per term the code computes: $\mathcal{L}_\text{prior}$,
# $\mathcal{L}_\text{llike}$ (`similarity` in the code), the discriminator's $\mathcal{L}_\text{GAN}$
# (`gan`) and the decoder's non-saturating GAN term (`generator`), the form of $-\mathcal{L}_\text{GAN}$
# the decoder minimises; outlined cells are the ones the training step
# uses, the rest are blocked by computing each network's gradient from its own
# objective only (`torch.autograd.grad` per group, then stepping).

# %%
gen_batch = torch.Generator(device=S.device)
norms = term_gradient_norms(gan, x, gen_batch.manual_seed(SEED))
used = {g: [t for t, w in r.items() if w] for g, r in routes(gan).items()}
routing_figure(norms, used)

# %% [markdown]
# The training step, written out: one forward pass gives the four terms; each network's gradient is
# taken from its own objective only (`torch.autograd.grad` with that network's parameters), and only
# when all three are computed do the three optimisers step (a step changes weights that the other
# gradients still need).

# %%
def train_step(gan, x, optimizers, generator=None):
    """One VAE-GAN step: three objectives from one forward pass, each routed to its own network."""
    terms = vaegan_loss(gan, x, generator=generator)   # L_prior, L_llike (similarity), L_GAN (gan), generator
    objective = {"encoder": terms.prior + terms.similarity,                   # L_prior + L_llike
                 "decoder": gan.gamma * terms.similarity + terms.generator,   # gamma L_llike - L_GAN (non-saturating)
                 "discriminator": terms.gan}                                  # -L_GAN
    params = gan.parameter_groups()
    step_grads = {net: torch.autograd.grad(objective[net], params[net], retain_graph=True, allow_unused=True)
                  for net in objective}
    for net, optimizer in optimizers.items():
        for weight, g in zip(params[net], step_grads[net], strict=True):
            weight.grad = torch.zeros_like(weight) if g is None else g
        optimizer.step()
    return step_grads


def same(got, want):
    return all(torch.allclose(g, torch.zeros_like(g) if w is None else w, atol=1e-6) for g, w in zip(got, want))


_, grads = vaegan_grads(gan, x, gen_batch.manual_seed(SEED))   # the library's routing, which fit_vaegan steps with
dry_run = {net: torch.optim.SGD(p, lr=0.0) for net, p in gan.parameter_groups().items()}  # lr 0: no weight moves
mine = train_step(gan, x, dry_run, gen_batch.manual_seed(SEED))
assert norms["gan"]["encoder"] > 0 and norms["similarity"]["discriminator"] > 0   # leaks were possible...
assert all(same(grads[net], mine[net]) for net in grads)                          # ...and are blocked, as the library does
print({g: round(sum(float(t.pow(2).sum()) for t in v) ** 0.5, 3) for g, v in grads.items()})

# %% [markdown]
# Two more traps, both tested in `tests/test_vaegan.py`: the decoder's GAN
# gradient must have the sign that *fools* the discriminator, and no network may
# be stepped before the others' gradients are computed (otherwise they are
# computed against weights that already moved). The library's
# `adversarial_weight` multiplies the decoder's GAN term; at 0 the decoder gets none, while
# the discriminator keeps training, so its features (the learned similarity) are still learned.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. The ablation at matched weights
#
# Four models with the same encoder, decoder, discriminator, data, epochs and the same
# similarity weight 50, differing in two switches, each trained with three seeds:
#
# | | no GAN term for the decoder | with the GAN term |
# |---|---|---|
# | **pixel** similarity | a VAE (squared error, weight 50) | pixel + GAN |
# | **learned** (feature) similarity | features only | the VAE-GAN of Larsen et al. |
#
# Scores: the Frechet distance of 1,000 prior samples to the 1,000 reference test images,
# $FD = \lVert m_1 - m_2\rVert^2 + \mathrm{tr}(\Sigma_1 + \Sigma_2 - 2(\Sigma_1\Sigma_2)^{1/2})$
# for Gaussians $N(m, \Sigma)$ fitted to the 64 features of a small Fashion-MNIST classifier
# (lower is better; two real sets score the real-versus-real value printed with it), and the
# samples' mean sharpness beside the real images', with the *sharpness gap*
# $|s - s_\text{real}| / s_\text{real}$ (0: as sharp as real garments; too sharp counts too).

# %%
ARMS = {"VAE (pixel)": ("pixel", 0.0), "pixel + GAN": ("pixel", 1.0),
        "features only": ("feature", 0.0), "VAE-GAN": ("feature", 1.0)}
runs, scores = {}, {}
for name, (similarity, weight) in ARMS.items():
    for s in SEEDS:
        runs[name, s] = train_vaegan(s, similarity=similarity, adversarial_weight=weight)
        imgs = samples(runs[name, s][0])
        scores[name, s] = {"frechet": frechet(imgs, reference, "fashion"), "sharpness": float(sharpness(imgs).mean()),
                           "gap": sharpness_gap(imgs, test.x), "edge": float(edge_sharpness(imgs).mean())}
print(f"{'':14s} Frechet ({N_FD} vs {N_FD}; real vs real {FD_REAL:.2f})    sharpness (real {SHARP_REAL:.3f})"
      f"     sharpness gap |s - s_real| / s_real")
for name in ARMS:
    print(f"{name:14s} " + "/".join(f"{scores[name, s]['frechet']:7.1f}" for s in SEEDS) + "          "
          + "/".join(f"{scores[name, s]['sharpness']:.3f}" for s in SEEDS) + "        "
          + "/".join(f"{scores[name, s]['gap']:.3f}" for s in SEEDS))


ablation = [
    compare("VAE-GAN: sharpness closer to the real images' than the VAE's", column((scores["VAE-GAN", s] for s in SEEDS), "gap"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "gap")),
    compare("VAE-GAN has a lower Frechet distance than the VAE", column((scores["VAE-GAN", s] for s in SEEDS), "frechet"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "frechet")),
    compare("learned similarity, no GAN: sharpness closer to real than the VAE's", column((scores["features only", s] for s in SEEDS), "gap"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "gap")),
    compare("learned similarity, no GAN: lower Frechet than the VAE", column((scores["features only", s] for s in SEEDS), "frechet"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "frechet")),
    compare("GAN term on pixels: sharpness closer to real than the VAE's", column((scores["pixel + GAN", s] for s in SEEDS), "gap"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "gap")),
    compare("GAN term on features: lower Frechet than features only", column((scores["VAE-GAN", s] for s in SEEDS), "frechet"),
            column((scores["features only", s] for s in SEEDS), "frechet")),
]
print(verdict_table(ablation))
# asserted: what held on every development and held-out seed. The sharpness verdicts were INCONCLUSIVE on
# held-out base seeds (101, 104); the Frechet verdicts held at this scale, and at the full scale the pixel
# VAE's Frechet distance was the lower one (README, the confirmation table), so they are asserted here only.
assert all(ablation[k].verdict != DOES_NOT for k in (0, 2))
if S.name == "laptop":
    assert ablation[1].holds and ablation[3].holds
# the plain sharpness also counts speckle; the edge sharpness (after a one-pixel blur) does not
# (genlearn.sample_quality.edge_sharpness): read beside it, printed, not asserted
EDGE_REAL = float(edge_sharpness(test.x[:N_FD]).mean())
print(f"edge sharpness (real {EDGE_REAL:.4f}): " + "; ".join(
    f"{name} " + "/".join(f"{scores[name, s]['edge']:.4f}" for s in SEEDS) for name in ARMS))
print(verdict_table([
    compare("VAE-GAN: sharper edges (edge sharpness) than the VAE's", column((scores["VAE-GAN", s] for s in SEEDS), "edge"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "edge"), "higher"),
    compare("learned similarity, no GAN: sharper edges than the VAE's", column((scores["features only", s] for s in SEEDS), "edge"),
            column((scores["VAE (pixel)", s] for s in SEEDS), "edge"), "higher"),
]))
gan_share = {"sharpness gap (pixels)": abs(ablation[4].effect) / abs(ablation[2].effect),
             "Frechet (features)": abs(ablation[5].effect) / abs(ablation[3].effect)}
print("the GAN term's effect as a share of the learned similarity's: "
      + ", ".join(f"{k} {v:.1%}" for k, v in gan_share.items()))
if S.name == "laptop":  # at this budget the GAN term adds little; at the full scale it did more (printed there)
    assert all(v < 0.2 for v in gan_share.values())
weights = {s: runs["VAE-GAN", s][1]["similarity"][-1] / runs["VAE-GAN", s][1]["generator"][-1] for s in SEEDS}
print("VAE-GAN, last epoch: similarity term / decoder's GAN term = " + "/".join(f"{w:.0f}" for w in weights.values())
      + f" (above 20 on {sum(w > 20 for w in weights.values())} of {len(SEEDS)} seeds)")
far_and_blurry = [
    *[compare(f"{name}: Frechet above the real-versus-real value", [scores[name, s]["frechet"] for s in SEEDS],
              [FD_REAL] * len(SEEDS), "higher") for name in ARMS],
    compare("VAE (pixel): samples below 80 % of the real sharpness",
            [scores["VAE (pixel)", s]["sharpness"] for s in SEEDS], [0.8 * SHARP_REAL] * len(SEEDS), "lower"),
]
print(verdict_table(far_and_blurry))
assert all(v.verdict != DOES_NOT for v in far_and_blurry)  # the intervals, printed; and run by run:
run_by_run("every arm's Frechet above the real-versus-real value", (scores[name, s]["frechet"] > FD_REAL for name in ARMS
                                                                   for s in SEEDS), enforce=RUN_BY_RUN)
run_by_run("VAE (pixel) below 80 % of the real sharpness", (scores["VAE (pixel)", s]["sharpness"] < 0.8 * SHARP_REAL
                                                            for s in SEEDS), enforce=False)

# %%
vae, vaegan = runs["VAE (pixel)", SEED][0], runs["VAE-GAN", SEED][0]
fig, axes = plt.subplots(1, 5, figsize=(15, 3.4))
shown = {"real test images": test.x[:36]} | {name: samples(runs[name, SEED][0], 36) for name in ARMS}
for ax, (name, imgs) in zip(axes, shown.items()):
    ax.imshow(imgs.reshape(6, 6, 28, 28).permute(0, 2, 1, 3).reshape(168, 168), cmap="gray", vmin=0, vmax=1)
    ax.set_title(name); ax.axis("off")
fig.suptitle("36 prior samples of each ablation arm (first seed) beside 36 real test images")
for name in ARMS:
    print(confidence_line(samples(runs[name, SEED][0]), reference, "fashion", f"{name} samples (first seed)"))

# %% [markdown]
# What the table says, and no more. At this budget the VAE-GAN's samples have a lower Frechet distance
# than the pixel VAE's, and so do the samples of the model with the learned similarity and **no** GAN
# term (HOLDS, asserted at this scale; at the full scale the pixel VAE's samples were the closer ones,
# which is why the lesson shows the shipped full-scale models below). Whether their sharpness is
# closer to the real garments' are the two "sharpness closer to the real images'" verdicts: they held on the seeds this lesson was
# written with and were INCONCLUSIVE on held-out seeds, so only "not the opposite" is asserted; the
# edge-sharpness lines under the table (a measure speckle cannot fake) say how much of that sharpness
# is edges. The pixel VAE's samples are blurry (the verdict "VAE (pixel): samples below 80 % of the real
# sharpness", and the count under it). The two verdicts on the GAN term ("GAN term on pixels", "GAN term on features") isolate the GAN
# term itself: at the laptop scale its mean effect is less than a fifth of the learned similarity's
# (the printed shares, asserted there; at the full scale the share was larger, printed), because at this weight the decoder's GAN term (a few [nats](glossary.md#nat) per image) is
# tiny beside the similarity term (the printed ratio, and on how many seeds it exceeds 20). So at this budget the learned
# similarity, not the [adversarial term](glossary.md#adversarial-term), does almost all of the sharpening. The source article
# presents the two as one method; this ablation separates them, and the GAN term's own
# contribution is small here (whether it is distinguishable from zero is what the two GAN-term
# verdicts say). Every Frechet distance stays above the real-versus-real value on every seed (the
# "Frechet above the real-versus-real value" verdicts give the intervals): none of these models is
# close to the data yet. Look at the
# pictures too: at this budget (2,000 images, a few epochs) the pixel-similarity samples are grey
# blurs and the learned-similarity samples are sharp-edged textures more than garments. "Sharper" is a
# measured statement about gradients (and, by the edge sharpness, about edges), not a claim that the samples look real; the Frechet distances say
# they do not (and the classifier's confidence, printed under the pictures, says whether they are
# recognisable garments at all). The full-scale VAE and VAE-GAN the course ships are shown at the end
# of this section.
#
# **Question.** The widget shows the VAE's and the VAE-GAN's decodings of the *same* prior
# codes. Move the slider through a few seeds of the codes: for what share of the codes would you
# say the VAE-GAN's image has the crisper edges? Guess a percentage; the next cell measures it.

# %% tags=["nbval-ignore-output"]
sample_viewer({"VAE": vae, "VAE-GAN": vaegan})

# %%
pairs = paired_samples({"VAE": vae, "VAE-GAN": vaegan}, n=N_FD, seed=SEED)
crisper = float((sharpness(pairs["VAE-GAN"].clamp(0, 1)) > sharpness(pairs["VAE"].clamp(0, 1))).double().mean())
print(f"the VAE-GAN's decoding is sharper than the VAE's for {crisper:.0%} of {N_FD} shared prior codes")
crisper_edges = float((edge_sharpness(pairs["VAE-GAN"].clamp(0, 1)) > edge_sharpness(pairs["VAE"].clamp(0, 1)))
                      .double().mean())
print(f"by edge sharpness (which speckle cannot fake): {crisper_edges:.0%} of the same codes")
# one pair of models, one seed: a measurement to read, not a claim to assert

# %% [markdown]
# ### The VAE and the VAE-GAN at the full scale
#
# The course ships a VAE and a VAE-GAN trained on all 60,000 training images (`genlearn pretrain vae`,
# `genlearn pretrain vaegan`; their cards are on the course site's models page). They are one run
# each, so what follows is a measurement of two models, not a verdict over seeds: the sentences are
# their cards, and the last line compares their Frechet distances and classifier confidences.

# %%
fig, said = pretrained.showcase(["vae", "vaegan"], test.x)
print(said)
full = {k: pretrained.card(k)["metrics"] for k in ("vae", "vaegan")}
print(f"full scale: VAE-GAN Frechet {full['vaegan']['frechet']:.1f} against the VAE's {full['vae']['frechet']:.1f} "
      f"({'lower' if full['vaegan']['frechet'] < full['vae']['frechet'] else 'not lower'}); classifier confidence "
      f"{full['vaegan']['confidence']:.2f} against {full['vae']['confidence']:.2f}")
fig

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. What the learned similarity tolerates
#
# Section 1's average came from a one-pixel shift. A similarity that cares less about a small
# shift than pixels do gives the decoder less reason to average. Measure it: for 1,000 test
# garments, the squared distance between an image and its one-pixel shift, divided by the
# squared distance between the image and a *different* garment - once in pixels and once in
# the trained VAE-GAN's feature layer $\mathrm{Dis}_l$. The smaller the ratio, the more the
# measure treats a shift as "the same garment".

# %%
def shift_ratio(embed, x):
    """mean |f(x) - f(shift x)|^2 / mean |f(x) - f(other x)|^2 for a one-pixel shift to the right."""
    shifted = torch.zeros_like(x); shifted[..., 1:] = x[..., :-1]
    other = x.roll(1, dims=0)                                   # each image paired with a different one
    f, f_shift, f_other = embed(x), embed(shifted), embed(other)
    return float((f - f_shift).pow(2).sum(1).mean() / (f - f_other).pow(2).sum(1).mean())


tolerance = {}
for s in SEEDS:
    dis = runs["VAE-GAN", s][0].discriminator
    with torch.no_grad():
        tolerance[s] = {"pixels": shift_ratio(lambda v: v.flatten(1), reference),
                        "features": shift_ratio(lambda v, dis=dis: map_batches(
                            lambda b: dis.features(b, dis.n_layers), dis, v), reference)}
    print(f"seed {s}: shift / other-garment distance ratio: pixels {tolerance[s]['pixels']:.3f}, "
          f"learned features {tolerance[s]['features']:.3f}")
shift_verdict = compare("the learned similarity is more tolerant of a 1-pixel shift than pixels",
                        [tolerance[s]["features"] for s in SEEDS], [tolerance[s]["pixels"] for s in SEEDS])
print(verdict_table([shift_verdict]))
assert shift_verdict.verdict != DOES_NOT
assert all(0 < tolerance[s]["features"] < 1 and 0 < tolerance[s]["pixels"] < 1 for s in SEEDS)

# %% [markdown]
# Read the printed ratios seed by seed. A shift is a smaller step than a change of garment in
# both measures (every ratio is below 1). Whether the learned features tolerate it *more* than
# pixels depends on what each discriminator happened to learn: the ratios spread widely over the
# seeds, and the verdict is what three seeds can say at this budget - it never came out DOES NOT
# in our checks, but "the learned similarity is shift-tolerant", as the source article puts it,
# is not established here unless the verdict reads HOLDS.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Harder to train: an unstable run
#
# A VAE has one objective; a VAE-GAN is a game between networks, and its
# balance is fragile. Give the discriminator a learning rate ten times higher
# than the encoder's and decoder's, three seeds again. Every run of this lesson recorded after
# each epoch the mean squared length of the features $\lVert\mathrm{Dis}_l(x)\rVert^2$ of a fixed
# batch of real images: the reconstruction target of the similarity term.
#
# One caution before comparing runs: each run's similarity term is measured in *its own*
# discriminator's features, so the similarity values of two runs are in two different units and
# cannot be compared. To compare the two runs' reconstructions we use one fixed feature space for
# both: the 64 features $\phi$ of the Frechet distance's classifier,
# $\lVert\phi(x) - \phi(\tilde x)\rVert^2$ averaged over the reference images.

# %%
def recon_fixed_features(model):
    """mean |phi(x) - phi(x_rec)|^2 over the reference images, phi: the Frechet classifier's features
    (the same feature space for every model)."""
    rec = map_batches(model.reconstruct, model, reference).clamp(0, 1)
    return float((image_features(reference, "fashion") - image_features(rec, "fashion")).pow(2).sum(1).mean())


balanced = {s: runs["VAE-GAN", s][1] for s in SEEDS}
fast = {s: train_vaegan(s, lr_dis=1e-2) for s in SEEDS}
fast_scores = {s: frechet(samples(fast[s][0]), reference, "fashion") for s in SEEDS}
fixed = {(name, s): recon_fixed_features(model) for s in SEEDS
         for name, model in (("balanced", runs["VAE-GAN", s][0]), ("fast", fast[s][0]))}
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, key in zip(axes, ["gan", "feature_size"]):
    ax.plot(balanced[SEED][key], label="lr_dis = 1e-3 (balanced)")
    ax.plot(fast[SEED][1][key], label="lr_dis = 1e-2 (D too fast)")
    ax.set_title({"gan": "discriminator's GAN loss", "feature_size": "size of the discriminator's features"}[key])
    ax.set_xlabel("epoch"); ax.set_ylabel({"gan": "nats per image", "feature_size": "mean squared norm"}[key])
    ax.set_yscale("log")
axes[0].legend()
for s in SEEDS:
    print(f"seed {s}: feature size per epoch: balanced " + " ".join(f"{v:.0f}" for v in balanced[s]["feature_size"])
          + "; fast D " + " ".join(f"{v:.0f}" for v in fast[s][1]["feature_size"])
          + f"; Frechet balanced {scores['VAE-GAN', s]['frechet']:.1f}, fast D {fast_scores[s]:.1f}"
          + f"; reconstruction error in fixed features balanced {fixed['balanced', s]:.1f}, fast D {fixed['fast', s]:.1f}")


def last_d_loss(seed):
    """(fast D's last-epoch discriminator loss, the balanced one's) for one seed; seeds past SEEDS trained here."""
    if seed in fast:
        return fast[seed][1]["gan"][-1], balanced[seed]["gan"][-1]
    return (train_vaegan(seed, lr_dis=1e-2)[1]["gan"][-1],
            train_vaegan(seed, similarity="feature", adversarial_weight=1.0)[1]["gan"][-1])


unstable = [  # the first adds seeds (up to three more, far from the others) while three cannot decide
    compare_adding_seeds("fast D: lower discriminator loss (D wins)", last_d_loss, SEEDS, [SEED + 1000 + k for k in range(3)]),
    compare("fast D: worse reconstructions, one fixed feature space", [fixed["fast", s] for s in SEEDS],
            [fixed["balanced", s] for s in SEEDS], better="higher"),
    compare("fast D: features keep growing (last epoch vs first)", [fast[s][1]["feature_size"][-1] for s in SEEDS],
            [fast[s][1]["feature_size"][0] for s in SEEDS], better="higher"),
    compare("balanced: features keep growing (last epoch vs first)", [balanced[s]["feature_size"][-1] for s in SEEDS],
            [balanced[s]["feature_size"][0] for s in SEEDS], better="higher"),
    compare("fast D: worse samples (higher Frechet)", [fast_scores[s] for s in SEEDS],
            column((scores["VAE-GAN", s] for s in SEEDS), "frechet"), better="higher"),
]
print(verdict_table(unstable))
assert unstable[0].verdict != DOES_NOT and unstable[-1].verdict != DOES_NOT  # held on every seed; HOLDS did not

# %% [markdown]
# "Fast D: lower discriminator loss" says whether the fast discriminator wins its game, "fast D: worse
# samples" whether its samples are farther from the real garments (Frechet). Both held on the seeds this lesson
# was written with, and neither reads the opposite anywhere (asserted); on held-out base seeds (11,
# 107) three seeds could not decide them (INCONCLUSIVE). So the first is a verdict that adds seeds
# while it is INCONCLUSIVE, up to three more (`genlearn.verdict.compare_adding_seeds`; each look is
# tested at a stricter level, so that looking again cannot manufacture a HOLDS): its seed count shows how
# many it took. "Fast D: worse
# reconstructions, one fixed feature space" compares the two runs' reconstructions in the one fixed feature space (the similarity terms of two
# runs are measured in two different discriminators' features and cannot be compared directly).
# Measured within each run, the feature size does grow over the first epochs in most runs, but the two
# "features keep growing" verdicts show how far three seeds support "keeps growing" (last epoch against first,
# in each run): where they read INCONCLUSIVE, the growth is real in some runs and not in others,
# and we do not claim it.
# What stabilises training here is balance: the same learning rate for all three networks (and
# Adam with $\beta_1 = 0.5$, the usual GAN setting, the default of `fit_vaegan`).

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 6. Three classes: real, reconstructed, generated
#
# In the two-class game the decoder only has to make $\tilde x$ and $x_p$ look
# real. Nothing checks that codes from the encoder look like codes from the
# prior: as long as both decode to realistic images, the discriminator is
# fooled. A variant lets the discriminator tell **three** classes apart:
# real $x$, reconstructed $\tilde x$ and generated $x_p$ (a softmax over three
# logits). The decoder wants both fakes classified "real"; the encoder gets
# one more term, `code`: reconstructions should be as likely "generated" as
# "reconstructed". Since the decoder is shared, the argument goes, the only
# way to make $\tilde x$ and $x_p$ indistinguishable is to make encoded codes
# look like prior codes.
#
# We measure how far the encoded codes are from the prior with the Gaussian
# fitted to the [aggregate posterior](glossary.md#aggregate-posterior) $q(z) = \frac1N\sum_n q(z|x_n)$ (the reference test
# images) and its KL to $N(0, I)$ (lesson 03's formula).

# %%
three = {s: train_vaegan(s, discriminator="three_class")[0] for s in SEEDS}


def code_kl(model):
    mu, logvar = model.encode(reference.to(S.device))
    return aggregate_posterior_kl(mu, logvar)


def rec_vs_gen_accuracy(model, seed):
    """How often the three-class discriminator ranks 'reconstructed' above 'generated' on the right image."""
    out = model(reference.to(S.device), torch.Generator(device=S.device).manual_seed(seed))
    lr, lg = model.discriminator(out.x_rec), model.discriminator(out.x_gen)
    return float(torch.cat([lr[:, 1] > lr[:, 2], lg[:, 2] > lg[:, 1]]).float().mean())


with torch.no_grad():
    kls = {(name, s): code_kl(model) for s in SEEDS for name, model in
           (("VAE", runs["VAE (pixel)", s][0]), ("two classes", runs["VAE-GAN", s][0]), ("three classes", three[s]))}
    accuracy = {s: rec_vs_gen_accuracy(three[s], s) for s in SEEDS}
for name in ("VAE", "two classes", "three classes"):
    print(f"{name:14s} KL(aggregate posterior || prior) = " + "/".join(f"{kls[name, s]:.2f}" for s in SEEDS) + " nats")
print("three-class D tells reconstructed from generated on " + "/".join(f"{accuracy[s]:.0%}" for s in SEEDS)
      + " of the reference images (coin: 50%)")
three_verdicts = [
    compare("three classes bring the codes closer to the prior than two", [kls["three classes", s] for s in SEEDS],
            [kls["two classes", s] for s in SEEDS]),
    compare("three-class codes are closer to the prior than the VAE's", [kls["three classes", s] for s in SEEDS],
            [kls["VAE", s] for s in SEEDS]),
    compare("the VAE's codes at less than half the VAE-GANs' KL", [kls["VAE", s] for s in SEEDS],
            [0.5 * min(kls["two classes", s], kls["three classes", s]) for s in SEEDS]),
]
print(verdict_table(three_verdicts))
run_by_run("the three-class discriminator above 60 % accuracy", (accuracy[s] > 0.6 for s in SEEDS), enforce=RUN_BY_RUN)
assert three_verdicts[0].verdict != HOLDS and three_verdicts[2].verdict != HOLDS
# "the VAE's codes at less than half the VAE-GANs' KL" does not hold at matched weights:
run_by_run("the VAE's KL above half the VAE-GANs'", (kls["VAE", s] > 0.5 * min(kls["two classes", s], kls["three classes", s])
                                                     for s in SEEDS), enforce=RUN_BY_RUN)

# %% [markdown]
# What the numbers say on Fashion-MNIST at this budget:
#
# * The three-class discriminator still tells reconstructions from generated images apart
#   well above the 50 % of a coin on every seed: the two kinds of fakes are not alike yet.
# * "Three classes bring the codes closer to the prior than two" asks what its name says. It does not read HOLDS (asserted); in our sweep over the base seeds 0-4 it read
#   DOES NOT wherever we looked: the three-class codes end *farther* from the prior. That
#   contradicts the variant's argument "the decoder is shared, so only the codes can change",
#   which assumes the decoder cannot map two different code distributions to similar images; a
#   flexible decoder can, and the encoder's `code` term can also be met by making
#   reconstructions *worse*.
# * "Three-class codes are closer to the prior than the VAE's" compares with the VAE of section 3, whose KL term has the same weight 1
#   against a similarity weight of 50. Is the VAE's code distribution much closer to the prior than
#   either VAE-GAN's (less than half their KL)? At matched weights that does not hold on any seed (run by run at the laptop scale; its verdict, "the VAE's codes at less than half the VAE-GANs' KL", is asserted not to read HOLDS), and the
#   printed KLs show where each model lands.
#
# Measuring, rather than trusting the story, is the point of this section.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 7. VAE-GAN vs "GAN-VAE"
#
# The encoder can sit on either side of the [generator](glossary.md#generator):

# %%
order_diagram()

# %% [markdown]
# * **VAE-GAN** (this lesson): data $x$ -> encoder -> $z$ -> decoder (the
#   generator) -> $\tilde x$. The [autoencoder](glossary.md#autoencoder) reconstructs *images*; the GAN
#   makes those images, and prior samples, look real. GAN improves VAE.
# * **GAN-VAE**: a code $z$ -> generator -> image $x_g$ -> encoder -> $\hat z$,
#   trained to give back $z$. The autoencoder reconstructs *codes*, so every
#   generated image must keep enough information to recover its code, which
#   discourages the generator from collapsing many codes onto one image. VAE
#   improves GAN. CycleGAN uses exactly this loop as one half of its cycle
#   consistency: translate $A \to B$, translate back $B \to A$, compare with the start.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# What this notebook measured, over three seeds, and no more:
#
# * Under squared error the optimal prediction for an uncertain input is the average of the
#   possibilities (computed, section 1): blur is the price of a pixel-wise loss.
# * At the same weight 50, data and epochs, at the laptop scale, the VAE-GAN's samples are closer to
#   real garments in Frechet distance (always beside the real-versus-real value) than the VAE's, and
#   so are the learned similarity's alone, without the GAN term (section 3); in sharpness the same
#   verdicts held on the development seeds and were INCONCLUSIVE on held-out ones, so they are only
#   asserted not to read the opposite. Whether the GAN term adds anything at this budget is what
#   "GAN term on pixels" and "GAN term on features" say; at the full scale the shipped models show
#   where the adversarial term earns its place (end of the lesson).
# * How much the learned similarity tolerates a one-pixel shift, compared with pixels, is
#   measured per seed; the verdict of section 4 says whether three seeds establish it.
# * Each network must be trained only by its own objective: encoder by prior +
#   similarity, decoder by $\gamma$ similarity + adversarial term, discriminator
#   by the GAN loss (checked, section 2).
# * It is a game: a discriminator ten times faster wins its game, and the samples get worse
#   (Frechet, section 5).
#
# The terms are in the [glossary](glossary.md).
