"""Checks for exercises of lesson 02 (expectation: numeric vs sampled)."""

from __future__ import annotations

import math

import torch

from genlearn import expectation
from genlearn.checks import exercise
from genlearn.checks._util import close, pair, to_float

LESSON = "02"


def _normal_pdf(mu: float, sigma: float):
    return lambda x: torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


# --- trapezoid_rule(f, pdf, grid) -> E[f] ------------------------------------------------
T = "the trapezoid rule: sum of (g(x_{i-1}) + g(x_i))/2 * (x_i - x_{i-1}), g = f * p"


@exercise("trapezoid_rule", LESSON, T)
def _trap_uniform_grid(fn):
    grid = torch.linspace(-8.0, 12.0, 201, dtype=torch.float64)
    got = to_float(fn(lambda x: x, _normal_pdf(2.0, 1.5), grid), "trapezoid_rule(...)")
    close(got, 2.0, 1e-6, "E[x] under N(2, 1.5^2) is 2; did you multiply by the spacing?")


@exercise("trapezoid_rule", LESSON, T)
def _trap_matches_library(fn):
    grid = torch.tensor([-6.0, -2.5, -1.0, 0.0, 0.3, 1.2, 2.0, 4.0, 7.0], dtype=torch.float64)
    f, pdf = (lambda x: x**2), _normal_pdf(0.5, 1.0)
    want = float(expectation.trapezoid(f, pdf, grid))
    got = to_float(fn(f, pdf, grid), "trapezoid_rule(...)")
    close(got, want, 1e-9, "on an uneven grid each interval needs its own width x_i - x_{i-1}; "
          "average the two end values of each interval")


@exercise("trapezoid_rule", LESSON, T)
def _trap_not_riemann(fn):
    grid = torch.linspace(0.0, 1.0, 3, dtype=torch.float64)  # 2 intervals, uniform density on [0, 1]
    got = to_float(fn(lambda x: x, lambda x: torch.ones_like(x), grid), "trapezoid_rule(...)")
    close(got, 0.5, 1e-12, "with g(x) = x on [0, 1] the trapezoid rule is exact (0.5); a Riemann "
          "sum would give 0.75 or 0.25")


# --- monte_carlo_estimate(f, sample, n) -> (estimate, standard error) --------------------
M = "Monte Carlo: mean of f over n draws, with standard error std / sqrt(n)"


def _sampler(mu: float, sigma: float, seed: int):
    gen = torch.Generator().manual_seed(seed)
    return lambda n: mu + sigma * torch.randn(n, generator=gen, dtype=torch.float64)


@exercise("monte_carlo_estimate", LESSON, M)
def _mc_value(fn):
    est, se = pair(fn(lambda x: x**2, _sampler(1.0, 2.0, 0), 20000), "monte_carlo_estimate")
    close(est, 5.0, 5 * 0.05, "E[x^2] under N(1, 2^2) is 1 + 4 = 5; average f(x_i) and do not "
          "multiply by p(x_i): the samples already follow p")


@exercise("monte_carlo_estimate", LESSON, M)
def _mc_stderr(fn):
    draws = _sampler(0.0, 1.0, 1)(400)
    replay = iter([draws])
    est, se = pair(fn(lambda x: 3 * x, lambda n: next(replay), 400), "monte_carlo_estimate")
    values = 3 * draws
    close(est, float(values.mean()), 1e-9, "the estimate is the plain mean of f(x_i)")
    want_se = float(values.std(unbiased=True)) / math.sqrt(400)
    close(se, want_se, 1e-6 + 0.01 * want_se,
          "the standard error is the sample standard deviation of f(x_i) divided by sqrt(n)")


@exercise("monte_carlo_estimate", LESSON, M)
def _mc_uses_n(fn):
    calls = []

    def sample(n):
        calls.append(n)
        return torch.zeros(n, dtype=torch.float64)

    fn(lambda x: x, sample, 37)
    assert calls == [37], f"sample should be called once with n=37, it was called with {calls}"


# --- importance_estimate(f, log_p, log_q, sample_q, n) -> (estimate, standard error) ------
I = "importance sampling: mean of f(x) p(x)/q(x) with x drawn from q"


def _log_normal(mu: float, sigma: float):
    return lambda x: -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


@exercise("importance_estimate", LESSON, I)
def _is_value(fn):
    # E_p[x] for p = N(3, 1) using draws from q = N(0, 2^2)
    out = fn(lambda x: x, _log_normal(3.0, 1.0), _log_normal(0.0, 2.0), _sampler(0.0, 2.0, 2), 50000)
    est, se = pair(out, "importance_estimate")
    close(est, 3.0, 0.1, "weight each f(x_i) by w_i = exp(log_p(x_i) - log_q(x_i)) and average")
    assert 0 < se < 0.1, f"standard error {se:.3g} looks wrong: it is std(f(x_i) w_i) / sqrt(n)"


@exercise("importance_estimate", LESSON, I)
def _is_matches_library(fn):
    draws = _sampler(0.5, 1.5, 3)(1000)
    f, lp, lq = (lambda x: torch.sin(x)), _log_normal(0.0, 1.0), _log_normal(0.5, 1.5)
    est, se = pair(fn(f, lp, lq, lambda n: draws, 1000), "importance_estimate")
    want = expectation.importance_sampling(f, lp, lq, lambda n: draws, 1000)
    close(est, float(want.value), 1e-9, "use the plain (not self-normalised) average of f(x) w(x)")
    close(se, float(want.stderr), 1e-6, "standard error: std of f(x_i) w_i over sqrt(n)")


# --- loglog_slope(ns, errors) -> slope -----------------------------------------------------
S = "least-squares slope of log(error) against log(n)"


@exercise("loglog_slope", LESSON, S)
def _slope_exact(fn):
    ns = torch.tensor([10.0, 100.0, 1000.0, 10000.0])
    got = to_float(fn(ns, 3.0 / ns.sqrt()), "loglog_slope(...)")
    close(got, -0.5, 1e-9, "take logs of both n and the error, then fit a straight line")


@exercise("loglog_slope", LESSON, S)
def _slope_least_squares(fn):
    ns = torch.tensor([2.0, 4.0, 8.0, 16.0, 32.0])
    errors = torch.tensor([1.0, 0.30, 0.26, 0.05, 0.04])
    x, y = ns.log(), errors.log()
    want = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    got = to_float(fn(ns, errors), "loglog_slope(...)")
    close(got, want, 1e-6, "use all points in a least-squares fit, not only the first and last")
