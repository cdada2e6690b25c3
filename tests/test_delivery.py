"""Where learners open the course: Binder (repo2docker), conda, and Colab's set-up cell."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
import zipfile

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def dockerfile():
    """The Dockerfile Binder would build, from repo2docker's dry run (no Docker engine needed)."""
    r2d = shutil.which("jupyter-repo2docker", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter-repo2docker"
    )
    if r2d is None:
        pytest.skip("jupyter-repo2docker is not installed")
    result = subprocess.run(
        [r2d, "--no-build", "--no-run", "--debug", str(ROOT)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def test_binder_installs_graphviz_cpu_torch_and_the_package(dockerfile):
    assert "apt-get install --yes --no-install-recommends graphviz" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    requirements = (ROOT / "binder/requirements.txt").read_text()
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements  # not the CUDA build
    assert "-e .[lab]" in requirements
    tested = re.search(r"^TORCH \?= (.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert [line for line in requirements.splitlines() if line.startswith("torch")] == tested  # pinned, not drifting
    # the local install must run after the repository is copied in
    assert dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/") < dockerfile.index('-r "binder/requirements.txt"')
    assert "postBuild" in dockerfile and "default_url = '/lab'" in (ROOT / "binder/postBuild").read_text()


def _name(requirement: str) -> str:
    for sep in "<>=[ ;":
        requirement = requirement.split(sep)[0]
    return requirement.strip().lower()


def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_environment_yml_lists_what_a_learner_needs_and_no_test_tools():
    wanted = {_name(r) for r in project()["dependencies"] + project()["optional-dependencies"]["lab"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_to_pip = {"pytorch": "torch", "python-graphviz": "graphviz"}
    listed = set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            listed |= {_name(r) for r in dep["pip"] if not r.startswith("-e")}
        elif _name(dep) not in ("python", "pip", "graphviz") or dep.startswith("python-graphviz"):
            listed.add(conda_to_pip.get(_name(dep), _name(dep)))
    assert listed == wanted
    assert not listed & {"pytest", "nbval", "playwright", "jupyter-repo2docker", "kaleido"}


def test_learner_installs_leave_the_test_stack_out():
    lab = project()["optional-dependencies"]["lab"]
    assert {_name(r) for r in lab} == {"jupyterlab", "ipykernel"}
    makefile = (ROOT / "Makefile").read_text()
    lab_recipe = makefile[makefile.index("$(VENV)/.installed-lab:") : makefile.index("$(VENV)/.installed-test:")]
    assert '-e ".[lab]"' in lab_recipe and ".[test]" not in lab_recipe
    assert re.search(r"^lab: install$", makefile, re.M)


def colab_versions() -> dict[str, str]:
    lines = (ROOT / "tests/colab-constraints.txt").read_text().splitlines()
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_every_dependency_range_admits_what_colab_preinstalls():
    """Installing resnet-lab on Colab must change none of Colab's packages (else Colab asks for a restart)."""
    from packaging.requirements import Requirement

    colab = colab_versions()
    for name in ("torch", "torchvision", "ipywidgets", "plotly", "numpy"):
        assert name in colab
    for line in project()["dependencies"]:
        requirement = Requirement(line)
        if requirement.name in colab:
            assert requirement.specifier.contains(colab[requirement.name]), (line, colab[requirement.name])


@pytest.mark.soak  # needs PyPI and is slow; the test above checks the same ranges offline
def test_pip_resolves_the_course_on_colab_without_changing_colabs_packages(tmp_path):
    """pip's own resolver, given Colab's versions as constraints, finds a solution (needs PyPI: skipped offline)."""
    constraints = tmp_path / "colab.txt"
    constraints.write_text("\n".join(f"{k}=={v}" for k, v in colab_versions().items()) + "\n")
    report = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            "-c",
            str(constraints),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PIP_CONSTRAINT": ""},
    )
    if result.returncode and re.search(
        r"NewConnectionError|Max retries|Could not fetch|Network is unreachable", result.stderr
    ):
        pytest.skip("no package index reachable")
    assert result.returncode == 0, result.stderr[-3000:]
    installed = {
        i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]
    }
    for name in ("torch", "torchvision", "ipywidgets", "plotly", "numpy"):
        assert installed[name] == colab_versions()[name]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_branch_of_the_set_up_cell(path, monkeypatch, capsys):
    """Run the set-up cell as Colab would: a `google.colab` module exists; %pip is recorded, not run."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setenv("RESNET_LAB_PROFILE", "smoke")
    shell = InteractiveShell.instance()
    pip_lines = []
    shell.register_magic_function(pip_lines.append, magic_kind="line", magic_name="pip")
    setup = nbformat.read(path, as_version=4).cells[1].source
    result = shell.run_cell(setup)
    assert result.success, result.error_in_exec
    assert pip_lines == ['install --quiet "resnet-lab @ git+https://github.com/resnet-lab/resnet-lab"']
    out = capsys.readouterr().out
    assert "profile: smoke" in out
    assert "Colab gave this notebook no GPU" in out  # this machine has none: the learner is told so
    assert "SAVE_TO_DRIVE = False" in setup and "save_to_drive=SAVE_TO_DRIVE" in setup


def test_colab_drive_opt_in_mounts_drive_and_checkpoints_there(monkeypatch, capsys):
    from resnet_lab import course

    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    profile, _ = course.start("smoke", save_to_drive=True)
    assert mounted == ["/content/drive"] and profile.checkpoint_dir == course.DRIVE_CHECKPOINTS
    profile, _ = course.start("smoke")
    assert profile.checkpoint_dir == "checkpoints"  # opt-in only


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_colab_badge_opens_a_gpu_runtime(path):
    metadata = nbformat.read(path, as_version=4).metadata
    assert metadata["accelerator"] == "GPU" and metadata["colab"]["gpuType"] == "T4"


def test_torch_installer_asks_for_cpu_wheels_only_where_no_gpu_can_use_cuda():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from install_torch import cpu_requirements, wants_cpu_wheels
    finally:
        sys.path.pop(0)
    assert wants_cpu_wheels("Linux", has_nvidia_gpu=False)
    assert not wants_cpu_wheels("Linux", has_nvidia_gpu=True)
    assert not wants_cpu_wheels("Darwin", has_nvidia_gpu=False)  # PyPI's macOS wheels are CPU builds already
    assert wants_cpu_wheels("Linux", True, variant="cpu") and not wants_cpu_wheels("Linux", False, variant="cuda")
    with pytest.raises(ValueError, match="TORCH_VARIANT='rocm'"):
        wants_cpu_wheels("Linux", False, variant="rocm")
    assert cpu_requirements(["torch==2.14.1", "torchvision==0.29.1", "torch>=2.3"]) == [
        "torch==2.14.1+cpu",
        "torchvision==0.29.1+cpu",
        "torch>=2.3",
    ]


def test_torch_installer_falls_back_in_one_line_when_the_cpu_index_fails(monkeypatch, capsys):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import install_torch
    finally:
        sys.path.pop(0)
    calls = []
    monkeypatch.setattr(
        install_torch, "pip", lambda *args, **kwargs: calls.append(args) or (1 if "--index-url" in args else 0)
    )
    monkeypatch.setattr(install_torch.platform, "system", lambda: "Linux")
    monkeypatch.setattr(install_torch.shutil, "which", lambda name: None)
    monkeypatch.delenv("TORCH_VARIANT", raising=False)
    assert install_torch.main(["torch==2.14.1"]) == 0
    assert calls[0][-1] == "torch==2.14.1+cpu" and calls[1] == ("torch==2.14.1",)
    assert capsys.readouterr().out.count("\n") == 1


def test_badges_point_at_the_notebook_they_sit_in():
    readme = (ROOT / "README.md").read_text()
    for path in NOTEBOOKS:
        title = nbformat.read(path, as_version=4).cells[0].source
        assert f"colab.research.google.com/github/resnet-lab/resnet-lab/blob/main/notebooks/{path.name}" in title
        assert f"mybinder.org/v2/gh/resnet-lab/resnet-lab/main?urlpath=lab/tree/notebooks/{path.name}" in title
        assert f"notebooks/{path.name}" in readme
    assert "mybinder.org/v2/gh/resnet-lab/resnet-lab/main" in readme and "colab.research.google.com" in readme


def test_every_notebook_the_readme_links_to_exists():
    import re

    linked = set(re.findall(r"notebooks/(\d\d_\w+\.ipynb)", (ROOT / "README.md").read_text()))
    assert linked and linked <= {path.name for path in NOTEBOOKS}, linked - {path.name for path in NOTEBOOKS}


def notebook_imports() -> list[str]:
    """Every `import resnet_lab...` and `from resnet_lab... import ...` statement in the notebooks' code."""
    from IPython.core.inputtransformer2 import TransformerManager

    statements = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            for node in ast.walk(ast.parse(TransformerManager().transform_cell(cell.source))):  # %pip -> Python
                if isinstance(node, ast.ImportFrom):
                    modules = [node.module or ""]
                elif isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                else:
                    continue
                if any(module.split(".")[0] == "resnet_lab" for module in modules):
                    statements.add(ast.unparse(node))
    return sorted(statements)


IMPORTED_FROM_THE_WHEEL = """
import sys
from pathlib import Path

site = Path(sys.argv[1]).resolve()
elsewhere = [name for name, module in sys.modules.items() if name.split(".")[0] == "resnet_lab"
             and site not in Path(module.__file__).resolve().parents]
assert not elsewhere, f"imported from outside the installed wheel: {elsewhere}"
from resnet_lab.course.records import RECORDED, load
assert load("smoke").runs, RECORDED  # the package data is installed beside the module that reads it
print("imported from the wheel:", sorted(name for name in sys.modules if name.split(".")[0] == "resnet_lab"))
"""


def test_a_wheel_built_from_the_repository_installs_everything_the_notebooks_import(tmp_path):
    """The Colab cell installs from git (pip builds a wheel): every package and its data must be in that wheel."""
    source = tmp_path / "source"  # a copy, so no build/ or *.egg-info left in the repository can leak in
    junk = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "data", "checkpoints")
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*junk))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    build = [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path / "wheels"), str(source)]
    subprocess.run(build, check=True, timeout=300)
    (wheel,) = (tmp_path / "wheels").glob("resnet_lab-*.whl")
    assert "resnet_lab/course/recorded_seeds.json" in zipfile.ZipFile(wheel).namelist()
    site = tmp_path / "site"  # torch and the other dependencies come from this environment
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True)

    statements = notebook_imports()
    assert "from resnet_lab.course import start" in statements  # every notebook's set-up cell
    script = "\n".join(statements) + "\n" + textwrap.dedent(IMPORTED_FROM_THE_WHEEL)
    env = {**os.environ, "PYTHONPATH": str(site)}  # not the repository: run from outside it, too
    result = subprocess.run(
        [sys.executable, "-c", script, str(site)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
