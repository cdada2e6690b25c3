"""How much compute a notebook may spend, per environment.

    smoke  tests and `pytest --nbval`: seconds per notebook, digits at 16x16.
    cpu    the default without a GPU: about a minute per notebook on 2 cores, digits at 16x16.
    gpu    the default with CUDA: CIFAR-10 at a scale that approaches the papers.

`get_profile()` picks one from the environment variable RESNET_LAB_PROFILE if it is set,
otherwise `gpu` when CUDA is available and `cpu` when it is not. Notebooks read every budget
(steps, batch size, widths, depths) from here; none hard-codes a step count.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

import torch

from ..recipe import HE2015_CIFAR, Recipe

ENV_VAR = "RESNET_LAB_PROFILE"
STEPS_ENV_VAR = "RESNET_LAB_STEPS"  # a rehearsal: the chosen profile with fewer steps per run


@dataclass(frozen=True)
class Profile:
    """What one venue (the tests, a CPU, a GPU) gives the notebooks: the data, the nets' widths and
    depths, and the budget (how long a run is, how often it is evaluated and checkpointed, the
    seconds of a same-time comparison).

    How a net is optimised is its `recipe` (a Recipe: steps, batch size, lr, momentum, weight decay,
    schedule...): the paper's recipe (He et al. 2015) shortened to this venue's steps. No Profile
    field repeats a Recipe field; `profile.steps` and `profile.batch_size` read the recipe's.
    """

    name: str
    dataset: str  # a name for resnet_lab.data.load_dataset
    recipe: Recipe  # how one training run optimises: its steps, batch size, lr, schedule...
    width: int  # channels of the first stage (the paper uses 16)
    shallow_depth: int  # the depth pair of the degradation experiment
    deep_depth: int
    max_depth: int  # largest depth a slider offers
    time_budget: float  # seconds of training per net, for same-time comparisons: `recipe.within(time_budget)`
    eval_every: int = 0  # steps between evaluations on the full train/test sets (0 = at the end)
    checkpoint_every: int = 0  # steps between checkpoints (0 = none)
    compile: bool = False  # torch.compile: pays off only for long runs
    image_size: int | None = None  # digits upsampled to this size (None: the dataset's own)
    strict_claims: bool = True  # a notebook's claim check raises (smoke, cpu) or reports what it saw (gpu)
    checkpoint_dir: str = "checkpoints"  # course.start() points it at Google Drive on request

    @property
    def steps(self) -> int:
        """Optimiser steps of one training run (the recipe's)."""
        return self.recipe.steps

    @property
    def batch_size(self) -> int:
        """Images per optimiser step (the recipe's)."""
        return self.recipe.batch_size


# fmt: off
PROFILES = {
    "smoke": Profile("smoke", "digits", HE2015_CIFAR.scaled(100, batch_size=64), width=8, image_size=16,
                     shallow_depth=8, deep_depth=32, max_depth=32, time_budget=3.0),
    # cpu: evaluated once, at the end of a run (no notebook shows full-set error curves on this profile).
    "cpu": Profile("cpu", "digits", HE2015_CIFAR.scaled(300, batch_size=128), width=8, image_size=16,
                   shallow_depth=20, deep_depth=56, max_depth=56, time_budget=15.0),
    "gpu": Profile("gpu", "cifar10", HE2015_CIFAR.scaled(8_000, batch_size=128), width=16,
                   shallow_depth=20, deep_depth=56, max_depth=110, time_budget=150.0,
                   eval_every=1_000, checkpoint_every=1_000, compile=True, strict_claims=False),
}
# fmt: on


def get_profile(name: str | None = None) -> Profile:
    """The profile called `name`; if None, from $RESNET_LAB_PROFILE, else gpu/cpu by hardware.

    $RESNET_LAB_STEPS shortens every run of the chosen profile (evaluation, checkpoints and time
    budgets scale with it): the tests rehearse the gpu profile's code path this way on a CPU.
    """
    source = "name"
    if name is None:
        name = os.environ.get(ENV_VAR) or None
        source = ENV_VAR
    if name is None:
        name = "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(f"{source}={name!r} is not a profile: use one of {', '.join(PROFILES)}")
    profile = PROFILES[name]
    steps = os.environ.get(STEPS_ENV_VAR)
    if steps:
        if not steps.isdigit() or int(steps) < 1:
            raise ValueError(f"{STEPS_ENV_VAR}={steps!r} is not valid: it must be a positive integer")
        profile = scaled(profile, int(steps))
    return profile


def scaled(profile: Profile, steps: int) -> Profile:
    """`profile` with `steps` steps per run; evaluation, checkpoints and time budget shrink alike."""
    factor = steps / profile.steps
    return dataclasses.replace(
        profile,
        recipe=profile.recipe.scaled(steps),
        eval_every=max(1, round(profile.eval_every * factor)) if profile.eval_every else 0,
        checkpoint_every=max(1, round(profile.checkpoint_every * factor)) if profile.checkpoint_every else 0,
        time_budget=profile.time_budget * factor,
    )
