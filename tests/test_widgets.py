"""The live plot, the experiment panel and slider plots, driven from Python as a frontend would."""

import dataclasses
import threading

import ipywidgets
import plotly.graph_objects as go
import pytest
import torch

from resnet_lab.course import widgets
from resnet_lab.course.profiles import get_profile
from resnet_lab.course.widgets import ExperimentPanel, LivePlot, SliderPlot
from resnet_lab.data import make_synthetic
from resnet_lab.models import plain_net, resnet, valid_depths
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import History, fit

PNG = b"\x89PNG"


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=128, num_classes=4)


def recipe(steps):
    return dataclasses.replace(HE2015_CIFAR, steps=steps, batch_size=32)


class Handle:
    """Stands in for IPython's DisplayHandle: records what each update shows."""

    def __init__(self):
        self.shown = []

    def update(self, obj, raw=False):
        self.shown.append(obj)


def test_live_plot_keeps_one_curve_per_run_with_every_step(data):
    plot = LivePlot(min_interval=0.0)
    for make, label in [(plain_net, "plain-8"), (resnet, "res-8")]:
        torch.manual_seed(0)
        history = fit(
            make(8, width=2, in_channels=1, num_classes=4),
            data,
            recipe(6),
            progress=False,
            callbacks=[plot.callback(label)],
        )
    plot.add(history, "reference")
    figure = plot.figure()
    assert [t.name for t in figure.data] == ["plain-8", "res-8", "reference"]
    assert list(figure.data[1].x) == history.steps and list(figure.data[1].y) == history.loss
    assert figure.data[2].line.dash == "dot" and figure.data[1].line.dash is None
    assert figure.layout.showlegend is True  # a legend even with one curve
    assert figure.layout.yaxis.exponentformat == "power"  # 10^-4 on log axes, not "100μ"
    plot.clear()
    assert plot.figure().data == ()


def test_live_plot_throttles_but_always_draws_the_end(data):
    plot = LivePlot(min_interval=3600)
    plot._handle = handle = Handle()
    fit(
        resnet(8, width=2, in_channels=1, num_classes=4),
        data,
        recipe(5),
        progress=False,
        callbacks=[plot.callback("run")],
    )
    assert len(handle.shown) == 2  # the first step, then only the final redraw
    assert all(frame["image/png"].startswith(PNG) for frame in handle.shown)


def test_live_plot_spends_at_most_its_share_of_the_time_on_frames(monkeypatch):
    """A frame that is slow to draw (a slow laptop, a busy machine) makes frames rarer, not training slower."""
    now = [0.0]
    monkeypatch.setattr(widgets.time, "monotonic", lambda: now[0])
    draw = widgets.line_chart_png

    def frame_of_one_second(*args, **kwargs):
        now[0] += 1.0
        return draw(*args, **kwargs)

    monkeypatch.setattr(widgets, "line_chart_png", frame_of_one_second)
    plot = LivePlot(min_interval=0.5)
    plot._handle = handle = Handle()
    update, history = plot.callback("run"), History()
    for step in range(1, 201):  # 200 steps of one second each
        now[0] += 1.0
        history.record(step, 1.0, 0.5, 0.1, 32, float(step))
        update(history)
    drawing = len(handle.shown) * 1.0
    assert len(handle.shown) >= 5  # still live: a frame every ~20 s here
    assert drawing / now[0] <= widgets.FRAME_SHARE * 1.1


def test_live_plot_freezes_into_the_interactive_figure(data, monkeypatch):
    import plotly.io

    monkeypatch.setattr(plotly.io.renderers, "default", "plotly_mimetype")  # what a Jupyter kernel picks
    plot = LivePlot()
    plot._handle = handle = Handle()
    history = fit(
        resnet(8, width=2, in_channels=1, num_classes=4),
        data,
        recipe(3),
        progress=False,
        callbacks=[plot.callback("run")],
    )
    plot.freeze()
    final = handle.shown[-1]  # the frames' output now holds the interactive figure, not a second copy
    assert list(final["application/vnd.plotly.v1+json"]["data"][0]["y"]) == history.loss


def test_live_plot_frames_differ_as_training_goes_on(data):
    plot = LivePlot(steps=10)
    empty = plot.png()
    update = plot.callback("run")
    fit(
        resnet(8, width=2, in_channels=1, num_classes=4),
        data,
        recipe(4),
        progress=False,
        callbacks=[update],
    )
    assert empty.startswith(PNG) and plot.png() != empty


def test_live_plot_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match="metric='error'"):
        LivePlot(metric="error")


def test_live_plot_time_axis_leaves_out_the_start_up_steps(data):
    plot = LivePlot(x="elapsed")
    history = fit(
        resnet(8, width=2, in_channels=1, num_classes=4),
        data,
        recipe(6),
        progress=False,
        callbacks=[plot.callback("run")],
    )
    trace = plot.figure().data[0]
    # the clock starts after step 2 (STARTUP_STEPS): step 3 is drawn at its own duration, not at ~1 s
    assert list(trace.x) == [e - history.elapsed[1] for e in history.elapsed[2:]]
    assert list(trace.y) == history.loss[2:]
    with pytest.raises(ValueError, match="x='time'"):
        LivePlot(x="time")


def quick_profile(steps):
    smoke = get_profile("smoke")
    return dataclasses.replace(smoke, recipe=recipe(steps), width=2, max_depth=20)


def test_panel_depth_slider_offers_exactly_the_valid_depths(data):
    panel = ExperimentPanel(data, quick_profile(5), max_depth=56)
    assert list(panel.depth.options) == valid_depths("basic", 56) == [8, 14, 20, 26, 32, 38, 44, 50, 56]
    values = [value for _, value in panel.shortcut.options]
    assert values == ["plain", "A", "B"] and None not in values  # ipywidgets highlights only real values
    assert panel.shortcut.value == "plain"


def test_panel_says_which_depths_are_valid(data):
    panel = ExperimentPanel(data, quick_profile(5))
    with pytest.raises(ValueError, match=r"depth=21 is not offered here: choose one of \[8, 14, 20\]"):
        panel.depth.value = 21
    with pytest.raises(ValueError, match="max_depth=3 is not valid: it must be an integer >= 8"):
        ExperimentPanel(data, quick_profile(5), max_depth=3)
    with pytest.raises(ValueError, match="seed=-1"):
        ExperimentPanel(data, quick_profile(5), seed=-1)


def test_panel_plot_has_fixed_axes_from_the_start(data, monkeypatch):
    """The x-axis spans the profile's steps before and during a run; the empty plot shows where losses live."""
    axes = []

    def record(lines, **kwargs):
        axes.append((kwargs["xlim"], kwargs["ylim"], kwargs["log_y"]))
        return PNG

    monkeypatch.setattr(widgets, "line_chart_png", record)
    panel = ExperimentPanel(data, quick_profile(300))
    history = History()
    history.record(1, 2.0, 0.5, 0.1, 32, 0.1)
    panel.plot.callback("run")(history)
    panel.plot.png()
    assert axes == [((0, 300), widgets.LOSS_RANGE, True), ((0, 300), None, True)]


def test_panel_train_twice_starts_one_run_and_runs_overlay(data):
    panel = ExperimentPanel(data, quick_profile(10))
    panel.depth.value, panel.shortcut.value = 8, "plain"
    assert panel.train() is True
    assert panel.train() is False  # a second press while training does nothing
    assert panel.train_button.disabled and not panel.stop_button.disabled
    panel.wait(60)
    assert list(panel.runs) == ["plain-8 seed 0"] and list(panel.plot.runs) == ["plain-8 seed 0"]
    assert panel.runs["plain-8 seed 0"].stop_reason == "finished" and "finished after 10 steps" in panel.status.value
    assert not panel.train_button.disabled and panel.stop_button.disabled and not panel.running
    panel.shortcut.value = "A"
    panel.train()
    panel.wait(60)
    panel.train()  # the same settings again: the same curve, named apart
    panel.wait(60)
    assert list(panel.plot.runs) == ["plain-8 seed 0", "res-8 seed 0", "res-8 seed 0 #2"]
    assert panel.runs["res-8 seed 0"].loss == panel.runs["res-8 seed 0 #2"].loss  # why the panel offers a seed
    panel.seed.value = 1
    panel.train()
    panel.wait(60)
    assert panel.runs["res-8 seed 1"].loss != panel.runs["res-8 seed 0"].loss
    panel.clear()
    assert panel.runs == {} and panel.plot.runs == {}


def test_panel_worker_thread_never_touches_a_widget(data, monkeypatch):
    """Colab drops widget messages sent from other threads (colabtools#3373): the worker must send none."""
    senders = []
    original = ipywidgets.Widget.send_state

    def record(self, key=None):
        senders.append(threading.current_thread() is threading.main_thread())
        return original(self, key)

    monkeypatch.setattr(ipywidgets.Widget, "send_state", record)
    monkeypatch.setattr(ipywidgets.Widget, "_should_send_property", lambda self, key, value: True)
    panel = ExperimentPanel(data, quick_profile(30))
    panel.train()
    panel._thread.join(60)  # the run ends in the worker: no widget changes yet
    worker_done = len(senders)
    panel.refresh()  # the next Play tick, on the main thread, shows the end
    assert senders and all(senders), "a widget was updated from the worker thread"
    assert len(senders) > worker_done and "finished after 30 steps" in panel.status.value


def long_run_under_way(data) -> ExperimentPanel:
    """A panel whose plain-8 run (far too long to finish) has taken at least one step."""
    panel = ExperimentPanel(data, quick_profile(100_000))
    panel.depth.value = 8
    panel.train()
    while panel._history is None or not panel._history.steps:
        panel._thread.join(0.05)
    return panel


def test_panel_refresh_shows_the_step_while_training(data):
    panel = long_run_under_way(data)
    panel.refresh()
    assert "Training plain-8 seed 0: step" in panel.status.value and "of 100000" in panel.status.value
    panel.stop()
    panel.wait(30)


def test_panel_stop_ends_the_run_and_keeps_its_curve(data):
    panel = long_run_under_way(data)
    panel.clear()  # refused while training
    assert list(panel.plot.runs) == ["plain-8 seed 0"] and "Stop the current run" in panel.status.value
    panel.stop_button.click()
    panel.wait(30)
    assert not panel.running
    history = panel.runs["plain-8 seed 0"]
    assert history.stop_reason == "stopped by callback" and 0 < len(history.steps) < 100_000
    assert list(panel.plot.figure().data[0].x) == history.steps
    assert "stopped after" in panel.status.value


def test_panel_reports_a_failed_run_with_its_traceback_and_stays_usable(data, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(widgets, "train_model", broken)
    panel = ExperimentPanel(data, quick_profile(5))
    panel.train()
    panel.wait(10)
    assert "failed: RuntimeError: out of memory" in panel.status.value
    assert "<summary>traceback</summary>" in panel.status.value and "in broken" in panel.status.value
    assert not panel.train_button.disabled and not panel.running


def test_panel_buttons_drive_it_like_clicks(data):
    panel = ExperimentPanel(data, quick_profile(5))
    panel.depth.value = 8
    panel.train_button.click()
    panel.wait(30)
    assert "plain-8 seed 0" in panel.runs


def test_panel_play_ticks_drive_refresh(data):
    panel = ExperimentPanel(data, quick_profile(5))
    panel.train()
    assert panel.ticker.playing  # the browser now ticks
    panel._thread.join(30)
    panel.ticker.value += 1  # what the browser's Play widget sends every TICK_MS
    assert not panel.running and "finished after 5 steps" in panel.status.value


def test_slider_plot_redraws_and_survives_a_failing_value():
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


def test_slider_plot_with_two_sliders_passes_both_values():
    a, b = ipywidgets.IntSlider(value=1, description="a"), ipywidgets.IntSlider(value=2, description="b")
    view = SliderPlot([a, b], lambda x, y: go.Figure(go.Bar(y=[x, y])))
    b.value = 5
    assert list(view.figure.data[0].y) == [1, 5]


def test_panel_leaves_the_learners_random_numbers_alone(data):
    """fit seeds the global generator only for dropout, and the panel builds its net under fork_rng."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    panel = ExperimentPanel(data, quick_profile(5))
    panel.train()
    panel.wait(30)
    assert torch.equal(torch.rand(3), expected)
