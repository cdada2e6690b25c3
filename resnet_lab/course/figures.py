"""How a figure reaches every place the course is read: JupyterLab, Colab, VS Code, GitHub, nbviewer.

Two kinds of picture:
    plotly figures   finished plots. JupyterLab and VS Code draw them interactively; Colab through
                     plotly's own "colab" renderer. A saved notebook also carries a PNG of each one
                     (made by kaleido when `make notebooks` regenerates the notebooks), because
                     GitHub and nbviewer cannot draw plotly's JSON.
    line_chart_png   live frames while a model trains, drawn with matplotlib as a PNG: every
                     frontend shows a PNG, none needs JavaScript, and a frame is cheap (README, Performance).

`static_images_wanted()` is on while the notebooks are regenerated (RESNET_LAB_STATIC_FIGURES=1).
"""

from __future__ import annotations

import io
import os
import sys
import warnings
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from plotly.subplots import make_subplots

from .profiles import Profile
from .runs import BUDGET_LEARNING_RATES, budget_label, budget_steps

STATIC_ENV_VAR = "RESNET_LAB_STATIC_FIGURES"
TEMPLATE = "plotly_white+resnet_lab"  # plotly's white template with the course's size and number format
pio.templates["resnet_lab"] = go.layout.Template(
    layout=dict(height=380, xaxis=dict(exponentformat="power"), yaxis=dict(exponentformat="power"))
)


def on_colab() -> bool:
    """Whether this kernel runs on Google Colab (Colab imports google.colab at start-up)."""
    return "google.colab" in sys.modules


def static_images_wanted() -> bool:
    """True while `make notebooks` saves the notebooks: every figure then gets a PNG beside it."""
    return os.environ.get(STATIC_ENV_VAR) == "1"


def use_course_template() -> None:
    """Draw every plotly figure from now on in the course's style (set once, by `start()`)."""
    pio.templates.default = TEMPLATE


def new_figure(
    title: str, x: str = "", y: str = "", *, log_x: bool = False, log_y: bool = False, **layout
) -> go.Figure:
    """An empty plotly figure with its title and axis names, so a notebook cell says only what it plots.

    log_x/log_y: logarithmic axes (ticks as powers of ten). Other plotly layout settings pass through.
    """
    return go.Figure(
        layout=dict(
            title=title,
            xaxis_title=x,
            yaxis_title=y,
            xaxis_type="log" if log_x else None,
            yaxis_type="log" if log_y else None,
            **layout,
        )
    )


def use_static_images() -> None:
    """Make every plotly figure shown from now on carry a PNG beside its interactive JSON.

    kaleido draws the PNG with a Chromium already on the machine (Debian's, for `make test`); one
    browser is kept running, so each figure does not start a new one.
    """
    import kaleido  # a test-tools dependency: only `make notebooks` needs it

    kaleido.start_sync_server(silence_warnings=True)
    warnings.filterwarnings("ignore", message="The kopts argument is ignored")  # plotly's note about the server
    pio.renderers.default = "plotly_mimetype+png"


def plotly_png(figure) -> bytes | None:
    """A PNG of a plotly figure when static images are wanted, else None (nothing to draw it with)."""
    if not static_images_wanted():
        return None
    return figure.to_image(format="png")


def line_chart_png(
    lines: Sequence[tuple[str, Sequence[float], Sequence[float], bool]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    log_y: bool,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    empty_text: str = "",
) -> bytes:
    """A line chart as PNG bytes. `lines` holds (label, x, y, dotted) for each curve.

    Uses matplotlib's object API (no pyplot), so it never touches the notebook's own figures.
    """
    figure = Figure(figsize=(8, 4), dpi=90)
    # Fixed margins: a constrained layout would measure every label each frame, and double the cost.
    axes = figure.add_axes((0.095, 0.13, 0.885, 0.79))
    for label, x, y, dotted in lines:
        n = min(len(x), len(y))  # a run still training may have grown one list but not yet the other
        axes.plot(list(x[:n]), list(y[:n]), label=label, linestyle=":" if dotted else "-", linewidth=1.5)
    if log_y:
        axes.set_yscale("log")
        # Labelled ticks at 10^k (and 2, 5 x 10^k over a short range), no minor ticks: matplotlib's default
        # log axis makes dozens of minor ticks, which doubles the cost of every frame.
        values = [v for _, _, y, _ in lines for v in y if v > 0] or list(ylim or (1, 10))
        short = max(values) / min(values) <= 100
        axes.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5) if short else (1,)))
        axes.yaxis.set_minor_locator(NullLocator())
        axes.yaxis.set_major_formatter(
            FuncFormatter(lambda value, _: f"{value:g}" if value >= 1e-3 else f"{value:.0e}")
        )
    if xlim:
        axes.set_xlim(*xlim)
    if ylim:
        axes.set_ylim(*ylim)
    if lines:
        axes.legend(loc="upper right")  # even for one curve: the learner sees which net is drawing
    elif empty_text:
        axes.text(0.5, 0.5, empty_text, ha="center", va="center", transform=axes.transAxes, color="gray")
    axes.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})  # fast to encode, a little larger
    return buffer.getvalue()


def budget_figure(recorded: dict[int, dict], profile: Profile, yours: dict | None = None) -> go.Figure:
    """Final training loss against the budget, a panel per learning rate, for `runs.degradation_budget`'s nets:
    each recorded seed ({seed: measures}) a line, and `yours` ({net: measures} of runs at the profile's own budget
    and lr 0.1, notebook 01's) as stars."""
    steps = budget_steps(profile)
    colours = dict(
        zip(
            [f"plain-{profile.shallow_depth}", f"plain-{profile.deep_depth}", f"res-{profile.deep_depth}"],
            ("#1f77b4", "#d62728", "#2ca02c"),
        )
    )
    titles = [f"lr {lr:g}" for lr in BUDGET_LEARNING_RATES]
    figure = make_subplots(1, len(BUDGET_LEARNING_RATES), shared_yaxes=True, subplot_titles=titles)
    for column, lr in enumerate(BUDGET_LEARNING_RATES, start=1):
        for net, colour in colours.items():
            for seed, measures in recorded.items():
                losses = [measures[budget_label(net, n, lr)]["final training loss"] for n in steps]
                legend = column == 1 and seed == min(recorded)
                figure.add_scatter(
                    x=steps,
                    y=losses,
                    name=net,
                    legendgroup=net,
                    showlegend=legend,
                    line_color=colour,
                    row=1,
                    col=column,
                )
    for net, colour in colours.items() if yours else ():
        figure.add_scatter(
            x=[profile.steps],
            y=[yours[net]["final training loss"]],
            name=f"{net}, your run",
            mode="markers",
            marker=dict(symbol="star", size=13, color=colour),
            row=1,
            col=1,
        )
    figure.update_xaxes(type="log", tickvals=steps, title="steps (the schedule scaled)")
    figure.update_yaxes(type="log", exponentformat="power")
    title = "final training loss against the budget (recorded seeds: one line each)"
    return figure.update_layout(title=title, yaxis_title="final training loss")
