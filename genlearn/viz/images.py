"""Figures for images and latent spaces. Every function returns a matplotlib ``Figure``
(nothing is shown; in a notebook the figure displays itself as the cell's value).

Images may be tensors or arrays shaped ``(N, C, H, W)``, ``(N, H, W)`` (grey) with
values in [0, 1]; 1 or 3 channels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

__all__ = [
    "image_grid",
    "show_reconstructions",
    "latent_scatter",
    "interpolation_strip",
    "latent_traversal",
    "loss_curves",
    "tile_images",
]


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().to(torch.float32).numpy()
    return np.asarray(x, dtype=np.float32)


def _images(images, name: str = "images") -> np.ndarray:
    """``(N, H, W, C)`` float array with C in {1, 3}."""
    a = _to_numpy(images)
    if a.ndim == 3:
        a = a[:, None]
    if a.ndim != 4 or a.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have shape (N, C, H, W) with C = 1 or 3, or (N, H, W); got {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} is empty")
    return a.transpose(0, 2, 3, 1)


def tile_images(images, ncols: int | None = None, pad: int = 1, pad_value: float = 1.0) -> np.ndarray:
    """Tile ``N`` images into one array ``(rows*(H+pad)-pad, cols*(W+pad)-pad, C)``, row-major."""
    a = _images(images)
    n, h, w, c = a.shape
    ncols = ncols or math.ceil(math.sqrt(n))
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1, got {ncols}")
    nrows = math.ceil(n / ncols)
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad, c), pad_value, dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, ncols)
        out[r * (h + pad) : r * (h + pad) + h, col * (w + pad) : col * (w + pad) + w] = a[i]
    return out


def _show(ax, tiled: np.ndarray, vmin: float = 0.0, vmax: float = 1.0) -> None:
    if tiled.shape[-1] == 1:
        ax.imshow(tiled[..., 0], cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    else:
        ax.imshow(np.clip(tiled, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(images, ncols: int | None = None, title: str | None = None, scale: float = 0.6) -> Figure:
    """All images in one grid (``ncols`` per row, default about square), titled (default: how many)."""
    tiled = tile_images(images, ncols)
    h, w = tiled.shape[:2]
    size = max(2.0, scale * 8 * max(h, w) / max(_images(images).shape[1:3]) / 4)
    title = title or f"{len(_images(images))} images"
    fig = Figure(figsize=(size * w / max(h, w), size * h / max(h, w) + 0.3))
    ax = fig.add_subplot()
    _show(ax, tiled)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def show_reconstructions(x, x_hat, n: int = 10, labels: Sequence[str] = ("input", "reconstruction"),
                         title: str = "inputs (top row) and their reconstructions (bottom row)") -> Figure:
    """The first ``n`` inputs (top row) above their reconstructions (bottom row), titled."""
    a, b = _images(x, "x"), _images(x_hat, "x_hat")
    if a.shape != b.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {a.shape} and {b.shape}")
    n = min(n, len(a))
    fig = Figure(figsize=(max(3.0, 0.8 * n), 2.3))
    axes = fig.subplots(2, 1)
    for ax, imgs, label in zip(axes, (a[:n], b[:n]), labels, strict=True):
        _show(ax, tile_images(imgs.transpose(0, 3, 1, 2), ncols=n))
        ax.set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def image_rows(rows: Mapping[str, object], n: int = 10, title: str | None = None) -> Figure:
    """One labelled row of ``n`` images per entry of ``rows`` (label -> images ``(N, C, H, W)``), top to
    bottom in the mapping's order, with an optional ``title``."""
    if not rows:
        raise ValueError("rows is empty; expected {label: images}")
    arrays = {label: _images(imgs, label)[:n] for label, imgs in rows.items()}
    n = min(len(a) for a in arrays.values())
    fig = Figure(figsize=(max(3.0, 0.8 * n + 1.2), 0.85 * len(arrays) + (0.4 if title else 0.1)))
    axes = fig.subplots(len(arrays), 1, squeeze=False)[:, 0]
    for ax, (label, imgs) in zip(axes, arrays.items(), strict=True):
        _show(ax, tile_images(imgs[:n].transpose(0, 3, 1, 2), ncols=n))
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title or "rows of images: " + ", ".join(arrays), fontsize=10)
    fig.tight_layout()
    return fig


def latent_scatter(z, labels=None, dims: tuple[int, int] = (0, 1), title: str | None = None,
                   s: float = 6.0, label_name: str = "label") -> Figure:
    """Codes ``z`` (N, d) as points in the plane of latent dimensions ``dims``, coloured by label (the
    colour bar is called ``label_name``, e.g. "digit" or "garment class"); titled (default: what it shows)."""
    a = _to_numpy(z)
    if a.ndim != 2 or a.shape[1] < 2:
        raise ValueError(f"z must have shape (N, d) with d >= 2, got {a.shape}")
    i, j = dims
    if not (0 <= i < a.shape[1] and 0 <= j < a.shape[1]):
        raise ValueError(f"dims {dims} out of range for z with {a.shape[1]} dimensions")
    fig = Figure(figsize=(4.5, 4.0))
    ax = fig.add_subplot()
    if labels is None:
        ax.scatter(a[:, i], a[:, j], s=s, alpha=0.7)
    else:
        lab = _to_numpy(labels).reshape(-1)
        if len(lab) != len(a):
            raise ValueError(f"labels must have one entry per code: {len(lab)} labels, {len(a)} codes")
        sc = ax.scatter(a[:, i], a[:, j], c=lab, cmap="tab10", s=s, alpha=0.8)
        fig.colorbar(sc, ax=ax, label=label_name)
    ax.set_xlabel(f"$z_{i}$")
    ax.set_ylabel(f"$z_{j}$")
    ax.set_title(title or f"codes in latent dimensions {i} and {j}" + (f", coloured by {label_name}"
                                                                      if labels is not None else ""))
    fig.tight_layout()
    return fig


def interpolation_strip(frames, ts: Sequence[float] | None = None, title: str | None = None) -> Figure:
    """Frames ``(T, C, H, W)`` in one row, optionally labelled with their ``t`` values; titled."""
    a = _images(frames, "frames")
    title = title or f"{len(a)} frames along a path between two codes, left to right"
    fig = Figure(figsize=(max(3.0, 0.8 * len(a)), 1.7))
    axes = np.atleast_1d(fig.subplots(1, len(a)))
    for k, ax in enumerate(axes):
        _show(ax, a[k])
        if ts is not None:
            ax.set_xlabel(f"{ts[k]:.2g}", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def latent_traversal(grid, values: Sequence[float] | None = None, dims: Sequence[int] | None = None,
                     title: str = "latent traversal: each row varies one latent dimension, the others fixed") -> Figure:
    """Images ``(n_dims, n_values, C, H, W)``: row ``r`` varies latent ``dims[r]`` over ``values``
    (from :func:`genlearn.widgets.traverse`); titled."""
    a = _to_numpy(grid)
    if a.ndim == 4:
        a = a[:, :, None]
    if a.ndim != 5:
        raise ValueError(f"grid must have shape (n_dims, n_values, C, H, W), got {a.shape}")
    rows, cols = a.shape[:2]
    tiled = tile_images(a.reshape(rows * cols, *a.shape[2:]), ncols=cols)
    fig = Figure(figsize=(max(3.0, 0.6 * cols), max(1.5, 0.6 * rows)))
    ax = fig.add_subplot()
    _show(ax, tiled)
    h, w = a.shape[3:5]
    if dims is not None:
        ax.set_yticks([r * (h + 1) + h / 2 for r in range(rows)], [f"$z_{{{d}}}$" for d in dims])
    if values is not None:
        ax.set_xticks([c * (w + 1) + w / 2 for c in range(cols)], [f"{v:.2g}" for v in values], fontsize=8)
        ax.set_xlabel("value of the varied dimension")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def loss_curves(history: Mapping[str, Sequence[float]], keys: Sequence[str] | None = None,
                logy: bool = False, title: str | None = None) -> Figure:
    """One line per loss term of a :func:`genlearn.train.fit` history (``seconds`` skipped)
    against the epoch; validation terms (``val_...``) dashed in the same colour."""
    keys = [k for k in history if k != "seconds"] if keys is None else list(keys)
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}")
    fig = Figure(figsize=(5.0, 3.2))
    ax = fig.add_subplot()
    colours: dict[str, str] = {}
    for k in keys:
        base = k.removeprefix("val_")
        style = "--" if k.startswith("val_") else "-"
        (line,) = ax.plot(range(1, len(history[k]) + 1), history[k], style, label=k, color=colours.get(base))
        colours.setdefault(base, line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per example")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    dashed = " (dashed: validation)" if any(k.startswith("val_") for k in keys) else ""
    ax.set_title(title or "training loss per epoch" + dashed)
    fig.tight_layout()
    return fig
