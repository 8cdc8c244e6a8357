"""Report, per lesson, the first use of each glossary term that is not linked to the glossary.

    python tools/glossary_links.py               # report for every lesson
    python tools/glossary_links.py 05 06         # only these lessons
    python tools/glossary_links.py --check 01 02 # exit 1 if a first use is unlinked or a link is broken
    python tools/glossary_links.py --fix 05      # link every unlinked first use in the .py source

The glossary is the table in lessons/glossary.md: each row starts with
``<a id="slug"></a>**term** (alias, alias)``. In a lesson's markdown cells (headings,
inline code, math and link targets are ignored) the first use of a term, or of one of its
aliases (a trailing plural "s" is allowed), should be written as
``[term](glossary.md#slug)``. Where terms overlap ("variational autoencoder" and
"autoencoder") the longer one wins. Links to ``glossary.md#anchor`` whose anchor is not in
the glossary are reported as broken.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_exercises import ROOT  # noqa: E402

GLOSSARY = ROOT / "lessons" / "glossary.md"
ROW = re.compile(r'^\|\s*<a id="(?P<slug>[a-z0-9-]+)"></a>\*\*(?P<term>[^*]+)\*\*\s*(?:\((?P<aliases>[^)]*)\))?\s*\|')
GLOSSARY_LINK = re.compile(r"\[(?P<text>[^\]]*)\]\((?:\.\./lessons/)?glossary\.md#(?P<slug>[^)\s]*)\)")


@dataclass(frozen=True)
class Term:
    slug: str
    names: tuple[str, ...]  # the term first, then its aliases

    @property
    def pattern(self) -> re.Pattern:
        alts = sorted((r"\s+".join(re.escape(w) for w in n.split()) for n in self.names), key=len, reverse=True)
        return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?:s|es)?(?![\w-])", re.IGNORECASE)


@dataclass(frozen=True)
class Use:
    lesson: str
    line: int
    term: str
    slug: str
    linked: bool
    context: str
    column: int = 0  # where the use starts in the cell's line (without the "# " of the .py)
    text: str = ""   # the words as written


def glossary_terms(path: Path = GLOSSARY) -> list[Term]:
    """The glossary's terms in file order."""
    terms = []
    for line in path.read_text().splitlines():
        m = ROW.match(line)
        if m:
            aliases = [a.strip() for a in (m.group("aliases") or "").split(",") if a.strip()]
            terms.append(Term(m.group("slug"), (m.group("term").strip(), *aliases)))
    if not terms:
        raise ValueError(f"no terms found in {path}; rows must start with '| <a id=\"slug\"></a>**term**'")
    return terms


def _mask(text: str) -> str:
    """``text`` with headings, inline code, math and link targets blanked (same length)."""
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    text = re.sub(r"(?m)^#.*$", blank, text)
    text = re.sub(r"```.*?```", blank, text, flags=re.S)
    text = re.sub(r"`[^`\n]*`", blank, text)
    text = re.sub(r"\$\$.*?\$\$", blank, text, flags=re.S)
    text = re.sub(r"\$[^$\n]*\$", blank, text)
    text = re.sub(r"\]\([^)\s]*\)", lambda m: "]" + blank(m)[1:], text)  # keep the bracket, blank the target
    text = re.sub(r"<[^>\n]*>", blank, text)
    return text


def _cells(py: Path) -> list[tuple[int, str]]:
    """(first line of the cell's text in the .py, markdown text) for each markdown cell of a lesson."""
    cells, current, start = [], None, 0
    lines = py.read_text().splitlines()
    for i, line in enumerate(lines, 1):
        if line.startswith("# %%"):
            if current is not None:
                cells.append((start, "\n".join(current)))
            current, start = ([] if "[markdown]" in line else None), i + 1
        elif current is not None:
            current.append(line[2:] if line.startswith("# ") else ("" if line.strip() == "#" else line))
    if current is not None:
        cells.append((start, "\n".join(current)))
    return cells


def glossary_links(py: Path) -> list[tuple[int, str]]:
    """(line, anchor) of every glossary link in a lesson's markdown."""
    return [(start + text[: m.start()].count("\n"), m.group("slug"))
            for start, text in _cells(py) for m in GLOSSARY_LINK.finditer(text)]


def first_uses(py: Path, terms: list[Term]) -> list[Use]:
    """The first use of each term in a lesson, in order of appearance, and whether it is linked."""
    found: dict[str, Use] = {}
    for start, text in _cells(py):
        masked = _mask(text)
        links = [(m.start("text"), m.end("text"), m.group("slug")) for m in GLOSSARY_LINK.finditer(text)]
        hits = [(m.start(), m.end(), t) for t in terms for m in t.pattern.finditer(masked)]
        hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
        end = -1
        for a, b, term in hits:
            if a < end:  # inside a longer term ("autoencoder" in "variational autoencoder")
                continue
            end = b
            if term.slug in found:
                continue
            linked = any(la <= a and b <= lb and slug == term.slug for la, lb, slug in links)
            line = start + text[:a].count("\n")
            context = " ".join(text[max(0, a - 30): b + 30].split())
            column = a - (text.rfind("\n", 0, a) + 1)
            found[term.slug] = Use(py.name, line, term.names[0], term.slug, linked, context, column, text[a:b])
    return sorted(found.values(), key=lambda u: u.line)


def link_first_uses(py: Path, terms: list[Term]) -> int:
    """Write ``[words](glossary.md#slug)`` around every unlinked first use in ``py``; returns how many."""
    lines = py.read_text().splitlines(keepends=True)
    todo = sorted((u for u in first_uses(py, terms) if not u.linked), key=lambda u: (u.line, u.column), reverse=True)
    for use in todo:
        parts = use.text.split("\n")  # a term may wrap onto the next lines
        first, last = use.line - 1, use.line - 1 + len(parts) - 1
        start = use.column + 2  # the .py line carries "# " before the markdown
        end = (start if len(parts) == 1 else 2) + len(parts[-1])
        if lines[first][start : start + len(parts[0])] != parts[0] or lines[last][end - len(parts[-1]) : end] \
                != parts[-1]:
            raise ValueError(f"{py.name}:{use.line}: expected {use.text!r} at column {start}")
        lines[last] = f"{lines[last][:end]}](glossary.md#{use.slug}){lines[last][end:]}"
        lines[first] = f"{lines[first][:start]}[{lines[first][start:]}"
    py.write_text("".join(lines))
    return len(todo)


def lesson_files(only: list[str] | None = None) -> list[Path]:
    found = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
    return [p for p in found if not only or p.name[:2] in only or p.stem in only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lesson numbers or stems (default: all)")
    parser.add_argument("--check", action="store_true", help="exit 1 on an unlinked first use or a broken link")
    parser.add_argument("--fix", action="store_true", help="link the unlinked first uses in the .py sources "
                        "(then run tools/sync_notebooks.py)")
    args = parser.parse_args(argv)
    terms = glossary_terms()
    if args.fix:
        for py in lesson_files(args.lessons):
            print(f"{py.relative_to(ROOT)}: linked {link_first_uses(py, terms)} first uses")
    slugs = {t.slug for t in terms}
    problems = 0
    for py in lesson_files(args.lessons):
        rel = py.relative_to(ROOT)
        for line, slug in glossary_links(py):
            if slug not in slugs:
                print(f"{rel}:{line}: broken glossary link #{slug} (no such anchor in {GLOSSARY.name})")
                problems += 1
        for use in first_uses(py, terms):
            if not use.linked:
                print(f"{rel}:{use.line}: first use of '{use.term}' is not linked: "
                      f"[...](glossary.md#{use.slug})  ...{use.context}...")
                problems += 1
    if problems:
        print(f"{problems} to fix")
    return 1 if problems and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
