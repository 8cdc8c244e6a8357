"""Build hook: the wheel carries the course as package data, ``genlearn/_course/``.

The repository keeps ``lessons/`` and ``exercises/`` at the top; this ``build_py`` copies the
files :data:`genlearn.course.COURSE_PATTERNS` names (lesson and exercise notebooks with their
jupytext pairs, the glossary; never ``solutions/``) into the build tree. Everything else about
the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent


def _course_module():
    """genlearn/course.py loaded on its own (importing genlearn would need torch at build time)."""
    spec = importlib.util.spec_from_file_location("_genlearn_course_files", ROOT / "genlearn" / "course.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


class BuildPyWithCourse(build_py):
    """``build_py`` that also copies the course into ``<build_lib>/genlearn/_course/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install serves the checkout's own lessons/ and exercises/
        files = _course_module().course_files(ROOT)
        if not any(f.startswith("exercises/") for f in files) or not any(f.startswith("lessons/") for f in files):
            raise SystemExit(f"no lessons/ or exercises/ notebooks under {ROOT}: the wheel would carry no course")
        if any(f.startswith("solutions/") for f in files):
            raise SystemExit("refusing to put solutions/ into the wheel")
        target = Path(self.build_lib) / "genlearn" / "_course"
        for rel in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / rel, target / rel)


setup(cmdclass={"build_py": BuildPyWithCourse})
