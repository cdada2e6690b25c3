import dataclasses
import itertools
import threading
import time

import pytest
import torch

from resnet_lab import course
from resnet_lab.course.experiments import (
    build_net,
    build_wrn,
    net_label,
    results_table,
    side_by_side_lanes,
    train_model,
    train_net,
    train_side_by_side,
)
from resnet_lab.course.profiles import get_profile
from resnet_lab.course.widgets import LivePlot
from resnet_lab.data import make_synthetic, subset
from resnet_lab.models import CifarResNet


def test_labels_read_like_the_paper():
    assert [net_label(56, s) for s in (None, "A", "B")] == ["plain-56", "res-56", "res-B-56"]


def tiny_profile(steps=4, **changes):
    smoke = get_profile("smoke")
    recipe = dataclasses.replace(smoke.recipe, steps=steps, batch_size=32)
    return dataclasses.replace(smoke, **{"recipe": recipe, "width": 2, **changes})


def test_nets_train_with_the_profile_budget_onto_one_plot_and_into_one_table():
    data = make_synthetic(n_train=64, num_classes=4)
    plot = LivePlot()
    profile = tiny_profile()
    nets = {"plain-8": build_net(8, None, data, profile), "res-8": build_net(8, "A", data, profile)}
    histories = train_side_by_side(nets, data, profile, plot=plot)
    assert list(histories) == ["plain-8", "res-8"]
    assert all(len(h.steps) == 4 for h in histories.values())
    assert list(plot.runs) == ["plain-8", "res-8"] and plot.runs["res-8"][0] is histories["res-8"]
    table = results_table(histories).splitlines()
    assert table[0].split() == ["model", "final", "training", "loss", "training", "error", "test", "error"]
    assert table[1].startswith("plain-8") and table[2].endswith("%")


def test_a_rerun_resumes_an_interrupted_run_and_ends_where_an_uninterrupted_one_does(tmp_path, capsys):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile(steps=6, checkpoint_every=2, checkpoint_dir=str(tmp_path))
    whole = train_net(8, "A", data, profile, checkpoint=False)
    assert not list(tmp_path.glob("*.pt"))  # checkpoint=False writes nothing
    cut = train_net(8, "A", data, profile, callbacks=[lambda h: len(h.steps) == 3])  # e.g. a Colab disconnect
    assert len(cut.steps) == 3
    again = train_net(8, "A", data, profile)
    assert "Resuming res-8" in capsys.readouterr().out
    assert again.loss == whole.loss and len(list(tmp_path.glob("*.pt"))) == 1


def test_a_changed_setting_never_resumes_a_stale_checkpoint(tmp_path, capsys):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile(checkpoint_every=2, checkpoint_dir=str(tmp_path))
    train_net(8, "A", data, profile)
    for changed in (dict(lr=0.05), dict(zero_init_residual=True), dict(seed=1), dict(batch_size=16)):
        fit_args = {k: v for k, v in changed.items() if k not in ("zero_init_residual", "seed")}
        if "zero_init_residual" in changed:
            from resnet_lab.course.experiments import build_net, train_model

            train_model(build_net(8, "A", data, profile, zero_init_residual=True), data, profile, "res-8")
        else:
            train_net(8, "A", data, profile, seed=changed.get("seed", 0), **fit_args)
        assert "Resuming" not in capsys.readouterr().out, changed
    assert len(list(tmp_path.glob("res-8*.pt"))) == 0 and len(list(tmp_path.glob("synthetic-res-8-*.pt"))) == 5


def test_start_prints_device_profile_and_dataset(capsys, monkeypatch):
    monkeypatch.setenv("RESNET_LAB_PROFILE", "smoke")
    profile, data = course.start()
    line = capsys.readouterr().out
    assert profile.name == "smoke" and data.name == "digits"
    assert line.startswith("device: cpu · profile: smoke") and "digits" in line


def test_a_run_of_so_many_seconds_decays_its_lr_in_time_and_stops_on_the_clock():
    """Notebook 05's same-time runs: `seconds=` makes the profile's recipe one ended by the clock."""
    data = make_synthetic(n_train=64, num_classes=4)
    ticks = itertools.count()  # a fake clock, one second later at every reading: each step takes one second
    history = train_net(8, "A", data, tiny_profile(), seconds=8.0, clock=lambda: float(next(ticks)))
    assert history.steps == list(range(1, 9)) and history.stop_reason == "finished"  # not the profile's 4 steps
    assert history.lr == pytest.approx([0.1] * 4 + [0.01] * 2 + [0.001] * 2)  # x0.1 at 4 s and at 6 s


def test_keywords_change_the_recipe_or_the_fit_options_and_an_unknown_one_is_named():
    data = make_synthetic(n_train=64, num_classes=4)
    net = build_net(8, "A", data, tiny_profile())
    history = train_model(net, data, tiny_profile(), lr=0.05, eval_every=2)
    assert history.lr[0] == 0.05 and history.eval_steps == [2, 4]
    with pytest.raises(ValueError, match=r"^lr_decay=0.1 is not valid: give a Recipe field \(steps, batch_size, lr,"):
        train_model(net, data, tiny_profile(), lr_decay=0.1)


def test_a_claim_raises_on_cpu_and_reports_on_gpu(capsys):
    course.claim(True, "the effect showed", get_profile("cpu"))
    assert capsys.readouterr().out == "✓ the effect showed\n"
    with pytest.raises(AssertionError, match="the notebook claims: the effect showed, but this run does not show it"):
        course.claim(False, "the effect showed", get_profile("smoke"))
    course.claim(False, "the effect showed", get_profile("gpu"))  # after a long CIFAR-10 run: no crash
    assert capsys.readouterr().out.startswith("✗ Not seen in this run: the effect showed.")


def test_build_wrn_sizes_a_wide_resnet_for_the_data_and_profile():
    from resnet_lab.course.experiments import build_wrn
    from resnet_lab.models import wide_resnet

    data = make_synthetic(n_train=64, num_classes=4)
    net = build_wrn(16, 2, data, tiny_profile(), seed=3)
    assert net.conv1.in_channels == 1 and net.fc.out_features == 4 and net.conv1.out_channels == 2
    import torch

    torch.manual_seed(3)
    same = wide_resnet(16, 2, width=2, in_channels=1, num_classes=4)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), same.state_dict().values()))


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def pair(data, profile, **kwargs):
    return {
        label: build_net(8, shortcut, data, profile, **kwargs)
        for label, shortcut in (("plain-8", None), ("res-8", "A"))
    }


def test_side_by_side_trains_at_the_same_time_and_exactly_as_one_after_the_other(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile(steps=6)
    meet = threading.Barrier(2, timeout=30)  # both nets must reach step 3 together: one after the other never would
    together = train_side_by_side(
        pair(data, profile),
        data,
        profile,
        plot=LivePlot(),
        callbacks={label: [lambda h: len(h.steps) == 3 and meet.wait() and None] for label in ("plain-8", "res-8")},
    )
    torch.set_num_threads(1)  # the side-by-side nets each ran on one thread
    alone = {label: train_model(net, data, profile, label) for label, net in pair(data, profile).items()}
    assert list(together) == ["plain-8", "res-8"]
    for label in alone:
        assert together[label].loss == alone[label].loss and together[label].stop_reason == "finished"
        assert together[label].test_accuracy == alone[label].test_accuracy


def test_side_by_side_only_where_it_pays(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile()
    assert side_by_side_lanes(pair(data, profile)) == 2
    assert side_by_side_lanes({"one": build_net(8, "A", data, profile)}) == 1
    assert (
        side_by_side_lanes(
            {"a": build_wrn(10, 1, data, profile, dropout=0.3), "b": build_wrn(10, 1, data, profile, dropout=0.3)}
        )
        == 1
    )  # a shared generator
    assert side_by_side_lanes(pair(data, profile), compile=True) == 1  # torch.compile is not thread-safe
    torch.set_num_threads(1)  # the smoke profile's setting
    assert side_by_side_lanes(pair(data, profile)) == 1
    histories = train_side_by_side(pair(data, profile), data, profile)
    assert [len(h.steps) for h in histories.values()] == [4, 4]


def test_more_nets_than_threads_share_the_lanes_and_train_as_alone(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile(steps=5)

    def four():
        return {
            f"{kind}-{depth}": build_net(depth, shortcut, data, profile)
            for depth in (8, 14)
            for kind, shortcut in (("plain", None), ("res", "A"))
        }

    assert side_by_side_lanes(four()) == 2
    threads = {}
    record = {
        label: [lambda h: threads.setdefault(h.label, threading.current_thread().name) and None] for label in four()
    }
    together = train_side_by_side(four(), data, profile, callbacks=record)
    assert list(together) == ["plain-8", "res-8", "plain-14", "res-14"]
    assert threads["plain-8"] == threads["plain-14"] != threads["res-8"] == threads["res-14"]  # lane 0, lane 1
    torch.set_num_threads(1)
    alone = {label: train_model(net, data, profile, label) for label, net in four().items()}
    assert all(together[label].loss == alone[label].loss and len(alone[label].loss) == 5 for label in alone)


def test_stopping_the_cell_stops_every_net_side_by_side(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile(steps=10_000)

    class StopButton(LivePlot):  # the learner presses Stop (once) while the nets train
        pressed = False

        def redraw(self):
            if not self.pressed and any(len(h.steps) >= 3 for h, _ in self.runs.values()):
                self.pressed = True
                raise KeyboardInterrupt

    histories = train_side_by_side(pair(data, profile), data, profile, plot=StopButton(min_interval=0.0))
    assert all(h.stop_reason == "interrupted" and 0 < len(h.steps) < 10_000 for h in histories.values())


def test_side_by_side_raises_a_net_s_error_and_checks_its_callbacks(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    profile = tiny_profile()
    nets = {
        "fits": build_net(8, "A", data, profile),
        "three channels": CifarResNet(8, shortcut="A", width=2, in_channels=3),
    }
    with pytest.raises(ValueError, match="in_channels=1"):
        train_side_by_side(nets, data, profile)
    with pytest.raises(ValueError, match=r"callbacks for \['res-20'\]"):
        train_side_by_side(pair(data, profile), data, profile, callbacks={"res-20": []})


def test_side_by_side_takes_a_dataset_and_options_per_net(two_threads):
    data = make_synthetic(n_train=64, num_classes=4)
    small = subset(data, 0.25)  # 16 images: a batch of 16
    profile = tiny_profile(steps=3)
    sets, options = {"plain-8": data, "res-8": small}, {"res-8": {"batch_size": 16}}
    together = train_side_by_side(pair(data, profile), sets, profile, options=options)
    torch.set_num_threads(1)
    alone = {
        label: train_model(net, sets[label], profile, label, **options.get(label, {}))
        for label, net in pair(data, profile).items()
    }
    assert all(together[label].loss == alone[label].loss for label in alone)
    assert together["res-8"].images == 3 * 16 and together["plain-8"].images == 3 * 32
    with pytest.raises(ValueError, match=r"data for \['plain-8'\]"):
        train_side_by_side(pair(data, profile), {"plain-8": data}, profile)


STOPPED_IN_A_KERNEL = """
import dataclasses, torch
from resnet_lab.data import make_synthetic
from resnet_lab.course.experiments import build_net, train_side_by_side
from resnet_lab.course.profiles import get_profile
torch.set_num_threads(2)
data = make_synthetic(n_train=64, num_classes=4)
smoke = get_profile("smoke")
profile = dataclasses.replace(smoke, recipe=dataclasses.replace(smoke.recipe, steps=10**6, batch_size=32), width=2)
nets = {label: build_net(8, shortcut, data, profile) for label, shortcut in (("plain-8", None), ("res-8", "A"))}
print("training", flush=True)
histories = train_side_by_side(nets, data, profile)
print("after:", [h.stop_reason for h in histories.values()], all(len(h.steps) > 0 for h in histories.values()))
"""


def test_jupyters_stop_button_stops_nets_side_by_side_and_the_cell_goes_on():
    """A real kernel interrupted while two nets train in their threads: both stop, the cell prints what they did."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        client.execute(STOPPED_IN_A_KERNEL)
        printed = ""
        while "training" not in printed:
            message = client.get_iopub_msg(timeout=120)
            printed += message["content"].get("text", "")
            assert message["msg_type"] != "error", message["content"]
        time.sleep(1.0)  # let both nets take some steps (not asserted on: any number of steps > 0 passes)
        manager.interrupt_kernel()
        while "after:" not in printed:
            message = client.get_iopub_msg(timeout=120)
            assert message["msg_type"] != "error", message["content"]
            printed += message["content"].get("text", "")
        assert "after: ['interrupted', 'interrupted'] True" in printed
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
