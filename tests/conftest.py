"""Test-suite settings shared by unit tests and the notebook kernels nbval starts."""

import os

# Exercise checks raise instead of printing when a solution fails (nbval then fails the cell).
os.environ["GENLEARN_CHECKS_STRICT"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_sessionstart(session):
    wanted = os.environ.get("GENLEARN_REQUIRE_DEVICE")
    if wanted:  # the GPU runner sets this so a silent CPU fallback fails the run
        import genlearn

        got = genlearn.device().type
        assert got == wanted, f"GENLEARN_REQUIRE_DEVICE={wanted} but genlearn.device() is {got}"
