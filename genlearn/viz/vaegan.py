"""Figures of the VAE-GAN lesson: the architecture, the encoder-before / after-generator
comparison, and the table of which loss term's gradient reaches which network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["draw_pipeline", "vaegan_diagram", "order_diagram", "routing_figure"]

_BOX = {"boxstyle": "round,pad=0.35", "fc": "#dbe9f6", "ec": "#1f4e79"}
_DATA = {"boxstyle": "round,pad=0.25", "fc": "white", "ec": "#888888"}


def draw_pipeline(ax, nodes: Mapping[str, tuple[float, float, str, bool]],
                  edges: Sequence[tuple[str, str] | tuple[str, str, str]]) -> None:
    """Draw ``nodes`` ``{key: (x, y, text, is_network)}`` (networks in blue boxes, data in white)
    and arrows ``(from, to[, label])`` on ``ax`` (axes coordinates 0..1)."""
    artists = {key: ax.text(x, y, text, ha="center", va="center", fontsize=9, bbox=_BOX if net else _DATA,
                            zorder=3)
               for key, (x, y, text, net) in nodes.items()}
    for edge in edges:
        a, b = nodes[edge[0]], nodes[edge[1]]
        # drawn after the boxes (zorder 4), so that the arrows are clipped at their up-to-date outlines
        ax.annotate("", xy=(b[0], b[1]), xytext=(a[0], a[1]), zorder=4,
                    arrowprops={"arrowstyle": "-|>", "color": "#444444", "lw": 1.2, "shrinkA": 1, "shrinkB": 1,
                                "patchA": artists[edge[0]].get_bbox_patch(),
                                "patchB": artists[edge[1]].get_bbox_patch()})
        if len(edge) == 3:
            ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.05, edge[2], ha="center", fontsize=8, color="#a33")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")


def vaegan_diagram(three_class: bool = False) -> Figure:
    """The VAE-GAN: encoder, decoder (used twice, on encoded and on prior codes) and the
    discriminator placed after the decoder, with where each loss term is measured."""
    fig = Figure(figsize=(9.5, 3.4))
    ax = fig.add_subplot()
    out = "real / recon /\ngenerated?" if three_class else "real or\nfake?"
    nodes = {
        "x": (0.03, 0.5, "$x$", False), "enc": (0.14, 0.5, "Encoder", True),
        "z": (0.29, 0.5, "$z \\sim q(z|x)$", False), "zp": (0.29, 0.1, "$z_p \\sim N(0, I)$", False),
        "dec": (0.44, 0.3, "Decoder", True), "xr": (0.59, 0.5, "$\\tilde x$ (recon)", False),
        "xp": (0.59, 0.1, "$x_p$ (sample)", False), "xreal": (0.59, 0.9, "$x$ (real)", False),
        "dis": (0.76, 0.5, "Discriminator", True), "out": (0.94, 0.5, out, False),
    }
    edges = [("x", "enc"), ("enc", "z"), ("z", "dec"), ("zp", "dec"), ("dec", "xr"), ("dec", "xp"),
             ("xr", "dis"), ("xp", "dis"), ("xreal", "dis"), ("dis", "out")]
    draw_pipeline(ax, nodes, edges)
    red = {"ha": "center", "fontsize": 8.5, "color": "#a33"}
    ax.text(0.29, 0.67, "$L_{prior} = KL(q(z|x)\\,\\|\\,N(0, I))$", **red)
    ax.text(0.85, 0.62, "$L_{GAN}$", **red)
    llike = "$L_{llike} = |Dis_l(x) - Dis_l(\\tilde x)|^2 / 2\\sigma^2$\n(layer $l$ of the discriminator)"
    ax.text(0.88, 0.2, llike, **red)
    ax.set_title(("three-class " if three_class else "") + "VAE-GAN: the discriminator after the decoder, and where "
                 "each loss term is measured", fontsize=10)
    fig.tight_layout()
    return fig


def order_diagram() -> Figure:
    """Where the encoder sits. VAE-GAN: x -> encoder -> z -> generator -> x~ (compared with x).
    GAN-VAE: z -> generator -> x -> encoder -> z^ (compared with z), one half of CycleGAN's cycle."""
    fig = Figure(figsize=(8.5, 3.0))
    top, bottom = fig.subplots(2, 1)
    draw_pipeline(top, {
        "x": (0.05, 0.5, "$x$ (data)", False), "e": (0.25, 0.5, "Encoder", True), "z": (0.45, 0.5, "$z$", False),
        "g": (0.63, 0.5, "Decoder = generator", True), "xr": (0.85, 0.5, "$\\tilde x$  vs  $x$", False),
    }, [("x", "e"), ("e", "z"), ("z", "g"), ("g", "xr")])
    top.set_title("VAE-GAN: encoder BEFORE the generator (reconstruct the image; D judges reconstructions and samples)",
                  fontsize=9)
    draw_pipeline(bottom, {
        "z": (0.05, 0.5, "$z \\sim N(0, I)$", False), "g": (0.27, 0.5, "Generator", True),
        "x": (0.47, 0.5, "$x_g$", False), "e": (0.65, 0.5, "Encoder", True),
        "zr": (0.87, 0.5, "$\\hat z$  vs  $z$", False),
    }, [("z", "g"), ("g", "x"), ("x", "e"), ("e", "zr")])
    bottom.set_title("GAN-VAE: encoder AFTER the generator (reconstruct the code; D judges generated images), "
                     "as in CycleGAN", fontsize=9)
    fig.tight_layout()
    return fig


def routing_figure(norms: Mapping[str, Mapping[str, float]], used: Mapping[str, Sequence[str]]) -> Figure:
    """Heat map of ``norms[term][group]`` (the size of the gradient each loss term *could* send to
    each network), with the cells the training step actually uses (``used[group]`` lists the
    terms) outlined and the others marked "blocked"."""
    terms = list(norms)
    groups = list(next(iter(norms.values())))
    values = np.array([[norms[t][g] for g in groups] for t in terms], dtype=float)
    fig = Figure(figsize=(6.0, 0.55 * len(terms) + 1.3))
    ax = fig.add_subplot()
    logs = np.log10(values + 1e-12)
    lo, hi = -6.0, max(float(logs.max()), -5.0)
    ax.imshow(logs, cmap="Blues", vmin=lo, vmax=hi, aspect="auto")
    for i, t in enumerate(terms):
        for j, g in enumerate(groups):
            on = t in used.get(g, ())
            text = f"{values[i, j]:.2g}" + ("" if on else "\nblocked")
            dark = np.log10(values[i, j] + 1e-12) > lo + 0.55 * (hi - lo)
            colour = ("white" if dark else "black") if on else ("#dddddd" if dark else "#333333")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
            if on:
                ax.add_patch(_rect(j, i))
    ax.set_xticks(range(len(groups)), groups)
    names = {"prior": "$L_{prior}$", "similarity": "$L_{llike}$ (similarity)", "gan": "$L_{GAN}$ (discriminator's)",
             "generator": "decoder's GAN term", "code": "code term (3 classes)"}  # the lesson's notation
    ax.set_yticks(range(len(terms)), [names.get(t, t) for t in terms])
    ax.set_xlabel("network receiving the gradient")
    ax.set_title("|d term / d weights| per network (outlined: used by the step)", fontsize=9)
    fig.tight_layout()
    return fig


def _rect(j: int, i: int):
    from matplotlib.patches import Rectangle

    return Rectangle((j - 0.48, i - 0.48), 0.96, 0.96, fill=False, ec="#c0392b", lw=2)
