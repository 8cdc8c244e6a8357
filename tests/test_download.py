"""genlearn.data.download and `genlearn data fetch` against a loopback HTTP server (never the internet).

The server serves synthetic IDX gz files under several prefixes, each a kind of mirror:
/good/ (the right bytes), /bad/ (other bytes), /trunc/ (half the bytes, full Content-Length),
/missing/ (404). It counts the requests it answers.
"""

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch

from genlearn.data import (
    DATASETS,
    MNIST_FILES,
    DataNotFoundError,
    DownloadError,
    cache_dir,
    download,
    load_mnist,
    write_idx,
)
from genlearn.data.download import sha256_file, verify

ROOT = Path(__file__).resolve().parent.parent
UNREACHABLE = "http://127.0.0.1:1/"  # nothing listens on port 1: connection refused at once


def _synthetic_files(folder: Path, seed: int = 0) -> dict[str, bytes]:
    """The four MNIST file names (.gz) with small synthetic contents: name -> bytes."""
    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", 6), ("t10k", 4)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            out[name] = write_idx(folder / name, array).read_bytes()
    return out


class _Server:
    def __init__(self, files: dict[str, bytes], other: dict[str, bytes]):
        self.requests: list[str] = []
        routes = {}
        for name, body in files.items():
            routes[f"/good/{name}"] = (body, len(body))
            routes[f"/trunc/{name}"] = (body[: len(body) // 2], len(body))
            routes[f"/bad/{name}"] = (other[name], len(other[name]))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if self.path not in routes:
                    self.send_error(404, "Not Found")
                    return
                body, length = routes[self.path]
                self.send_response(200)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, prefix: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{prefix}/"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def files(tmp_path):
    return _synthetic_files(tmp_path / "source")


@pytest.fixture
def checksums(files):
    return {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}


@pytest.fixture
def server(files, tmp_path):
    srv = _Server(files, _synthetic_files(tmp_path / "other", seed=1))
    yield srv
    srv.close()



def _get(root, server, checksums, *prefixes, **kwargs):
    mirrors = [server.url(p) if "://" not in p else p for p in prefixes]
    return download("mnist", root, mirrors=mirrors, checksums=checksums, progress=False, timeout=10, **kwargs)


def _assert_clean(folder: Path, expected_names=()):
    """Only the expected final names in folder: no temporary or partial files."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected_names)


# --------------------------------------------------------------------------------- the table


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_built_in_table_has_a_sha256_for_each_of_the_four_files(name):
    ds = DATASETS[name]
    assert set(ds.checksums) == {f"{stem}.gz" for pair in MNIST_FILES.values() for stem in pair}
    for digests in ds.checksums.values():
        assert digests and all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)
    assert len(ds.mirrors) >= 2 and all(m.startswith(("http://", "https://")) for m in ds.mirrors)


def test_debian_files_match_the_built_in_table():
    folder = DATASETS["fashion-mnist"].system_dir
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"Debian's dataset-fashion-mnist is not installed ({folder})")
    for name, digests in DATASETS["fashion-mnist"].checksums.items():
        assert verify(folder / name, digests), name


# ------------------------------------------------------------------------------ the downloader


def test_download_writes_verified_files_that_the_loader_reads(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    assert _get(root, server, checksums, "good") == root
    _assert_clean(root, files)
    for name, body in files.items():
        assert (root / name).read_bytes() == body
    assert len(server.requests) == 4
    x, y = load_mnist("test", root=root)
    assert x.shape == (4, 1, 28, 28) and y.dtype == torch.int64


def test_wrong_checksum_on_first_mirror_then_second_mirror(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    _get(root, server, checksums, "bad", "good")
    _assert_clean(root, files)
    assert all(sha256_file(root / n) == checksums[n] for n in files)
    assert sum(r.startswith("/bad/") for r in server.requests) == 4  # asked for every file, rejected each


def test_truncated_file_is_rejected_and_the_next_mirror_used(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    with pytest.raises(DownloadError, match="truncated"):
        _get(root, server, checksums, "trunc")
    _assert_clean(root)
    _get(root, server, checksums, "trunc", "good")
    _assert_clean(root, files)


def test_404_is_reported_and_the_next_mirror_used(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    with pytest.raises(DownloadError, match="HTTP 404"):
        _get(root, server, checksums, "missing")
    _get(root, server, checksums, "missing", "good")
    _assert_clean(root, files)


def test_all_mirrors_failing_names_each_and_leaves_nothing(tmp_path, server, checksums):
    root = tmp_path / "mnist"
    with pytest.raises(DownloadError) as err:
        _get(root, server, checksums, "missing", "bad", "trunc", UNREACHABLE)
    msg = str(err.value)
    for prefix in ("missing", "bad", "trunc"):
        assert server.url(prefix) in msg
    assert UNREACHABLE in msg and "HTTP 404" in msg and "SHA-256 mismatch" in msg and "truncated" in msg
    assert "unreachable" in msg and "by hand" in msg and "$GENLEARN_DATA/mnist" in msg
    assert isinstance(err.value, DataNotFoundError) and isinstance(err.value, FileNotFoundError)
    _assert_clean(root)  # no final name, no temporary file


def test_unreachable_mirror_is_not_asked_again_for_later_files(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    _get(root, server, checksums, UNREACHABLE, "good")
    _assert_clean(root, files)


def test_valid_cache_makes_no_request(tmp_path, server, files, checksums, isolated):
    folder = _get(None, server, checksums, "good")
    assert folder == cache_dir("mnist") == isolated / "cache" / "genlearn" / "mnist"
    server.requests.clear()
    _get(None, server, checksums, "good")
    assert server.requests == []


def test_only_missing_or_corrupt_files_are_fetched(tmp_path, server, files, checksums):
    root = tmp_path / "mnist"
    _get(root, server, checksums, "good")
    (root / "t10k-images-idx3-ubyte.gz").unlink()
    (root / "train-labels-idx1-ubyte.gz").write_bytes(b"corrupt")
    server.requests.clear()
    _get(root, server, checksums, "good")
    assert sorted(server.requests) == ["/good/t10k-images-idx3-ubyte.gz", "/good/train-labels-idx1-ubyte.gz"]
    assert all(verify(root / n, checksums[n]) for n in files)


def test_bad_mirror_arguments_are_value_errors(tmp_path, checksums):
    with pytest.raises(ValueError, match="http"):
        download("mnist", tmp_path, mirrors=["ftp://example.org/"], checksums=checksums)
    with pytest.raises(ValueError, match="at least one"):
        download("mnist", tmp_path, mirrors=[], checksums=checksums)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        download("cifar", tmp_path)


def test_loader_download_true_fetches_into_the_cache(server, checksums, isolated, monkeypatch):
    mnist = dataclasses.replace(DATASETS["mnist"], mirrors=(server.url("good"),), checksums=checksums)
    monkeypatch.setitem(DATASETS, "mnist", mnist)
    with pytest.raises(DataNotFoundError):
        load_mnist("train")  # nothing downloaded without asking
    assert server.requests == []
    x, _ = load_mnist("train", download=True)
    assert x.shape == (6, 1, 28, 28) and len(server.requests) == 4
    assert (isolated / "cache" / "genlearn" / "mnist" / "train-images-idx3-ubyte.gz").is_file()
    load_mnist("test", download=True)  # now found: no request
    assert len(server.requests) == 4


# ------------------------------------------------------------------------------------- the CLI


def test_cli_fetch_with_unreachable_mirror_fails_with_the_way_out(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "GENLEARN_DEVICE": "cpu"}
    out = subprocess.run(
        [sys.executable, "-m", "genlearn", "data", "fetch", "fashion-mnist", "--root", str(tmp_path / "fm"),
         "--mirror", UNREACHABLE, "--quiet"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr, out.stderr
    assert UNREACHABLE in out.stderr and "apt-get install dataset-fashion-mnist" in out.stderr
    assert out.stderr.startswith("genlearn data fetch: error: fashion-mnist: could not download")
    _assert_clean(tmp_path / "fm")


def test_cli_fetch_keeps_valid_copies_without_a_request(tmp_path, server):
    # the built-in table's checksums are those of the real files: copies of Debian's files are valid
    root = tmp_path / "fm"
    root.mkdir()
    for name, digests in DATASETS["fashion-mnist"].checksums.items():
        src = DATASETS["fashion-mnist"].system_dir / name
        if not verify(src, digests):
            pytest.skip("needs Debian's dataset-fashion-mnist for real files")
        (root / name).write_bytes(src.read_bytes())
    env = {**os.environ, "GENLEARN_DEVICE": "cpu"}
    out = subprocess.run(
        [sys.executable, "-m", "genlearn", "data", "fetch", "fashion", "--root", str(root),
         "--mirror", server.url("good")],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "verified" in out.stdout and server.requests == []


def test_cli_ensure_and_where_find_genlearn_data_without_network(tmp_path, files):
    folder = tmp_path / "data" / "fashion-mnist"
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    env = {**os.environ, "GENLEARN_DATA": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "GENLEARN_DEVICE": "cpu"}

    def genlearn(*args):
        return subprocess.run([sys.executable, "-m", "genlearn", "data", *args], capture_output=True, text=True,
                              cwd=ROOT, env=env, timeout=120)

    out = genlearn("ensure", "fashion")
    assert out.returncode == 0 and out.stdout.strip() == f"fashion-mnist: {folder}", out.stderr
    out = genlearn("where", "fashion-mnist")
    assert out.returncode == 0, out.stderr
    assert f"* $GENLEARN_DATA/fashion-mnist: {folder} (train+test)" in out.stdout
    assert not (tmp_path / "cache").exists()  # nothing downloaded, nothing created
