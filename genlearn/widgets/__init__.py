"""Interactive widgets for the lessons.

Every widget is a thin ipywidgets layer over plain functions (in the same
modules) that compute what is drawn; those functions have unit tests, so the
widgets are tested without a browser.
"""

from genlearn.widgets.expectation import estimate_expectation, expectation_explorer
from genlearn.widgets.kl import kl_explorer, kl_view, mc_spread, mc_spread_explorer
from genlearn.widgets.latent import (
    decode_point,
    decode_points,
    encode_mean,
    interpolate,
    interpolation_frames,
    interpolation_slider,
    latent_explorer,
    traverse,
)
from genlearn.widgets.vaegan import gamma_explorer, gamma_view, paired_samples, sample_viewer

__all__ = [
    "estimate_expectation", "expectation_explorer", "kl_explorer", "kl_view", "mc_spread", "mc_spread_explorer",
    "decode_point", "decode_points", "encode_mean", "interpolate", "interpolation_frames", "interpolation_slider",
    "latent_explorer", "traverse", "gamma_explorer", "gamma_view", "paired_samples", "sample_viewer",
]
