import dataclasses

import pytest
import torch

from resnet_lab.course.profiles import ENV_VAR, PROFILES, Profile, get_profile
from resnet_lab.recipe import HE2015_CIFAR, Recipe


def test_environment_variable_overrides(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "gpu")
    assert get_profile().name == "gpu"
    assert get_profile("cpu").name == "cpu"  # an explicit name wins


def test_automatic_choice_follows_the_hardware(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile().name == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile().name == "gpu"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError, match="RESNET_LAB_PROFILE='fast'.*smoke, cpu, gpu"):
        get_profile()
    with pytest.raises(ValueError, match="name='tpu'"):
        get_profile("tpu")


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_builds_its_nets_for_its_dataset(name):
    from resnet_lab.course.experiments import build_net
    from resnet_lab.data import load_dataset

    p = PROFILES[name]
    shapes = {"digits": (1, 16, 16, 10), "cifar10": (3, 32, 32, 10)}  # CIFAR-10 is not loaded: no network here
    channels, height, width, classes = shapes[p.dataset]
    if p.dataset == "digits":  # upsampled: the last stage then works on 4x4 maps, not 2x2
        data = load_dataset("digits", size=p.image_size)
        assert data.train_images.shape[1:] == (channels, height, width) and data.num_classes == classes
    assert p.shallow_depth < p.deep_depth <= p.max_depth
    for depth in (p.shallow_depth, p.deep_depth, p.max_depth):  # a bad depth would raise here
        with torch.device("meta"):
            net = build_net(depth, "A", type("D", (), {"in_channels": channels, "num_classes": classes})(), p)
        assert net.conv1.in_channels == channels and net.fc.out_features == classes
    assert p.batch_size <= (1347 if p.dataset == "digits" else 50_000)  # digits has 1,347 training images


def test_a_rehearsal_shortens_the_gpu_profile_but_keeps_its_code_path(monkeypatch):
    monkeypatch.setenv("RESNET_LAB_STEPS", "40")
    p = get_profile("gpu")
    assert (p.steps, p.eval_every, p.checkpoint_every, p.time_budget) == (40, 5, 5, 0.75)  # 8000 -> 40: 1/200
    assert p.recipe.lr_at(19) == 0.1 and p.recipe.lr_at(20) == pytest.approx(0.01)  # still /10 at half of the steps
    assert p.compile and p.dataset == "cifar10" and not p.strict_claims
    monkeypatch.setenv("RESNET_LAB_STEPS", "ten")
    with pytest.raises(ValueError, match="RESNET_LAB_STEPS='ten' is not valid"):
        get_profile("gpu")


def test_only_the_gpu_profile_reports_claims_instead_of_raising():
    # The gpu profile's budget comes from benchmarks/gpu_budget.py (about 15 minutes per notebook on a T4).
    assert [name for name, p in PROFILES.items() if not p.strict_claims] == ["gpu"]


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_trains_with_the_paper_recipe_at_its_own_length(name):
    # He et al. 2015, Section 4.2: a profile changes only how long a run is and its batch size.
    p = PROFILES[name]
    assert dataclasses.replace(p.recipe, steps=HE2015_CIFAR.steps, batch_size=HE2015_CIFAR.batch_size) == HE2015_CIFAR


def test_a_profile_and_a_recipe_share_no_field():
    """What a venue gives (data, sizes, budget) and how a net is optimised live in one place each."""
    profile_fields = {f.name for f in dataclasses.fields(Profile)}
    assert not profile_fields & {f.name for f in dataclasses.fields(Recipe)}
