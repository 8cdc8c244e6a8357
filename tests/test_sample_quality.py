"""Sample-quality measures applied to real images: they must report no blur and a small Frechet distance
(the real-versus-real reference), so that a model's score means what the lessons say it means."""

import pytest
import torch

from genlearn.data import load_digits
from genlearn.sample_quality import (
    classifier_confidence,
    frechet,
    frechet_reference,
    image_features,
    sharpness,
    sharpness_gap,
)
from genlearn.scale import SCALES, fashion


def test_the_blur_measure_reports_no_blur_on_real_images():
    train, test = fashion(SCALES["laptop"])
    real_ratio = sharpness(train.x).mean() / sharpness(test.x).mean()
    assert abs(float(real_ratio) - 1) < 0.05
    assert sharpness_gap(test.x[:1000], test.x[1000:]) < 0.05
    digits = load_digits("test").x
    assert sharpness_gap(load_digits("train").x, digits) < 0.05
    blurred = torch.nn.functional.avg_pool2d(test.x[:1000], 3, 1, 1)  # a real blur is seen
    assert sharpness_gap(blurred, test.x[1000:]) > 0.3


def test_frechet_of_real_images_is_the_real_versus_real_reference():
    _, test = fashion(SCALES["laptop"])
    ref = frechet_reference(1000, test.x, data="fashion")
    assert ref < 5
    assert frechet(test.x[:1000], test.x[1000:2000], "fashion") < 3 * ref + 1
    blurred = torch.nn.functional.avg_pool2d(test.x[:1000], 3, 1, 1)
    assert frechet(blurred, test.x[1000:2000], "fashion") > 3 * ref


def test_the_feature_space_is_the_data_sets_not_the_shapes():
    """28x28 images may be Fashion-MNIST or MNIST: the caller names the data set, MNIST is refused (no digit
    classifier at 28x28 ships: garment features would score digits), and a shape that is not the data set's
    is refused; 8x8 images are the digits by default."""
    _, test = fashion(SCALES["laptop"])
    x = test.x[:50]
    with pytest.raises(ValueError, match="say which data set"):
        image_features(x)
    with pytest.raises(ValueError, match="no MNIST feature network"):
        frechet(x, x, "mnist")
    with pytest.raises(ValueError, match="scores images of shape"):
        image_features(load_digits("test").x[:5], "fashion")
    with pytest.raises(ValueError, match="must be one of"):
        classifier_confidence(x, "cifar")
    assert image_features(x, "fashion").shape == (50, 64)
    digits = load_digits("test").x[:20]
    assert torch.equal(image_features(digits), image_features(digits, "digits"))
    assert 0.1 <= classifier_confidence(x, "fashion") <= 1


def test_noise_over_a_blurry_image_does_not_score_as_sharper_at_the_edge_scale():
    """The plain sharpness rewards speckle and a checkerboard (why lesson 07's speckled VAE-GAN samples once
    read 'sharper'); edge sharpness (gradient after a one-pixel Gaussian blur) removes the checkerboard and
    keeps speckled blur far below real images, while it still ranks real images above their blur."""
    from genlearn.sample_quality import edge_sharpness

    _, test = fashion(SCALES["laptop"])
    x = test.x[:500].double()
    blur = torch.nn.functional.avg_pool2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), 3, 1)
    g = torch.Generator().manual_seed(0)
    checker = ((torch.arange(28)[:, None] + torch.arange(28)[None, :]) % 2 * 2 - 1).double() * 0.15
    speckle = (torch.rand(x.shape, generator=g) < 0.1).double() * (torch.rand(x.shape, generator=g) * 0.6 - 0.3)
    noisy = {"checkerboard": (blur + checker * (blur > 0.05)).clamp(0, 1), "speckle": (blur + speckle).clamp(0, 1)}
    plain = {k: float(sharpness(v).mean()) for k, v in {"real": x, "blur": blur, **noisy}.items()}
    edge = {k: float(edge_sharpness(v).mean()) for k, v in {"real": x, "blur": blur, **noisy}.items()}
    assert plain["checkerboard"] > plain["real"] and plain["speckle"] > plain["blur"] * 1.2  # the plain one is fooled
    assert edge["real"] > 1.1 * edge["blur"]  # blur still lowers edge sharpness
    assert edge["checkerboard"] <= 1.01 * edge["blur"]  # the checkerboard is gone
    for kind in noisy:  # noise moves a blurry image less than a third of the way towards the real images
        assert edge[kind] - edge["blur"] < (edge["real"] - edge["blur"]) / 3, (kind, edge)
