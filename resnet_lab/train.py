"""The one training loop every notebook uses: `fit(model, data, recipe)`.

Read `train_step` first: it is all of SGD that a learner needs (forward, loss, backward, guard,
step). `fit` runs it as a `Recipe` says (resnet_lab.recipe: steps or seconds, batch size, lr,
schedule...), for example the paper's `HE2015_CIFAR` (He et al. 2015, Section 4.2).

On CUDA it uses mixed precision and channels_last; on a CPU it runs in float32 (bfloat16 autocast
on request) and is deterministic for a given seed. It can checkpoint and resume exactly, stops
cleanly on Ctrl-C / the Jupyter stop button, and stops on a non-finite loss before that step
touches the weights.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import Dataset, DeviceLoader
from .recipe import Recipe

EVAL_TRAIN_IMAGES = 10_000  # training images evaluated for the training error (CIFAR-10 has 50,000: 1/5 is plenty)
CHANNELS_LAST_MIN_SIZE = 32  # CPU: channels_last from this image size on (benchmarks/memory_format.py)
FINAL_LOSS_STEPS = 10  # History.final_loss averages this many last mini-batch losses: less noisy than one
STARTUP_STEPS = 2  # the first steps of a run pay a one-off start-up cost (allocator, kernels), many times a later step


class NonFiniteLoss(Exception):
    """The loss became inf or NaN; raised by `train_step` before the weights change."""


def train_step(
    forward: Callable,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    x: torch.Tensor,
    y: torch.Tensor,
    amp_dtype: torch.dtype | None = None,
    label_smoothing: float = 0.0,
    grad_clip: float | None = None,
) -> tuple[float, float]:
    """One SGD step on the batch (x, y): forward, loss, backward, guard, step. Returns (loss, accuracy).

    label_smoothing: the cross-entropy's (0: none). grad_clip: the largest gradient norm used (None: any).
    """
    with torch.autocast(x.device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits = forward(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()  # the scaler multiplies float16 losses up so that small gradients survive
    # One host sync per step, for the log and the guard, before the weights change.
    loss_value, accuracy = torch.stack([loss.detach(), (logits.argmax(1) == y).float().mean()]).tolist()
    if not math.isfinite(loss_value):
        raise NonFiniteLoss(loss_value)
    if grad_clip is not None:
        scaler.unscale_(optimizer)  # clip the true gradients, not float16's scaled-up ones
        nn.utils.clip_grad_norm_([p for group in optimizer.param_groups for p in group["params"]], grad_clip)
    scaler.step(optimizer)
    scaler.update()
    return loss_value, accuracy


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """`device` if given, else the best available: cuda > mps > cpu."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast_dtype(device: torch.device, amp: bool | None) -> torch.dtype | None:
    """The mixed-precision dtype for `device`, or None for full float32 (amp=False).

    amp=None means "on where it pays": CUDA only. On CUDA, bfloat16 (no loss scaling needed) only
    where the GPU computes it natively, compute capability 8.0 and up (A100, L4, H100); older GPUs
    such as Colab's T4 (7.5) get float16 with loss scaling. (torch.cuda.is_bf16_supported() says
    True on a T4 too, through slow emulation, so it is not asked.) On a CPU, amp=True is bfloat16.
    """
    if amp is None:
        amp = device.type == "cuda"
    if not amp:
        return None
    if device.type == "cuda":
        major, _ = torch.cuda.get_device_capability(device)
        return torch.bfloat16 if major >= 8 else torch.float16
    if device.type == "cpu":
        return torch.bfloat16
    warnings.warn(f"mixed precision is not used on {device.type}; training in float32", stacklevel=2)
    return None


def channels_last_pays(device: torch.device, image_size: int) -> bool:
    """Whether the channels_last memory format trains faster here: on CUDA always; on a CPU for images of
    CHANNELS_LAST_MIN_SIZE pixels and up (benchmarks/memory_format.py: faster at 32x32 on 1 and 2 threads;
    at 8x8 and 16x16 faster on one thread and slower on two, so small images stay contiguous)."""
    return device.type == "cuda" or (device.type == "cpu" and image_size >= CHANNELS_LAST_MIN_SIZE)


@dataclass
class History:
    """What happened during training, step by step. Lists grow as training runs.

    The course's words for these, the same in tables, records, figures and prose:
        training loss        `loss`: the mini-batch loss at each step, in train mode
        final training loss  `final_loss()`: the training loss averaged over the last steps
        training error       `training_error()`: % of (up to EVAL_TRAIN_IMAGES) training images
                             misclassified in eval mode, from `train_accuracy`
        test error           `test_error()`: the same on the test set, from `test_accuracy`
        seconds of training  `seconds` (in all) and `elapsed` (at each step): the steps alone
    """

    label: str = ""
    steps: list[int] = field(default_factory=list)  # after this many optimiser steps...
    loss: list[float] = field(default_factory=list)  # ...the mini-batch loss (train mode)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)  # training seconds at each step (no evaluation, no callbacks)
    eval_steps: list[int] = field(default_factory=list)  # full-set evaluations (eval mode)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    stop_reason: str = ""  # "" while training; then "finished", "interrupted", "stopped by callback", ...
    seconds: float = 0.0  # time spent on training steps (not evaluation, saving, or callbacks such as live plots)
    images: int = 0  # training images processed

    def final_loss(self, last: int = FINAL_LOSS_STEPS) -> float:
        """The final training loss: the mean mini-batch loss over the last `last` steps (less noisy than one)."""
        if not self.loss:
            return math.nan
        tail = self.loss[-last:]
        return sum(tail) / len(tail)

    def training_error(self) -> float:
        """Training error (%) at the last full-set evaluation; nan if there was none."""
        return 100 * (1 - self.train_accuracy[-1]) if self.train_accuracy else math.nan

    def test_error(self) -> float:
        """Test error (%) at the last full-set evaluation; nan if there was none."""
        return 100 * (1 - self.test_accuracy[-1]) if self.test_accuracy else math.nan

    def record(self, step: int, loss: float, accuracy: float, lr: float, images: int, elapsed: float) -> None:
        """Log one finished optimiser step."""
        self.steps.append(step)
        self.loss.append(loss)
        self.accuracy.append(accuracy)
        self.lr.append(lr)
        self.elapsed.append(elapsed)
        self.images += images

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else math.nan


@contextmanager
def in_mode(model: nn.Module, training: bool):
    """Run the block with `model` in train (True) or eval (False) mode; its mode is restored after."""
    was_training = model.training
    model.train(training)
    try:
        yield model
    finally:
        model.train(was_training)


def uses_channels_last(model: nn.Module) -> bool:
    """Whether `model`'s convolutions are in the channels_last memory format (`fit` leaves a model it trained so)."""
    return any(
        m.weight.dim() == 4
        and not m.weight.is_contiguous()
        and m.weight.is_contiguous(memory_format=torch.channels_last)
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int = 1024,
    amp_dtype: torch.dtype | None = None,
    channels_last: bool | None = None,
) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of `model` in eval mode over all of `images`.

    Labels of shape (N,) score images; labels of shape (N, H, W) score every pixel (segmentation).
    channels_last: None = in the model's own memory format (`uses_channels_last`).
    """
    device = next(model.parameters()).device
    if channels_last is None:
        channels_last = uses_channels_last(model)
    total_loss, correct = 0.0, 0
    with in_mode(model, training=False):
        for i in range(0, len(labels), batch_size):
            x = images[i : i + batch_size].to(device, non_blocking=True)
            y = labels[i : i + batch_size].to(device, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                logits = model(x)
            total_loss += F.cross_entropy(logits.float(), y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    return total_loss / labels.numel(), correct / labels.numel()


def save_checkpoint(path: str | Path, model, optimizer, scaler, history: History) -> None:
    """Everything needed to continue exactly; written to a temporary file first, so a
    disconnect in the middle of saving never leaves a broken checkpoint."""
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict(),
        "history": asdict(history),
        "cpu_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, model, optimizer, scaler) -> History:
    """Restore model, optimiser, scaler and random state from `path`; return the saved History."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["cpu_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    history = History(**state["history"])
    history.stop_reason = ""  # it goes on
    return history


@torch.no_grad()
def check_model_fits_data(model: nn.Module, data: Dataset) -> None:
    """Raise a clear ValueError, before any training, if `model` cannot learn `data`'s task.

    One forward pass of two training images in eval mode (it changes nothing in the model): the
    model must accept the images and give at least one output per class.
    """
    x = data.train_images[:2].to(next(model.parameters()).device)
    try:
        with in_mode(model, training=False):
            logits = model(x)
    except RuntimeError as error:
        raise ValueError(
            f"model does not accept the images of data={data.name!r} (shape {tuple(x.shape[1:])}): "
            f"build it with in_channels={data.in_channels}. PyTorch said: {error}"
        ) from error
    if logits.ndim != data.train_labels.ndim + 1 or logits.shape[1] < data.num_classes:
        raise ValueError(
            f"model gives {tuple(logits.shape[1:])} outputs per image, but data={data.name!r} has "
            f"{data.num_classes} classes: build it with num_classes={data.num_classes}"
        )


Callback = Callable[[History], "bool | None"]


class ProgressBar:
    """A `fit` callback: a tqdm bar with the latest loss, closed when training ends (steps=None: a count)."""

    def __init__(self, steps: int | None, label: str = "", start: int = 0):
        self.bar = tqdm(total=steps, initial=start, desc=label or "training", leave=False)

    def __call__(self, history: History) -> None:
        if history.stop_reason:
            self.bar.close()
            return
        self.bar.update(history.steps[-1] - self.bar.n)
        self.bar.set_postfix(loss=f"{history.loss[-1]:.3f}", refresh=False)


@torch.no_grad()
def _copy(destinations: list[torch.Tensor], sources: list[torch.Tensor]) -> None:
    for destination, source in zip(destinations, sources):
        destination.copy_(source)


def _prepared(model: nn.Module, channels_last: bool, compile: bool):
    """Put `model` in training mode (and memory format); return what to call for a forward pass."""
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.train()
    return torch.compile(model) if compile else model


def _evaluate_into(history: History, model: nn.Module, data: Dataset, step: int, **kwargs) -> None:
    """Append the full-set training (up to EVAL_TRAIN_IMAGES) and test loss and accuracy at `step`."""
    train = evaluate(model, data.train_images[:EVAL_TRAIN_IMAGES], data.train_labels[:EVAL_TRAIN_IMAGES], **kwargs)
    test = evaluate(model, data.test_images, data.test_labels, **kwargs)
    history.train_loss.append(train[0])
    history.train_accuracy.append(train[1])
    history.test_loss.append(test[0])
    history.test_accuracy.append(test[1])
    history.eval_steps.append(step)


def _check_options(eval_every, checkpoint_every, checkpoint) -> None:
    for name, value in [("eval_every", eval_every), ("checkpoint_every", checkpoint_every)]:
        if not isinstance(value, int) or value < 0:
            raise ValueError(f"{name}={value!r} is not valid: it must be an integer >= 0")
    if checkpoint_every and checkpoint is None:
        raise ValueError(f"checkpoint_every={checkpoint_every} needs a checkpoint path")


@dataclass
class _Run:
    """One run as `fit` set it up: what the training loop steps, evaluates, saves and calls."""

    model: nn.Module
    forward: Callable  # the model, or its compiled version
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loader: DeviceLoader
    data: Dataset
    recipe: Recipe
    amp_dtype: torch.dtype | None
    channels_last: bool
    eval_every: int
    checkpoint: str | Path | None
    checkpoint_every: int
    callbacks: list[Callback]
    clock: Callable[[], float]

    def ended(self, history: History) -> bool:
        """Whether `history` has reached the recipe's end: its steps, or its seconds of training."""
        if self.recipe.seconds is None:
            return len(history.steps) >= self.recipe.steps
        return history.seconds >= self.recipe.seconds

    def evaluate_into(self, history: History, step: int) -> None:
        _evaluate_into(history, self.model, self.data, step, amp_dtype=self.amp_dtype, channels_last=self.channels_last)

    def save(self, history: History) -> None:
        save_checkpoint(self.checkpoint, self.model, self.optimizer, self.scaler, history)


def fit(
    model: nn.Module,
    data: Dataset,
    recipe: Recipe,
    *,
    device: str | torch.device | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    compile: bool = False,
    seed: int = 0,
    eval_every: int = 0,
    eval_at_end: bool = True,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
    checkpoint: str | Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = True,
    label: str = "",
    clock: Callable[[], float] = time.perf_counter,
) -> History:
    """Train `model` on `data` as `recipe` says (its steps, or its seconds of training) and return its History.

    eval_every: evaluate on the training set (up to EVAL_TRAIN_IMAGES) and the test set every this
        many steps (0: never during training); eval_at_end: and once when training ends.
    callbacks: every one is called as `callback(history)` after every step, and once more when
        training ends (then `history.stop_reason` is set). If any returns True, training stops
        (after all of them have run). progress=True adds a ProgressBar.
    checkpoint: a file to save to every `checkpoint_every` steps and at the end; with resume=True
        an existing file is loaded first and training continues from its step.
    amp: mixed precision (None = on for CUDA). channels_last: None = where it pays (`channels_last_pays`).
    clock: what training time is measured with (seconds); tests give a fake one.
    """
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe={recipe!r} is not valid: give a Recipe, e.g. HE2015_CIFAR.scaled(1_000)")
    _check_options(eval_every, checkpoint_every, checkpoint)
    device = pick_device(device)
    loader = DeviceLoader.for_training(data, recipe.batch_size, seed=seed, device=device)  # checks batch_size
    check_model_fits_data(model.to(device), data)
    amp_dtype = autocast_dtype(device, amp)
    channels_last = channels_last_pays(device, data.image_size) if channels_last is None else channels_last
    if any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules()):
        torch.manual_seed(seed)  # dropout draws from the global generator; nothing else in training does
    forward = _prepared(model, channels_last, compile)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=recipe.lr,
        momentum=recipe.momentum,
        weight_decay=recipe.weight_decay,
        nesterov=recipe.nesterov,
    )
    # Loss scaling is only needed for float16; for bfloat16 and float32 the scaler is a no-op.
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    history = History(label=label)
    if checkpoint is not None and resume and Path(checkpoint).exists():
        history = load_checkpoint(checkpoint, model, optimizer, scaler)
        print(f"Resuming {label or 'training'} from {checkpoint} at step {len(history.steps)}")
    if progress:
        callbacks = [ProgressBar(recipe.steps, label, len(history.steps)), *callbacks]
    run = _Run(
        model,
        forward,
        optimizer,
        scaler,
        loader,
        data,
        recipe,
        amp_dtype,
        channels_last,
        eval_every,
        checkpoint,
        checkpoint_every,
        list(callbacks),
        clock,
    )
    _train_loop(run, history)
    _finish(run, history, eval_at_end)
    return history


def _train_loop(run: _Run, history: History) -> None:
    """Steps from where `history` ends to the recipe's end, with evaluation, checkpoints and callbacks."""
    # BN running statistics change in the forward pass, before the loss can be checked: keep a copy
    # of the last good ones so that a non-finite step can be undone completely.
    buffers = list(run.model.buffers())
    good_buffers = [b.clone() for b in buffers]
    step = len(history.steps)  # optimiser steps taken so far
    try:
        while not run.ended(history):
            start = run.clock()  # training time: the step itself, not evaluation, saving or callbacks
            lr = run.recipe.lr_at(step, history.seconds)
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            x, y = run.loader.batch(step)
            _copy(good_buffers, buffers)
            if run.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            try:
                loss, accuracy = train_step(
                    run.forward,
                    run.optimizer,
                    run.scaler,
                    x,
                    y,
                    run.amp_dtype,
                    run.recipe.label_smoothing,
                    run.recipe.grad_clip,
                )
            except NonFiniteLoss as error:
                _copy(buffers, good_buffers)
                history.stop_reason = (
                    f"non-finite loss ({error.args[0]}) at step {step + 1}: stopped before "
                    f"that step changed the weights (try a lower lr; lr was {lr:g})"
                )
                warnings.warn(history.stop_reason, stacklevel=3)
                break
            history.seconds += run.clock() - start
            step += 1
            history.record(step, loss, accuracy, lr, len(y), history.seconds)
            last = run.ended(history)  # the end is evaluated and saved by _finish
            if run.eval_every and step % run.eval_every == 0 and not last:
                run.evaluate_into(history, step)
            if run.checkpoint_every and step % run.checkpoint_every == 0 and not last:
                run.save(history)
            stops = [callback(history) for callback in run.callbacks]  # every callback, every step
            if any(stops):
                history.stop_reason = "stopped by callback"
                break
    except KeyboardInterrupt:
        history.stop_reason = "interrupted"


def _finish(run: _Run, history: History, eval_at_end: bool) -> None:
    """After the last step: evaluate, save, and tell every callback that training has ended."""
    history.stop_reason = history.stop_reason or "finished"
    if eval_at_end and history.steps and history.eval_steps[-1:] != history.steps[-1:]:
        run.evaluate_into(history, history.steps[-1])
    if run.checkpoint is not None and history.steps:
        run.save(history)
    for callback in run.callbacks:
        callback(history)
