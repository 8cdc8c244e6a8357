"""Figures for discrete latents: the codebook next to a continuous latent space, code usage,
and codebook-health curves. Every function returns a matplotlib ``Figure``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = ["pca_2d", "latent_spaces", "code_usage", "codebook_health"]


def _np(x, name: str, ndim: int) -> np.ndarray:
    a = x.detach().cpu().to(torch.float64).numpy() if isinstance(x, torch.Tensor) else np.asarray(x, np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or inf")
    return a


def pca_2d(fit_rows, *others) -> list[np.ndarray]:
    """Project ``fit_rows`` (N, D) and every array in ``others`` (M, D) onto the two principal
    axes of ``fit_rows`` (centred on its mean). Returns the projections, ``(., 2)`` each."""
    a = _np(fit_rows, "rows", 2)
    if a.shape[1] < 2 or len(a) < 2:
        raise ValueError(f"need at least 2 rows of at least 2 dimensions, got {a.shape}")
    mean = a.mean(0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    axes = vt[:2].T
    out = [(a - mean) @ axes]
    for i, o in enumerate(others):
        b = _np(o, f"others[{i}]", 2)
        if b.shape[1] != a.shape[1]:
            raise ValueError(f"others[{i}] has {b.shape[1]} columns, rows have {a.shape[1]}")
        out.append((b - mean) @ axes)
    return out


def latent_spaces(mu, labels, z_e, codebook, counts, titles: Sequence[str] | None = None,
                  class_names: Sequence[str] | None = None) -> Figure:
    """Continuous vs discrete latents side by side.

    Left: VAE posterior means ``mu`` (N, 2) coloured by ``labels``: every point of the plane
    is a code. Right: encoder outputs ``z_e`` (M, D) of a VQ-VAE (grey) and its codebook
    (K, D), projected on the two principal axes of ``z_e``; a code's marker area grows with
    ``counts`` (K,) and unused codes are drawn as red crosses: only these K points are codes.
    ``class_names`` names the labels 0, 1, ... on the colour bar (default: the label numbers, "class").
    """
    m = _np(mu, "mu", 2)
    if m.shape[1] != 2:
        raise ValueError(f"mu must be (N, 2) (a 2-D latent space), got {m.shape}")
    lab = _np(labels, "labels", 1)
    if len(lab) != len(m):
        raise ValueError(f"labels must have one entry per row of mu: {len(lab)} vs {len(m)}")
    c = _np(counts, "counts", 1)
    zp, ep = pca_2d(z_e, codebook)
    if len(c) != len(ep):
        raise ValueError(f"counts must have one entry per code: {len(c)} counts, {len(ep)} codes")
    titles = titles or ("continuous: VAE latent (posterior means)", "discrete: VQ-VAE codebook (PCA)")
    fig = Figure(figsize=(10.0, 4.2))
    ax1, ax2 = fig.subplots(1, 2)
    sc = ax1.scatter(m[:, 0], m[:, 1], c=lab, cmap="tab10", s=6, alpha=0.8, vmin=-0.5, vmax=9.5)
    cbar = fig.colorbar(sc, ax=ax1, ticks=range(10), label="class")
    if class_names is not None:
        cbar.ax.set_yticklabels(list(class_names)[:10], fontsize=7)
    ax1.set_xlabel("$z_0$")
    ax1.set_ylabel("$z_1$")
    ax2.scatter(zp[:, 0], zp[:, 1], s=3, c="0.75", label="encoder outputs $z_e$")
    used = c > 0
    ax2.scatter(ep[used, 0], ep[used, 1], s=8 + 60 * c[used] / max(c.max(), 1), c="tab:blue", alpha=0.7,
                label=f"used codes ({int(used.sum())})")
    if (~used).any():
        ax2.scatter(ep[~used, 0], ep[~used, 1], marker="x", s=12, c="tab:red",
                    label=f"unused codes ({int((~used).sum())})")
    ax2.set_xlabel("principal axis 1")
    ax2.set_ylabel("principal axis 2")
    ax2.legend(fontsize=8, loc="best")
    for ax, t in zip((ax1, ax2), titles, strict=True):
        ax.set_title(t, fontsize=10)
    fig.tight_layout()
    return fig


def code_usage(counts: Mapping[str, object], title: str | None = None) -> Figure:
    """How often each code is used, codes sorted from most to least used, one line per
    model (``{name: counts (K,)}``); codes with count 0 (dead) sit on the floor of the log axis."""
    if not counts:
        raise ValueError("counts must map at least one model name to its (K,) code counts")
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.add_subplot()
    for name, cnt in counts.items():
        c = np.sort(_np(cnt, f"counts[{name!r}]", 1))[::-1]
        ax.plot(np.arange(1, len(c) + 1), np.maximum(c, 0.5), label=f"{name}: {int((c > 0).sum())} used")
    ax.set_yscale("log")
    ax.set_xlabel("code rank (most used first)")
    ax.set_ylabel("vectors assigned (0 drawn at 0.5)")
    ax.legend(fontsize=8)
    ax.set_title(title or "how often each code is used (codes sorted by use)")
    fig.tight_layout()
    return fig


def codebook_health(histories: Mapping[str, Mapping[str, Sequence[float]]], num_codes: int,
                    used_key: str = "data_used", perplexity_key: str = "data_perplexity") -> Figure:
    """Fraction of codes used and perplexity after each epoch, one line per model, from
    histories filled by :func:`genlearn.models.vqvae.codebook_tracker`."""
    if not histories:
        raise ValueError("histories must map at least one model name to its training history")
    fig = Figure(figsize=(10.0, 3.3))
    ax1, ax2 = fig.subplots(1, 2)
    for name, h in histories.items():
        for key in (used_key, perplexity_key):
            if key not in h:
                raise ValueError(f"history {name!r} has no {key!r}; train with after_epoch=codebook_tracker(x)")
        epochs = np.arange(len(h[used_key]))
        ax1.plot(epochs, h[used_key], label=name)
        ax2.plot(epochs, h[perplexity_key], label=name)
    ax1.set_ylabel("fraction of codes used")
    ax1.set_ylim(0, 1.02)
    ax2.set_ylabel("perplexity (effective codes)")
    ax2.axhline(num_codes, color="0.6", ls=":", label=f"K = {num_codes}")
    ax2.set_yscale("log")
    for ax in (ax1, ax2):
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    ax1.set_title("share of the codebook in use", fontsize=10)
    ax2.set_title("perplexity of code use", fontsize=10)
    fig.tight_layout()
    return fig
