r"""Sample-quality scores (not likelihoods): a Frechet distance in a classifier's features and a
sharpness score, each with a function giving its real-versus-real reference value.
Both work on any model's samples with values in [0, 1]. The feature space is the data set's, named
by ``data`` (:data:`FEATURE_SPACES`): ``"digits"`` (8x8, the default for 8x8 images) or ``"fashion"``
(28x28 Fashion-MNIST); images of another data set are refused rather than scored by a classifier
of something else.

* **Frechet distance** (the idea of FID, Heusel et al., 2017, with a small digit classifier
  instead of Inception). Fit a Gaussian to the features of each image set,
  ``N(m1, S1)`` and ``N(m2, S2)``; the squared 2-Wasserstein distance between them is::

      FD = |m1 - m2|^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})

  computed here as ``tr (S1 S2)^{1/2} = sum_i sqrt(lambda_i)`` with ``lambda_i`` the
  eigenvalues of the symmetric ``S1^{1/2} S2 S1^{1/2}``. Lower is better; 0 for identical
  statistics. The features are the penultimate layer of :func:`digit_classifier` (digits) or
  :func:`fashion_classifier` (Fashion-MNIST).
* **Sharpness**: the mean image-gradient magnitude, with forward differences
  ``dx = x[i, j+1] - x[i, j]``, ``dy = x[i+1, j] - x[i, j]`` on the common 7x7 grid::

      sharpness(x) = mean_{i,j} sqrt(dx_ij^2 + dy_ij^2)

  Averaging images (what a pixel-wise loss rewards under ambiguity) smooths edges and lowers
  it; :func:`sharpness_gap` compares it with real digits. It also *rises with noise*: speckle or a
  checkerboard over a blurry image has plenty of gradient, so "higher sharpness" alone never means
  "sharper edges".
* **Edge sharpness** (:func:`edge_sharpness`): the same mean gradient magnitude after a Gaussian
  blur of standard deviation ``scale`` pixels (default 1), ``sharpness(G_scale * x)``. The blur
  removes a one-pixel checkerboard (attenuated by ``exp(-pi^2 scale^2 / 2)``, under 0.01 at
  ``scale = 1``) and most of pixel-wise speckle, while an edge blurred over ``b`` pixels keeps a
  gradient ``~ h / sqrt(scale^2 + b^2)``, so blur still lowers it: noise over a blurry image stays
  blurry. Every "sharper" verdict in the lessons uses it, beside a score in a fixed feature space
  (Frechet distance, classifier confidence) that noise fails as well.
* **Reference values**: :func:`frechet_reference` is the Frechet distance between two disjoint
  random halves of the real images (of the same size as the samples being scored): the estimator
  is biased upwards at small N, so a model's score means something only beside it.
  :func:`sharpness_reference` is the real images' own sharpness (gap 0 by definition).

The classifier is trained once per process (about a second on a CPU), deterministically:
fixed seed, full-batch Adam on the fixed training split of :func:`genlearn.data.load_digits`,
always on the CPU in float32 with one thread, without touching the global random state.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genlearn._validate import check_count
from genlearn.data import DIGITS_SHAPE, load_digits

__all__ = [
    "DigitClassifier",
    "digit_classifier",
    "classifier_accuracy",
    "classifier_confidence",
    "digit_features",
    "gaussian_stats",
    "frechet_distance",
    "frechet_gaussians",
    "digit_frechet_distance",
    "sharpness",
    "sharpness_gap",
    "SampleQuality",
    "sample_quality",
    "frechet_reference",
    "sharpness_reference",
    "check_images",
    "FashionClassifier",
    "fashion_classifier",
    "image_features",
    "FEATURE_SPACES",
    "confidence_line",
    "RECOGNISABLE",
    "edge_sharpness",
    "gaussian_blur",
    "frechet",
]


def check_images(x: Tensor, name: str = "images", shape: tuple[int, ...] | None = None) -> Tensor:
    """Reject anything but a floating tensor ``(N, C, H, W)`` (of ``shape`` per image when given),
    N >= 1, finite, values in [0, 1]."""
    want = "(N, C, H, W)" if shape is None else f"(N, {', '.join(map(str, shape))})"
    if not isinstance(x, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape {want}, got {type(x).__name__}")
    if x.ndim != 4 or len(x) == 0 or (shape is not None and tuple(x.shape[1:]) != tuple(shape)):
        raise ValueError(f"{name} must have shape {want} with N >= 1, got {tuple(x.shape)}")
    if not x.dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating tensor with values in [0, 1], got dtype {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"{name} must have values in [0, 1] (e.g. sigmoid of logits), got range [{lo:.3g}, {hi:.3g}]")
    return x


def check_digit_images(x: Tensor, name: str = "images") -> Tensor:
    """:func:`check_images` for 8x8 digits ``(N, 1, 8, 8)``."""
    return check_images(x, name, DIGITS_SHAPE)


class DigitClassifier(nn.Module):
    """MLP ``64 -> 128 -> 64 -> 10`` (ReLU). ``features(x)``: the 64 penultimate activations."""

    def __init__(self, hidden: int = 128, n_features: int = 64) -> None:
        super().__init__()
        f32 = {"dtype": torch.float32}  # the same weights whatever torch's default dtype
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, hidden, **f32), nn.ReLU(),
                                  nn.Linear(hidden, n_features, **f32), nn.ReLU())
        self.head = nn.Linear(n_features, 10, **f32)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


@lru_cache(maxsize=1)
def digit_classifier(seed: int = 0, steps: int = 400, lr: float = 3e-3) -> DigitClassifier:
    """The feature network of the Frechet distance, trained on the digits' training split.

    Full-batch Adam on the cross-entropy (weight decay 1e-4) for ``steps`` steps from a fixed
    seed, on the CPU in float32; cached per process. Returned in eval mode, frozen (never
    train it further: every score in the course uses this one network).
    """
    train = load_digits("train")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is fastest, and bits match on every machine
    try:
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            torch.manual_seed(seed)
            net = DigitClassifier()
            opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                nn.functional.cross_entropy(net(train.x.float()), train.y).backward()
                opt.step()
    finally:
        torch.set_num_threads(threads)
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


class FashionClassifier(nn.Module):
    """CNN for 28x28 images: two stride-2 convs (16, 32 channels), ``features(x)``: 64 units, then 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 16, 3, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 3, 2, 1), nn.ReLU(),
                                  nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU())
        self.head = nn.Linear(64, 10)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


@lru_cache(maxsize=1)
def fashion_classifier(seed: int = 0, epochs: int = 2, n_train: int = 20000) -> FashionClassifier:
    """The feature network of the Frechet distance on 28x28 images: trained on the first
    ``n_train`` Fashion-MNIST training images (Adam, batch 128, ``epochs`` epochs, fixed seed,
    one CPU thread, float32), cached per process and on disk (:func:`genlearn.data.cache_dir`),
    frozen. Every 28x28 score in the course uses this one network."""
    import hashlib
    import os

    from genlearn.data import cache_dir

    cache = cache_dir()
    path = cache / f"fashion-features-s{seed}-e{epochs}-n{n_train}-torch{torch.__version__.split('+')[0]}.pt"
    net = FashionClassifier()
    loaded = False
    if path.is_file():
        try:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            loaded = True
        except Exception:  # a corrupt cache entry: train again
            loaded = False
    if not loaded:
        from genlearn.data import load_fashion_mnist

        data = load_fashion_mnist("train")
        x, y = data.x[:n_train], data.y[:n_train]
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.random.fork_rng(devices=[]), torch.enable_grad():
                torch.manual_seed(seed)
                net = FashionClassifier()
                opt = torch.optim.Adam(net.parameters(), lr=2e-3)
                g = torch.Generator().manual_seed(seed)
                for _ in range(epochs):
                    perm = torch.randperm(len(x), generator=g)
                    for i in range(0, len(x), 128):
                        idx = perm[i : i + 128]
                        opt.zero_grad(set_to_none=True)
                        nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
                        opt.step()
        finally:
            torch.set_num_threads(threads)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{hashlib.sha1(str(os.getpid()).encode()).hexdigest()[:8]}.tmp")
            torch.save(net.state_dict(), tmp)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home: train again next time
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


FEATURE_SPACES = ("digits", "fashion")  # the data sets whose classifier genlearn trains for its scores
_NO_FEATURES = {
    "mnist": "no MNIST feature network ships with genlearn, and the Fashion-MNIST classifier would score "
             "handwritten digits in the features of garments (every digit 'far from real' for the wrong reason)",
}


def _feature_net(data: str | None, x: Tensor) -> nn.Module:
    shape = tuple(x.shape[1:])
    if data is None:
        if shape != DIGITS_SHAPE:
            raise ValueError(f"images of shape {shape}: say which data set they imitate (data='fashion'); the "
                             "feature space is the one of the data set, and 28x28 may be Fashion-MNIST or MNIST")
        data = "digits"
    if data in _NO_FEATURES:
        raise ValueError(f"data={data!r}: {_NO_FEATURES[data]}")
    want = {"digits": DIGITS_SHAPE, "fashion": (1, 28, 28)}
    if data not in want:
        raise ValueError(f"data must be one of {FEATURE_SPACES}, got {data!r}")
    if shape != want[data]:
        raise ValueError(f"data={data!r} scores images of shape (N, {', '.join(map(str, want[data]))}), "
                         f"got {tuple(x.shape)}")
    return digit_classifier() if data == "digits" else fashion_classifier()


def image_features(images: Tensor, data: str | None = None) -> Tensor:
    """Features for the Frechet distance, ``(N, 64)`` float64 on the CPU, in the feature space of the
    data set the images imitate: ``data="digits"`` (8x8; the default for 8x8 images) uses the digit
    classifier, ``data="fashion"`` (28x28) the Fashion-MNIST classifier; MNIST is refused (no
    classifier of digits at 28x28 ships), and so is a shape that does not match ``data``."""
    x = check_images(images).detach().to("cpu", torch.float32)
    net = _feature_net(data, x)
    with torch.no_grad():
        return torch.cat([net.features(x[i : i + 2000]) for i in range(0, len(x), 2000)]).double()


def frechet(samples: Tensor, reference: Tensor, data: str | None = None) -> float:
    """Frechet distance between the features (:func:`image_features` of data set ``data``) of
    ``samples`` and of the real ``reference`` images. Compare it with :func:`frechet_reference`
    at the same size."""
    return frechet_distance(image_features(samples, data), image_features(reference, data))


def classifier_confidence(images: Tensor, data: str = "fashion") -> float:
    """The classifier of ``data`` (``"fashion"``: Fashion-MNIST, 28x28; ``"digits"``: 8x8): its mean
    top-class probability on ``images``: near its value on real images when samples look like the
    data, near 1/10 when they look like nothing."""
    x = check_images(images).detach().to("cpu", torch.float32)
    net = _feature_net(data, x)
    with torch.no_grad():
        probs = torch.cat([net(x[i : i + 2000]).softmax(1) for i in range(0, len(x), 2000)])
    return float(probs.max(1).values.double().mean())


RECOGNISABLE = 0.7  # samples count as recognisable when the classifier is at least this sure of them, relative to real


def confidence_line(samples: Tensor, reference: Tensor, data: str = "fashion", label: str = "samples") -> str:
    """One line for a sample grid: the classifier's mean top-class probability on ``samples`` beside its
    value on the real ``reference`` images, their ratio, and whether it reaches :data:`RECOGNISABLE`."""
    c, r = classifier_confidence(samples, data), classifier_confidence(reference, data)
    said = "recognisable" if c >= RECOGNISABLE * r else "NOT recognisable as the data"
    return (f"{label}: classifier confidence {c:.2f}, real images {r:.2f}, ratio {c / r:.2f} "
            f"({said}: the course's bar is {RECOGNISABLE})")


def classifier_accuracy(split: str = "test") -> float:
    """Accuracy of :func:`digit_classifier` on a split of the digits (``"test"``: 297 images)."""
    data = load_digits(split)
    net = digit_classifier()
    with torch.no_grad():
        return float((net(data.x.float()).argmax(1) == data.y).double().mean())


def digit_features(images: Tensor) -> Tensor:
    """Penultimate-layer features of :func:`digit_classifier`, ``(N, 64)`` float64 on the CPU."""
    x = check_digit_images(images).detach().to("cpu", torch.float32)
    net = digit_classifier()
    with torch.no_grad():
        return net.features(x).double()


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(d,)`` and covariance ``(d, d)`` (N - 1 in the denominator) of ``features`` ``(N, d)``."""
    if not isinstance(features, Tensor) or features.ndim != 2 or len(features) < 2:
        raise ValueError("features must be a tensor (N, d) with N >= 2, got "
                         f"{tuple(features.shape) if isinstance(features, Tensor) else type(features).__name__}")
    f = features.double()
    return f.mean(0), torch.cov(f.T).reshape(f.shape[1], f.shape[1])


def _sqrt_psd(s: Tensor) -> Tensor:
    vals, vecs = torch.linalg.eigh(s)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_gaussians(m1: Tensor, s1: Tensor, m2: Tensor, s2: Tensor) -> float:
    """``|m1 - m2|^2 + tr(S1 + S2 - 2 (S1 S2)^{1/2})`` for two Gaussians (float64)."""
    m1, s1, m2, s2 = (t.double() for t in (m1, s1, m2, s2))
    d = m1.shape[0]
    for name, m, s in (("first", m1, s1), ("second", m2, s2)):
        if m.shape != (d,) or s.shape != (d, d):
            raise ValueError(f"the {name} Gaussian needs a mean ({d},) and a covariance ({d}, {d}), "
                             f"got {tuple(m.shape)} and {tuple(s.shape)}")
    r1 = _sqrt_psd(s1)
    middle = r1 @ s2 @ r1
    tr_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((m1 - m2).pow(2).sum() + s1.trace() + s2.trace() - 2 * tr_sqrt)


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets ``(N, d)`` and ``(M, d)``."""
    a, b = gaussian_stats(features_a), gaussian_stats(features_b)
    if a[0].shape != b[0].shape:
        raise ValueError(f"both feature sets need the same width d, got {a[0].shape[0]} and {b[0].shape[0]}")
    return frechet_gaussians(*a, *b)


def digit_frechet_distance(samples: Tensor, reference: Tensor | None = None) -> float:
    """Frechet distance between the classifier features of ``samples`` and of ``reference``
    (default: the 297 real test digits). Both ``(N, 1, 8, 8)`` in [0, 1], N >= 2."""
    ref = load_digits("test").x if reference is None else reference
    return frechet_distance(digit_features(samples), digit_features(ref))


def sharpness(images: Tensor) -> Tensor:
    """Mean image-gradient magnitude of each image ``(N, C, H, W)``, ``(N,)`` (module docstring)."""
    x = check_images(images).detach().double()
    dx = x[..., :-1, 1:] - x[..., :-1, :-1]
    dy = x[..., 1:, :-1] - x[..., :-1, :-1]
    return (dx.pow(2) + dy.pow(2)).sqrt().flatten(1).mean(1).cpu()


def gaussian_blur(images: Tensor, scale: float = 1.0) -> Tensor:
    """Separable Gaussian blur of standard deviation ``scale`` pixels (kernel radius ``ceil(3 scale)``,
    edges replicated), float64: ``G_scale * x`` of :func:`edge_sharpness`."""
    x = check_images(images).detach().double()
    if not (isinstance(scale, (int, float)) and 0 < scale <= 8):
        raise ValueError(f"scale must be a number of pixels in (0, 8], got {scale!r}")
    radius = max(1, math.ceil(3 * scale))
    r = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-r.pow(2) / (2 * scale**2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def edge_sharpness(images: Tensor, scale: float = 1.0) -> Tensor:
    """Mean gradient magnitude after a Gaussian blur of ``scale`` pixels, ``(N,)``: a sharpness that
    noise cannot fake (module docstring): ``sharpness(gaussian_blur(images, scale))``."""
    return sharpness(gaussian_blur(images, scale))


def sharpness_gap(samples: Tensor, reference: Tensor | None = None) -> float:
    """``|mean sharpness(samples) - mean sharpness(reference)| / mean sharpness(reference)``
    (default reference: the real test digits). 0 means as sharp as the real data."""
    ref = float(sharpness(load_digits("test").x if reference is None else reference).mean())
    return abs(float(sharpness(samples).mean()) - ref) / ref


class SampleQuality(NamedTuple):
    """``frechet`` and ``sharpness_gap`` against the real test digits, and the raw ``sharpness``."""

    frechet: float
    sharpness_gap: float
    sharpness: float


def sample_quality(samples: Tensor) -> SampleQuality:
    """Both scores of ``samples`` ``(N, 1, 8, 8)`` against the real test digits."""
    check_count(len(samples), "number of samples", minimum=2)
    return SampleQuality(digit_frechet_distance(samples), sharpness_gap(samples), float(sharpness(samples).mean()))


def frechet_reference(n: int | None = None, reference: Tensor | None = None, seed: int = 0,
                      data: str | None = None) -> float:
    """The real-versus-real Frechet distance: between two disjoint random halves of ``reference``
    (default: the real test digits), each of ``n`` images (default: half of them). Score samples
    with the same ``n`` to compare like with like."""
    ref = load_digits("test").x if reference is None else check_images(reference, "reference")
    half = len(ref) // 2
    n = half if n is None else check_count(n, "n", minimum=2)
    if n > half:
        raise ValueError(f"n must be at most half the reference set ({half}), got {n}")
    perm = torch.randperm(len(ref), generator=torch.Generator().manual_seed(seed))
    return frechet_distance(image_features(ref[perm[:n]], data), image_features(ref[perm[n : 2 * n]], data))


def sharpness_reference(reference: Tensor | None = None) -> float:
    """Mean sharpness of the real images (default: the test digits); :func:`sharpness_gap` is 0 there."""
    return float(sharpness(load_digits("test").x if reference is None else reference).mean())
