"""The wheel as a student meets it: `pip install genlearn` in a fresh environment, then the course.

Builds the sdist and, from it, the wheel (what `python -m build` publishes), checks both with
twine and checks that the wheel carries the course and no solution. Then installs the wheel with
the pinned torch into a new virtual environment outside the repository and, from a folder
outside it too (the repository is not on sys.path), runs `genlearn course`, executes lesson 02
headless, and runs `genlearn check` on an untouched exercise (TODO, exit 1) and on the same
notebook completed with the solution's answers (PASS, exit 0). About two minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import genlearn
from genlearn.course import course_files

ROOT = Path(__file__).resolve().parent.parent
LESSON = "lessons/02_expectation.ipynb"
EXERCISE = "exercises/02_expectation.ipynb"
MARK = re.compile(r"^\s*(?P<md># )?# (?P<what>BEGIN|END) SOLUTION\s*$")

# Executes a notebook in the environment's own kernel, then reports where genlearn came from.
EXECUTE = """
import os, sys, nbformat
from nbclient import NotebookClient
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import genlearn, sys; print(genlearn.__file__); print(sys.executable)"))
client = NotebookClient(nb, kernel_name="python3", timeout=300, resources={"metadata": {"path": os.path.dirname(path)}})
client.execute()
print(nb.cells[-1].outputs[0]["text"])
"""


def solution_lines() -> set[str]:
    """Every non-trivial line between the solutions' BEGIN / END SOLUTION markers."""
    lines: set[str] = set()
    for path in (ROOT / "solutions").glob("[0-9][0-9]_*.py"):
        inside = False
        for line in path.read_text().splitlines():
            mark = MARK.match(line)
            if mark:
                inside = mark.group("what") == "BEGIN"
                continue
            text = line.strip().removeprefix("# ").strip()
            if inside and len(text) >= 8 and not text.startswith("#"):
                lines.add(text)
    assert len(lines) > 20, "no solution blocks found: the check below would prove nothing"
    return lines


def run(cmd: list, **kwargs) -> subprocess.CompletedProcess:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert out.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def check_dists(dist: Path) -> Path:
    """The sdist and wheel are named for this version, pass twine, carry the course and no solution."""
    version = genlearn.__version__
    wheel, sdist = dist / f"genlearn-{version}-py3-none-any.whl", dist / f"genlearn-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    run([sys.executable, "-m", "twine", "check", "--strict", wheel, sdist])
    with zipfile.ZipFile(wheel) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    with tarfile.open(sdist) as tf:
        sdist_names = tf.getnames()
    prefix = "genlearn/_course/"
    shipped = {name[len(prefix):]: data for name, data in members.items() if name.startswith(prefix)}
    assert set(shipped) == set(course_files(ROOT))
    assert {"lessons/glossary.md", LESSON, EXERCISE} <= set(shipped)
    assert all(shipped[rel] == (ROOT / rel).read_bytes() for rel in shipped)
    for names in (members, sdist_names):
        assert not [n for n in names if "solutions/" in n or "/solutions" in n]
    solution_files = {p.read_bytes() for p in (ROOT / "solutions").iterdir() if p.is_file()}
    assert not [n for n, data in members.items() if data in solution_files]
    answers = solution_lines()
    leaks = [(rel, line) for rel, data in shipped.items() for line in answers if line in data.decode()]
    assert not leaks, f"solution text in the wheel's course: {leaks[:5]}"
    return wheel


def complete_with_solutions(exercise: Path, solution: Path) -> int:
    """Put the solution's answer into each unfinished cell of the exercise notebook; how many."""
    nb, answers = json.loads(exercise.read_text()), json.loads(solution.read_text())
    by_id = {cell["id"]: cell for cell in answers["cells"]}
    done = 0
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "raise NotImplementedError" in "".join(cell["source"]):
            cell["source"] = by_id[cell["id"]]["source"]
            done += 1
    exercise.write_text(json.dumps(nb, indent=1))
    return done


def scratch_root(fallback: Path) -> Path:
    """Memory-backed /dev/shm when it has room and allows executables: the environment's 40,000 files
    are written and removed there in seconds (removing them from a disk mounted with `discard` took
    minutes); else ``fallback``."""
    shm = Path("/dev/shm")
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
        options = next(line.split()[3] for line in reversed(mounts) if line.split()[1] == str(shm))
        stat = os.statvfs(shm)
    except (OSError, StopIteration, IndexError):
        return fallback
    roomy = stat.f_bavail * stat.f_frsize > 6 * 2**30
    return shm if roomy and "noexec" not in options.split(",") and os.access(shm, os.W_OK) else fallback


def check_gradescope(tmp: Path, genlearn_cmd: Path, py: Path, wheel: Path, solved: Path, untouched_source: Path,
                     env: dict) -> None:
    """`genlearn export gradescope` with the wheel; `run_autograder` on a solution, an untouched and a cheating
    submission (the answer-key import) gives them what they earned."""
    bundle = tmp / "autograder.zip"
    run([genlearn_cmd, "export", "gradescope", solved, "--out", bundle, "--wheel", wheel], env=env)
    with zipfile.ZipFile(bundle) as zf:
        assert wheel.name in zf.namelist() and wheel.name in zf.read("setup.sh").decode()
    solution_text = solved.read_text()
    nb = json.loads(solution_text)
    untouched = json.loads((ROOT / "exercises" / solved.name).read_text())
    cheat = json.loads(solution_text)  # its first exercise reaches for the checker instead of an answer
    first = re.search(r"check\(['\"]\w+['\"], (\w+)\)", "".join("".join(c["source"]) for c in nb["cells"]
                                                              if c["cell_type"] == "code")).group(1)
    for cell in cheat["cells"]:
        if cell["cell_type"] == "code" and f"def {first}(" in "".join(cell["source"]):
            cell["source"] = (f"def {first}(*args, **kwargs):\n    from genlearn.checks.expectation import registry\n"
                              "    return registry\n")
    n = sum(1 for cell in nb["cells"] if cell["cell_type"] == "code" and "check(" in "".join(cell["source"]))
    scores = {}
    for name, text in (("solution", solution_text), ("untouched", json.dumps(untouched)), ("cheat", json.dumps(cheat))):
        root = tmp / f"autograder-{name}"
        (root / "submission").mkdir(parents=True)
        with zipfile.ZipFile(bundle) as zf:
            zf.extractall(root / "source")
        (root / "source" / "run_autograder").chmod(0o755)
        (root / "submission" / solved.name).write_text(text)
        run(["bash", root / "source" / "run_autograder"],
            env={**env, "GENLEARN_AUTOGRADER_ROOT": str(root), "GENLEARN_PYTHON": str(py)})
        results = json.loads((root / "results" / "results.json").read_text())
        scores[name] = (results["score"], len(results["tests"]))
    tests = scores["solution"][1]
    assert n >= 1 and tests >= 2 and scores["solution"][0] == tests, scores
    assert scores["untouched"][0] == 0 and scores["cheat"][0] == tests - 1, scores


def test_the_wheel_installed_in_a_fresh_environment_runs_the_course(tmp_path):
    with tempfile.TemporaryDirectory(prefix="genlearn-wheel-", dir=scratch_root(tmp_path)) as scratch:
        run_as_a_student(Path(scratch))


def run_as_a_student(tmp_path: Path) -> None:
    start = time.monotonic()
    dist, venv, home, work = (tmp_path / d for d in ("dist", "venv", "home", "work"))
    for folder in (home, work):
        folder.mkdir()
    run([sys.executable, "-m", "build", "--outdir", dist, ROOT])  # the sdist, then the wheel built from it
    wheel = check_dists(dist)
    built = time.monotonic()

    run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    py, bin_ = venv / "bin" / "python", venv / "bin"
    run([py, "-m", "pip", "install", "--no-compile", "--quiet", "-c", ROOT / "constraints.txt", wheel, "ipykernel",
         "nbclient"], cwd=work)
    installed = time.monotonic()

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(PATH=f"{bin_}{os.pathsep}{env.get('PATH', '')}", HOME=str(home), GENLEARN_DEVICE="cpu",
               OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               JUPYTER_CONFIG_DIR=str(home / "jupyter"), JUPYTER_DATA_DIR=str(home / "jupyter-data"),
               JUPYTER_RUNTIME_DIR=str(home / "jupyter-runtime"), MPLCONFIGDIR=str(home / "mpl"))
    genlearn_cmd = bin_ / "genlearn"

    where = run([py, "-c", "import genlearn, sys; print(genlearn.__file__); print(genlearn.__version__); "
                 "print(sys.path)"], cwd=work, env=env).stdout.splitlines()
    assert Path(where[0]).is_relative_to(venv) and where[1] == genlearn.__version__
    assert str(ROOT) not in where[2]

    # no course yet: `genlearn lessons` says how to make one
    out = subprocess.run([genlearn_cmd, "lessons", "--print-command"], capture_output=True, text=True, cwd=work,
                         env=env, timeout=120)
    assert out.returncode == 2 and "genlearn course ~/genlearn-course" in out.stderr, out.stderr

    course = work / "course"
    out = run([genlearn_cmd, "course", "course"], cwd=work, env=env)
    assert "copied" in out.stdout
    assert course_files(course) == course_files(ROOT)
    out = run([genlearn_cmd, "lessons", "--print-command"], cwd=course / "exercises", env=env)
    assert f"--ServerApp.root_dir={course.resolve()}" in out.stdout

    out = run([py, "-c", EXECUTE, course / LESSON], cwd=work, env=env)
    kernel_genlearn, kernel_python = out.stdout.strip().splitlines()[-2:]
    assert Path(kernel_genlearn).is_relative_to(venv) and Path(kernel_python).is_relative_to(venv)
    executed = time.monotonic()

    exercise = course / EXERCISE
    out = subprocess.run([genlearn_cmd, "check", exercise], capture_output=True, text=True, cwd=course, env=env,
                         timeout=300)
    assert out.returncode == 1 and "[TODO]" in out.stdout and "[PASS]" not in out.stdout, out.stdout + out.stderr

    assert complete_with_solutions(exercise, ROOT / "solutions" / Path(EXERCISE).name) >= 2
    completed = exercise.read_text()
    out = subprocess.run([genlearn_cmd, "check", exercise], capture_output=True, text=True, cwd=course, env=env,
                         timeout=300)
    assert out.returncode == 0 and "[PASS]" in out.stdout and " 0 failed" in out.stdout, out.stdout + out.stderr
    assert "[TODO]" not in out.stdout and "[FAIL]" not in out.stdout

    # Gradescope: the autograder bundle with this wheel, run in a fake /autograder tree by the installed genlearn
    check_gradescope(tmp_path, genlearn_cmd, py, wheel, exercise, course / EXERCISE, env)

    # the completed notebook is the student's edit: copying the course again leaves it alone
    out = run([genlearn_cmd, "course", course, "--update"], cwd=work, env=env)
    assert f"kept {EXERCISE}" in out.stdout and exercise.read_text() == completed

    end = time.monotonic()
    print(f"wheel test: {end - start:.0f} s (build + twine {built - start:.0f} s, fresh venv + install "
          f"{installed - built:.0f} s, course + lesson {executed - installed:.0f} s, checks {end - executed:.0f} s)")
