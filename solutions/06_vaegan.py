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
# # Exercises 06 - VAE-GAN
#
# Five functions: the blur of squared error, then the loss terms of a VAE-GAN
# (Larsen et al., 2016) and of its three-class variant. They work on plain
# tensors (discriminator logits and features), so you need no trained model.
# Each is followed by a check cell that prints `PASS`, `TODO` or `FAIL` with a
# hint. From a terminal: `genlearn check exercises/06_vaegan.ipynb`.
#
# Conventions: every loss is a batch **mean** of per-example values; logits are
# raw scores (before the sigmoid or softmax). The three discriminator classes
# are 0 = real, 1 = reconstructed, 2 = generated.
#
# Stuck? `hint("best_guess")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/06_vaegan.ipynb best_guess --hint`.

# %%
import torch
import torch.nn.functional as F

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: the best guess under squared error
#
# The decoder cannot tell which of `K` candidate images (shape `(K, C, H, W)`)
# is the right one; candidate `k` has probability `probs[k]`. Return the single
# image $c$ that minimises $\sum_k p_k \lVert x_k - c\rVert^2$.

# %%
def best_guess(candidates, probs):
    """The image c (C, H, W) minimising the expected squared error."""
    # BEGIN SOLUTION
    return (probs.reshape(-1, *[1] * (candidates.ndim - 1)) * candidates).sum(0)
    # END SOLUTION
# %%
check("best_guess", best_guess)

# %% [markdown]
# ## Exercise 2: the learned similarity
#
# With the activations of a discriminator layer for real images `f_real` and
# for their reconstructions `f_rec` (both `(N, units)`), return
# $\frac{1}{N}\sum_n \frac{1}{2\sigma^2}\lVert f^\text{real}_n - f^\text{rec}_n\rVert^2$:
# the Gaussian negative log-likelihood without its constant.

# %%
def feature_similarity(f_real, f_rec, sigma):
    """Batch mean of the squared feature distance (summed over units) over 2 sigma^2."""
    # BEGIN SOLUTION
    return (f_real - f_rec).pow(2).sum(1).mean() / (2 * sigma**2)
    # END SOLUTION
# %%
check("feature_similarity", feature_similarity)

# %% [markdown]
# ## Exercise 3: the discriminator's loss
#
# The discriminator maximises
# $\mathcal{L}_\text{GAN} = \log D(x) + \log(1 - D(\tilde x)) + \log(1 - D(x_p))$
# with $D = \text{sigmoid}(\text{logit})$. Return $-\mathcal{L}_\text{GAN}$
# (batch mean) from the logits `(N,)` of the real images (`real`), the
# reconstructions (`rec`) and the prior samples (`gen`), without overflow for
# large logits.

# %%
def discriminator_loss(real, rec, gen):
    """-[log D(x) + log(1 - D(x_rec)) + log(1 - D(x_gen))], batch mean."""
    # BEGIN SOLUTION
    bce = F.binary_cross_entropy_with_logits
    return bce(real, torch.ones_like(real)) + bce(rec, torch.zeros_like(rec)) + bce(gen, torch.zeros_like(gen))
    # END SOLUTION
# %%
check("discriminator_loss", discriminator_loss)

# %% [markdown]
# ## Exercise 4: the decoder's adversarial loss, two ways
#
# The decoder wants both fakes to be called real. Return, as a batch mean:
#
# * `form="non_saturating"` (the default): $-\log D(\tilde x) - \log D(x_p)$;
# * `form="saturating"` (the decoder's part of $-\mathcal{L}_\text{GAN}$):
#   $\log(1 - D(\tilde x)) + \log(1 - D(x_p))$.
#
# The check also compares the two forms' gradients when the discriminator
# confidently rejects the fakes (very negative logits): see which one still
# gives the decoder something to learn from. Any other `form` is a `ValueError`.
# (`genlearn.models.vaegan.generator_loss` has this signature.)

# %%
def generator_loss(rec, gen, form="non_saturating"):
    """The decoder's adversarial term from the fakes' logits, batch mean."""
    # BEGIN SOLUTION
    if form == "non_saturating":
        return F.softplus(-rec).mean() + F.softplus(-gen).mean()
    if form == "saturating":
        return -F.softplus(rec).mean() - F.softplus(gen).mean()
    raise ValueError(f"form must be 'non_saturating' or 'saturating', got {form!r}")
    # END SOLUTION
# %%
check("generator_loss", generator_loss)

# %% [markdown]
# ## Exercise 5: the three-class discriminator
#
# The discriminator now outputs three logits per image, `(N, 3)`, for the
# classes real (0), reconstructed (1) and generated (2). Return the sum over
# the three image sets of the batch-mean cross-entropy with each set's true
# class.

# %%
def three_class_discriminator_loss(logits_real, logits_rec, logits_gen):
    """CE(real -> 0) + CE(rec -> 1) + CE(gen -> 2), each a batch mean."""
    # BEGIN SOLUTION
    total = 0.0
    for k, logits in enumerate((logits_real, logits_rec, logits_gen)):
        total = total + F.cross_entropy(logits, torch.full((len(logits),), k, dtype=torch.long))
    return total
    # END SOLUTION
# %%
check("three_class_discriminator_loss", three_class_discriminator_loss)

# %% [markdown]
# ## Exercise 6 (build and train): one VAE-GAN training step
#
# Write `vaegan_train_step(model, x, optimizers)`: one training step of a
# genlearn `VAEGAN` (two-class, feature similarity) on a batch `x` of shape
# `(N, 1, 8, 8)`, where `optimizers` maps `"encoder"`, `"decoder"` and
# `"discriminator"` to an optimiser for that network's parameters
# (`model.parameter_groups()`, same keys). Use your functions above and:
#
# - one forward pass, `out = model(x)` (it draws `z` and the prior codes; its fields
#   are `x_rec`, `x_gen`, `mu`, `logvar`), and one pass of the discriminator over the
#   three image sets: `model.discriminator.features_and_logits(images, model.feature_layer)`
#   returns each image's features (flat) and its logit;
# - the four terms: `prior` (the KL, batch mean), `similarity` (exercise 2 on the
#   features of `x` and of `x_rec`, with `sigma = model.similarity_sigma`), the
#   discriminator's loss (exercise 3) and the decoder's adversarial term (exercise 4);
# - each network minimises only its own objective: the encoder `prior + similarity`,
#   the decoder `model.gamma * similarity + adversarial term`, the discriminator its
#   loss (`genlearn.models.vaegan.routes(model)` lists them).
#
# The check audits the routing: it records the gradient each optimiser is asked to
# apply, and finds the weight with which each term's gradient reached each network.
# Then it trains a small VAE-GAN with your step for 25 epochs on 1,200 digits and
# requires a test reconstruction error at most 4.5 (squared, summed over pixels) and
# a sample sharpness at least 0.24 (a plain VAE's blurry samples score 0.16-0.19).

# %%
def vaegan_train_step(model, x, optimizers):
    """One step of the encoder, the decoder and the discriminator, each on its own objective."""
    # BEGIN SOLUTION
    fwd = model(x)
    n = len(x)
    images = torch.cat([x, fwd.x_rec, fwd.x_gen])
    features, logits = model.discriminator.features_and_logits(images, model.feature_layer)
    prior = 0.5 * (fwd.logvar.exp() - 1 - fwd.logvar + fwd.mu**2).sum() / n
    similarity = feature_similarity(features[:n], features[n : 2 * n], model.similarity_sigma)
    real, rec, gen = logits[:n], logits[n : 2 * n], logits[2 * n :]
    objectives = {"encoder": prior + similarity,
                  "decoder": model.gamma * similarity + generator_loss(rec, gen),
                  "discriminator": discriminator_loss(real, rec, gen)}
    groups = model.parameter_groups()
    gradients = {g: torch.autograd.grad(objectives[g], groups[g], retain_graph=True) for g in objectives}
    for g, params in groups.items():
        for p, grad in zip(params, gradients[g]):
            p.grad = grad
        optimizers[g].step()
    # END SOLUTION


# %% tags=["nbval-ignore-output"]
from genlearn.data import load_digits  # noqa: E402
from genlearn.models import VAEGAN  # noqa: E402
from genlearn.sample_quality import sharpness  # noqa: E402

with demo("vaegan_build_step"):  # until your code above runs: one line, and Run All goes on
    digits = load_digits("train").x
    torch.manual_seed(0)
    model = VAEGAN((1, 8, 8), 8, hidden=(64,), dis_channels=(8, 16))
    optimizers = {g: torch.optim.Adam(p, lr=1e-3, betas=(0.5, 0.999)) for g, p in model.parameter_groups().items()}
    for _epoch in range(5):
        for batch in digits[torch.randperm(len(digits))].split(100):
            vaegan_train_step(model, batch, optimizers)
    print(f"sample sharpness after 5 epochs: {sharpness(model.sample(300)).mean():.3f}")

# %%
check("vaegan_build_step", vaegan_train_step)

# %% [markdown]
# ## Exercise 7 (predict, then measure): whose samples are sharper?
#
# Train the same model twice on the digits: as a VAE-GAN, and with its GAN term
# switched off and a pixel similarity (`adversarial_weight=0, similarity="pixel"`:
# a VAE with a Gaussian decoder). Whose samples will be sharper (larger mean
# image-gradient magnitude)? Return `"vaegan"`, `"vae"` or `"same"` - before you run
# the experiment.

# %%
def predict_sharper_samples():
    """Your prediction: "vaegan", "vae" or "same"."""
    # BEGIN SOLUTION
    return "vaegan"
    # END SOLUTION


# %% [markdown]
# Now measure (about ten seconds); the check runs the same experiment.

# %%
from genlearn.checks.vaegan import sharpness_with_and_without_gan  # noqa: E402

sharpness_with_and_without_gan()

# %%
check("predict_sharper", predict_sharper_samples)
