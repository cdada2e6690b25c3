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


def test_a_rehearsal_shortens_the_gpu_profile_but_keeps_its_code_path(monkeypatch):
    monkeypatch.setenv("RESNET_LAB_STEPS", "40")
    p = get_profile("gpu")
    assert (p.steps, p.eval_every, p.checkpoint_every, p.time_budget) == (40, 5, 5, 0.75)  # 8000 -> 40: 1/200
    assert p.compile and p.dataset == "cifar10" and not p.strict_claims
    monkeypatch.setenv("RESNET_LAB_STEPS", "ten")
    with pytest.raises(ValueError, match="RESNET_LAB_STEPS='ten' is not valid"):
        get_profile("gpu")


def test_only_the_gpu_profile_reports_claims_instead_of_raising():
    # The gpu profile's budget comes from benchmarks/gpu_budget.py (about 15 minutes per notebook on a T4).
    assert [name for name, p in PROFILES.items() if not p.strict_claims] == ["gpu"]
