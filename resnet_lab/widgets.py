"""Interactive pieces for the notebooks.

`LivePlot` is a plotly FigureWidget that `fit` updates in place while a model trains: one trace
per run, so a new run overlays the old ones. Redraws are throttled (at most every `min_interval`
seconds, and always at the end of a run) so the browser keeps up. `freeze()` swaps the live
widget for a static copy once training is over, so the saved notebook shows the curves too.

`ExperimentPanel` lets the learner pick a depth (valid depths only) and a shortcut, press Train,
watch the loss, press Stop. Training runs in a background thread, so the notebook stays
responsive: the plot keeps updating and Stop works while a model trains.
"""
from __future__ import annotations

import json
import threading
import time

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import display

from .data import Dataset
from .experiments import net_label, train_net
from .models import valid_depths
from .profiles import Profile, get_profile
from .train import History


def _display_widget(widget, text: str):
    """Display `widget` with a fixed plain-text fallback (what GitHub, nbval and logs see)."""
    bundle = widget._repr_mimebundle_()
    bundle["text/plain"] = text
    return display(bundle, raw=True, display_id=True)


class LivePlot:
    """A live loss curve; `plot.callback("plain-56")` gives the callback to pass to `fit`."""

    def __init__(self, title: str = "training loss", metric: str = "loss", log_y: bool = True,
                 min_interval: float = 0.5, height: int = 420, x: str = "steps"):
        if metric not in ("loss", "accuracy"):
            raise ValueError(f"metric={metric!r} is not valid: use 'loss' or 'accuracy'")
        if x not in ("steps", "elapsed"):
            raise ValueError(f"x={x!r} is not valid: use 'steps' or 'elapsed' (seconds of training)")
        self.metric, self.x = metric, x
        self.min_interval = min_interval
        self.figure = go.FigureWidget(layout=dict(
            title=title, height=height, xaxis_title="step" if x == "steps" else "seconds of training",
            yaxis_title=f"mini-batch {metric}",
            yaxis_type="log" if log_y else "linear", template="plotly_white",
        ))
        self._handle = None

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
                    trace.x = list(getattr(history, self.x))
                    trace.y = list(getattr(history, self.metric))
                last_draw = now

        return update

    def add(self, history: History, label: str | None = None, dash: str = "dot") -> None:
        """Add a finished run as a (dotted) reference curve."""
        self.figure.add_scatter(x=getattr(history, self.x), y=getattr(history, self.metric), mode="lines",
                                name=label or history.label, line=dict(dash=dash))

    def clear(self) -> None:
        self.figure.data = []

    def show(self) -> None:
        """Display the live plot (in place of `display(plot)`, so that `freeze` can replace it)."""
        self._handle = _display_widget(self.figure, f"LivePlot: {self.figure.layout.title.text}")

    def freeze(self) -> None:
        """Replace the live widget by a static copy of the figure, e.g. once training is over.

        The copy is what a saved notebook shows (on GitHub, in nbviewer, in JupyterLab after a
        restart), since the live widget's state is not saved with the notebook.
        """
        static = go.Figure(self.figure)
        bundle = {"application/vnd.plotly.v1+json": json.loads(static.to_json()),
                  "text/plain": f"Figure: {static.layout.title.text}"}
        if self._handle is not None:
            self._handle.update(bundle, raw=True)
        else:
            display(bundle, raw=True)

    def _ipython_display_(self):
        self.show()


class ExperimentPanel:
    """Depth slider, shortcut toggle, Train / Stop / Clear, and a live plot that overlays every run."""

    SHORTCUT_OPTIONS = [("none (plain)", None), ("A: identity", "A"), ("B: projection", "B")]

    def __init__(self, data: Dataset, profile: Profile | None = None, max_depth: int | None = None,
                 seed: int = 0):
        self.data = data
        self.profile = profile or get_profile()
        self.seed = seed
        self.runs: dict[str, History] = {}
        depths = valid_depths("basic", max_depth or self.profile.max_depth)
        self.depth = widgets.SelectionSlider(options=depths, value=depths[min(3, len(depths) - 1)],
                                             description="depth", continuous_update=False)
        self.shortcut = widgets.ToggleButtons(options=self.SHORTCUT_OPTIONS, value=None,
                                              description="shortcut")
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop",
                                          disabled=True)
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.status = widgets.HTML("Pick a depth and a shortcut, then press Train.")
        self.plot = LivePlot(title="training loss: every run overlaid")
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        self.widget = widgets.VBox([
            self.depth, self.shortcut,
            widgets.HBox([self.train_button, self.stop_button, self.clear_button]),
            self.status, self.plot.figure,
        ])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def train(self) -> bool:
        """Start a run with the current settings; False (and nothing started) if one is running."""
        if self.running:
            self.status.value = "A run is already going: wait for it, or press Stop."
            return False
        depth, shortcut = self.depth.value, self.shortcut.value
        label = net_label(depth, shortcut)
        names = {trace.name for trace in self.plot.figure.data}
        n = 2
        while label in names:
            label, n = f"{net_label(depth, shortcut)} #{n}", n + 1
        self._stop.clear()
        self._set_running(True)
        self.status.value = f"Training {label} for {self.profile.steps} steps..."
        callbacks = [self.plot.callback(label), lambda history: self._stop.is_set()]
        self._thread = threading.Thread(target=self._run, args=(depth, shortcut, label, callbacks),
                                        daemon=True)
        self._thread.start()
        return True

    def _run(self, depth, shortcut, label, callbacks) -> None:
        try:
            history = train_net(depth, shortcut, self.data, self.profile, self.seed, callbacks=callbacks,
                                label=label, checkpoint=None, checkpoint_every=0)
            self.runs[label] = history
            how = "stopped" if history.stop_reason == "stopped by callback" else history.stop_reason
            self.status.value = (f"{label}: {how} after {len(history.steps)} steps, "
                                 f"final training loss {history.final_loss():.4f}.")
        except Exception as error:  # shown to the learner; the panel stays usable
            self.status.value = f"{label} failed: {type(error).__name__}: {error}"
        finally:
            self._set_running(False)

    def stop(self) -> None:
        """Ask the current run to stop after its current step; it keeps its curve and History."""
        if self.running:
            self._stop.set()
            self.status.value = "Stopping..."

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current run (if any) has finished."""
        if self._thread is not None:
            self._thread.join(timeout)

    def clear(self) -> None:
        """Remove every finished run from the plot (not allowed while training)."""
        if self.running:
            self.status.value = "Stop the current run before clearing."
            return
        self.plot.clear()
        self.runs.clear()
        self.status.value = "Cleared."

    def _set_running(self, running: bool) -> None:
        self.train_button.disabled = running
        self.clear_button.disabled = running
        self.stop_button.disabled = not running

    def _ipython_display_(self):
        _display_widget(self.widget, "ExperimentPanel: open this notebook in JupyterLab to use it")


class SliderPlot:
    """Sliders and a figure redrawn in place whenever one of them moves.

    `draw(*values)` (one value per slider) returns a plotly Figure. It is computed completely before
    the plot changes, so values that fail leave the previous plot whole and say why underneath.
    """

    def __init__(self, sliders, draw):
        self.sliders = list(sliders) if isinstance(sliders, (list, tuple)) else [sliders]
        self.draw = draw
        self.message = widgets.HTML()
        self.figure = go.FigureWidget(draw(*self.values()))
        for slider in self.sliders:
            slider.observe(lambda change: self.redraw(), names="value")
        self.widget = widgets.VBox([*self.sliders, self.message, self.figure])

    def values(self) -> list:
        return [slider.value for slider in self.sliders]

    def redraw(self) -> None:
        try:
            new = self.draw(*self.values())
        except Exception as error:  # shown, not raised: the kernel and the old plot stay as they were
            self.message.value = f"Could not draw for {self.values()!r}: {type(error).__name__}: {error}"
            return
        self.figure.data = []
        self.figure.add_traces(list(new.data))
        self.figure.layout = new.layout
        self.message.value = ""

    def _ipython_display_(self):
        names = " and ".join(slider.description for slider in self.sliders)
        plural = "s" if len(self.sliders) > 1 else ""
        _display_widget(self.widget, f"SliderPlot: move the {names} slider{plural} in JupyterLab")
