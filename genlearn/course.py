"""The course that travels with the package: lessons, exercises and glossary, copied for a student.

The wheel carries the lesson and exercise notebooks (with their jupytext ``.py`` pairs) and the
glossary under ``genlearn/_course/``; a source checkout serves its own ``lessons/`` and
``exercises/``. :func:`copy_course` copies them into a folder and records the SHA-256 of every
file it wrote in ``.genlearn-course.json`` there, so a later copy or ``--update`` can tell a file
the student edited (never overwritten) from one that is as it was copied (replaceable). A
notebook and its ``.py`` pair count as one: if either was edited, both are left alone.

This module uses the standard library only: ``setup.py`` loads it to pick the files to ship.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COURSE_PATTERNS",
    "MANIFEST",
    "GITHUB_REPO",
    "colab_url",
    "DEFAULT_DIR",
    "CourseError",
    "CopyReport",
    "course_files",
    "course_source",
    "file_sha256",
    "copy_course",
    "is_course",
]

# What a student gets, relative to the course root; solutions/ are never part of it.
COURSE_PATTERNS = (
    "lessons/[0-9][0-9]_*.ipynb",
    "lessons/[0-9][0-9]_*.py",
    "lessons/glossary.md",
    "exercises/[0-9][0-9]_*.ipynb",
    "exercises/[0-9][0-9]_*.py",
    "jupytext.toml",
)
MANIFEST = ".genlearn-course.json"
# The repository the README's "Open in Colab" badges point at (a placeholder until it is published).
GITHUB_REPO = "genlearn/genlearn"
DEFAULT_DIR = "~/genlearn-course"
PACKAGED = Path(__file__).resolve().parent / "_course"
CHECKOUT = Path(__file__).resolve().parent.parent


class CourseError(ValueError):
    """The course cannot be found or copied; the message says why and what to do."""


def is_course(folder: Path) -> bool:
    """Whether ``folder`` holds a course: ``lessons/`` and ``exercises/`` with notebooks."""
    return (folder / "lessons").is_dir() and any((folder / "exercises").glob("[0-9][0-9]_*.ipynb"))


def course_files(root: Path) -> list[str]:
    """The course's files under ``root``, as sorted POSIX paths relative to it."""
    root = Path(root)
    return sorted({p.relative_to(root).as_posix() for pattern in COURSE_PATTERNS
                   for p in root.glob(pattern) if p.is_file()})


def course_source() -> Path:
    """Where this installation's course lives: the wheel's copy, else the source checkout."""
    for root in (PACKAGED, CHECKOUT):
        if is_course(root):
            return root
    raise CourseError(f"this genlearn installation has no course files (looked in {PACKAGED} and {CHECKOUT}); "
                      "reinstall it from a wheel: pip install --force-reinstall genlearn")


def colab_url(rel: str, branch: str = "main") -> str:
    """The Colab address that opens the repository's notebook ``rel`` (e.g. ``lessons/02_x.ipynb``)."""
    return f"https://colab.research.google.com/github/{GITHUB_REPO}/blob/{branch}/{rel}"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class CopyReport:
    """What :func:`copy_course` did, file by file (paths relative to ``dest``)."""

    dest: Path
    version: str
    copied: list[str] = field(default_factory=list)  # new in dest (first copy, new upstream, or deleted)
    updated: list[str] = field(default_factory=list)  # replaced by a newer upstream version (--update)
    kept: list[str] = field(default_factory=list)  # edited by the student: left alone
    outdated: list[str] = field(default_factory=list)  # newer upstream, unedited, waiting for --update
    unchanged: list[str] = field(default_factory=list)

    def lines(self, command: str = "genlearn course") -> list[str]:
        """A human report: one line per file that was updated, kept or is out of date."""
        out = [f"updated {p} (new version from genlearn {self.version})" for p in self.updated]
        out += [f"kept {p}: you edited it, so it was not overwritten" for p in self.kept]
        if self.outdated:
            out += [f"newer version available: {p}" for p in self.outdated]
            out.append(f"bring them with: {command} {self.dest} --update (your edited files stay as they are)")
        if self.copied:
            n = len(self.copied)
            out.append(f"copied {n} file{'s' * (n != 1)} of the genlearn {self.version} course "
                       f"into {self.dest}")
        elif not (self.updated or self.outdated):
            out.append(f"{self.dest} already holds the genlearn {self.version} course; nothing to copy")
        return out


def _group(rel: str) -> str:
    """A notebook and its jupytext pair share a group: ``lessons/03_kl.ipynb`` -> ``lessons/03_kl``."""
    stem, dot, suffix = rel.rpartition(".")
    return stem if dot and suffix in ("ipynb", "py") else rel


def _read_manifest(dest: Path) -> dict[str, str]:
    path = dest / MANIFEST
    if not path.is_file():
        return {}
    try:
        files = json.loads(path.read_text()).get("files", {})
    except (ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}


def copy_course(dest: str | os.PathLike, update: bool = False, source: Path | None = None,
                version: str | None = None) -> CopyReport:
    """Copy the course into ``dest`` (created if missing), never overwriting a student's edit.

    A file that is missing in ``dest`` is copied. A file whose content differs both from the
    upstream one and from what was copied there (per the manifest) is an edit and is kept, with
    its notebook pair. An unedited file whose upstream changed is replaced only when ``update``.
    """
    if version is None:
        from genlearn import __version__ as version
    source = Path(source) if source is not None else course_source()
    dest = Path(dest).expanduser()
    if dest.exists() and not dest.is_dir():
        raise CourseError(f"{dest} exists and is not a folder; give a folder for the course")
    if dest.resolve() == source.resolve():
        raise CourseError(f"{dest} is where the course comes from; give another folder")
    files = course_files(source)
    if not files:
        raise CourseError(f"no course files in {source}")
    manifest = _read_manifest(dest)
    report = CopyReport(dest=dest, version=version)
    groups: dict[str, list[str]] = {}
    for rel in files:
        groups.setdefault(_group(rel), []).append(rel)
    new_manifest = dict(manifest)
    for members in groups.values():
        state: dict[str, str] = {}
        for rel in members:
            target, upstream = dest / rel, file_sha256(source / rel)
            if not target.exists():
                state[rel] = "missing"
            elif not target.is_file():
                state[rel] = "edited"  # a folder where a file belongs: never touched
            else:
                have = file_sha256(target)
                state[rel] = ("same" if have == upstream else "pristine" if manifest.get(rel) == have
                              else "edited")
            if state[rel] == "same":
                new_manifest[rel] = upstream
        if "edited" in state.values():
            report.kept += [rel for rel in members if state[rel] == "edited"]
            continue
        write = [rel for rel in members if state[rel] != "same"]
        if not write:
            report.unchanged += members
            continue
        if "pristine" in state.values() and not update:
            report.outdated += [rel for rel in members if state[rel] == "pristine"]
            continue
        now = time.time()
        for rel in write:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
            new_manifest[rel] = file_sha256(target)
            (report.copied if state[rel] == "missing" else report.updated).append(rel)
        for rel in members:  # one time stamp for a pair, so jupytext sees neither side as newer
            os.utime(dest / rel, (now, now))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MANIFEST).write_text(json.dumps({"genlearn": version, "files": dict(sorted(new_manifest.items()))},
                                            indent=1) + "\n")
    return report
