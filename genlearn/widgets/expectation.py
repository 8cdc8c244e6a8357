"""Lesson 02 widget: pick a method, a number of points and a distribution; see the estimate.

:func:`estimate_expectation` computes everything the widget draws; the widget
itself (:func:`expectation_explorer`) only wires sliders to it and plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from genlearn import expectation
from genlearn._validate import check_count

__all__ = [
    "Distribution", "ExpectationView", "estimate_expectation", "plot_expectation", "expectation_explorer",
]


@dataclass(frozen=True)
class Distribution:
    """A 1-D density with a sampler, a plotting range and its exact mean."""

    name: str
    pdf: Callable[[Tensor], Tensor]
    sample: Callable[[int, torch.Generator], Tensor]
    lower: float
    upper: float
    mean: float


def _normal_pdf(x: Tensor, mu: float, sigma: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _mixture_sample(n: int, gen: torch.Generator) -> Tensor:
    pick = torch.rand(n, generator=gen, dtype=torch.float64) < 0.3
    z = torch.randn(n, generator=gen, dtype=torch.float64)
    return torch.where(pick, -2.0 + 0.6 * z, 2.0 + 1.0 * z)


DISTRIBUTIONS: dict[str, Distribution] = {
    "normal N(1, 1.5^2)": Distribution(
        "normal N(1, 1.5^2)",
        lambda x: _normal_pdf(x, 1.0, 1.5),
        lambda n, g: 1.0 + 1.5 * torch.randn(n, generator=g, dtype=torch.float64),
        -6.5, 8.5, 1.0,
    ),
    "exponential (rate 1)": Distribution(
        "exponential (rate 1)",
        lambda x: torch.where(x >= 0, torch.exp(-x.clamp(min=0)), torch.zeros_like(x)),
        lambda n, g: -torch.log1p(-torch.rand(n, generator=g, dtype=torch.float64)),
        0.0, 25.0, 1.0,
    ),
    "bimodal mixture": Distribution(
        "bimodal mixture",
        lambda x: 0.3 * _normal_pdf(x, -2.0, 0.6) + 0.7 * _normal_pdf(x, 2.0, 1.0),
        _mixture_sample,
        -6.0, 8.0, 0.3 * -2.0 + 0.7 * 2.0,
    ),
}

METHODS = ("riemann", "trapezoid", "monte carlo")


@dataclass
class ExpectationView:
    """What the widget shows: the estimate of E[x], its error and the points used."""

    method: str
    distribution: str
    n: int
    estimate: float
    exact: float
    points: Tensor
    stderr: float | None = None

    @property
    def error(self) -> float:
        return abs(self.estimate - self.exact)


def estimate_expectation(method: str, n: int, distribution: str, seed: int = 0) -> ExpectationView:
    """Estimate E[x] with ``method`` ('riemann', 'trapezoid' or 'monte carlo') from ``n`` points."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {list(DISTRIBUTIONS)}, got {distribution!r}")
    dist = DISTRIBUTIONS[distribution]
    n = check_count(n, "n", minimum=2)
    identity = lambda x: x  # noqa: E731
    if method == "monte carlo":
        gen = torch.Generator().manual_seed(seed)
        points = dist.sample(n, gen)
        est = expectation.monte_carlo(identity, lambda k: points, n)
        return ExpectationView(method, distribution, n, float(est.value), dist.mean, points, float(est.stderr))
    points = torch.linspace(dist.lower, dist.upper, n, dtype=torch.float64)
    rule = expectation.riemann if method == "riemann" else expectation.trapezoid
    value = float(rule(identity, dist.pdf, points))
    return ExpectationView(method, distribution, n, value, dist.mean, points)


def plot_expectation(view: ExpectationView, ax=None):
    """Density, the points used (grid ticks or samples) and the estimate against the truth."""
    import matplotlib.pyplot as plt

    dist = DISTRIBUTIONS[view.distribution]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    x = torch.linspace(dist.lower, dist.upper, 600, dtype=torch.float64)
    ax.plot(x, dist.pdf(x), color="0.3", label="p(x)")
    shown = view.points[:400]
    ax.plot(shown, torch.zeros_like(shown), "|", color="C0", ms=14, alpha=0.6,
            label="samples" if view.method == "monte carlo" else "grid points")
    ax.axvline(view.exact, color="C2", lw=2, label=f"exact E[x] = {view.exact:.4f}")
    ax.axvline(view.estimate, color="C3", ls="--", lw=2, label=f"estimate = {view.estimate:.4f}")
    extra = f", std. error {view.stderr:.3g}" if view.stderr is not None else ""
    ax.set_title(f"{view.method}, n = {view.n}: |error| = {view.error:.2e}{extra}")
    ax.set_xlabel("x")
    ax.legend(loc="upper right", fontsize=8)
    return ax.figure


def expectation_explorer():
    """ipywidgets: method, number of points and distribution -> plot of the estimate."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(method: str, n: int, distribution: str, seed: int):
        fig = plot_expectation(estimate_expectation(method, n, distribution, seed))
        plt.show()
        return fig

    return w.interactive(
        show,
        method=w.Dropdown(options=METHODS, value="monte carlo", description="method"),
        n=w.IntSlider(value=50, min=2, max=2000, step=1, description="points n", continuous_update=False),
        distribution=w.Dropdown(options=list(DISTRIBUTIONS), description="p(x)"),
        seed=w.IntSlider(value=0, min=0, max=20, description="seed", continuous_update=False),
    )
