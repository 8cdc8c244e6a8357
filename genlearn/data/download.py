"""Download MNIST / Fashion-MNIST into the cache, checked against SHA-256 values in the code.

    download("fashion-mnist")                  # into the OS's cache folder (genlearn.data.cache_dir)
    download("mnist", root="data/mnist", mirrors=["https://example.org/mnist/"])

For each of the four files: a copy already there whose SHA-256 matches is kept (no
request). Otherwise the mirrors are tried in order; each download goes to a temporary
file in the target folder, is checked (complete, right SHA-256), and only then renamed
to its final name, so a file under its final name is always a verified one. A mirror
that cannot be reached is not asked again for the next files. When every mirror fails,
:class:`DownloadError` names each one with its reason and says how to install by hand.

The transfer and its progress bar are pooch's (``pooch.HTTPDownloader``, the downloader of
scikit-image's and SciPy's data sets) and the hashing is ``pooch.file_hash``; what pooch does not
do is here: several mirrors per file, a set of accepted digests (Debian's copies differ in
compression), the reason per mirror, and ``file:`` mirrors (a local folder).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from genlearn.data.sources import DataNotFoundError, cache_dir, dataset, how_to_get

__all__ = ["download", "verify", "sha256_file", "DownloadError"]

class DownloadError(DataNotFoundError):
    """No mirror delivered a file with the expected SHA-256; the message lists each mirror tried."""


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in chunks (``pooch.file_hash``)."""
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def verify(path: str | os.PathLike, expected: str | Sequence[str]) -> bool:
    """True if ``path`` is a file whose SHA-256 is ``expected`` (or one of them)."""
    accepted = {expected} if isinstance(expected, str) else set(expected)
    return Path(path).is_file() and sha256_file(path) in accepted


class _MirrorFailed(Exception):
    """One mirror did not deliver one file (the message is the reason)."""


def _fetch(url: str, dest: Path, accepted: set[str], timeout: float, progress: bool) -> None:
    """Download ``url`` to a temporary file beside ``dest`` (pooch's HTTP downloader, or a copy for a
    ``file:`` URL); check its SHA-256; rename it to ``dest``."""
    import pooch

    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if url.startswith("file:"):
            shutil.copyfile(urllib.request.url2pathname(urllib.parse.urlparse(url).path), tmp)
        else:
            download = pooch.HTTPDownloader(progressbar=progress, timeout=timeout,
                                            headers={"User-Agent": "genlearn (pooch)"})
            download(url, str(tmp), None)
        digest = sha256_file(tmp)
        if digest not in accepted:
            raise _MirrorFailed(f"SHA-256 mismatch: got {digest}, expected {' or '.join(sorted(accepted))}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _reason(err: BaseException) -> tuple[str, bool]:
    """A short reason for a failed request, and whether the whole mirror is unreachable."""
    import requests

    if isinstance(err, _MirrorFailed):
        return str(err), False
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}", False
    if isinstance(err, requests.exceptions.ChunkedEncodingError):  # fewer bytes than Content-Length
        return f"truncated: the connection ended early ({err})", False
    if isinstance(err, requests.Timeout):
        return "timed out", True
    if isinstance(err, requests.ConnectionError):
        return f"unreachable ({err})", True
    if isinstance(err, FileNotFoundError):
        return f"no such file ({err.filename})", False
    return f"{type(err).__name__}: {err}", False


def _check_mirror(url: str) -> str:
    if not url.startswith(("http://", "https://", "file:")):
        raise ValueError(f"a mirror must be an http://, https:// or file: URL (a folder), got {url!r}")
    return url if url.endswith("/") else url + "/"


def download(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str | Sequence[str]] | None = None,
    timeout: float = 30.0,
    progress: bool = True,
) -> Path:
    """Make sure ``root`` (default ``cache_dir(name)``) holds dataset ``name``'s files; return it.

    ``mirrors`` replaces the built-in list of folder URLs (tried in order; each file is
    ``mirror + file name``). ``checksums`` maps each file name to its accepted SHA-256
    digest(s); the default is the built-in table, which also fixes the file names.
    ``timeout`` is in seconds per network operation. Raises :class:`DownloadError` when a
    file cannot be had from any mirror (files already verified stay in place).
    """
    import requests

    ds = dataset(name)
    urls = [_check_mirror(m) for m in (ds.mirrors if mirrors is None else mirrors)]
    if not urls:
        raise ValueError("mirrors is empty; give at least one URL (or None for the built-in list)")
    files = ds.checksums if checksums is None else checksums
    folder = Path(root).expanduser() if root is not None else cache_dir(ds.name)
    folder.mkdir(parents=True, exist_ok=True)
    unreachable: dict[str, str] = {}  # mirror -> reason, not asked again
    for filename, expected in files.items():
        accepted = {expected} if isinstance(expected, str) else set(expected)
        dest = folder / filename
        if verify(dest, accepted):
            continue
        tried = []
        for mirror in urls:
            if mirror in unreachable:
                tried.append(f"  {mirror}: skipped, {unreachable[mirror]} for an earlier file")
                continue
            try:
                _fetch(mirror + filename, dest, accepted, timeout, progress)
                break
            except (OSError, requests.RequestException, _MirrorFailed) as err:
                reason, dead = _reason(err)
                if dead:
                    unreachable[mirror] = reason
                tried.append(f"  {mirror}{filename}: {reason}")
        else:
            raise DownloadError(
                f"{ds.name}: could not download {filename} from any of {len(urls)} mirror(s):\n"
                + "\n".join(tried)
                + f"\n{dest} was not written. To install the files by hand:\n{how_to_get(ds.name, fetch=False)}"
            )
    return folder
