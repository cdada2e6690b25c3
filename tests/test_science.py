"""The course's central effect, on the smoke profile: the degradation problem (He et al. 2015, Fig. 1/6).

A deeper plain net ends with a clearly higher *training* loss than a shallower one, while a residual
net of the same depth trains about as well as the shallow one. In runs this short the deep residual net
may trail the shallow one by a few hundredths, so margins are checked, not an order.

Soak (`make test-soak`): notebook 01's claims check the same margins for seed 0 in every nbval run of
`make test`; these tests add a second seed and the same check without a notebook.
"""

import pytest

from resnet_lab.course.experiments import train_net
from resnet_lab.course.profiles import get_profile
from resnet_lab.data import load_dataset

pytestmark = pytest.mark.soak


@pytest.fixture(scope="module")
def final_losses():
    profile = get_profile("smoke")
    data = load_dataset(profile.dataset, size=profile.image_size)
    losses = {}
    for seed in (0, 1):
        for shortcut, kind in [(None, "plain"), ("A", "res")]:
            for depth in (profile.shallow_depth, profile.deep_depth):
                history = train_net(depth, shortcut, data, profile, seed, eval_at_end=False)
                losses[kind, depth, seed] = history.final_loss()
    return profile, losses


@pytest.mark.parametrize("seed", [0, 1])
def test_deeper_plain_net_has_higher_training_loss(final_losses, seed):
    profile, losses = final_losses
    gap = losses["plain", profile.deep_depth, seed] - losses["plain", profile.shallow_depth, seed]
    assert gap > 0.5, losses


@pytest.mark.parametrize("seed", [0, 1])
def test_deeper_residual_net_trains_about_as_well_as_the_shallow_one(final_losses, seed):
    profile, losses = final_losses
    gap = losses["res", profile.deep_depth, seed] - losses["res", profile.shallow_depth, seed]
    assert gap < 0.15, losses
    assert losses["res", profile.deep_depth, seed] < losses["plain", profile.deep_depth, seed] / 3
