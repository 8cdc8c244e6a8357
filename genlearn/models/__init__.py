"""Models of the course behind one protocol (:mod:`genlearn.models.base`): ``encode``, ``decode``,
``reconstruct``, ``sample(n, generator)``, ``config()`` and a prior object ``model.prior``.
Losses are separate functions that return named terms in nats per example (sum over pixels
and latents, mean over the batch). Nothing here imports the training loop: training recipes
live in :mod:`genlearn.recipes`, evaluation in :mod:`genlearn.evaluate`.
"""

from genlearn.models.ae import AE, AELoss, AEOutput, ae_loss, squared_error
from genlearn.models.base import GenerativeModel, LatentGaussianModel, Posterior, eval_mode
from genlearn.models.code_prior import CodePrior, CodePriorLoss, code_prior_loss
from genlearn.models.latent import decode_points, encode_mean, interpolate, slerp, traverse
from genlearn.models.likelihoods import Bernoulli, DiscretizedLogistic, Gaussian, Likelihood, SquaredError
from genlearn.models.linear_gaussian import LinearGaussian
from genlearn.models.nets import ConvDecoder, ConvEncoder, build_decoder, build_encoder, mlp
from genlearn.models.priors import FittedGaussian, Prior, StandardNormal, UniformCodes
from genlearn.models.vae import VAE, VAELoss, VAEOutput, kl_warmup, vae_loss
from genlearn.models.vaegan import VAEGAN, VAEGANLoss, VAEGANOutput, vaegan_loss
from genlearn.models.vq import VectorQuantizer, VQOutput
from genlearn.models.vqvae import VQVAE, VQVAELoss, VQVAEOutput, vqvae_loss

__all__ = [
    "GenerativeModel", "LatentGaussianModel", "Posterior", "eval_mode",
    "AE", "AELoss", "AEOutput", "ae_loss", "squared_error",
    "VAE", "VAELoss", "VAEOutput", "kl_warmup", "vae_loss",
    "VQVAE", "VQVAELoss", "VQVAEOutput", "vqvae_loss", "VectorQuantizer", "VQOutput",
    "VAEGAN", "VAEGANLoss", "VAEGANOutput", "vaegan_loss",
    "LinearGaussian",
    "Prior", "StandardNormal", "FittedGaussian", "UniformCodes", "CodePrior", "CodePriorLoss", "code_prior_loss",
    "Likelihood", "Bernoulli", "DiscretizedLogistic", "Gaussian", "SquaredError",
    "ConvEncoder", "ConvDecoder", "build_encoder", "build_decoder", "mlp",
    "encode_mean", "decode_points", "interpolate", "traverse", "slerp",
]

