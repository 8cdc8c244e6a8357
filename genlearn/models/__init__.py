"""Models of the course. Each is an ``nn.Module`` with ``encode``, ``decode`` and a
``forward`` that returns a small named result; losses are separate functions that
return named terms in nats per example (sum over pixels and latents, mean over the batch).
"""
from genlearn.models.ae import AE, AELoss, AEOutput, ae_loss
from genlearn.models.code_prior import CodePrior, CodePriorLoss, code_prior_loss, fit_code_prior, sample_images
from genlearn.models.linear_gaussian import LinearGaussian
from genlearn.models.nets import ConvDecoder, ConvEncoder, build_decoder, build_encoder, mlp
from genlearn.models.vae import VAE, Posterior, VAELoss, VAEOutput, kl_warmup, vae_loss
from genlearn.models.vaegan import VAEGAN, VAEGANLoss, VAEGANOutput, fit_vaegan, vaegan_loss, vaegan_step
from genlearn.models.vq import VectorQuantizer, VQOutput  # noqa: F401
from genlearn.models.vqvae import VQVAE, VQVAELoss, VQVAEOutput, codebook_stats, codebook_tracker, vqvae_loss
