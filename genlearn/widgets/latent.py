r"""Latent-space widgets (the helpers they use live in :mod:`genlearn.models.latent` and are
re-exported here): the two widgets (a slider per latent dimension; a slider between two
examples).

Works with any genlearn model that has ``encode`` (returning codes, or
``Posterior(mu, logvar)`` whose mean ``mu`` is used) and ``decode_mean`` (codes ->
images): :class:`genlearn.models.AE` and :class:`genlearn.models.VAE`.

Interpolation between codes ``z0`` and ``z1`` at ``t`` in [0, 1]::

    linear: z(t) = (1 - t) z0 + t z1
    slerp:  z(t) = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1,   cos w = z0.z1 / (|z0| |z1|)

(slerp keeps the norm typical of Gaussian samples in high dimensions.)
"""

from __future__ import annotations

import io

import numpy as np
import torch
from torch import Tensor, nn

from genlearn._validate import check_count

__all__ = [
    "encode_mean",
    "decode_points",
    "decode_point",
    "interpolate",
    "interpolation_frames",
    "traverse",
    "image_png",
    "latent_explorer",
    "interpolation_slider",
]


from genlearn.models.latent import (  # noqa: F401  (the latent helpers' home is genlearn.models.latent)
    _latent_dim,
    decode_point,
    decode_points,
    encode_mean,
    interpolate,
    interpolation_frames,
    slerp,
    traverse,
)


def image_png(image: Tensor, scale: int = 1) -> bytes:
    """PNG bytes of one image ``(C, H, W)`` or ``(H, W)`` with values in [0, 1] (clipped),
    enlarged ``scale`` times by pixel repetition (no blur)."""
    from matplotlib.image import imsave

    a = image.detach().cpu().to(torch.float32).numpy() if isinstance(image, Tensor) else np.asarray(image)
    if a.ndim == 3 and a.shape[0] in (1, 3):
        a = a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)
    if a.ndim not in (2, 3):
        raise ValueError(f"image must have shape (C, H, W) with C = 1 or 3, or (H, W); got {a.shape}")
    scale = check_count(scale, "scale")
    a = np.clip(a, 0, 1).repeat(scale, axis=0).repeat(scale, axis=1)
    buf = io.BytesIO()
    imsave(buf, a, cmap="gray", vmin=0, vmax=1, format="png")
    return buf.getvalue()


def _scale_for(model: nn.Module) -> int:
    h = tuple(getattr(model, "in_shape", (1, 28, 28)))[-1]
    return max(1, 160 // max(1, int(h)))


def latent_explorer(model: nn.Module, z0: Tensor | None = None, lo: float = -3.0, hi: float = 3.0,
                    step: float = 0.05):
    """ipywidgets: one slider per latent dimension -> the decoded image :func:`decode_point`.

    Returns a ``VBox`` whose ``.image`` is the ``ipywidgets.Image`` and ``.sliders`` the
    sliders (starting at ``z0``, default 0)."""
    import ipywidgets as w

    d = _latent_dim(model)
    z0 = torch.zeros(d) if z0 is None else torch.as_tensor(z0, dtype=torch.float32)
    if z0.shape != (d,):
        raise ValueError(f"z0 must have shape ({d},), got {tuple(z0.shape)}")
    scale = _scale_for(model)
    image = w.Image(value=image_png(decode_point(model, z0), scale), format="png")
    sliders = [
        w.FloatSlider(value=float(z0[k]), min=lo, max=hi, step=step, description=f"z{k}",
                      continuous_update=True, readout_format=".2f")
        for k in range(d)
    ]

    def update(_change=None) -> None:
        z = torch.tensor([s.value for s in sliders], dtype=torch.float32)
        image.value = image_png(decode_point(model, z), scale)

    for s in sliders:
        s.observe(update, names="value")
    box = w.VBox([image, *sliders], layout=w.Layout(align_items="flex-start"))  # the image keeps its size
    box.image, box.sliders = image, sliders
    return box


def interpolation_slider(model: nn.Module, x0: Tensor, x1: Tensor, steps: int = 21,
                         method: str = "linear"):
    """ipywidgets: the inputs ``x0`` and ``x1`` on both sides of the decoded interpolation, with a
    slider over ``t`` (``steps`` precomputed frames from :func:`interpolation_frames`).

    Returns an ``HBox``/``VBox`` whose ``.image`` is the middle image and ``.slider`` the t slider."""
    import ipywidgets as w

    frames = interpolation_frames(model, x0, x1, steps, method)
    scale = _scale_for(model)
    pngs = [image_png(f, scale) for f in frames]
    left = w.Image(value=image_png(x0, scale), format="png")
    right = w.Image(value=image_png(x1, scale), format="png")
    image = w.Image(value=pngs[0], format="png")
    slider = w.IntSlider(value=0, min=0, max=steps - 1, description="t", readout=False)
    label = w.Label(value="t = 0.00")

    def update(change) -> None:
        i = int(change["new"])
        image.value = pngs[i]
        label.value = f"t = {i / (steps - 1):.2f}"

    slider.observe(update, names="value")
    box = w.VBox([w.HBox([left, image, right], layout=w.Layout(align_items="flex-start")),
                  w.HBox([slider, label])], layout=w.Layout(align_items="flex-start"))
    box.image, box.slider, box.frames = image, slider, frames
    return box
