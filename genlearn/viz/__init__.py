"""Plots for the lessons (matplotlib). Each function returns the matplotlib Figure.

The figures are built without pyplot, so that nothing accumulates in pyplot's
figure list; inside Jupyter a returned Figure is displayed as a PNG because
importing this package registers the PNG formatter (whatever the backend).
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

__all__ = ["plot_error_vs_n", "image_grid", "interpolation_strip", "latent_scatter", "latent_traversal", "loss_curves",
           "show_reconstructions", "tile_images"]


def _register_notebook_display() -> None:
    """Let a bare ``Figure`` returned by a genlearn plot show up as an output cell in Jupyter."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
    except ImportError:  # plain Python: nothing to register
        return
    shell = get_ipython()
    if shell is not None and getattr(shell, "kernel", None) is not None:
        select_figure_formats(shell, {"png"})


_register_notebook_display()
