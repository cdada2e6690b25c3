import pytest
import torch

from resnet_lab.data import make_synthetic
from resnet_lab.models import plain_net, resnet
from resnet_lab.train import fit
from resnet_lab.widgets import LivePlot


def test_live_plot_gets_one_trace_per_run_with_every_step():
    data = make_synthetic(n_train=128)
    plot = LivePlot(min_interval=0.0)
    for make, label in [(plain_net, "plain-8"), (resnet, "res-8")]:
        torch.manual_seed(0)
        history = fit(make(8, width=2, in_channels=1, num_classes=4), data, steps=6, batch_size=32,
                      progress=False, callbacks=[plot.callback(label)])
    assert [t.name for t in plot.figure.data] == ["plain-8", "res-8"]
    assert list(plot.figure.data[1].x) == history.steps
    assert list(plot.figure.data[1].y) == history.loss
    plot.clear()
    assert len(plot.figure.data) == 0


def test_live_plot_throttles_but_always_draws_the_end():
    data = make_synthetic(n_train=128)
    plot = LivePlot(min_interval=3600)
    update = plot.callback("run")
    drawn = []
    plot.figure.data[0].on_change(lambda trace, x: drawn.append(len(x)), "x")
    fit(resnet(8, width=2, in_channels=1, num_classes=4), data, steps=5, batch_size=32, progress=False,
        callbacks=[update])
    assert drawn == [1, 5]  # the first step, then only the final redraw


def test_live_plot_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match="metric='error'"):
        LivePlot(metric="error")
