"""A real browser: lessons 03 (KL) and 01 (autoencoders) run in JupyterLab inside Debian's Chromium.

Needs /usr/bin/chromium (``apt-get install chromium``) and the ``playwright`` package (a dev
dependency; its own browser download is never used). Without Chromium the test is skipped
on a laptop, but fails in CI (``CI=true``), where .ci/run installs it, and under ``make
test-browser`` (``GENLEARN_BROWSER_REQUIRED=1``), which runs this file alone. Screenshots land
in build/browser/. ``GENLEARN_CHROMIUM`` points at another Chromium-based browser;
``GENLEARN_SKIP_BROWSER=1`` skips the test even in CI.
"""

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lab_browser  # noqa: E402

LESSONS = ["03", "01"]  # quick ones with widgets: lesson 04 trains on 28x28 images (nbval runs it)


def _require_browser() -> None:
    if os.environ.get("GENLEARN_SKIP_BROWSER"):  # an explicit opt-out (e.g. a GPU runner without a browser)
        pytest.skip("GENLEARN_SKIP_BROWSER is set")
    missing = []
    if not lab_browser.CHROMIUM.exists():
        missing.append(f"{lab_browser.CHROMIUM} (apt-get install chromium)")
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the playwright package (pip install -e '.[dev]')")
    if missing:
        message = "real-browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.environ.get("GENLEARN_BROWSER_REQUIRED"):
            pytest.fail(message + "; CI (and `make test-browser`) must run it")
        pytest.skip(message)


def _with_outputs(notebooks: list[Path]) -> list[str]:
    """Lesson notebooks that now hold outputs. The browser runs copies; a concurrent `make sync`
    may rewrite a lesson, but never with outputs, so this is what the test could have caused."""
    return [p.name for p in notebooks
            if any(c.get("outputs") or c.get("execution_count")
                   for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code")]


def test_lessons_run_and_widgets_respond_in_chromium(tmp_path):
    _require_browser()
    notebooks = sorted(p for n in LESSONS for p in (ROOT / "lessons").glob(f"{n}_*.ipynb"))
    checkpoints = ROOT / "lessons" / ".ipynb_checkpoints"
    had_checkpoints = checkpoints.exists()
    chromium_profile = Path.home() / ".config" / "chromium"
    had_profile = chromium_profile.exists()
    urls = []
    results = lab_browser.check_lessons(LESSONS, shots=ROOT / "build" / "browser", tmp=tmp_path,
                                        log=print, on_server=urls.append)
    assert [r.notebook[:2] for r in results] == LESSONS
    for r in results:
        assert len(r.readouts) == 3 and len(set(r.readouts)) == 3, f"{r.notebook}: readouts {r.readouts}"
        assert all(p.exists() and p.stat().st_size > 1000 for p in r.screenshots)
    assert not _with_outputs(notebooks), "the browser run wrote into the lesson files"
    assert had_checkpoints or not checkpoints.exists(), "lessons/.ipynb_checkpoints appeared"
    with pytest.raises(OSError):  # the server is gone
        urllib.request.urlopen(urls[0] + "/api/status", timeout=3)
    assert (tmp_path / "home").is_dir()  # HOME pointed here, not at the user's home
    assert had_profile or not chromium_profile.exists(), "Chromium wrote into ~/.config/chromium"


def test_server_environment_is_isolated_from_the_home_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    env = lab_browser.isolated_env(tmp_path)
    for var in lab_browser.ISOLATED_DIRS:
        assert Path(env[var]).is_relative_to(tmp_path) and Path(env[var]).is_dir()
    assert "MPLBACKEND" not in env  # kernels draw with the inline backend, as for a student
    news = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab/apputils-extension/notification.jupyterlab-settings"
    assert '"fetchNews": "false"' in news.read_text()


def test_lesson_copies_are_unpaired(tmp_path):
    names = lab_browser.copy_lessons(["03"], tmp_path)
    assert names == ["03_kl_divergence.ipynb"]
    copy = (tmp_path / names[0]).read_text()
    assert '"jupytext"' not in copy and '"kernelspec"' in copy
    with pytest.raises(ValueError, match="no lesson notebook"):
        lab_browser.copy_lessons(["99"], tmp_path)
