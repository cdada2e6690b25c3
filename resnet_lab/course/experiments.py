"""The experiments the notebooks run, built from `models`, `data`, `train` and a `Profile`.

`train_net(56, None, data, profile)` trains plain-56 with the profile's recipe and budget;
`train_net(56, "A", data, profile)` trains its residual twin; `train_side_by_side` trains several, at the same
time where that is faster (a CPU). The notebooks' experiments, built from these, are in `runs.py`.
Each takes changes to the recipe by its field names (`lr=0.01`, `steps=...`) and `fit` options
(`seed=1`, `eval_every=...`) as keyword arguments.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from ..data import Dataset
from ..models import CifarResNet, wide_resnet
from ..recipe import Recipe
from ..train import History, fit, pick_device
from .profiles import Profile

RECIPE_FIELDS = tuple(field.name for field in dataclasses.fields(Recipe))
FIT_OPTIONS = ("device", "amp", "channels_last", "compile", "seed", "eval_every", "eval_at_end", "resume", "clock")


def net_label(depth: int, shortcut: str | None) -> str:
    """The name a curve gets: "plain-56", "res-56" (option A), "res-B-56"."""
    if shortcut is None:
        return f"plain-{depth}"
    return f"res-{depth}" if shortcut == "A" else f"res-{shortcut}-{depth}"


def build_net(
    depth: int, shortcut: str | None, data: Dataset, profile: Profile, seed: int = 0, **kwargs
) -> CifarResNet:
    """A CIFAR-family net sized for `data` at the profile's width, initialised from `seed`."""
    torch.manual_seed(seed)
    return CifarResNet(
        depth,
        shortcut=shortcut,
        width=profile.width,
        in_channels=data.in_channels,
        num_classes=data.num_classes,
        **kwargs,
    )


def build_wrn(n: int, k: int, data: Dataset, profile: Profile, seed: int = 0, **kwargs) -> CifarResNet:
    """WRN-n-k sized for `data`, with the profile's stem width, initialised from `seed`."""
    torch.manual_seed(seed)
    return wide_resnet(n, k, width=profile.width, in_channels=data.in_channels, num_classes=data.num_classes, **kwargs)


def checkpoint_path(
    model: torch.nn.Module,
    data: Dataset,
    label: str,
    recipe: Recipe,
    fit_options: dict,
    folder: str | Path = "checkpoints",
) -> Path:
    """Where a run is checkpointed: named by its label, keyed by everything that changes the run.

    The key hashes the model's layers and initial weights (so depth, width, zero-init, seed...),
    the dataset, the recipe and every `fit` option (seed, evaluation...): change any of them and the run
    gets a new file, so a rerun never resumes a stale run with other settings.
    """
    key = hashlib.sha256()
    key.update(repr(model).encode())
    for tensor in model.state_dict().values():
        key.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    key.update(repr((data.name, len(data.train_labels), len(data.test_labels))).encode())
    key.update(repr(recipe).encode())  # a frozen dataclass: its repr names every field
    settings = {k: v for k, v in fit_options.items() if k not in ("callbacks", "progress", "label", "clock")}
    key.update(repr(sorted(settings.items())).encode())
    name = f"{data.name}-{label or 'run'}-{key.hexdigest()[:12]}.pt".replace(" ", "_").replace("/", "_")
    return Path(folder) / name


def recipe_and_options(recipe: Recipe, overrides: dict) -> tuple[Recipe, dict]:
    """Split keyword arguments into changes to `recipe` (its field names) and `fit` options (FIT_OPTIONS)."""
    for name, value in overrides.items():
        if name not in RECIPE_FIELDS and name not in FIT_OPTIONS:
            raise ValueError(
                f"{name}={value!r} is not valid: give a Recipe field ({', '.join(RECIPE_FIELDS)}) "
                f"or a fit option ({', '.join(FIT_OPTIONS)})"
            )
    changes = {name: value for name, value in overrides.items() if name in RECIPE_FIELDS}
    for length, other in (("steps", "seconds"), ("seconds", "steps")):  # a run is as long as one of them
        if length in changes:
            changes.setdefault(other, None)
    options = {name: value for name, value in overrides.items() if name in FIT_OPTIONS}
    return dataclasses.replace(recipe, **changes), options


def train_model(
    model: torch.nn.Module,
    data: Dataset,
    profile: Profile,
    label: str = "",
    callbacks=(),
    progress: bool = False,
    checkpoint: bool | None = None,
    recipe: Recipe | None = None,
    **overrides,
) -> History:
    """`fit` with the profile's recipe and budget (evaluation, compile, checkpoints).

    recipe: None is the profile's. overrides: Recipe fields change the recipe (`steps=200, lr=0.01`;
    `seconds=60` makes it a run of 60 seconds of training);
    `fit` options (FIT_OPTIONS: `seed=1`, `eval_every=0`...) replace the profile's.
    checkpoint: None follows the profile (gpu checkpoints every `checkpoint_every` steps to
    `profile.checkpoint_dir`, so rerunning the cell after a Colab disconnect resumes the run);
    True or False chooses explicitly.
    """
    recipe, chosen = recipe_and_options(recipe or profile.recipe, overrides)
    options = dict(eval_every=profile.eval_every, compile=profile.compile, callbacks=callbacks, progress=progress)
    options.update(chosen, label=label)
    if checkpoint is None:
        checkpoint = profile.checkpoint_every > 0
    if checkpoint:
        every = profile.checkpoint_every or max(1, (recipe.steps or profile.steps) // 10)
        path = checkpoint_path(model, data, label, recipe, options, profile.checkpoint_dir)
        options.update(checkpoint=path, checkpoint_every=every)
    return fit(model, data, recipe, **options)


def train_net(
    depth: int,
    shortcut: str | None,
    data: Dataset,
    profile: Profile,
    seed: int = 0,
    callbacks=(),
    progress: bool = False,
    label: str | None = None,
    **overrides,
) -> History:
    """Build (from `seed`) and train one net with the profile's recipe; overrides as for `train_model`."""
    model = build_net(depth, shortcut, data, profile, seed)
    return train_model(
        model, data, profile, label or net_label(depth, shortcut), callbacks, progress, seed=seed, **overrides
    )


def side_by_side_lanes(
    nets: Mapping[str, torch.nn.Module], device: str | torch.device | None = None, compile: bool = False
) -> int:
    """How many nets of `nets` should train at the same time: one lane per thread, at most one per net; 1 means one
    after the other. Each lane gets an equal, fixed share of the threads (`torch.get_num_threads() // lanes`).

    Side by side pays on a CPU: small nets use a second thread poorly, so two nets on one thread each
    finish sooner than one after the other on two (`benchmarks/concurrent_pairs.py` measures it). A net's thread count stays fixed, so its run is exactly reproducible.
    Not on a GPU, not on one thread (the `smoke` profile's setting), not with dropout (it draws from the
    generator all threads share) and not with torch.compile (not thread-safe: pytorch/pytorch#105943).
    """
    dropout = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for net in nets.values() for m in net.modules())
    if pick_device(device).type != "cpu" or dropout or compile:
        return 1
    return max(1, min(len(nets), torch.get_num_threads()))


def train_side_by_side(
    nets: Mapping[str, torch.nn.Module],
    data: Dataset | Mapping[str, Dataset],
    profile: Profile,
    plot=None,
    callbacks: Mapping[str, Sequence[Callable]] | None = None,
    options: Mapping[str, dict] | None = None,
    **overrides,
) -> dict[str, History]:
    """Train every net in `nets` (label -> model) with the profile's recipe; {label: History}, in the order given.

    data: one Dataset for every net, or {label: Dataset}. options: {label: overrides} for one net only (its
    batch size, say); `overrides` (as for `train_model`) apply to all.

    Where `side_by_side_lanes` says so, nets train at the same time: net i in lane i % lanes, each lane
    training its nets one after the other (four nets in two lanes: the 1st and 3rd in one, the 2nd and 4th
    in the other; so give nets of one size next to each other). `plot` (a LivePlot) gets a curve per net,
    drawn from this thread; `callbacks` adds a net's own fit callbacks (run in its training thread).
    Interrupting the cell (Jupyter's stop button) stops every net after its current step; nets that had
    not started are left out of the result.
    """
    callbacks, options = callbacks or {}, options or {}
    datasets = data if isinstance(data, Mapping) else {label: data for label in nets}
    for name, given in (("callbacks", callbacks), ("options", options), ("data", datasets)):
        if set(given) - set(nets) or (name == "data" and set(nets) - set(given)):
            raise ValueError(f"{name} for {sorted(given)} are not valid: give them for the nets {list(nets)}")

    def run(label: str, extra_callbacks: list) -> History:
        return train_model(
            nets[label],
            datasets[label],
            profile,
            label,
            extra_callbacks + list(callbacks.get(label, ())),
            **{**overrides, **options.get(label, {})},
        )

    drawn = {label: plot.callback(label) for label in nets} if plot is not None else {}
    lanes = side_by_side_lanes(nets, overrides.get("device"), overrides.get("compile", profile.compile))
    if lanes == 1:
        return {label: run(label, [drawn[label]] if drawn else []) for label in nets}
    return _in_lanes(run, list(nets), lanes, drawn)


def _in_lanes(
    run: Callable[[str, list], History], labels: list[str], lanes: int, drawn: Mapping[str, Callable]
) -> dict[str, History]:
    """`run(label, callbacks)` for every label, label i in thread i % lanes; frames drawn here, on the caller's thread."""
    threads = torch.get_num_threads() // lanes
    latest = {label: History(label=label) for label in labels}
    histories, errors, stop = {}, [], threading.Event()

    def keep(history: History) -> None:
        latest[history.label] = history

    def lane(mine: list[str]) -> None:
        torch.set_num_threads(threads)  # this thread's own setting
        for label in mine:
            if stop.is_set():
                return
            try:
                histories[label] = run(label, [keep, lambda _: stop.is_set()])
            except BaseException as error:  # raised again in the caller's thread
                errors.append(error)
                stop.set()
                return

    workers = [threading.Thread(target=lane, args=(labels[i::lanes],), daemon=True) for i in range(lanes)]
    try:
        for worker in workers:
            worker.start()
        while any(worker.is_alive() for worker in workers):
            time.sleep(0.05)
            for label, update in drawn.items():
                if latest[label].steps and not latest[label].stop_reason:
                    update(latest[label])
    except KeyboardInterrupt:  # Jupyter's stop button: every net stops after its current step
        stop.set()
        for worker in workers:
            worker.join()
        for history in histories.values():
            history.stop_reason = "interrupted"
    if errors:
        raise errors[0]
    for label, update in drawn.items():
        if label in histories:
            update(histories[label])  # the end: the final frame
    return {label: histories[label] for label in labels if label in histories}


def results_table(histories: dict[str, History]) -> str:
    """Final training loss, training error and test error of each run, as aligned text."""
    width = max([5, *map(len, histories)])
    lines = [f"{'model':<{width}} {'final training loss':>19} {'training error':>14} {'test error':>10}"]
    for label, h in histories.items():
        train_error = f"{h.training_error():.1f}%" if h.train_accuracy else "-"
        test_error = f"{h.test_error():.1f}%" if h.test_accuracy else "-"
        lines.append(f"{label:<{width}} {h.final_loss():>19.4f} {train_error:>14} {test_error:>10}")
    return "\n".join(lines)
