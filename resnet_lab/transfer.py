"""Reusing what a trained ResNet learned (notebook 07): its body under a new head.

    select_classes(data, [0, 1, 2, 3, 4])   a task made of some of a dataset's classes
    few_labels(data, per_class=5)           the same task with only a few labelled training images
    LinearProbe(trained_net, num_classes)   the trained net's frozen body, a new linear classifier
    SegmentationNet(net, num_classes)       a net's body under a small upsampling head: a class per pixel
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from .data import Dataset
from .models import CifarResNet


def select_classes(data: Dataset, classes: Sequence[int]) -> Dataset:
    """The images of `classes` only, relabelled 0..len(classes)-1 in the order given."""
    if not classes or len(set(classes)) != len(classes) or not all(0 <= c < data.num_classes for c in classes):
        raise ValueError(f"classes={list(classes)!r} is not valid: give distinct class numbers from 0 to "
                         f"{data.num_classes - 1}")
    lookup = torch.full((data.num_classes,), -1, dtype=torch.int64)
    lookup[list(classes)] = torch.arange(len(classes))

    def keep(images, labels):
        chosen = lookup[labels] >= 0
        return images[chosen], lookup[labels[chosen]]

    train, test = keep(data.train_images, data.train_labels), keep(data.test_images, data.test_labels)
    return replace(data, train_images=train[0], train_labels=train[1], test_images=test[0], test_labels=test[1],
                   classes=[data.classes[c] for c in classes])


def few_labels(data: Dataset, per_class: int, seed: int = 0) -> Dataset:
    """The same task with `per_class` training images of each class, drawn by `seed`; same test set."""
    counts = torch.bincount(data.train_labels, minlength=data.num_classes)
    if not isinstance(per_class, int) or not 1 <= per_class <= counts.min().item():
        raise ValueError(f"per_class={per_class!r} is not valid: it must be an integer from 1 to "
                         f"{counts.min().item()} (the smallest class)")
    g = torch.Generator().manual_seed(seed)
    keep = [idx[torch.randperm(len(idx), generator=g)[:per_class]]
            for idx in (torch.nonzero(data.train_labels == c).flatten() for c in range(data.num_classes))]
    keep = torch.cat(keep).sort().values
    return replace(data, train_images=data.train_images[keep], train_labels=data.train_labels[keep])


class LinearProbe(nn.Module):
    """A trained net's body, frozen (no gradients, BN statistics fixed), under a new linear classifier."""

    def __init__(self, trained: CifarResNet, num_classes: int):
        super().__init__()
        self.body = trained.requires_grad_(False)
        self.fc = nn.Linear(trained.fc.in_features, num_classes)

    def train(self, mode: bool = True) -> "LinearProbe":
        super().train(mode)
        self.body.eval()  # frozen means frozen: the BN running statistics stay those of the first task
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.body.features(x), 1).flatten(1))


class SegmentationNet(nn.Module):
    """A CIFAR-family body (1/4 resolution) under a small head: 3x3 conv, BN, ReLU, 1x1 conv to class
    scores, then bilinear upsampling back to the input's size, as in FCN (Long et al. 2015)."""

    def __init__(self, body: CifarResNet, num_classes: int):
        super().__init__()
        channels = body.fc.in_features
        self.body = body
        self.head = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels),
                                  nn.ReLU(), nn.Conv2d(channels, num_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.head(self.body.features(x)), size=x.shape[-2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def predict_masks(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The class of every pixel (N, H, W), in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    masks = torch.cat([model(images[i:i + batch_size].to(device)).argmax(1).cpu()
                       for i in range(0, len(images), batch_size)])
    model.train(was_training)
    return masks


def segmentation_scores(predicted: torch.Tensor, truth: torch.Tensor, num_classes: int) -> tuple[float, float]:
    """(pixel accuracy, mean IoU over the classes present in `truth` or `predicted`)."""
    pixel_accuracy = (predicted == truth).float().mean().item()
    ious = []
    for c in range(num_classes):
        union = ((predicted == c) | (truth == c)).sum().item()
        if union:
            ious.append(((predicted == c) & (truth == c)).sum().item() / union)
    return pixel_accuracy, sum(ious) / len(ious)
