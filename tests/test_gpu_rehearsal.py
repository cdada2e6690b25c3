"""A rehearsal of the gpu profile on this CPU: every notebook, CIFAR-10 through torchvision's own loader,
torch.compile, checkpoints every step and a rerun that resumes, with each run cut to a few steps.

CIFAR-10 cannot be downloaded here, so a tiny one is written in torchvision's on-disk format (pickled
batches under cifar-10-batches-py/). torchvision checks each file's md5 against the real dataset's,
so the kernels skip that one check (an IPython start-up file); everything else is torchvision's code.
On the gpu profile a notebook's claim checks report instead of raising: none may fail here.

Sizes are the smallest that still run every line the gpu profile runs: two steps per run (a
notebook's half-length runs still take one, and a checkpoint falls inside every run), 300 training
images (a batch of 128 from five of the ten classes), and a first stage of 4 channels instead of 16
(the same nets at a sixteenth of the compute). torch.compile runs with the `eager` backend: TorchDynamo
captures each net's graph, with its guards and recompilations, but no kernels are generated (on a GPU
inductor generates Triton kernels, which this CPU cannot rehearse anyway). The soak test compiles
notebook 01 with inductor, as the gpu profile does.
"""

import pickle
import re
import shutil
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STEPS = 2
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BACKEND_ENV_VAR = "RESNET_LAB_REHEARSAL_BACKEND"
WIDTH = 4
STARTUP = f"""import dataclasses, os, torch, torchvision.datasets.cifar as cifar
from resnet_lab.course import profiles
cifar.check_integrity = lambda *args: True  # a tiny CIFAR-10
profiles.PROFILES["gpu"] = dataclasses.replace(profiles.PROFILES["gpu"], width={WIDTH})
REHEARSAL_COMPILED = []  # what torch.compile was given in this kernel
_torch_compile = torch.compile


def _compile(model, **kwargs):
    REHEARSAL_COMPILED.append(type(model).__name__)
    if os.environ.get("{BACKEND_ENV_VAR}"):
        kwargs["backend"] = os.environ["{BACKEND_ENV_VAR}"]
    return _torch_compile(model, **kwargs)


torch.compile = _compile
"""
COUNT_COMPILED = 'print(f"torch.compile calls: {len(REHEARSAL_COMPILED)}")'


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


def make_course_copy(folder: Path) -> Path:
    """The notebooks, a tiny CIFAR-10 under data/ and the kernels' start-up file, in `folder`."""
    for path in NOTEBOOKS:
        shutil.copy(path, folder / path.name)
    write_tiny_cifar10(folder / "data")
    startup = folder / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-tiny-cifar.py").write_text(STARTUP)
    return folder


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory):
    return make_course_copy(tmp_path_factory.mktemp("rehearsal"))


def run(path: Path, monkeypatch, backend: str | None = "eager") -> nbformat.NotebookNode:
    """Run the notebook at `path` on the gpu profile; torch.compile uses `backend` (None: its default)."""
    monkeypatch.setenv("RESNET_LAB_PROFILE", "gpu")
    monkeypatch.setenv("RESNET_LAB_STEPS", str(STEPS))
    if backend:
        monkeypatch.setenv(BACKEND_ENV_VAR, backend)
    else:
        monkeypatch.delenv(BACKEND_ENV_VAR, raising=False)
    monkeypatch.setenv("IPYTHONDIR", str(path.parent / "ipython"))
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(COUNT_COMPILED))
    NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return notebook


def text(notebook) -> str:
    return "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


def check_ran_on_the_gpu_profile(notebook) -> int:
    """Check the notebook ran on the gpu profile with the tiny CIFAR-10; return how many nets it compiled."""
    out = text(notebook)
    assert f"profile: gpu ({STEPS} steps per run)" in out and "'cifar10': 300 train / 60 test images of 3x32x32" in out
    return int(re.search(r"torch.compile calls: (\d+)", out).group(1))


# Every way the notebooks train (compare, train_model, train_side_by_side, time budgets, transfer on 3-channel
# images) is called by notebooks 01, 05 and 07. The other notebooks add probes, landscapes and constructions:
# the same code on every profile, which nbval runs on the smoke profile; they are rehearsed in the soak run.
EVERY_WAY_OF_TRAINING = ("01", "05", "07")


@pytest.mark.parametrize(
    "name",
    [
        p.name if p.name[:2] in EVERY_WAY_OF_TRAINING else pytest.param(p.name, marks=pytest.mark.soak)
        for p in NOTEBOOKS
    ],
)
def test_notebook_runs_on_the_gpu_code_path(course_copy, name, monkeypatch):
    start = time.monotonic()
    compiled = check_ran_on_the_gpu_profile(run(course_copy / name, monkeypatch))
    assert compiled > 0  # every notebook trains at least one net, compiled on the gpu profile
    print(f"{name}: {time.monotonic() - start:.0f} s on the gpu code path, {compiled} nets compiled")


@pytest.mark.soak
def test_notebook_01_compiles_with_inductor_on_the_gpu_code_path(tmp_path, monkeypatch):
    name = NOTEBOOKS[0].name
    start = time.monotonic()
    assert check_ran_on_the_gpu_profile(run(make_course_copy(tmp_path) / name, monkeypatch, backend=None)) >= 4
    print(f"{name}: {time.monotonic() - start:.0f} s on the gpu code path, compiled by inductor")


def test_a_rerun_resumes_every_net_from_its_checkpoint(course_copy, monkeypatch):
    name = NOTEBOOKS[0].name
    if not list((course_copy / "checkpoints").glob("cifar10-*.pt")):
        run(course_copy / name, monkeypatch)  # the first run, if the test above did not make it
    checkpoints = sorted((course_copy / "checkpoints").glob("cifar10-*.pt"))
    assert len(checkpoints) >= 4  # the four nets of notebook 01, from the run above
    out = text(run(course_copy / name, monkeypatch))
    assert out.count("Resuming") >= 4, out[-2000:]
