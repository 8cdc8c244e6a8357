"""`genlearn grade`: submissions the tests write, each earning only what it earned honestly.

One grading run without and one with --sandbox (module fixtures) cover: correct, partly wrong,
untouched, syntax error, hard-coded answers, monkeypatching genlearn.checks / torch / builtins at
definition time (class body, decorator, default argument), sys.exit and os._exit, an infinite
loop, a (bounded) fork bomb, a 50 GB allocation, printing gigabytes, an unreadable file, and the
sandbox's walls (file system, network).
"""

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import pytest

from genlearn.bench import grade_class as grade_bench
from genlearn.checks.exercise import registry
from genlearn.checks.steps import make_inputs

ROOT = Path(__file__).resolve().parent.parent
IDS = list(grade_bench.IDS)
SEED = 12345
TIMEOUT = 6
HEAD = "import math\nimport os\nimport sys\nimport time\nimport torch\nfrom genlearn.checks import check\n"
GOOD = grade_bench.GOOD  # one correct answer per exercise, shared with the grading benchmark
WRONG = {i: f"def {i}(*args, **kwargs):\n    return torch.zeros(())\n" for i in IDS}
STUB = {i: f"def {i}(*args, **kwargs):\n    raise NotImplementedError('Your turn')\n" for i in IDS}
HOSTILE = 'SUBMISSIONS = "{subs}"\nOUT = "{out}"\nPORT = {port}\n'


KEY_IMPORT = ("def kl_closed_form(mu, sigma):\n    from genlearn.checks.kl import _kl_normal\n"
              "    return _kl_normal(mu, sigma).to(mu.dtype)\n")
READS_SOLUTIONS = (
    "def kl_closed_form(mu, sigma):\n"
    "    import ast, glob, genlearn\n"
    "    root = os.path.dirname(os.path.dirname(genlearn.__file__))\n"
    "    source = open(glob.glob(os.path.join(root, 'solutions', '03_*.py'))[0]).read()\n"
    "    node = next(n for n in ast.parse(source).body if getattr(n, 'name', '') == 'kl_closed_form')\n"
    "    found = {'torch': torch, 'math': math}\n"
    "    exec(compile(ast.Module([node], []), 'solution', 'exec'), found)\n"
    "    return found['kl_closed_form'](mu, sigma)\n")
# hunts the verify steps and references in the process's memory: it raises (scoring 0) if one is there
GC_HUNTER = ("def kl_discrete(p, q):\n    import gc, types\n"
             "    for o in gc.get_objects():\n"
             "        if isinstance(o, types.FunctionType) and str(o.__module__).startswith('genlearn.checks') \\\n"
             "                and o.__name__ in ('_kl_normal', '_value', '_values'):\n"
             "            raise RuntimeError(f'found {o.__module__}.{o.__name__}')\n"
             "    return torch.where(p > 0, p * torch.log(p / q), 0 * p).sum()\n")


def notebook(cells: dict[str, str], extra: str = "") -> str:
    text = "".join(f"# %%\n{c}\n\n" for c in [HEAD, extra, *(cells[i] for i in IDS)] if c)
    text += "# %%\n" + "".join(f'check("{i}", {i})\n' for i in IDS)
    return jupytext.writes(jupytext.reads(text, fmt="py:percent"), fmt="ipynb")


def with_(**changes: str) -> dict[str, str]:
    return {**GOOD, **changes}


def _visible_bits_answer() -> float:
    """The answer of bits_per_dim's first case with the notebook's own seed (0): what a student sees."""
    nats, n_dims = make_inputs(registry()["bits_per_dim"], 0)[0]["args"]
    return nats / (n_dims * 0.6931471805599453)


def submissions(folder: Path, out: Path, port: int) -> dict[str, int]:
    """Write the submissions; return each one's honest score."""
    hostile = HOSTILE.format(subs=folder, out=out, port=port)
    subs = {
        "correct": (notebook(GOOD), 5),
        "partly": (notebook(with_(kl_logvar=WRONG["kl_logvar"], free_bits_kl=WRONG["free_bits_kl"])), 3),
        "untouched": (notebook(STUB), 0),
        "syntax": (notebook(with_(kl_closed_form="def kl_closed_form(mu, sigma)\n    return mu\n")), 4),
        "hardcoded": (notebook(with_(bits_per_dim=f"def bits_per_dim(nats, n_dims):\n"
                                                  f"    return {_visible_bits_answer()!r}\n")), 4),
        "patcher": (notebook({**WRONG, "bits_per_dim": GOOD["bits_per_dim"],
                              "kl_logvar": "def kl_logvar(mu, logvar, _=setattr(torch, 'allclose', "
                                           "lambda *a, **k: True)):\n    return torch.zeros(mu.shape[0])\n",
                              "free_bits_kl": "@cheat\ndef free_bits_kl(kl_per_dim, lam):\n    return 0.0\n"},
                             extra="import genlearn.checks as gc\nimport genlearn.checks.steps as gv\n"
                                   "def cheat(f):\n    gc.check = gc.run_check = lambda *a, **k: True\n"
                                   "    return f\n"
                                   "class Patch:\n    gv.judge = lambda *a, **k: None\n"
                                   "    gv.close = lambda *a, **k: None\n"
                                   "    torch.isclose = lambda *a, **k: torch.tensor(True)\n"), 1),
        "builtins_patcher": (notebook(WRONG, extra="import builtins\nclass Patch:\n"
                                                   "    builtins.isinstance = lambda *a: True\n"
                                                   "    builtins.abs = lambda x: 0\n"), 0),
        "exits": (notebook(with_(kl_closed_form="def kl_closed_form(mu, sigma):\n    sys.exit(0)\n",
                                 bits_per_dim="def bits_per_dim(nats, n_dims):\n    os._exit(0)\n")), 3),
        "definition_exit": (notebook(GOOD, extra="class Leave:\n    os._exit(0)\n"), 0),
        "loop": (notebook(with_(kl_logvar="def kl_logvar(mu, logvar):\n    while True:\n        pass\n")), 4),
        "forkbomb": (notebook(with_(kl_discrete="def kl_discrete(p, q):\n    for _ in range(300):\n"
                                                "        if os.fork() == 0:\n            os.setsid()\n"
                                                "            time.sleep(60)\n            os._exit(0)\n"
                                                "    return torch.where(p > 0, p * torch.log(p / q), 0 * p).sum()\n")),
                     4),
        "allocates_50gb": (notebook(with_(kl_logvar="def kl_logvar(mu, logvar):\n"
                                                    "    big = torch.ones(50 * 2**30, dtype=torch.uint8)\n"
                                                    "    return big.sum()\n")), 4),
        "prints_gigabytes": (notebook(with_(kl_closed_form="def kl_closed_form(mu, sigma):\n"
                                                           "    line = 'x' * 2**20\n    for _ in range(5000):\n"
                                                           "        print(line)\n    return mu\n")), 4),
        # kills the fork server that runs it: refused unless it runs as the grader's user
        "parent_killer": (notebook(with_(kl_discrete="def kl_discrete(p, q):\n    os.kill(os.getppid(), 9)\n"
                                         + GOOD["kl_discrete"].split("\n", 1)[1])), 4),
        # correct only where a wall is missing: seeing the submissions, writing the output folder, the network
        "escapes": (notebook(with_(kl_discrete="def kl_discrete(p, q):\n"
                                               "    assert 'correct.ipynb' in os.listdir(SUBMISSIONS)\n"
                                               "    return torch.where(p > 0, p * torch.log(p / q), 0 * p).sum()\n",
                                   free_bits_kl="def free_bits_kl(kl_per_dim, lam):\n"
                                                "    import socket\n"
                                                "    socket.create_connection(('127.0.0.1', PORT), timeout=1).close()\n"
                                                "    return kl_per_dim.mean(0).clamp(min=lam).sum()\n",
                                   bits_per_dim="def bits_per_dim(nats, n_dims):\n"
                                                "    try:\n        open(OUT + '/pwned.txt', 'w').write('x')\n"
                                                "    except OSError:\n        pass\n"
                                                "    return nats / (n_dims * math.log(2))\n"),
                             extra=hostile), -1),
    }
    # the answer key: the checker's reference implementation (never importable), and a solution file beside the
    # installed package (readable without --sandbox, which the warning says; absent from the sandbox)
    subs["key_import"] = (notebook(with_(kl_closed_form=KEY_IMPORT)), 4)
    subs["reads_solutions"] = (notebook(with_(kl_closed_form=READS_SOLUTIONS)), -2)
    subs["gc_hunter"] = (notebook(with_(kl_discrete=GC_HUNTER)), 5)
    for name, (text, _) in subs.items():
        (folder / f"{name}.ipynb").write_text(text)
    (folder / "unreadable.ipynb").write_text("{this is not a notebook")
    (folder / "alice").mkdir()
    (folder / "alice" / "my work.ipynb").write_text(notebook(GOOD))
    scores = {name: score for name, (_, score) in subs.items()}
    return {**scores, "unreadable": 0, "alice": 5}


def _instructor(tmp: Path) -> Path:
    path = tmp / "exercises.py"
    path.write_text("# %%\nfrom genlearn.checks import check\n\n# %%\n"
                    + "".join(f'check("{i}", {i})\n' for i in IDS))
    return path


def _processes_in(folder: Path, patience: float = 5.0) -> list[int]:
    """Processes still working in ``folder`` (where this run's fork servers and children worked) after
    ``patience`` seconds (a killed process takes a moment to vanish)."""
    deadline = time.monotonic() + patience
    while True:
        found = []
        for entry in os.listdir("/proc"):
            try:
                if entry.isdigit() and os.readlink(f"/proc/{entry}/cwd").startswith(str(folder)):
                    found.append(int(entry))
            except OSError:
                pass
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def checkout_copy(where: Path) -> Path:
    """The parts of this checkout grading touches (the package, the solutions beside it), copied to
    ``where``: a checkout two folders deep under /tmp, as CI systems and `mktemp -d` users place them."""
    shutil.copytree(ROOT / "genlearn", where / "genlearn", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "solutions", where / "solutions")
    return where


def as_unprivileged(cmd: list[str], writable: list[Path], readable: list[Path]) -> list[str]:
    """``cmd`` run as the unprivileged user ``nobody`` (from root): a bwrap view of this machine in which
    the interpreter and the ``readable`` folders are reachable (a Python under /root, a checkout under a
    0700 mktemp folder are not, for nobody), and ``writable`` belong to nobody."""
    from genlearn.grading.limits import NOBODY

    view = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/tmp", "--tmpfs", "/root"]
    made: set[Path] = {Path("/tmp"), Path("/root")}
    for path in [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), *readable, *writable]:
        for parent in reversed(path.parents):
            if parent not in made and (parent.is_relative_to("/tmp") or parent.is_relative_to("/root")):
                view += ["--perms", "0755", "--dir", str(parent)]
                made.add(parent)
        view += ["--bind", str(path), str(path)]
    for path in writable:
        for p in [path, *path.rglob("*")]:
            os.chown(p, NOBODY, NOBODY)
    return view + ["--", "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd]


def _grade(tmp: Path, sandbox: bool, nested: bool = False, unprivileged: bool = False) -> dict:
    subs, out = tmp / "submissions", tmp / "out"
    subs.mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    honest = submissions(subs, out, server.getsockname()[1])
    cwd = checkout_copy(tmp / "a" / "b" / "course") if nested else ROOT
    cmd = [sys.executable, "-m", "genlearn", "grade", str(_instructor(tmp)), str(subs), "--out", str(out),
           "--workers", "2", "--timeout", str(TIMEOUT), "--memory", "1024", "--seed", str(SEED)]
    workdir = tmp / "work"  # the grader's temporary folders, so that leftovers can be found
    workdir.mkdir()
    cmd += ["--sandbox"] if sandbox else []
    if unprivileged:
        out.mkdir()
        tmp.chmod(0o755)  # pytest made it 0700: nobody could not read the submissions
        cmd = as_unprivileged(cmd, writable=[out, workdir], readable=[cwd, tmp])
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=240,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "TMPDIR": str(workdir)})
    server.close()
    assert run.returncode == 0, run.stdout + run.stderr
    with open(out / "grades.csv") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "honest": honest, "out": out, "run": run, "leftover": _processes_in(workdir)}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("plain"), sandbox=False)


needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None and not os.environ.get("CI"),
                                 reason="bubblewrap (bwrap) is not installed; with CI=true this fails instead")


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("sandbox"), sandbox=True, nested=True)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="grading as another user needs root to become it")


@pytest.fixture(scope="module")
def sandboxed_unprivileged(tmp_path_factory):
    return _grade(tmp_path_factory.mktemp("sandbox-user"), sandbox=True, nested=True, unprivileged=True)


STATUS = {"loop": "timeout", "exits": "error", "definition_exit": "error", "unreadable": "unreadable",
          "builtins_patcher": "error"}  # it broke its own process


def _check_scores(graded: dict, escapes_score: int, solutions_score: int, at_most: set[str] | None = None,
                  also: dict[str, int] | None = None) -> None:
    rows = graded["rows"]
    honest = {**graded["honest"], "escapes": escapes_score, "reads_solutions": solutions_score, **(also or {})}
    assert set(rows) == set(honest)
    # a submission that kills the server running it (possible as the grader's own user) may lose more
    at_most = at_most if at_most is not None else {"parent_killer"} if os.geteuid() != 0 else set()
    wrong = {s: (rows[s]["total"], want) for s, want in honest.items()
             if float(rows[s]["total"]) > want or (float(rows[s]["total"]) != want and s not in at_most)}
    assert not wrong, f"student: (earned, honest): {wrong}"
    for student, row in rows.items():
        if student not in at_most:
            assert row["status"] == STATUS.get(student, "graded"), (student, row)
        assert row["max"] == "5" and sum(float(row[i]) for i in IDS) == float(row["total"])


def test_header_is_student_exercises_total_max_status(plain):
    with open(plain["out"] / "grades.csv") as f:
        assert next(csv.reader(f)) == ["student", *IDS, "total", "max", "status"]


def test_each_submission_earns_what_it_earned_honestly(plain):
    # without the sandbox a submission can see the others' folder and the network: 2 of its 3 walls
    # and read the solutions beside the package where its user may (as root, the children run as nobody, who
    # cannot enter a checkout under a 0700 folder): the README's warning says so
    at_most = {"reads_solutions"} | ({"parent_killer"} if os.geteuid() != 0 else set())
    _check_scores(plain, escapes_score=5 if os.geteuid() != 0 else 4, solutions_score=5, at_most=at_most)


def test_feedback_and_gradescope_files(plain):
    out = plain["out"]
    for student, row in plain["rows"].items():
        feedback = (out / "feedback" / f"{student}.txt").read_text()
        assert feedback.startswith(f"{student}: {row['total']} / 5 points")
        results = json.loads((out / "gradescope" / student / "results.json").read_text())
        assert results["score"] == float(row["total"]) and results["max_score"] == 5
        assert [t["name"] for t in results["tests"]] == IDS
    untouched = (out / "feedback" / "untouched.txt").read_text()
    assert "[TODO] kl_logvar" in untouched and registry()["kl_logvar"].hints[0] in untouched
    assert "syntax error in code cell" in (out / "feedback" / "syntax.txt").read_text()
    assert "timed out" in (out / "feedback" / "loop.txt").read_text()
    assert (out / "seed.txt").read_text().strip() == str(SEED)


def test_plain_grading_warns_what_it_does_not_isolate(plain):
    assert "warning: grading without --sandbox" in plain["run"].stderr
    assert "graded 20 submissions" in plain["run"].stdout


def test_no_process_outlives_grading(plain):
    assert plain["leftover"] == []


@needs_bwrap
def test_sandboxed_grading_gives_the_same_honest_scores_and_walls_hold(sandboxed):
    # from a checkout two folders deep under /tmp; no submissions folder, no network, no solutions
    _check_scores(sandboxed, escapes_score=3, solutions_score=4)
    assert not (sandboxed["out"] / "pwned.txt").exists()
    assert "warning" not in sandboxed["run"].stderr
    assert sandboxed["leftover"] == []


@needs_bwrap
@needs_root
def test_sandboxed_grading_as_an_unprivileged_user_gives_the_same_scores(sandboxed_unprivileged):
    # as the grader's own user, parent_killer's kill succeeds and its (correct) answer still comes back: 5 at most
    _check_scores(sandboxed_unprivileged, escapes_score=3, solutions_score=4, at_most={"parent_killer"},
                  also={"parent_killer": 5})
    assert not (sandboxed_unprivileged["out"] / "pwned.txt").exists()


def test_the_answer_key_is_out_of_reach_and_feedback_says_why(plain):
    feedback = (plain["out"] / "feedback" / "key_import.txt").read_text()
    assert "[FAIL] kl_closed_form" in feedback and "cannot be imported by graded code" in feedback
    assert "[PASS] kl_discrete" in (plain["out"] / "feedback" / "gc_hunter.txt").read_text()


def test_links_and_huge_files_are_unreadable_not_followed(tmp_path):
    from genlearn.grading.grade import MAX_NOTEBOOK_BYTES, find_submissions

    (tmp_path / "secret.txt").write_text("not for students")
    subs = tmp_path / "subs"
    (subs / "carol").mkdir(parents=True)
    (subs / "alice.ipynb").symlink_to(tmp_path / "secret.txt")
    with open(subs / "bob.ipynb", "wb") as f:
        f.truncate(MAX_NOTEBOOK_BYTES + 1)
    (subs / "carol" / "a.ipynb").write_text("{}")
    (subs / "carol" / "b.ipynb").write_text("{}")
    found = {student: (path, problem) for student, path, problem in find_submissions(subs, "x.ipynb")}
    assert found["alice"] == (None, "alice.ipynb is a link or not a regular file")
    assert found["bob"][0] is None and "larger than" in found["bob"][1]
    assert found["carol"][0] is None and "2 notebooks" in found["carol"][1]


def test_sandbox_without_bubblewrap_names_the_package(tmp_path):
    (tmp_path / "subs").mkdir()
    run = subprocess.run([sys.executable, "-m", "genlearn", "grade", str(_instructor(tmp_path)),
                          str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--sandbox"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={**os.environ, "PATH": str(tmp_path)})
    assert run.returncode == 2 and "bubblewrap" in run.stderr and "Traceback" not in run.stderr


def test_check_reports_a_notebook_that_ends_the_interpreter(tmp_path):
    path = tmp_path / "leaves.py"
    path.write_text("# %%\nimport os\nfrom genlearn.checks import check\n\nclass Leave:\n    os._exit(0)\n\n"
                    "def bits_per_dim(nats, n_dims):\n    return nats / (n_dims * 0.6931471805599453)\n\n"
                    "# %%\ncheck('bits_per_dim', bits_per_dim)\n")
    run = subprocess.run([sys.executable, "-m", "genlearn", "check", str(path)], capture_output=True, text=True,
                         cwd=ROOT, timeout=120)
    assert run.returncode == 1 and "[FAIL] bits_per_dim" in run.stdout and "ended the process" in run.stdout
