r"""Reusable network builders: MLPs and convolutional encoders / decoders for images.

Shapes follow PyTorch: a batch of images is ``(N, C, H, W)``. The conv encoder halves
the spatial size at each stride-2 layer (``H -> ceil(H / 2)``), so

    8x8 -> 4x4 -> 2x2,    16x16 -> 8x8 -> 4x4,    28x28 -> 14x14 -> 7x7

with the default two layers; the conv decoder mirrors it back exactly (odd sizes
included). Both map to / from a *feature map* ``(N, channels, h, w)``, so a
VQ-VAE can quantise it directly, while a VAE flattens it into a vector.

Two ways to upsample in the decoder (``upsample=``):

* ``"transpose"``: ``ConvTranspose2d(k=3, stride=2)``: learned upsampling; can
  leave checkerboard artefacts where the kernels overlap unevenly.
* ``"nearest"``: ``Upsample(nearest)`` then ``Conv2d(k=3)``: every output pixel sees
  the same number of inputs, so the artefacts disappear (Odena et al., 2016).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count

__all__ = [
    "mlp",
    "ConvEncoder",
    "ConvDecoder",
    "conv_feature_shape",
    "check_shape",
    "check_inputs",
    "check_sizes",
    "soft_clamp",
    "build_encoder",
    "build_decoder",
    "ARCHS",
    "UPSAMPLE_MODES",
]

UPSAMPLE_MODES = ("transpose", "nearest")
ARCHS = ("mlp", "conv")


def check_shape(shape: Sequence[int], name: str = "in_shape") -> tuple[int, ...]:
    """A non-empty tuple of positive integers, e.g. ``(1, 8, 8)`` or ``(2,)``."""
    if isinstance(shape, (int, str)) or not isinstance(shape, Sequence) or len(shape) == 0:
        raise ValueError(f"{name} must be a tuple of sizes such as (1, 8, 8) or (2,), got {shape!r}")
    return tuple(check_count(s, f"{name} entries") for s in shape)


def check_inputs(x: Tensor, shape: tuple[int, ...], name: str = "x", like: nn.Module | None = None) -> Tensor:
    """Reject anything but a non-empty, finite floating tensor of shape ``(N, *shape)`` (and, given
    ``like``, of the dtype of that module's weights); nothing is broadcast or cast.

    The finiteness check is one reduction; it is skipped only for CUDA tensors while gradients are
    on (the training loop's NaN check catches those without a host sync per layer)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape (N, {_fmt(shape)}), got {type(x).__name__}")
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ValueError(
            f"{name} must have shape (N, {_fmt(shape)}), got {tuple(x.shape)}"
            + (" (add the channel axis: x.unsqueeze(1))" if x.ndim == len(shape) and len(shape) == 3 else "")
        )
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating tensor (e.g. x.float()), got dtype {x.dtype}")
    if len(x) == 0:
        raise ValueError(f"{name} is an empty batch: shape {tuple(x.shape)}, expected at least one example")
    if like is not None:
        want = next((p.dtype for p in like.parameters()), None)
        if want is not None and x.dtype != want:
            raise ValueError(f"{name} must have the dtype of the model's weights, {want} (e.g. {name}.to({want})), "
                             f"got {x.dtype}")
    if not (x.is_cuda and torch.is_grad_enabled()) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def check_sizes(v: object, name: str, allow_empty: bool = True) -> tuple[int, ...]:
    """A tuple of positive layer widths, e.g. ``(256, 128)``; an int or a string is refused by name."""
    if isinstance(v, (int, str, bytes)) or not isinstance(v, Sequence):
        raise ValueError(f"{name} must be a tuple of layer widths such as (256, 128), got {v!r}")
    sizes = tuple(check_count(c, f"{name} entries") for c in v)
    if not sizes and not allow_empty:
        raise ValueError(f"{name} must list at least one width, e.g. (32, 64)")
    return sizes


def _fmt(shape: tuple[int, ...]) -> str:
    return ", ".join(str(s) for s in shape)


def soft_clamp(x: Tensor, lo: float, hi: float) -> Tensor:
    """Smooth clamp to ``(lo, hi)``: ``lo + softplus(x - lo) - softplus(x - hi)``.

    Close to the identity well inside the range, flat outside it, with a gradient
    everywhere. Used on log-variances so ``exp(logvar)`` can neither overflow nor vanish.
    """
    if not lo < hi:
        raise ValueError(f"soft_clamp needs lo < hi, got lo={lo}, hi={hi}")
    return lo + F.softplus(x - lo) - F.softplus(x - hi)


def mlp(
    sizes: Sequence[int],
    activation: type[nn.Module] = nn.ReLU,
    final_activation: nn.Module | None = None,
) -> nn.Sequential:
    """Linear layers ``sizes[0] -> sizes[1] -> ... -> sizes[-1]`` with ``activation`` between
    them (not after the last one unless ``final_activation`` is given)."""
    sizes = [check_count(s, "mlp sizes") for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {sizes}")
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


def conv_feature_shape(in_shape: Sequence[int], n_down: int) -> tuple[int, int]:
    """Spatial size after ``n_down`` stride-2 convolutions: ``H -> ceil(H / 2)`` each time."""
    _, h, w = _image_shape(in_shape)
    for _ in range(n_down):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return h, w


def _image_shape(shape: Sequence[int], name: str = "in_shape") -> tuple[int, int, int]:
    shape = check_shape(shape, name)
    if len(shape) != 3:
        raise ValueError(f"{name} must be (C, H, W) for a conv network, got {shape}")
    return shape  # type: ignore[return-value]


class ConvEncoder(nn.Module):
    """Images ``(N, C, H, W)`` -> feature map ``(N, out_channels, h, w)``.

    One stride-2 ``Conv2d(k=3, padding=1)`` + activation per entry of ``channels``
    (each halves H and W, rounding up), then a 1x1 conv to ``out_channels`` (left out
    when ``out_channels`` is None: the map then has ``channels[-1]`` channels).
    ``feature_shape`` holds ``(out_channels, h, w)``.
    """

    def __init__(
        self,
        in_shape: Sequence[int],
        out_channels: int | None,
        channels: Sequence[int] = (32, 64),
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.in_shape = _image_shape(in_shape)
        channels = [check_count(c, "channels") for c in channels]
        if not channels:
            raise ValueError("channels must list at least one layer width, e.g. (32, 64)")
        layers: list[nn.Module] = []
        c_prev = self.in_shape[0]
        for c in channels:
            layers += [nn.Conv2d(c_prev, c, 3, stride=2, padding=1), activation()]
            c_prev = c
        if out_channels is None:  # end on the last activation (a VAE head follows)
            out_channels = c_prev
        else:
            out_channels = check_count(out_channels, "out_channels")
            layers.append(nn.Conv2d(c_prev, out_channels, 1))
        self.net = nn.Sequential(*layers)
        self.feature_shape = (out_channels, *conv_feature_shape(self.in_shape, len(channels)))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(check_inputs(x, self.in_shape, like=self))


class ConvDecoder(nn.Module):
    """Feature map ``(N, in_channels, h, w)`` -> images ``(N, C, H, W)`` (no output activation).

    Mirrors :class:`ConvEncoder`: a 1x1 conv to ``channels[0]`` (left out when
    ``in_channels`` is None: the input then has ``channels[0]`` channels), then per entry of
    ``channels`` one upsampling step (x2, cropped to the encoder's exact sizes) and
    an activation, then a 3x3 conv to ``out_shape[0]`` channels. ``upsample`` is
    ``"transpose"`` (ConvTranspose2d) or ``"nearest"`` (Upsample + Conv2d).
    ``in_shape`` holds ``(in_channels, h, w)``.
    """

    def __init__(
        self,
        out_shape: Sequence[int],
        in_channels: int | None,
        channels: Sequence[int] = (64, 32),
        upsample: str = "transpose",
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.out_shape = _image_shape(out_shape, "out_shape")
        channels = [check_count(c, "channels") for c in channels]
        if not channels:
            raise ValueError("channels must list at least one layer width, e.g. (64, 32)")
        # spatial sizes visited by the encoder: H, ceil(H/2), ...; walk them backwards
        sizes = [self.out_shape[1:]]
        for _ in channels:
            h, w = sizes[-1]
            sizes.append((math.ceil(h / 2), math.ceil(w / 2)))
        layers: list[nn.Module] = []
        if in_channels is None:
            in_channels = channels[0]
        else:
            in_channels = check_count(in_channels, "in_channels")
            layers += [nn.Conv2d(in_channels, channels[0], 1), activation()]
        self.in_shape = (in_channels, *sizes[-1])
        targets = sizes[-2::-1]  # sizes after each upsampling step
        for i, (c, (th, tw)) in enumerate(zip(channels, targets, strict=True)):
            c_next = channels[i + 1] if i + 1 < len(channels) else channels[-1]
            h, w = sizes[len(channels) - i]
            if upsample == "transpose":
                # (h - 1) * 2 - 2 + 3 + output_padding = 2h - 1 + output_padding
                layers.append(
                    nn.ConvTranspose2d(c, c_next, 3, stride=2, padding=1,
                                       output_padding=(th - 2 * h + 1, tw - 2 * w + 1))
                )
            else:
                layers += [nn.Upsample(size=(th, tw), mode="nearest"), nn.Conv2d(c, c_next, 3, padding=1)]
            layers.append(activation())
        layers.append(nn.Conv2d(channels[-1], self.out_shape[0], 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        return self.net(check_inputs(h, self.in_shape, "feature map", like=self))


def _check_arch(arch: str, in_shape: tuple[int, ...]) -> None:
    if arch not in ARCHS:
        raise ValueError(f"arch must be one of {ARCHS}, got {arch!r}")
    if arch == "conv" and len(in_shape) != 3:
        raise ValueError(f"arch='conv' needs images, in_shape=(C, H, W); got in_shape={in_shape}")


def build_encoder(
    in_shape: Sequence[int],
    out_features: int,
    arch: str = "mlp",
    hidden: Sequence[int] = (256, 256),
    channels: Sequence[int] = (32, 64),
) -> nn.Module:
    """``(N, *in_shape)`` -> ``(N, out_features)``.

    ``arch="mlp"``: flatten, then ``mlp([prod(in_shape), *hidden, out_features])``.
    ``arch="conv"``: :class:`ConvEncoder` (``channels``), flatten, one linear layer.
    """
    in_shape = check_shape(in_shape)
    out_features = check_count(out_features, "out_features")
    _check_arch(arch, in_shape)
    if arch == "mlp":
        return nn.Sequential(nn.Flatten(), mlp([math.prod(in_shape), *hidden, out_features]))
    conv = ConvEncoder(in_shape, None, channels)
    return nn.Sequential(conv, nn.Flatten(), nn.Linear(math.prod(conv.feature_shape), out_features))


def build_decoder(
    out_shape: Sequence[int],
    in_features: int,
    arch: str = "mlp",
    hidden: Sequence[int] = (256, 256),
    channels: Sequence[int] = (64, 32),
    upsample: str = "transpose",
) -> nn.Module:
    """``(N, in_features)`` -> ``(N, *out_shape)``, no output activation.

    ``arch="mlp"``: ``mlp([in_features, *hidden, prod(out_shape)])`` then reshape.
    ``arch="conv"``: one linear layer + activation to the feature map, then
    :class:`ConvDecoder` (``channels``, ``upsample``).
    """
    out_shape = check_shape(out_shape, "out_shape")
    in_features = check_count(in_features, "in_features")
    _check_arch(arch, out_shape)
    if arch == "mlp":
        return nn.Sequential(
            mlp([in_features, *hidden, math.prod(out_shape)]), nn.Unflatten(1, out_shape)
        )
    conv = ConvDecoder(out_shape, None, channels, upsample=upsample)
    return nn.Sequential(
        nn.Linear(in_features, math.prod(conv.in_shape)),
        nn.ReLU(),
        nn.Unflatten(1, conv.in_shape),
        conv,
    )
