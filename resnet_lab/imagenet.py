"""The ImageNet ResNets of He et al. 2015 (Table 1), built from the course's own blocks.

    imagenet_resnet(50)    a 7x7 stem with stride 2, a 3x3 max-pool, four stages of blocks on 56, 28, 14
                           and 7 pixels (64, 128, 256, 512 planes), global average pooling, one linear layer.

Shortcuts are option B (identity, 1x1 projection + BN where the shape changes), as in the paper's
ImageNet nets and torchvision. The layer names follow torchvision's, except that a block's projection
is called `shortcut` (torchvision: `downsample`); `load_torchvision_state_dict` maps one onto the other.
"""

from __future__ import annotations

import torch
from torch import nn

from .models import BasicBlock, Bottleneck

LAYOUTS = {  # depth: (block, blocks per stage), He et al. 2015, Table 1
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}


def make_stage(block: type, in_planes: int, planes: int, blocks: int, stride: int, **block_kwargs) -> nn.Sequential:
    """`blocks` blocks of `planes` planes; the first takes `in_planes` and the stride, the rest keep the shape."""
    layers = [block(in_planes, planes, stride, shortcut="B", **block_kwargs)]
    for _ in range(blocks - 1):
        layers.append(block(planes * block.expansion, planes, 1, shortcut="B", **block_kwargs))
    return nn.Sequential(*layers)


class ImageNetResNet(nn.Module):
    """ResNet-18/34/50/101/152 for 224x224 images (see `imagenet_resnet`)."""

    def __init__(self, depth: int = 50, num_classes: int = 1000, stride_on_1x1: bool = False):
        super().__init__()
        if depth not in LAYOUTS:
            raise ValueError(f"depth={depth!r} is not an ImageNet ResNet: use one of {', '.join(map(str, LAYOUTS))}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes={num_classes!r} is not valid: it must be a positive integer")
        block, counts = LAYOUTS[depth]
        extra = {"stride_on_1x1": stride_on_1x1} if block is Bottleneck else {}
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_planes, stages = 64, []
        for planes, blocks, stride in zip((64, 128, 256, 512), counts, (1, 2, 2, 2)):
            stages.append(make_stage(block, in_planes, planes, blocks, stride, **extra))
            in_planes = planes * block.expansion
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(in_planes, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def imagenet_resnet(depth: int, num_classes: int = 1000, stride_on_1x1: bool = False) -> ImageNetResNet:
    """ResNet-`depth` of Table 1. stride_on_1x1=True: the paper's bottleneck (torchvision strides the 3x3)."""
    return ImageNetResNet(depth, num_classes, stride_on_1x1)


def load_torchvision_state_dict(model: ImageNetResNet, state_dict: dict) -> None:
    """Load a torchvision ResNet's weights (e.g. `torchvision.models.resnet50().state_dict()`) into `model`."""
    renamed = {key.replace(".downsample.", ".shortcut."): value for key, value in state_dict.items()}
    model.load_state_dict(renamed)


def pretrained_resnet18(timeout: float = 20.0) -> nn.Module | None:
    """torchvision's ResNet-18 with its ImageNet weights (a 45 MB download the first time), or None.

    Offline (or behind a proxy) it prints one line saying why and returns None, so a notebook carries on.
    """
    import socket

    import torchvision

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # a blocked network fails in seconds, not minutes
    try:
        return torchvision.models.resnet18(weights=torchvision.models.ResNet18_Weights.IMAGENET1K_V1)
    except Exception as error:  # no network, a proxy, a half-finished download...
        print(
            f"torchvision's ImageNet weights need a download, which failed here ({type(error).__name__}: "
            f"{str(error)[:120]}). Skipping this step: everything else in the notebook runs offline."
        )
        return None
    finally:
        socket.setdefaulttimeout(previous)
