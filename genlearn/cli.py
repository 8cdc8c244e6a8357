"""The ``genlearn`` command line (also ``python -m genlearn``).

    genlearn lessons [JUPYTER-ARGS...]          start JupyterLab on the course (what `make lab` runs)
    genlearn course [DIR] [--update]            copy the lessons and exercises into DIR (keeps your edits)
    genlearn check NOTEBOOK [EXERCISE] [--hint]  check exercises; exit 0 only when all pass
    genlearn grade NOTEBOOK SUBMISSIONS --out DIR  grade a class (grades.csv, feedback)
    genlearn export nbgrader SOLUTION... --out DIR  an nbgrader source/ folder
    genlearn train MODEL --data D --epochs N --out DIR
    genlearn sample CHECKPOINT -n 64 --out grid.png
    genlearn bench NAME [options]               run a benchmark (prints JSON on its last line)
    genlearn data fetch|ensure|where [NAME]     download / find MNIST and Fashion-MNIST

Bad input gives a one-line error and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """A problem with the user's input: reported on one line, exit status 2."""


def course_root(start: Path | None = None) -> Path:
    """The course to open: the current folder or a parent holding ``lessons/`` and ``exercises/``,
    else ``./genlearn-course``, else the source checkout, else a copy in ``~/genlearn-course``."""
    from genlearn.course import DEFAULT_DIR

    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "lessons").is_dir() and (folder / "exercises").is_dir():
            return folder
    default = Path(DEFAULT_DIR).expanduser()
    for folder in (here / default.name, Path(__file__).resolve().parent.parent, default):
        if (folder / "lessons").is_dir() and (folder / "exercises").is_dir():
            return folder
    raise UsageError(f"no course here or in {DEFAULT_DIR}: copy it with `genlearn course {DEFAULT_DIR}`, "
                     "then run `genlearn lessons` again")


# --- argument validators --------------------------------------------------------------------
# Every argument of lessons / train / sample / bench is checked here before any data is loaded,
# any model trained or sampled or any server started; a bad one is a UsageError that names the
# argument and what was expected (one line, exit status 2).

EPOCHS_MAX = 10_000
BATCH_SIZE_MAX = 65_536
LR_MAX = 10.0
SEED_MAX = 2**32 - 1  # numpy's seed range, used by seed_everything
PORT_MAX = 65_535
# `genlearn sample`: the PNG grid dominates memory: each image is drawn as a 120x120-pixel tile,
# measured at ~575 KB of peak memory per image (1024 images: +0.56 GB; 4096: +2.35 GB).
SAMPLE_MEMORY_BUDGET = 2 * 2**30
GRID_BYTES_PER_IMAGE = 600_000
BYTES_PER_PIXEL = 16  # the float32 sample, its clamped copy and the float64 tiled grid
TRAIN_OUTPUTS = ("model.pt", "losses.png", "samples.png", "metrics.json")
PORT_OPTIONS = ("--port", "--ServerApp.port", "--NotebookApp.port")
DEVICES = "cpu, cuda, cuda:N or mps"
# The benchmarks' options: whole numbers with their (min, max), flags (None) and --device.
_COUNT, _FLAG, _DEVICE = "count", "flag", "device"
BENCH_OPTIONS: dict[str, dict[str, tuple[int, int] | str]] = {
    "vae-digits": {"--epochs": (1, EPOCHS_MAX), "--seed": (0, SEED_MAX), "--k": (1, 100_000),
                   "--device": _DEVICE, "--no-progress": _FLAG},
    "vq-speed": {"--n": (1, 1_000_000), "--d": (1, 4096), "--k": (1, 65_536), "--warmup": (0, 10_000),
                 "--iters": (1, 100_000), "--seed": (0, SEED_MAX)},
    "vqvae-digits": {"--epochs": (1, EPOCHS_MAX), "--prior-epochs": (1, EPOCHS_MAX), "--codes": (1, 65_536),
                     "--restart-after": (1, 1_000_000), "--seed": (0, SEED_MAX), "--threads": (0, 1024),
                     "--device": _DEVICE, "--no-progress": _FLAG},
    "vaegan-digits": {"--epochs": (1, EPOCHS_MAX), "--seeds": (0, SEED_MAX), "--threads": (1, 1024),
                      "--device": _DEVICE, "--no-progress": _FLAG},
    "grade": {"--n": (1, 100_000), "--workers": (1, 256), "--seed": (0, SEED_MAX), "--no-sandbox": _FLAG},
    "fashion-vae": {"--epochs": (1, EPOCHS_MAX), "--n-train": (1, 60_000), "--n-test": (1, 10_000),
                    "--k": (1, 100_000), "--seed": (0, SEED_MAX), "--no-pythae": _FLAG},
}
_NARGS_PLUS = {"--seeds"}  # options that take one or more values
VQ_SPEED_MEMORY_BUDGET = 2 * 2**30  # the (N, K) distances and the (N, D) inputs, float32


def _whole(text: str, lo: int, hi: int, what: str = "a whole number") -> int:
    """``text`` as an int in ``[lo, hi]``, else ArgumentTypeError saying the range."""
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what} from {lo} to {hi:,}, got {text!r}") from None
    if not lo <= value <= hi:
        raise argparse.ArgumentTypeError(f"expected {what} from {lo} to {hi:,}, got {text.strip()}")
    return value


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting whole numbers in ``[lo, hi]``."""

    def parse(text: str) -> int:
        return _whole(text, lo, hi)

    parse.__name__ = f"int in [{lo}, {hi}]"
    return parse


def bounded_float(hi: float) -> Callable[[str], float]:
    """An argparse ``type`` accepting finite numbers in ``(0, hi]``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number > 0 and <= {hi:g}, got {text!r}") from None
        if not 0 < value <= hi:  # also rejects nan and inf
            raise argparse.ArgumentTypeError(f"expected a number > 0 and <= {hi:g}, got {text}")
        return value

    parse.__name__ = f"float in (0, {hi:g}]"
    return parse


def _why(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _probe_writable(folder: Path, arg: str) -> None:
    """Create and remove a file in ``folder``: the one test of writability that cannot lie."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".genlearn-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise UsageError(f"{arg} {folder}: cannot write in this folder ({_why(err)})") from None


def check_output_dir(path: str | os.PathLike, arg: str = "--out") -> Path:
    """An output folder that exists (created with its parents if missing) and can be written to."""
    folder = Path(path)
    try:
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"{arg} {folder}: exists and is not a folder; expected an output folder")
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{arg} {folder}: cannot create this folder ({_why(err)})") from None
    except ValueError as err:  # e.g. an embedded NUL byte
        raise UsageError(f"{arg} {path!r}: not a usable path ({err})") from None
    _probe_writable(folder, arg)
    return folder


def check_output_file(path: str | os.PathLike, arg: str = "--out", suffix: str = ".png") -> Path:
    """An output file ending in ``suffix`` whose folder is writable (created if missing); an
    existing file must be a regular, writable file (it is replaced)."""
    file = Path(path)
    if file.suffix.lower() != suffix or not file.stem:
        raise UsageError(f"{arg} {file}: expected a {suffix} file name, e.g. grid{suffix}")
    check_output_dir(file.parent, arg)
    if file.exists() and (not file.is_file() or not os.access(file, os.W_OK)):
        raise UsageError(f"{arg} {file}: exists and is not a writable file")
    return file


def check_train_outputs(folder: Path, arg: str = "--out") -> None:
    """The files `genlearn train` writes into ``folder`` can be written (none is a folder)."""
    for name in TRAIN_OUTPUTS:
        target = folder / name
        if target.exists() and (not target.is_file() or not os.access(target, os.W_OK)):
            raise UsageError(f"{arg} {folder}: {name} there is not a writable file, so it cannot be written")


def check_data_spec(spec: str, arg: str = "--data") -> str:
    """A ``kind:DIR`` data spec names an existing folder (the rest is checked by the loader)."""
    kind, sep, folder = spec.partition(":")
    if sep and kind in ("mnist", "fashion"):
        if not folder:
            raise UsageError(f"{arg} {spec}: expected {kind}:DIR, a folder holding the IDX files")
        if not Path(folder).expanduser().is_dir():
            raise UsageError(f"{arg} {spec}: no folder {folder}; expected {kind}:DIR, a folder holding the IDX files")
    return spec


def check_checkpoint(path: str | os.PathLike, arg: str = "CHECKPOINT") -> dict[str, Any]:
    """The header (``class``, ``config``) of a genlearn checkpoint file, read without building it."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{arg}: no checkpoint at {file}" + (" (it is a folder)" if file.is_dir() else ""))
    try:
        checkpoint = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        raise UsageError(f"{arg} {file}: not a readable checkpoint ({type(err).__name__})") from None
    if (not isinstance(checkpoint, dict) or not str(checkpoint.get("format", "")).startswith("genlearn-checkpoint")
            or not isinstance(checkpoint.get("config"), dict) or not isinstance(checkpoint.get("class"), str)):
        raise UsageError(f"{arg} {file}: not a genlearn checkpoint (expected a model.pt written by `genlearn train`)")
    return {"class": checkpoint["class"], "config": checkpoint["config"], "module": str(checkpoint.get("module", ""))}


def check_notebook_file(path: str | os.PathLike, arg: str = "NOTEBOOK") -> Path:
    """An existing exercise notebook: a ``.ipynb`` file or its paired jupytext ``.py``."""
    file = Path(path)
    if file.suffix.lower() not in (".ipynb", ".py"):
        raise UsageError(f"{arg} {file}: expected a notebook, a .ipynb file or its paired .py")
    if not file.is_file():
        raise UsageError(f"{arg}: no notebook at {file}" + (" (it is a folder)" if file.is_dir() else ""))
    return file


def _find_in_shape(config: Any) -> tuple[int, ...] | None:
    """The first ``in_shape`` in a (nested) checkpoint config."""
    if isinstance(config, dict):
        shape = config.get("in_shape")
        if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, int) and s > 0 for s in shape):
            return tuple(shape)
        for value in config.values():
            found = _find_in_shape(value)
            if found is not None:
                return found
    return None


def sample_limit(in_shape: tuple[int, ...] | None = None) -> int:
    """The most samples `genlearn sample` draws within :data:`SAMPLE_MEMORY_BUDGET`: each costs
    :data:`GRID_BYTES_PER_IMAGE` in the PNG grid plus :data:`BYTES_PER_PIXEL` per pixel."""
    pixels = math.prod(in_shape) if in_shape else 0
    return SAMPLE_MEMORY_BUDGET // (GRID_BYTES_PER_IMAGE + BYTES_PER_PIXEL * pixels)


def check_sample_count(n: int, in_shape: tuple[int, ...] | None = None, arg: str = "-n") -> int:
    """``n`` samples fit the memory budget (for images of ``in_shape``, or the smallest images)."""
    limit = sample_limit(in_shape)
    if n > limit:
        of = f" of shape {in_shape}" if in_shape else ""
        raise UsageError(f"{arg} {n}: too many samples; at most {limit:,} images{of} fit in the "
                         f"{SAMPLE_MEMORY_BUDGET / 2**30:g} GiB memory budget of the PNG grid")
    return n


def check_jupyter_args(jupyter_args: list[str]) -> list[str]:
    """Port options among the arguments passed to Jupyter are whole numbers in 1..65535."""
    for i, token in enumerate(jupyter_args):
        name, sep, value = token.partition("=")
        if name not in PORT_OPTIONS:
            continue
        if not sep:
            if i + 1 >= len(jupyter_args):
                raise UsageError(f"{name}: expected a port number from 1 to {PORT_MAX}, got nothing")
            value = jupyter_args[i + 1]
        try:
            _whole(value, 1, PORT_MAX, "a port number")
        except argparse.ArgumentTypeError as err:
            raise UsageError(f"{name}: {err}") from None
    return jupyter_args


def check_device(text: str, arg: str = "--device") -> str:
    """A device name that this machine has: cpu, cuda, cuda:N or mps."""
    import torch

    if not re.fullmatch(r"cpu|mps|cuda(:\d+)?", text):
        raise UsageError(f"{arg} {text!r}: expected a device: {DEVICES}")
    kind, _, index = text.partition(":")
    if kind == "cuda" and (not torch.cuda.is_available() or int(index or 0) >= torch.cuda.device_count()):
        raise UsageError(f"{arg} {text}: this machine has no such CUDA device (found {torch.cuda.device_count()})")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise UsageError(f"{arg} mps: this machine has no Apple GPU (MPS)")
    return text


def check_bench_args(name: str, bench_args: list[str]) -> list[str]:
    """The options of benchmark ``name`` are known and in range (``-h`` / ``--help`` pass)."""
    if any(a in ("-h", "--help") for a in bench_args) or name not in BENCH_OPTIONS:
        return bench_args  # help, or a benchmark the table does not know yet (a test flags that)
    options = BENCH_OPTIONS[name]
    values: dict[str, list[str]] = {}
    i = 0
    while i < len(bench_args):
        option, sep, value = bench_args[i].partition("=")
        if option not in options:
            known = ", ".join(options)
            raise UsageError(f"unknown option {bench_args[i]!r} for benchmark {name}; expected one of: {known}")
        kind = options[option]
        if kind == _FLAG:
            if sep:
                raise UsageError(f"{option} is a flag and takes no value, got {bench_args[i]!r}")
            i += 1
            continue
        if sep:
            got, i = [value], i + 1
        else:
            got, i = [], i + 1
            while i < len(bench_args) and not bench_args[i].startswith("--") and (not got or option in _NARGS_PLUS):
                got.append(bench_args[i])
                i += 1
        if not got:
            raise UsageError(f"{option}: expected a value")
        for text in got:
            if kind == _DEVICE:
                check_device(text, option)
            else:
                lo, hi = kind  # type: ignore[misc]
                try:
                    _whole(text, lo, hi)
                except argparse.ArgumentTypeError as err:
                    raise UsageError(f"{option}: {err}") from None
        values[option] = got
    if name == "vq-speed":
        n, d, k = (int(values.get(o, [default])[0]) for o, default in (("--n", 8192), ("--d", 64), ("--k", 512)))
        need = 4 * n * (k + 4 * d)
        if need > VQ_SPEED_MEMORY_BUDGET:
            raise UsageError(f"--n {n} --d {d} --k {k}: needs about {need / 2**30:.1f} GiB (4 N (K + 4 D) bytes); "
                             f"the limit is {VQ_SPEED_MEMORY_BUDGET / 2**30:g} GiB")
    return bench_args


# --- lessons --------------------------------------------------------------------------------
def _cmd_lessons(args: argparse.Namespace) -> int:
    check_jupyter_args(args.jupyter_args)
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


# --- course ---------------------------------------------------------------------------------
def _cmd_course(args: argparse.Namespace) -> int:
    from genlearn.course import CourseError, copy_course

    folder = Path(args.dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"DIR {folder}: exists and is not a folder; expected a folder for the course")
    check_output_dir(folder, "DIR")
    try:
        report = copy_course(folder, update=args.update)
    except CourseError as err:
        raise UsageError(str(err)) from None
    for line in report.lines():
        print(line)
    print(f"open it: cd {folder} && genlearn lessons  (check an exercise: genlearn check "
          "exercises/03_kl_divergence.ipynb)")
    return 0


# --- check ----------------------------------------------------------------------------------
def _cmd_check(args: argparse.Namespace) -> int:
    from genlearn.checks import hints, registry
    from genlearn.grading import run_notebook

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


# --- grade ----------------------------------------------------------------------------------
def _cmd_grade(args: argparse.Namespace) -> int:
    from genlearn.grading import GradingError, grade

    for path, what in ((args.notebook, "NOTEBOOK"), (args.submissions, "SUBMISSIONS")):
        if not Path(path).exists():
            raise UsageError(f"{what}: nothing at {path}")
    if args.seed is not None and not 0 <= args.seed < 2**32:
        raise UsageError(f"--seed must be in [0, 2**32), got {args.seed}")
    check_output_dir(args.out)
    try:
        summary = grade(args.notebook, args.submissions, args.out, workers=args.workers, timeout=args.timeout,
                        memory_mb=args.memory, seed=args.seed, sandbox=args.sandbox, resume=args.resume,
                        forbid=args.forbid or ())
    except GradingError as err:
        raise UsageError(str(err)) from None
    for g in summary.grades:
        score = f"{g.total:g}/{g.max:g}" if g.final else f"-/{g.max:g}"
        print(f"{g.student}: {score} ({g.status})")
    n, now = len(summary.grades), summary.graded_now
    rate = 60 * now / summary.seconds if summary.seconds > 0 else 0.0
    kept = f", kept {n - now} graded before" if args.resume else ""
    print(f"graded {now} submissions in {summary.seconds:.1f} s ({rate:.0f} per minute){kept}, seed {summary.seed}; "
          f"wrote {Path(args.out) / 'grades.csv'} and {Path(args.out) / 'summary.md'}")
    for student, before, after in summary.changed:
        print(f"score changed since the last run: {student} {before} -> {after}")
    if summary.grader_errors:
        print(f"grader errors (no score, not 0) for {len(summary.grader_errors)} submissions: "
              f"{', '.join(summary.grader_errors)}; see their feedback, fix the cause, then run again with --resume")
        return 3
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from genlearn.grading.nbgrader import export_nbgrader

    if args.format == "gradescope":
        return _export_gradescope(args)
    if args.visibility or args.wheel:
        raise UsageError("--visibility and --wheel are options of `genlearn export gradescope`")
    for path in args.solutions:
        if not Path(path).is_file():
            raise UsageError(f"SOLUTION: no notebook at {path}")
    check_output_dir(args.out)
    for path in export_nbgrader(args.solutions, args.out, assignment=args.assignment):
        print(f"wrote {path}")
    print(f"then: cd {args.out} && nbgrader generate_assignment {args.assignment}")
    return 0


def _export_gradescope(args: argparse.Namespace) -> int:
    from genlearn.grading.gradescope import export_gradescope
    from genlearn.grading.sandbox import GradingError

    if len(args.solutions) != 1 or not Path(args.solutions[0]).is_file():
        raise UsageError("genlearn export gradescope takes one exercise notebook, "
                         "e.g. exercises/03_kl_divergence.ipynb")
    try:
        path = export_gradescope(args.solutions[0], args.out, visibility=args.visibility or "visible",
                                 wheel=args.wheel)
    except GradingError as err:
        raise UsageError(str(err)) from None
    print(f"wrote {path}: upload it as the assignment's autograder on Gradescope (Configure Autograder, "
          "zip file upload)")
    return 0


# --- train / sample -------------------------------------------------------------------------
def _cmd_train(args: argparse.Namespace) -> int:
    from genlearn import train_report as reports
    from genlearn.recipes import MODELS

    if args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; choose one of: {', '.join(MODELS)}")
    check_data_spec(args.data)
    world = os.environ.get("WORLD_SIZE", "1")
    if world.isdigit() and int(world) > 1 and args.batch_size % int(world):
        raise UsageError(f"--batch-size {args.batch_size}: must be divisible by the {world} processes of torchrun")
    check_train_outputs(check_output_dir(args.out))  # last: it creates the folder
    report = reports.train_and_report(args.model, args.data, args.epochs, Path(args.out), seed=args.seed,
                                      batch_size=args.batch_size, lr=args.lr, progress=not args.quiet)
    if report is not None:  # None on ranks other than 0 under torchrun
        for name, path in report.files.items():
            print(f"wrote {name}: {path}")
    from genlearn import distributed

    distributed.finish()  # every rank leaves the process group together
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from genlearn.train_report import sample_to_png

    check_sample_count(args.n)  # before reading anything: no image is smaller than none
    if args.pretrained is not None:
        from genlearn.pretrained import load, shipped_dir
        from genlearn.train_report import save_sample_grid

        if args.checkpoint is not None:
            raise UsageError("give a CHECKPOINT or --pretrained NAME, not both")
        check_sample_count(args.n, (1, 28, 28))
        check_output_file(args.out, "--out", ".png")
        try:
            model = load(args.pretrained)
        except FileNotFoundError as err:
            raise UsageError(f"--pretrained {args.pretrained}: {err} (shipped: {shipped_dir()})") from None
        path = save_sample_grid(model, args.n, Path(args.out), seed=args.seed, title=f"pretrained {args.pretrained}")
        print(f"wrote {path}")
        return 0
    if args.checkpoint is None:
        raise UsageError("give a CHECKPOINT (a model.pt) or --pretrained NAME")
    header = check_checkpoint(args.checkpoint)
    in_shape = _find_in_shape(header["config"])
    if in_shape is None:
        raise UsageError(f"CHECKPOINT {args.checkpoint} holds a {header['class']} whose config has no in_shape: "
                         "not a model of genlearn's protocol (genlearn.models.base.GenerativeModel)")
    check_sample_count(args.n, in_shape)
    module = header.get("module", "")
    if not (module == "genlearn" or module.startswith("genlearn.") or module in args.trust):
        raise UsageError(f"CHECKPOINT {args.checkpoint} holds {module}.{header['class']}, a class outside genlearn: "
                         f"add --trust {module} if you trust that module's code (it is imported to rebuild the model)")
    check_output_file(args.out, "--out", ".png")  # last: it creates the folder
    path = sample_to_png(Path(args.checkpoint), args.n, Path(args.out), seed=args.seed, trust=tuple(args.trust))
    print(f"wrote {path}")
    return 0


# --- pretrain -------------------------------------------------------------------------------
def _cmd_pretrain(args: argparse.Namespace) -> int:
    from genlearn.pretrained import PRETRAINED, pretrain

    names = list(PRETRAINED) if args.name == "all" else [args.name]
    if args.name != "all" and args.name not in PRETRAINED:
        raise UsageError(f"NAME must be all or one of: {', '.join(PRETRAINED)}; got {args.name!r}")
    out = check_output_dir(args.out)
    for name in names:
        command = (f"genlearn pretrain {name} --scale {args.scale} --seed {args.seed}"
                   + (f" --epochs {args.epochs}" if args.epochs else ""))
        card = pretrain(name, out, scale=args.scale, seed=args.seed, resume=args.resume, epochs=args.epochs,
                        progress=not args.no_progress, command=command)
        print(f"wrote {card} and {card.with_suffix('.pt')}")
    return 0


# --- bench ----------------------------------------------------------------------------------
def _cmd_bench(args: argparse.Namespace) -> int:
    from genlearn.bench import BENCHMARKS
    from genlearn.bench.__main__ import main as bench_main

    if args.name not in BENCHMARKS:
        raise UsageError(f"unknown benchmark {args.name!r}; choose one of: {', '.join(BENCHMARKS)}")
    check_bench_args(args.name, args.bench_args)
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


_positive_int = bounded_int(1, 10**9)  # counts and sizes: the one argparse number check, with an upper bound
_positive_float = bounded_float(1e9)


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

    from genlearn.course import DEFAULT_DIR

    course = sub.add_parser("course", help="copy the lessons and exercises into a folder (keeps your edits)",
                            description="Copy the course that came with this genlearn (lesson and exercise "
                            "notebooks, glossary) into DIR. A file you edited is never overwritten: run it "
                            "again to restore deleted files, with --update to bring newer versions of the "
                            "files you did not edit. Then: cd DIR && genlearn lessons.")
    course.add_argument("dir", nargs="?", default=DEFAULT_DIR, metavar="DIR",
                        help=f"folder for the course (created if missing; default {DEFAULT_DIR})")
    course.add_argument("--update", action="store_true",
                        help="replace files you did not edit with newer versions from this genlearn")
    course.set_defaults(func=_cmd_course)

    check = sub.add_parser("check", help="check the exercises of a notebook",
                           description="Run the exercise checks on a notebook (.ipynb or its paired .py) "
                           "and print a report. Exit status 0 only when every check passes.")
    check.add_argument("notebook", help="e.g. exercises/02_expectation.ipynb")
    check.add_argument("exercise", nargs="?", help="check only this exercise (default: all)")
    check.add_argument("--hint", action="store_true", help="also print the exercise's hints, gentlest first")
    check.set_defaults(func=_cmd_check)

    grade = sub.add_parser("grade", help="grade a folder of submissions of an exercise notebook",
                           description="Grade every submission (SUBMISSIONS/<student>.ipynb or "
                           "SUBMISSIONS/<student>/<any>.ipynb) against the exercises NOTEBOOK checks. Each "
                           "runs in its own limited process; the verdicts are decided outside it. Writes "
                           "DIR/grades.csv, DIR/feedback/<student>.txt, DIR/gradescope/<student>/results.json and "
                           "the class report DIR/summary.md (.html). Exit status 2 when the grader's self-test fails "
                           "(nothing graded), 3 when a submission met a grader error (no score, not 0).")
    grade.add_argument("notebook", help="the exercise notebook, e.g. exercises/03_kl_divergence.ipynb")
    grade.add_argument("submissions", help="folder of submissions")
    grade.add_argument("--out", required=True, help="output folder (created if missing)")
    grade.add_argument("--workers", type=_positive_int, default=2, help="submissions graded at once (default 2)")
    grade.add_argument("--timeout", type=_positive_float, default=60.0,
                       help="wall-time (and CPU-time) limit per submission in seconds (default 60)")
    grade.add_argument("--memory", type=_positive_int, default=2048,
                       help="memory a submission may allocate, in MB (default 2048)")
    grade.add_argument("--seed", type=int, default=None,
                       help="seed of the check inputs (default: a random one, written to DIR/seed.txt)")
    grade.add_argument("--sandbox", action="store_true",
                       help="also run each submission under bubblewrap: read-only file system, no network, "
                       "no view of the other submissions or of DIR")
    grade.add_argument("--resume", action="store_true",
                       help="grade only the students without a final row in DIR (after a kill, a crash or a fix "
                       "of a grader error); keeps the others and the earlier run's seed")
    grade.add_argument("--forbid", nargs="+", metavar="MODULE.NAME",
                       help="library functions a solution may not call (e.g. torch.linalg.solve): an exercise "
                       "whose code calls one scores 0, and its feedback says which")
    grade.set_defaults(func=_cmd_grade)

    export = sub.add_parser("export", help="export for another grader (nbgrader, Gradescope)",
                            description="nbgrader: solution notebooks as an nbgrader source/ folder (answer cells "
                            "and test cells with grade_id = exercise id and its points). gradescope: an exercise "
                            "notebook as Gradescope's autograder zip (setup.sh, run_autograder), one test per "
                            "exercise.")
    export.add_argument("format", choices=["nbgrader", "gradescope"], help="the grader: nbgrader or gradescope")
    export.add_argument("solutions", nargs="+", metavar="NOTEBOOK",
                        help="nbgrader: solution notebooks (solutions/03_kl_divergence.py); gradescope: one "
                        "exercise notebook (exercises/03_kl_divergence.ipynb)")
    export.add_argument("--out", required=True,
                        help="nbgrader: course folder to write; gradescope: the .zip to write")
    export.add_argument("--assignment", default="ps1", help="nbgrader: assignment name (default ps1)")
    export.add_argument("--visibility", choices=["visible", "hidden", "after_due_date", "after_published"],
                        help="gradescope: when students see each test's result (default visible)")
    export.add_argument("--wheel", help="gradescope: install this genlearn wheel instead of genlearn==VERSION "
                        "from PyPI")
    export.set_defaults(func=_cmd_export)

    from genlearn.data import DATA_HELP
    from genlearn.recipes import MODELS

    train = sub.add_parser("train", help="train a model and write a checkpoint, plots and metrics",
                           description="Train one of the course's models. Writes DIR/model.pt (checkpoint), "
                           "DIR/losses.png, DIR/samples.png and DIR/metrics.json. Runs unchanged under "
                           "torchrun --nproc_per_node=N (data-parallel; rank 0 writes the files).")
    train.add_argument("model", help=f"one of: {', '.join(MODELS)}")
    train.add_argument("--data", default="digits", help=DATA_HELP)
    train.add_argument("--epochs", type=bounded_int(1, EPOCHS_MAX), default=20,
                       help=f"number of epochs, 1 to {EPOCHS_MAX:,} (default 20)")
    train.add_argument("--out", required=True, help="output folder (created if missing; must be writable)")
    train.add_argument("--batch-size", type=bounded_int(1, BATCH_SIZE_MAX), default=100,
                       help=f"global batch size, 1 to {BATCH_SIZE_MAX:,} (default 100)")
    train.add_argument("--lr", type=bounded_float(LR_MAX), default=None,
                       help=f"learning rate, > 0 and <= {LR_MAX:g} (default: the model's)")
    train.add_argument("--seed", type=bounded_int(0, SEED_MAX), default=0,
                       help=f"random seed, 0 to {SEED_MAX} (default 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_cmd_train)

    sample = sub.add_parser("sample", help="draw samples from a trained checkpoint into a PNG grid",
                            description="Load a checkpoint written by `genlearn train` and save a grid of "
                            "samples (for an AE: decoded codes drawn from a Gaussian fitted to its codes).")
    sample.add_argument("checkpoint", nargs="?",
                        help="a model.pt written by `genlearn train` or genlearn.checkpoint.save")
    sample.add_argument("--trust", action="append", default=[], metavar="MODULE",
                        help="a module outside genlearn whose model class the checkpoint may rebuild (imports it; "
                             "repeatable)")
    sample.add_argument("--pretrained", choices=["ae", "vae", "vqvae", "vaegan"],
                        help="sample a full-scale model shipped with the course instead (its SHA-256 is checked)")
    sample.add_argument("-n", type=_positive_int, default=64,
                        help=f"number of samples, at most {sample_limit((1, 8, 8)):,} for 8x8 images, fewer for "
                        f"larger ones: the PNG grid's memory budget is {SAMPLE_MEMORY_BUDGET / 2**30:g} GiB "
                        "(default 64)")
    sample.add_argument("--out", required=True, help="PNG file to write (its folder is created if missing)")
    sample.add_argument("--seed", type=bounded_int(0, SEED_MAX), default=0,
                        help=f"random seed, 0 to {SEED_MAX} (default 0)")
    sample.set_defaults(func=_cmd_sample)

    pre = sub.add_parser("pretrain", help="train the course's full-scale models with their model cards",
                         description="Train NAME (ae, vae, vqvae, vaegan or all) on every training image of the "
                         "scale with the lessons' recipes; write DIR/NAME.pt and its model card DIR/NAME.json. "
                         "Every epoch is checkpointed (DIR/NAME.state.pt): --resume continues after a kill and ends "
                         "with the same checkpoint, bit for bit, as an uninterrupted run.")
    pre.add_argument("name", metavar="NAME", help="ae, vae, vqvae, vaegan or all")
    pre.add_argument("--scale", choices=["laptop", "full"], default="full", help="the data and sizes (default full)")
    pre.add_argument("--out", default="pretrained", help="output folder (default ./pretrained)")
    pre.add_argument("--resume", action="store_true", help="continue from DIR/NAME.state.pt when it is there")
    pre.add_argument("--seed", type=bounded_int(0, SEED_MAX), default=0, help="random seed (default 0)")
    pre.add_argument("--epochs", type=bounded_int(1, EPOCHS_MAX), default=None,
                     help="override the recipe's epochs (for tests; a card records them)")
    pre.add_argument("--no-progress", action="store_true", help="no progress bar")
    pre.set_defaults(func=_cmd_pretrain)

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
    except (UsageError, ValueError, OSError, FloatingPointError) as err:  # OSError: files and folders
        message = "; ".join(line.strip() for line in str(err).splitlines() if line.strip())
        print(f"genlearn {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
