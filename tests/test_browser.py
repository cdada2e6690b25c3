"""The course in a real browser: JupyterLab + headless Chromium (Debian's), driven by Playwright.

Skipped, with the reason, where Chromium or Playwright is missing. Every request that is not to the
local JupyterLab is blocked. Screenshots go to build/screenshots/.
"""

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (make test installs Debian's `chromium` as root)"),
    pytest.mark.skipif(sys.platform != "linux", reason="the browser tests run on Linux"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Colab, as closely as this machine can play it, for every kernel of a JupyterLab started with colab=True:
# google.colab is importable (so the set-up cell takes its Colab branch), %pip is recorded instead of run
# (no network), and, like Colab (googlecolab/colabtools#3373), widget messages sent from a thread of the
# user's code (not the kernel's) are dropped: a panel that updated its widgets from its training thread would
# freeze here. (ipykernel 7 handles some widget messages from JupyterLab on its own "subshell" threads;
# Colab's ipykernel 6 has none and handles them on the main thread, so those threads count as the kernel's.)
COLAB_STARTUP = """
import sys, threading, types
sys.modules.setdefault("google", types.ModuleType("google"))
sys.modules["google.colab"] = types.ModuleType("google.colab")
get_ipython().register_magic_function(lambda line: print("[%pip " + line + ": skipped, offline]"),
                                      magic_kind="line", magic_name="pip")
import ipywidgets
_send = ipywidgets.Widget._send
DROPPED_OFF_MAIN_THREAD = []
def _main_thread_only(self, msg, buffers=None):
    thread = threading.current_thread()
    if thread is not threading.main_thread() and not thread.name.startswith("subshell-"):
        DROPPED_OFF_MAIN_THREAD.append(msg)
        return None
    return _send(self, msg, buffers)
ipywidgets.Widget._send = _main_thread_only
import plotly.io
plotly.io.renderers.default = "plotly_mimetype"  # plotly's colab renderer fetches plotly.js from a CDN: offline here
"""


@contextlib.contextmanager
def jupyterlab(folder: Path, profile: str, colab: bool = False):
    """A JupyterLab server on a free localhost port, serving `folder`, with kernels on `profile`."""
    port, token = free_port(), "resnet-lab-test"
    env = dict(os.environ, RESNET_LAB_PROFILE=profile)
    if colab:
        startup = folder / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True)
        (startup / "00-colab.py").write_text(COLAB_STARTUP)
        env["IPYTHONDIR"] = str(folder / "ipython")
    log = open(folder / "lab.log", "w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={token}",
            "--LabApp.expose_app_in_browser=True",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError(
                        f"JupyterLab did not start: {(folder / 'lab.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        server.wait(30)
        log.close()


@contextlib.contextmanager
def browser(tmp_path: Path):
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
            viewport={"width": 1400, "height": 1000},
        )
        local = re.compile(r"^(http|ws)://(127\.0\.0\.1|localhost)(:\d+)?/")
        context.route("**/*", lambda route: route.continue_() if local.match(route.request.url) else route.abort())
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def open_notebook(page, url: str, token: str, name: str) -> None:
    """Open notebook `name` and wait until its kernel is idle."""
    workspace = Path(name).stem  # its own workspace: JupyterLab restores no other notebook beside it
    page.goto(f"{url}/lab/workspaces/{workspace}/tree/{name}?token={token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.wait_for_function(
        """() => { const w = window.jupyterapp.shell.currentWidget;
        const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
        return k && k.status === 'idle'; }""",
        timeout=120_000,
        polling=500,
    )


def wait_until_run(page, prompts, timeout: float) -> None:
    """Wait until every cell of the `prompts` locator shows an execution count, then check none raised."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = [p.strip() for p in prompts.all_text_contents()]
        if shown and all(re.fullmatch(r"\[\d+\]:", p) for p in shown):
            break
        time.sleep(1)
    else:
        pytest.fail(f"the cells did not finish in {timeout} s: {shown}")
    assert page.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0, "a cell raised"


def run_all(page, timeout: float) -> None:
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    wait_until_run(page, page.locator(".jp-CodeCell .jp-InputArea-prompt"), timeout)


def run_cells(page, indexes: list[int], timeout: float) -> None:
    """Run the notebook's cells at `indexes` (markdown cells count), in that order, as a learner would."""
    page.evaluate(
        """(indexes) => { const app = window.jupyterapp, notebook = app.shell.currentWidget.content;
        for (const i of indexes) {
            notebook.deselectAll();
            notebook.activeCellIndex = i;
            app.commands.execute('notebook:run-cell');
        } }""",
        indexes,
    )
    cells = page.locator(".jp-Notebook .jp-Cell")
    prompts = [cells.nth(i).locator(".jp-InputArea-prompt") for i in indexes]
    deadline = time.monotonic() + timeout
    for prompt in prompts:
        wait_until_run(page, prompt, max(1.0, deadline - time.monotonic()))


def copy_notebook(name: str, folder: Path) -> None:
    shutil.copy(ROOT / "notebooks" / name, folder / name)  # JupyterLab may autosave: never the repo's copy


def cell_index(name: str, text: str) -> int:
    """The index of the first code cell of notebook `name` whose source contains `text`."""
    cells = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
    return next(i for i, cell in enumerate(cells) if cell.cell_type == "code" and text in cell.source)


def wait_for_text(page, locator, text: str, timeout: float = 30):
    page.wait_for_function(
        "([el, text]) => el.textContent.includes(text)", arg=[locator.element_handle(), text], timeout=timeout * 1000
    )


def wait_for_new_frame(page, image, old: str, timeout: float = 30) -> str:
    page.wait_for_function("([el, old]) => el.src !== old", arg=[image.element_handle(), old], timeout=timeout * 1000)
    return image.get_attribute("src")


def test_notebook_01_panel_on_the_colab_code_path_trains_stops_overlays_and_clears(tmp_path):
    """Notebook 01 on the Colab code path (see COLAB_STARTUP): the set-up cell, then the experiment panel.

    The panel needs nothing but the set-up cell's `profile` and `data`; nbval runs every other cell.
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = "01_degradation_problem.ipynb"
    copy_notebook(name, tmp_path)
    start = time.monotonic()
    # The cpu profile: runs last long enough (300 steps) to press Stop in the middle of one.
    with jupyterlab(tmp_path, "cpu", colab=True) as (url, token), browser(tmp_path) as page:
        open_notebook(page, url, token, name)
        run_cells(page, [1, cell_index(name, "ExperimentPanel(")], timeout=120)
        setup = page.locator(".jp-CodeCell").nth(0)
        assert "[%pip install --quiet" in setup.text_content()  # the set-up cell took its Colab branch
        assert "Colab gave this notebook no GPU" in setup.text_content()
        panel = page.locator(".widget-vbox", has=page.locator("button", has_text="Train")).last
        panel.scroll_into_view_if_needed()
        image = panel.locator("img")
        status = panel.locator(".widget-html-content").first
        assert panel.locator(".mod-active").all_text_contents() == ["none (plain)"]  # a real value, highlighted

        handle = panel.locator(".widget-slider .noUi-handle").first  # the depth slider
        handle.focus()
        handle.press("End")
        assert panel.locator(".widget-readout").first.text_content().strip() == "56"  # cpu: the largest valid depth
        panel.locator("button", has_text="A: identity").click()
        empty = image.get_attribute("src")  # a new blob URL with every frame the kernel sends
        panel.locator("button", has_text="Train").click()
        wait_for_text(page, status, "Training res-56 seed 0: step")  # the step count arrives while it trains
        frame = wait_for_new_frame(page, image, empty)
        frame = wait_for_new_frame(page, image, frame)  # and the curve keeps moving
        panel.locator("button", has_text="Train").click(force=True)  # disabled while training: no second run
        page.screenshot(path=str(SHOTS / "01-colab-panel-training.png"))
        panel.locator("button", has_text="Stop").click()
        wait_for_text(page, status, "res-56 seed 0: stopped after")
        steps = int(re.search(r"stopped after (\d+) steps", status.text_content()).group(1))
        assert 0 < steps < 300
        page.screenshot(path=str(SHOTS / "01-colab-panel-stopped.png"))

        # A second run overlays the first.
        panel.locator("button", has_text="none (plain)").click()
        stopped = image.get_attribute("src")
        panel.locator("button", has_text="Train").click()
        wait_for_text(page, status, "Training plain-56 seed 0: step")
        wait_for_new_frame(page, image, stopped)
        panel.locator("button", has_text="Stop").click()
        wait_for_text(page, status, "plain-56 seed 0: stopped after")
        panel.screenshot(path=str(SHOTS / "01-experiment-panel.png"))
        two_runs = image.get_attribute("src")

        panel.locator("button", has_text="Clear").click()
        wait_for_text(page, status, "Cleared.")
        wait_for_new_frame(page, image, two_runs)  # the empty plot again
    print(f"browser test of notebook 01 (Colab code path): {time.monotonic() - start:.0f} s")


def slider_plot(page, description: str):
    """The SliderPlot whose slider is labelled `description` (the last one), scrolled into view."""
    view = page.locator(".widget-vbox", has=page.locator(".widget-label", has_text=description)).last
    view.scroll_into_view_if_needed()
    return view


def step_slider(page, view, key: str, until_title_has: str) -> None:
    """Press `key` on the plot's slider, then wait until the redrawn figure's title contains the text."""
    handle = view.locator(".noUi-handle").first
    handle.focus()
    handle.press(key)
    # The Output widget's figure is replaced, so look the title up afresh each time.
    page.wait_for_function(
        "([el, text]) => { const t = el.querySelector('.gtitle'); return t && t.textContent.includes(text); }",
        arg=[view.element_handle(), until_title_has],
        timeout=30_000,
    )


@pytest.fixture(scope="module")
def smoke_lab(tmp_path_factory):
    """One JupyterLab on the smoke profile and one Chromium, shared by the tests of the slider plots."""
    folder = tmp_path_factory.mktemp("smoke-lab")
    with jupyterlab(folder, "smoke") as (url, token), browser(folder) as page:
        yield folder, url, token, page


@pytest.fixture
def smoke_notebook(smoke_lab):
    """Open a copy of a notebook in the shared JupyterLab; its kernel is shut down after the test."""
    folder, url, token, page = smoke_lab

    def open_copy(name: str):
        copy_notebook(name, folder)
        open_notebook(page, url, token, name)
        return page

    yield open_copy
    for session in json.load(urllib.request.urlopen(f"{url}/api/sessions?token={token}")):
        urllib.request.urlopen(
            urllib.request.Request(f"{url}/api/sessions/{session['id']}?token={token}", method="DELETE")
        )


def test_notebook_03_lambda_slider_redraws_the_plot(smoke_notebook):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = smoke_notebook("03_gradient_flow.ipynb")
    run_all(page, timeout=300)
    view = slider_plot(page, "λ")
    assert "λ = 0.9:" in view.locator(".gtitle").text_content()
    step_slider(page, view, "ArrowRight", until_title_has="λ = 0.95")  # one step of 0.05
    view.screenshot(path=str(SHOTS / "03-lambda-slider.png"))


def test_notebook_06_landscape_slider_moves_between_the_nets_and_draws_a_3d_surface(smoke_notebook):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = smoke_notebook("06_why_optimisation_gets_easier.ipynb")
    run_all(page, timeout=400)
    view = slider_plot(page, "net")
    assert "plain-32: log10 test loss" in view.locator(".gtitle").text_content()  # smoke: the deep depth is 32
    assert view.locator(".gl-container canvas").count() >= 1  # the 3-D surface is drawn with WebGL
    page.screenshot(path=str(SHOTS / "06-landscape-plain-32.png"))
    step_slider(page, view, "ArrowRight", until_title_has="res-32:")  # plain-8 -> plain-32 -> res-32
    view.screenshot(path=str(SHOTS / "06-landscape-res-32.png"))


@pytest.mark.soak
def test_notebook_01_runs_all_on_the_colab_code_path(tmp_path):
    """Every cell of notebook 01 in a real JupyterLab, with Colab's rules (see COLAB_STARTUP)."""
    name = "01_degradation_problem.ipynb"
    copy_notebook(name, tmp_path)
    with jupyterlab(tmp_path, "smoke", colab=True) as (url, token), browser(tmp_path) as page:
        open_notebook(page, url, token, name)
        run_all(page, timeout=400)
        assert "[%pip install --quiet" in page.locator(".jp-CodeCell").nth(0).text_content()
