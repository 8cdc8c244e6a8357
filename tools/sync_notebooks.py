"""Write each lesson's and solution's .ipynb from its percent-format .py source (no outputs).

    python tools/sync_notebooks.py          # rewrite the .ipynb files that differ
    python tools/sync_notebooks.py --check  # exit 1 when a pair is out of sync

exercises/ are written by tools/make_exercises.py instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_exercises import ROOT, notebook_json  # noqa: E402

FOLDERS = ("lessons", "solutions")


def pairs() -> list[tuple[Path, Path]]:
    return [
        (py, py.with_suffix(".ipynb"))
        for folder in FOLDERS
        for py in sorted((ROOT / folder).glob("[0-9][0-9]_*.py"))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 on a difference")
    args = parser.parse_args(argv)
    stale = [(py, nb) for py, nb in pairs() if not nb.exists() or nb.read_text() != notebook_json(py.read_text())]
    orphans = [
        nb for folder in FOLDERS for nb in (ROOT / folder).glob("*.ipynb") if not nb.with_suffix(".py").exists()
    ]
    if args.check:
        for _, nb in stale:
            print(f"out of sync: {nb.relative_to(ROOT)} (run `make sync`)")
        for nb in orphans:
            print(f"no .py source for: {nb.relative_to(ROOT)}")
        return 1 if stale or orphans else 0
    for py, nb in stale:
        nb.write_text(notebook_json(py.read_text()))
        print(f"wrote {nb.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
