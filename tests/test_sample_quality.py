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
