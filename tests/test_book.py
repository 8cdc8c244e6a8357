"""The course website (tools/build_book.py) and lecture slides (tools/build_slides.py).

Building the site executes the lessons it renders. nbval already runs every lesson in ``make
test``, so this module builds the pages of the quickest lessons listed in ``GENLEARN_BOOK_LESSONS``
(default ``02 03``; ``all`` renders every lesson, as ``make book`` does) and checks them,
plus the index and glossary pages, which list every lesson. The slides test renders one lesson's
source without executing it.
"""

import html as html_module
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import build_book  # noqa: E402
import build_slides  # noqa: E402

ALL_LESSONS = build_book.lesson_sources()
_chosen = os.environ.get("GENLEARN_BOOK_LESSONS", "02 03").split()
LESSONS = ALL_LESSONS if _chosen == ["all"] else build_book.lesson_sources(_chosen)
IMG = re.compile(r'<img[^>]+src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"')


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    pages = build_book.build_book(out, [p.stem for p in LESSONS], cache=out / "_executed", log=lambda *a: None)
    return out, pages


def _page(book, name: str) -> str:
    return (book[0] / name).read_text()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_page_has_figures_and_no_error_output(book, lesson):
    html = _page(book, f"{lesson.stem}.html")
    assert build_book.lesson_title(lesson) in html
    assert len(IMG.findall(html)) >= 1, f"{lesson.stem}.html has no figure"
    for tag in re.findall(r"<img\b[^>]*>", html):  # every picture says what it shows (issue 25)
        alt = re.search(r'\balt="([^"]*)"', tag)
        assert alt and alt.group(1).strip(), f"{lesson.stem}.html: a picture without alt text: {tag[:120]}"
    assert "Traceback (most recent call last)" not in html
    assert not re.search(r'data-mime-type="application/vnd\.jupyter\.stderr"[^>]*>\s*<pre>[^<]*Error', html)
    assert "application/vnd.jupyter.widget-view+json" not in html  # widgets are static pictures
    for src in re.findall(r'<script[^>]+src="([^"]+)"', html):  # reads offline: no CDN scripts
        assert not src.startswith(("http:", "https:", "//")), f"{lesson.stem}.html loads {src}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_widget_has_a_static_picture(book, lesson):
    nb = build_book.load_notebook(lesson)
    widget_cells = [c for c in nb.cells
                    if c.cell_type == "code" and "nbval-ignore-output" in c.metadata.get("tags", [])]
    html = _page(book, f"{lesson.stem}.html")
    assert html.count('class="genlearn-static-widget"') >= len(widget_cells)
    for block in re.findall(r'class="genlearn-static-widget".*?<p style="font-size:80%', html, flags=re.S):
        assert "data:image/png;base64," in block, "a widget's static picture has no image"


def test_navigation_links_lead_to_existing_pages(book):
    out, _ = book
    names = [f"{p.stem}.html" for p in ALL_LESSONS]
    for name in (f"{p.stem}.html" for p in LESSONS):
        i = names.index(name)
        html = _page(book, name)
        links = set(re.findall(r'<nav class="book-nav">.*?</nav>', html, flags=re.S)[0].split('href="')[1:])
        targets = {link.split('"')[0] for link in links}
        assert {"index.html", "glossary.html"} <= targets
        assert (i == 0 or names[i - 1] in targets) and (i == len(names) - 1 or names[i + 1] in targets)
        for target in re.findall(r'href="([^"#:]+\.html)', html):  # a page of this build, or a lesson's page
            assert (out / target).exists() or target in names, f"{name} links to missing {target}"
    index = _page(book, "index.html")
    assert all(f'href="{n}"' in index for n in names)


def test_glossary_links_point_at_anchors_of_the_rendered_glossary(book):
    glossary = _page(book, "glossary.html")
    anchors = set(re.findall(r'id="([^"]+)"', glossary))
    linked = 0
    for lesson in LESSONS:
        html = _page(book, f"{lesson.stem}.html")
        assert "glossary.md" not in re.sub(r"<pre.*?</pre>", "", html, flags=re.S)
        for anchor in re.findall(r'href="glossary\.html#([^"]+)"', html):
            assert anchor in anchors, f"{lesson.stem}.html links to missing glossary anchor #{anchor}"
            linked += 1
    assert linked > 0
    assert "潜在编码" in glossary


def test_equations_use_the_bundled_mathjax(book):
    pytest.importorskip("jupyter_server_mathjax")
    out, _ = book
    assert (out / "_static" / "mathjax" / "MathJax.js").exists()
    assert build_book.MATHJAX_LOCAL.replace("&", "&amp;") in _page(book, LESSONS[0].stem + ".html") or \
        build_book.MATHJAX_LOCAL in _page(book, LESSONS[0].stem + ".html")


def test_rewrite_links():
    text = "[latent code](glossary.md#latent-code), [KL](03_kl_divergence.ipynb), [v](04_vae.py#x), [w](https://x.org/a.py)"
    assert build_book.rewrite_links(text) == (
        "[latent code](glossary.html#latent-code), [KL](03_kl_divergence.html), [v](04_vae.html#x), "
        "[w](https://x.org/a.py)")


def test_the_site_hides_asserts_but_keeps_the_computation():
    src = "x = 1\n# checked in CI\nassert x == 1, (\n    'one')\nprint(x)  # assert in a comment stays\nassert x"
    assert build_book.hide_asserts(src) == "x = 1\nprint(x)  # assert in a comment stays"
    assert build_book.hide_asserts("%%time\nassert 1") == "%%time\nassert 1"  # not Python: unchanged


def test_prepare_for_web_keeps_static_pictures_and_draws_progress_bars_at_their_final_state():
    import nbformat

    nb = nbformat.v4.new_notebook()
    view = {"version_major": 2, "version_minor": 0}
    nb.cells = [nbformat.v4.new_code_cell("fit(...)", outputs=[
        nbformat.v4.new_output("display_data", data={build_book.WIDGET_MIME: {**view, "model_id": "bar"},
                                                     "text/plain": "fit: 0%"}),
        nbformat.v4.new_output("display_data", data={build_book.WIDGET_MIME: {**view, "model_id": "w"},
                                                     "text/html": "<div>picture</div>", "text/plain": "VBox()"}),
        nbformat.v4.new_output("display_data", data={build_book.WIDGET_MIME: {**view, "model_id": "other"},
                                                     "text/plain": "Button()"}),
    ])]
    state = {"bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p"]}},
             "l": {"model_name": "HTMLModel", "state": {"value": "fit: 100%"}},
             "p": {"model_name": "FloatProgressModel", "state": {"value": 10.0, "max": 10.0}}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": state}}
    build_book.prepare_for_web(nb)
    bar, picture, other = (o["data"] for o in nb.cells[0].outputs)
    assert '<progress value="10.0" max="10.0">' in bar["text/html"] and "fit: 100%" in bar["text/html"]
    assert picture["text/html"] == "<div>picture</div>"
    assert "run the notebook" in other["text/html"]
    assert all(build_book.WIDGET_MIME not in d for d in (bar, picture, other)) and "widgets" not in nb.metadata


def test_lessons_carry_slide_metadata():
    problems = [p for py in LESSONS
                for p in build_slides.slide_metadata_problems(build_book.load_notebook(py), py.name)]
    assert not problems, "\n".join(problems)


def test_slides_for_one_lesson_hide_the_plumbing(tmp_path):
    lesson = ROOT / "lessons" / "03_kl_divergence.py"
    nb = build_book.load_notebook(lesson)
    files = build_slides.build_slides(tmp_path, ["03"], run=False, log=lambda *a: None)
    assert files == [tmp_path / "03_kl_divergence.slides.html"]
    html = files[0].read_text()
    assert html.count("<section") == 2 * build_slides.slide_count(nb) >= 10  # a slide and its (only) subslide
    text = html_module.unescape(re.sub(r"<[^>]+>", "", html))
    skipped = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "skip"]
    assert skipped
    for cell in skipped:  # the plumbing (imports) is not on the slides
        assert cell.source.strip().splitlines()[-1] not in text
    assert "kl_explorer()" in text and "Lesson 03 - KL divergence" in text
    assert "Reveal.initialize" in html
