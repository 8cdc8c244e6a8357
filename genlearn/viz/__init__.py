"""Plots for the lessons (matplotlib). Each function returns the matplotlib Figure."""

from genlearn.viz.curves import plot_error_vs_n
