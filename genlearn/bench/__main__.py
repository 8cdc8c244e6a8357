"""``python -m genlearn.bench NAME [options]``: run one benchmark."""

from __future__ import annotations

import importlib
import sys

from genlearn.bench import BENCHMARKS


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in BENCHMARKS:
        known = ", ".join(BENCHMARKS)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"error: unknown benchmark {argv[0]!r}; choose one of: {known}", file=sys.stderr)
            return 2
        print(f"usage: python -m genlearn.bench NAME [options]\nbenchmarks: {known}")
        return 0
    module = importlib.import_module(BENCHMARKS[argv[0]])
    return int(module.main(argv[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
