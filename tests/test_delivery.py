"""Where learners open the course: Binder (repo2docker), conda, and Colab's set-up cell."""
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def dockerfile():
    """The Dockerfile Binder would build, from repo2docker's dry run (no Docker engine needed)."""
    r2d = shutil.which("jupyter-repo2docker", path=str(Path(sys.executable).parent)) or shutil.which("jupyter-repo2docker")
    if r2d is None:
        pytest.skip("jupyter-repo2docker is not installed")
    result = subprocess.run([r2d, "--no-build", "--no-run", "--debug", str(ROOT)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_binder_installs_graphviz_cpu_torch_and_the_package(dockerfile):
    assert "apt-get install --yes --no-install-recommends graphviz" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    requirements = (ROOT / "binder/requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements  # not the CUDA build
    assert "-e .[lab]" in requirements
    # the local install must run after the repository is copied in
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index('-r "binder/requirements.txt"')
    assert "postBuild" in dockerfile and "default_url = '/lab'" in (ROOT / "binder/postBuild").read_text()


def _name(requirement: str) -> str:
    for sep in "<>=[ ;":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in ("lab", "test"):
        wanted |= {_name(r) for r in project["optional-dependencies"][extra] if not r.startswith("resnet-lab")}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_to_pip = {"pytorch": "torch", "python-graphviz": "graphviz"}
    listed = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        elif _name(dep) not in ("python", "pip", "graphviz") or dep.startswith("python-graphviz"):
            listed.add(conda_to_pip.get(_name(dep), _name(dep)))
    assert listed == wanted


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_branch_of_the_set_up_cell(path, monkeypatch, capsys):
    """Run the set-up cell as Colab would: a `google.colab` module exists; %pip is recorded, not run."""
    from IPython.core.interactiveshell import InteractiveShell

    enabled = []
    colab = types.ModuleType("google.colab")
    colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: enabled.append(True))
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setenv("RESNET_LAB_PROFILE", "smoke")
    shell = InteractiveShell.instance()
    pip_lines = []
    shell.register_magic_function(pip_lines.append, magic_kind="line", magic_name="pip")
    setup = nbformat.read(path, as_version=4).cells[1].source
    result = shell.run_cell(setup)
    assert result.success, result.error_in_exec
    assert pip_lines == ['install --quiet "resnet-lab @ git+https://github.com/resnet-lab/resnet-lab"']
    assert enabled == [True]
    assert "profile: smoke" in capsys.readouterr().out


def test_badges_point_at_the_notebook_they_sit_in():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        title = nbformat.read(path, as_version=4).cells[0].source
        assert f"colab.research.google.com/github/resnet-lab/resnet-lab/blob/main/notebooks/{path.name}" in title
        assert f"mybinder.org/v2/gh/resnet-lab/resnet-lab/main?urlpath=lab/tree/notebooks/{path.name}" in title
        assert f"notebooks/{path.name}" in readme
    assert "mybinder.org/v2/gh/resnet-lab/resnet-lab/main" in readme and "colab.research.google.com" in readme
