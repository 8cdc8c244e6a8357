"""Deprecated: ``genlearn.zoo`` was split by job. Building and training the course's models:
:mod:`genlearn.recipes` (``build``, ``train_model``, ``sample_images``, ``reconstruction_images``,
``codes``); evaluation: :mod:`genlearn.evaluate` (``reconstruction_error``); ``genlearn train``'s
report: :mod:`genlearn.report`; data by name: :func:`genlearn.data.load_data`. An AE samples
after :meth:`genlearn.models.AE.fit_prior` (no special class), a VQ-VAE after
:meth:`genlearn.models.VQVAE.set_prior`."""

import warnings

from genlearn.data import DATA_HELP, load_data
from genlearn.evaluate import reconstruction_error
from genlearn.recipes import MODELS, build, codes, reconstruction_images, sample_images
from genlearn.recipes import train_model as train
from genlearn.report import Report, sample_to_png, train_and_report

__all__ = ["MODELS", "DATA_HELP", "load_data", "build", "train", "sample_images", "reconstruction_images",
           "reconstruction_error", "codes", "Report", "train_and_report", "sample_to_png"]

warnings.warn("genlearn.zoo is deprecated: use genlearn.recipes, genlearn.evaluate and genlearn.report",
              DeprecationWarning, stacklevel=2)
