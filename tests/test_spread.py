"""Recorded seeds beside a learner's run (resnet_lab.course.records, benchmarks/seed_spread.py)."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from resnet_lab.course.profiles import PROFILES
from resnet_lab.course.records import RECORDED, recorded, seed_spread
from resnet_lab.train import History

NOTEBOOKS = sorted(Path(__file__).parents[1].glob("notebooks/*.ipynb"))


def write(tmp_path, experiments, profile="cpu"):
    path = tmp_path / "recorded.json"
    path.write_text(json.dumps({profile: {"experiments": experiments}}))
    return path


def test_your_run_is_printed_beside_the_mean_and_spread_of_the_seeds(tmp_path, capsys):
    path = write(
        tmp_path,
        {
            "degradation": {
                "plain-56": {"final training loss": [1.0, 1.2, 1.4]},
                "res-56": {"final training loss": [0.01, 0.02, 0.03]},
            }
        },
    )
    history = History(label="plain-56", loss=[1.5] * 10)
    seed_spread("degradation", {"plain-56": history, "plain-20": History(loss=[0.1])}, PROFILES["cpu"], path)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "plain-56" in line)
    assert re.search(r"yours\s+1\.5\s+3 seeds\s+1\.2 ± 0\.2\s+\(1 to 1\.4\)", line), line
    assert "res-56" not in out and "plain-20" not in out  # only runs that are both yours and recorded


def test_measures_other_than_training_runs_are_given_by_name(tmp_path, capsys):
    path = write(tmp_path, {"lesions": {"res-20": {"worst block": [1, 1, 4]}}})
    seed_spread("lesions", {"res-20": {"worst block": 1}}, PROFILES["cpu"], path)
    assert re.search(r"res-20 worst block\s+yours\s+1\s+3 seeds\s+2 ±", capsys.readouterr().out)


def test_a_profile_without_recorded_seeds_says_how_to_record_them(tmp_path, capsys):
    path = write(tmp_path, {"degradation": {}}, profile="cpu")
    seed_spread("degradation", {}, PROFILES["gpu"], path)
    assert "benchmarks/seed_spread.py --profile gpu" in capsys.readouterr().out


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_every_spread_a_notebook_shows_is_recorded_with_five_seeds(profile):
    experiments = recorded(profile)
    assert json.loads(RECORDED.read_text())[profile]["seeds"] >= 5
    called = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            called.update(re.findall(r'seed_spread\("([^"]+)"', cell.source))
    assert called and called <= set(experiments), called - set(experiments)
    for experiment in called:
        for label, metrics in experiments[experiment].items():
            assert all(len(values) >= 5 for values in metrics.values()), (experiment, label)
