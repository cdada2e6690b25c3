"""A rehearsal of the gpu profile on this CPU: every notebook, CIFAR-10 through torchvision's own loader,
torch.compile, checkpoints every step and a rerun that resumes, with each run cut to a few steps.

CIFAR-10 cannot be downloaded here, so a tiny one is written in torchvision's on-disk format (pickled
batches under cifar-10-batches-py/). torchvision checks each file's md5 against the real dataset's,
so the kernels skip that one check (an IPython start-up file); everything else is torchvision's code.
On the gpu profile a notebook's claim checks report instead of raising: none may fail here.
"""

import pickle
import shutil
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STEPS = 4
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
STARTUP = "import torchvision.datasets.cifar as cifar\ncifar.check_integrity = lambda *args: True  # a tiny CIFAR-10\n"


def write_tiny_cifar10(root: Path, per_batch: int = 60) -> None:
    """Six pickled batches (five train, one test) and the meta file, as torchvision expects them."""
    from torchvision.datasets import CIFAR10

    folder = root / CIFAR10.base_folder
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, _ in CIFAR10.train_list + CIFAR10.test_list:
        labels = [i % 10 for i in range(per_batch)]
        images = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        images[:, :1024] = np.array(labels, dtype=np.uint8)[:, None] * 25  # a red channel that tells the class
        with open(folder / name, "wb") as f:
            pickle.dump({"data": images, "labels": labels}, f)
    with open(folder / CIFAR10.meta["filename"], "wb") as f:
        pickle.dump({"label_names": CLASSES}, f)


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rehearsal")
    for path in NOTEBOOKS:
        shutil.copy(path, folder / path.name)
    write_tiny_cifar10(folder / "data")
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-tiny-cifar.py").write_text(STARTUP)
    return folder


def run(path: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("RESNET_LAB_PROFILE", "gpu")
    monkeypatch.setenv("RESNET_LAB_STEPS", str(STEPS))
    monkeypatch.setenv("IPYTHONDIR", str(path.parent / "ipython"))
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return notebook


def text(notebook) -> str:
    return "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_notebook_runs_on_the_gpu_code_path(course_copy, name, monkeypatch):
    start = time.monotonic()
    notebook = run(course_copy / name, monkeypatch)
    out = text(notebook)
    assert f"profile: gpu ({STEPS} steps per run)" in out and "'cifar10': 300 train / 60 test images of 3x32x32" in out
    print(f"{name}: {time.monotonic() - start:.0f} s on the gpu code path")


def test_a_rerun_resumes_every_net_from_its_checkpoint(course_copy, monkeypatch):
    name = NOTEBOOKS[0].name
    if not list((course_copy / "checkpoints").glob("cifar10-*.pt")):
        run(course_copy / name, monkeypatch)  # the first run, if the test above did not make it
    checkpoints = sorted((course_copy / "checkpoints").glob("cifar10-*.pt"))
    assert len(checkpoints) >= 4  # the four nets of notebook 01, from the run above
    out = text(run(course_copy / name, monkeypatch))
    assert out.count("Resuming") >= 4, out[-2000:]
