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
# # Lesson 01 - Autoencoders
#
# An [autoencoder](glossary.md#autoencoder) squeezes each input through a narrow
# **[bottleneck](glossary.md#bottleneck)** and tries to rebuild it on the other side:
#
# $$x \;\xrightarrow{\ \text{encoder } f\ }\; z = f(x) \;\xrightarrow{\ \text{decoder } g\ }\; \hat x = g(z),
# \qquad \text{trained to make } \lVert \hat x - x\rVert^2 \text{ small.}$$
#
# The short vector $z$ is the **[latent code](glossary.md#latent-code)**. Because it has far fewer numbers
# than the input, the network must decide what to keep: a learned, lossy
# compression. In this lesson we train autoencoders on the 8x8 digits that ship
# with scikit-learn and measure four things:
#
# 1. similar inputs get nearby codes;
# 2. how a (linear, shallow, deep) autoencoder compares with [PCA](glossary.md#pca);
# 3. why decoding the midpoint between two codes need not give a sensible image
#    (the "full moon / half moon" example), and what noise does about it;
# 4. what is missing before an autoencoder can *generate*.

# %% slideshow={"slide_type": "skip"}
import matplotlib.pyplot as plt
import torch
from sklearn.neighbors import KNeighborsClassifier

from genlearn import seed_everything
from genlearn.data import load_digits, moon_phases
from genlearn.models import AE, ae_loss
from genlearn.models.latent import decode_points, encode_mean, interpolate
from genlearn.scale import base_seed, lesson_threads
from genlearn.train import fit
from genlearn.viz import image_grid, interpolation_strip, latent_scatter, loss_curves, show_reconstructions
from genlearn.widgets import interpolation_slider, latent_explorer

SEED = base_seed()  # GENLEARN_SEED, default 0: every assert below holds for seeds 0-4
seed_everything(SEED, threads=lesson_threads())  # GENLEARN_THREADS, default one: the same numbers on every run
train, test = load_digits("train"), load_digits("test")
print(f"train {tuple(train.x.shape)}, test {tuple(test.x.shape)}, pixel range [{train.x.min():.0f}, {train.x.max():.0f}]")


def test_error(model, x=test.x):
    """Squared error per image (summed over the 64 pixels), averaged over the test set."""
    with torch.no_grad():
        return float(ae_loss(model.cpu(), x).recon)


# %% [markdown] slideshow={"slide_type": "slide"}
# ## 1. A two-number code for every digit
#
# Our first autoencoder maps each 64-pixel image to just **two** numbers, so
# that we can draw every code as a point. [Encoder](glossary.md#encoder): 64 -> 256 -> 128 -> 2;
# the [decoder](glossary.md#decoder) mirrors it; the output goes through a sigmoid so pixels stay in
# $[0, 1]$. The loss is the squared error summed over the pixels of an image
# and averaged over the batch (the course's convention: everything per example).

# %%
seed_everything(SEED)
ae2 = AE((1, 8, 8), latent_dim=2, hidden=(256, 128))
history = fit(ae2, ae_loss, train.x, epochs=60, lr=2e-3, seed=SEED, device="cpu")
loss_curves(history, keys=["loss"])

# %%
show_reconstructions(test.x[:12], ae2.reconstruct(test.x[:12]))

# %% [markdown]
# Two numbers per image is a brutal compression, so the [reconstructions](glossary.md#reconstruction) are
# recognisable but blurry. Now the codes of the test digits, coloured by the
# digit they show (the model never saw the labels):

# %%
z_train, z_test = encode_mean(ae2, train.x), encode_mean(ae2, test.x)
latent_scatter(z_test, test.y, title="2-D codes of the test digits")

# %% [markdown]
# Same-class codes cluster. To put a number on "cluster", classify each test
# digit by the labels of its 5 nearest *training codes*: if codes of the same
# class were scattered at random, this would be right 10 % of the time.

# %%
knn = KNeighborsClassifier(n_neighbors=5).fit(z_train.numpy(), train.y.numpy())
knn_accuracy = knn.score(z_test.numpy(), test.y.numpy())
print(f"5-nearest-neighbour accuracy in the 2-D code space: {knn_accuracy:.1%} (chance: 10%)")
assert knn_accuracy > 0.5

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 2. How good is the compression? Autoencoders against PCA
#
# With an 8-number code we compare four models on the test set:
#
# * **PCA**: project on the 8 directions of largest variance - the best any
#   *linear* map can do;
# * a **linear autoencoder** (no hidden layer, no nonlinearity), which can at best
#   match PCA (it learns the same subspace);
# * a **shallow** autoencoder: 64 -> 8 -> 64 with a sigmoid output;
# * a **deep** autoencoder: 64 -> 256 -> 128 -> 8 and back, like the famous
#   784-1000-500-250-30 network of Hinton and Salakhutdinov (2006) scaled down
#   to 8x8 images.

# %%
K = 8
flat_train, flat_test = train.x.flatten(1).double(), test.x.flatten(1).double()
mean = flat_train.mean(0)
_, _, vt = torch.linalg.svd(flat_train - mean, full_matrices=False)
pca_recon = (flat_test - mean) @ vt[:K].T @ vt[:K] + mean
errors = {"PCA": float(((pca_recon - flat_test) ** 2).sum(1).mean())}

models = {
    "linear AE": AE((1, 8, 8), K, hidden=(), output="linear"),
    "shallow AE": AE((1, 8, 8), K, hidden=()),
    "deep AE": AE((1, 8, 8), K, hidden=(256, 128)),
}
for name, model in models.items():
    seed_everything(SEED)
    fit(model, ae_loss, train.x, epochs=150, lr=3e-3, seed=SEED, device="cpu", progress=False)
    errors[name] = test_error(model)

for name, err in errors.items():
    print(f"{name:11s} test error {err:6.3f} per image")
fig, ax = plt.subplots(figsize=(5.5, 3))
ax.bar(list(errors), list(errors.values()), color=["0.5", "C0", "C1", "C2"])
ax.set_ylabel("squared error per image"); ax.set_title(f"{K}-number codes, test set");

# %% [markdown]
# The linear autoencoder lands on PCA's error (it cannot beat it: PCA is the
# optimal linear projection), while the deep autoencoder, free to bend its
# [code space](glossary.md#latent-space), goes clearly below it.

# %%
assert errors["linear AE"] >= 0.99 * errors["PCA"]        # no linear map beats PCA
assert errors["linear AE"] <= 1.10 * errors["PCA"]        # ...and training finds (nearly) PCA's subspace
assert errors["deep AE"] < 0.9 * errors["PCA"]            # depth buys a better code
assert errors["deep AE"] < errors["shallow AE"]

# %% [markdown] slideshow={"slide_type": "slide"}
# ### A bottleneck can learn to drop noise
#
# Noise is what a narrow code should not waste its numbers on - but an
# autoencoder trained only on clean digits was never told what noise is. Add
# Gaussian noise to the test digits and compare two deep autoencoders: the one
# above, and a **denoising** autoencoder (`AE(..., input_noise=0.25)`) that
# during training encodes a noisy copy but is scored on rebuilding the clean one.

# %%
seed_everything(SEED)
denoiser = AE((1, 8, 8), K, hidden=(256, 128), input_noise=0.25)
fit(denoiser, ae_loss, train.x, epochs=150, lr=3e-3, seed=SEED, device="cpu", progress=False)

gen = torch.Generator().manual_seed(0)
noisy = test.x + 0.25 * torch.randn(test.x.shape, generator=gen)
deep = models["deep AE"]


def error_to_clean(images):
    return float(((images - test.x) ** 2).flatten(1).sum(1).mean())


noise_only = error_to_clean(noisy)
plain_out, denoised_out = error_to_clean(deep.reconstruct(noisy)), error_to_clean(denoiser.reconstruct(noisy))
print(f"squared error to the clean digits: noisy input {noise_only:.2f}, plain AE output {plain_out:.2f}, "
      f"denoising AE output {denoised_out:.2f}")
assert denoised_out < 0.5 * noise_only and denoised_out < plain_out
show_reconstructions(noisy[:10].clamp(0, 1), denoiser.reconstruct(noisy[:10]), labels=("noisy", "denoised"))

# %% [markdown]
# Trained to ignore noise, the bottleneck throws it away and keeps the digit.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 3. Full moon, half moon: interpolation in code space
#
# Train an autoencoder on exactly two pictures - a half moon and a full moon,
# drawn by `genlearn.data.moon_phases` - and decode the points on the straight
# line between their two codes. A person would hope to see the moon wax from
# half to full, passing a three-quarter moon in the middle.

# %%
SIZE = 16
pair = moon_phases(torch.tensor([0.5, 1.0]), size=SIZE)
moons = pair.repeat(50, 1, 1, 1)  # 100 training images: 50 copies of each
seed_everything(SEED)
moon_ae = AE((1, SIZE, SIZE), latent_dim=2, hidden=(128, 64), output="linear")
fit(moon_ae, ae_loss, moons, epochs=200, batch_size=25, lr=1e-3, seed=SEED, device="cpu", progress=False)

codes = encode_mean(moon_ae, pair)
ts = torch.linspace(0, 1, 9)
frames = decode_points(moon_ae, interpolate(codes[0], codes[1], 9)).clamp(0, 1)
interpolation_strip(frames, ts.tolist(), title="decoded along the line from the half-moon code to the full-moon code")

# %% [markdown]
# Is the middle frame a moon at all? Compare every decoded frame with a
# dictionary of 201 real moons (phases 0, 0.005, ..., 1) and report the
# distance to the closest one: a real moon scores 0.

# %%
phases = torch.linspace(0, 1, 201)
dictionary = moon_phases(phases, size=SIZE).flatten(1)


def closest_moon(images):
    """Squared distance to the closest real moon, and that moon's phase."""
    d2 = torch.cdist(images.flatten(1), dictionary) ** 2
    best = d2.min(dim=1)
    return best.values, phases[best.indices]


distance, phase = closest_moon(frames)
for t, dist, ph in zip(ts, distance, phase):
    print(f"t = {t:.3f}: closest real moon has phase {ph:.3f}, squared distance {dist:7.3f}")
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(ts, distance, "o-"); ax.set_xlabel("t along the line between the two codes")
ax.set_ylabel("distance to closest real moon"); ax.set_title("the middle of the line is not a moon");

# %% [markdown]
# Both ends are reproduced perfectly; the middle of the line is not the three-quarter moon. How far
# is "far"? The yardstick is the laziest in-between image there is, a pixel cross-fade of the two
# moons (half of each), and the true three-quarter moon:

# %%
assert distance[0] < 1e-3 and distance[-1] < 1e-3
true_quarter = moon_phases(torch.tensor([0.75]), size=SIZE)
cross_fade = 0.5 * (pair[0] + pair[1])
to_quarter = float(((frames[4] - true_quarter) ** 2).sum())
fade_to_real = float(closest_moon(cross_fade[None])[0][0])
print(f"midpoint: {distance[4]:.2f} from the nearest real moon, {to_quarter:.2f} from the true 3/4 moon; "
      f"a pixel cross-fade: {fade_to_real:.2f} from the nearest real moon")
assert distance[4] > 100 * max(distance[0], distance[-1], 1e-4) and to_quarter > 1.0

# %% [markdown]
# The midpoint is not the three-quarter moon, and the printed numbers put its distance to the nearest
# real moon beside that of a mere pixel cross-fade. That is not a defect a better architecture would fix: trained on two pictures, **no** model can know what a three-quarter moon looks like -
# that knowledge is not in the data. What *can* be fixed is the code space itself: here the
# autoencoder was only ever asked about two points of it, so what it does in between is
# unconstrained. The next experiment, and lesson 04's [VAE](glossary.md#vae), constrain it; lesson 04
# ("The moon, revisited") trains both fixes, the missing phases and the VAE, and measures each.

# %% [markdown] slideshow={"slide_type": "slide"}
# ### Noise: let each example cover a region, not a point
#
# A first fix: add noise to the code during training (`AE(..., code_noise=s)`).
# The decoder then sees *every* code within about $s$ of an example's code and
# must map all of them to that example, so each example owns a region instead of
# a point. Let us measure two things for noise levels 0, 1 and 3:
#
# * the error when a training code is pushed a distance 1 in a random direction
#   (small = the region around each example decodes to that example);
# * the distance between the two codes.

# %%
def perturbed_error(model, radius=1.0, n=200):
    gen = torch.Generator().manual_seed(1)
    z = encode_mean(model, pair)
    u = torch.nn.functional.normalize(torch.randn(n, 2, 2, generator=gen), dim=-1)
    decoded = decode_points(model, (z + radius * u).reshape(-1, 2)).reshape(n, 2, -1)
    return float(((decoded - pair.flatten(1)) ** 2).sum(-1).mean())


noise_results = {}
for s in (0.0, 1.0, 3.0):
    seed_everything(SEED)
    model = AE((1, SIZE, SIZE), latent_dim=2, hidden=(128, 64), output="linear", code_noise=s)
    fit(model, ae_loss, moons, epochs=200, batch_size=25, lr=1e-3, seed=SEED, device="cpu", progress=False)
    z = encode_mean(model, pair)
    noise_results[s] = (perturbed_error(model), float((z[0] - z[1]).norm()))
    print(f"code noise {s}: error after moving the code by 1: {noise_results[s][0]:8.3f};"
          f"  distance between the two codes: {noise_results[s][1]:6.2f}")

# %% [markdown]
# With noise, a code can move a whole unit and still decode to its example: the
# region each example covers has grown. But look at the second column: the
# encoder has also **pushed the two codes apart** (several times their distance
# without noise: asserted at least twice), far beyond the noise, so the
# gap between them is as unexplored as before. Noise alone is not enough; we also
# need to stop the codes from running away, by asking them to stay close to a
# fixed distribution. Noise *plus* that pull towards a [prior](glossary.md#prior) is exactly the
# [variational autoencoder](glossary.md#vae) of lesson 04.

# %%
assert noise_results[1.0][0] < 0.1 * noise_results[0.0][0]   # noise widens the region
assert noise_results[1.0][1] > 2 * noise_results[0.0][1]     # ...but the codes run apart (4.65x at base seed 515)
assert noise_results[3.0][1] > noise_results[1.0][1]

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 4. What makes a model generative?
#
# Two conditions:
#
# 1. the encoder and decoder can be **separated**: the decoder alone turns a
#    code into an image;
# 2. **any** code we draw from a known distribution decodes to a plausible image.
#
# Our 2-D digit autoencoder meets the first but not the second: it never said
# which codes are valid, so there is no distribution to draw codes from. Try two
# guesses - the standard normal $N(0, I)$, and uniform draws from the box that
# holds the training codes - and score the decoded images as a population with
# the **[Frechet distance](glossary.md#frechet-distance)** (`genlearn.sample_quality`, used throughout the course):
# fit a Gaussian $N(m_1, S_1)$ to the features a digit classifier extracts from the generated images
# and $N(m_2, S_2)$ to those of real test digits, and measure
# $\lVert m_1 - m_2\rVert^2 + \mathrm{tr}\big(S_1 + S_2 - 2(S_1S_2)^{1/2}\big)$; 0 means identical statistics.
# It is biased upwards for small sets, so it is always read beside the **real-versus-real** value (two
# disjoint halves of the real test digits): the [measurement protocol](glossary.md#measurement-protocol) of the course.
#
# And a third, fair guess: fit a Gaussian to the *training codes*
# (`AE.fit_prior`) and draw from it. That is the honest best a plain autoencoder can do.

# %%
from genlearn.sample_quality import digit_classifier, digit_frechet_distance, frechet_reference  # noqa: E402

gen = torch.Generator().manual_seed(SEED + 2)
lo, hi = z_train.min(0).values, z_train.max(0).values
ae2.fit_prior(train.x)
guesses = {
    "reconstructions of test digits": z_test[:148],
    "z ~ N(0, I)": torch.randn(148, 2, generator=gen),
    "z uniform in the box of training codes": lo + (hi - lo) * torch.rand(148, 2, generator=gen),
    "z ~ Gaussian fitted to the training codes": ae2.prior.sample(148, gen),
}
decoded = {name: decode_points(ae2, z) for name, z in guesses.items()}
frechet = {name: digit_frechet_distance(imgs) for name, imgs in decoded.items()}
real_vs_real = frechet_reference(148)
for name, value in frechet.items():
    print(f"Frechet distance to real test digits, {name:42s}: {value:6.1f}")
print(f"{'real versus real (two halves of the test digits, 148 each)':80s}: {real_vs_real:6.1f}")
reference = frechet["reconstructions of test digits"]
assert frechet["z ~ N(0, I)"] > 2 * reference and frechet["z uniform in the box of training codes"] > 2 * reference
assert frechet["z ~ Gaussian fitted to the training codes"] < frechet["z ~ N(0, I)"]
image_grid(decoded["z ~ N(0, I)"][:40], ncols=10, title="decoded z ~ N(0, I)")

# %% [markdown]
# Codes drawn without regard to where the training codes lie decode to a population far from real
# digits. One way it is wrong, measured: the **proportions of the classes**. A classifier's answers on
# the decoded images, against the real test digits' (total-variation distance: half the sum of the
# absolute differences of the ten proportions; 0 means the same mix):

# %%
def class_mix(images):
    with torch.no_grad():
        return torch.bincount(digit_classifier()(images).argmax(1), minlength=10).double() / len(images)


real_mix = class_mix(test.x)
tv = {name: 0.5 * float((class_mix(imgs) - real_mix).abs().sum()) for name, imgs in decoded.items()}
for name, value in tv.items():
    print(f"class mix, {name:42s}: total-variation distance {value:.2f}")
assert tv["z ~ N(0, I)"] > 2 * tv["reconstructions of test digits"]

# %% [markdown]
# So $N(0, I)$ is a strawman for an autoencoder: its codes were never asked to have that scale. With
# a Gaussian fitted to its codes the samples come closer (the line "z ~ Gaussian fitted to the training codes" of the Frechet printout), and
# lessons 04 and 07 keep that fair rival beside the VAE. What the plain autoencoder lacks is any
# *training* pressure on where codes may lie: the VAE (lesson 04) adds it, training the decoder on
# *noisy* codes and pulling all codes towards a fixed prior.

# %% [markdown] slideshow={"slide_type": "slide"}
# ## 5. Explore, with a question each
#
# **Question 1.** Walk the 2-D code space of the digit autoencoder with the two sliders, starting at
# the code of the first test digit. Move the first slider from one end of the training codes' range to
# the other: how many different digits do you pass? The next cell asks the classifier along that line.

# %% tags=["nbval-ignore-output"]
latent_explorer(ae2, z0=z_test[0], lo=float(lo.min()), hi=float(hi.max()), step=0.1)

# %%
line = z_test[0].repeat(21, 1)
line[:, 0] = torch.linspace(float(lo[0]), float(hi[0]), 21)
with torch.no_grad():
    seen = sorted(set(digit_classifier()(decode_points(ae2, line)).argmax(1).tolist()))
print(f"along the first code axis the classifier sees the digits {seen}")
assert len(seen) >= 2

# %% [markdown]
# **Question 2.** Interpolate with the second widget from a test 0 to a test 1 (two whose
# reconstructions the classifier recognises). Where along the way does the classifier's answer
# change? The next cell finds the first $t$.

# %%
with torch.no_grad():
    recognised = digit_classifier()(ae2.reconstruct(test.x)).argmax(1) == test.y
ends = [int(((test.y == c) & recognised).nonzero()[0]) for c in (0, 1)]

# %% tags=["nbval-ignore-output"]
interpolation_slider(ae2, test.x[ends[0]], test.x[ends[1]])

# %%
ts = torch.linspace(0, 1, 21)
with torch.no_grad():
    answers = digit_classifier()(decode_points(ae2, interpolate(z_test[ends[0]], z_test[ends[1]], 21))).argmax(1)
first_change = next(float(t) for t, a in zip(ts, answers) if a != answers[0])
print(f"classifier along the path: {answers.tolist()}; first change at t = {first_change:.2f}")
assert answers[0] != answers[-1] and 0 < first_change <= 1

# %% [markdown] slideshow={"slide_type": "slide"}
# ## Summary
#
# * An autoencoder learns a lossy code through a bottleneck; codes of similar
#   inputs end up near each other (measured above with a nearest-neighbour test).
# * A linear autoencoder recovers PCA; depth gives a better code for the same size.
# * The bottleneck drops noise. But between training codes the decoder is
#   unconstrained: the midpoint of a half moon and a full moon is not the three-quarter moon
#   (and no model trained on two pictures could know that moon; lesson 04 adds the phases in
#   between and a VAE, and measures what each fixes).
# * Noise on the code widens the region each example covers, yet the encoder can
#   escape by spreading codes apart; a [generative model](glossary.md#generative-model) also needs a prior.
# * Drawn from $N(0, I)$, an autoencoder's samples are a strawman (far from real digits, the wrong mix
#   of classes); drawn from a Gaussian fitted to its codes they come closer. Lessons 04 and 07 keep
#   that fair rival beside the VAE; the Frechet distance is always read beside its real-versus-real value.
#
# Exercises: `exercises/01_autoencoders.ipynb` (`genlearn check exercises/01_autoencoders.ipynb`).
