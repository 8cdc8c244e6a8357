"""Interactive widgets for the lessons.

Every widget is a thin ipywidgets layer over plain functions (in the same
modules) that compute what is drawn; those functions have unit tests, so the
widgets are tested without a browser.
"""

from genlearn.widgets.expectation import estimate_expectation, expectation_explorer
from genlearn.widgets.kl import kl_explorer, kl_view, mc_spread, mc_spread_explorer
