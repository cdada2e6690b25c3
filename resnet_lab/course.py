"""What every notebook's set-up cell calls: `profile, data = start()`.

It picks the compute profile (resnet_lab.profiles), loads that profile's dataset, and prints one
line saying where the notebook runs, so a learner (and an instructor reading a saved notebook)
knows which budget produced the outputs.
"""
from __future__ import annotations

import torch

from .data import Dataset, load_dataset
from .profiles import Profile, get_profile
from .train import pick_device


def start(profile: str | None = None, data_root: str = "data") -> tuple[Profile, Dataset]:
    """Choose the profile, load its dataset, print 'device · profile · dataset'."""
    chosen = get_profile(profile)
    if chosen.name == "smoke":
        torch.set_num_threads(1)  # the reproducible setting the tests use
    data = load_dataset(chosen.dataset, root=data_root)
    device = pick_device()
    name = torch.cuda.get_device_name() if device.type == "cuda" else device.type
    print(f"device: {name} · profile: {chosen.name} ({chosen.steps} steps per run) · dataset: {data!r}")
    return chosen, data
