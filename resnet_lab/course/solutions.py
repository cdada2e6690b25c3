"""Reference solutions to the notebook exercises. Try the exercise first!

The answers are named apart from the package's own blocks (`resnet_lab.models.BasicBlock`), so that
one name never means two things.
"""

import math

import torch.nn.functional as F
from torch import nn


def count_layers(model: nn.Module) -> int:
    """Notebook 01: the layers with weights on the main path (what the paper's depth counts)."""
    return sum(
        1 for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and "shortcut" not in name
    )


class BasicBlockAnswer(nn.Module):
    """Notebook 02: the 2015 basic block with an option-A shortcut."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.extra_channels = stride, planes - in_planes

    def shortcut(self, x):
        x = x[:, :, :: self.stride, :: self.stride]  # keep every stride-th pixel
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))  # append zero channels

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def dz_dx(x: float, a1: float, a2: float) -> float:
    """Notebook 03: y = x + a1 tanh(x), z = y + a2 tanh(y); the chain rule, one factor per block."""
    y = x + a1 * math.tanh(x)
    return (1 + a2 * (1 - math.tanh(y) ** 2)) * (1 + a1 * (1 - math.tanh(x) ** 2))


class BottleneckAnswer(nn.Module):
    """Notebook 04: 1x1 reduce, 3x3, 1x1 restore (x4), projection shortcut where the shape changes."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out_planes, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.shortcut = nn.Identity()
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out_planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def wrn_params(n: int, k: int, num_classes: int = 10, in_channels: int = 3) -> int:
    """Notebook 05: parameters of WRN-n-k (pre-activation blocks, 1x1 projections, BN, final fc)."""
    blocks_per_stage = (n - 4) // 6
    total = in_channels * 16 * 3 * 3  # the stem convolution
    c_in = 16
    for width in (16 * k, 32 * k, 64 * k):
        for _ in range(blocks_per_stage):
            total += 2 * c_in + c_in * width * 9  # BN (weight, bias), 3x3 conv
            total += 2 * width + width * width * 9  # BN, 3x3 conv
            if c_in != width:
                total += c_in * width  # the 1x1 projection shortcut
            c_in = width
    return total + 2 * c_in + c_in * num_classes + num_classes  # final BN, linear layer
