"""Shattered gradients (resnet_lab.shattered)."""

import pytest
import torch
from torch import nn

from resnet_lab.shattered import calibrate_batch_norm, input_gradients, line_between, neighbour_correlation


def test_a_line_runs_from_a_to_b_in_equal_steps():
    a, b = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
    line = line_between(a, b, points=5)
    assert line.shape == (5, 1, 2, 2) and torch.equal(line[0], a) and torch.equal(line[-1], b)
    assert torch.allclose(line[:, 0, 0, 0], torch.tensor([0, 0.25, 0.5, 0.75, 1]))
    with pytest.raises(ValueError, match="points=2"):
        line_between(a, b, points=2)


def test_neighbour_correlation_is_one_for_smooth_gradients_and_near_zero_for_noise():
    torch.manual_seed(0)
    smooth = torch.randn(1, 64) + 0.01 * torch.randn(100, 64)  # nearly the same gradient everywhere
    assert neighbour_correlation(smooth) > 0.99
    assert abs(neighbour_correlation(torch.randn(500, 256))) < 0.02  # white noise


def test_input_gradients_of_a_linear_model_are_its_weights_at_every_point():
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    grads = input_gradients(model, torch.randn(7, 1, 2, 2), output_index=1)
    assert torch.allclose(grads, model[1].weight[1].detach().expand(7, 4))
    assert neighbour_correlation(grads) == pytest.approx(1.0)


def test_calibration_gives_batch_norm_the_statistics_of_the_images_and_keeps_its_momentum():
    bn = nn.BatchNorm2d(3)
    model = nn.Sequential(bn)
    images = torch.randn(50, 3, 4, 4) * 2 + 1
    calibrate_batch_norm(model, images)
    assert torch.allclose(bn.running_mean, images.mean(dim=(0, 2, 3)), atol=1e-5)
    assert torch.allclose(bn.running_var, images.var(dim=(0, 2, 3)), rtol=1e-3)
    assert bn.momentum == 0.1 and model.training  # left as it was


def test_gradient_correlation_calibrates_batch_norm_and_scores_the_line():
    from resnet_lab.shattered import gradient_correlation

    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm2d(1), nn.Flatten(), nn.Linear(4, 2))
    images = torch.randn(50, 1, 2, 2) * 3 + 2
    a, b = torch.zeros(1, 2, 2), torch.ones(1, 2, 2)
    assert gradient_correlation(model, images, a, b, points=9) == pytest.approx(1.0)  # BN + linear: a linear model
    assert torch.allclose(model[0].running_mean, images.mean(dim=(0, 2, 3)), atol=1e-5)
