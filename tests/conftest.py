"""Test-suite settings shared by unit tests and the notebook kernels nbval starts."""

import os

import pytest


def pytest_sessionstart(session):
    wanted = os.environ.get("GENLEARN_REQUIRE_DEVICE")
    if wanted:  # the GPU runner sets this so a silent CPU fallback fails the run
        import genlearn

        got = genlearn.device().type
        assert got == wanted, f"GENLEARN_REQUIRE_DEVICE={wanted} but genlearn.device() is {got}"


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread for a module of tiny-tensor tests (fastest, and no oversubscription on a
    busy CI machine); ``pytestmark = pytest.mark.usefixtures("one_thread")`` asks for it."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """GENLEARN_DATA (tmp/data), the cache (tmp/cache/genlearn) and the Debian folder (tmp/debian) of
    the data tests, all inside tmp_path: nothing on the machine is read or written."""
    import dataclasses

    from genlearn.data import DATASETS

    monkeypatch.setenv("GENLEARN_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    fashion = dataclasses.replace(DATASETS["fashion-mnist"], system_dir=tmp_path / "debian")
    monkeypatch.setitem(DATASETS, "fashion-mnist", fashion)
    return tmp_path
