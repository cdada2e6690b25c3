"""The claims (resnet_lab.course.claims): one record per sentence, checked as strongly as the prose says it."""

import re
from pathlib import Path

import nbformat
import pytest

from resnet_lab.course.claims import BY_ID, CLAIMS, LEDGER, check, check_records, ledger, support
from resnet_lab.course.profiles import PROFILES
from resnet_lab.course.records import FEWER_SEEDS, HELD_OUT_SEEDS, RECORDED_SEEDS, save
from resnet_lab.course.runs import EXPERIMENTS, Result

ROOT = Path(__file__).parents[1]
NOTEBOOKS = sorted(ROOT.glob("notebooks/*.ipynb"))
CPU, SMOKE, GPU = PROFILES["cpu"], PROFILES["smoke"], PROFILES["gpu"]


def checks_in_notebooks() -> dict[str, str]:
    """{claim id: notebook file name} for every `check("...")` and `check_records("...")` in the notebooks."""
    found = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for claim_id in re.findall(r'check(?:_records)?\(\s*"([^"]+)"', cell.source):
                found[claim_id] = path.name
    return found


def test_every_claim_is_checked_in_its_own_notebook_and_every_check_is_a_claim():
    found = checks_in_notebooks()
    assert set(found) == set(BY_ID), set(found) ^ set(BY_ID)
    for claim_id, notebook in found.items():
        assert notebook.startswith(BY_ID[claim_id].notebook), (claim_id, notebook)
    assert len(BY_ID) == len(CLAIMS)  # ids are unique


def test_every_claim_reads_an_experiment_that_is_recorded():
    for claim in CLAIMS:
        assert claim.experiment in EXPERIMENTS, claim.id
        assert claim.test.split()[0] in ("<", "<=", ">", ">=", "==")


@pytest.mark.parametrize("profile", [CPU, SMOKE], ids=lambda p: p.name)
def test_every_claim_is_evaluated_on_every_recorded_seed(profile):
    for claim in CLAIMS:
        seeds = FEWER_SEEDS.get(claim.experiment, {}).get(profile.name, RECORDED_SEEDS)
        assert set(support(claim, profile).values) == set(seeds), (profile.name, claim.id)


def records(tmp_path, claim_id: str, per_seed: dict[int, dict]) -> Path:
    path = tmp_path / "recorded.json"
    for seed, measures in per_seed.items():
        save("cpu", seed, BY_ID[claim_id].experiment, Result(measures), path)
    return path


def stream(no_residual: float, residual_error: float = 1.0) -> dict:
    return {
        "no residual": {"final training loss": no_residual},
        "residual stream": {"final training loss": 0.1, "training error %": residual_error},
    }


def test_a_claim_that_held_in_every_recorded_seed_is_asserted_on_the_live_run(tmp_path, capsys):
    path = records(tmp_path, "07-no-stream-at-chance", {s: stream(2.30) for s in RECORDED_SEEDS})
    assert check("07-no-stream-at-chance", stream(2.31), CPU, path)
    assert "✓ without the residual stream" in capsys.readouterr().out
    with pytest.raises(AssertionError, match="but this run does not show it"):
        check("07-no-stream-at-chance", stream(1.5), CPU, path)
    assert not check("07-no-stream-at-chance", stream(1.5), GPU, path)  # gpu: reported, never raised
    assert "Not seen in this run" in capsys.readouterr().out


def test_a_claim_that_held_in_fewer_seeds_is_reported_with_the_count_and_never_raised(tmp_path, capsys):
    path = records(tmp_path, "07-no-stream-at-chance", {0: stream(2.30), 1: stream(2.30), 2: stream(1.0)})
    assert not check("07-no-stream-at-chance", stream(1.0), CPU, path)
    out = capsys.readouterr().out
    assert "This run is one of the exceptions" in out and "held in 2 of 3 recorded seeds" in out


def test_held_out_seeds_never_decide_whether_a_claim_is_asserted(tmp_path):
    path = records(tmp_path, "07-no-stream-at-chance", {0: stream(2.30), HELD_OUT_SEEDS[0]: stream(1.0)})
    with pytest.raises(AssertionError):
        check("07-no-stream-at-chance", stream(1.0), CPU, path)


def test_a_claim_about_time_is_never_asserted_even_where_it_always_held(tmp_path):
    same_time = {
        "ResNet-56": {"final training loss": 1.0, "steps": 100},
        "WRN-16-2": {"final training loss": 0.1, "steps": 200},
    }
    path = records(tmp_path, "05-wide-more-steps", {s: same_time for s in RECORDED_SEEDS})
    slower = {**same_time, "WRN-16-2": {"final training loss": 0.1, "steps": 90}}
    assert not check("05-wide-more-steps", slower, CPU, path)


def test_a_claim_without_records_is_asserted_on_the_live_run(tmp_path):
    with pytest.raises(AssertionError):
        check("07-no-stream-at-chance", stream(1.0), CPU, tmp_path / "none.json")


def test_a_control_shown_from_the_records_says_in_how_many_seeds_it_held(tmp_path, capsys):
    restarted = lambda after: {"plain-20 restarted": {"loss at the start": 0.002, "loss after training": after}}  # noqa: E731
    path = records(tmp_path, "06-plain-shallow-restart-keeps", {0: restarted(0.001), 1: restarted(0.5)})
    save("cpu", HELD_OUT_SEEDS[0], "construction restarts", Result(restarted(0.001)), path)
    assert not check_records("06-plain-shallow-restart-keeps", CPU, path)  # seed 1 was thrown out: 250 times
    out = capsys.readouterr().out
    assert "Not in every recorded seed" in out
    assert "recorded seeds 1 of 2 (" in out and "held-out seeds 1 of 1 (" in out
    path = records(tmp_path, "06-plain-shallow-restart-keeps", {1: restarted(0.003)})
    assert check_records("06-plain-shallow-restart-keeps", CPU, path)
    assert not check_records("06-plain-shallow-restart-keeps", GPU, path)
    assert "No recorded seeds" in capsys.readouterr().out.splitlines()[-1]


def test_an_unknown_claim_is_named_with_the_claims_there_are():
    with pytest.raises(ValueError, match=r"claim_id='01-nope' is not a claim: use one of 01-plain-deep-higher-loss, "):
        check("01-nope", {}, CPU)


def degradation(res_shallow: float, res_deep: float, deep_error: float = 0.0) -> dict:
    run = lambda loss, error=0.0: {"final training loss": loss, "training error %": error, "test error %": 2.0}  # noqa: E731
    return {
        "plain-20": run(0.003),
        "plain-56": run(0.9, 30.0) | {"test error %": 30.0},
        "res-20": run(res_shallow),
        "res-56": run(res_deep, deep_error),
    }


def holds(claim_id: str, measures: dict, profile=CPU) -> bool:
    claim = BY_ID[claim_id]
    return claim.holds(claim.value(measures, profile))


def test_the_deep_residual_net_is_not_said_to_train_as_well_when_it_is_100_times_worse():
    assert holds("01-res-losses-near-zero", degradation(0.001, 0.002))
    assert not holds("01-res-losses-near-zero", degradation(0.001, 0.1))  # an additive 0.15 let this pass
    assert not holds("01-res-deep-fits-as-well", degradation(0.001, 0.002, deep_error=3.0))
    assert not holds("01-res-far-below-plain", degradation(0.001, 0.2))


def test_frozen_is_said_to_lose_to_each_other_way_only_when_it_does():
    ways = lambda fine, probe, scratch: {  # noqa: E731
        "fine-tuned": {"test accuracy": fine},
        "linear probe": {"test accuracy": probe},
        "from scratch": {"test accuracy": scratch},
    }
    assert holds("07-scratch-beats-frozen", ways(0.8, 0.6, 0.7))
    assert not holds("07-scratch-beats-frozen", ways(0.8, 0.6, 0.55))  # frozen beats training from scratch
    assert not holds("07-fine-tuning-beats-frozen", ways(0.62, 0.6, 0.7))  # two points is not "beats"


def test_both_nets_must_be_smooth_at_depth_8_and_the_copy_error_must_grow_at_every_step():
    correlations = {"plain-8": {"neighbour correlation": 0.98}, "res-8": {"neighbour correlation": 0.5}}
    assert not holds("06-depth-8-smooth", correlations)
    copying = {
        "plain stack": {"k=2": 0.01, "k=4": 0.02, "k=8": 0.015, "k=16": 0.05},
        "residual stack": {"k=2": 0.001, "k=4": 0.001, "k=8": 0.001, "k=16": 0.001},
    }
    assert not holds("06-plain-copies-worse-deeper", copying)  # k=2 < k=16, but not "the deeper the worse"
    assert holds("06-residual-copies-better", copying)


def test_a_claim_that_held_in_fewer_recorded_seeds_says_so_in_its_notebook():
    text = {
        path.name[:2]: "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        for path in NOTEBOOKS
    }
    for claim in CLAIMS:
        seeds = support(claim, CPU)
        if claim.live and not seeds.everywhere:
            k, n = sum(seeds.held.values()), len(seeds.values)
            assert re.search(rf"\b{k} of (the )?{n}\b", text[claim.notebook]), (claim.id, f"{k} of {n}")


def test_the_published_ledger_is_up_to_date():
    assert LEDGER.read_text() == ledger(), "stale: run `python tools/write_ledger.py`"
