"""Reusing a trained body (resnet_lab.transfer), the canvases task, and the residual-stream MLP."""

import pytest
import torch

from resnet_lab.data import few_labels, load_digits, make_digit_canvases, make_synthetic, select_classes
from resnet_lab.models import StreamMLP, resnet
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import fit
from resnet_lab.transfer import LinearProbe, SegmentationNet, predict_masks, segmentation_scores


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_select_classes_keeps_only_those_and_relabels_them_in_order(digits):
    task = select_classes(digits, [7, 2])
    assert task.classes == ["7", "2"] and task.num_classes == 2
    assert set(task.train_labels.tolist()) == {0, 1}
    assert len(task.train_labels) == int(((digits.train_labels == 7) | (digits.train_labels == 2)).sum())
    first_seven = digits.train_images[digits.train_labels == 7][0]
    assert torch.equal(task.train_images[task.train_labels == 0][0], first_seven)


def test_few_labels_draws_that_many_per_class_by_seed(digits):
    a, b, c = few_labels(digits, 3, seed=0), few_labels(digits, 3, seed=0), few_labels(digits, 3, seed=1)
    assert torch.bincount(a.train_labels).tolist() == [3] * 10 and torch.equal(a.test_labels, digits.test_labels)
    assert torch.equal(a.train_images, b.train_images) and not torch.equal(a.train_images, c.train_images)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda d: select_classes(d, [1, 1]), r"classes=\[1, 1\].*distinct"),
        (lambda d: select_classes(d, [10]), r"classes=\[10\].*0 to 9"),
        (lambda d: few_labels(d, 0), r"per_class=0.*1 to"),
        (lambda d: few_labels(d, 1000), r"per_class=1000"),
    ],
)
def test_bad_task_arguments_are_clear_errors(digits, call, message):
    with pytest.raises(ValueError, match=message):
        call(digits)


def test_a_linear_probe_trains_only_its_head_and_keeps_the_body_as_it_was():
    data = make_synthetic(n_train=128, n_test=32)
    torch.manual_seed(0)
    body = resnet(8, width=4, in_channels=1, num_classes=4)
    before = {k: v.clone() for k, v in body.state_dict().items()}
    probe = LinearProbe(body, 4)
    head_before = probe.fc.weight.clone()
    fit(probe, data, HE2015_CIFAR.scaled(5, batch_size=32), progress=False, eval_at_end=False)
    assert all(torch.equal(v, before[k]) for k, v in body.state_dict().items())  # weights and BN statistics
    assert not torch.equal(probe.fc.weight, head_before)
    assert probe.training and not probe.body.training


def test_digit_canvases_label_each_inked_pixel_with_its_digit(digits):
    canvases = make_digit_canvases(digits, n_train=20, n_test=5, per_canvas=2)
    assert canvases.train_images.shape == (20, 1, 16, 16) and canvases.train_labels.shape == (20, 16, 16)
    assert canvases.classes[0] == "background" and canvases.num_classes == 11
    raw = canvases.train_images * canvases.std[0] + canvases.mean[0]
    labelled = canvases.train_labels > 0
    assert (raw[:, 0][labelled] > 4 - 1e-3).all() and (raw[:, 0][~labelled] <= 4 + 1e-3).all()
    for mask in canvases.train_labels:  # two cells of the 2x2 grid hold a digit, each one digit
        cells = [mask[r : r + 8, c : c + 8] for r in (0, 8) for c in (0, 8)]
        inked = [cell[cell > 0].unique() for cell in cells if (cell > 0).any()]
        assert len(inked) <= 2 and all(len(u) == 1 for u in inked)
    with pytest.raises(ValueError, match="per_canvas=5"):
        make_digit_canvases(digits, per_canvas=5)


def test_segmentation_net_scores_every_pixel_and_learns_the_canvases():
    canvases = make_digit_canvases(load_digits(size=16), n_train=300, n_test=50)  # 32x32 canvases
    torch.manual_seed(0)
    net = SegmentationNet(resnet(8, width=8, in_channels=1, num_classes=11), 11)
    assert net(canvases.test_images[:2]).shape == (2, 11, 32, 32)
    fit(net, canvases, HE2015_CIFAR.scaled(100, batch_size=32), progress=False, eval_at_end=False)
    scores = segmentation_scores(predict_masks(net, canvases.test_images), canvases.test_labels, 11)
    baseline = segmentation_scores(torch.zeros_like(canvases.test_labels), canvases.test_labels, 11)
    assert scores[1] > 2 * baseline[1] and scores[0] > baseline[0]  # better than calling every pixel background


def test_segmentation_scores_on_a_known_case():
    truth = torch.tensor([[0, 0, 1, 1]])
    predicted = torch.tensor([[0, 1, 1, 1]])
    accuracy, mean_iou = segmentation_scores(predicted, truth, num_classes=3)
    assert accuracy == 0.75 and mean_iou == pytest.approx((1 / 2 + 2 / 3) / 2)  # class 2 absent from both


def test_stream_mlp_adds_each_block_to_the_stream_only_when_residual():
    torch.manual_seed(0)
    residual, plain = StreamMLP(2, width=8, in_features=4), StreamMLP(2, width=8, residual=False, in_features=4)
    x = torch.randn(3, 1, 2, 2)
    with torch.no_grad():
        for block in residual.blocks:  # zero branches: the residual stack is the identity, the plain one outputs 0
            block.branch[-1].weight.zero_(), block.branch[-1].bias.zero_()
        plain.load_state_dict(residual.state_dict())
        stream = residual.embed(x.flatten(1))
        assert torch.equal(residual.blocks(stream), stream)
        assert torch.equal(plain.blocks(stream), torch.zeros_like(stream))
    with pytest.raises(ValueError, match="depth=0"):
        StreamMLP(0)


def test_with_new_head_copies_the_body_and_replaces_only_the_classifier():
    from resnet_lab.models import resnet
    from resnet_lab.transfer import with_new_head

    torch.manual_seed(0)
    trained = resnet(8, width=4, in_channels=1, num_classes=5).requires_grad_(False)
    net = with_new_head(trained, 3)
    x = torch.randn(2, 1, 16, 16)
    trained.eval(), net.eval()
    assert net.fc.out_features == 3 and all(p.requires_grad for p in net.parameters())
    assert torch.equal(net.features(x), trained.features(x))
    net.conv1.weight.data.add_(1.0)  # a copy: fine-tuning it leaves the trained net as it was
    assert not torch.equal(net.features(x), trained.features(x))


def test_imagenet_probe_freezes_torchvision_body_and_takes_small_grey_images():
    import torchvision

    from resnet_lab.transfer import ImageNetProbe

    torch.manual_seed(0)
    probe = ImageNetProbe(torchvision.models.resnet18(), num_classes=5, size=32)
    probe.train()
    assert not probe.body.training and all(not p.requires_grad for p in probe.body.parameters())
    assert [name for name, p in probe.named_parameters() if p.requires_grad] == ["fc.weight", "fc.bias"]
    assert probe(torch.randn(3, 1, 16, 16)).shape == (3, 5)
    assert probe(torch.randn(3, 3, 32, 32)).shape == (3, 5)
