import dataclasses
import time

import pytest
import torch

from resnet_lab import widgets
from resnet_lab.data import make_synthetic
from resnet_lab.models import plain_net, resnet, valid_depths
from resnet_lab.profiles import get_profile
from resnet_lab.train import fit
from resnet_lab.widgets import ExperimentPanel, LivePlot


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=128, num_classes=4)


def test_live_plot_gets_one_trace_per_run_with_every_step(data):
    plot = LivePlot(min_interval=0.0)
    for make, label in [(plain_net, "plain-8"), (resnet, "res-8")]:
        torch.manual_seed(0)
        history = fit(make(8, width=2, in_channels=1, num_classes=4), data, steps=6, batch_size=32,
                      progress=False, callbacks=[plot.callback(label)])
    assert [t.name for t in plot.figure.data] == ["plain-8", "res-8"]
    assert list(plot.figure.data[1].x) == history.steps
    assert list(plot.figure.data[1].y) == history.loss
    plot.add(history, "reference")
    assert plot.figure.data[2].line.dash == "dot"
    plot.clear()
    assert len(plot.figure.data) == 0


def test_live_plot_throttles_but_always_draws_the_end(data):
    plot = LivePlot(min_interval=3600)
    update = plot.callback("run")
    drawn = []
    plot.figure.data[0].on_change(lambda trace, x: drawn.append(len(x)), "x")
    fit(resnet(8, width=2, in_channels=1, num_classes=4), data, steps=5, batch_size=32, progress=False,
        callbacks=[update])
    assert drawn == [1, 5]  # the first step, then only the final redraw


def test_live_plot_freezes_into_a_static_copy(data, monkeypatch):
    shown = []
    monkeypatch.setattr(widgets, "display", lambda obj, **kw: shown.append(obj))
    plot = LivePlot()
    fit(resnet(8, width=2, in_channels=1, num_classes=4), data, steps=3, batch_size=32, progress=False,
        callbacks=[plot.callback("run")])
    plot.freeze()
    bundle = shown[-1]  # not shown before show(): displayed as a new output
    static = bundle["application/vnd.plotly.v1+json"]["data"][0]
    assert static["name"] == "run" and list(static["y"]) == list(plot.figure.data[0].y)


def test_live_plot_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match="metric='error'"):
        LivePlot(metric="error")


def quick_profile(steps):
    return dataclasses.replace(get_profile("smoke"), steps=steps, batch_size=32, width=2, max_depth=20)


def test_panel_depth_slider_offers_exactly_the_valid_depths(data):
    panel = ExperimentPanel(data, quick_profile(5), max_depth=56)
    assert list(panel.depth.options) == valid_depths("basic", 56) == [8, 14, 20, 26, 32, 38, 44, 50, 56]
    assert [value for _, value in panel.shortcut.options] == [None, "A", "B"]


def test_panel_train_twice_starts_one_run_and_runs_overlay(data):
    panel = ExperimentPanel(data, quick_profile(40))
    panel.depth.value, panel.shortcut.value = 8, None
    assert panel.train() is True
    assert panel.train() is False  # a second press while training does nothing
    assert panel.train_button.disabled and not panel.stop_button.disabled
    panel.wait(60)
    assert list(panel.runs) == ["plain-8"] and len(panel.plot.figure.data) == 1
    assert panel.runs["plain-8"].stop_reason == "finished" and "finished after 40 steps" in panel.status.value
    assert not panel.train_button.disabled and panel.stop_button.disabled
    panel.shortcut.value = "A"
    panel.train()
    panel.wait(60)
    panel.train()  # the same settings again: a second curve, named apart
    panel.wait(60)
    assert [t.name for t in panel.plot.figure.data] == ["plain-8", "res-8", "res-8 #2"]
    panel.clear()
    assert panel.runs == {} and len(panel.plot.figure.data) == 0


def test_panel_stop_ends_the_run_and_keeps_its_curve(data):
    panel = ExperimentPanel(data, quick_profile(100_000))
    panel.depth.value = 8
    panel.train()
    deadline = time.monotonic() + 30
    while not panel.plot.figure.data[0].x and time.monotonic() < deadline:
        time.sleep(0.05)
    panel.clear()  # refused while training
    assert len(panel.plot.figure.data) == 1
    panel.stop()
    panel.wait(30)
    assert not panel.running
    history = panel.runs["plain-8"]
    assert history.stop_reason == "stopped by callback" and 0 < len(history.steps) < 100_000
    assert list(panel.plot.figure.data[0].x) == history.steps
    assert "stopped after" in panel.status.value


def test_panel_reports_a_failed_run_and_stays_usable(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(widgets, "train_net", broken)
    panel = ExperimentPanel(data, quick_profile(5))
    panel.train()
    panel.wait(10)
    assert "failed: RuntimeError: out of memory" in panel.status.value
    assert not panel.train_button.disabled and not panel.running


def test_panel_buttons_drive_it_like_clicks(data):
    panel = ExperimentPanel(data, quick_profile(5))
    panel.depth.value = 8
    panel.train_button.click()
    panel.wait(30)
    assert "plain-8" in panel.runs


def test_slider_plot_redraws_in_place_and_survives_a_failing_value():
    import ipywidgets
    import plotly.graph_objects as go

    from resnet_lab.widgets import SliderPlot

    def draw(n):
        if n == 3:
            raise ValueError("no good")
        return go.Figure(go.Scatter(y=list(range(n))), layout=dict(title=f"n = {n}"))

    slider = ipywidgets.IntSlider(value=2, min=1, max=5, description="n")
    view = SliderPlot(slider, draw)
    assert list(view.figure.data[0].y) == [0, 1]
    slider.value = 4
    assert list(view.figure.data[0].y) == [0, 1, 2, 3] and view.figure.layout.title.text == "n = 4"
    slider.value = 3  # fails: the old plot stays whole, the reason is shown
    assert list(view.figure.data[0].y) == [0, 1, 2, 3] and "no good" in view.message.value
    slider.value = 1
    assert list(view.figure.data[0].y) == [0] and view.message.value == ""


def test_live_plot_can_use_training_seconds_on_the_x_axis(data):
    plot = LivePlot(x="elapsed")
    history = fit(resnet(8, width=2, in_channels=1, num_classes=4), data, steps=4, batch_size=32, progress=False,
                  callbacks=[plot.callback("run")])
    assert list(plot.figure.data[0].x) == history.elapsed
    with pytest.raises(ValueError, match="x='time'"):
        LivePlot(x="time")


def test_slider_plot_with_two_sliders_passes_both_values():
    import ipywidgets
    import plotly.graph_objects as go

    from resnet_lab.widgets import SliderPlot

    a, b = ipywidgets.IntSlider(value=1, description="a"), ipywidgets.IntSlider(value=2, description="b")
    view = SliderPlot([a, b], lambda x, y: go.Figure(go.Bar(y=[x, y])))
    b.value = 5
    assert list(view.figure.data[0].y) == [1, 5]
