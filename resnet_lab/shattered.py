"""Shattered gradients (Balduzzi et al. 2017): how alike are the gradients at nearby inputs?

    line = line_between(image_a, image_b, points=256)      # inputs along a straight line
    calibrate_batch_norm(net, train_images)                 # BN statistics of the data, then eval mode
    grads = input_gradients(net, line)                      # d output / d input at every point
    neighbour_correlation(grads)                            # 1: smooth, like a linear function; 0: like noise
    gradient_correlation(net, train_images, image_a, image_b)  # the four steps in one call

In deep plain nets the gradients of neighbouring inputs decorrelate (they are "shattered", like white
noise); skip connections keep them correlated.
"""

from __future__ import annotations

import torch
from torch import nn

from .train import in_mode, uses_channels_last


def line_between(a: torch.Tensor, b: torch.Tensor, points: int = 256) -> torch.Tensor:
    """`points` inputs evenly spaced on the straight line from image `a` to image `b` (both C x H x W)."""
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, not {tuple(a.shape)} and {tuple(b.shape)}")
    if not isinstance(points, int) or points < 3:
        raise ValueError(f"points={points!r} is not valid: it must be an integer >= 3")
    t = torch.linspace(0, 1, points, dtype=a.dtype).view(-1, *([1] * a.dim()))
    return (1 - t) * a + t * b


@torch.no_grad()
def calibrate_batch_norm(model: nn.Module, images: torch.Tensor) -> None:
    """Set every BN layer's running statistics to those of `images` (one pass), so eval mode normalises
    like training does, without coupling the examples of a batch."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: after one pass, exactly the statistics of `images`
    with in_mode(model, training=True):
        model(images.to(next(model.parameters()).device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def input_gradients(model: nn.Module, inputs: torch.Tensor, output_index: int = 0) -> torch.Tensor:
    """(N, D): the gradient of output `output_index` with respect to each input, flattened; eval mode."""
    x = inputs.detach().clone().to(next(model.parameters()).device)
    if uses_channels_last(model):  # the model's own memory format (a net `fit` trained on a GPU)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    with in_mode(model, training=False):
        (grad,) = torch.autograd.grad(model(x)[:, output_index].sum(), x)
    return grad.flatten(1).cpu()


def neighbour_correlation(gradients: torch.Tensor) -> float:
    """Mean correlation between the gradients at consecutive points of a line: rows of (N, D)."""
    g = gradients - gradients.mean(dim=1, keepdim=True)
    g = g / g.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (g[1:] * g[:-1]).sum(dim=1).mean().item()


def gradient_correlation(
    model: nn.Module, calibration_images: torch.Tensor, a: torch.Tensor, b: torch.Tensor, points: int = 256
) -> float:
    """BN calibrated on `calibration_images`, then the neighbour correlation of the gradients on the line a -> b."""
    calibrate_batch_norm(model, calibration_images)
    return neighbour_correlation(input_gradients(model, line_between(a, b, points)))
