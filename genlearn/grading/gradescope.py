"""Gradescope: an autograder bundle, for classes larger than one machine.

    genlearn export gradescope exercises/03_kl_divergence.ipynb --out autograder.zip \\
        [--visibility visible|hidden|after_due_date|after_published] [--wheel dist/genlearn-X-py3-none-any.whl]

The zip holds what Gradescope's autograder format asks for: ``setup.sh`` (installs the CPU build of
torch and this genlearn, pinned, and bubblewrap), ``run_autograder`` (grades the submission) and the
exercise notebook with a small configuration. Gradescope runs one container per submission:
``run_autograder`` grades ``/autograder/submission/*.ipynb`` with ``genlearn grade`` - the same
self-test, limits, sandbox (when bubblewrap works in the container) and verdicts as on one machine -
and writes ``/autograder/results/results.json``: one test per exercise, with its score, its
max_score, the feedback line as output and the chosen visibility. When the grader itself fails (its
self-test, or a grader error on the submission) it writes no score and exits non-zero, so that
Gradescope shows the autograder's failure, never a 0. ``GENLEARN_AUTOGRADER_ROOT`` moves the
``/autograder`` tree (for tests).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

__all__ = ["export_gradescope", "run_autograder", "main", "CONFIG"]

CONFIG = "genlearn-autograder.json"

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder's image (Ubuntu, as root).
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq python3 python3-pip python3-venv bubblewrap >/dev/null
python3 -m venv /opt/genlearn
# the CPU build of torch (the PyPI wheel is the CUDA one, gigabytes), then genlearn pinned
/opt/genlearn/bin/pip install --quiet {torch} --index-url https://download.pytorch.org/whl/cpu
/opt/genlearn/bin/pip install --quiet {genlearn}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for each submission: grade /autograder/submission/*.ipynb into
# /autograder/results/results.json (GENLEARN_AUTOGRADER_ROOT moves /autograder, for tests).
set -euo pipefail
ROOT="${GENLEARN_AUTOGRADER_ROOT:-/autograder}"
PYTHON="${GENLEARN_PYTHON:-/opt/genlearn/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
exec "$PYTHON" -m genlearn.grading.gradescope "$ROOT"
"""


def export_gradescope(notebook: str | Path, out: str | Path, *, visibility: str = "visible",
                      wheel: str | Path | None = None, timeout: float = 60.0, memory_mb: int = 2048,
                      forbid: list[str] | tuple[str, ...] = ()) -> Path:
    """Write Gradescope's autograder zip for the exercise notebook ``notebook``; return its path."""
    import torch

    import genlearn
    from genlearn.checks.exercise import registry
    from genlearn.checks.notebook import notebook_exercises
    from genlearn.grading.gradebook import VISIBILITIES
    from genlearn.grading.sandbox import GradingError

    notebook, out = Path(notebook), Path(out)
    if visibility not in VISIBILITIES:
        raise GradingError(f"--visibility must be one of {', '.join(VISIBILITIES)}, got {visibility}")
    wanted = notebook_exercises(notebook)
    unknown = [i for i, _ in wanted if i not in registry()]
    if not wanted or unknown:
        raise GradingError(f"{notebook.name} checks no known exercise" if not wanted
                           else f"{notebook.name} checks unknown exercises: {', '.join(unknown)}")
    if out.suffix != ".zip":
        raise GradingError(f"--out must name a .zip file, got {out}")
    torch_pin = f"torch=={torch.__version__.split('+')[0]}"
    if wheel is not None:
        wheel = Path(wheel)
        if not (wheel.is_file() and wheel.suffix == ".whl"):
            raise GradingError(f"--wheel: no wheel at {wheel}")
        genlearn_pin = f'"$(pwd)/{wheel.name}" {torch_pin}'
    else:
        genlearn_pin = f"genlearn=={genlearn.__version__} {torch_pin}"
    config = {"notebook": notebook.name, "visibility": visibility, "timeout": timeout, "memory_mb": memory_mb,
              "forbid": list(forbid), "genlearn": genlearn.__version__}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP.format(torch=torch_pin, genlearn=genlearn_pin)),
                           ("run_autograder", RUN)):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o100755 << 16  # executable, as Gradescope requires
            zf.writestr(info, text)
        zf.writestr(CONFIG, json.dumps(config, indent=1) + "\n")
        zf.write(notebook, notebook.name)
        if wheel is not None:
            zf.write(wheel, wheel.name)
    os.replace(tmp, out)
    return out


def _sandbox_works() -> bool:
    """Whether bubblewrap can build a sandbox here (a container may forbid its namespaces)."""
    import subprocess

    from genlearn.grading.sandbox import bwrap_path

    bwrap = bwrap_path()
    if bwrap is None:
        return False
    try:
        return subprocess.run([bwrap, "--ro-bind", "/", "/", "--unshare-all", "true"], capture_output=True,
                              timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_autograder(root: str | Path) -> int:
    """Grade ``root/submission/*.ipynb`` against ``root/source``'s notebook into ``root/results/results.json``.
    Returns 0, or 1 when the grader failed (then no results are written: Gradescope reports its failure)."""
    from genlearn.grading.grade import grade
    from genlearn.grading.gradebook import gradescope_results
    from genlearn.grading.sandbox import GradingError

    root = Path(root)
    source, results = root / "source", root / "results"
    config = json.loads((source / CONFIG).read_text())
    results.mkdir(parents=True, exist_ok=True)
    found = sorted(p for p in (root / "submission").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    named = [p for p in found if p.name == config["notebook"]]
    start = time.perf_counter()
    if len(named) != 1 and len(found) != 1:
        why = (f"no notebook in your submission: upload {config['notebook']}" if not found else
               f"{len(found)} notebooks in your submission and none named {config['notebook']}: upload one")
        (results / "results.json").write_text(json.dumps({"score": 0, "output": why, "tests": []}, indent=1) + "\n")
        return 0
    with tempfile.TemporaryDirectory(prefix="genlearn-gradescope-") as scratch:
        subs, out = Path(scratch) / "submissions", Path(scratch) / "out"
        subs.mkdir()
        shutil.copyfile((named or found)[0], subs / "submission.ipynb")
        try:
            summary = grade(source / config["notebook"], subs, out, workers=1, timeout=config["timeout"],
                            memory_mb=config["memory_mb"], sandbox=_sandbox_works(), forbid=config["forbid"],
                            log=lambda text: None)
        except GradingError as err:
            print(f"genlearn autograder: the grader failed, no score written: {err}", file=sys.stderr)
            return 1
        g = summary.grades[0]
        feedback = (out / "feedback" / f"{g.student}.txt").read_text()
    if not g.final:
        print(f"genlearn autograder: grader error, no score written:\n{feedback}", file=sys.stderr)
        return 1
    data = gradescope_results(g, config["visibility"])
    data["execution_time"] = round(time.perf_counter() - start, 1)
    (results / "results.json").write_text(json.dumps(data, indent=1) + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return run_autograder(args[0] if args else os.environ.get("GENLEARN_AUTOGRADER_ROOT", "/autograder"))


if __name__ == "__main__":
    raise SystemExit(main())
