"""The course in a real browser: Notebook 1's widget in JupyterLab 4 and Notebook 7, and feedback.

Playwright for Python drives Debian's Chromium (``/usr/bin/chromium``); Playwright's own
browser download is never used. Without that browser or without playwright the module is
skipped, except when ``DLBMT_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then it fails.

JupyterLab runs on 127.0.0.1 in a copy of the student-facing course parts (the release of
Notebook 1 and ``data/``). The tests run the notebook's cells through the UI, move a slider
with the mouse and type into a number field, and assert on the DOM. Screenshots go to
``$DLBMT_SCREENSHOTS`` (default ``build/screenshots``); the README shows two of them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from course_tools import REPO, copy_course, run_dlbmt, submit
from tiny_course import ASSIGNMENT, build_tiny_course, reference_submission

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # checked below: skipped, or an error in CI
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing() -> str | None:
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM}: apt-get install chromium"
    if sync_playwright is None:
        return "playwright is not installed: pip install -e '.[dev]'"
    return None


if _missing():
    if os.environ.get("DLBMT_REQUIRE_BROWSER"):
        raise RuntimeError(f"DLBMT_REQUIRE_BROWSER is set, but {_missing()}")
    pytest.skip(_missing(), allow_module_level=True)


NOTEBOOK = "release/01_grundlagen/01_grundlagen.ipynb"
FRONTENDS = ("jupyterlab", "notebook7")
IMPORT_CELL = "# Diese Zelle nur ausführen.\nfrom dlbmt.notebook import prepare_notebook"
WIDGET_CELL = "# Diese Zelle nur ausführen.\nwidget = weight_widget_relu()"
MSE_TEXT = "Mittlerer quadratischer Fehler (MSE):"
PARAMETERS = ("w1", "b1", "w2", "w3", "b2", "b3", "w4", "w5", "b4")
AT_MOST_THREE_DECIMALS = re.compile(r"^-?\d+(\.\d{1,3})?$")
TYPED = -0.98765  # typed into b1's number field
SHOWN = "-0.988"  # what b1 then holds: three decimals, and the slider's step keeps them
# The widget must be fully visible in screenshots of this size (and they stay small).
VIEWPORT = {"width": 1400, "height": 900}
FEEDBACK_VIEWPORT = {"width": 1000, "height": 700}

# Generous limits in seconds: the first TensorFlow import alone takes ~10 s on 2 cores.
SERVER_START = 120
NOTEBOOK_OPEN = 120
CELL_RUN = 300
WIDGET_UPDATE = 60
expect.set_options(timeout=WIDGET_UPDATE * 1000)  # also for every expect() without its own

KERNEL_IDLE = (
    "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
    " === 'idle'"
)
# Finds a cell by the start of its source, makes it the active one and scrolls to it: the
# notebook attaches cells to the DOM lazily, so the cell may not exist there before.
SHOW_CELL = """async (prefix) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const index = notebook.widgets.findIndex(
    (cell) => cell.model.sharedModel.getSource().startsWith(prefix));
  if (index >= 0) {
    notebook.activeCellIndex = index;
    await notebook.scrollToItem(index, 'start');
  }
  return index;
}"""


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("DLBMT_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# --- the Jupyter server -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class JupyterServer:
    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = state / "server.log"
        settings = state / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        # No "fetch Jupyter news?" toast over the screenshots, and no requests to the internet.
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
        )
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        # The kernel finds data/ from the notebook's folder, as a student's kernel does.
        env.pop("DLBMT_DATA_DIR", None)
        env.update(
            JUPYTER_CONFIG_DIR=str(state / "config"),
            JUPYTER_RUNTIME_DIR=str(state / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(state / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
        )
        command = [
            str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
            "--ip", "127.0.0.1", "--port", str(self.port),
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.allow_root=True",
            # window.jupyterapp: the tests find cells and the kernel state through it.
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT
            )

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"jupyter lab exited:\n{self.log_tail()}")
            try:
                self.api("status")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise AssertionError(f"jupyter lab did not answer in {SERVER_START} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def shut_down_kernels(self) -> None:
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")
        for kernel in self.api("kernels"):
            self.api(f"kernels/{kernel['id']}", method="DELETE")

    def lab_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?token={self.token}"

    def notebook7_url(self, path: str) -> str:
        return f"{self.url}/notebooks/{path}?token={self.token}"

    def stop(self) -> None:
        """Kernels through the API, then the server by its pid, then any leftover child."""
        if self.process.poll() is None:
            try:
                self.shut_down_kernels()
            except (OSError, urllib.error.URLError):
                pass
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=30)
        for child in children:
            try:
                child.terminate()
            except psutil.NoSuchProcess:
                pass
        _gone, alive = psutil.wait_procs(children, timeout=10)
        for child in alive:
            child.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """JupyterLab with one untouched copy of the course's student parts for each frontend."""
    root = tmp_path_factory.mktemp("courses")
    for frontend in FRONTENDS:
        copy_course(root / frontend, ("release/01_grundlagen", "data"))
    jupyter = JupyterServer(root, tmp_path_factory.mktemp("jupyter"))
    try:
        jupyter.wait_until_ready()
        yield jupyter
    finally:
        jupyter.stop()


# --- the browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


def _only_local(route) -> None:
    """Requests leave neither the machine nor the test (e.g. MathJax from a CDN)."""
    if route.request.url.startswith(("http://127.0.0.1", "file:", "data:", "blob:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WIDGET_UPDATE * 1000)
    context.route("**/*", _only_local)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- running the notebook through the UI ------------------------------------------------


def _open_notebook(page, url: str) -> None:
    page.goto(url)
    page.wait_for_function(KERNEL_IDLE, timeout=NOTEBOOK_OPEN * 1000)


def _run_cell(page, prefix: str):
    """Select the cell that starts with ``prefix``, press Shift+Enter, wait for the kernel."""
    index = page.evaluate(SHOW_CELL, prefix)
    assert index >= 0, f"no cell starts with {prefix!r}"
    cell = page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')
    prompt = cell.locator(".jp-InputPrompt")
    expect(prompt).to_have_text("[ ]:")  # a release has no outputs
    prompt.click()
    page.keyboard.press("Shift+Enter")
    expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=CELL_RUN * 1000)
    page.wait_for_function(KERNEL_IDLE, timeout=CELL_RUN * 1000)
    # No traceback and no pink stderr block, not even TensorFlow's start-up lines.
    expect(cell.locator('[data-mime-type="application/vnd.jupyter.stderr"]')).to_have_count(0)
    return cell


class WidgetView:
    """The hand-fitting widget as rendered in a cell's output."""

    def __init__(self, page, cell) -> None:
        self.page = page
        self.cell = cell
        self.box = cell.locator(".jp-OutputArea-output > .widget-hbox")
        self.plot = cell.locator("img.widget-image")
        self.mse = cell.locator(".widget-html", has_text=MSE_TEXT)

    def slider(self, name: str):
        label = self.page.get_by_text(name, exact=True)
        return self.cell.locator(".widget-hslider").filter(has=label)

    def field(self, name: str):
        # Each parameter's row: its slider, then its number field.
        return self.slider(name).locator(
            "xpath=following-sibling::div[contains(@class, 'widget-text')][1]//input"
        )

    def state(self) -> tuple[str, str]:
        return self.plot.get_attribute("src"), self.mse.inner_text()

    def wait_rendered(self) -> None:
        expect(self.plot).to_have_attribute("src", re.compile(r"^(blob|data):"))
        expect(self.mse).to_have_text(re.compile(re.escape(MSE_TEXT) + r" \d+,\d+"))
        for name in PARAMETERS:
            expect(self.field(name)).to_have_value(AT_MOST_THREE_DECIMALS)

    def wait_changed(self, before: tuple[str, str]) -> None:
        """The plot and the MSE text both differ from ``before``, and the kernel is done."""
        src, mse = before
        expect(self.plot).not_to_have_attribute("src", src)
        expect(self.mse).not_to_have_text(mse)
        self.page.wait_for_function(KERNEL_IDLE, timeout=WIDGET_UPDATE * 1000)

    def drag_slider(self, name: str, pixels: float) -> None:
        """Press the slider's handle with the mouse and drag it sideways by ``pixels``."""
        handle = self.slider(name).locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        for _attempt in range(3):
            # The notebook keeps adjusting its scroll position for a moment after a cell ran
            # (it measures cells as they come into view); a press must not miss the handle.
            x, y = _resting_centre(handle)
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            try:
                expect(handle).to_have_class(re.compile(r"\bnoUi-active\b"), timeout=2000)
                break
            except AssertionError:
                self.page.mouse.up()
        else:
            raise AssertionError(f"the mouse could not take hold of the slider {name}")
        self.page.mouse.move(x + pixels, y, steps=10)
        self.page.mouse.up()

    def type_number(self, name: str, text: str) -> None:
        field = self.field(name)
        field.click()
        field.press("ControlOrMeta+a")
        field.press_sequentially(text)
        field.press("Enter")

    def screenshot(self, path: Path) -> None:
        """The page with the widget cell at the top; the whole widget must be in view."""
        self.cell.evaluate("(node) => node.scrollIntoView({block: 'start'})")
        self.page.mouse.move(1, VIEWPORT["height"] - 1)  # no hover effects in the picture
        self.page.wait_for_timeout(300)  # let the notebook settle after scrolling
        box = self.box.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= VIEWPORT["height"], box
        assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"], box
        self.page.screenshot(path=path)


def _resting_centre(locator, still_for: float = 1.0, timeout: float = 30.0):
    """The centre of ``locator`` once it has not moved for ``still_for`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        box = locator.bounding_box()
        if box != last:
            last, since = box, time.monotonic()
        elif time.monotonic() - since >= still_for:
            return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        time.sleep(0.1)
    raise AssertionError(f"{locator} kept moving for {timeout} s")


def _exercise_widget(page, url: str, screenshot: Path) -> None:
    try:
        _drive_widget(page, url, screenshot)
    except Exception:
        # What the browser showed when it failed, for the CI log's reader.
        page.screenshot(path=screenshot.with_name(f"failed_{screenshot.name}"))
        raise


def _drive_widget(page, url: str, screenshot: Path) -> None:
    _open_notebook(page, url)
    _run_cell(page, IMPORT_CELL)
    widget = WidgetView(page, _run_cell(page, WIDGET_CELL))
    widget.wait_rendered()

    before = widget.state()
    w1 = widget.field("w1").input_value()
    widget.drag_slider("w1", 40)
    widget.wait_changed(before)
    expect(widget.field("w1")).not_to_have_value(w1)
    expect(widget.field("w1")).to_have_value(AT_MOST_THREE_DECIMALS)

    before = widget.state()
    widget.type_number("b1", str(TYPED))
    widget.wait_changed(before)
    # The typed value holds, rounded to three decimals (the browser snaps a slider's value
    # to its step, so a coarser step would cut it further).
    expect(widget.field("b1")).to_have_value(SHOWN)
    for name in PARAMETERS:
        expect(widget.field(name)).to_have_value(AT_MOST_THREE_DECIMALS)
    widget.screenshot(screenshot)


def test_widget_in_jupyterlab(server, page):
    server.shut_down_kernels()
    url = server.lab_url(f"jupyterlab/{NOTEBOOK}")
    _exercise_widget(page, url, screenshot_dir() / "jupyterlab_widget.png")


def test_widget_in_notebook7(server, page):
    server.shut_down_kernels()  # JupyterLab's kernel holds TensorFlow in memory
    url = server.notebook7_url(f"notebook7/{NOTEBOOK}")
    _exercise_widget(page, url, screenshot_dir() / "notebook7_widget.png")


# --- the feedback page ------------------------------------------------------------------


def _build_feedback(root: Path) -> Path:
    """Provisional feedback of the TensorFlow-free tiny course: its free text waits for grading."""
    course = build_tiny_course(root)
    run_dlbmt(course, "release", ASSIGNMENT)
    submit(course, "anna", ASSIGNMENT, reference_submission(course))
    run_dlbmt(course, "autograde", ASSIGNMENT)
    run_dlbmt(course, "feedback", ASSIGNMENT, "--provisional")
    return course / "feedback" / "anna" / ASSIGNMENT / f"{ASSIGNMENT}.html"


@pytest.fixture(scope="module", autouse=True)
def feedback_html(tmp_path_factory):
    """Built in the background while the widget tests run (it takes ~30 s)."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        yield executor.submit(_build_feedback, tmp_path_factory.mktemp("tiny") / "course")


def test_feedback_page_is_german_and_honest(feedback_html, page):
    html = feedback_html.result(timeout=600)
    page.set_viewport_size(FEEDBACK_VIEWPORT)
    page.goto(html.as_uri())
    heading = page.locator("h4").first
    expect(heading).to_have_text(re.compile(r"\d+ von \d+ Punkten \(vorläufig\)"))
    expect(page.locator(".dlbmt-pending")).to_contain_text("Vorläufige Rückmeldung")
    expect(page.locator("#toc")).to_contain_text("Automatische Prüfung")
    expect(page.locator("#toc")).to_contain_text("Freitextantwort")
    labels = page.locator(".nbgrader-label")
    expect(labels.filter(has_text="Ihre Antwort")).not_to_have_count(0)
    # The free-text answer waits for grading by hand: not 0 points, but "noch nicht bewertet".
    pending = page.locator(".nbgrader_cell .panel-heading", has_text="noch nicht bewertet")
    expect(pending).to_have_count(1)
    expect(pending).to_contain_text("Ihre Antwort")

    text = page.locator("body").inner_text()
    for english in ("Student's answer", "Written response", "Score:", "Test cell", "In [", "Out["):
        assert english not in text, english
    source = page.content()
    for hidden in ("BEGIN HIDDEN TESTS", "Recorder("):
        assert hidden not in source, hidden
    page.screenshot(path=screenshot_dir() / "feedback.png", full_page=True)
