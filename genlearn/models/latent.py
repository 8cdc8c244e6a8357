r"""Latent-space helpers for any model with a continuous code: encode to the code (or the
posterior mean), decode points, interpolate (linear or spherical), traverse one dimension.

Works with any :class:`~genlearn.models.base.ContinuousLatentModel`: ``code(x)`` (the point code:
``f(x)`` of an AE, the posterior mean of a VAE) and ``decode_mean`` (codes -> images), e.g.
:class:`genlearn.models.AE`, :class:`genlearn.models.VAE`, :class:`genlearn.models.VAEGAN`.

Interpolation between codes ``z0`` and ``z1`` at ``t`` in [0, 1]::

    linear: z(t) = (1 - t) z0 + t z1
    slerp:  z(t) = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1,   cos w = z0.z1 / (|z0| |z1|)

(For two codes of similar length slerp follows the arc between them, so its norms stay near theirs
where the straight line cuts in towards 0; it does not move a code to the norm typical of prior draws.)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.models.base import ContinuousLatentModel, eval_mode, map_batches

__all__ = ["encode_mean", "decode_points", "decode_point", "interpolate", "slerp", "interpolation_frames",
           "traverse"]


def _latent_dim(model: nn.Module) -> int:
    """The code size of a model that decodes vector codes: an integer ``latent_dim`` and ``decode_mean``
    (what decoding needs; a whole :class:`ContinuousLatentModel` also encodes, :func:`encode_mean`)."""
    d = getattr(model, "latent_dim", None)
    if not isinstance(d, int) or not callable(getattr(model, "decode_mean", None)):
        raise ValueError(f"{type(model).__name__} does not decode vector codes: expected an integer `latent_dim` "
                         "and `decode_mean(z)` (a ContinuousLatentModel such as an AE or a VAE)")
    return d


def encode_mean(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Codes of ``x`` on the CPU, ``(N, latent_dim)``: ``f(x)`` for an AE, the posterior mean
    ``mu(x)`` for a VAE (no sampling, no gradients, eval mode)."""
    if isinstance(x, Tensor) and len(x) == 0:
        raise ValueError("x is empty; expected a batch (N, ...) with N >= 1")
    if not isinstance(model, ContinuousLatentModel):
        raise ValueError(f"{type(model).__name__} has no vector code: expected a ContinuousLatentModel "
                         "(an integer `latent_dim`, `code(x)` and `decode_mean(z)`), e.g. an AE or a VAE")
    return map_batches(model.code, model, x, batch_size)


def decode_points(model: nn.Module, z: Tensor) -> Tensor:
    """Images ``E[x|z]`` on the CPU for codes ``z`` ``(N, latent_dim)`` (no gradients, eval mode)."""
    d = _latent_dim(model)
    z = torch.as_tensor(z, dtype=torch.float32)
    if z.ndim != 2 or z.shape[1] != d:
        raise ValueError(f"z must have shape (N, {d}) for this model, got {tuple(z.shape)}")
    p = next(model.parameters())
    with eval_mode(model):
        return model.decode_mean(z.to(device=p.device, dtype=p.dtype)).cpu()


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
        return slerp(z0, z1, t[:, 0])
    raise ValueError(f"method must be 'linear' or 'slerp', got {method!r}")


def slerp(z0: Tensor, z1: Tensor, t: Tensor | float) -> Tensor:
    """Spherical interpolation ``sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1`` with
    ``cos w = z0.z1 / (|z0| |z1|)``, for 1-D codes ``z0``, ``z1`` and ``t`` a number or a 1-D
    tensor (one row per entry). Straight line when the codes are parallel."""
    z0, z1 = torch.as_tensor(z0), torch.as_tensor(z1)
    if z0.ndim != 1 or z0.shape != z1.shape or not z0.dtype.is_floating_point:
        raise ValueError(f"z0 and z1 must be floating 1-D codes of the same size, got {tuple(z0.shape)} and "
                         f"{tuple(z1.shape)}")
    t = torch.as_tensor(t, dtype=z0.dtype)
    scalar = t.ndim == 0
    t = t.reshape(-1, 1)
    n0, n1 = z0.norm(), z1.norm()
    if n0 == 0 or n1 == 0:
        raise ValueError("slerp needs non-zero codes (the angle is undefined at 0)")
    omega = torch.arccos((z0 @ z1 / (n0 * n1)).clamp(-1, 1))
    if omega.abs() < 1e-6:  # (anti)parallel is not defined; parallel: straight line
        out = (1 - t) * z0 + t * z1
    else:
        out = (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)
    return out[0] if scalar else out


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
