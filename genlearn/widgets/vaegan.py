"""Widgets of the VAE-GAN lesson, over plain (tested) functions:

* :func:`gamma_view` / :func:`gamma_explorer`: a slider over already-trained runs that differ in
  ``gamma`` (the weight of the learned similarity in the decoder's objective), showing samples,
  reconstructions and their scores.
* :func:`paired_samples` / :func:`sample_viewer`: several models decode the *same* prior codes
  side by side (e.g. a VAE and a VAE-GAN with the same latent size); a slider picks the codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.sample_quality import digit_frechet_distance, sharpness_gap
from genlearn.viz.images import tile_images
from genlearn.widgets.latent import decode_points, encode_mean, image_png

__all__ = ["GammaView", "gamma_view", "gamma_explorer", "paired_samples", "sample_viewer"]


class GammaView(NamedTuple):
    """One run of the gamma slider: its ``samples`` and ``reconstructions`` of ``x`` (CPU), and
    ``frechet`` / ``sharpness_gap`` of the samples, ``recon_error`` (squared error per image)."""

    gamma: float
    samples: Tensor
    reconstructions: Tensor
    frechet: float
    sharpness_gap: float
    recon_error: float


def _check_runs(runs: Mapping[float, nn.Module]) -> list[float]:
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a non-empty dict {gamma: trained model}")
    return sorted(float(g) for g in runs)


def _prior_codes(d: int, n: int, seed: int) -> Tensor:
    return torch.randn(check_count(n, "n"), d, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float32)


def gamma_view(runs: Mapping[float, nn.Module], gamma: float, x: Tensor, n: int = 200, seed: int = 0) -> GammaView:
    """Samples (``n`` prior codes drawn with ``seed``), reconstructions of ``x`` and scores of the
    run trained with ``gamma`` (a key of ``runs``)."""
    gammas = _check_runs(runs)
    if float(gamma) not in gammas:
        raise ValueError(f"no run with gamma={gamma}; the runs have gamma in {gammas}")
    model = {float(g): m for g, m in runs.items()}[float(gamma)]
    samples = decode_points(model, _prior_codes(model.latent_dim, n, seed))
    recon = decode_points(model, encode_mean(model, x))
    error = float((recon - x.cpu()).pow(2).flatten(1).sum(1).mean())
    return GammaView(float(gamma), samples, recon, digit_frechet_distance(samples), sharpness_gap(samples), error)


def gamma_explorer(runs: Mapping[float, nn.Module], x: Tensor, n_show: int = 16, seed: int = 0):
    """ipywidgets: a slider over the gammas of ``runs``; shows ``n_show`` samples, the first
    ``n_show`` inputs of ``x`` with their reconstructions, and the scores. Views are computed once.

    Returns a ``VBox`` with ``.slider``, ``.images`` (samples, inputs, reconstructions) and ``.label``."""
    import ipywidgets as w

    gammas = _check_runs(runs)
    views = {g: gamma_view(runs, g, x, seed=seed) for g in gammas}
    x_show = x[:n_show].cpu()

    def pngs(v: GammaView) -> list[bytes]:
        return [image_png(torch.from_numpy(tile_images(t[:n_show], ncols=n_show // 2)).permute(2, 0, 1), 6)
                for t in (v.samples, x_show, v.reconstructions)]

    def text(v: GammaView) -> str:
        return (f"gamma = {v.gamma:g}: Frechet {v.frechet:.1f}, sharpness gap {v.sharpness_gap:.2f}, "
                f"reconstruction error {v.recon_error:.2f}")

    first = views[gammas[0]]
    images = [w.Image(value=p, format="png") for p in pngs(first)]
    label = w.Label(value=text(first))
    slider = w.SelectionSlider(options=[(f"{g:g}", g) for g in gammas], value=gammas[0], description="gamma")

    def update(change) -> None:
        v = views[change["new"]]
        for img, p in zip(images, pngs(v), strict=True):
            img.value = p
        label.value = text(v)

    slider.observe(update, names="value")
    titles = [w.Label(value=s) for s in ("samples", "inputs", "reconstructions")]
    box = w.VBox([slider, label, w.HBox([w.VBox([t, i]) for t, i in zip(titles, images, strict=True)])])
    box.slider, box.images, box.label, box.views = slider, images, label, views
    return box


def paired_samples(models: Mapping[str, nn.Module], n: int = 16, seed: int = 0) -> dict[str, Tensor]:
    """``{name: images (n, *in_shape)}``: every model decodes the same ``n`` prior codes (drawn with
    ``seed``). The models must share their ``latent_dim``."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty dict {name: model}")
    dims = {name: getattr(m, "latent_dim", None) for name, m in models.items()}
    if len(set(dims.values())) != 1:
        raise ValueError(f"the models must share latent_dim to decode the same codes, got {dims}")
    z = _prior_codes(next(iter(dims.values())), n, seed)
    return {name: decode_points(m, z) for name, m in models.items()}


def sample_viewer(models: Mapping[str, nn.Module], n: int = 16, max_seed: int = 50):
    """ipywidgets: the models' samples from the same prior codes side by side (:func:`paired_samples`),
    with a slider over the seed of the codes. Returns a ``VBox`` with ``.slider`` and ``.images``."""
    import ipywidgets as w

    names = list(models)

    def pngs(seed: int) -> list[bytes]:
        out = paired_samples(models, n, seed)
        return [image_png(torch.from_numpy(tile_images(out[k], ncols=max(1, n // 4))).permute(2, 0, 1), 6)
                for k in names]

    images = [w.Image(value=p, format="png") for p in pngs(0)]
    slider = w.IntSlider(value=0, min=0, max=check_count(max_seed, "max_seed"), description="codes seed")

    def update(change) -> None:
        for img, p in zip(images, pngs(int(change["new"])), strict=True):
            img.value = p

    slider.observe(update, names="value")
    columns = [w.VBox([w.Label(value=k), img]) for k, img in zip(names, images, strict=True)]
    box = w.VBox([slider, w.HBox(columns)])
    box.slider, box.images = slider, images
    return box
