import pytest
import torch

from resnet_lab import probes
from resnet_lab.data import load_digits
from resnet_lab.models import plain_net, resnet


def digits_batch(n=128):
    data = load_digits()
    return data.train_images[:n], data.train_labels[:n]


def test_bn_plain_net_gradients_explode_toward_the_input_residual_ones_do_not():
    # Yang et al. 2019: with BN, a deep plain net's gradients grow toward the input; shortcuts keep them even.
    x, y = digits_batch()
    ratios = {}
    for make in (plain_net, resnet):
        torch.manual_seed(0)
        model = make(56, width=8, in_channels=1)
        weights = probes.gradient_norms(model, x, y)
        assert len(weights) == 55 and len(probes.gradient_norms(model, x, y, wrt="activations")) == 27
        ratios[make.__name__] = weights.quarter_ratio()
    assert ratios["plain_net"] > 10 * ratios["resnet"]


def test_probes_leave_the_model_as_they_found_it():
    x, y = digits_batch(32)
    model = resnet(14, width=4, in_channels=1)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    probes.gradient_norms(model, x, y)
    assert not model.training
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_graph_is_drawn_with_stable_names_when_dot_is_installed(monkeypatch):
    monkeypatch.setattr(probes, "graphviz_available", lambda: True)
    model = resnet(8, width=2, in_channels=1)
    a = probes.draw_graph(model, (1, 8, 8)).source
    b = probes.draw_graph(model, (1, 8, 8)).source
    assert a == b
    assert "AddBackward0" in a  # the skip connection joins at an addition
    assert "AddBackward0" not in probes.draw_graph(plain_net(8, width=2, in_channels=1), (1, 8, 8)).source


def test_graph_without_dot_explains_and_does_not_crash(monkeypatch, capsys):
    monkeypatch.setattr(probes.shutil, "which", lambda name: None)
    assert probes.draw_graph(resnet(8, width=2, in_channels=1), (1, 8, 8)) is None
    out = capsys.readouterr().out
    assert "apt-get install graphviz" in out and "BasicBlock" in out


@pytest.mark.skipif(not probes.graphviz_available(), reason="Graphviz's dot is not installed")
def test_rendered_svg_is_the_same_every_time():
    model = resnet(8, width=2, in_channels=1)
    svgs = [probes.draw_graph(model, (1, 8, 8)).pipe(format="svg") for _ in range(2)]
    assert svgs[0] == svgs[1] and b"<svg" in svgs[0]


def test_residual_nets_keep_the_inputs_similarity_structure_plain_nets_scramble_it():
    # At initialisation a deep plain net scrambles which inputs resemble which; a residual net keeps part of it.
    x, _ = digits_batch(128)
    for seed in range(2):
        torch.manual_seed(seed)
        plain = probes.similarity_kept(plain_net(56, width=8, in_channels=1), x).values
        torch.manual_seed(seed)
        kept = probes.similarity_kept(resnet(56, width=8, in_channels=1), x)
        names, res = kept.names, kept.values
        assert len(names) == len(res) == 27
        assert abs(plain[-1]) < 0.1 and res[-1] > 0.15
        assert res[0] > 0.5  # one block in, the residual net still sees the inputs' resemblances


def test_residual_ratio_is_zero_at_zero_init_and_positive_otherwise():
    x, _ = digits_batch(32)
    torch.manual_seed(0)
    measured = probes.residual_ratio(resnet(14, width=4, in_channels=1, zero_init_residual=True), x)
    names, ratios = measured.names, measured.values
    assert len(names) == 6 and ratios == [0.0] * 6
    ratios = probes.residual_ratio(resnet(14, width=4, in_channels=1), x).values
    assert all(r > 0.1 for r in ratios)


def test_lesion_swaps_in_a_parameter_free_module_and_puts_the_block_back():
    torch.manual_seed(0)
    model = resnet(14, width=4, in_channels=1).eval()
    x = torch.randn(4, 1, 8, 8)
    before = model(x)
    block = model.layer1[1]
    inside = torch.randn(4, 4, 8, 8)
    with probes.lesion(model, 1):
        stand_in = model.layer1[1]
        assert stand_in is not block and not list(stand_in.parameters())
        assert torch.equal(stand_in(inside), inside)
        assert not torch.allclose(model(x), before)
        assert "forward" not in block.__dict__  # the block itself is untouched
    assert model.layer1[1] is block and "forward" not in block.__dict__
    assert torch.equal(model(x), before)


def test_a_plain_net_can_be_lesioned_where_the_shape_changes_too():
    torch.manual_seed(0)
    model = plain_net(14, width=4, in_channels=1).eval()
    x, inside = torch.randn(4, 1, 8, 8), torch.randn(4, 4, 8, 8)
    before = model(x)
    with probes.lesion(model, 2):  # layer2.0 halves the size and doubles the channels: option A's path
        out = model.layer2[0](inside)
        assert out.shape == (4, 8, 4, 4) and torch.equal(out[:, :4], inside[:, :, ::2, ::2])
        assert torch.count_nonzero(out[:, 4:]) == 0
        assert not torch.allclose(model(x), before)
    assert torch.equal(model(x), before)


def test_lesion_accuracy_deletes_one_block_at_a_time_and_leaves_the_net_intact(monkeypatch):
    data = load_digits()
    torch.manual_seed(0)
    model = resnet(8, width=4, in_channels=1)
    blocks = model.blocks()
    intact = model(data.test_images)
    deleted = []

    def evaluate(net, images, labels):  # records which blocks are missing whenever accuracy is measured
        deleted.append([i for i, (now, block) in enumerate(zip(net.blocks(), blocks)) if now is not block])
        return 0.0, len(deleted) / 10

    monkeypatch.setattr(probes, "evaluate", evaluate)
    accuracies = probes.lesion_accuracy(model, data.test_images, data.test_labels)
    assert deleted == [[0], [1], [2]]
    assert accuracies.names == ["layer1.0", "layer2.0", "layer3.0"] and accuracies.values == [0.1, 0.2, 0.3]
    assert all(now is block for now, block in zip(model.blocks(), blocks))
    assert torch.equal(model(data.test_images), intact)


def test_deleting_a_block_that_is_the_identity_changes_nothing():
    # Zero-initialised: every branch is 0, so each block passes its (non-negative) input through option A's path,
    # which is exactly what a lesion puts in its place, downsampling blocks included.
    torch.manual_seed(0)
    model = resnet(8, width=4, in_channels=1, zero_init_residual=True).eval()
    x = torch.randn(8, 1, 8, 8)
    intact = model(x)
    for index in range(len(model.blocks())):
        with probes.lesion(model, index):
            assert torch.equal(model(x), intact)


def test_without_bn_plain_gradients_vanish_toward_the_input():
    # Without BN, a deep plain net's backward signal shrinks block after block on its way to the input.
    x, y = digits_batch()
    torch.manual_seed(0)
    norms = probes.gradient_norms(plain_net(56, width=8, in_channels=1, batch_norm=False), x, y, wrt="activations")
    assert norms.first_over_last() < 1e-3


def test_scaling_every_shortcut_by_lambda_scales_the_gradient_by_lambda_per_block():
    # He et al. 2016, Eq. 8: the direct term is the product of the λs. Branches at zero: nothing else.
    x, y = digits_batch(32)
    x = x.double()
    relative = {}
    for lam in (1.0, 0.8):
        torch.manual_seed(0)
        model = probes.scale_shortcuts(resnet(20, width=4, in_channels=1, zero_init_residual=True).double(), lam)
        a = probes.gradient_norms(model, x, y, wrt="activations").values
        relative[lam] = a[0] / a[-2]  # 7 shortcuts between block 1 and block 8
    assert relative[0.8] / relative[1.0] == pytest.approx(0.8**7, rel=1e-6)


def test_scaled_shortcut_multiplies_the_shortcut_by_lambda_and_shows_it_in_the_repr():
    from resnet_lab.models import ZeroPadShortcut

    shortcut = ZeroPadShortcut(4, 8, stride=2)
    scaled = probes.ScaledShortcut(shortcut, 0.5)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(scaled(x), 0.5 * shortcut(x))
    assert "scale=0.5" in repr(scaled)


def test_scale_shortcuts_wraps_every_shortcut_once_and_refuses_a_plain_net():
    model = resnet(14, width=4, in_channels=1)
    originals = [b.shortcut for b in model.blocks()]
    probes.scale_shortcuts(probes.scale_shortcuts(model, 0.5), 0.9)  # a second λ replaces the first
    for block, original in zip(model.blocks(), originals):
        assert isinstance(block.shortcut, probes.ScaledShortcut)
        assert block.shortcut.shortcut is original and block.shortcut.scale == 0.9
    with pytest.raises(ValueError, match=r"no shortcuts to scale: it is a plain net"):
        probes.scale_shortcuts(plain_net(8, width=2), 0.9)
    with pytest.raises(ValueError, match=r"scale='0.9' is not valid: it must be a number"):
        probes.scale_shortcuts(model, "0.9")


def test_nets_that_differ_only_in_lambda_are_checkpointed_apart():
    from resnet_lab.course.experiments import checkpoint_path
    from resnet_lab.data import make_synthetic
    from resnet_lab.recipe import HE2015_CIFAR

    data = make_synthetic(n_train=8, n_test=8)
    paths = []
    for lam in (1.0, 0.9):
        torch.manual_seed(0)
        model = probes.scale_shortcuts(resnet(8, width=2, in_channels=1), lam)
        paths.append(checkpoint_path(model, data, "res-8", HE2015_CIFAR.scaled(10), {}))
    assert paths[0] != paths[1]


def test_probes_give_the_same_numbers_on_a_channels_last_model():
    x, y = digits_batch(32)
    x = x.double()
    torch.manual_seed(0)
    model = resnet(14, width=4, in_channels=1).double()
    plain_format = probes.gradient_norms(model, x, y).values
    model.to(memory_format=torch.channels_last)
    assert probes.gradient_norms(model, x, y).values == pytest.approx(plain_format, rel=1e-9)


def test_gradient_ratio_log_records_step_one_and_every_nth_step_and_leaves_training_alone():
    from resnet_lab.data import make_synthetic
    from resnet_lab.recipe import HE2015_CIFAR
    from resnet_lab.train import fit

    data = make_synthetic(n_train=256, n_test=64)
    torch.manual_seed(0)
    model = plain_net(14, width=4, in_channels=1, num_classes=4)
    reference = plain_net(14, width=4, in_channels=1, num_classes=4)
    reference.load_state_dict(model.state_dict())
    log = probes.GradientRatioLog(model, data.train_images[:64], data.train_labels[:64], every=5)
    logged = fit(
        model, data, HE2015_CIFAR.scaled(12, batch_size=32), callbacks=[log], progress=False, eval_at_end=False
    )
    plain = fit(reference, data, HE2015_CIFAR.scaled(12, batch_size=32), progress=False, eval_at_end=False)
    assert list(log.ratios) == [0, 1, 5, 10]  # 0: before training
    assert all(r > 0 for r in log.ratios.values())
    assert logged.loss == plain.loss  # probing between steps changes nothing about the run
    assert log.first_step_below(float("inf")) == 0 and log.first_step_below(0) is None
    assert log.first_step_below(0, default=12) == 12


def test_gradient_ratio_log_rejects_a_bad_interval():
    with pytest.raises(ValueError, match=r"every=0.*positive integer"):
        probes.GradientRatioLog(plain_net(8), torch.zeros(2, 3, 8, 8), torch.zeros(2, dtype=torch.long), every=0)
