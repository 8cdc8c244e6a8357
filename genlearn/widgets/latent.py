r"""Latent-space tools: decode a point, interpolate between codes, traverse one dimension,
and the two widgets built on them (a slider per latent dimension; a slider between two
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
from collections.abc import Sequence

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


def _device(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _latent_dim(model: nn.Module) -> int:
    d = getattr(model, "latent_dim", None)
    if not isinstance(d, int):
        raise ValueError(f"{type(model).__name__} has no integer `latent_dim`; expected a genlearn AE/VAE")
    return d


def encode_mean(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Codes of ``x`` on the CPU, ``(N, latent_dim)``: ``f(x)`` for an AE, the posterior mean
    ``mu(x)`` for a VAE (no sampling, no gradients, eval mode)."""
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for i in range(0, len(x), check_count(batch_size, "batch_size")):
                code = model.encode(x[i : i + batch_size].to(_device(model)))
                out.append((code[0] if isinstance(code, tuple) else code).cpu())
    finally:
        model.train(was_training)
    if not out:
        raise ValueError("x is empty; expected a batch (N, ...) with N >= 1")
    return torch.cat(out)


def decode_points(model: nn.Module, z: Tensor) -> Tensor:
    """Images ``E[x|z]`` on the CPU for codes ``z`` ``(N, latent_dim)`` (no gradients, eval mode)."""
    d = _latent_dim(model)
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.ndim != 2 or z.shape[1] != d:
        raise ValueError(f"z must have shape (N, {d}) for this model, got {tuple(z.shape)}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            p = next(model.parameters())
            return model.decode_mean(z.to(device=p.device, dtype=p.dtype)).cpu()
    finally:
        model.train(was_training)


def decode_point(model: nn.Module, z: Tensor | Sequence[float]) -> Tensor:
    """The image ``E[x|z]`` for one code ``z`` of shape ``(latent_dim,)``: shape ``in_shape``."""
    d = _latent_dim(model)
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.shape != (d,):
        raise ValueError(f"z must have shape ({d},) (one code), got {tuple(z.shape)}")
    return decode_points(model, z[None])[0]


def interpolate(z0: Tensor, z1: Tensor, steps: int, method: str = "linear") -> Tensor:
    """``steps`` codes from ``z0`` (t = 0) to ``z1`` (t = 1), shape ``(steps, d)``; ``method``
    is ``"linear"`` or ``"slerp"`` (module docstring)."""
    steps = check_count(steps, "steps", minimum=2)
    z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    if z0.ndim != 1 or z0.shape != z1.shape:
        raise ValueError(f"z0 and z1 must be 1-D codes of the same size, got {tuple(z0.shape)} and "
                         f"{tuple(z1.shape)}")
    dtype = z0.dtype if z0.dtype.is_floating_point else torch.float32
    z0, z1 = z0.to(dtype), z1.to(dtype)
    t = torch.linspace(0, 1, steps, dtype=dtype)[:, None]
    if method == "linear":
        return (1 - t) * z0 + t * z1
    if method == "slerp":
        n0, n1 = z0.norm(), z1.norm()
        if n0 == 0 or n1 == 0:
            raise ValueError("slerp needs non-zero codes (the angle is undefined at 0)")
        omega = torch.arccos((z0 @ z1 / (n0 * n1)).clamp(-1, 1))
        if omega.abs() < 1e-6:  # (anti)parallel is not defined; parallel: straight line
            return (1 - t) * z0 + t * z1
        return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")


def interpolation_frames(model: nn.Module, x0: Tensor, x1: Tensor, steps: int = 9,
                         method: str = "linear") -> Tensor:
    """Decode the path between the codes of two inputs ``x0``, ``x1`` (each one example of shape
    ``in_shape``): images ``(steps, *in_shape)``, the first and last being the reconstructions."""
    shape = tuple(getattr(model, "in_shape", x0.shape))
    for name, x in (("x0", x0), ("x1", x1)):
        if tuple(x.shape) != shape:
            raise ValueError(f"{name} must be one example of shape {shape}, got {tuple(x.shape)}")
    z = encode_mean(model, torch.stack([x0, x1]))
    return decode_points(model, interpolate(z[0], z[1], steps, method))


def traverse(model: nn.Module, z: Tensor, dims: Sequence[int] | None = None,
             values: Sequence[float] | Tensor = (-3, -2, -1, 0, 1, 2, 3)) -> Tensor:
    """Latent traversal: starting from code ``z`` ``(d,)``, set dimension ``dims[r]`` to each of
    ``values`` in turn. Returns images ``(len(dims), len(values), *in_shape)``."""
    d = _latent_dim(model)
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.shape != (d,):
        raise ValueError(f"z must have shape ({d},), got {tuple(z.shape)}")
    dims = list(range(d)) if dims is None else [int(k) for k in dims]
    if not dims or any(not 0 <= k < d for k in dims):
        raise ValueError(f"dims must be latent indices in [0, {d}), got {dims}")
    vals = torch.as_tensor(values, dtype=torch.float32).reshape(-1)
    codes = z.repeat(len(dims), len(vals), 1)  # (rows, cols, d)
    for r, k in enumerate(dims):
        codes[r, :, k] = vals
    images = decode_points(model, codes.reshape(-1, d))
    return images.reshape(len(dims), len(vals), *images.shape[1:])


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
