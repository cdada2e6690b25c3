"""Parameter counts and multiply-adds, the units of the papers' tables.

He et al. (2015) write "FLOPs" for multiply-adds: VGG-19 is 19.6 billion, ResNet-34 3.6 billion
(Table 1, Fig. 3). `torch.utils.flop_counter` counts a multiply-add as 2 FLOPs, so we halve it.
Like the paper and torchvision's published numbers, only convolutions and linear layers count;
BN, ReLU, pooling and additions are cheap by comparison and left out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .train import in_mode


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_macs(model: nn.Module, input_size: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass on one input of shape `input_size`, e.g. (3, 32, 32)."""
    parameter = next(model.parameters())
    x = torch.zeros(1, *input_size, device=parameter.device, dtype=parameter.dtype)
    with torch.no_grad(), in_mode(model, training=False), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


def torchvision_model(name: str, **kwargs) -> nn.Module:
    """An untrained torchvision model built on the 'meta' device: its shapes, no memory, no download.

    Good for counting (count_parameters, count_macs) even for VGG-19's 144M parameters.
    """
    import torchvision  # imported here, where it is used: it slows every notebook's start (README, Performance)

    builders = torchvision.models.list_models(module=torchvision.models)
    if name not in builders:
        raise ValueError(
            f"name={name!r} is not a torchvision classification model: try one of "
            "resnet18, resnet34, resnet50, resnet101, resnet152, wide_resnet50_2, vgg19"
        )
    with torch.device("meta"):
        return torchvision.models.get_model(name, weights=None, **kwargs)


def seconds_per_step(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    repeats: int = 5,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Wall-clock time of one forward+backward pass on (images, labels): the fastest of `repeats`, after a warm-up.

    The fastest run is the least disturbed by whatever else the machine is doing.
    """
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device)
    times = []
    for i in range(repeats + 1):
        start = clock()
        F.cross_entropy(model(images), labels).backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = clock() - start
        if i:  # the first pass is the warm-up
            times.append(elapsed)
    model.zero_grad(set_to_none=True)
    return min(times)
