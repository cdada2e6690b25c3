"""Interactive pieces for the notebooks, built so that they work on every frontend the course names.

What each frontend supports differs: Colab drops widget updates sent from a
background thread (googlecolab/colabtools#3373) and has drawn plotly's FigureWidget blank for
years (plotly/plotly.py#2202). So everything here uses only what JupyterLab, Colab, Binder and
VS Code all do:

- `LivePlot`: a training cell updates a display (`display_id`) with a PNG frame from the main
  thread, throttled; `freeze()` replaces the frames by the finished, interactive plotly figure.
- `ExperimentPanel`: core widgets only (slider, toggle, buttons, Image, a hidden Play). Training
  runs in a worker thread that never touches a widget; the Play widget ticks in the browser, and
  on each tick the kernel's main thread draws the latest frame and status. Stop is an ordinary
  button click, handled on the main thread while the worker trains.
- `SliderPlot`: sliders and an Output widget that shows the figure for the current values.

Each widget's saved output also carries a PNG of its state, so GitHub and nbviewer show a picture.
"""

from __future__ import annotations

import html
import threading
import time
import traceback

import ipywidgets as widgets
import plotly.graph_objects as go
import torch
from IPython.display import display
from traitlets import validate

from ..data import Dataset
from ..models import valid_depths
from ..train import STARTUP_STEPS, History
from .experiments import build_net, net_label, train_model
from .figures import line_chart_png, plotly_png
from .profiles import Profile, get_profile

LOSS_RANGE = (1e-4, 10.0)  # the y-axis of an empty loss plot: where cross-entropy curves live
FRAME_SHARE = (
    0.05  # live frames may take at most this share of a training cell's time (frame costs: README, Performance)
)


def _display_widget(widget, text: str, png: bytes | None = None):
    """Display `widget` with a plain-text fallback, and a PNG of it where one is given.

    `make notebooks` keeps the PNG and text in the saved notebook (the live widget cannot be saved).
    """
    bundle = widget._repr_mimebundle_()
    bundle["text/plain"] = text
    if png is not None:
        bundle["image/png"] = png
    return display(bundle, raw=True)


class LivePlot:
    """Training curves drawn while models train; `plot.callback("plain-56")` is the callback for `fit`.

    Frames come at most every `min_interval` seconds, and rarer where drawing one is slow: drawing
    takes at most FRAME_SHARE of the time, the rest is left to training.
    """

    def __init__(
        self,
        title: str = "training loss",
        metric: str = "loss",
        log_y: bool = True,
        min_interval: float = 0.5,
        height: int = 420,
        x: str = "steps",
        steps: int | None = None,
    ):
        if metric not in ("loss", "accuracy"):
            raise ValueError(f"metric={metric!r} is not valid: use 'loss' or 'accuracy'")
        if x not in ("steps", "elapsed"):
            raise ValueError(f"x={x!r} is not valid: use 'steps' or 'elapsed' (seconds of training)")
        self.title, self.metric, self.x, self.log_y = title, metric, x, log_y
        self.min_interval, self.height, self.steps = min_interval, height, steps
        self.runs: dict[str, tuple[History, bool]] = {}  # label -> (its History, drawn dotted)
        self.frames = 0  # PNG frames drawn so far
        self.frame_seconds = 0.0  # how long the last frame took to draw
        self._last_frame = -float("inf")
        self._handle = None

    @property
    def xlabel(self) -> str:
        return "step" if self.x == "steps" else f"seconds of training (after the first {STARTUP_STEPS} steps)"

    def _curve(self, history: History) -> tuple[list, list]:
        if self.x == "steps":
            return history.steps, getattr(history, self.metric)
        # On a time axis the first steps' one-off start-up cost would make a net look stalled: leave it out.
        elapsed, values = history.elapsed, getattr(history, self.metric)
        if len(elapsed) <= STARTUP_STEPS:
            return [], []
        start = elapsed[STARTUP_STEPS - 1]
        return [e - start for e in elapsed[STARTUP_STEPS:]], values[STARTUP_STEPS:]

    def frame_due(self) -> bool:
        """Whether enough time has passed since the last frame to draw the next one."""
        wait = max(self.min_interval, self.frame_seconds / FRAME_SHARE)
        return time.monotonic() - self._last_frame >= wait

    def callback(self, label: str):
        """A new curve named `label`, and the function that redraws it during `fit` (throttled)."""
        self.runs[label] = (History(label=label), False)

        def update(history: History) -> None:
            self.runs[label] = (history, False)
            if history.stop_reason or self.frame_due():
                self.redraw()

        return update

    def add(self, history: History, label: str | None = None, dotted: bool = True) -> None:
        """Add a finished run, drawn dotted: a reference to compare the next runs with."""
        self.runs[label or history.label] = (history, dotted)

    def clear(self) -> None:
        self.runs.clear()

    def png(self) -> bytes:
        """The current curves as a PNG (matplotlib): what every frontend shows while training runs."""
        lines = [(label, *self._curve(h), dotted) for label, (h, dotted) in self.runs.items()]
        empty = not any(len(x) for _, x, _, _ in lines)
        xlim = (0, self.steps) if self.steps and self.x == "steps" else None
        ylim = LOSS_RANGE if empty and self.metric == "loss" and self.log_y else None
        self.frames += 1
        start = time.monotonic()
        png = line_chart_png(
            lines,
            title=self.title,
            xlabel=self.xlabel,
            ylabel=f"mini-batch {self.metric}",
            log_y=self.log_y,
            xlim=xlim,
            ylim=ylim,
            empty_text="no run yet: press Train",
        )
        self._last_frame = time.monotonic()
        self.frame_seconds = self._last_frame - start
        return png

    def figure(self) -> go.Figure:
        """The finished plot as an interactive plotly figure (zoom, hover), legend always shown."""
        figure = go.Figure(
            layout=dict(
                title=self.title,
                height=self.height,
                xaxis_title=self.xlabel,
                yaxis_title=f"mini-batch {self.metric}",
                template="plotly_white",
                showlegend=True,
            )
        )
        if self.log_y:
            figure.update_yaxes(type="log", exponentformat="power")  # 10^-4, not "100μ"
        for label, (history, dotted) in self.runs.items():
            x, y = self._curve(history)
            n = min(len(x), len(y))
            figure.add_scatter(
                x=list(x[:n]), y=list(y[:n]), mode="lines", name=label, line=dict(dash="dot") if dotted else None
            )
        return figure

    def redraw(self) -> None:
        """Show the current curves as a new PNG frame in this plot's output (after `show()`)."""
        if self._handle is not None:
            self._handle.update({"image/png": self.png(), "text/plain": f"LivePlot: {self.title}"}, raw=True)

    def show(self) -> None:
        """Display the plot; `fit`'s callbacks then redraw it in place."""
        self._handle = display(
            {"image/png": self.png(), "text/plain": f"LivePlot: {self.title}"}, raw=True, display_id=True
        )

    def freeze(self) -> None:
        """Replace the frames by the finished, interactive figure (with a PNG beside it when saved)."""
        bundle = self.figure()._repr_mimebundle_()  # what plotly's renderer makes here (JupyterLab, Colab...)
        bundle.setdefault("text/plain", f"Figure: {self.title}")
        if self._handle is not None:
            self._handle.update(bundle, raw=True)
        else:
            display(bundle, raw=True)

    def _ipython_display_(self):
        self.show()


class DepthSlider(widgets.SelectionSlider):
    """A slider over the valid depths that names them when given another value."""

    @validate("value")
    def _validate_value(self, proposal):
        if proposal.value not in self.options:
            raise ValueError(
                f"depth={proposal.value!r} is not offered here: choose one of {list(self.options)} "
                "(CIFAR nets have depth 6n+2)"
            )
        return proposal.value


def _set_playing(play: widgets.Play, on: bool) -> None:
    """Start or stop a Play widget (`playing` in ipywidgets 8, `_playing` in Colab's 7.7)."""
    setattr(play, "playing" if play.has_trait("playing") else "_playing", on)


class ExperimentPanel:
    """Depth slider, shortcut toggle, seed, Train / Stop / Clear, and a plot that overlays every run."""

    SHORTCUT_OPTIONS = [("none (plain)", "plain"), ("A: identity", "A"), ("B: projection", "B")]
    TICK_MS = 400  # how often the browser asks the kernel for a new frame while a run trains

    def __init__(self, data: Dataset, profile: Profile | None = None, max_depth: int | None = None, seed: int = 0):
        self.data = data
        self.profile = profile or get_profile()
        max_depth = self.profile.max_depth if max_depth is None else max_depth
        if not isinstance(max_depth, int) or max_depth < 8:
            raise ValueError(
                f"max_depth={max_depth!r} is not valid: it must be an integer >= 8, "
                "the smallest CIFAR net (6n+2 with n = 1)"
            )
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed={seed!r} is not valid: it must be an integer >= 0")
        self.runs: dict[str, History] = {}
        depths = valid_depths("basic", max_depth)
        default = self.profile.shallow_depth if self.profile.shallow_depth in depths else depths[0]
        self.depth = DepthSlider(options=depths, value=default, description="depth", continuous_update=False)
        self.shortcut = widgets.ToggleButtons(options=self.SHORTCUT_OPTIONS, value="plain", description="shortcut")
        self.seed = widgets.BoundedIntText(
            value=seed, min=0, max=10**6, description="seed", layout=widgets.Layout(width="160px")
        )
        self.train_button = widgets.Button(description="Train", button_style="success", icon="play")
        self.stop_button = widgets.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.clear_button = widgets.Button(description="Clear", icon="trash")
        self.status = widgets.HTML(
            "Pick a depth and a shortcut, then press Train. The same settings and seed "
            "give exactly the same curve again: change the seed to see the spread."
        )
        self.plot = LivePlot(title="training loss: every run overlaid", steps=self.profile.steps)
        self.image = widgets.Image(value=self.plot.png(), format="png")
        self.ticker = widgets.Play(interval=self.TICK_MS, max=10**9, layout=widgets.Layout(display="none"))
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        self.ticker.observe(lambda _: self.refresh(), names="value")
        self.widget = widgets.VBox(
            [
                self.depth,
                self.shortcut,
                self.seed,
                widgets.HBox([self.train_button, self.stop_button, self.clear_button]),
                self.status,
                self.image,
                self.ticker,
            ]
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._label, self._history, self._error = "", None, None

    @property
    def running(self) -> bool:
        """True from Train until the run's end has been shown (the buttons agree with it)."""
        return self._thread is not None

    def train(self) -> bool:
        """Start a run with the current settings; False (and nothing started) if one is running."""
        if self.running:
            self.status.value = "A run is already going: wait for it, or press Stop."
            return False
        depth, seed = self.depth.value, self.seed.value
        shortcut = None if self.shortcut.value == "plain" else self.shortcut.value
        label = f"{net_label(depth, shortcut)} seed {seed}"
        n = 2
        while label in self.plot.runs:
            label, n = f"{net_label(depth, shortcut)} seed {seed} #{n}", n + 1
        with torch.random.fork_rng(devices=[]):  # the learner's own random numbers stay as they were
            model = build_net(depth, shortcut, self.data, self.profile, seed)  # here, not in the worker thread
        self._label, self._history, self._error = label, None, None
        self._stop.clear()
        callbacks = [self.plot.callback(label), self._keep, lambda history: self._stop.is_set()]
        self._thread = threading.Thread(target=self._run, args=(model, label, seed, callbacks), daemon=True)
        self._set_buttons(running=True)
        self.status.value = f"Training {html.escape(label)} for {self.profile.steps} steps..."
        self._thread.start()
        _set_playing(self.ticker, True)
        return True

    def _keep(self, history: History) -> None:
        self._history = history

    def _run(self, model, label, seed, callbacks) -> None:
        """The worker thread: trains, and touches no widget (Colab would drop its updates)."""
        try:
            train_model(model, self.data, self.profile, label=label, callbacks=callbacks, seed=seed, checkpoint=False)
        except Exception:  # shown to the learner by refresh(); the panel stays usable
            self._error = traceback.format_exc()

    def refresh(self) -> None:
        """Draw the latest frame and status (on the main thread: each Play tick calls it)."""
        if self._thread is None:
            return
        finished = not self._thread.is_alive()
        if finished or self.plot.frame_due():
            self.image.value = self.plot.png()
        history, label = self._history, html.escape(self._label)
        if self._error is not None:
            last = html.escape(self._error.strip().splitlines()[-1])
            self.status.value = (
                f"{label} failed: {last}<details><summary>traceback</summary>"
                f"<pre>{html.escape(self._error)}</pre></details>"
            )
        elif finished and history is not None:
            self.runs[self._label] = history
            how = "stopped" if history.stop_reason == "stopped by callback" else history.stop_reason
            self.status.value = (
                f"{label}: {how} after {len(history.steps)} steps, final training loss {history.final_loss():.4f}."
            )
        elif history is not None and history.loss:
            self.status.value = (
                f"Training {label}: step {history.steps[-1]} of {self.profile.steps}, loss {history.loss[-1]:.4f}"
            )
        if finished:
            self._thread = None
            _set_playing(self.ticker, False)
            self._set_buttons(running=False)

    def stop(self) -> None:
        """Ask the current run to stop after its current step; it keeps its curve and History."""
        if self.running:
            self._stop.set()
            self.status.value = "Stopping..."

    def wait(self, timeout: float | None = None) -> None:
        """Block until the current run has finished, then show its end (for scripts and tests)."""
        if self._thread is not None:
            self._thread.join(timeout)
            self.refresh()

    def clear(self) -> None:
        """Remove every run from the plot (not allowed while training)."""
        if self.running:
            self.status.value = "Stop the current run before clearing."
            return
        self.plot.clear()
        self.runs.clear()
        self.image.value = self.plot.png()
        self.status.value = "Cleared."

    def _set_buttons(self, running: bool) -> None:
        self.train_button.disabled = running
        self.clear_button.disabled = running
        self.stop_button.disabled = not running

    def _ipython_display_(self):
        _display_widget(
            self.widget, "ExperimentPanel: run this cell to train nets from its controls", png=bytes(self.image.value)
        )


class SliderPlot:
    """Sliders and a plotly figure redrawn whenever one of them moves.

    `draw(*values)` (one value per slider) returns a plotly Figure. It is computed completely before
    the plot changes, so values that fail leave the previous plot whole and say why underneath.
    """

    def __init__(self, sliders, draw):
        self.sliders = list(sliders) if isinstance(sliders, (list, tuple)) else [sliders]
        self.draw = draw
        self.message = widgets.HTML()
        self.output = widgets.Output()
        self.figure = draw(*self.values())
        self._show(self.figure)
        for slider in self.sliders:
            slider.observe(lambda change: self.redraw(), names="value")
        self.widget = widgets.VBox([*self.sliders, self.message, self.output])

    def values(self) -> list:
        return [slider.value for slider in self.sliders]

    def _show(self, figure: go.Figure) -> None:
        # Set the Output widget's contents directly (a state update), rather than capturing display()
        # inside `with self.output:`, which only some frontends route into the widget.
        bundle = figure._repr_mimebundle_()  # what plotly's renderer makes here (JupyterLab, Colab...)
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def redraw(self) -> None:
        try:
            new = self.draw(*self.values())
        except Exception as error:  # shown, not raised: the kernel and the old plot stay as they were
            self.message.value = html.escape(f"Could not draw for {self.values()!r}: {type(error).__name__}: {error}")
            return
        self.figure = new
        self._show(new)
        self.message.value = ""

    def _ipython_display_(self):
        names = " and ".join(slider.description for slider in self.sliders)
        plural = "s" if len(self.sliders) > 1 else ""
        _display_widget(
            self.widget, f"SliderPlot: run this cell and move the {names} slider{plural}", png=plotly_png(self.figure)
        )
