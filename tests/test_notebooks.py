"""The notebooks as files: saved the way `make notebooks` saves them, and guarded by nbval.

(nbval itself runs them: `pytest --nbval notebooks/`, part of `make test`.)
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_saved_executed_without_errors_or_widget_state(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), "run `make notebooks`"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    assert "widgets" not in notebook.metadata  # stripped by tools/regenerate_notebooks.py
    assert path.stat().st_size < 1_000_000


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_goals_badges_and_the_set_up_cell(path):
    notebook = nbformat.read(path, as_version=4)
    title, setup = notebook.cells[0], notebook.cells[1]
    assert title.source.startswith("# ") and "You will learn" in title.source
    assert "colab.research.google.com/github/" in title.source and f"notebooks/{path.name}" in title.source
    assert "mybinder.org/v2/gh/" in title.source and f"urlpath=lab/tree/notebooks/{path.name}" in title.source
    assert "google.colab" in setup.source and "%pip install" in setup.source
    assert "start(" in setup.source
    assert re.match(r"device: \S+ · profile: cpu ", setup.outputs[0].text), "outputs must come from the cpu profile"


def output_ignored(cell) -> bool:
    """Whether nbval skips comparing this cell's output: the `nbval-ignore-output` cell tag."""
    return "nbval-ignore-output" in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_cells_are_few_and_explained(path):
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    ignored = [c for c in code if output_ignored(c)]
    # a claim check's printed value varies, but the claim itself is asserted: it is a check, not a blind spot; so is
    # a control's check against the records (check_records), whose records tests/test_claims.py checks
    unchecked = [c for c in ignored if "check(" not in c.source and "check_records(" not in c.source]
    assert len(unchecked) <= len(code) // 2
    for cell in ignored:  # the cell's metadata says why its output varies, for whoever reads the JSON
        assert cell.metadata.get("nbval_ignore_reason"), f"no reason given for ignoring: {cell.source[:80]!r}"


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_nbval_fails_when_a_notebook_output_changes(tmp_path):
    path = NOTEBOOKS[0]
    notebook = json.loads(path.read_text())
    index, checked = next(
        (i, c)
        for i, c in enumerate(notebook["cells"])
        if c["cell_type"] == "code" and c["outputs"] and not output_ignored(c) and "start(" not in "".join(c["source"])
    )
    stream = next(o for o in checked["outputs"] if o["output_type"] == "stream")
    stream["text"] = ["a different result\n"]
    notebook["cells"] = notebook["cells"][: index + 1]  # nothing after it needs to run
    broken = tmp_path / path.name
    broken.write_text(json.dumps(notebook))
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")  # the smoke profile
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(ROOT / "notebooks/sanitize.cfg"),
            "--rootdir",
            str(tmp_path),
            "-c",
            "/dev/null",
            str(broken),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    assert "1 failed" in result.stdout and "a different result" in result.stdout
