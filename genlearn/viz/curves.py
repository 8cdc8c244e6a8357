"""Line plots: error against sample size on log-log axes, and loss curves."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from genlearn.expectation import loglog_slope

__all__ = ["plot_error_vs_n"]


def plot_error_vs_n(ns: Sequence[float], errors: Mapping[str, Sequence[float]], ax=None,
                    reference: Mapping[str, float] | None = None, xlabel: str = "number of points n",
                    title: str = "error against the number of points (log-log; slopes in the legend)"):
    """Log-log plot of each method's error against n; the legend shows each fitted slope.

    ``reference`` maps a label to a slope drawn as a dashed guide line through the first point.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    ns_arr = np.asarray(ns, dtype=float)
    for i, (label, err) in enumerate(errors.items()):
        slope = loglog_slope(ns_arr, np.asarray(err, dtype=float))
        ax.loglog(ns_arr, err, "o-", color=f"C{i}", label=f"{label} (slope {slope:+.2f})")
    for label, slope in (reference or {}).items():
        first = next(iter(errors.values()))[0]
        ax.loglog(ns_arr, first * (ns_arr / ns_arr[0]) ** slope, "k--", lw=1, alpha=0.6, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("absolute error")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    return ax.figure
