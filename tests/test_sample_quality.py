"""Sample-quality measures applied to real images: they must report no blur and a small Frechet distance
(the real-versus-real reference), so that a model's score means what the lessons say it means."""

import torch

from genlearn.data import load_digits
from genlearn.sample_quality import frechet, frechet_reference, sharpness, sharpness_gap
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
    ref = frechet_reference(1000, test.x)
    assert ref < 5
    assert frechet(test.x[:1000], test.x[1000:2000]) < 3 * ref + 1
    blurred = torch.nn.functional.avg_pool2d(test.x[:1000], 3, 1, 1)
    assert frechet(blurred, test.x[1000:2000]) > 3 * ref
