"""Re-execute notebooks from a fresh kernel and save them with their outputs (`make notebooks`).

    python tools/regenerate_notebooks.py [--profile cpu] [--timeout 600] [notebooks/01_*.ipynb ...]

Runs on the `cpu` profile unless told otherwise, so the committed outputs are what a learner
without a GPU sees. Every figure is saved with a PNG beside it (RESNET_LAB_STATIC_FIGURES=1: kaleido
draws plotly figures with the machine's Chromium), so GitHub and nbviewer show it too.

Widget state is stripped from the saved metadata: it is large and changes on every run. Without it
a saved widget view can draw nothing, so each widget output keeps only its PNG and text: what
JupyterLab shows until the cell is run again, and what static viewers show.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

WIDGET = "application/vnd.jupyter.widget-view+json"


def regenerate(path: Path, timeout: int) -> float:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET in data and "image/png" in data:
                del data[WIDGET]
    nbformat.write(notebook, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--profile", default="cpu", help="the RESNET_LAB_PROFILE to run under (default cpu)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed for one cell")
    args = parser.parse_args()

    paths = args.notebooks or sorted(Path("notebooks").glob("*.ipynb"))
    if not paths:
        print("no notebooks to regenerate")
        return 0
    os.environ["RESNET_LAB_PROFILE"] = args.profile  # the kernel inherits it
    os.environ["RESNET_LAB_STATIC_FIGURES"] = "1"
    for path in paths:
        print(f"{path} ... ", end="", flush=True)
        try:
            seconds = regenerate(path, args.timeout)
        except CellExecutionError as error:
            print(f"FAILED\n{error}")
            return 1
        print(f"{seconds:.0f} s on the {args.profile} profile")
    return 0


if __name__ == "__main__":
    sys.exit(main())
