"""Insert or update the set-up cell that opens every lesson and solution notebook.

The cell lets a notebook run where genlearn is not installed (Colab and other hosted
notebooks): it installs the genlearn version the notebook came with, and only when
``import genlearn`` would fail. It is plain Python, so it stays valid in the jupytext
``.py`` source and in any kernel. Usage::

    python tools/setup_cell.py          # write the cell into lessons/*.py and solutions/*.py
    python tools/setup_cell.py --check  # exit 1 when a source lacks the current cell

``make sync`` runs it before writing the .ipynb files; exercises/ inherit the cell from
solutions/ through tools/make_exercises.py.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

__all__ = ["ROOT", "FOLDERS", "TAG", "package_version", "cell", "with_setup_cell", "sources", "main"]

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("lessons", "solutions")
TAG = "genlearn-setup"
_MARKER = f'# %% tags=["{TAG}", "hide-cell"] slideshow={{"slide_type": "skip"}}'
_CELL = re.compile(r"^# %% tags=\[\"" + re.escape(TAG) + r"\".*?(?=^# %%)", re.M | re.S)
_VERSION = re.compile(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", re.M)


def package_version(root: Path = ROOT) -> str:
    """``genlearn.__version__`` as written in ``genlearn/__init__.py`` (read, not imported)."""
    match = _VERSION.search((root / "genlearn" / "__init__.py").read_text())
    if not match:
        raise ValueError("genlearn/__init__.py has no __version__ = '...' line")
    return match.group(1)


def cell(version: str) -> str:
    """The set-up cell, in jupytext percent format, pinned to ``version``."""
    return (
        f"{_MARKER}\n"
        f"# Set-up for Colab and other hosted notebooks: installs genlearn {version} only when it is missing.\n"
        "import importlib.util\n"
        "import subprocess\n"
        "import sys\n"
        "\n"
        'if importlib.util.find_spec("genlearn") is None:\n'
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "genlearn=={version}"])\n'
        "    importlib.invalidate_caches()\n"
        "\n"
    )


def with_setup_cell(text: str, version: str) -> str:
    """``text`` (a percent-format notebook) whose first cell is the set-up cell for ``version``."""
    new = cell(version)
    if _CELL.search(text):
        return _CELL.sub(lambda _: new, text, count=1)
    first = re.search(r"^# %%", text, re.M)
    if first is None:
        raise ValueError("not a percent-format notebook: no '# %%' cell marker")
    return text[: first.start()] + new + text[first.start():]


def sources(root: Path = ROOT) -> list[Path]:
    """The lesson and solution sources that carry the cell."""
    return [py for folder in FOLDERS for py in sorted((root / folder).glob("[0-9][0-9]_*.py"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    version = package_version()
    stale = [py for py in sources() if with_setup_cell(py.read_text(), version) != py.read_text()]
    if args.check:
        for py in stale:
            print(f"set-up cell missing or not genlearn=={version}: {py.relative_to(ROOT)} (run `make sync`)")
        return 1 if stale else 0
    for py in stale:
        py.write_text(with_setup_cell(py.read_text(), version))
        print(f"wrote the set-up cell (genlearn=={version}) into {py.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
