"""What readers without a kernel see: GitHub's and nbviewer's nbconvert-based renderings of the notebooks.

Every figure (plotly figures, frozen live plots, widgets) must be saved with a PNG beside it, and the
HTML that nbconvert makes must show each one as a visible picture in a real browser (Debian's Chromium).
Screenshots go to build/screenshots/.
"""

import shutil
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FIGURE_TYPES = {
    "application/vnd.plotly.v1+json",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/svg+xml",
}


def figure_outputs(notebook) -> list[dict]:
    """Every output that is a picture of some kind: a plotly figure, a widget, or an image."""
    return [
        output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if FIGURE_TYPES & set(output.get("data", {}))
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_saved_figure_carries_a_static_image(path):
    figures = figure_outputs(nbformat.read(path, as_version=4))
    assert figures, "every notebook has figures"
    blind = [sorted(d) for d in figures if not {"image/png", "image/svg+xml"} & set(d)]
    assert not blind, f"figures without a PNG (GitHub and nbviewer would show nothing): {blind}"


@pytest.mark.skipif(CHROMIUM is None, reason="no system Chromium (make test installs Debian's `chromium` as root)")
@pytest.mark.skipif(sys.platform != "linux", reason="the browser tests run on Linux")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbconvert_html_shows_every_figure_in_a_browser(path, tmp_path):
    from nbconvert import HTMLExporter

    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    notebook = nbformat.read(path, as_version=4)
    expected = len(figure_outputs(notebook))
    html, _ = HTMLExporter().from_notebook_node(notebook)
    page_file = tmp_path / (path.stem + ".html")
    page_file.write_text(html)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort(),
            )  # offline, like a reader's browser with scripts blocked
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            visible = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output img')]
                .filter(img => img.complete && img.naturalWidth > 100 && img.getBoundingClientRect().height > 100).length""")
            if path.name[:2] in ("01", "03"):
                SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SHOTS / f"nbconvert-{path.stem}.png"), full_page=True)
        finally:
            browser.close()
    assert visible == expected, f"{visible} of {expected} figures visible in nbconvert's HTML"
