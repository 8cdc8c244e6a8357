"""The ``genlearn`` command line (also ``python -m genlearn``)."""

from __future__ import annotations

import argparse
import sys


def _cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from genlearn.checks import run_notebook

    path = Path(args.notebook)
    if not path.exists():
        print(f"error: no notebook at {path}", file=sys.stderr)
        return 2
    results = run_notebook(path, only=args.exercise)
    for result in results:
        print(result.line())
    passed = sum(r.passed for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="genlearn", description="The genlearn course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser(
        "check",
        help="check the exercises of a notebook",
        description="Run the exercise checks on a notebook (.ipynb or its paired .py) and print a "
        "report. Exit status 0 only when every check passes.",
    )
    check.add_argument("notebook", help="e.g. exercises/02_expectation.ipynb")
    check.add_argument("exercise", nargs="?", help="check only this exercise (default: all)")
    check.set_defaults(func=_cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
