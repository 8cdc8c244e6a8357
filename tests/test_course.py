"""The course outside the repository: `genlearn course`, the Colab set-up cell, the release files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib
import yaml

import genlearn
from genlearn.cli import UsageError, course_root
from genlearn.course import MANIFEST, copy_course, course_files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import setup_cell  # noqa: E402

NOTEBOOKS = sorted(p for d in ("lessons", "solutions", "exercises") for p in (ROOT / d).glob("[0-9][0-9]_*.ipynb"))


def genlearn_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genlearn", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, env={**os.environ, **(env or {})})


# --- the set-up cell ------------------------------------------------------------------------
def _setup_source(path: Path) -> str:
    cell = json.loads(path.read_text())["cells"][0]
    assert cell["cell_type"] == "code" and setup_cell.TAG in cell["metadata"].get("tags", []), \
        f"{path.relative_to(ROOT)}: the first cell is not the set-up cell (run `make sync` and `make exercises`)"
    return "".join(cell["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_notebook_opens_with_the_setup_cell_for_this_version(path):
    source = _setup_source(path)
    assert f'"genlearn=={genlearn.__version__}"' in source
    assert re.findall(r"genlearn==([\w.]+)", source) == [genlearn.__version__]
    assert setup_cell.package_version() == genlearn.__version__


def test_setup_tool_is_idempotent_and_updates_the_version():
    text = (ROOT / "lessons" / "03_kl_divergence.py").read_text()
    once = setup_cell.with_setup_cell(text, "9.8.7")
    assert setup_cell.with_setup_cell(once, "9.8.7") == once
    assert once.count(setup_cell.TAG) == 1 and "genlearn==9.8.7" in once
    assert setup_cell.with_setup_cell(once, genlearn.__version__) == text
    out = subprocess.run([sys.executable, "tools/setup_cell.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


# Runs the cell with subprocess (and os.system) replaced by a recorder; "missing" hides genlearn.
RUN_CELL = """
import importlib.util, json, os, subprocess, sys
calls = []
def record(*args, **kwargs):
    calls.append([str(a) for a in args[0]] if args and isinstance(args[0], (list, tuple)) else [str(args)])
    return 0
subprocess.check_call = subprocess.call = subprocess.run = subprocess.Popen = os.system = record
if sys.argv[1] == "missing":
    real = importlib.util.find_spec
    importlib.util.find_spec = lambda name, *a: None if name == "genlearn" else real(name, *a)
else:
    assert importlib.util.find_spec("genlearn") is not None
exec(sys.stdin.read())
print(json.dumps(calls))
"""


@pytest.mark.parametrize("genlearn_is", ["importable", "missing"])
def test_setup_cell_installs_only_when_genlearn_is_missing(genlearn_is, tmp_path):
    source = _setup_source(ROOT / "exercises" / "03_kl_divergence.ipynb")
    out = subprocess.run([sys.executable, "-c", RUN_CELL, genlearn_is], input=source, capture_output=True,
                         text=True, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    calls = json.loads(out.stdout.splitlines()[-1])
    if genlearn_is == "importable":
        assert calls == []
    else:
        assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"genlearn=={genlearn.__version__}"]]


# --- genlearn course ------------------------------------------------------------------------
def test_course_twice_with_an_edit_in_between_keeps_the_edit(tmp_path):
    dest = tmp_path / "my course"
    out = genlearn_cli("course", str(dest), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(course_files(dest)) == course_files(ROOT)
    assert not any("solution" in p for p in course_files(dest))
    assert "copied" in out.stdout and "genlearn lessons" in out.stdout
    edited = dest / "exercises" / "03_kl_divergence.ipynb"
    edited.write_text(edited.read_text().replace("Your turn", "My answer is coming"))
    mine = edited.read_text()
    (dest / "lessons" / "glossary.md").unlink()
    out = genlearn_cli("course", str(dest), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert edited.read_text() == mine
    assert "kept exercises/03_kl_divergence.ipynb: you edited it, so it was not overwritten" in out.stdout
    assert "copied 1 file " in out.stdout and (dest / "lessons" / "glossary.md").is_file()
    out = genlearn_cli("course", str(dest), "--update", cwd=tmp_path)
    assert out.returncode == 0 and edited.read_text() == mine and "kept exercises/03_kl_divergence.ipynb" in out.stdout


def _fake_course(root: Path, text: str) -> Path:
    for rel in ("lessons/01_a.ipynb", "lessons/01_a.py", "lessons/glossary.md", "exercises/01_a.ipynb",
                "exercises/01_a.py"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"{rel} {text}\n")
    return root


def test_update_replaces_unedited_files_and_keeps_an_edited_pair(tmp_path):
    dest = tmp_path / "dest"
    first = copy_course(dest, source=_fake_course(tmp_path / "v1", "one"), version="1")
    assert len(first.copied) == 5 and json.loads((dest / MANIFEST).read_text())["genlearn"] == "1"
    (dest / "exercises" / "01_a.ipynb").write_text("my work\n")  # its .py pair is untouched
    v2 = _fake_course(tmp_path / "v2", "two")
    (v2 / "lessons" / "02_b.ipynb").write_text("new lesson\n")
    second = copy_course(dest, source=v2, version="2")  # no --update: only the new file arrives
    assert second.copied == ["lessons/02_b.ipynb"] and second.updated == []
    assert second.kept == ["exercises/01_a.ipynb"]
    assert set(second.outdated) == {"lessons/01_a.ipynb", "lessons/01_a.py", "lessons/glossary.md"}
    assert (dest / "lessons" / "01_a.py").read_text() == "lessons/01_a.py one\n"
    assert any("--update" in line for line in second.lines())
    third = copy_course(dest, update=True, source=v2, version="2")
    assert set(third.updated) == {"lessons/01_a.ipynb", "lessons/01_a.py", "lessons/glossary.md"}
    assert third.kept == ["exercises/01_a.ipynb"]
    assert (dest / "lessons" / "01_a.py").read_text() == "lessons/01_a.py two\n"
    assert (dest / "exercises" / "01_a.py").read_text() == "exercises/01_a.py one\n"  # the pair stays together
    assert (dest / "exercises" / "01_a.ipynb").read_text() == "my work\n"
    assert os.path.getmtime(dest / "lessons" / "01_a.py") == os.path.getmtime(dest / "lessons" / "01_a.ipynb")
    fourth = copy_course(dest, update=True, source=v2, version="2")
    assert fourth.copied == fourth.updated == fourth.outdated == [] and fourth.kept == ["exercises/01_a.ipynb"]


def test_a_file_that_was_there_before_is_never_overwritten(tmp_path):
    dest = tmp_path / "dest"
    (dest / "lessons").mkdir(parents=True)
    (dest / "lessons" / "glossary.md").write_text("my own notes\n")
    report = copy_course(dest, update=True, source=_fake_course(tmp_path / "v1", "one"), version="1")
    assert report.kept == ["lessons/glossary.md"] and (dest / "lessons" / "glossary.md").read_text() == "my own notes\n"


def test_course_refuses_a_file_as_folder(tmp_path):
    (tmp_path / "f").write_text("x")
    out = genlearn_cli("course", str(tmp_path / "f"), cwd=tmp_path)
    assert out.returncode == 2 and "not a folder" in out.stderr and "Traceback" not in out.stderr


def test_lessons_opens_a_copied_course_from_inside_or_beside_it(tmp_path):
    course = tmp_path / "genlearn-course"
    copy_course(course, source=_fake_course(tmp_path / "v1", "one"), version="1")
    assert course_root(course / "lessons") == course.resolve()
    assert course_root(tmp_path) == course.resolve()  # ./genlearn-course


def test_lessons_without_any_course_says_how_to_make_one(tmp_path, monkeypatch):
    from genlearn import cli

    monkeypatch.setattr(cli, "__file__", str(tmp_path / "site-packages" / "genlearn" / "cli.py"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(UsageError, match=re.escape("genlearn course ~/genlearn-course")):
        course_root(tmp_path)
    copy_course(tmp_path / "home" / "genlearn-course", source=_fake_course(tmp_path / "v1", "one"), version="1")
    assert course_root(tmp_path) == (tmp_path / "home" / "genlearn-course").resolve()


def test_readme_opens_every_lesson_in_colab():
    from genlearn.course import colab_url

    readme = (ROOT / "README.md").read_text()
    first_screen = readme.split("## Start in two commands")[0]
    for rel in course_files(ROOT):
        if rel.startswith("lessons/") and rel.endswith(".ipynb"):
            assert f"]({colab_url(rel)})" in first_screen, rel
    assert "pip install genlearn" in first_screen and "genlearn course" in first_screen and "make lab" in first_screen


# --- release files --------------------------------------------------------------------------
def test_version_is_written_once():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "genlearn.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(genlearn.__version__)} - \d{{4}}-\d\d-\d\d$", changelog, re.M)
    assert re.search(r"^## 0\.1\.0 ", changelog, re.M)


def _tag_check(workflow: dict) -> str:
    steps = workflow["jobs"]["build"]["steps"]
    return next(s["run"] for s in steps if s.get("name") == "the tag is the package version")


def test_release_workflow_publishes_tags_with_trusted_publishing():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    assert workflow[True]["push"]["tags"] == ["v*"]  # YAML reads the key `on` as True
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"} and publish["environment"]["name"] == "pypi"
    assert any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in publish["steps"])
    runs = " ".join(s.get("run", "") for s in workflow["jobs"]["build"]["steps"])
    assert "python -m build" in runs and "twine check" in runs


@pytest.mark.parametrize("tag_is_version", [True, False])
def test_release_refuses_a_tag_that_is_not_the_version(tag_is_version):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text())
    tag = f"v{genlearn.__version__}" if tag_is_version else "v9.9.9"
    out = subprocess.run(["bash", "-e", "-c", _tag_check(workflow)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "GITHUB_REF_NAME": tag})
    assert (out.returncode == 0) == tag_is_version, out.stdout + out.stderr
