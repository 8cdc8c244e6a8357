"""The English / Chinese glossary (lessons/glossary.md) and the lessons' links to it."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import glossary_links as gl  # noqa: E402

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))
# Lessons whose first uses are all linked; add a lesson here once `tools/glossary_links.py NN` is clean.
LINKED = ("01", "02", "03", "04", "05", "06", "07")
REQUIRED = {  # term -> Chinese, from the course's term list
    "latent-code": "潜在编码", "bottleneck": "瓶颈", "reparameterisation-trick": "重参数化技巧", "elbo": "证据下界",
    "codebook": "码本", "commitment-loss": "承诺损失", "posterior-collapse": "后验坍缩", "discriminator": "判别器",
    "encoder": "编码器", "decoder": "解码器", "kl-divergence": "KL散度", "monte-carlo": "蒙特卡洛",
    "importance-sampling": "重要性采样", "prior": "先验", "posterior": "后验",
    "straight-through-estimator": "直通估计", "perplexity": "困惑度",
}


def _rows() -> dict[str, list[str]]:
    rows = {}
    for line in gl.GLOSSARY.read_text().splitlines():
        m = gl.ROW.match(line)
        if m:
            assert m.group("slug") not in rows, f"duplicate anchor {m.group('slug')}"
            rows[m.group("slug")] = [c.strip() for c in line.strip().strip("|").split("|")]
    return rows


def test_glossary_has_the_course_terms_each_with_chinese_and_a_one_line_definition():
    rows = _rows()
    assert len(rows) >= 30
    for slug, cells in rows.items():
        assert len(cells) == 3, f"{slug}: expected | term | 中文 | definition |, got {cells}"
        term, chinese, definition = cells
        assert re.search(r"[\u4e00-\u9fff]", chinese), f"{slug}: no Chinese term"
        assert definition.endswith(".") and len(definition) < 220, f"{slug}: definition should be one line"
    for slug, chinese in REQUIRED.items():
        assert slug in rows and chinese in rows[slug][1], f"glossary misses {slug} ({chinese})"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_glossary_link_in_a_lesson_points_at_an_existing_anchor(lesson):
    slugs = {t.slug for t in gl.glossary_terms()}
    broken = [(line, slug) for line, slug in gl.glossary_links(lesson) if slug not in slugs]
    assert not broken, f"{lesson.name}: links to missing glossary anchors (line, anchor): {broken}"


def test_first_uses_are_linked_in_the_lessons_done_so_far():
    out = subprocess.run([sys.executable, "tools/glossary_links.py", "--check", *LINKED], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert any(gl.glossary_links(p) for p in LESSONS if p.name[:2] in LINKED)


def test_first_use_finder_on_a_small_lesson(tmp_path):
    lesson = tmp_path / "09_demo.py"
    lesson.write_text(
        "# %% [markdown]\n"
        "# # An encoder heading is ignored\n"
        "#\n"
        "# A [variational autoencoder](glossary.md#vae) has an encoder; `decoder` in code and\n"
        "# $prior$ in math do not count.\n"
        "\n"
        "# %%\n"
        "encoder = 1  # code cells do not count\n"
        "\n"
        "# %% [markdown]\n"
        "# The decoder and the encoder, then an [autoencoder](glossary.md#autoencoder).\n"
    )
    uses = {u.term: u for u in gl.first_uses(lesson, gl.glossary_terms())}
    assert uses["variational autoencoder"].linked and uses["variational autoencoder"].line == 4
    assert not uses["encoder"].linked and uses["encoder"].line == 4  # the heading's "encoder" is skipped
    assert not uses["decoder"].linked and uses["decoder"].line == 11  # not the one in backticks
    assert "prior" not in uses
    # "autoencoder" inside "variational autoencoder" is not its first use: the linked one on line 11 is
    assert uses["autoencoder"].linked and uses["autoencoder"].line == 11
