"""What every notebook's set-up cell calls: `profile, data = start()`, and `claim`, for exact claims.

`start` picks the compute profile (resnet_lab.profiles), loads that profile's dataset, and prints
one line saying where the notebook runs, so a learner (and an instructor reading a saved
notebook) knows which budget produced the outputs. On Colab it says plainly when no GPU was
given, and on request keeps checkpoints in Google Drive.
"""

from __future__ import annotations

import dataclasses

import torch

from ..data import Dataset, load_dataset
from ..train import pick_device
from .figures import on_colab, static_images_wanted, use_course_template, use_static_images
from .profiles import Profile, get_profile
from .records import load

DRIVE_ROOT = "/content/drive"
DRIVE_CHECKPOINTS = f"{DRIVE_ROOT}/MyDrive/resnet-lab/checkpoints"


def start(profile: str | None = None, data_root: str = "data", save_to_drive: bool = False) -> tuple[Profile, Dataset]:
    """Choose the profile, load its dataset, print 'device · profile · dataset'.

    save_to_drive (Colab only): mount Google Drive and checkpoint there, so that a recycled Colab
    machine loses no training (a reconnect to the same machine resumes from local checkpoints too).
    """
    chosen = get_profile(profile)
    if chosen.name == "smoke":
        torch.set_num_threads(1)  # the reproducible setting the tests use
    use_course_template()
    if static_images_wanted():
        use_static_images()
    if on_colab():
        chosen = _on_colab(chosen, save_to_drive)
    data = load_dataset(chosen.dataset, root=data_root, size=chosen.image_size)
    device = pick_device()
    name = torch.cuda.get_device_name() if device.type == "cuda" else device.type
    print(f"device: {name} · profile: {chosen.name} ({chosen.steps} steps per run) · dataset: {data!r}")
    if not load(chosen.name).runs:
        print(
            f"No recorded seeds exist for the {chosen.name} profile yet: the numbers the prose quotes are the cpu "
            "profile's (digits), and do not apply to this run."
        )
    return chosen, data


def _on_colab(profile: Profile, save_to_drive: bool) -> Profile:
    if not torch.cuda.is_available():
        print(
            "Colab gave this notebook no GPU, so it runs the cpu profile (digits at 16x16, about 2 minutes). "
            "For CIFAR-10 on a GPU: Runtime > Change runtime type > T4 GPU, then run the notebook again."
        )
    if save_to_drive:
        from google.colab import drive

        drive.mount(DRIVE_ROOT)
        profile = dataclasses.replace(profile, checkpoint_dir=DRIVE_CHECKPOINTS)
        print(f"Checkpoints go to Google Drive: {DRIVE_CHECKPOINTS}")
    return profile


def claim(holds: bool, statement: str, profile: Profile) -> None:
    """Check an exact claim that no seed can change (07: the same outputs as torchvision's ResNet).

    Claims about an experiment's results are records in `claims.py`, checked with `claims.check`.
    On the smoke and cpu profiles a claim that fails raises AssertionError, so `pytest --nbval`
    fails when an effect disappears. On gpu (after a long CIFAR-10 run) it reports what happened
    instead of ending Run All with an error: the learner reads whether the paper's effect showed.
    """
    if holds:
        print(f"✓ {statement}")
    elif profile.strict_claims:
        raise AssertionError(f"the notebook claims: {statement}, but this run does not show it")
    else:
        print(
            f"✗ Not seen in this run: {statement}. Short or unlucky runs can miss an effect; "
            "compare with the paper's numbers above."
        )
