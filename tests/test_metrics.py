"""genlearn.sample_quality: the digit classifier, the Frechet distance and the sharpness score."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from genlearn import evaluate as _evaluate
from genlearn import sample_quality as M
from genlearn.data import load_digits


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _blur(x, times=1):
    for _ in range(times):
        x = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return x


@pytest.fixture(scope="module")
def test_x():
    return load_digits("test").x


def test_classifier_is_accurate_on_the_test_split():
    assert M.classifier_accuracy("test") > 0.93


def test_classifier_is_deterministic_and_leaves_the_global_rng_alone():
    first = {k: v.clone() for k, v in M.digit_classifier().state_dict().items()}
    M.digit_classifier.cache_clear()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    again = M.digit_classifier().state_dict()
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert M.digit_classifier() is M.digit_classifier()  # cached per process
    assert not any(p.requires_grad for p in M.digit_classifier().parameters())


def _scipy_frechet(m1, s1, m2, s2):
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_frechet_of_gaussians_matches_scipy():
    rng = np.random.RandomState(0)
    for d in (1, 3, 6):
        a, b = rng.randn(d, d), rng.randn(d, d)
        s1, s2 = a @ a.T + 0.1 * np.eye(d), b @ b.T + 0.1 * np.eye(d)
        m1, m2 = rng.randn(d), rng.randn(d)
        got = M.frechet_gaussians(*(torch.tensor(t) for t in (m1, s1, m2, s2)))
        assert got == pytest.approx(_scipy_frechet(m1, s1, m2, s2), rel=1e-8, abs=1e-8)


def test_frechet_closed_form_in_one_dimension():
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2
    got = M.frechet_gaussians(torch.tensor([1.0]), torch.tensor([[4.0]]), torch.tensor([-2.0]), torch.tensor([[9.0]]))
    assert got == pytest.approx(9 + 1, abs=1e-10)


def test_frechet_distance_from_samples_matches_scipy():
    rng = np.random.RandomState(1)
    fa, fb = rng.randn(200, 4), rng.randn(300, 4) @ rng.randn(4, 4) + 1
    want = _scipy_frechet(fa.mean(0), np.cov(fa.T), fb.mean(0), np.cov(fb.T))
    assert M.frechet_distance(torch.tensor(fa), torch.tensor(fb)) == pytest.approx(want, rel=1e-8)


def test_frechet_of_a_set_with_itself_is_zero(test_x):
    assert abs(M.digit_frechet_distance(test_x, test_x)) < 1e-5


def test_frechet_grows_with_blur_and_noise(test_x):
    blurred = [M.digit_frechet_distance(_blur(test_x, k)) for k in (0, 1, 2)]
    assert blurred[0] < 1e-5 < blurred[1] < blurred[2]
    noisy = [M.digit_frechet_distance((test_x + s * torch.randn(test_x.shape, generator=_gen(0))).clamp(0, 1))
             for s in (0.1, 0.3, 0.6)]
    assert 0 < noisy[0] < noisy[1] < noisy[2]


def test_real_digits_score_much_better_than_the_mean_image(test_x):
    train = load_digits("train").x
    mean_image = train.mean(0, keepdim=True).expand(297, -1, -1, -1).contiguous()
    jitter = (mean_image + 0.05 * torch.rand(mean_image.shape, generator=_gen(1))).clamp(0, 1)
    assert M.digit_frechet_distance(train) < 0.1 * M.digit_frechet_distance(jitter)


def test_sharpness_values(test_x):
    assert torch.equal(M.sharpness(torch.full((2, 1, 8, 8), 0.3)), torch.zeros(2, dtype=torch.float64))
    edge = torch.zeros(1, 1, 8, 8)
    edge[..., 4:] = 1.0  # a vertical edge: |dx| = 1 on one of the 7 columns of the 7x7 grid
    assert float(M.sharpness(edge)) == pytest.approx(1 / 7)
    s = [float(M.sharpness(_blur(test_x, k)).mean()) for k in (0, 1, 2)]
    assert s[0] > s[1] > s[2]
    assert M.sharpness_gap(test_x) == 0
    assert M.sharpness_gap(_blur(test_x)) == pytest.approx(1 - s[1] / s[0])


def test_sample_quality_bundles_both_scores(test_x):
    q = M.sample_quality(_blur(test_x))
    assert q.frechet == pytest.approx(M.digit_frechet_distance(_blur(test_x)))
    assert q.sharpness_gap == pytest.approx(M.sharpness_gap(_blur(test_x)))


def test_aggregate_posterior_kl():
    n, d = 1000, 3
    assert _evaluate.aggregate_posterior_kl(torch.zeros(n, d), torch.zeros(n, d)) == pytest.approx(0, abs=1e-12)
    shift = torch.tensor([1.0, -2.0, 0.5])
    assert _evaluate.aggregate_posterior_kl(torch.zeros(n, d) + shift, torch.zeros(n, d)) == pytest.approx(
        0.5 * float(shift.pow(2).sum()))
    # codes drawn from the prior with no posterior spread: S ~= I, KL ~= 0
    mu = torch.randn(20000, d, generator=_gen(2), dtype=torch.float64)
    assert _evaluate.aggregate_posterior_kl(mu, torch.full((20000, d), -30.0, dtype=torch.float64)) < 1e-3
    # a shrunk posterior variance: S = s I, KL = d/2 (s - 1 - log s)
    s = 0.25
    want = d / 2 * (s - 1 - math.log(s))
    assert _evaluate.aggregate_posterior_kl(torch.zeros(n, d), torch.full((n, d), math.log(s))) == pytest.approx(want)


@pytest.mark.parametrize("bad, match", [
    (torch.rand(5, 8, 8), r"\(N, 1, 8, 8\)"),
    (torch.rand(5, 1, 28, 28), r"\(N, 1, 8, 8\)"),
    (torch.randint(0, 2, (5, 1, 8, 8)), "floating"),
    (torch.rand(5, 1, 8, 8) * 16, r"values in \[0, 1\]"),
    (torch.full((5, 1, 8, 8), float("nan")), "NaN"),
])
def test_bad_images_raise(bad, match):
    if bad.ndim == 4 and bad.shape[-1] == 28:  # sharpness takes images of any size; the digit scores do not
        assert M.sharpness(bad).shape == (5,)
    else:
        with pytest.raises(ValueError, match=match.replace(r"1, 8, 8", r"(1, 8, 8|C, H, W)")):
            M.sharpness(bad)
    with pytest.raises(ValueError, match=match):
        M.digit_frechet_distance(bad)


def test_frechet_needs_matching_widths():
    with pytest.raises(ValueError, match="same width"):
        M.frechet_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="N >= 2"):
        M.frechet_distance(torch.randn(1, 3), torch.randn(10, 3))


def test_scores_do_not_depend_on_the_default_dtype(test_x):
    before = M.digit_frechet_distance(test_x[:100])
    M.digit_classifier.cache_clear()
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert M.digit_frechet_distance(test_x[:100]) == pytest.approx(before, rel=1e-6)
    finally:
        torch.set_default_dtype(old)
        M.digit_classifier.cache_clear()
