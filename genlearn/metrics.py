"""Deprecated: sample-quality scores moved to :mod:`genlearn.sample_quality`, and
``aggregate_posterior_kl`` (a latent statistic) to :mod:`genlearn.evaluate`."""

import warnings

from genlearn.evaluate import aggregate_posterior_kl
from genlearn.sample_quality import *  # noqa: F403
from genlearn.sample_quality import __all__ as _quality_names

__all__ = [*_quality_names, "aggregate_posterior_kl"]

warnings.warn("genlearn.metrics is deprecated: use genlearn.sample_quality (and genlearn.evaluate for "
              "aggregate_posterior_kl)", DeprecationWarning, stacklevel=2)
