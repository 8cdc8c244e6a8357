"""Build reveal.js lecture slides, one HTML file per lesson (nbconvert --to slides).

    python tools/build_slides.py                  # build/slides/NN_name.slides.html, every lesson executed
    python tools/build_slides.py --lessons 03     # only lesson 03
    python tools/build_slides.py --no-execute     # slides of the sources (no outputs), in seconds
    python tools/build_slides.py --reveal-prefix reveal.js   # a local reveal.js 4 copy instead of the CDN

Slides follow the lessons' cell metadata: a markdown cell with
``slideshow={"slide_type": "slide"}`` starts a slide, ``"subslide"``/``"fragment"``
work as in JupyterLab's property inspector, and cells with ``"skip"`` (imports,
plumbing) or the tag ``hide-cell`` are left out; ``hide-input`` shows only a cell's
output. Widgets appear as static pictures of their default state. Executed
notebooks are shared with tools/build_book.py (cache ``build/book/_executed``).

reveal.js and require.js come from a CDN (the slides need a network connection)
unless ``--reveal-prefix`` points at a local reveal.js 4 copy; equations use the
offline MathJax copied into ``<out>/_static/mathjax`` when jupyter-server-mathjax is installed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_book import (  # noqa: E402
    ROOT,
    TEMPLATES,
    copy_mathjax,
    executed_notebook,
    lesson_sources,
    lesson_title,
    load_notebook,
    prepare_for_web,
)

HIDE_CELL, HIDE_INPUT = "hide-cell", "hide-input"


def slides_exporter(mathjax_url: str, reveal_prefix: str | None = None):
    """nbconvert's SlidesExporter, dropping ``hide-cell`` cells and ``hide-input`` inputs."""
    from nbconvert import SlidesExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = SlidesExporter(template_file="slides.html.j2", extra_template_paths=[str(TEMPLATES)],
                              mathjax_url=mathjax_url, reveal_scroll=True)
    if reveal_prefix:
        exporter.reveal_url_prefix = reveal_prefix
    exporter.register_preprocessor(
        TagRemovePreprocessor(remove_cell_tags={HIDE_CELL}, remove_input_tags={HIDE_INPUT}, enabled=True),
        enabled=True,
    )
    return exporter


def slide_count(nb) -> int:
    """How many top-level slides a notebook's metadata makes (the first cell always starts one)."""
    types = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in nb.cells]
    shown = [t for t, c in zip(types, nb.cells, strict=True)
             if t not in ("skip", "notes") and HIDE_CELL not in c.metadata.get("tags", [])]
    return sum(t == "slide" for t in shown[1:]) + bool(shown)


def slide_metadata_problems(nb, name: str = "notebook") -> list[str]:
    """What keeps a lesson from giving good slides: the title cell and every markdown cell that
    opens with a heading (levels 1-3) must start a slide (``slide``/``subslide``); a level 1-2
    heading must open its cell; the first code cell (imports) must be ``skip``."""
    problems = []
    first_code = True
    for i, cell in enumerate(nb.cells):
        kind = cell.metadata.get("slideshow", {}).get("slide_type")
        lines = [ln for ln in cell.source.splitlines() if ln.strip()]
        if cell.cell_type == "code":
            if first_code and kind != "skip":
                problems.append(f"{name} cell {i}: the first code cell (imports) should have slide_type 'skip'")
            first_code = False
            continue
        if cell.cell_type != "markdown" or not lines:
            continue
        opens = re.match(r"^(#{1,3})\s", lines[0])
        if (i == 0 or opens) and kind not in ("slide", "subslide"):
            problems.append(f"{name} cell {i}: '{lines[0][:60]}' should start a slide "
                            '(slideshow={"slide_type": "slide"})')
        for ln in lines[1:]:
            if re.match(r"^#{1,2}\s", ln):
                problems.append(f"{name} cell {i}: heading '{ln[:60]}' is inside the cell; start a new "
                                "markdown cell (a slide) with it")
    return problems


def build_slides(out: Path, only: list[str] | None = None, run: bool = True, cache: Path | None = None,
                 reveal_prefix: str | None = None, log=print) -> list[Path]:
    """Write ``out/NN_name.slides.html`` for each lesson; returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = ROOT / "build" / "book" / "_executed" if cache is None else cache
    mathjax_url = copy_mathjax(out)
    written = []
    for py in lesson_sources(only):
        nb = prepare_for_web(executed_notebook(py, cache, run, log))
        nb.metadata["title"] = lesson_title(py)
        body, _ = slides_exporter(mathjax_url, reveal_prefix).from_notebook_node(nb)
        path = out / f"{py.stem}.slides.html"
        path.write_text(body)
        written.append(path)
        log(f"wrote {path} ({slide_count(nb)} slides)")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides", help="output folder (build/slides)")
    parser.add_argument("--lessons", nargs="*", help="lesson numbers or stems, e.g. 03 04")
    parser.add_argument("--no-execute", action="store_true", help="slides of the sources, without outputs")
    parser.add_argument("--check", action="store_true", help="only check the lessons' slide metadata")
    parser.add_argument("--reveal-prefix", help="URL or relative path of a reveal.js 4 copy (default: CDN)")
    args = parser.parse_args(argv)
    if args.check:
        problems = [p for py in lesson_sources(args.lessons)
                    for p in slide_metadata_problems(load_notebook(py), py.name)]
        print("\n".join(problems) or "slide metadata: ok")
        return 1 if problems else 0
    start = time.perf_counter()
    files = build_slides(args.out, args.lessons, run=not args.no_execute, reveal_prefix=args.reveal_prefix)
    print(f"{len(files)} slide decks in {args.out} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
