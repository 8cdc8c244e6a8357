"""Property-based tests (Hypothesis) of the public API: every generated input either gives a
correct result (finite, the right shape, a stated invariant) or a ``ValueError`` whose message
names the argument. Anything else - a TypeError / RuntimeError / IndexError from inside torch or
NumPy, a silent NaN, a half-written file - fails the test.

This file also sets up the profiles for every ``test_properties*.py`` file:

* ``ci`` (the default, used by ``make test``): derandomised, no example database, a bounded
  number of examples per test (the whole property suite takes well under 60 s on one thread);
* ``fuzz`` (``GENLEARN_HYPOTHESIS_PROFILE=fuzz``, ``make fuzz``): :data:`FUZZ_FACTOR` times more
  examples, random, with failures kept in ``build/hypothesis`` and replayed on the next run.

Here: genlearn.expectation, genlearn.kl, genlearn._validate and genlearn.data.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.extra import numpy as hnp

from genlearn import expectation as E
from genlearn import kl as K
from genlearn.data import digits, toy2d
from genlearn.data.idx import read_idx, read_idx_images, write_idx
from genlearn.data.moon_phase import moon_phases

ROOT = Path(__file__).resolve().parent.parent
PROFILE = os.environ.get("GENLEARN_HYPOTHESIS_PROFILE", "ci")
FUZZ_FACTOR = 10
_COMMON = dict(deadline=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("fuzz", database=DirectoryBasedExampleDatabase(str(ROOT / "build" / "hypothesis")),
                          **_COMMON)
settings.load_profile(PROFILE)

pytestmark = pytest.mark.usefixtures("one_thread")


def budget(n: int) -> settings:
    """``n`` examples under the ci profile, ``FUZZ_FACTOR * n`` under fuzz."""
    return settings(max_examples=n * (FUZZ_FACTOR if PROFILE == "fuzz" else 1))


def expect_value_error(call, names: tuple[str, ...]):
    """``call()``, or None if it raised a ValueError whose message names one of ``names``;
    any other exception propagates and fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "casting complex values discards the imaginary part"
            return call()
    except ValueError as err:
        assert any(n in str(err) for n in names), f"{err!r} names none of {names}"
        return None


# --- strategies --------------------------------------------------------------------------------
def floats(*args, **kwargs):
    """``st.floats`` without subnormals: ``import genlearn`` flushes them to zero (see the README)."""
    return st.floats(*args, allow_subnormal=False, **kwargs)


reasonable = floats(-50, 50, allow_nan=False)
extreme = st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, math.inf, -math.inf, math.nan, 5e-324])
junk = st.sampled_from([None, "1.0", "x", True, False, 1j, [], [1, 2], {}, object()])


VECTOR = st.integers(0, 4).map(lambda n: (n,))
DTYPES = (torch.float64, torch.float32, torch.float16, torch.int64, torch.bool, torch.complex64)


def tensors(shape: st.SearchStrategy[tuple[int, ...]] = VECTOR, dtypes: tuple[torch.dtype, ...] = DTYPES):
    """Small tensors of assorted dtypes (NaN and inf included for floats)."""

    @st.composite
    def build(draw):
        dtype = draw(st.sampled_from(dtypes))
        size = draw(shape)
        values = draw(st.lists(st.one_of(reasonable, extreme), min_size=math.prod(size), max_size=math.prod(size)))
        t = torch.tensor(values, dtype=torch.float64).reshape(size)
        if dtype == torch.bool:
            return t > 0
        if dtype == torch.int64:
            return torch.nan_to_num(t, nan=0.0, posinf=1e6, neginf=-1e6).clamp(-1e6, 1e6).long()
        return t.to(dtype)

    return build()


numbers = st.one_of(reasonable, reasonable, extreme, junk, tensors())
positive = st.one_of(floats(1e-3, 1e3), floats(1e-3, 1e3), extreme, junk, tensors())


# --- genlearn.kl ---------------------------------------------------------------------------------
@budget(200)
@given(numbers, positive, numbers, positive)
def test_kl_normal_is_non_negative_or_refused(mu_p, sigma_p, mu_q, sigma_q):
    kl = expect_value_error(lambda: K.kl_normal(mu_p, sigma_p, mu_q, sigma_q),
                            ("mu_p", "sigma_p", "mu_q", "sigma_q", "tensor arguments"))
    if kl is None:
        return
    value = torch.as_tensor(kl, dtype=torch.float64)
    assert not torch.isnan(value).any(), (mu_p, sigma_p, mu_q, sigma_q, kl)
    assert (value >= -1e-3 * (1 + value.abs())).all(), kl  # KL >= 0 (float16 rounds)
    if all(isinstance(v, float) for v in (mu_p, sigma_p, mu_q, sigma_q)) and abs(mu_p) <= 50 and abs(mu_q) <= 50 \
            and 1e-3 <= sigma_p <= 1e3 and 1e-3 <= sigma_q <= 1e3:
        assert math.isfinite(kl)  # inf only where the true KL overflows a float64


@budget(150)
@given(reasonable, floats(1e-3, 1e3))
def test_kl_normal_is_zero_for_equal_normals_and_matches_the_logvar_form(mu, sigma):
    assert K.kl_normal(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-12)
    logvar = torch.tensor([2 * math.log(sigma)], dtype=torch.float64)
    got = K.kl_normal_logvar(torch.tensor([mu], dtype=torch.float64), logvar)
    assert float(got) == pytest.approx(K.kl_normal(mu, sigma), rel=1e-9, abs=1e-12)


@budget(200)
@given(tensors(shape=st.sampled_from([(0,), (3,), (2, 3), ()])), tensors(shape=st.sampled_from([(3,), (2, 3), ()])))
def test_kl_normal_logvar_is_non_negative_per_example_or_refused(mu, logvar):
    kl = expect_value_error(lambda: K.kl_normal_logvar(mu, logvar), ("mu", "logvar"))
    if kl is None:
        return
    assert kl.shape == mu.shape[:-1]
    assert not torch.isnan(kl).any() and (kl >= -1e-3).all(), (mu, logvar, kl)


@budget(100)
@given(reasonable, floats(0.05, 20), reasonable, floats(0.05, 20))
def test_kl_quadrature_and_monte_carlo_agree_with_the_closed_form(mu_p, s_p, mu_q, s_q):
    exact = K.kl_normal(mu_p, s_p, mu_q, s_q)
    grid = torch.linspace(mu_p - 12 * s_p, mu_p + 12 * s_p, 4001, dtype=torch.float64)
    quad = K.kl_quadrature(K.normal_logpdf(mu_p, s_p), K.normal_logpdf(mu_q, s_q), grid)
    assert float(quad) == pytest.approx(exact, rel=1e-4, abs=1e-6)
    gen = torch.Generator().manual_seed(0)
    est = K.kl_monte_carlo(K.normal_logpdf(mu_p, s_p), K.normal_logpdf(mu_q, s_q),
                           lambda n: mu_p + s_p * torch.randn(n, generator=gen, dtype=torch.float64), 2000)
    assert abs(float(est.value) - exact) <= 6 * float(est.stderr) + 1e-9


# --- genlearn.expectation ------------------------------------------------------------------------
FUNCTIONS = {
    "square": lambda x: x**2,
    "one": lambda x: torch.ones(len(x), dtype=torch.float64),
    "nan": lambda x: torch.full((len(x),), math.nan),
    "inf_at_0": lambda x: 1 / x.abs() if x.ndim == 1 else 1 / x.abs().sum(-1),
    "wrong_shape": lambda x: torch.ones(len(x) + 1),
    "scalar": lambda x: torch.tensor(1.0),
    "list": lambda x: [1.0] * len(x),
    "strings": lambda x: ["a"] * len(x),
    "row_sum": lambda x: x.sum(-1) if x.ndim == 2 else x,
}
PDFS = {
    "normal": lambda x: torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi),
    "zero": lambda x: torch.zeros(len(x), dtype=torch.float64),
    "negative": lambda x: -torch.ones(len(x), dtype=torch.float64),
    "uniform": lambda x: torch.ones(len(x), dtype=torch.float64),
    "inf": lambda x: torch.full((len(x),), math.inf),
}
grids = st.one_of(
    st.lists(reasonable, min_size=0, max_size=30).map(sorted),
    st.lists(st.one_of(reasonable, extreme), min_size=0, max_size=10),
    st.integers(2, 50).map(lambda n: torch.linspace(-6, 6, n, dtype=torch.float64)),
    st.just([[0.0, 1.0], [2.0, 3.0]]), junk,
)
QUADRATURE_ARGS = ("grid", "f", "pdf", "normalise")


@budget(200)
@given(st.sampled_from(["riemann", "trapezoid", "range_normalised_sum"]), st.sampled_from(sorted(FUNCTIONS)),
       st.sampled_from(sorted(PDFS)), grids, st.booleans())
def test_quadrature_rules_give_a_finite_number_or_refuse(rule, f, pdf, grid, normalise):
    kwargs = {"normalise": normalise} if rule != "range_normalised_sum" else {}
    value = expect_value_error(lambda: getattr(E, rule)(FUNCTIONS[f], PDFS[pdf], grid, **kwargs), QUADRATURE_ARGS)
    if value is None:
        return
    assert value.shape == () and not torch.isnan(value), (rule, f, pdf, grid, value)
    if torch.as_tensor(grid).abs().max() <= 1e100:
        assert torch.isfinite(value), (rule, f, pdf, grid, value)  # inf only where the true value overflows
    if f == "one" and normalise and rule != "range_normalised_sum":
        assert float(value) == pytest.approx(1.0)  # a self-normalised rule integrates 1 to 1


@budget(150)
@given(st.one_of(reasonable, extreme, junk), st.one_of(floats(1e-3, 10), extreme, junk),
       st.one_of(st.integers(-2, 400), junk), st.sampled_from(sorted(FUNCTIONS)))
def test_gauss_hermite_is_exact_for_low_degree_or_refuses(mu, sigma, n, f):
    value = expect_value_error(lambda: E.gauss_hermite(FUNCTIONS[f], mu, sigma, n), ("mu", "sigma", "n", "f"))
    if value is None:
        return
    assert torch.isfinite(value)
    if f == "square" and n >= 2:  # E[x^2] = mu^2 + sigma^2, exact from n = 2 on
        assert float(value) == pytest.approx(mu**2 + sigma**2, rel=1e-8, abs=1e-10)


SAMPLERS = {
    "normal": lambda n: torch.randn(n, generator=torch.Generator().manual_seed(n), dtype=torch.float64),
    "normal_2d": lambda n: torch.randn(n, 2, generator=torch.Generator().manual_seed(n), dtype=torch.float64),
    "short": lambda n: torch.randn(max(n - 1, 0)),
    "nan": lambda n: torch.full((n,), math.nan),
    "list": lambda n: [0.5] * n,
    "scalar": lambda n: torch.tensor(1.0),
    "int": lambda n: torch.arange(n),
}
counts = st.one_of(st.integers(-3, 2000), st.sampled_from([1.0, 2.5, "10", True, None, np.int64(7)]))


@budget(200)
@given(st.sampled_from(sorted(FUNCTIONS)), st.sampled_from(sorted(SAMPLERS)), counts)
def test_monte_carlo_gives_an_estimate_and_its_error_or_refuses(f, sampler, n):
    est = expect_value_error(lambda: E.monte_carlo(FUNCTIONS[f], SAMPLERS[sampler], n), ("n", "f", "sample"))
    if est is None:
        return
    assert torch.isfinite(est.value) and (est.stderr >= 0 or math.isinf(est.stderr)), est
    if f == "one":
        assert float(est.value) == 1.0 and (float(est.stderr) == 0.0 or n == 1)


LOG_DENSITIES = {
    "normal": K.normal_logpdf(0.0, 1.0),
    "wide": K.normal_logpdf(0.0, 3.0),
    "minus_inf": lambda x: torch.full((len(x),), -math.inf, dtype=torch.float64),
    "plus_inf": lambda x: torch.full((len(x),), math.inf, dtype=torch.float64),
    "nan": lambda x: torch.full((len(x),), math.nan),
}


@budget(200)
@given(st.sampled_from(sorted(FUNCTIONS)), st.sampled_from(sorted(LOG_DENSITIES)),
       st.sampled_from(sorted(LOG_DENSITIES)), st.sampled_from(["normal", "short", "nan", "list"]), counts,
       st.booleans())
def test_importance_sampling_gives_an_estimate_or_refuses(f, log_p, log_q, sampler, n, self_normalised):
    if isinstance(n, int) and not isinstance(n, bool):
        n = min(n, 500)
    est = expect_value_error(
        lambda: E.importance_sampling(FUNCTIONS[f], LOG_DENSITIES[log_p], LOG_DENSITIES[log_q], SAMPLERS[sampler], n,
                                      self_normalised=self_normalised),
        ("n", "f", "sample_q", "log_p", "log_q", "importance"))
    if est is None:
        return
    assert torch.isfinite(est.value) and not torch.isnan(est.stderr), est
    if f == "one" and self_normalised:
        assert float(est.value) == pytest.approx(1.0)


@budget(200)
@given(st.sampled_from(sorted(FUNCTIONS)), st.sampled_from(sorted(PDFS)), st.one_of(reasonable, extreme, junk),
       st.one_of(reasonable, extreme, junk), st.one_of(st.integers(-1, 40), junk), st.one_of(st.integers(-1, 5), junk))
def test_product_midpoint_gives_a_finite_number_or_refuses(f, pdf, lower, upper, m, d):
    value = expect_value_error(lambda: E.product_midpoint(FUNCTIONS[f], PDFS[pdf], lower, upper, m, d),
                               ("f", "pdf", "lower", "upper", "m", "d"))
    if value is None:
        return
    assert torch.isfinite(value)
    if f == "one" and pdf == "uniform":
        assert float(value) == pytest.approx((upper - lower) ** d, rel=1e-9)


@budget(200)
@given(st.one_of(st.lists(st.one_of(floats(1, 1e6), extreme), max_size=6), junk),
       st.one_of(st.lists(st.one_of(floats(1e-6, 1), extreme), max_size=6), junk))
def test_loglog_slope_is_finite_or_refuses(ns, errors):
    slope = expect_value_error(lambda: E.loglog_slope(ns, errors), ("ns", "errors"))
    if slope is not None:
        assert math.isfinite(slope)


@budget(100)
@given(st.lists(floats(1, 1e6), min_size=2, max_size=8, unique=True), floats(-3, 3), floats(1e-3, 1e3))
def test_loglog_slope_recovers_a_power_law(ns, power, scale):
    errors = [scale * n**power for n in ns]
    assume(max(ns) / min(ns) > 1.01)
    assert E.loglog_slope(ns, errors) == pytest.approx(power, abs=1e-6)


# --- genlearn.data: IDX files --------------------------------------------------------------------
IDX_DTYPES = [np.uint8, np.int8, np.dtype(">i2"), np.int16, np.int32, np.dtype(">i4"), np.float32, np.float64,
              np.dtype(">f8")]


def idx_array(dtype) -> st.SearchStrategy[np.ndarray]:
    dtype = np.dtype(dtype)
    elements = hnp.from_dtype(dtype, allow_subnormal=False) if dtype.kind == "f" else hnp.from_dtype(dtype)
    return hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5), elements=elements)


idx_arrays = st.sampled_from(IDX_DTYPES).flatmap(idx_array)


@budget(200)
@given(idx_arrays, st.sampled_from([None, True, False]), st.sampled_from(["a.idx", "a.idx.gz"]))
def test_write_idx_then_read_idx_round_trips(tmp_path_factory, array, compress, name):
    path = tmp_path_factory.mktemp("idx") / name
    write_idx(path, array, compress=compress)
    back = read_idx(path)
    assert back.dtype == array.dtype.newbyteorder("=") and back.shape == array.shape
    assert np.array_equal(back, array, equal_nan=back.dtype.kind == "f")


@budget(150)
@given(st.sampled_from([np.int64, np.uint16, np.bool_, np.complex64, np.float16, object]).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(max_dims=2, max_side=3), elements=st.integers(0, 1)))
    | st.sampled_from([[1, 2], "abc", None]))
def test_write_idx_refuses_what_idx_cannot_store_and_writes_nothing(tmp_path_factory, array):
    path = tmp_path_factory.mktemp("idx") / "a.idx"
    assert expect_value_error(lambda: write_idx(path, array), ("IDX", "dtype")) is None
    assert not path.exists()  # never a half-written file


@budget(150)
@given(idx_arrays, st.data())
def test_read_idx_reports_a_corrupt_file(tmp_path_factory, array, data):
    path = tmp_path_factory.mktemp("idx") / "bad.idx"
    write_idx(path, array)
    raw = bytearray(path.read_bytes())
    how = data.draw(st.sampled_from(["truncate", "extend", "flip", "random", "gzip-junk", "empty"]))
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)))]
    elif how == "extend":
        raw += data.draw(st.binary(min_size=1, max_size=16))
    elif how == "flip":
        i = data.draw(st.integers(0, min(len(raw), 24) - 1))
        raw[i] ^= data.draw(st.integers(1, 255))
    elif how == "random":
        raw = bytearray(data.draw(st.binary(max_size=64)))
    elif how == "gzip-junk":
        raw = bytearray(gzip.compress(bytes(raw))[: data.draw(st.integers(2, 20))])
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    got = expect_value_error(lambda: read_idx(path), (str(path),))
    if got is not None:  # a flip may leave another valid file: then it must read consistently
        header = 4 + 4 * raw[3]
        assert raw[:2] == b"\x00\x00" and got.nbytes == len(raw) - header


@budget(150)
@given(st.integers(0, 4), st.integers(0, 4), st.sampled_from([np.uint8, np.uint8, np.uint8, np.int16, np.float32]),
       st.sampled_from([(28, 28), (28, 28), (28, 27), (784,)]), st.integers(0, 12), st.booleans())
def test_read_idx_images_gives_mnist_images_or_names_the_file(tmp_path_factory, n_images, n_labels, dtype, shape,
                                                              top_label, gzipped):
    folder = tmp_path_factory.mktemp("pair")
    suffix = ".gz" if gzipped else ""
    images = write_idx(folder / f"images{suffix}", (np.arange(n_images * math.prod(shape)) % 256).astype(dtype)
                       .reshape(n_images, *shape))
    labels = write_idx(folder / f"labels{suffix}", np.full(n_labels, top_label, dtype=np.uint8))
    pair = expect_value_error(lambda: read_idx_images(images, labels), (images.name, labels.name))
    if pair is None:
        return
    x, y = pair
    assert x.shape == (n_images, 1, 28, 28) and x.dtype == torch.float32 and y.shape == (n_labels,) == (n_images,)
    assert torch.isfinite(x).all() and ((x >= 0) & (x <= 1)).all() and ((y >= 0) & (y <= 9)).all()


# --- genlearn.data: digits and toy data ----------------------------------------------------------
@budget(30)
@given(st.one_of(st.sampled_from(["train", "test", "all"]), st.text(max_size=5), junk), st.booleans())
def test_load_digits_splits_or_refuses(split, binarize):
    images = expect_value_error(lambda: digits.load_digits(split, binarize), ("split",))
    if images is None:
        return
    sizes = {"train": 1500, "test": 297, "all": 1797}
    x, y = images
    assert x.shape == (sizes[split], 1, 8, 8) and x.dtype == torch.float32 and y.shape == (sizes[split],)
    assert x.min() >= 0 and x.max() <= 1 and y.min() >= 0 and y.max() <= 9
    if binarize:
        assert set(x.unique().tolist()) <= {0.0, 1.0}


def test_digits_train_and_test_are_disjoint_and_cover_all():
    train, test = digits.digits_split()
    assert len(set(train) & set(test)) == 0 and sorted([*train, *test]) == list(range(1797))


sizes = st.one_of(st.integers(-2, 300), st.sampled_from([2.0, "5", None, True, 10**12]))
scales = st.one_of(floats(0, 10), extreme, junk)


@budget(200)
@given(st.sampled_from(["two_moons", "gaussian_mixture", "rings"]), sizes, scales, st.one_of(st.integers(-1, 9), junk))
def test_toy_data_gives_finite_points_and_labels_or_refuses(name, n, scale, k):
    if name == "two_moons":
        call, names = (lambda: toy2d.two_moons(n, scale)), ("n", "noise")
    elif name == "gaussian_mixture":
        call, names = (lambda: toy2d.gaussian_mixture(n, k, 2.0, scale)), ("n", "k", "std")
    else:
        call, names = (lambda: toy2d.rings(n, k, scale)), ("n", "n_rings", "noise")
    if isinstance(n, int) and n > 100_000:
        return  # a size that cannot fit in memory is the caller's to avoid (see the README)
    out = expect_value_error(call, names)
    if out is None:
        return
    points, labels = out
    assert points.shape == (n, 2) and labels.shape == (n,) and labels.dtype == torch.int64
    assert torch.isfinite(points).all(), (name, n, scale, k)


@budget(200)
@given(st.one_of(st.lists(st.one_of(floats(0, 1), extreme), max_size=4), junk),
       st.one_of(st.integers(-1, 40), junk), st.one_of(floats(0, 1), extreme, junk),
       st.one_of(floats(0, 1), extreme, junk))
def test_moon_phases_are_images_in_0_1_or_refused(phases, size, radius, shade):
    images = expect_value_error(lambda: moon_phases(phases, size, radius, shade),
                                ("phases", "size", "radius", "shade"))
    if images is None:
        return
    assert images.shape == (len(phases), 1, size, size) and images.dtype == torch.float32
    assert torch.isfinite(images).all() and ((images >= 0) & (images <= 1)).all()


# --- bugs the fuzzing found, fixed: each input gave a NaN / inf or a torch / NumPy error --------------
def _one(x):
    return torch.ones(len(x), dtype=torch.float64)


def _zero(x):
    return torch.zeros(len(x), dtype=torch.float64)


FOUND_BY_FUZZING = {
    "kl_normal overflow gave NaN": (lambda: K.kl_normal(0.0, 1e300, 0.0, 1e-300), math.inf),
    "kl_normal of a list and a longer list": (lambda: K.kl_normal(0.0, 1.0, [], [1, 2]), "same shape"),
    "kl_normal of a complex tensor": (lambda: K.kl_normal(torch.tensor([1j]), 1.0), "real numbers"),
    "kl_normal_logvar of bool tensors": (lambda: K.kl_normal_logvar(torch.tensor([True]), torch.tensor([False])),
                                         "floating-point"),
    "gauss_hermite beyond 370 points gave NaN": (lambda: E.gauss_hermite(lambda x: x**2, 0.0, 1.0, 371), "n must be"),
    "trapezoid normalised by a zero pdf gave NaN": (lambda: E.trapezoid(_one, _zero, [0.0, 1.0], normalise=True),
                                                    "normalise"),
    "riemann normalised by a zero pdf gave NaN": (lambda: E.riemann(_one, _zero, [0.0, 1.0], normalise=True),
                                                  "normalise"),
    "a grid whose spacing overflows gave NaN": (lambda: E.riemann(_one, _zero, [-1e308, 1e308]), "grid"),
    "f = inf where pdf = 0 gave NaN": (lambda: E.trapezoid(lambda x: 1 / x.abs(), _zero, [-1.0, 0.0, 1.0]), "f(grid)"),
    "self-normalised IS with p = 0 everywhere gave NaN": (lambda: E.importance_sampling(
        _one, lambda x: torch.full((len(x),), -math.inf, dtype=torch.float64), lambda x: -0.5 * x**2,
        lambda n: torch.randn(n, dtype=torch.float64), 5, self_normalised=True), "log_p"),
    "product_midpoint on an infinite box gave inf": (lambda: E.product_midpoint(_one, _one, -math.inf, math.inf, 2, 1),
                                                     "lower"),
    "product_midpoint with string bounds": (lambda: E.product_midpoint(_one, _one, "a", "b", 2, 1), "lower"),
    "product_midpoint on a box whose volume overflows": (lambda: E.product_midpoint(_one, _one, -1e300, 0.0, 1, 2),
                                                         "volume"),
    "loglog_slope of equal ns gave NaN": (lambda: E.loglog_slope([10, 10], [1, 2]), "ns"),
    "loglog_slope of an infinite error gave NaN": (lambda: E.loglog_slope([1, 10], [1, math.inf]), "errors"),
}


@pytest.mark.parametrize("case", sorted(FOUND_BY_FUZZING))
def test_inputs_the_fuzzing_found(case):
    call, want = FOUND_BY_FUZZING[case]
    if isinstance(want, str):
        with pytest.raises(ValueError, match=re.escape(want)):
            call()
    else:
        assert call() == want


def test_write_idx_of_an_empty_array_with_a_huge_dimension(tmp_path):
    with pytest.raises(ValueError, match="2\\*\\*32"):  # was an OverflowError from NumPy
        write_idx(tmp_path / "a.idx", np.zeros((0, 2**32), np.uint8))
    assert not (tmp_path / "a.idx").exists()
