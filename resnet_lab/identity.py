"""Can SGD learn the identity? He et al. (2015, Sec. 3.1) suggest that "solvers might have difficulties in
approximating identity mappings by multiple nonlinear layers". Measured here: a stack of k conv layers is trained
to reproduce its input, with and without skip connections around each layer.

    losses = learn_identity(CopyStack(k=16, residual=False), images, steps=100)
    copy_error(16, residual=True, images=images, seed=0)    # built from a seed, trained, the final error
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .models import conv3x3


class CopyStack(nn.Module):
    """A 3x3 conv into `width` channels, k layers of BN-ReLU-conv (each with a skip around it if residual),
    a 3x3 conv back to the input's channels. The best it can do is output its input."""

    def __init__(self, k: int, width: int = 8, residual: bool = False, channels: int = 1):
        super().__init__()
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k={k!r} is not valid: it must be a positive integer (layers)")
        self.residual = residual
        self.embed = conv3x3(channels, width)
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(), conv3x3(width, width)) for _ in range(k)
        )
        self.out = conv3x3(width, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        for layer in self.layers:
            h = h + layer(h) if self.residual else layer(h)
        return self.out(h)


def learn_identity(
    model: nn.Module,
    images: torch.Tensor,
    steps: int = 100,
    batch_size: int = 32,
    lr: float = 0.01,
    seed: int = 0,
    max_grad_norm: float | None = 1.0,
) -> list[float]:
    """Train `model` to output its input (mean squared error); the loss at every step.

    SGD with momentum 0.9; the gradient is clipped to norm `max_grad_norm` (None: not clipped), the same for every
    stack: without it the deeper residual stacks (k >= 16), whose signal grows with every branch added at
    initialisation, sometimes diverge at lr 0.01.
    """
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    model.train()
    losses = []
    for _ in range(steps):
        x = images[torch.randint(len(images), (batch_size,), generator=g)]
        loss = F.mse_loss(model(x), x)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_grad_norm is not None:
            nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def copy_error(
    k: int,
    residual: bool,
    images: torch.Tensor,
    seed: int = 0,
    steps: int = 100,
    lr: float = 0.01,
    max_grad_norm: float | None = 1.0,
) -> float:
    """A CopyStack of k layers initialised from `seed`, trained to copy `images` (`learn_identity`): its mean loss
    over the last 10 steps (inf if training diverged)."""
    torch.manual_seed(seed)
    stack = CopyStack(k, residual=residual, channels=images.shape[1]).to(images.device)
    losses = learn_identity(stack, images, steps=steps, lr=lr, seed=seed, max_grad_norm=max_grad_norm)
    if not all(math.isfinite(loss) for loss in losses):
        return math.inf
    return sum(losses[-10:]) / len(losses[-10:])
