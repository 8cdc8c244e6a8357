r"""VAE-GAN (Larsen et al., 2016, "Autoencoding beyond pixels using a learned similarity metric").

A VAE (encoder ``q(z|x)``, decoder ``Dec``: the same networks as :class:`genlearn.models.VAE`,
images ``x~ = sigmoid(Dec(z))``) followed by a discriminator ``Dis``. Three image sets go
through ``Dis``: real ``x``, reconstructions ``x~ = Dec(z)``, ``z ~ q(z|x)``, and prior
samples ``x_p = Dec(z_p)``, ``z_p ~ N(0, I)``. Losses per example (mean over the batch)::

    prior       L_prior = KL(q(z|x) || N(0, I))                                  (summed over latents)
    similarity  L_llike = -log N(Dis_l(x); Dis_l(x~), sigma^2 I) + const
                        = |Dis_l(x) - Dis_l(x~)|^2 / (2 sigma^2)              (summed over units)
    GAN         L_GAN   = log D(x) + log(1 - D(x~)) + log(1 - D(x_p))          (D = sigmoid(logit))

``Dis_l`` is the discriminator's ``feature_layer``-th conv block ("learned similarity");
``similarity="pixel"`` uses the pixels instead (plain squared error, for comparison).
Each network minimises only its own objective:

    encoder        prior + similarity (+ code_weight * code, three-class only)
    decoder        gamma * similarity + adversarial_weight * generator
    discriminator  -L_GAN                         (no gradient from the similarity term)

``adversarial_weight=0`` switches the GAN term off for the decoder (the discriminator still
trains, so a feature similarity is still *learned*): with ``similarity="pixel"`` the model is
then a VAE whose reconstruction term is ``|x - x~|^2 / (2 sigma^2)``, the ablation that
separates the learned similarity from the GAN term.

``generator`` is the decoder's adversarial term: ``log(1 - D(x~)) + log(1 - D(x_p))``
(``"saturating"``: the decoder's part of ``-L_GAN``, whose gradient vanishes while the
discriminator confidently rejects the fakes) or ``-log D(x~) - log D(x_p)``
(``"non_saturating"``, the default: the same optimum, strong gradients early on).

``discriminator="three_class"``: ``Dis`` outputs logits over real / reconstructed / generated
(classes 0, 1, 2); it minimises the cross-entropy of the three true classes, the decoder
wants both fakes classified "real", and the encoder gets the ``code`` term
``BCE(l_generated(x~) - l_reconstructed(x~), 1/2)`` (minimum ``log 2``): the discriminator
should not be able to tell whether ``x~`` came from an encoded code or a prior code. The
variant's argument is that, the decoder being shared, this pushes encoded codes towards the
prior; lesson 06 measures how far it does.

:class:`VAEGAN` is a composition: a :class:`~genlearn.models.VAE` (``model.vae``: encoder,
decoder, prior) and a :class:`Discriminator` with its own conv blocks; the VAE's own loss and
likelihood are never used (``vae_loss`` and the likelihood bounds refuse a VAEGAN: it does not
train a likelihood of pixels). :func:`vaegan_step` computes every group's gradient with
``torch.autograd.grad`` on one graph, only then steps the three optimizers (so no step changes
weights that a later gradient still needs); :func:`genlearn.recipes.fit_vaegan` runs it in
the one training loop, :func:`genlearn.train.fit`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count, check_number
from genlearn.models.base import Posterior, draw_normal
from genlearn.models.nets import check_inputs, check_shape, check_sizes, conv_feature_shape
from genlearn.models.priors import StandardNormal
from genlearn.models.vae import VAE

__all__ = [
    "Discriminator",
    "VAEGAN",
    "VAEGANOutput",
    "VAEGANLoss",
    "similarity_loss",
    "discriminator_loss",
    "generator_loss",
    "three_class_losses",
    "ThreeClassLosses",
    "vaegan_loss",
    "routes",
    "term_gradient_norms",
    "vaegan_grads",
    "DISCRIMINATORS",
    "SIMILARITIES",
    "GENERATOR_LOSSES",
    "GROUPS",
    "REAL",
    "RECON",
    "PRIOR",
]

DISCRIMINATORS = ("two_class", "three_class")
SIMILARITIES = ("feature", "pixel")
GENERATOR_LOSSES = ("non_saturating", "saturating")
GROUPS = ("encoder", "decoder", "discriminator")
REAL, RECON, PRIOR = 0, 1, 2  # class indices of the three-class discriminator


class Discriminator(nn.Module):
    """Images ``(N, C, H, W)`` -> logits: ``(N,)`` (``n_classes=2``: real vs fake) or
    ``(N, 3)`` (real / reconstructed / generated).

    One block per entry of ``channels``: a stride-2 ``Conv2d(k=3, padding=1)`` + LeakyReLU(0.2),
    then the flattened last block feeds one linear layer. ``features(x, layer)`` is the output
    of block ``layer`` (1-based), flattened: ``Dis_l`` of the similarity.

    ``spectral_norm=True`` divides every weight by its largest singular value (one power
    iteration per training forward; Miyato et al., 2018), ``W <- W / sigma_max(W)``, so each
    layer is 1-Lipschitz: the discriminator cannot become arbitrarily confident, its gradients
    to the decoder stay informative and its features (the similarity) move slowly.
    """

    def __init__(self, in_shape: Sequence[int], n_classes: int = 2, channels: Sequence[int] = (32, 64),
                 spectral_norm: bool = False) -> None:
        super().__init__()
        if n_classes not in (2, 3):
            raise ValueError(f"n_classes must be 2 (real vs fake) or 3 (real/recon/generated), got {n_classes!r}")
        self.in_shape = check_shape(in_shape)
        if len(self.in_shape) != 3:
            raise ValueError(f"a discriminator needs images, in_shape=(C, H, W); got {self.in_shape}")
        widths = check_sizes(channels, "channels", False)
        self.n_classes = n_classes
        self.spectral_norm = bool(spectral_norm)
        norm = nn.utils.parametrizations.spectral_norm if self.spectral_norm else (lambda layer: layer)
        c_prev = self.in_shape[0]
        blocks = []
        for c in widths:
            blocks.append(nn.Sequential(norm(nn.Conv2d(c_prev, c, 3, stride=2, padding=1)), nn.LeakyReLU(0.2)))
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.n_layers = len(blocks)
        h, w = conv_feature_shape(self.in_shape, self.n_layers)
        self.head = norm(nn.Linear(c_prev * h * w, 1 if n_classes == 2 else 3))

    def features_and_logits(self, x: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        """``(Dis_layer(x) flattened (N, units), logits)`` in one pass."""
        if not 1 <= layer <= self.n_layers:
            raise ValueError(f"layer must be in 1..{self.n_layers}, got {layer}")
        h = check_inputs(x, self.in_shape, like=self)
        feature = h
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            if i == layer:
                feature = h
        logits = self.head(h.flatten(1))
        return feature.flatten(1), (logits.squeeze(1) if self.n_classes == 2 else logits)

    def features(self, x: Tensor, layer: int) -> Tensor:
        return self.features_and_logits(x, layer)[0]

    def forward(self, x: Tensor) -> Tensor:
        return self.features_and_logits(x, self.n_layers)[1]


class VAEGANOutput(NamedTuple):
    """One forward pass: ``x_rec`` = sigmoid(Dec(z)) for ``z ~ q(z|x)``; ``x_gen`` = sigmoid(Dec(z_prior))
    for ``z_prior ~ N(0, I)`` (one per example); ``mu``, ``logvar``: ``q(z|x)``. Images ``(N, *in_shape)``."""

    x_rec: Tensor
    x_gen: Tensor
    mu: Tensor
    logvar: Tensor
    z: Tensor
    z_prior: Tensor


class VAEGANLoss(NamedTuple):
    """Named terms per example (0-dim). ``loss = prior + similarity`` (the VAE part: a negative
    ELBO with the learned likelihood, up to a constant). ``gan``: the discriminator's
    cross-entropy (``-L_GAN`` for two classes); ``generator``: the decoder's adversarial term;
    ``code``: the three-class encoder term (0 for two classes). ``encoder``, ``decoder``,
    ``discriminator``: what each network minimises (module docstring)."""

    loss: Tensor
    prior: Tensor
    similarity: Tensor
    gan: Tensor
    generator: Tensor
    code: Tensor
    encoder: Tensor
    decoder: Tensor
    discriminator: Tensor



class VAEGAN(nn.Module):
    """A :class:`VAE` (``model.vae``; same encoder / decoder arguments; its decoder's sigmoid gives
    the images in [0, 1]) and a convolutional :class:`Discriminator` (``model.discriminator``).

    ``discriminator``: ``"two_class"`` | ``"three_class"``; ``similarity``: ``"feature"``
    (``Dis_l`` with ``l = feature_layer``, default the last conv block) | ``"pixel"``;
    ``similarity_sigma``: std of the Gaussian of the similarity term (so its weight is
    ``1 / (2 sigma^2)``); ``gamma``: weight of the similarity in the decoder's objective;
    ``generator_loss``: ``"non_saturating"`` | ``"saturating"``; ``code_weight``: weight of
    the three-class encoder term (default 1 for three classes; must be 0 for two);
    ``adversarial_weight``: weight of the generator term in the decoder's objective (0: no GAN
    term for the decoder, the discriminator still trains); ``dis_channels``: the discriminator's
    conv widths; ``dis_spectral_norm``: spectral normalisation of the discriminator's layers
    (:class:`Discriminator`). ``config()`` lists ``dis_spectral_norm`` (added after the first
    release) only when it is True, so older checkpoints still rebuild and match.
    """

    likelihood_why_not = ("the VAE-GAN trains a learned similarity, not a likelihood of pixels: compare it by "
                          "sample quality")

    def __init__(
        self,
        in_shape: Sequence[int] = (1, 8, 8),
        latent_dim: int = 8,
        *,
        arch: str = "mlp",
        hidden: Sequence[int] = (256, 256),
        channels: Sequence[int] = (32, 64),
        upsample: str = "transpose",
        discriminator: str = "two_class",
        similarity: str = "feature",
        feature_layer: int | None = None,
        dis_channels: Sequence[int] = (32, 64),
        similarity_sigma: float = 0.1,
        gamma: float = 1.0,
        generator_loss: str = "non_saturating",
        code_weight: float | None = None,
        logvar_range: Sequence[float] = (-12.0, 8.0),
        adversarial_weight: float = 1.0,
        dis_spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        self.vae = VAE(in_shape, latent_dim, arch=arch, hidden=hidden, channels=channels, upsample=upsample,
                       likelihood="bernoulli", logvar_range=logvar_range)
        self.in_shape, self.latent_dim = self.vae.in_shape, self.vae.latent_dim
        if len(self.in_shape) != 3:
            raise ValueError(f"a VAE-GAN needs images, in_shape=(C, H, W); got {self.in_shape}")
        for value, allowed, name in ((discriminator, DISCRIMINATORS, "discriminator"),
                                     (similarity, SIMILARITIES, "similarity"),
                                     (generator_loss, GENERATOR_LOSSES, "generator_loss")):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        self.discriminator_mode, self.similarity, self.generator_loss = discriminator, similarity, generator_loss
        self.similarity_sigma = check_number(similarity_sigma, "similarity_sigma", strict=True)
        self.dis_channels = check_sizes(dis_channels, "dis_channels", False)
        if not isinstance(dis_spectral_norm, bool):
            raise ValueError(f"dis_spectral_norm must be True or False, got {dis_spectral_norm!r}")
        self.discriminator = Discriminator(self.in_shape, 3 if discriminator == "three_class" else 2,
                                           self.dis_channels, spectral_norm=dis_spectral_norm)
        n = self.discriminator.n_layers
        self.feature_layer = n if feature_layer is None else check_count(feature_layer, "feature_layer")
        if self.feature_layer > n:
            raise ValueError(f"feature_layer must be in 1..{n} (the discriminator's conv blocks), got {feature_layer}")
        self.gamma = check_number(gamma, "gamma")
        self.adversarial_weight = check_number(adversarial_weight, "adversarial_weight")
        if code_weight is None:
            code_weight = 1.0 if discriminator == "three_class" else 0.0
        self.code_weight = check_number(code_weight, "code_weight")
        if discriminator == "two_class" and self.code_weight != 0:
            raise ValueError("code_weight needs discriminator='three_class' (the two-class model has no code term)")

    # --- the VAE part, delegated -----------------------------------------------------------------
    @property
    def encoder(self) -> nn.Module:
        return self.vae.encoder

    @property
    def decoder(self) -> nn.Module:
        return self.vae.decoder

    @property
    def prior(self) -> StandardNormal:
        return self.vae.prior

    def encode(self, x: Tensor) -> Posterior:
        """``q(z|x)``: ``Posterior(mu, logvar)`` of the VAE's encoder."""
        return self.vae.encode(x)

    def code(self, x: Tensor) -> Tensor:
        """The point code: the posterior mean ``mu(x)``."""
        return self.vae.code(x)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder's logits ``(N, *in_shape)``; images are ``sigmoid`` of them (:meth:`decode_mean`)."""
        return self.vae.decode(z)

    def decode_mean(self, z: Tensor) -> Tensor:
        """Images ``sigmoid(Dec(z))`` in [0, 1]."""
        return torch.sigmoid(self.vae.decode(z))

    def reconstruct(self, x: Tensor) -> Tensor:
        return self.vae.reconstruct(x)

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``n`` images ``sigmoid(Dec(z))``, ``z ~ N(0, I)``."""
        return self.vae.sample(n, generator)

    def reparameterize(self, mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.vae.reparameterize(mu, logvar, generator)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able), saved with checkpoints."""
        v = self.vae
        return {
            "in_shape": list(self.in_shape), "latent_dim": self.latent_dim, "arch": v.arch,
            "hidden": list(v.hidden), "channels": list(v.channels), "upsample": v.upsample,
            "discriminator": self.discriminator_mode, "similarity": self.similarity,
            "feature_layer": self.feature_layer, "dis_channels": list(self.dis_channels),
            "similarity_sigma": self.similarity_sigma, "gamma": self.gamma, "generator_loss": self.generator_loss,
            "code_weight": self.code_weight, "logvar_range": list(v.logvar_range),
            "adversarial_weight": self.adversarial_weight,
        } | ({"dis_spectral_norm": True} if self.discriminator.spectral_norm else {})

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """``{"encoder": [...], "decoder": [...], "discriminator": [...]}``: every parameter once."""
        return {"encoder": list(self.vae.encoder.parameters()), "decoder": list(self.vae.decoder.parameters()),
                "discriminator": list(self.discriminator.parameters())}

    def forward(self, x: Tensor, generator: torch.Generator | None = None) -> VAEGANOutput:
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar, generator)
        z_prior = torch.randn_like(mu) if generator is None else draw_normal(tuple(mu.shape), mu, generator)
        x_rec, x_gen = torch.sigmoid(self.vae.decoder(torch.cat([z, z_prior]))).chunk(2)
        return VAEGANOutput(x_rec, x_gen, mu, logvar, z, z_prior)


def similarity_loss(target: Tensor, recon: Tensor, sigma: float = 1.0) -> Tensor:
    """``(1/N) sum_n |t_n - r_n|^2 / (2 sigma^2)``: ``-log N(t; r, sigma^2 I)`` without its constant,
    summed over every unit of an example (features or pixels), averaged over the batch."""
    if target.shape != recon.shape:
        raise ValueError(f"target and recon must have the same shape, got {tuple(target.shape)} and "
                         f"{tuple(recon.shape)}")
    return (target - recon).pow(2).sum() / (2 * sigma**2 * target.shape[0])


def _bce(logits: Tensor, target: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(real: Tensor, rec: Tensor, gen: Tensor) -> Tensor:
    """Two-class ``-L_GAN = -[log D(x) + log(1 - D(x_rec)) + log(1 - D(x_gen))]``, batch mean, from
    the logits ``(N,)`` of real images, reconstructions and prior samples (``D = sigmoid``)."""
    return _bce(real, 1.0) + _bce(rec, 0.0) + _bce(gen, 0.0)


def generator_loss(rec: Tensor, gen: Tensor, form: str = "non_saturating") -> Tensor:
    """The decoder's two-class adversarial term from the fakes' logits ``(N,)``, batch mean:
    ``"non_saturating"``: ``-log D(x_rec) - log D(x_gen)``; ``"saturating"``:
    ``log(1 - D(x_rec)) + log(1 - D(x_gen))`` (the decoder's part of ``-L_GAN``, i.e. minus the
    discriminator's fake terms)."""
    if form not in GENERATOR_LOSSES:
        raise ValueError(f"form must be one of {GENERATOR_LOSSES}, got {form!r}")
    if form == "non_saturating":
        return _bce(rec, 1.0) + _bce(gen, 1.0)
    return -(_bce(rec, 0.0) + _bce(gen, 0.0))


class ThreeClassLosses(NamedTuple):
    """``discriminator``: ``CE(real -> REAL) + CE(rec -> RECON) + CE(gen -> PRIOR)``; ``generator``:
    ``CE(rec -> REAL) + CE(gen -> REAL)`` (non-saturating) or minus the fakes' part of
    ``discriminator`` (saturating); ``code``: ``BCE(l_PRIOR - l_RECON on x_rec, 1/2)``, minimal
    (``log 2``) when the discriminator finds reconstructions as likely generated as reconstructed.
    Batch means."""

    discriminator: Tensor
    generator: Tensor
    code: Tensor


def three_class_losses(real: Tensor, rec: Tensor, gen: Tensor, form: str = "non_saturating") -> ThreeClassLosses:
    """The three-class terms from the logits ``(N, 3)`` (classes :data:`REAL`, :data:`RECON`,
    :data:`PRIOR`) of real images, reconstructions and prior samples."""
    if form not in GENERATOR_LOSSES:
        raise ValueError(f"form must be one of {GENERATOR_LOSSES}, got {form!r}")

    def ce(lg: Tensor, cls: int) -> Tensor:
        if lg.ndim != 2 or lg.shape[1] != 3:
            raise ValueError(f"three-class logits must have shape (N, 3), got {tuple(lg.shape)}")
        return F.cross_entropy(lg, torch.full((len(lg),), cls, dtype=torch.long, device=lg.device))

    fakes_true = ce(rec, RECON) + ce(gen, PRIOR)
    dis = ce(real, REAL) + fakes_true
    gen_term = ce(rec, REAL) + ce(gen, REAL) if form == "non_saturating" else -fakes_true
    return ThreeClassLosses(dis, gen_term, _bce(rec[:, PRIOR] - rec[:, RECON], 0.5))


def vaegan_loss(model: VAEGAN, x: Tensor, out: VAEGANOutput | None = None,
                generator: torch.Generator | None = None) -> VAEGANLoss:
    """All terms of the module docstring for a batch ``x`` (one forward pass of each network;
    the discriminator sees ``[x; x_rec; x_gen]`` at once). ``out`` reuses ``model(x)``."""
    if not isinstance(model, VAEGAN):
        raise ValueError(f"vaegan_loss needs a VAEGAN, got {type(model).__name__}")
    check_inputs(x, model.in_shape, like=model)
    if out is None:
        out = model(x, generator)
    n = x.shape[0]
    prior = model.prior.kl_from(out.mu, out.logvar, out.z).sum() / n  # to the model's own prior object
    features, logits = model.discriminator.features_and_logits(torch.cat([x, out.x_rec, out.x_gen]),
                                                               model.feature_layer)
    if model.similarity == "feature":
        similarity = similarity_loss(features[:n], features[n : 2 * n], model.similarity_sigma)
    else:
        similarity = similarity_loss(x, out.x_rec, model.similarity_sigma)
    real, rec, gen = logits[:n], logits[n : 2 * n], logits[2 * n :]
    if model.discriminator_mode == "two_class":
        dis, gen_term = discriminator_loss(real, rec, gen), generator_loss(rec, gen, model.generator_loss)
        code = logits.new_zeros(())
    else:
        dis, gen_term, code = three_class_losses(real, rec, gen, model.generator_loss)
    named = {"prior": prior, "similarity": similarity, "gan": dis, "generator": gen_term, "code": code}
    objective = {g: sum(w * named[t] for t, w in r.items()) for g, r in routes(model).items()}
    return VAEGANLoss(prior + similarity, prior, similarity, dis, gen_term, code, *(objective[g] for g in GROUPS))


def routes(model: VAEGAN) -> dict[str, dict[str, float]]:
    """``{network: {term: weight}}``: each network's objective as a weighted sum of loss terms::

        encoder:       prior + similarity (+ code_weight * code)
        decoder:       gamma * similarity + adversarial_weight * generator
        discriminator: gan
    """
    encoder = {"prior": 1.0, "similarity": 1.0} | ({"code": model.code_weight} if model.code_weight else {})
    return {"encoder": encoder, "decoder": {"similarity": model.gamma, "generator": model.adversarial_weight},
            "discriminator": {"gan": 1.0}}


def term_gradient_norms(model: VAEGAN, x: Tensor, generator: torch.Generator | None = None,
                        terms: Sequence[str] = ("prior", "similarity", "gan", "generator")
                        ) -> dict[str, dict[str, float]]:
    """``{term: {network: |d term / d weights of network|}}`` on one batch: the gradient each loss
    term *could* send to each network if nothing routed it (compare with :func:`routes`)."""
    loss = vaegan_loss(model, x, generator=generator)
    params = model.parameter_groups()
    out: dict[str, dict[str, float]] = {}
    for t in terms:
        out[t] = {}
        value = getattr(loss, t)
        for g in GROUPS:
            if not value.requires_grad:  # e.g. the code term of a two-class model: a constant 0
                out[t][g] = 0.0
                continue
            grads = torch.autograd.grad(value, params[g], retain_graph=True, allow_unused=True)
            out[t][g] = math.sqrt(sum(float(gi.pow(2).sum()) for gi in grads if gi is not None))
    return out


def vaegan_grads(model: VAEGAN, x: Tensor, generator: torch.Generator | None = None
                 ) -> tuple[VAEGANLoss, dict[str, list[Tensor]]]:
    """The terms and, for each group of :data:`GROUPS`, the gradient of *its own* objective
    with respect to *its own* parameters only (``torch.autograd.grad``; unused -> zeros).
    Nothing is written to ``.grad`` and no weight changes."""
    terms = vaegan_loss(model, x, generator=generator)
    params = model.parameter_groups()
    grads: dict[str, list[Tensor]] = {}
    for i, name in enumerate(GROUPS):
        g = torch.autograd.grad(getattr(terms, name), params[name], retain_graph=i < len(GROUPS) - 1,
                                allow_unused=True)
        grads[name] = [torch.zeros_like(p) if gi is None else gi for p, gi in zip(params[name], g, strict=True)]
    return VAEGANLoss(*(t.detach() for t in terms)), grads
