"""Plots for the lessons (matplotlib). Each function returns the matplotlib Figure.

The figures are built without pyplot, so that nothing accumulates in pyplot's
figure list; inside Jupyter a returned Figure is displayed as a PNG because
importing this package registers the PNG formatter (whatever the backend).

Every figure a notebook shows (genlearn's and pyplot's) carries **alt text** in its output's
metadata (``metadata["image/png"]["alt"]``), which the course site puts on the ``<img>``: the text
set with :func:`set_alt`, else one composed from the figure's title, panel titles, axis labels and
legend (:func:`alt_text`). A figure with no title gets none, and the test suite fails on it.
"""

from genlearn.viz.curves import plot_error_vs_n
from genlearn.viz.images import (
    image_grid,
    interpolation_strip,
    latent_scatter,
    latent_traversal,
    loss_curves,
    show_reconstructions,
    tile_images,
)

__all__ = ["alt_text", "set_alt", "plot_error_vs_n", "image_grid", "interpolation_strip", "latent_scatter",
           "latent_traversal", "loss_curves",
           "show_reconstructions", "tile_images"]


def set_alt(fig, text: str):
    """Give ``fig`` the alt text ``text`` (what a screen reader says instead of the picture); returns ``fig``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"alt text must be a non-empty string, got {text!r}")
    fig.genlearn_alt = text.strip()
    return fig


def _titles(fig) -> tuple[str, list[str]]:
    sup = fig._suptitle.get_text().strip() if getattr(fig, "_suptitle", None) is not None else ""
    panels = [t for ax in fig.axes for t in (ax.get_title(), ax.get_title("left"), ax.get_title("right")) if t.strip()]
    return sup, panels


def alt_text(fig) -> str | None:
    """The alt text of ``fig``: :func:`set_alt`'s, else the title, the panels' titles, axis labels and legend
    entries in one sentence each; None when the figure has no title at all (it says nothing then)."""
    given = getattr(fig, "genlearn_alt", None)
    sup, panels = _titles(fig)
    if not (sup or panels):
        return None
    if given:
        return given
    parts = [f"Figure: {sup}." if sup else "Figure."]
    for ax in fig.axes:
        title = ax.get_title().strip()
        labels = [f"{name} axis: {lab}" for name, lab in (("x", ax.get_xlabel()), ("y", ax.get_ylabel()))
                  if lab.strip()]
        legend = ax.get_legend()
        keys = [t.get_text() for t in legend.get_texts()] if legend is not None else []
        if title or labels or keys:
            said = [f"Panel '{title}'" if title else "Panel", f"({'; '.join(labels)})" if labels else "",
                    f"legend: {', '.join(keys)}" if keys else ""]
            parts.append(" ".join(filter(None, said)) + ".")
    return " ".join(parts)


def _png_with_alt(fig):
    """The inline backend's PNG (tight bounding box), with the alt text in the output's metadata."""
    from IPython.core.pylabtools import print_figure

    data = print_figure(fig, "png", bbox_inches="tight")
    alt = alt_text(fig)
    return (data, {"alt": alt}) if alt else data


def _register_notebook_display() -> None:
    """Let a bare ``Figure`` show up as an output cell in Jupyter, with its alt text (module docstring)."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return
    import matplotlib
    from matplotlib.figure import Figure

    if "inline" in str(matplotlib.rcParams._get_backend_or_none() or ""):
        import matplotlib.pyplot as plt  # the inline backend configures IPython when it loads: let it, then override

        plt.switch_backend(matplotlib.get_backend())
    select_figure_formats(shell, {"png"})
    shell.display_formatter.formatters["image/png"].for_type(Figure, _png_with_alt)


_register_notebook_display()
