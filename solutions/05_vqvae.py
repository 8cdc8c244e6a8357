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
# # Exercises 05 - VQ-VAE
#
# Four functions that make up the heart of a vector-quantised autoencoder:
# finding the nearest code, passing gradients straight through it, the two
# loss terms that train the codebook and the encoder, and the perplexity that
# tells you how healthy a codebook is. Each is followed by a check cell that
# prints `PASS`, `TODO` or `FAIL` with a hint. From a terminal:
# `genlearn check exercises/05_vqvae.ipynb`.
#
# Stuck? `hint("nearest_code")` prints a hint for that exercise, and a more
# helpful one each time you call it again (up to three). From a terminal:
# `genlearn check exercises/05_vqvae.ipynb nearest_code --hint`.

# %%
import math

import torch

from genlearn.checks import check, demo, hint  # noqa: F401 - hint("id") is there when you are stuck

# %% [markdown]
# ## Exercise 1: the nearest code
#
# `z` holds $N$ encoder outputs, shape `(N, D)`; `codebook` holds $K$ codes,
# shape `(K, D)`. Return, for every row of `z`, the index $k$ of the code with
# the smallest squared Euclidean distance $\|z - e_k\|^2$ (a long tensor of
# shape `(N,)`).

# %%
def nearest_code(z, codebook):
    """argmin_k ||z_n - e_k||^2 for every row n."""
    # BEGIN SOLUTION
    distances = ((z[:, None, :] - codebook[None, :, :]) ** 2).sum(-1)
    return distances.argmin(dim=1)
    # END SOLUTION
# %%
check("nearest_code", nearest_code)

# %% [markdown]
# ## Exercise 2: the straight-through output
#
# The quantised value is the code `e`, but `argmin` has no gradient. Return a
# tensor whose **value** is `e` and whose **gradient** with respect to `z` is
# the identity, with no gradient reaching `e`: $z + \mathrm{sg}(e - z)$, where
# $\mathrm{sg}$ (stop-gradient) is `.detach()`.

# %%
def straight_through(z, e):
    """Value e, gradient of z."""
    # BEGIN SOLUTION
    return z + (e - z).detach()
    # END SOLUTION
# %%
check("straight_through", straight_through)

# %% [markdown]
# ## Exercise 3: the two VQ loss terms
#
# For encoder outputs `z` and their codes `e` (same shape `(B, D, h, w)`), return
# the pair `(codebook_loss, commitment_loss)`:
#
# $$\text{codebook} = \|\mathrm{sg}(z) - e\|^2, \qquad \text{commitment} = \beta\,\|z - \mathrm{sg}(e)\|^2,$$
#
# each **summed** over the elements of one example and **averaged** over the
# batch (the reduction genlearn uses for every loss term).

# %%
def vq_losses(z, e, beta):
    """(||sg(z) - e||^2, beta ||z - sg(e)||^2), summed per example, mean over the batch."""
    # BEGIN SOLUTION
    batch = z.shape[0]
    codebook_loss = ((z.detach() - e) ** 2).sum() / batch
    commitment_loss = beta * ((z - e.detach()) ** 2).sum() / batch
    return codebook_loss, commitment_loss
    # END SOLUTION
# %%
check("vq_losses", vq_losses)

# %% [markdown]
# ## Exercise 4: perplexity of code usage
#
# Given code indices of any shape (for example a batch of code maps) and the
# codebook size $K$, return the perplexity $\exp\big(-\sum_k p_k \log p_k\big)$,
# where $p_k$ is the share of positions that use code $k$ (and $0 \log 0 = 0$).
# It is $K$ when every code is used equally and 1 when a single code does all
# the work.

# %%
def code_perplexity(indices, num_codes):
    """exp(entropy) of the code-usage distribution."""
    # BEGIN SOLUTION
    counts = torch.bincount(indices.flatten(), minlength=num_codes).double()
    p = counts / counts.sum()
    p = p[p > 0]
    return math.exp(-float((p * p.log()).sum()))
    # END SOLUTION
# %%
check("code_perplexity", code_perplexity)

# %% [markdown]
# ## Exercise 5 (build and train): a VQ layer of your own, inside a VQ-VAE
#
# Put exercises 1-3 together into a layer. Write a class
# `MyQuantizer(num_codes, code_dim, beta)` (a `torch.nn.Module`) with
#
# - `self.codebook`: an `nn.Parameter` of shape `(num_codes, code_dim)` (the check
#   sets its starting values);
# - `forward(z)` for an encoder map `z` of shape `(B, D, h, w)`, returning the tuple
#   `(quantized, indices, codebook_loss, commitment_loss)`: the straight-through
#   output (shape of `z`), each position's code index `(B, h, w)`, and the two loss
#   terms of exercise 3.
#
# The check first probes your layer on a small map (values, indices, and where each
# gradient goes), then plugs it into genlearn's `VQVAE` in place of its own
# quantiser, starts the codes at encoder outputs of random images, trains the
# model for 25 epochs on 1,200 binarised 8x8 digits (Adam, learning rate 1e-3), and
# measures on the test images: reconstruction at most 22 nats, and code
# perplexity at least 4 (of 32 codes: a collapsed codebook uses one or two).
# The cell after the class runs the same kind of training once here.

# %%
class MyQuantizer(torch.nn.Module):
    """Nearest-code quantiser with a straight-through output and the two VQ losses."""

    def __init__(self, num_codes, code_dim, beta=0.25):
        super().__init__()
        # BEGIN SOLUTION
        self.beta = beta
        self.codebook = torch.nn.Parameter(torch.randn(num_codes, code_dim))
        # END SOLUTION

    def forward(self, z):
        # BEGIN SOLUTION
        b, d = z.shape[:2]
        rows = z.movedim(1, -1).reshape(-1, d)
        indices = nearest_code(rows, self.codebook)
        e = self.codebook[indices].view(b, *z.shape[2:], d).movedim(-1, 1)
        codebook_loss, commitment_loss = vq_losses(z, e, self.beta)
        return straight_through(z, e), indices.view(b, *z.shape[2:]), codebook_loss, commitment_loss
        # END SOLUTION


# %% tags=["nbval-ignore-output"]
from genlearn.data import load_digits  # noqa: E402
from genlearn.models import VQVAE  # noqa: E402

with demo("vq_build_train"):  # until your code above runs: one line, and Run All goes on
    digits = load_digits("train", binarize=True).x
    torch.manual_seed(0)
    layer = MyQuantizer(32, 8)
    model = VQVAE((1, 8, 8), 32, 8, channels=(16, 32))
    with torch.no_grad():  # start the codes at encoder outputs: one position of each of 32 images
        layer.codebook.copy_(model.encode(digits[:32]).flatten(2)[torch.arange(32), :, torch.arange(32) % 4])
    optimizer = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters(), *layer.parameters()],
                                 lr=1e-3)
    for _epoch in range(10):
        for batch in digits[torch.randperm(len(digits))].split(100):
            quantized, indices, codebook_loss, commitment_loss = layer(model.encode(batch))
            recon = torch.nn.functional.binary_cross_entropy_with_logits(
                model.decode(quantized), batch, reduction="sum") / len(batch)
            loss = recon + codebook_loss + commitment_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    print(f"reconstruction {recon.item():.1f} nats, perplexity {code_perplexity(indices, 32):.1f} of 32 codes")

# %%
check("vq_build_train", MyQuantizer)

# %% [markdown]
# ## Exercise 6 (predict, then measure): dead-code restarts
#
# Train the same VQ-VAE (64 codes) twice on the digits: once as it is, once with
# dead-code restarts (`VQVAE(..., restart_after=20)`: a code unused for 20 steps
# is moved onto a random encoder output of the batch). Does the restart **raise**
# or **lower** the code perplexity on the test images, or make **no change**?
# Write your prediction first: return `"raises"`, `"lowers"` or `"no change"`.

# %%
def predict_restarts_effect():
    """Your prediction: "raises", "lowers" or "no change"."""
    # BEGIN SOLUTION
    return "raises"
    # END SOLUTION


# %% [markdown]
# Now measure (about ten seconds): `perplexity_with_restarts` trains both models
# with the same seed and data. The check runs the same experiment.

# %%
from genlearn.checks.vq import perplexity_with_restarts  # noqa: E402

perplexity_with_restarts()

# %%
check("predict_restarts", predict_restarts_effect)

# %% [markdown]
# ## Going further
#
# Compare your functions with the library's: `genlearn.models.VectorQuantizer`
# computes the same nearest codes without building the `(N, K, D)` difference
# tensor of exercise 1 (it expands $\|z - e\|^2 = \|z\|^2 - 2z\cdot e + \|e\|^2$
# into one matrix product), and `genlearn.models.vq.perplexity` is exercise 4.

# %%
from genlearn.models.vq import VectorQuantizer, perplexity

with demo("nearest_code, code_perplexity"):  # until your code above runs: one line, and Run All goes on
    torch.manual_seed(0)
    vq = VectorQuantizer(32, 6, channel_dim=-1).double()
    vq.init_codebook(torch.randn(32, 6, dtype=torch.float64))
    z = torch.randn(200, 6, dtype=torch.float64)
    assert torch.equal(vq.nearest(z), nearest_code(z, vq.codebook.detach()))
    assert math.isclose(code_perplexity(vq.nearest(z), 32), perplexity(vq.nearest(z), 32).item(), rel_tol=1e-9)
