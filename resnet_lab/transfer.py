"""Reusing what a trained ResNet learned (notebook 07): its body under a new head.
(The tasks to reuse it on come from resnet_lab.data: select_classes, few_labels, make_digit_canvases.)

    LinearProbe(trained_net, num_classes)   the trained net's frozen body, a new linear classifier
    with_new_head(trained_net, num_classes) a copy of the whole trained net with a new classifier, to fine-tune
    ImageNetProbe(torchvision_net, n)       torchvision's ImageNet-trained ResNet, frozen, under a new linear classifier
    SegmentationNet(net, num_classes)       a net's body under a small upsampling head: a class per pixel
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .models import CifarResNet
from .train import in_mode


class LinearProbe(nn.Module):
    """A trained net's body, frozen (no gradients, BN statistics fixed), under a new linear classifier."""

    def __init__(self, trained: CifarResNet, num_classes: int):
        super().__init__()
        self.body = trained.requires_grad_(False)
        self.fc = nn.Linear(trained.fc.in_features, num_classes)

    def train(self, mode: bool = True) -> LinearProbe:
        super().train(mode)
        self.body.eval()  # frozen means frozen: the BN running statistics stay those of the first task
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.body.features(x), 1).flatten(1))


class ImageNetProbe(nn.Module):
    """A torchvision ImageNet ResNet's body (all but `fc`), frozen, under a new linear classifier.

    Small images are resized to `size` pixels (the ImageNet stem divides by 4 before the first block) and grey
    ones repeated to three channels.
    """

    def __init__(self, net: nn.Module, num_classes: int, size: int = 64):
        super().__init__()
        self.body = nn.Sequential(*list(net.children())[:-1]).requires_grad_(False)
        self.fc = nn.Linear(net.fc.in_features, num_classes)
        self.size = size

    def train(self, mode: bool = True) -> ImageNetProbe:
        super().train(mode)
        self.body.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        return self.fc(self.body(x).flatten(1))


def with_new_head(trained: CifarResNet, num_classes: int) -> CifarResNet:
    """A copy of `trained` (every layer trainable) whose classifier is new, for `num_classes` classes."""
    net = copy.deepcopy(trained).requires_grad_(True)
    net.fc = nn.Linear(trained.fc.in_features, num_classes).to(trained.fc.weight.device)
    return net


class SegmentationNet(nn.Module):
    """A CIFAR-family body (1/4 resolution) under a small head: 3x3 conv, BN, ReLU, 1x1 conv to class
    scores, then bilinear upsampling back to the input's size, as in FCN (Long et al. 2015)."""

    def __init__(self, body: CifarResNet, num_classes: int):
        super().__init__()
        channels = body.fc.in_features
        self.body = body
        self.head = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, num_classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.head(self.body.features(x)), size=x.shape[-2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def predict_masks(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The class of every pixel (N, H, W), in eval mode."""
    device = next(model.parameters()).device
    with in_mode(model, training=False):
        return torch.cat(
            [model(images[i : i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
        )


def segmentation_scores(predicted: torch.Tensor, truth: torch.Tensor, num_classes: int) -> tuple[float, float]:
    """(pixel accuracy, mean IoU over the classes present in `truth` or `predicted`)."""
    pixel_accuracy = (predicted == truth).float().mean().item()
    ious = []
    for c in range(num_classes):
        union = ((predicted == c) | (truth == c)).sum().item()
        if union:
            ious.append(((predicted == c) & (truth == c)).sum().item() / union)
    return pixel_accuracy, sum(ious) / len(ious)
