"""Drive the lessons in a real browser: JupyterLab (headless server) in Debian's Chromium, via Playwright.

    python tools/lab_browser.py 03 04        # run lessons 03 and 04, move a slider, screenshots in build/browser/
    python tools/lab_browser.py 03 --shot docs/browser-lesson.png   # also save a small screenshot there

For each lesson: a temporary copy of its notebook is opened in JupyterLab (the lesson
files are never touched), the kernel is awaited (status bar "Idle"), "Run All Cells" is
chosen from the Run menu (once more if it was lost), every cell must finish without a
traceback, then the first widget slider is moved twice with the keyboard and its readout
and picture must change. The server runs on 127.0.0.1 with a random token; every
Jupyter/IPython/matplotlib directory and HOME point into a temporary folder, and the
server (with its kernels) is stopped at the end. Never downloads a browser: Chromium
comes from the system (``apt-get install chromium``; another Chromium-based browser via
``GENLEARN_CHROMIUM=/path/to/it``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("GENLEARN_CHROMIUM", "/usr/bin/chromium"))  # e.g. /usr/bin/google-chrome
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SHOTS = ROOT / "build" / "browser"
# JupyterLab settings for a quiet, fully rendered notebook: no news toast, no update check,
# every cell in the DOM (windowing off), no autosave racing the test.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
ISOLATED_DIRS = ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                 "XDG_DATA_HOME")


class BrowserCheckError(AssertionError):
    """A lesson misbehaved in the browser (the message says which step)."""


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def page_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}&reset"


@dataclass
class LessonResult:
    notebook: str
    seconds: dict[str, float] = field(default_factory=dict)
    run_all_attempts: int = 0
    readouts: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(tmp: Path) -> dict[str, str]:
    """The server's environment: HOME and every Jupyter/IPython/matplotlib directory under ``tmp``."""
    env = dict(os.environ)
    for var in ISOLATED_DIRS:
        env[var] = str(tmp / var.lower())
        Path(env[var]).mkdir(parents=True, exist_ok=True)
    env.pop("MPLBACKEND", None)  # the kernels must use the inline backend, as for a student
    env["PYTHONNOUSERSITE"] = "1"
    settings = Path(env["JUPYTERLAB_SETTINGS_DIR"])
    for name, value in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    return env


@contextlib.contextmanager
def lab_server(root: Path, tmp: Path, timeout: float = 120) -> Iterator[LabServer]:
    """A JupyterLab server on 127.0.0.1 serving ``root``; stopped (kernels included) on exit."""
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "jupyter-server.log"
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=isolated_env(tmp), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, proc, log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise BrowserCheckError(f"the Jupyter server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                server.api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BrowserCheckError(f"the Jupyter server did not answer within {timeout:.0f} s") from None
                time.sleep(0.3)
        yield server
    finally:
        stop_server(server)


def stop_server(server: LabServer) -> None:
    """Shut down the kernels, then the server (SIGTERM; SIGKILL after 20 s)."""
    with contextlib.suppress(Exception):
        for kernel in server.api("/api/kernels"):
            server.api(f"/api/kernels/{kernel['id']}", method="DELETE")
    proc = server.process
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def copy_lessons(stems: list[str], dest: Path) -> list[str]:
    """Copy the lessons' notebooks (without their jupytext pairing) into ``dest``; their file names."""
    names = []
    for stem in stems:
        matches = sorted((ROOT / "lessons").glob(f"{stem}*.ipynb")) if len(stem) == 2 else \
            [ROOT / "lessons" / f"{stem}.ipynb"]
        if not matches or not matches[0].exists():
            raise ValueError(f"no lesson notebook for {stem!r} in lessons/")
        nb = json.loads(matches[0].read_text())
        nb["metadata"].pop("jupytext", None)  # no paired .py written next to the copy
        (dest / matches[0].name).write_text(json.dumps(nb, indent=1))
        names.append(matches[0].name)
    return names


@contextlib.contextmanager
def chromium(env: dict[str, str] | None = None, headless: bool = True):
    """A Playwright browser on the system's Chromium; ``env`` (e.g. :func:`isolated_env`) keeps its
    profile and crash reports out of the home directory."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=headless, args=CHROMIUM_ARGS,
                                    env=env)
        try:
            yield browser
        finally:
            browser.close()


STATUS = "#jp-main-statusbar"
IDLE = re.compile(r"\(ipykernel\)\s*\|\s*Idle")


def _status(page) -> str:
    """The status bar's text ('' while JupyterLab has not drawn it yet)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return page.locator(STATUS).inner_text(timeout=2000)
    except PlaywrightError:
        return ""


def _wait(condition, timeout: float, what: str, every: float = 0.25):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BrowserCheckError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def _dismiss_toasts(page) -> None:
    """Answer "No" to the news notification (and close any other toast) if one is shown."""
    for button in page.locator(".Toastify__toast button", has_text=re.compile(r"^\s*No\s*$")).all():
        with contextlib.suppress(Exception):
            button.click(timeout=1000)
    for close in page.locator(".Toastify__toast .jp-toast-close, .Toastify__close-button").all():
        with contextlib.suppress(Exception):
            close.click(timeout=1000)


def _prompts(page) -> list[str]:
    return page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def _run_all(page) -> None:
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
    page.locator(".lm-Menu .lm-Menu-item", has_text="Run All Cells").first.click()


def _started(page) -> bool:
    prompts = _prompts(page)
    return any("*" in p or re.search(r"\d", p) for p in prompts)


def _finished(page, n_code: int) -> bool:
    prompts = _prompts(page)
    done = sum(bool(re.search(r"\[\d+\]", p)) for p in prompts)
    return done == n_code and not any("*" in p for p in prompts) and bool(IDLE.search(_status(page)))


def _errors(page) -> list[str]:
    texts = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    return [t for t in texts if "Traceback" in t or re.search(r"^\w*Error\b", t, re.M)]


def _img_src(locator) -> str:
    return locator.evaluate("el => el.currentSrc || el.src") if locator.count() else ""


def _wait_for_run(page, n_code: int, stall_timeout: float, notebook: str) -> None:
    """Wait until every code cell has run (or one raised). Fails only when no cell finishes for
    ``stall_timeout`` seconds: a busy machine makes a lesson slow, not wrong."""
    done, deadline = -1, 0.0
    while True:
        if _finished(page, n_code) or _errors(page):
            return
        now_done = sum(bool(re.search(r"\[\d+\]", p)) for p in _prompts(page))
        if now_done != done:
            done, deadline = now_done, time.monotonic() + stall_timeout
        if time.monotonic() > deadline:
            raise BrowserCheckError(f"{notebook}: no cell finished for {stall_timeout:.0f} s "
                                    f"({done} of {n_code} code cells done)")
        time.sleep(0.5)


def check_lesson(browser, server: LabServer, notebook: str, shots: Path, stall_timeout: float = 1800,
                 moves: int = 2, log=print) -> LessonResult:
    """Open ``notebook``, run all cells, move the first widget slider ``moves`` times; raise on failure.
    The lesson's kernel is shut down afterwards."""
    result = LessonResult(notebook)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        t0 = time.monotonic()
        page.goto(server.page_url(notebook), timeout=120_000)
        page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
        _wait(lambda: IDLE.search(_status(page)), 300, "the kernel status bar to read '(ipykernel) | Idle'")
        _dismiss_toasts(page)
        result.seconds["open"] = time.monotonic() - t0
        n_code = page.locator(".jp-Notebook .jp-CodeCell").count()
        if n_code == 0:
            raise BrowserCheckError(f"{notebook}: no code cells rendered")

        t0 = time.monotonic()
        for attempt in (1, 2):
            result.run_all_attempts = attempt
            _run_all(page)
            try:
                _wait(lambda: _started(page), 20, "'Run All Cells' to start")
                break
            except BrowserCheckError:
                if attempt == 2:
                    raise BrowserCheckError(f"{notebook}: 'Run All Cells' did not start, twice") from None
                log(f"  {notebook}: 'Run All Cells' was lost; trying again")
                _dismiss_toasts(page)
        _wait_for_run(page, n_code, stall_timeout, notebook)
        errors = _errors(page)
        if errors:
            raise BrowserCheckError(f"{notebook}: a cell raised:\n{errors[0][-2000:]}")
        result.seconds["run_all"] = time.monotonic() - t0
        _dismiss_toasts(page)

        t0 = time.monotonic()
        area = page.locator(".jp-OutputArea-output:has(.widget-slider)").first
        if area.count() == 0:
            raise BrowserCheckError(f"{notebook}: no widget slider was rendered")
        area.scroll_into_view_if_needed()
        picture = area.locator(".widget-interact .jp-OutputArea-output img, img.widget-image, .widget-image").first
        readout = area.locator(".widget-readout").first
        handle = area.locator(".widget-slider .noUi-handle").first
        _wait(lambda: _img_src(picture), 30, f"{notebook}: the widget's picture")
        result.readouts.append(readout.inner_text())
        shots.mkdir(parents=True, exist_ok=True)
        stem = Path(notebook).stem
        before = shots / f"{stem}-widget-before.png"
        area.screenshot(path=str(before))
        for _ in range(moves):
            old_src, old_readout = _img_src(picture), readout.inner_text()
            handle.focus()
            page.keyboard.press("ArrowRight")
            _wait(lambda: readout.inner_text() != old_readout, 15, f"{notebook}: the slider readout to change")  # noqa: B023
            _wait(lambda: _img_src(picture) and _img_src(picture) != old_src, 60,  # noqa: B023
                  f"{notebook}: the widget's picture to redraw after the slider moved")
            result.readouts.append(readout.inner_text())
        errors = _errors(page)
        if errors:
            raise BrowserCheckError(f"{notebook}: moving the slider raised:\n{errors[0][-2000:]}")
        result.seconds["slider"] = time.monotonic() - t0
        after = shots / f"{stem}-widget-after.png"
        area.screenshot(path=str(after))
        full = shots / f"{stem}-page.png"
        page.screenshot(path=str(full))
        result.screenshots += [before, after, full]
    except Exception:
        with contextlib.suppress(Exception):
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{Path(notebook).stem}-failure.png"))
        raise
    finally:
        context.close()
        with contextlib.suppress(Exception):  # free the kernel (CPU, memory) before the next lesson
            for session in server.api("/api/sessions"):
                if session.get("path", "").endswith(notebook):
                    server.api(f"/api/sessions/{session['id']}", method="DELETE")
    return result


def check_lessons(stems: list[str], shots: Path = SHOTS, tmp: Path | None = None, log=print,
                  on_server=None) -> list[LessonResult]:
    """Copy the lessons to a temporary folder, serve it with JupyterLab and check each in Chromium.
    ``on_server(url)`` is called once the server answers."""
    if not CHROMIUM.exists():
        raise BrowserCheckError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    owned = tmp is None
    tmp = Path(tempfile.mkdtemp(prefix="genlearn-browser-")) if owned else Path(tmp)
    try:
        root = tmp / "course"
        root.mkdir(parents=True, exist_ok=True)
        names = copy_lessons(stems, root)
        results = []
        with lab_server(root, tmp) as server, chromium(isolated_env(tmp)) as browser:
            if on_server:
                on_server(server.url)
            for name in names:
                result = check_lesson(browser, server, name, shots, log=log)
                log(f"  {name}: " + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
                    + f"; readouts {result.readouts}")
                results.append(result)
        return results
    finally:
        if owned:
            shutil.rmtree(tmp, ignore_errors=True)


def small_screenshot(src: Path, dest: Path, max_bytes: int = 200_000) -> Path:
    """Save ``src`` as a palette PNG at ``dest``, halving its size until it is under ``max_bytes``."""
    from PIL import Image

    image = Image.open(src).convert("RGB")
    while True:
        image.quantize(colors=64).save(dest, optimize=True)
        if dest.stat().st_size <= max_bytes or image.width < 400:
            return dest
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", default=["03", "04"], help="lesson numbers (default: 03 04)")
    parser.add_argument("--shots", type=Path, default=SHOTS, help="screenshot folder (build/browser)")
    parser.add_argument("--shot", type=Path, help="also save the first lesson's page screenshot here (< 200 KB)")
    args = parser.parse_args(argv)
    start = time.monotonic()
    results = check_lessons(args.lessons, args.shots)
    if args.shot:
        small_screenshot(results[0].screenshots[-1], args.shot)
        print(f"wrote {args.shot} ({args.shot.stat().st_size // 1024} KB)")
    print(f"ok: {len(results)} lessons in {time.monotonic() - start:.0f} s; screenshots in {args.shots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
