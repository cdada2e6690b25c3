"""How a net is optimised: a `Recipe`, and the papers' recipes as named values.

A recipe is everything about optimisation that a paper states: how long (steps, or seconds of
training), the batch size, SGD's learning rate, momentum and weight decay, the schedule, warm-up,
label smoothing and gradient clipping. It is frozen, so "the same recipe" is a value a learner can
print and compare; `scaled` gives the same recipe shorter, `within` the same recipe on a clock.

    >>> print(HE2015_CIFAR.scaled(8_000))
    Recipe: 8,000 steps on batches of 128
      SGD: lr 0.1, momentum 0.9, weight decay 0.0001
      schedule: lr x0.1 at 50% and 75% of the steps
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

SCHEDULES = ("step", "cosine")


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Recipe:
    """The optimisation recipe of one training run (SGD throughout).

    steps: optimiser steps; or None, and `seconds` of training instead. Give one of the two.
    schedule: "step" multiplies lr by `gamma` at each milestone (fractions of the steps, or of the
        seconds); "cosine" lowers it along half a cosine to 0 (no milestones).
    warmup_steps: the first steps train at `warmup_lr` (None: lr / 10).
    grad_clip: the largest gradient norm a step may use (None: no clipping).
    """

    steps: int | None
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    nesterov: bool = False
    schedule: str = "step"
    milestones: Sequence[float] = ()
    gamma: float = 0.1
    warmup_steps: int = 0
    warmup_lr: float | None = None
    label_smoothing: float = 0.0
    grad_clip: float | None = None
    seconds: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "milestones", tuple(self.milestones))  # a list would make another repr
        for name, low in [("batch_size", 1), ("warmup_steps", 0)]:
            value = getattr(self, name)
            if not _is_integer(value) or value < low:
                raise ValueError(f"{name}={value!r} is not valid: it must be an integer >= {low}")
        if self.steps is None and self.seconds is None:
            raise ValueError("steps=None is not valid without seconds: give the steps or the seconds of training")
        if self.steps is not None and self.seconds is not None:
            raise ValueError(
                f"steps={self.steps!r} and seconds={self.seconds!r} are not valid together: give one (the other None)"
            )
        if self.steps is not None and (not _is_integer(self.steps) or self.steps < 1):
            raise ValueError(f"steps={self.steps!r} is not valid: it must be an integer >= 1")
        for name in ("lr", "seconds", "warmup_lr", "grad_clip"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{name}={value!r} is not valid: it must be positive")
        for name, allowed in [("momentum", "from 0 to below 1"), ("label_smoothing", "from 0 to below 1")]:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 <= value < 1):
                raise ValueError(f"{name}={value!r} is not valid: it must be {allowed}")
        if not (isinstance(self.weight_decay, (int, float)) and self.weight_decay >= 0):
            raise ValueError(f"weight_decay={self.weight_decay!r} is not valid: it must be >= 0")
        if self.nesterov and not self.momentum:
            raise ValueError(f"nesterov=True is not valid with momentum={self.momentum!r}: Nesterov needs a momentum")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule={self.schedule!r} is not valid: use one of {', '.join(map(repr, SCHEDULES))}")
        if any(not (isinstance(m, (int, float)) and 0 < m <= 1) for m in self.milestones):
            raise ValueError(f"milestones={self.milestones!r} are not valid: use fractions of training in (0, 1]")
        if self.schedule == "cosine" and self.milestones:
            raise ValueError(f"milestones={self.milestones!r} are not valid with schedule='cosine': give none")
        if not (isinstance(self.gamma, (int, float)) and 0 < self.gamma <= 1):
            raise ValueError(f"gamma={self.gamma!r} is not valid: it must be in (0, 1]")

    def scaled(self, steps: int, batch_size: int | None = None) -> Recipe:
        """The same recipe with `steps` steps (and batches of `batch_size` if given; the lr stays):
        the milestones keep their fractions, the warm-up shrinks alike."""
        length = self.steps or steps
        warmup = max(1, round(self.warmup_steps * steps / length)) if self.warmup_steps else 0
        batch_size = self.batch_size if batch_size is None else batch_size
        return dataclasses.replace(self, steps=steps, seconds=None, warmup_steps=warmup, batch_size=batch_size)

    def within(self, seconds: float) -> Recipe:
        """The same recipe ended by the clock: `seconds` of training, the milestones fractions of that time."""
        return dataclasses.replace(self, steps=None, seconds=seconds)

    def lr_at(self, step: int, seconds: float = 0.0) -> float:
        """The learning rate of optimiser step `step` (0-based), taken after `seconds` of training."""
        if step < self.warmup_steps:
            return self.lr / 10 if self.warmup_lr is None else self.warmup_lr
        done = step / self.steps if self.seconds is None else seconds / self.seconds  # fraction of training
        if self.schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, done)))
        if self.seconds is None:  # in whole steps: (0.5, 0.75) of 64,000 is exactly steps 32,000 and 48,000
            return self.lr * self.gamma ** sum(step >= m * self.steps for m in self.milestones)
        return self.lr * self.gamma ** sum(done >= m for m in self.milestones)

    def __str__(self) -> str:
        length = f"{self.steps:,} steps" if self.seconds is None else f"{self.seconds:g} seconds of training"
        sgd = f"lr {self.lr:g}, {'Nesterov ' if self.nesterov else ''}momentum {self.momentum:g}"
        lines = [
            f"Recipe: {length} on batches of {self.batch_size}",
            f"  SGD: {sgd}, weight decay {self.weight_decay:g}",
        ]
        of = "steps" if self.seconds is None else "time"
        if self.schedule == "cosine":
            lines.append(f"  schedule: lr along half a cosine to 0 over the {of}")
        elif self.milestones:
            at = " and ".join(", ".join(f"{m:.0%}" for m in self.milestones).rsplit(", ", 1))
            lines.append(f"  schedule: lr x{self.gamma:g} at {at} of the {of}")
        else:
            lines.append("  schedule: constant lr")
        if self.warmup_steps:
            warmup_lr = self.lr / 10 if self.warmup_lr is None else self.warmup_lr
            lines.append(f"  warm-up: {self.warmup_steps:,} steps at lr {warmup_lr:g}")
        if self.label_smoothing:
            lines.append(f"  label smoothing {self.label_smoothing:g}")
        if self.grad_clip is not None:
            lines.append(f"  gradients clipped to norm {self.grad_clip:g}")
        return "\n".join(lines)


# He et al. 2015, Section 4.2 (CIFAR-10): SGD with momentum 0.9, weight decay 1e-4, batch 128, lr 0.1
# divided by 10 at 32k and 48k of 64k iterations. (ResNet-110 also warms up at lr 0.01 for about
# 400 iterations: `dataclasses.replace(HE2015_CIFAR, warmup_steps=400)`.)
HE2015_CIFAR = Recipe(
    steps=64_000, batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4, milestones=(0.5, 0.75), gamma=0.1
)

# Zagoruyko & Komodakis 2016, Section 4 (CIFAR): SGD with Nesterov momentum 0.9, weight decay 5e-4,
# batch 128, lr 0.1 multiplied by 0.2 at epochs 60, 120 and 160 of 200. Steps: 200 epochs of
# ceil(50,000 / 128) = 391 mini-batches, as a loader that keeps each epoch's last, smaller batch
# counts them (ours draws only full batches, 390 an epoch, so this is 200.5 of its epochs).
WRN2016 = Recipe(
    steps=200 * 391,
    batch_size=128,
    lr=0.1,
    momentum=0.9,
    weight_decay=5e-4,
    nesterov=True,
    milestones=(0.3, 0.6, 0.8),
    gamma=0.2,
)
