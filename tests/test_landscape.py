"""Loss landscapes (resnet_lab.landscape): filter normalisation and the grid."""

import pytest
import torch

from resnet_lab.data import make_synthetic
from resnet_lab.landscape import filter_normalise, loss_grid, random_direction
from resnet_lab.models import resnet
from resnet_lab.train import evaluate


@pytest.fixture
def net():
    torch.manual_seed(0)
    return resnet(8, width=4, in_channels=1, num_classes=4)


def test_filter_normalisation_gives_every_filter_the_norm_of_the_models_filter(net):
    direction = random_direction(net, seed=3)
    for name, p in net.named_parameters():
        d = direction[name]
        if p.dim() >= 2:
            assert torch.allclose(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5)
        else:
            assert torch.equal(d, torch.zeros_like(p))  # biases and BN parameters stay put


def test_filter_normalisation_keeps_the_direction_of_each_filter(net):
    raw = {name: torch.randn_like(p) for name, p in net.named_parameters()}
    normalised = filter_normalise(raw, net)
    w = net.conv1.weight
    cosine = torch.nn.functional.cosine_similarity(
        raw["conv1.weight"].flatten(1), normalised["conv1.weight"].flatten(1)
    )
    assert torch.allclose(cosine, torch.ones(w.shape[0]), atol=1e-6)


def test_the_grid_centre_is_the_models_loss_and_the_model_is_restored(net):
    data = make_synthetic(n_train=64, n_test=32)
    x, y = data.test_images, data.test_labels
    before = {k: v.clone() for k, v in net.state_dict().items()}
    coordinates, losses = loss_grid(net, x, y, random_direction(net, 1), random_direction(net, 2), span=0.5, points=5)
    assert coordinates[2] == 0 and losses[2][2] == pytest.approx(evaluate(net, x, y)[0], abs=1e-6)
    assert len(set(round(v, 6) for row in losses for v in row)) > 20  # the loss does change across the grid
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


@pytest.mark.parametrize("kwargs, message", [(dict(points=4), "points=4.*odd"), (dict(span=0), "span=0")])
def test_bad_grid_arguments_are_clear_errors(net, kwargs, message):
    d = random_direction(net)
    with pytest.raises(ValueError, match=message):
        loss_grid(net, torch.zeros(2, 1, 8, 8), torch.zeros(2, dtype=torch.long), d, d, **kwargs)


def test_slice_minima_counts_one_minimum_per_slice_of_a_bowl_and_more_on_a_rippled_surface():
    from resnet_lab.landscape import slice_minima

    points = [i - 10 for i in range(21)]
    bowl = [[a * a + b * b for b in points] for a in points]
    assert slice_minima(bowl) == 1.0
    tilted = [[a + b for b in points] for a in points]  # every slice's lowest point is at its end
    assert slice_minima(tilted) == 0.0
    rippled = [[a * a + b * b + 40 * ((a % 2) + (b % 2)) for b in points] for a in points]
    assert slice_minima(rippled) > 4


def test_nonconvex_fraction_is_zero_for_a_bowl_one_for_a_saddle_and_in_between_for_ripples():
    from resnet_lab.landscape import nonconvex_fraction

    points = [i - 10 for i in range(21)]
    assert nonconvex_fraction([[a * a + b * b for b in points] for a in points]) == 0.0
    assert nonconvex_fraction([[a * a - b * b for b in points] for a in points]) == 1.0
    assert nonconvex_fraction([[-(a * a) - b * b for b in points] for a in points]) == 1.0  # a peak
    nearly_flat_ridge = [[a * a - 0.01 * b * b for b in points] for a in points]  # |λmin / λmax| = 0.01 < 0.1
    assert nonconvex_fraction(nearly_flat_ridge) == 0.0
    rippled = [[a * a + b * b + 40 * ((a % 2) + (b % 2)) for b in points] for a in points]
    assert 0.2 < nonconvex_fraction(rippled) < 1.0
    with pytest.raises(ValueError, match="3 x 3"):
        nonconvex_fraction([[1.0, 2.0]])
