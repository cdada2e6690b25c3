import pytest

from resnet_lab import reference
from resnet_lab.complexity import count_macs, count_parameters, torchvision_model
from resnet_lab.models import plain_net, resnet


@pytest.mark.parametrize(
    "name", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2", "vgg19"]
)
def test_torchvision_models_match_published_params_and_gmacs(name):
    # torchvision weights metadata: parameters exactly, GFLOPS (multiply-adds) to within 3%.
    params, gmacs, _ = reference.TORCHVISION_MODELS[name]
    model = torchvision_model(name)
    assert count_parameters(model) == params
    assert count_macs(model, (3, 224, 224)) / 1e9 == pytest.approx(gmacs, rel=0.03)


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "vgg19"])
def test_paper_table1_multiply_adds(name):
    # He et al. 2015, Table 1 / Fig. 3: 1.8, 3.6 and 19.6 billion multiply-adds ("FLOPs" in the paper).
    assert count_macs(torchvision_model(name), (3, 224, 224)) == pytest.approx(reference.IMAGENET_MACS[name], rel=0.03)


def test_resnet20_multiply_adds_by_hand():
    # Worked out: stem 32*32*16*27; stage 1: 6 convs of 32*32*16*144; stages 2 and 3: a strided conv
    # of 16*16*32*144 (8*8*64*288) and 5 of 16*16*32*288 (8*8*64*576); fc 64*10.
    by_hand = 32 * 32 * 16 * 27 + 6 * 32 * 32 * 16 * 144 + 2 * (1_179_648 + 5 * 2_359_296) + 640
    assert count_macs(resnet(20), (3, 32, 32)) == by_hand == 40_551_040


def test_plain_and_residual_cost_the_same_and_counting_leaves_the_model_in_train_mode():
    model = resnet(20)
    assert count_macs(model, (3, 32, 32)) == count_macs(plain_net(20), (3, 32, 32))
    assert model.training


def test_unknown_torchvision_model_is_a_clear_error():
    with pytest.raises(ValueError, match="name='resnet19'"):
        torchvision_model("resnet19")


def test_seconds_per_step_is_the_fastest_pass_after_a_warm_up_and_leaves_no_gradients():
    import torch

    from resnet_lab.complexity import seconds_per_step

    # A fake clock: the warm-up pass takes 1 s (it must not count), then 3 s, 2 s, 4 s. No real time is measured.
    ticks = iter([0, 1, 1, 4, 4, 6, 6, 10])
    model = resnet(8, width=4, in_channels=1)
    images, labels = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    assert seconds_per_step(model, images, labels, repeats=3, clock=lambda: next(ticks)) == 2
    assert all(p.grad is None for p in model.parameters())
