"""The ``genlearn`` command line (also ``python -m genlearn``).

    genlearn lessons [JUPYTER-ARGS...]          start JupyterLab on the course (what `make lab` runs)
    genlearn check NOTEBOOK [EXERCISE] [--hint]  check exercises; exit 0 only when all pass
    genlearn train MODEL --data D --epochs N --out DIR
    genlearn sample CHECKPOINT -n 64 --out grid.png
    genlearn bench NAME [options]               run a benchmark (prints JSON on its last line)
    genlearn data fetch|ensure|where [NAME]     download / find MNIST and Fashion-MNIST

Bad input gives a one-line error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


def course_root(start: Path | None = None) -> Path:
    """The folder holding ``lessons/``: the current folder or a parent, else the source checkout."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "lessons").is_dir() and (folder / "exercises").is_dir():
            return folder
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "lessons").is_dir():
        return checkout
    raise UsageError("cannot find the course's lessons/ folder: run this inside the genlearn checkout")


# --- lessons --------------------------------------------------------------------------------
def _cmd_lessons(args: argparse.Namespace) -> int:
    root = course_root()
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={root}",
           "--LabApp.default_url=/lab/tree/lessons"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # Jupyter refuses to run as root without it
    cmd += args.jupyter_args
    if args.print_command:
        print(" ".join(cmd))
        return 0
    os.execv(sys.executable, cmd)  # replace this process: Ctrl-C and signals reach Jupyter directly
    return 0  # pragma: no cover


# --- check ----------------------------------------------------------------------------------
def _cmd_check(args: argparse.Namespace) -> int:
    from genlearn.checks import hints, registry, run_notebook

    path = Path(args.notebook)
    if not path.exists():
        raise UsageError(f"no notebook at {path}")
    if args.hint and not args.exercise:
        raise UsageError("--hint needs an EXERCISE: genlearn check NOTEBOOK EXERCISE --hint")
    if args.hint and args.exercise not in registry():
        raise UsageError(f"no exercise called {args.exercise!r}")
    results = run_notebook(path, only=args.exercise)
    for result in results:
        print(result.line())
    passed = sum(r.passed for r in results)
    print(f"{passed} passed, {len(results) - passed} failed")
    if args.hint:
        levels = hints(args.exercise)
        for level, text in enumerate(levels, start=1):
            print(f"Hint {level}/{len(levels)}: {text}")
    return 0 if results and passed == len(results) else 1


# --- train / sample -------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from genlearn import zoo

    report = zoo.train_and_report(args.model, args.data, args.epochs, Path(args.out), seed=args.seed,
                                  batch_size=args.batch_size, lr=args.lr, progress=not args.quiet)
    if report is not None:  # None on ranks other than 0 under torchrun
        for name, path in report.files.items():
            print(f"wrote {name}: {path}")
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from genlearn import zoo

    path = zoo.sample_to_png(Path(args.checkpoint), args.n, Path(args.out), seed=args.seed)
    print(f"wrote {path}")
    return 0


# --- bench ----------------------------------------------------------------------------------
def _cmd_bench(args: argparse.Namespace) -> int:
    from genlearn.bench import BENCHMARKS
    from genlearn.bench.__main__ import main as bench_main

    if args.name not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {args.name!r}; choose one of: {', '.join(BENCHMARKS)}")
    return bench_main([args.name, *args.bench_args])


# --- data -----------------------------------------------------------------------------------
def _data_failed(args: argparse.Namespace, err: Exception) -> int:
    """A dataset that cannot be had: the full message (it lists mirrors and commands), exit 1."""
    print(f"genlearn data {args.action}: error: {err}", file=sys.stderr)
    return 1


def _cmd_data_fetch(args: argparse.Namespace) -> int:
    from genlearn.data import DataNotFoundError, download
    from genlearn.data.sources import dataset

    name = dataset(args.dataset).name
    try:
        folder = download(name, args.root, mirrors=args.mirror, timeout=args.timeout, progress=not args.quiet)
    except DataNotFoundError as err:
        return _data_failed(args, err)
    print(f"{name}: all files present and verified in {folder}")
    return 0


def _cmd_data_ensure(args: argparse.Namespace) -> int:
    from genlearn.data import DataNotFoundError, download, find_dataset, search_dirs
    from genlearn.data.sources import dataset

    name = dataset(args.dataset).name
    folder = find_dataset(name)
    if folder is None:
        searched = ", ".join(str(f) for _, f in search_dirs(name))
        print(f"{name}: not found in {searched}; downloading", file=sys.stderr)
        try:
            folder = download(name, timeout=args.timeout, progress=not args.quiet)
        except DataNotFoundError as err:
            return _data_failed(args, err)
    print(f"{name}: {folder}")
    return 0


def _cmd_data_where(args: argparse.Namespace) -> int:
    from genlearn.data import DATASETS, MNIST_FILES, find_dataset, search_dirs
    from genlearn.data.sources import dataset, find_file

    for name in [dataset(args.dataset).name] if args.dataset else list(DATASETS):
        used = find_dataset(name)
        print(f"{name}: {used if used else 'not found (genlearn data fetch ' + name + ')'}")
        for label, folder in search_dirs(name):
            splits = [s for s, stems in MNIST_FILES.items() if all(find_file(folder, st) for st in stems)]
            state = "+".join(splits) if splits else ("no files" if folder.is_dir() else "no folder")
            print(f"  {'*' if folder == used else ' '} {label}: {folder} ({state})")
    return 0


def _cmd_data_help(args: argparse.Namespace) -> int:
    args.data_parser.print_help()
    return 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block): `genlearn X: error: ...`, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="genlearn", description="The genlearn course tools.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    lessons = sub.add_parser("lessons", help="start JupyterLab on the course",
                             description="Start JupyterLab on the course's lessons/ folder. Extra "
                             "arguments go to Jupyter, e.g. --no-browser --port 8888.")
    lessons.add_argument("--print-command", action="store_true", help="print the command instead of running it")
    lessons.set_defaults(func=_cmd_lessons, jupyter_args=[])

    check = sub.add_parser("check", help="check the exercises of a notebook",
                           description="Run the exercise checks on a notebook (.ipynb or its paired .py) "
                           "and print a report. Exit status 0 only when every check passes.")
    check.add_argument("notebook", help="e.g. exercises/02_expectation.ipynb")
    check.add_argument("exercise", nargs="?", help="check only this exercise (default: all)")
    check.add_argument("--hint", action="store_true", help="also print the exercise's hints, gentlest first")
    check.set_defaults(func=_cmd_check)

    from genlearn.zoo import DATA_HELP, MODELS

    train = sub.add_parser("train", help="train a model and write a checkpoint, plots and metrics",
                           description="Train one of the course's models. Writes DIR/model.pt (checkpoint), "
                           "DIR/losses.png, DIR/samples.png and DIR/metrics.json. Runs unchanged under "
                           "torchrun --nproc_per_node=N (data-parallel; rank 0 writes the files).")
    train.add_argument("model", help=f"one of: {', '.join(MODELS)}")
    train.add_argument("--data", default="digits", help=DATA_HELP)
    train.add_argument("--epochs", type=_positive_int, default=20, help="number of epochs (default 20)")
    train.add_argument("--out", required=True, help="output folder (created if missing)")
    train.add_argument("--batch-size", type=_positive_int, default=100, help="global batch size (default 100)")
    train.add_argument("--lr", type=_positive_float, default=None, help="learning rate (default: the model's)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_cmd_train)

    sample = sub.add_parser("sample", help="draw samples from a trained checkpoint into a PNG grid",
                            description="Load a checkpoint written by `genlearn train` and save a grid of "
                            "samples (for an AE: decoded codes drawn from a Gaussian fitted to its codes).")
    sample.add_argument("checkpoint", help="a model.pt written by `genlearn train`")
    sample.add_argument("-n", type=_positive_int, default=64, help="number of samples (default 64)")
    sample.add_argument("--out", required=True, help="PNG file to write")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sample.set_defaults(func=_cmd_sample)

    from genlearn.bench import BENCHMARKS

    bench = sub.add_parser("bench", help="run a benchmark", description="Run a benchmark: "
                           f"{', '.join(BENCHMARKS)}. Options after NAME go to the benchmark.")
    bench.add_argument("name", help=f"one of: {', '.join(BENCHMARKS)}")
    bench.set_defaults(func=_cmd_bench, bench_args=[])

    data = sub.add_parser("data", help="download or find MNIST and Fashion-MNIST",
                          description="Get the 28x28 data sets: `fetch` downloads into the cache (checked "
                          "SHA-256), `ensure` finds them or else downloads, `where` shows the folders searched.")
    data.set_defaults(func=_cmd_data_help, data_parser=data, action=None)
    actions = data.add_subparsers(dest="action", metavar="ACTION")
    names = "mnist or fashion-mnist (alias fashion)"
    fetch = actions.add_parser("fetch", help="download a data set (skips files already verified)",
                               description="Download the four files of a data set into the cache "
                               "(or --root), trying the mirrors in order and checking each file's SHA-256. "
                               "Exit status 1, with the mirrors tried and how to install by hand, on failure.")
    fetch.add_argument("dataset", help=names)
    fetch.add_argument("--root", help="folder to download into (default: the cache, ~/.cache/genlearn/NAME)")
    fetch.add_argument("--mirror", action="extend", nargs="+", metavar="URL",
                       help="mirror folder URL(s) tried in order, replacing the built-in list")
    ensure = actions.add_parser("ensure", help="find a data set, or download it (what `make test` runs)",
                                description="Succeed if the data set is in $GENLEARN_DATA, the cache or a "
                                "system folder; otherwise download it into the cache. Exit status 1, with the "
                                "commands that get the files, if that fails.")
    ensure.add_argument("dataset", help=names)
    for action in (fetch, ensure):
        action.add_argument("--timeout", type=_positive_float, default=30.0,
                            help="seconds per network operation (default 30)")
        action.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_cmd_data_fetch)
    ensure.set_defaults(func=_cmd_data_ensure)
    where = actions.add_parser("where", help="show where each data set is found",
                               description="List the folders searched for each data set, in order, "
                               "with the splits each holds; * marks the one the loaders use.")
    where.add_argument("dataset", nargs="?", help=f"{names} (default: both)")
    where.set_defaults(func=_cmd_data_where)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # everything after `lessons` or `bench NAME` is passed through untouched
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "command", None) == "lessons":
            args.jupyter_args = extra
        elif getattr(args, "command", None) == "bench":
            args.bench_args = extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, ValueError, FileNotFoundError, NotADirectoryError) as err:
        message = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"genlearn {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
