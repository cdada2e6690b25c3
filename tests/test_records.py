"""The recorded seeds (resnet_lab.course.records): what is kept per seed, and a learner's run beside them."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from resnet_lab.course.profiles import PROFILES
from resnet_lab.course.records import (
    CURVE_POINTS,
    HELD_OUT_SEEDS,
    RECORDED_SEEDS,
    curve,
    load,
    save,
    seed_spread,
    show,
)
from resnet_lab.course.runs import EXPERIMENTS, Result
from resnet_lab.train import History

NOTEBOOKS = sorted(Path(__file__).parents[1].glob("notebooks/*.ipynb"))


def history(losses, label="run") -> History:
    return History(label=label, steps=list(range(1, len(losses) + 1)), loss=list(losses))


def recorded(tmp_path, values: dict[int, float], experiment="degradation", label="plain-56") -> Path:
    path = tmp_path / "recorded.json"
    for seed, value in values.items():
        save("cpu", seed, experiment, Result({label: {"final training loss": value}}), path)
    return path


def test_a_saved_seed_is_read_back_with_its_measures_curves_and_where_it_was_made(tmp_path):
    path = tmp_path / "recorded.json"
    result = Result({"plain-56": {"final training loss": 0.9}}, {"plain-56": history([2.0, 1.0, 0.9])})
    save("cpu", 3, "degradation", result, path)
    records = load("cpu", path)
    run = records.runs[3]["degradation"]
    assert run["measures"] == {"plain-56": {"final training loss": 0.9}}
    assert run["curves"] == {"plain-56": [[1, 2, 3], [2.0, 1.0, 0.9]]}
    assert "torch" in run["about"] and "thread" in run["about"]
    assert records.measures("degradation", [3, 4]) == {3: run["measures"]}  # seed 4 was never recorded


def test_saving_one_seed_and_experiment_keeps_every_other_record(tmp_path):
    path = recorded(tmp_path, {0: 1.0, 1: 1.1})
    save("cpu", 0, "lesions", Result({"res-20": {"worst block": 1}}), path)
    save("smoke", 0, "degradation", Result({"plain-32": {"final training loss": 2.0}}), path)
    save("cpu", 1, "degradation", Result({"plain-56": {"final training loss": 1.5}}), path)  # replaces seed 1's
    records = load("cpu", path)
    assert records.measures("degradation", [0, 1]) == {
        0: {"plain-56": {"final training loss": 1.0}},
        1: {"plain-56": {"final training loss": 1.5}},
    }
    assert records.runs[0]["lesions"]["measures"] == {"res-20": {"worst block": 1}}
    assert load("smoke", path).runs[0]["degradation"]["measures"] == {"plain-32": {"final training loss": 2.0}}


def test_a_curve_is_thinned_to_at_most_the_kept_points_and_keeps_the_last_step():
    steps, losses = curve(history([1 / (i + 1) for i in range(1000)]))
    assert len(steps) <= CURVE_POINTS + 1
    assert steps[0] == 1 and steps[-1] == 1000 and losses[-1] == float(f"{1 / 1000:.4g}")
    assert curve(history([0.5, 0.25])) == [[1, 2], [0.5, 0.25]]


def test_your_run_is_printed_beside_the_recorded_seeds_only(tmp_path, capsys):
    path = recorded(tmp_path, {0: 1.0, 1: 1.2, 2: 1.4, HELD_OUT_SEEDS[0]: 99.0})
    seed_spread("degradation", {"plain-56": {"final training loss": 1.5}, "plain-20": {"x": 1}}, PROFILES["cpu"], path)
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "plain-56" in line)
    assert re.search(r"yours\s+1\.5\s+3 seeds\s+1\.2 ± 0\.2\s+\(1 to 1\.4\)", line), line
    assert "99" not in out  # a held-out seed is never shown while the prose is written
    assert "plain-20" not in out and "recorded seeds 0, 1, 2 of the cpu profile" in out


def test_a_profile_without_recorded_seeds_says_how_to_record_them(tmp_path, capsys):
    seed_spread("degradation", {}, PROFILES["gpu"], recorded(tmp_path, {0: 1.0}))
    assert "benchmarks/seed_spread.py --profile gpu" in capsys.readouterr().out


def test_a_control_shows_every_recorded_seed_and_marks_the_held_out_ones(tmp_path, capsys):
    path = recorded(tmp_path, {0: 1.0, 1: 1.25, HELD_OUT_SEEDS[0]: 7.5}, experiment="construction restarts")
    show("construction restarts", PROFILES["cpu"], path)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["seed", "0", "seed", "1", "seed", f"{HELD_OUT_SEEDS[0]}*"]
    assert lines[1].split() == ["plain-56,", "final", "training", "loss", "1", "1.25", "7.5"]
    show("construction restarts", PROFILES["gpu"], path)
    assert "No recorded seeds of 'construction restarts' for the gpu profile" in capsys.readouterr().out


def spreads_shown() -> set[str]:
    called = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            called.update(re.findall(r'seed_spread\("([^"]+)"', cell.source))
    return called


@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_every_spread_a_notebook_shows_is_recorded_in_every_recorded_seed(profile):
    records = load(profile)
    assert spreads_shown() and spreads_shown() <= set(EXPERIMENTS)
    for experiment in spreads_shown():
        assert set(records.measures(experiment, RECORDED_SEEDS)) == set(RECORDED_SEEDS), (profile, experiment)


def test_the_records_file_is_plain_json_with_seeds_as_keys():
    saved = json.loads((Path(__file__).parents[1] / "resnet_lab/course/recorded_seeds.json").read_text())
    for profile in saved.values():
        assert all(seed.isdigit() for seed in profile["seeds"])


def test_a_save_that_fails_midway_leaves_the_old_records_whole(tmp_path, monkeypatch):
    path = recorded(tmp_path, {0: 1.0})
    before = path.read_text()
    original = Path.write_text

    def disk_full(self, text, *args, **kwargs):
        original(self, text[: len(text) // 2])  # half of it reaches the disk, then the write fails
        raise OSError("No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    with pytest.raises(OSError):
        save("cpu", 1, "degradation", Result({"plain-56": {"final training loss": 2.0}}), path)
    monkeypatch.undo()
    assert path.read_text() == before


def test_the_budget_figure_draws_a_line_per_seed_net_and_rate_and_a_star_per_own_run():
    from resnet_lab.course import runs
    from resnet_lab.course.figures import budget_figure

    profile, nets = PROFILES["cpu"], ("plain-20", "plain-56", "res-56")
    steps = runs.budget_steps(profile)
    measures = {
        runs.budget_label(net, n, lr): {"final training loss": 0.5}
        for net in nets
        for n in steps
        for lr in runs.BUDGET_LEARNING_RATES
    }
    yours = {net: {"final training loss": 0.1} for net in nets}
    figure = budget_figure({0: measures, 1: measures}, profile, yours)
    lines = [trace for trace in figure.data if trace.mode != "markers"]
    assert len(lines) == 2 * 3 * 2 and all(list(trace.x) == steps == [300, 1000, 2000] for trace in lines)
    stars = [trace for trace in figure.data if trace.mode == "markers"]
    assert [trace.name for trace in stars] == [f"{net}, your run" for net in nets]
    assert all(list(trace.x) == [300] and list(trace.y) == [0.1] for trace in stars)
    assert len(budget_figure({0: measures}, profile).data) == 3 * 2  # no runs of yours: no stars
