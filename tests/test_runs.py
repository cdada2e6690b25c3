"""The experiments, defined once (resnet_lab.course.runs) and recorded by benchmarks/seed_spread.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resnet_lab.course import runs
from resnet_lab.course.profiles import PROFILES, scaled
from resnet_lab.data import load_dataset
from resnet_lab.probes import ProbeLog
from resnet_lab.train import History

ROOT = Path(__file__).parents[1]


def test_a_net_trains_the_same_whichever_nets_train_beside_it():
    """01 trains the plain pair, then the residual pair; the records train all four at once: the same numbers."""
    torch.set_num_threads(2)  # side by side, one thread per net, as on the cpu profile
    data = load_dataset("digits", size=8)
    profile = scaled(PROFILES["smoke"], 4)
    plain = runs.degradation(data, profile, shortcuts=[None])
    residual = runs.degradation(data, profile, shortcuts=["A"])
    together = runs.degradation(data, profile)
    assert together.measures == plain.measures | residual.measures
    assert list(together.histories) == ["plain-8", "plain-32", "res-8", "res-32"]


def test_the_seed_benchmark_records_an_experiment_with_the_notebooks_function(tmp_path):
    records = tmp_path / "recorded.json"
    command = [sys.executable, "benchmarks/seed_spread.py", "--profile", "smoke", "--seeds", "0", "6"]
    command += ["--experiments", "similarity at initialisation", "--records", str(records)]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300).stdout
    saved = json.loads(records.read_text())["smoke"]["seeds"]
    data = load_dataset("digits", size=16)
    assert (
        saved["0"]["similarity at initialisation"]["measures"]
        == runs.similarity_at_initialisation(data, PROFILES["smoke"], seed=0).measures
    )
    assert (
        saved["6"]["similarity at initialisation"]["measures"] != saved["0"]["similarity at initialisation"]["measures"]
    )
    assert "| 01-plain-scrambles-similarity | 1 of 1 (" in out  # seed 0 recorded, seed 6 held out


def test_the_restart_control_restarts_copies_of_the_trained_shallow_nets():
    data = load_dataset("digits", size=8)
    profile = scaled(PROFILES["smoke"], 4)
    built = runs.construction(data, profile)
    before = {label: net.state_dict()["fc.weight"].clone() for label, net in built.nets.items() if "built" not in label}
    restarts = runs.construction_restarts(built, data, profile)
    assert list(restarts.measures) == ["plain-8 restarted", "res-8 restarted"]
    for label, weight in before.items():
        assert torch.equal(built.nets[label].state_dict()["fc.weight"], weight)  # the shallow nets themselves untouched
        assert not torch.equal(
            restarts.nets[f"{label} restarted"].state_dict()["fc.weight"], weight
        )  # the copies trained
        assert (
            restarts.measures[f"{label} restarted"]["loss at the start"]
            == built.measures[f"{label.split('-')[0]}-32 built"]["shallow net's loss"]
        )


def test_the_residual_stream_experiment_measures_collapse_and_the_gradient_at_the_start():
    data = load_dataset("digits", size=8)
    stream = runs.residual_stream(data, scaled(PROFILES["smoke"], 4))
    assert list(stream.measures) == ["residual stream", "no residual", "no residual, 4 blocks"]
    for measures in stream.measures.values():
        assert measures["first / last block gradient at the start"] > 0
        assert 0 < measures["input dependence at the start"] < 2
    # a collapsed net: every image gives the same output of the last block
    net = stream.nets["no residual"]
    with torch.no_grad():
        net.embed.weight.zero_()
    assert runs._input_dependence(net, data.train_images[:64]) < 1e-6


def test_the_budget_control_trains_each_net_for_each_budget_and_rate_and_its_shortest_runs_are_the_notebooks():
    torch.set_num_threads(2)  # side by side, as on the cpu profile
    data = load_dataset("digits", size=8)
    profile = scaled(PROFILES["smoke"], 3)
    assert runs.budget_steps(profile) == [3, 10, 20]
    budget = runs.degradation_budget(data, profile)
    assert len(budget.histories) == 3 * 3 * 2
    for net in ("plain-8", "plain-32", "res-32"):
        for steps in (3, 10, 20):
            for lr in (0.1, 0.01):
                history = budget.histories[runs.budget_label(net, steps, lr)]
                assert history.steps[-1] == steps and history.lr[0] == lr
        assert budget.histories[runs.budget_label(net, 20, 0.1)].lr[-1] == pytest.approx(0.001)  # the schedule scaled
    own = runs.degradation(data, profile, shortcuts=[None])
    for net in ("plain-8", "plain-32"):
        assert budget.measures[runs.budget_label(net, 3, 0.1)] == own.measures[net]


def test_the_equal_loss_comparison_reads_the_first_logged_step_at_that_training_loss():
    history = History(steps=list(range(1, 31)), loss=[3.0] * 10 + [1.0] * 10 + [0.1] * 10)
    log = ProbeLog(lambda: 0.0, every=5)
    log.values = {0: 1.0, 1: 0.9, 5: 0.8, 10: 0.7, 15: 0.6, 20: 0.5, 25: 0.4, 30: 0.3}
    assert runs._first_logged_step_at_loss(history, log, 1.0) == 20  # the mean of the 10 losses up to step 20
    assert runs._first_logged_step_at_loss(history, log, 0.5) == 30  # step 25's mean is 0.55
    assert runs._first_logged_step_at_loss(history, log, 0.01) == 30  # never reached: the last logged step


def test_the_tuned_identity_control_keeps_each_stacks_best_learning_rate_without_clipping():
    from resnet_lab.identity import copy_error

    data = load_dataset("digits", size=8)
    tuned = runs.learning_the_identity_tuned(data, PROFILES["smoke"], ks=(2,), learning_rates=(0.01, 10.0))
    assert tuned.measures["plain stack, best lr"] == {"k=2": 0.01}  # lr 10 diverges
    images = data.train_images[:1000]
    assert tuned.measures["plain stack"]["k=2"] == copy_error(2, False, images, 0, lr=0.01, max_grad_norm=None)
    assert tuned.measures["residual stack"]["k=2"] == copy_error(2, True, images, 0, lr=0.01, max_grad_norm=None)
