"""Interactive pieces for the notebooks.

`LivePlot` is a plotly FigureWidget that `fit` updates in place while a model trains: one trace
per run, so a new run overlays the old ones. Redraws are throttled (the plot is redrawn at most
every `min_interval` seconds, and always at the end of a run) so the browser keeps up.
"""
from __future__ import annotations

import time

import plotly.graph_objects as go

from .train import History


class LivePlot:
    """A live loss curve; `plot.callback("plain-56")` gives the callback to pass to `fit`."""

    def __init__(self, title: str = "training loss", metric: str = "loss", log_y: bool = True,
                 min_interval: float = 0.5, height: int = 400):
        if metric not in ("loss", "accuracy"):
            raise ValueError(f"metric={metric!r} is not valid: use 'loss' or 'accuracy'")
        self.metric = metric
        self.min_interval = min_interval
        self.figure = go.FigureWidget(layout=dict(
            title=title, height=height, xaxis_title="step", yaxis_title=f"mini-batch {metric}",
            yaxis_type="log" if log_y else "linear", template="plotly_white",
        ))

    def callback(self, label: str):
        """A new trace named `label`, and the function that keeps it up to date during `fit`."""
        self.figure.add_scatter(x=[], y=[], mode="lines", name=label)
        trace = self.figure.data[-1]
        last_draw = -float("inf")

        def update(history: History) -> None:
            nonlocal last_draw
            now = time.monotonic()
            if history.stop_reason or now - last_draw >= self.min_interval:
                with self.figure.batch_update():
                    trace.x = history.steps
                    trace.y = getattr(history, self.metric)
                last_draw = now

        return update

    def clear(self) -> None:
        self.figure.data = []

    def _ipython_display_(self):
        from IPython.display import display

        display(self.figure)
