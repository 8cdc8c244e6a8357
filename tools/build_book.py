"""Build the course website: every lesson executed and rendered to static HTML.

    python tools/build_book.py                   # build/book/: index.html, one page per lesson, glossary.html
    python tools/build_book.py --lessons 03 04   # only these lessons (the index still lists every lesson)
    python tools/build_book.py --no-execute      # render the sources without running them (no figures)

Each lessons/NN_*.py is converted to a notebook, executed in a fresh kernel (cwd
lessons/) that has the ``genlearn.widgets.static`` extension loaded, so that every
widget also carries a static picture of its default state, and rendered with
nbconvert's JupyterLab template plus a navigation bar (previous / contents /
glossary / next). Equations use the MathJax 2.7 copy shipped by the
``jupyter-server-mathjax`` package, copied into ``_static/mathjax`` (the site
reads offline); without that package the pages load MathJax from a CDN.
Links to ``glossary.md#term`` and to other lessons (``NN_name.py``/``.ipynb``)
point at the rendered pages. Executed notebooks are cached under
``<out>/_executed`` keyed by the lesson source and the genlearn sources.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import os
import re
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_exercises import ROOT, notebook_json  # noqa: E402

LESSONS = ROOT / "lessons"
GLOSSARY = LESSONS / "glossary.md"
TEMPLATES = Path(__file__).resolve().parent / "book_templates"
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
MATHJAX_LOCAL = "_static/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
STATIC_EXTENSION = "genlearn.widgets.static"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def lesson_sources(only: list[str] | None = None) -> list[Path]:
    """lessons/NN_*.py in order; ``only`` keeps those whose number (``"03"``) or stem is listed."""
    found = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
    if only:
        unknown = [k for k in only if not any(k in (p.name[:2], p.stem) for p in found)]
        if unknown:
            raise ValueError(f"no lesson {unknown}; lessons are {[p.stem for p in found]}")
        found = [p for p in found if p.name[:2] in only or p.stem in only]
    return found


def lesson_title(py: Path) -> str:
    """The first markdown heading of a lesson (``Lesson 03 - KL divergence``), else its file name."""
    for line in py.read_text().splitlines():
        m = re.match(r"^# #\s+(.*\S)", line)
        if m:
            return m.group(1)
    return py.stem


def lesson_summary(py: Path) -> str:
    """The first sentence after the title heading (markdown, one line)."""
    lines, seen_title, para = py.read_text().splitlines(), False, []
    for line in lines:
        if not seen_title:
            seen_title = bool(re.match(r"^# #\s", line))
            continue
        text = line[2:] if line.startswith("# ") else ("" if line.strip() == "#" else None)
        if text is None or (not text.strip() and para):
            break
        if text.strip():
            para.append(text.strip())
    first = re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(para), maxsplit=1)[0]
    return first[:-1] + "." if first.endswith(":") else first


def load_notebook(py: Path):
    """The notebook (no outputs) that a lesson's percent-format source pairs with."""
    import nbformat

    return nbformat.reads(notebook_json(py.read_text()), as_version=4)


def _source_key(py: Path) -> str:
    h = hashlib.sha256(py.read_bytes())
    for f in sorted((ROOT / "genlearn").rglob("*.py")):
        h.update(f.relative_to(ROOT).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def kernel_env() -> dict[str, str]:
    """The environment of the executing kernels: the inline matplotlib backend (not a forced Agg)."""
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    return env


CELL_TIMEOUT = 1800  # seconds per cell: lesson cells take seconds to a few minutes; a loaded machine is slower


def execute(nb, cwd: Path = LESSONS, timeout: int = CELL_TIMEOUT, name: str = "notebook"):
    """Run every cell of ``nb`` in place (a fresh python3 kernel in ``cwd``, static widget pictures on).

    A cell that raises or runs past ``timeout`` seconds stops the build with a ValueError naming
    the notebook and the cell."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(cwd)}},
        extra_arguments=[f"--IPKernelApp.extensions={STATIC_EXTENSION}"],
    )
    try:
        client.execute(env=kernel_env())
    except (CellExecutionError, CellTimeoutError) as err:
        raise ValueError(f"{name} failed while building the book:\n{err}") from None
    return nb


def executed_notebook(py: Path, cache: Path | None, run: bool = True, log=print):
    """The lesson's notebook, executed when ``run``; reuses ``cache/<stem>.ipynb`` when its key matches."""
    import nbformat

    if not run:
        return load_notebook(py)
    key = _source_key(py)
    cached = cache / f"{py.stem}.ipynb" if cache else None
    if cached and cached.exists():
        nb = nbformat.read(cached, as_version=4)
        if nb.metadata.get("genlearn_book", {}).get("source_key") == key:
            log(f"  {py.stem}: executed notebook reused from {cached}")
            return nb
    start = time.perf_counter()
    nb = execute(load_notebook(py), name=py.name)
    seconds = time.perf_counter() - start
    nb.metadata["genlearn_book"] = {"source_key": key, "seconds": round(seconds, 1)}
    log(f"  {py.stem}: executed in {seconds:.1f} s")
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, cached)
    return nb


_LINK = re.compile(r"\]\((?P<target>[^)\s#]*)(?P<anchor>#[^)\s]*)?\)")


def rewrite_links(markdown: str) -> str:
    """Point links at rendered pages: ``glossary.md#x`` -> ``glossary.html#x``,
    ``NN_name.py``/``.ipynb`` (optionally ``../lessons/``) -> ``NN_name.html``."""

    def fix(m: re.Match) -> str:
        target, anchor = m.group("target"), m.group("anchor") or ""
        name = target.rsplit("/", 1)[-1]
        if name == "glossary.md" and target in ("glossary.md", "../lessons/glossary.md", "lessons/glossary.md"):
            return f"](glossary.html{anchor})"
        if re.fullmatch(r"[0-9][0-9]_\w+\.(py|ipynb)", name) and "/" not in target.replace("../lessons/", ""):
            return f"]({name.rsplit('.', 1)[0]}.html{anchor})"
        return m.group(0)

    return _LINK.sub(fix, markdown)


def _progress_html(model_id: str, state: dict) -> str | None:
    """A progress bar's final state (from the stored widget state) as HTML, or None if the
    model is not a box holding a progress bar."""
    box = state.get(model_id, {})
    children = [state.get(c.removeprefix("IPY_MODEL_"), {}) for c in box.get("state", {}).get("children", [])]
    if not any(c.get("model_name") in ("FloatProgressModel", "IntProgressModel") for c in children):
        return None
    parts = []
    for child in children:
        kind, st = child.get("model_name"), child.get("state", {})
        if kind in ("FloatProgressModel", "IntProgressModel"):
            parts.append(f'<progress value="{st.get("value", 0)}" max="{st.get("max", 100)}"></progress>')
        elif kind == "HTMLModel":
            parts.append(f"<span>{st.get('value', '')}</span>")
    return '<div class="genlearn-progress" style="font-family:monospace">' + " ".join(parts) + "</div>"


def hide_asserts(source: str) -> str:
    """``source`` without its top-level ``assert`` statements (and the comment lines just above one): the
    asserts keep the lesson honest in CI; the site shows the computation and its printed numbers."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:  # cell magics and the like: leave as they are
        return source
    drop: set[int] = set()
    lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, ast.Assert):
            drop.update(range(node.lineno - 1, node.end_lineno))
            k = node.lineno - 2
            while k >= 0 and lines[k].lstrip().startswith("#") and lines[k] == lines[k].lstrip():
                drop.add(k)
                k -= 1
    kept = [line for i, line in enumerate(lines) if i not in drop]
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def prepare_for_web(nb):
    """In place: static widget pictures instead of live widget views (which need a kernel),
    progress bars at their final state, no stored widget state, links pointing at rendered pages,
    the asserts hidden (:func:`hide_asserts`)."""
    widgets = nb.metadata.pop("widgets", {})
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_links(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        cell.source = hide_asserts(cell.source)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                view = data.pop(WIDGET_MIME)
                if "text/html" not in data:
                    data["text/html"] = _progress_html(view.get("model_id", ""), state) or \
                        "<p><em>(interactive widget: run the notebook to use it)</em></p>"
    return nb


def _nav(pages: list[tuple[str, str]], index: int | None) -> str:
    """prev / contents / glossary / next links for page ``index`` of ``pages`` [(file, title)]."""
    items = []
    if index is not None and index > 0:
        file, title = pages[index - 1]
        items.append(f'<a class="prev" href="{file}">&larr; {html.escape(title)}</a>')
    items.append('<a href="index.html">Contents</a>')
    items.append('<a href="glossary.html">Glossary</a>')
    after = ""
    if index is not None and index + 1 < len(pages):
        file, title = pages[index + 1]
        after = f'<a class="next" href="{file}">{html.escape(title)} &rarr;</a>'
    return '<nav class="book-nav">' + " | ".join(items) + after + "</nav>"


def exporter(mathjax_url: str):
    """nbconvert's JupyterLab HTML exporter with the course template (navigation, no CDN scripts)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", template_file="book.html.j2",
                        extra_template_paths=[str(TEMPLATES)], mathjax_url=mathjax_url)


def render(nb, title: str, nav: str, mathjax_url: str) -> str:
    """One HTML page for a (prepared) notebook."""
    nb.metadata["title"] = title
    body, _ = exporter(mathjax_url).from_notebook_node(nb, resources={"book_nav": nav})
    return body


def _markdown_notebook(text: str):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def copy_mathjax(out: Path) -> str:
    """Copy the offline MathJax into ``out/_static/mathjax``; the URL the pages use (CDN if not installed)."""
    try:
        import jupyter_server_mathjax
    except ImportError:
        print("jupyter-server-mathjax is not installed: the pages load MathJax from a CDN", file=sys.stderr)
        return MATHJAX_CDN
    src = Path(jupyter_server_mathjax.__file__).parent / "static"
    dest = out / "_static" / "mathjax"
    if not (dest / "MathJax.js").exists():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    return MATHJAX_LOCAL


MODEL_NAMES = {"ae": "AE (a Gaussian fitted to its codes)", "vae": "VAE", "vqvae": "VQ-VAE (PixelCNN prior)",
               "vaegan": "VAE-GAN"}


def models_markdown(out: Path) -> str | None:
    """The page of the shipped full-scale models: per model a sample grid, test images over their
    reconstructions, and its card's numbers (None when no model ships)."""
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch

    from genlearn import pretrained, recipes
    from genlearn.scale import SCALES, fashion

    names = [n for n in pretrained.PRETRAINED if (pretrained.shipped_dir() / f"{n}.json").is_file()]
    if not names:
        return None
    folder = out / "_static" / "models"
    folder.mkdir(parents=True, exist_ok=True)
    _, test = fashion(SCALES["full"])
    lines = ["# The full-scale models", "",
             "The course ships its four models trained on all 60,000 Fashion-MNIST training images with "
             "`genlearn pretrain` (the lessons' recipes at `GENLEARN_SCALE=full`), each with a model card "
             "(`genlearn/weights/NAME.json`): how it was made and what it scores on the first 1,000 test images. "
             "Frechet distances are measured in the features of the course's own Fashion-MNIST classifier (the "
             "Inception network of FID needs a download), beside the real-versus-real value; classifier "
             "confidence is its mean top-class probability, beside its value on real test images. "
             "`genlearn sample --pretrained NAME -n 64 --out grid.png` draws from a model; "
             "`genlearn.pretrained.load(NAME)` returns it after checking its SHA-256.", "",
             "| model | NLL (bits/dim) | reconstruction error | Frechet (real vs real) | confidence (real) | "
             "sharpness (real) | epochs | wall time | parameters |", "|---|---|---|---|---|---|---|---|---|"]
    sections = []
    for name in names:
        card = pretrained.card(name)
        m = card["metrics"]
        bits = "-" if m["nll_bits_per_dim"] is None else f"{m['nll_bits_per_dim']:.3f}"
        lines.append(f"| {MODEL_NAMES[name]} | {bits} | {m['reconstruction_error']:.2f} | {m['frechet']:.1f} "
                     f"({m['frechet_real_vs_real']:.1f}) | {m['confidence']:.2f} ({m['confidence_real']:.2f}) | "
                     f"{m['sharpness']:.3f} ({m['sharpness_real']:.3f}) | {card['epochs']} | "
                     f"{card['wall_seconds'] / 60:.0f} min on {card['threads']} CPU thread(s) | "
                     f"{card['parameters']:,} |")
        model = pretrained.load(name)
        samples = recipes.sample_images(model, 32, torch.Generator().manual_seed(0))
        recon = recipes.reconstruction_images(model, test.x[:16])
        figures = {
            "samples": (samples, 8, f"{MODEL_NAMES[name]}: 32 samples (seed 0)",
                        f"A grid of 32 images sampled from the full-scale {MODEL_NAMES[name]}"),
            "reconstructions": (torch.cat([test.x[:16], recon]), 16,
                                f"{MODEL_NAMES[name]}: top row 16 test images, bottom row their reconstructions",
                                f"Sixteen Fashion-MNIST test images above the full-scale {MODEL_NAMES[name]}'s "
                                "reconstructions of them"),
        }
        part = [f"## {MODEL_NAMES[name]}", "", f"`{card['command']}` at commit `{card['commit'][:12]}`, seed "
                f"{card['seed']}, {card['train_images']:,} training images, {card['epochs']} epochs on "
                f"{card['device']}; SHA-256 `{card['sha256'][:16]}...`. {m['nll_how']}.", ""]
        for kind, (images, ncols, title, alt) in figures.items():
            rows = (len(images) + ncols - 1) // ncols
            fig, axes = plt.subplots(rows, ncols, figsize=(ncols * 0.8, rows * 0.8 + 0.4))
            for ax, img in zip(axes.flat, images, strict=False):
                ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1)
            for ax in axes.flat:
                ax.axis("off")
            fig.suptitle(title, fontsize=8)
            path = folder / f"{name}-{kind}.png"
            fig.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(fig)
            part += [f"![{alt}](_static/models/{path.name})", ""]
        part += ["<details><summary>the whole card</summary>", "", "```json",
                 json.dumps(card, indent=1), "```", "", "</details>", ""]
        sections += part
    return "\n".join(lines + [""] + sections)


def build_book(out: Path, only: list[str] | None = None, run: bool = True, cache: Path | None = None,
               log=print) -> list[Path]:
    """Write the site into ``out``; returns the pages written (lessons, glossary, index)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cache = out / "_executed" if cache is None else cache
    mathjax_url = copy_mathjax(out)
    every = lesson_sources()
    pages = [(f"{py.stem}.html", lesson_title(py)) for py in every]
    written = []
    for py in lesson_sources(only):
        i = every.index(py)
        nb = prepare_for_web(executed_notebook(py, cache, run, log))
        page = out / pages[i][0]
        page.write_text(render(nb, pages[i][1], _nav(pages, i), mathjax_url))
        written.append(page)
        log(f"wrote {page}")
    if GLOSSARY.exists():
        page = out / "glossary.html"
        nb = prepare_for_web(_markdown_notebook(GLOSSARY.read_text()))
        page.write_text(render(nb, "Glossary", _nav(pages, None), mathjax_url))
        written.append(page)
    lines = ["# Generative autoencoders: the course", "",
             "AE, VAE, VQ-VAE and VAE-GAN, lesson by lesson. Each page is a lesson notebook, run once to "
             "produce its numbers and figures; widgets are shown at their default setting (open the notebook "
             "in JupyterLab to use them).", ""]
    for py, (file, title) in zip(every, pages, strict=True):
        lines.append(f"* [{title}]({file}): {lesson_summary(py)}")
    models = models_markdown(out)
    if models is not None:
        page = out / "models.html"
        page.write_text(render(prepare_for_web(_markdown_notebook(models)), "The full-scale models",
                               _nav(pages, None), mathjax_url))
        written.append(page)
        lines += ["", "[The full-scale models: samples, reconstructions and model cards](models.html)"]
    lines += ["", "[Glossary (English / Chinese)](glossary.html)"]
    index = out / "index.html"
    nb = prepare_for_web(_markdown_notebook("\n".join(lines)))
    index.write_text(render(nb, "Contents", _nav(pages, None), mathjax_url))
    written.append(index)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "book", help="output folder (build/book)")
    parser.add_argument("--lessons", nargs="*", help="lesson numbers or stems to (re)build, e.g. 03 04")
    parser.add_argument("--no-execute", action="store_true", help="render without running the lessons")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    pages = build_book(args.out, args.lessons, run=not args.no_execute)
    print(f"{len(pages)} pages in {args.out} ({time.perf_counter() - start:.0f} s); open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
