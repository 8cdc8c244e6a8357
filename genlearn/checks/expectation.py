"""Checks for the expectation exercises: the trapezoid rule, Monte Carlo, importance sampling, rates."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from genlearn.checks._util import close, pair, rand, randn, to_float
from genlearn.checks.exercise import exercise

__all__ = ["TRAPEZOID_RULE", "MONTE_CARLO_ESTIMATE", "IMPORTANCE_ESTIMATE", "LOGLOG_SLOPE"]

_FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x": lambda x: x, "x^2": lambda x: x**2, "3x": lambda x: 3 * x, "sin": torch.sin,
}


def _normal_pdf(mu: float, sigma: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _log_normal(mu: float, sigma: float) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda x: -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


def _sampler(mu: float, sigma: float, seed: int) -> Callable[[int], torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return lambda n: mu + sigma * torch.randn(n, generator=gen, dtype=torch.float64)


def _trapezoid(g: torch.Tensor, grid: torch.Tensor) -> float:
    return float(((g[:-1] + g[1:]) / 2 * grid.diff()).sum())


# --- trapezoid_rule(f, pdf, grid) -> E[f] -------------------------------------------------------
TRAPEZOID_RULE = exercise(
    "trapezoid_rule", "E[f] by the trapezoid rule on a grid: integrate g = f * p",
    hints=(
        "An expectation is an integral: integrate g(x) = f(x) p(x) over the grid, evaluating g once per "
        "grid point.",
        "The grid may be uneven, so every interval [x_(i-1), x_i] needs its own width (`torch.diff`).",
        "On each interval the trapezoid's height is the average of g at its two ends; add up "
        "height times width over all intervals.",
    ),
)


def _trapezoid_run(fn: Callable, inp: dict) -> object:
    return fn(_FUNCTIONS[inp["f"]], _normal_pdf(inp["mu"], inp["sigma"]), inp["grid"])


def _uneven_grid(gen: torch.Generator) -> dict:
    grid = torch.sort(rand(gen, 9, low=-6.0, high=7.0)).values
    return {"f": "x^2", "mu": 0.5, "sigma": 1.0, "grid": grid}


@TRAPEZOID_RULE.case(make=lambda gen: {"f": "x", "mu": float(rand(gen, 1, low=-2, high=2)), "sigma": 1.5,
                                       "grid": torch.linspace(-10.0, 10.0, 401, dtype=torch.float64)},
                     run=_trapezoid_run)
def _mean_of_normal(inp, out):
    close(to_float(out, "trapezoid_rule(...)"), inp["mu"], 1e-5,
          f"E[x] under N({inp['mu']:.3f}, 1.5^2) is its mean; did you multiply by the spacing?")


@TRAPEZOID_RULE.case(make=_uneven_grid, run=_trapezoid_run)
def _uneven(inp, out):
    grid = inp["grid"]
    want = _trapezoid(grid**2 * _normal_pdf(inp["mu"], inp["sigma"])(grid), grid)
    close(to_float(out, "trapezoid_rule(...)"), want, 1e-9,
          "on an uneven grid each interval needs its own width; average the two end values of each interval")


@TRAPEZOID_RULE.case(make=lambda gen: {"grid": torch.linspace(0.0, 1.0, 3, dtype=torch.float64)},
                     run=lambda fn, inp: fn(lambda x: x, torch.ones_like, inp["grid"]))
def _not_riemann(inp, out):
    close(to_float(out, "trapezoid_rule(...)"), 0.5, 1e-12,
          "with g(x) = x on [0, 1] the trapezoid rule is exact (0.5); a Riemann sum gives 0.75 or 0.25")


# --- monte_carlo_estimate(f, sample, n) -> (estimate, standard error) ---------------------------
MONTE_CARLO_ESTIMATE = exercise(
    "monte_carlo_estimate", "Monte Carlo: the mean of f over n draws, with its standard error",
    hints=(
        "Draw the n samples once, with the `sample` function you are given, and evaluate f on all of them.",
        "The samples already follow p, so p appears nowhere in the estimate: a plain average of the f values.",
        "The standard error of a mean of n independent values is their standard deviation divided by sqrt(n).",
    ),
)


@MONTE_CARLO_ESTIMATE.case(make=lambda gen: {"mu": float(rand(gen, 1, low=-1, high=1)), "seed": 0},
                           run=lambda fn, inp: fn(lambda x: x**2, _sampler(inp["mu"], 2.0, inp["seed"]), 20000))
def _value(inp, out):
    est, _ = pair(out, "monte_carlo_estimate")
    want = inp["mu"] ** 2 + 4.0
    close(est, want, 5 * 0.05, f"E[x^2] under N({inp['mu']:.3f}, 2^2) is mu^2 + 4; average f(x_i) and do not "
          "multiply by p(x_i): the samples already follow p")


@MONTE_CARLO_ESTIMATE.case(make=lambda gen: {"draws": randn(gen, 400)},
                           run=lambda fn, inp: fn(lambda x: 3 * x, lambda n: inp["draws"][:n], 400))
def _stderr(inp, out):
    est, se = pair(out, "monte_carlo_estimate")
    values = 3 * inp["draws"]
    close(est, float(values.mean()), 1e-9, "the estimate is the plain mean of f(x_i)")
    want = float(values.std()) / math.sqrt(400)
    close(se, want, 1e-6 + 0.01 * want, "the standard error is the standard deviation of the f(x_i) over sqrt(n)")


def _count_calls(fn: Callable, inp: dict) -> list[int]:
    calls: list[int] = []

    def sample(n: int) -> torch.Tensor:
        calls.append(int(n))
        return torch.zeros(n, dtype=torch.float64)

    fn(lambda x: x, sample, inp["n"])
    return calls


@MONTE_CARLO_ESTIMATE.case(make=lambda gen: {"n": int(torch.randint(20, 60, (1,), generator=gen))},
                           run=_count_calls)
def _draws_once(inp, out):
    assert out == [inp["n"]], f"sample should be called once with n={inp['n']}, it was called with {out}"


# --- importance_estimate(f, log_p, log_q, sample_q, n) -> (estimate, standard error) -------------
IMPORTANCE_ESTIMATE = exercise(
    "importance_estimate", "importance sampling: the mean of f(x) p(x)/q(x) with x drawn from q",
    hints=(
        "The draws now come from q, not p; each one must be re-weighted by how much more likely p makes "
        "it than q.",
        "Work with the log densities you are given: the weight p(x)/q(x) is the exponential of a difference "
        "of logs, which stays accurate where p and q are tiny.",
        "Once each draw has its value f(x) times its weight, the estimate and its standard error are "
        "computed exactly as in the plain Monte Carlo exercise.",
    ),
)


def _importance_run(fn: Callable, inp: dict) -> object:
    return fn(_FUNCTIONS[inp["f"]], _log_normal(*inp["p"]), _log_normal(*inp["q"]),
              lambda n: inp["draws"][:n], len(inp["draws"]))


@IMPORTANCE_ESTIMATE.case(make=lambda gen: {"f": "x", "p": [3.0, 1.0], "q": [0.0, 2.0], "draws": randn(gen, 50000,
                                                                                                       scale=2.0)},
                          run=_importance_run)
def _value(inp, out):
    est, se = pair(out, "importance_estimate")
    close(est, 3.0, 0.1, "weight each f(x_i) by w_i = p(x_i) / q(x_i), computed from the log densities, and average")
    assert 0 < se < 0.1, f"standard error {se:.3g} looks wrong: it is the std of f(x_i) w_i over sqrt(n)"


@IMPORTANCE_ESTIMATE.case(make=lambda gen: {"f": "sin", "p": [0.0, 1.0], "q": [0.5, 1.5],
                                            "draws": 0.5 + randn(gen, 1000, scale=1.5)},
                          run=_importance_run)
def _matches_formula(inp, out):
    est, se = pair(out, "importance_estimate")
    x = inp["draws"]
    values = torch.sin(x) * torch.exp(_log_normal(*inp["p"])(x) - _log_normal(*inp["q"])(x))
    close(est, float(values.mean()), 1e-9, "use the plain (not self-normalised) average of f(x) w(x)")
    close(se, float(values.std()) / math.sqrt(len(x)), 1e-6, "standard error: std of f(x_i) w_i over sqrt(n)")


# --- loglog_slope(ns, errors) -> slope ----------------------------------------------------------
LOGLOG_SLOPE = exercise(
    "loglog_slope", "least-squares slope of log(error) against log(n)",
    hints=(
        "A power law error = C n^a is a straight line on log-log axes, with slope a: take the log of both "
        "columns first.",
        "Use every point: the least-squares slope, not the line through the first and last points.",
        "Least-squares slope = covariance of (log n, log error) divided by the variance of log n; "
        "centre both by their means first.",
    ),
)


@LOGLOG_SLOPE.case(make=lambda gen: {"args": [torch.tensor([10.0, 100.0, 1000.0, 10000.0], dtype=torch.float64),
                                              float(rand(gen, 1, low=-1.5, high=-0.2))]},
                   run=lambda fn, inp: fn(inp["args"][0], 3.0 * inp["args"][0] ** inp["args"][1]))
def _exact_power_law(inp, out):
    close(to_float(out, "loglog_slope(...)"), inp["args"][1], 1e-9,
          "take logs of both n and the error, then fit a straight line")


@LOGLOG_SLOPE.case(make=lambda gen: {"args": [torch.tensor([2.0, 4.0, 8.0, 16.0, 32.0], dtype=torch.float64),
                                              rand(gen, 5, low=0.01, high=1.0)]})
def _least_squares(inp, out):
    x, y = (v.log() for v in inp["args"])
    want = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
    close(to_float(out, "loglog_slope(...)"), want, 1e-6,
          "use all points in a least-squares fit, not only the first and last")
