"""Lesson 03 widgets: KL between N(mu, sigma^2) and N(0, 1), and the spread of Monte Carlo estimates.

:func:`kl_view` and :func:`mc_spread` compute what is drawn; the widgets only
wire sliders to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genlearn import kl as K
from genlearn._validate import check_count


@dataclass
class KLView:
    """Both densities on a grid, and KL in both directions."""

    mu: float
    sigma: float
    x: Tensor
    p: Tensor
    q: Tensor
    kl_pq: float
    kl_qp: float


def kl_view(mu: float, sigma: float) -> KLView:
    """p = N(mu, sigma^2), q = N(0, 1): densities on a grid covering both, KL(p||q) and KL(q||p)."""
    kl_pq = K.kl_normal(float(mu), float(sigma))  # validates mu and sigma
    kl_qp = K.kl_normal(0.0, 1.0, float(mu), float(sigma))
    lo = min(-4.0, mu - 4 * sigma)
    hi = max(4.0, mu + 4 * sigma)
    x = torch.linspace(lo, hi, 800, dtype=torch.float64)
    p = K.normal_logpdf(mu, sigma)(x).exp()
    q = K.normal_logpdf(0.0, 1.0)(x).exp()
    return KLView(float(mu), float(sigma), x, p, q, kl_pq, kl_qp)


def plot_kl(view: KLView, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(view.x, view.q, color="0.3", label="q = N(0, 1)")
    ax.plot(view.x, view.p, color="C0", label=f"p = N({view.mu:.2f}, {view.sigma:.2f}^2)")
    ax.fill_between(view.x, view.p, alpha=0.2, color="C0")
    ax.set_title(f"KL(p||q) = {view.kl_pq:.4f} nats,  KL(q||p) = {view.kl_qp:.4f} nats")
    ax.set_xlabel("x")
    ax.set_ylim(0, min(float(view.p.max()), 2.5) * 1.1 + 0.05)
    ax.legend(fontsize=8)
    return ax.figure


def kl_explorer():
    """ipywidgets: mu and sigma sliders -> both densities and the KL value."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(mu: float, sigma: float):
        fig = plot_kl(kl_view(mu, sigma))
        plt.show()
        return fig

    return w.interactive(
        show,
        mu=w.FloatSlider(value=1.0, min=-4.0, max=4.0, step=0.1, description="mu", continuous_update=False),
        sigma=w.FloatSlider(value=0.5, min=0.1, max=3.0, step=0.05, description="sigma",
                            continuous_update=False),
    )


@dataclass
class MCSpread:
    """Many independent Monte Carlo estimates of KL(p||q) with n samples each."""

    n: int
    estimates: Tensor
    exact: float

    @property
    def spread(self) -> float:
        """Standard deviation of the estimates around their mean."""
        return float(self.estimates.std(unbiased=True))


def mc_spread(mu: float, sigma: float, n: int, repeats: int = 300, seed: int = 0) -> MCSpread:
    """``repeats`` Monte Carlo estimates of KL(N(mu, sigma^2) || N(0, 1)), each from ``n`` samples."""
    n = check_count(n, "n")
    repeats = check_count(repeats, "repeats", minimum=2)
    exact = K.kl_normal(float(mu), float(sigma))
    gen = torch.Generator().manual_seed(seed)
    x = mu + sigma * torch.randn(repeats, n, generator=gen, dtype=torch.float64)
    log_ratio = K.normal_logpdf(mu, sigma)(x) - K.normal_logpdf(0.0, 1.0)(x)
    return MCSpread(n, log_ratio.mean(dim=1), exact)


def plot_mc_spread(result: MCSpread, ax=None):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(result.estimates, bins=30, color="C0", alpha=0.7, label=f"{len(result.estimates)} estimates")
    ax.axvline(result.exact, color="C3", lw=2, label=f"exact KL = {result.exact:.4f}")
    ax.set_title(f"n = {result.n} samples each: spread (std) = {result.spread:.4f}")
    ax.set_xlabel("Monte Carlo estimate of KL(p||q)")
    ax.legend(fontsize=8)
    return ax.figure


def mc_spread_explorer(mu: float = 1.0, sigma: float = 0.5):
    """ipywidgets: a sample-count slider -> histogram of Monte Carlo estimates around the exact KL."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    def show(log10_n: float):
        fig = plot_mc_spread(mc_spread(mu, sigma, int(round(10**log10_n))))
        plt.show()
        return fig

    return w.interactive(
        show,
        log10_n=w.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.25, description="log10 n",
                              continuous_update=False),
    )


__all__ = [
    "KLView", "kl_view", "plot_kl", "kl_explorer",
    "MCSpread", "mc_spread", "plot_mc_spread", "mc_spread_explorer",
]
