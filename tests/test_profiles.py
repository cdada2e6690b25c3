import pytest
import torch

from resnet_lab.models import valid_depths
from resnet_lab.profiles import ENV_VAR, PROFILES, get_profile


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
def test_every_profile_is_consistent(name):
    p = PROFILES[name]
    assert p.shallow_depth < p.deep_depth <= p.max_depth
    assert {p.shallow_depth, p.deep_depth, p.max_depth} <= set(valid_depths("basic", p.max_depth))
    assert p.dataset in ("digits", "cifar10") and p.steps > 0
    assert p.dataset == ("cifar10" if name == "gpu" else "digits")  # CPU profiles stay offline
