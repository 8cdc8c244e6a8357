r"""Decoder likelihoods ``p(x|z)``, and which data each one is a likelihood *of*.

A decoder outputs one parameter per pixel, ``u = Dec(z)``; each class turns it into
``-log p(x|z)`` per example (summed over pixels, all constants included) and into the image
it stands for, ``E[x|z]``:

* :class:`Bernoulli` (``"bernoulli"``), binary data ``x in {0, 1}``: ``u`` are logits,
  ``-log p(x|z) = sum_i BCE(sigmoid(u_i), x_i)``.
* :class:`DiscretizedLogistic` (``"logistic"``), grey levels ``x in {0, 1/(L-1), ..., 1}``
  (L = 256 for 8-bit images, 17 for the 8x8 digits): with ``m = sigmoid(u)``, a learned scale
  ``s`` per channel and the bin half-width ``h = 1 / (2 (L - 1))``::

      P(x) = F(x + h) - F(x - h),   F(t) = sigmoid((t - m) / s)

  with ``F(-h) := 0`` at the lowest level and ``F(1 + h) := 1`` at the highest, so the L
  probabilities of a pixel sum to exactly 1 (Salimans et al., 2017, one component).
  ``log P`` is computed stably as ``a - softplus(a) - softplus(b) + log(1 - e^{b - a})``.
* :class:`Gaussian` (``"gaussian"``), continuous data: mean ``u``, fixed std ``sigma``;
  a *density*, so it is a likelihood of real-valued data, not of pixels on a grid.
* :class:`SquaredError` (``"mse"``): ``sum_i (x_i - u_i)^2``, a training loss, not a likelihood.

Training losses call :meth:`Likelihood.nll` without looking at the data (no host sync per
step: binary cross-entropy on grey pixels is a legitimate surrogate loss). Anything that
*reports* a likelihood goes through :meth:`Likelihood.log_prob`, which first calls
:meth:`Likelihood.check_data` and refuses data it is not a likelihood of.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count, check_number

__all__ = [
    "Likelihood",
    "Bernoulli",
    "DiscretizedLogistic",
    "Gaussian",
    "SquaredError",
    "LIKELIHOODS",
    "make_likelihood",
    "grey_levels",
]


def grey_levels(x: Tensor, candidates: Sequence[int] = (2, 17, 256)) -> int | None:
    """The smallest L among ``candidates`` such that every value of ``x`` is one of
    ``0, 1/(L-1), ..., 1``; None when there is none (x is continuous or outside [0, 1])."""
    if not isinstance(x, Tensor) or not x.dtype.is_floating_point or x.numel() == 0:
        return None
    x = x.detach()
    if not bool(torch.isfinite(x).all()) or float(x.min()) < 0 or float(x.max()) > 1:
        return None
    for levels in sorted(candidates):
        k = x.double() * (levels - 1)
        if bool(((k - k.round()).abs() <= 1e-4).all()):
            return levels
    return None


class Likelihood(nn.Module):
    """Base class: :meth:`nll` (training), :meth:`log_prob` (reporting), :meth:`mean`."""

    name = ""
    is_likelihood = True

    def nll(self, decoded: Tensor, x: Tensor) -> Tensor:
        """``-log p(x|z)`` per example ``(N,)``, summed over the pixels; no check of ``x``."""
        raise NotImplementedError

    def nll_sum(self, decoded: Tensor, x: Tensor) -> Tensor:
        """``sum_n -log p(x_n|z_n)`` (a 0-dim tensor): what a training loss needs."""
        return self.nll(decoded, x).sum()

    def mean(self, decoded: Tensor) -> Tensor:
        """``E[x|z]``: the image the decoder output stands for."""
        return decoded

    def check_data(self, x: Tensor) -> None:
        """Raise ``ValueError`` unless ``x`` is data this is a likelihood of."""

    def describe_data(self) -> str:
        return "any real-valued data"

    def log_prob(self, x: Tensor, decoded: Tensor) -> Tensor:
        """``log p(x|z)`` per example ``(N,)``, after checking that ``x`` is data this is a likelihood of."""
        if decoded.shape != x.shape:
            raise ValueError(f"decoder output {tuple(decoded.shape)} and x {tuple(x.shape)} differ in shape")
        self.check_data(x)
        return -self.nll(decoded, x)

    def config(self) -> dict:
        return {"likelihood": self.name}


class Bernoulli(Likelihood):
    """Binary pixels; the decoder outputs logits (module docstring)."""

    name = "bernoulli"

    def nll(self, decoded: Tensor, x: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(decoded, x, reduction="none").flatten(1).sum(1)

    def nll_sum(self, decoded: Tensor, x: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(decoded, x, reduction="sum")  # one fused op

    def mean(self, decoded: Tensor) -> Tensor:
        return torch.sigmoid(decoded)

    def describe_data(self) -> str:
        return "binary data (every value 0 or 1)"

    def check_data(self, x: Tensor) -> None:
        if not bool(((x == 0) | (x == 1)).all()):
            levels = grey_levels(x)
            what = f"grey-level data with {levels} levels" if levels else "non-binary data"
            raise ValueError(
                f"a Bernoulli likelihood is a likelihood of binary data only, and x is {what}: binarise x "
                "(e.g. load_digits(split, binarize=True)) or use likelihood='logistic' (discretized logistic "
                "over the grey levels)"
            )


class DiscretizedLogistic(Likelihood):
    """Grey levels ``k / (L - 1)``; the decoder outputs ``u`` with mean ``sigmoid(u)``; the log
    scale per channel is learned (module docstring). ``channels``: 1 for (1, H, W) images."""

    name = "logistic"

    def __init__(self, levels: int = 256, channels: int = 1, init_scale: float = 0.1) -> None:
        super().__init__()
        self.levels = check_count(levels, "levels", minimum=2)
        self.channels = check_count(channels, "channels")
        init_scale = check_number(init_scale, "init_scale", strict=True)
        self.log_scale = nn.Parameter(torch.full((self.channels,), math.log(init_scale)))

    def _scale_shape(self, x: Tensor) -> Tensor:
        if x.ndim >= 3 and x.shape[1] == self.channels:
            return self.log_scale.view(1, self.channels, *([1] * (x.ndim - 2)))
        return self.log_scale.view(*([1] * x.ndim)) if self.channels == 1 else self.log_scale

    def nll(self, decoded: Tensor, x: Tensor) -> Tensor:
        log_s = self._scale_shape(x).clamp(min=-9.0, max=5.0).to(decoded.dtype)
        inv_s = torch.exp(-log_s)
        h = 0.5 / (self.levels - 1)
        a = (x + h - torch.sigmoid(decoded)) * inv_s  # upper edge of the bin
        b = a - 2 * h * inv_s  # lower edge
        sa, sb = F.softplus(a), F.softplus(b)
        lowest = a - sa  # log F(x + h) = -softplus(-a)
        highest = -sb  # log (1 - F(x - h))
        middle = lowest - sb + torch.log(-torch.expm1(-2 * h * inv_s))
        logp = torch.where(x < h, lowest, torch.where(x > 1 - h, highest, middle))
        return -logp.flatten(1).sum(1)

    def mean(self, decoded: Tensor) -> Tensor:
        return torch.sigmoid(decoded)

    def describe_data(self) -> str:
        return f"grey levels k/{self.levels - 1}, k = 0..{self.levels - 1}"

    def check_data(self, x: Tensor) -> None:
        k = x.detach().double() * (self.levels - 1)
        ok = bool(torch.isfinite(k).all()) and bool(((k - k.round()).abs() <= 1e-4).all()) \
            and float(x.min()) >= 0 and float(x.max()) <= 1
        if not ok:
            raise ValueError(f"a discretized logistic with {self.levels} levels is a likelihood of "
                             f"{self.describe_data()}; x has other values (grid found: {grey_levels(x)} levels)")

    def config(self) -> dict:
        return {"likelihood": self.name, "levels": self.levels}

    def extra_repr(self) -> str:
        return f"levels={self.levels}, channels={self.channels}"


class Gaussian(Likelihood):
    """``N(x; u, sigma^2 I)``: a density of continuous data."""

    name = "gaussian"

    def __init__(self, sigma: float = 0.1) -> None:
        super().__init__()
        self.sigma = check_number(sigma, "sigma", strict=True)

    def nll(self, decoded: Tensor, x: Tensor) -> Tensor:
        var = self.sigma**2
        return ((x - decoded).pow(2) / (2 * var) + 0.5 * math.log(2 * math.pi * var)).flatten(1).sum(1)

    def check_data(self, x: Tensor) -> None:
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains NaN or inf")
        if float(x.abs().max()) > 1e15:  # squared errors beyond this overflow float32
            raise ValueError(f"x has values of magnitude {float(x.abs().max()):.3g}; a Gaussian likelihood scores "
                             "|x| <= 1e15 (rescale the data)")
        if grey_levels(x) is not None:
            raise ValueError("a Gaussian density is a likelihood of continuous data; x takes a few grey levels "
                             "only (a density of discrete values is not a probability): use likelihood='logistic'")

    def describe_data(self) -> str:
        return "continuous real-valued data"

    def config(self) -> dict:
        return {"likelihood": self.name, "sigma": self.sigma}


class SquaredError(Likelihood):
    """``sum_i (x_i - u_i)^2``: a reconstruction loss that is not a likelihood."""

    name = "mse"
    is_likelihood = False

    def nll(self, decoded: Tensor, x: Tensor) -> Tensor:
        return (x - decoded).pow(2).flatten(1).sum(1)

    def nll_sum(self, decoded: Tensor, x: Tensor) -> Tensor:
        return F.mse_loss(decoded, x, reduction="sum")

    def check_data(self, x: Tensor) -> None:
        raise ValueError("squared error is a loss, not a likelihood: this model reports no log p(x); train it with "
                         "likelihood='bernoulli' (binary data) or 'logistic' (grey levels)")


LIKELIHOODS = ("bernoulli", "logistic", "gaussian", "mse")


def make_likelihood(name: str, in_shape: Sequence[int], *, sigma: float = 0.1, levels: int = 256,
                    allowed: Sequence[str] = LIKELIHOODS) -> Likelihood:
    """The likelihood called ``name`` for inputs of shape ``in_shape``."""
    if name not in allowed:
        raise ValueError(f"likelihood must be one of {tuple(allowed)}, got {name!r}")
    if name == "bernoulli":
        return Bernoulli()
    if name == "logistic":
        return DiscretizedLogistic(levels, in_shape[0] if len(in_shape) == 3 else 1)
    if name == "gaussian":
        return Gaussian(sigma)
    return SquaredError()
