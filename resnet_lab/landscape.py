"""The loss landscape around a trained net (Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").

    d1, d2 = random_direction(net, seed=1), random_direction(net, seed=2)
    grid = loss_grid(net, images, labels, d1, d2, span=1.0, points=21)   # loss at θ + a·d1 + b·d2
    nonconvex_fraction(grid[1])   # share of the grid where the surface curves downward: 0 for a bowl
    slice_minima(grid[1])         # local minima per 1-D slice (row or column) of the grid: 1 for a bowl

Directions are *filter-normalised* (Li et al., Sec. 4): a random Gaussian direction, rescaled filter by filter so
that each filter of the direction has the norm of the same filter in the trained weights. Without it, nets whose
weights have different scales (BN makes the scale of a filter arbitrary) cannot be compared on one plot.
Biases and BN parameters get a zero direction, as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from .train import evaluate


def normalise_filters(d: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Direction `d` for weight `w` (>= 2 dims), each filter d[i] rescaled to the norm of w[i] (Li et al., Sec. 4)."""
    d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-12)
    w_norm = w.flatten(1).norm(dim=1)
    return d * (w_norm / d_norm).view(-1, *([1] * (w.dim() - 1)))


def filter_normalise(direction: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Every weight's direction filter-normalised; biases and BN parameters get zero (Li et al. do not move them)."""
    weights = dict(model.named_parameters())
    return {
        name: normalise_filters(d, weights[name].detach()) if d.dim() >= 2 else torch.zeros_like(d)
        for name, d in direction.items()
    }


def random_direction(model: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """A filter-normalised Gaussian direction in the space of the model's parameters."""
    g = torch.Generator().manual_seed(seed)
    raw = {name: torch.randn(p.shape, generator=g).to(p.device, p.dtype) for name, p in model.named_parameters()}
    return filter_normalise(raw, model)


@torch.no_grad()
def loss_grid(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    d1: dict,
    d2: dict,
    span: float = 1.0,
    points: int = 21,
) -> tuple[list[float], list[list[float]]]:
    """(coordinates, losses[i][j]): the loss at θ + a_i·d1 + b_j·d2 for a, b in [-span, span]. The model is
    restored exactly afterwards."""
    if not isinstance(points, int) or points < 3 or points % 2 == 0:
        raise ValueError(f"points={points!r} is not valid: it must be an odd integer >= 3 (the centre is a point)")
    if not span > 0:
        raise ValueError(f"span={span!r} is not valid: it must be positive")
    params = dict(model.named_parameters())
    original = {name: p.detach().clone() for name, p in params.items()}
    coordinates = torch.linspace(-span, span, points).tolist()
    losses = []
    try:
        for a in coordinates:
            row = []
            for b in coordinates:
                for name, p in params.items():
                    p.copy_(original[name] + a * d1[name] + b * d2[name])
                row.append(evaluate(model, images, labels)[0])  # eval mode: BN's running statistics
            losses.append(row)
    finally:
        for name, p in params.items():
            p.copy_(original[name])
    return coordinates, losses


def slice_minima(losses: list[list[float]]) -> float:
    """The mean number of local minima along the 1-D slices of a grid (its rows and its columns).

    A convex bowl has one on every slice through it (none where a slice's lowest point is at its end);
    a chaotic surface has several. Simpler, and noisier between seeds, than `nonconvex_fraction` (notebook 06).
    """
    rows = [list(row) for row in losses]
    slices = rows + [list(column) for column in zip(*rows)]
    minima = [sum(1 for i in range(1, len(s) - 1) if s[i] < s[i - 1] and s[i] < s[i + 1]) for s in slices]
    return sum(minima) / len(minima)


def nonconvex_fraction(losses: list[list[float]], ratio: float = 0.1) -> float:
    """The share of the grid's inner points where the plotted surface is clearly not convex.

    At each inner point the 2x2 Hessian of the surface is estimated by finite differences; the point counts as
    non-convex when its smaller eigenvalue is negative and at least `ratio` times the larger one in size. This is
    Li et al.'s convexity map (the ratio |λmin / λmax| of the Hessian's eigenvalues), on the two plotted directions.
    """
    z = torch.tensor(losses, dtype=torch.float64)
    if z.dim() != 2 or min(z.shape) < 3:
        raise ValueError(f"losses must be a grid of at least 3 x 3 values, not shape {tuple(z.shape)}")
    centre = z[1:-1, 1:-1]
    f_aa = z[2:, 1:-1] - 2 * centre + z[:-2, 1:-1]
    f_bb = z[1:-1, 2:] - 2 * centre + z[1:-1, :-2]
    f_ab = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / 4
    hessians = torch.stack([torch.stack([f_aa, f_ab], -1), torch.stack([f_ab, f_bb], -1)], -2)
    eigenvalues = torch.linalg.eigvalsh(hessians)  # ascending: (smallest, largest) at every point
    smallest, largest = eigenvalues[..., 0], eigenvalues[..., 1]
    nonconvex = (smallest < 0) & (smallest.abs() >= ratio * largest.abs())
    return nonconvex.double().mean().item()
