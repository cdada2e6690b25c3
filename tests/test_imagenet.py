"""The ImageNet ResNets built from the course's blocks are torchvision's, weight for weight."""

import pytest
import torch
import torchvision

from resnet_lab.complexity import count_macs, count_parameters
from resnet_lab.imagenet import imagenet_resnet, load_torchvision_state_dict


@pytest.mark.parametrize(
    "depth, params", [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032), (101, 44_549_160), (152, 60_192_808)]
)
def test_parameter_counts_equal_torchvisions(depth, params):
    with torch.device("meta"):
        assert count_parameters(imagenet_resnet(depth)) == params


@pytest.mark.parametrize("depth", [18, 50])
def test_torchvisions_weights_give_the_same_outputs(depth):
    torch.manual_seed(depth)
    reference = getattr(torchvision.models, f"resnet{depth}")().eval()  # random weights: no download
    with torch.no_grad():  # running statistics that are not the defaults, so that BN is really checked
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1), m.running_var.uniform_(0.5, 1.5), m.weight.uniform_(0.5, 1.5)
    ours = imagenet_resnet(depth)
    load_torchvision_state_dict(ours, reference.state_dict())
    ours.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert torch.allclose(ours(x), reference(x), rtol=0, atol=1e-5)


def test_loading_fails_loudly_on_a_different_architecture():
    ours = imagenet_resnet(18)
    with pytest.raises(RuntimeError, match="Unexpected key.*layer1.2.conv1.weight"):  # ResNet-34 has 3 blocks there
        load_torchvision_state_dict(ours, torchvision.models.resnet34().state_dict())


def test_stride_on_the_1x1_gives_the_papers_multiply_adds():
    # He et al. 2015, Table 1: 3.8 G for ResNet-50; torchvision's V1.5 (stride on the 3x3) costs 4.09 G.
    with torch.device("meta"):
        v15, paper = imagenet_resnet(50), imagenet_resnet(50, stride_on_1x1=True)
    assert round(count_macs(v15, (3, 224, 224)) / 1e9, 2) == 4.09
    assert round(count_macs(paper, (3, 224, 224)) / 1e9, 2) == 3.86
    assert count_parameters(v15) == count_parameters(paper)


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(depth=20), r"depth=20.*18, 34, 50, 101, 152"), (dict(depth=50, num_classes=0), r"num_classes=0.*positive")],
)
def test_bad_arguments_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        imagenet_resnet(**kwargs)


def test_pretrained_weights_offline_say_why_and_return_none(monkeypatch, capsys, tmp_path):
    from resnet_lab.imagenet import pretrained_resnet18

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no cached weights
    monkeypatch.setattr(
        "torch.hub.download_url_to_file", lambda *a, **k: (_ for _ in ()).throw(OSError("Name or service not known"))
    )
    assert pretrained_resnet18() is None
    assert "need a download" in capsys.readouterr().out
