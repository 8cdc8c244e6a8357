"""Settings of every pytest run of the course (unit tests, lessons, solutions), and the figure audit."""

import os

import pytest

# Exercise checks raise instead of printing when a solution fails (nbval then fails the cell).
os.environ["GENLEARN_CHECKS_STRICT"] = "1"
# The notebook kernels draw with the inline backend, as for a student (so every figure a lesson shows
# reaches the figure audit below); the inline backend renders with Agg and needs no display.
INLINE = "module://matplotlib_inline.backend_inline"
if os.environ.get("MPLBACKEND", "Agg").lower() == "agg":
    os.environ["MPLBACKEND"] = INLINE


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The figure audit (issue 25): a notebook cell that shows a figure without alt text fails. genlearn's
    PNG formatter (genlearn.viz) writes alt text for every figure with a title, so a figure without one is
    a figure without a title."""
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)
    if call.when != "call" or report.outcome != "passed" or not outputs:
        return
    bare = [i for i, out in enumerate(outputs) if "image/png" in (out.get("data") or {})
            and not ((out.get("metadata") or {}).get("image/png") or {}).get("alt")]
    if bare:
        report.outcome = "failed"
        source = getattr(getattr(item, "cell", None), "source", "")
        report.longrepr = (f"{item.nodeid}: {len(bare)} figure(s) shown without a title, so without alt text "
                           "(give the figure a title; genlearn.viz.set_alt for a better description). The cell:\n"
                           + "\n".join(source.splitlines()[:12]))
