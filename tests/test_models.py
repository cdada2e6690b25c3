import pytest
import torch

from resnet_lab import reference
from resnet_lab.complexity import count_parameters
from resnet_lab.models import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    PreActBlock,
    PreActBottleneck,
    ZeroPadShortcut,
    blocks_per_stage,
    plain_net,
    resnet,
    valid_depths,
    wide_resnet,
)


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_resnet_parameter_count_matches_paper_table6(depth):
    # He et al. 2015, Table 6 (0.27M ... 1.7M); exact counts for option A with BN.
    assert count_parameters(resnet(depth)) == reference.CIFAR10_RESNET_PARAMS_EXACT[depth]


@pytest.mark.parametrize("depth", [20, 56, 110])
def test_plain_net_has_exactly_the_resnets_parameters(depth):
    # Option A shortcuts add no parameters, so the paper's plain/residual pairs are the same size.
    assert count_parameters(plain_net(depth)) == count_parameters(resnet(depth))


@pytest.mark.parametrize("depth,k", [(16, 8), (28, 10), (40, 4)])
def test_wide_resnet_parameter_count_matches_wrn_paper(depth, k):
    # Zagoruyko & Komodakis 2016, Tables 5/6: 11.0M, 36.5M, 8.9M (to 0.1M).
    expected = reference.WRN_PARAMS[(depth, k)]
    assert abs(count_parameters(wide_resnet(depth, k)) - expected) < 0.05e6


def test_wrn_16_4_parameter_count_matches_the_layer_by_layer_formula():
    # The paper prints no count for WRN-16-4; the exercise's answer adds up its layers by hand (2,748,890).
    from resnet_lab.course.solutions import wrn_params

    assert count_parameters(wide_resnet(16, 4)) == wrn_params(16, 4) == 2_748_890


def test_resnet164_bottleneck_preact_is_1_7M_parameters():
    # He et al. 2016 (identity mappings): ResNet-164 bottleneck has 1.7M parameters.
    assert abs(count_parameters(resnet(164, block="bottleneck", preact=True)) - 1.7e6) < 0.05e6


@pytest.mark.parametrize(
    "kwargs,shape",
    [
        (dict(depth=8, in_channels=1, width=8), (5, 1, 8, 8)),
        (dict(depth=20), (5, 3, 32, 32)),
        (dict(depth=11, block="bottleneck"), (5, 3, 32, 32)),
        (dict(depth=14, preact=True, shortcut="B", num_classes=100), (5, 3, 32, 32)),
        (dict(depth=8, shortcut="C", dropout=0.3), (5, 3, 16, 16)),
        (dict(depth=8, shortcut=None, widen_factor=2), (5, 3, 32, 32)),
    ],
)
def test_every_variant_maps_images_to_class_scores(kwargs, shape):
    model = CifarResNet(**kwargs)
    out = model(torch.randn(shape))
    assert out.shape == (shape[0], kwargs.get("num_classes", 10))
    assert torch.isfinite(out).all()


def test_depth_counts_the_weighted_layers():
    # depth = 6n+2: 2 layers per basic block, 3 stages of n blocks, the stem conv and the fc layer.
    model = resnet(32)
    convs = [m for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d) and "shortcut" not in n]
    assert len(convs) + 1 == 32
    assert len(model.blocks()) == 3 * blocks_per_stage(32)


def test_option_a_shortcut_subsamples_and_zero_pads_without_parameters():
    shortcut = ZeroPadShortcut(16, 32, stride=2)
    x = torch.randn(2, 16, 8, 8)
    y = shortcut(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert torch.equal(y[:, 16:], torch.zeros(2, 16, 4, 4))
    assert count_parameters(shortcut) == 0


def test_option_b_projects_only_where_the_shape_changes_and_c_everywhere():
    a, b, c = (count_parameters(resnet(20, shortcut=s)) for s in "ABC")
    # Two shape changes (16->32, 32->64): 1x1 conv + BN each.
    assert b - a == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert c > b
    assert isinstance(resnet(20, shortcut="B").layer1[0].shortcut, torch.nn.Identity)


@pytest.mark.parametrize(
    "block,preact", [("basic", False), ("basic", True), ("bottleneck", False), ("bottleneck", True)]
)
def test_zero_initialised_block_is_the_identity(block, preact):
    torch.manual_seed(0)
    model = resnet(valid_depths(block)[1], block=block, preact=preact, zero_init_residual=True)
    b = model.layer2[1]  # a block whose input and output shapes agree
    # A post-activation block's input comes out of a ReLU, so it is non-negative.
    x = torch.randn(4, b.conv1.in_channels, 8, 8).relu()
    assert torch.equal(b(x), x)
    assert torch.count_nonzero(b.branch(x)) == 0


BLOCKS_AND_ACTIVATION_AFTER_THE_ADDITION = [
    (BasicBlock, torch.relu),
    (Bottleneck, torch.relu),
    (PreActBlock, lambda out: out),  # pre-activation: nothing after the addition
    (PreActBottleneck, lambda out: out),
]


@pytest.mark.parametrize("Block,after", BLOCKS_AND_ACTIVATION_AFTER_THE_ADDITION)
@pytest.mark.parametrize("shortcut", ["A", "B"])
def test_every_block_adds_its_shortcut_to_its_branch(Block, after, shortcut):
    torch.manual_seed(0)
    block = Block(4, 8, stride=2, shortcut=shortcut).eval()
    x = torch.randn(2, 4, 8, 8)  # negative values too: a ReLU after the addition shows
    with torch.no_grad():
        assert torch.allclose(block(x), after(block.branch(x) + block.shortcut(x)), atol=1e-6)
        torch.nn.init.zeros_(block.last_layer_of_branch().weight)  # F(x) = 0: what is left is the shortcut
        assert torch.count_nonzero(block.branch(x)) == 0
        assert torch.equal(block(x), after(block.shortcut(x)))


@pytest.mark.parametrize("Block,after", BLOCKS_AND_ACTIVATION_AFTER_THE_ADDITION)
def test_a_block_without_shortcut_is_the_plain_block_its_branch_alone(Block, after):
    torch.manual_seed(0)
    block = Block(4, 8, stride=2, shortcut=None).eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        assert torch.equal(block(x), after(block.branch(x)))


@pytest.mark.parametrize(
    "block,preact,Block",
    [
        ("basic", False, BasicBlock),
        ("bottleneck", False, Bottleneck),
        ("basic", True, PreActBlock),
        ("bottleneck", True, PreActBottleneck),
    ],
)
def test_the_net_stacks_the_block_class_its_arguments_name(block, preact, Block):
    model = resnet(valid_depths(block)[0], block=block, preact=preact)
    assert all(type(b) is Block for b in model.blocks())


def test_a_projection_shortcut_has_bn_after_it_in_post_activation_blocks_only():
    # He et al. 2015 (option B: 1x1 conv + BN); the pre-activation unit's shortcut, like its branch, ends in a conv.
    post, pre = BasicBlock(16, 32, 2, shortcut="B").shortcut, PreActBlock(16, 32, 2, shortcut="B").shortcut
    assert [type(m) for m in post] == [torch.nn.Conv2d, torch.nn.BatchNorm2d]
    assert type(pre) is torch.nn.Conv2d


def test_a_block_rejects_an_unknown_shortcut_option():
    with pytest.raises(ValueError, match=r"shortcut='D' is not known: use one of \(None, 'A', 'B', 'C'\)"):
        PreActBottleneck(16, 4, shortcut="D")


def test_default_init_block_is_not_the_identity():
    b = resnet(14).layer2[1]
    x = torch.randn(4, 32, 8, 8).relu()
    assert not torch.allclose(b(x), x)


def test_zero_init_does_not_stop_gradients_reaching_the_branch():
    model = resnet(8, in_channels=1, width=4, zero_init_residual=True)
    model(torch.randn(8, 1, 8, 8)).sum().backward()
    assert model.layer1[0].bn2.weight.grad.abs().sum() > 0


def test_residual_and_plain_nets_differ_only_by_the_addition():
    torch.manual_seed(0)
    res = resnet(14, in_channels=1, width=4)
    plain = plain_net(14, in_channels=1, width=4)
    plain.load_state_dict(res.state_dict())  # same layers, same names
    x = torch.randn(2, 1, 8, 8)
    assert not torch.allclose(res(x), plain(x))
    for block in res.blocks():
        block.shortcut = None
    assert torch.allclose(res(x), plain(x))


def test_valid_depths_are_6n_plus_2_and_9n_plus_2():
    assert valid_depths("basic", 56) == [8, 14, 20, 26, 32, 38, 44, 50, 56]
    assert valid_depths("bottleneck", 47) == [11, 20, 29, 38, 47]
    for depth in valid_depths("basic", 110):
        assert len(resnet(depth, width=1).blocks()) == 3 * (depth - 2) // 6


@pytest.mark.parametrize(
    "kwargs,names",
    [
        (dict(depth=21), ["depth=21", "6n+2", "8, 14, 20"]),
        (dict(depth=2), ["depth=2", "n >= 1"]),
        (dict(depth=20.0), ["depth=20.0"]),
        (dict(depth=21, block="bottleneck"), ["depth=21", "block='bottleneck'", "9n+2", "11, 20, 29"]),
        (dict(depth=20, block="wide"), ["block='wide'", "basic"]),
        (dict(depth=20, shortcut="D"), ["shortcut='D'", "'A', 'B', 'C'"]),
        (dict(depth=20, width=0), ["width=0", "positive integer"]),
        (dict(depth=20, widen_factor=-1), ["widen_factor=-1"]),
        (dict(depth=20, in_channels=0), ["in_channels=0"]),
        (dict(depth=20, num_classes=1.5), ["num_classes=1.5"]),
        (dict(depth=20, dropout=1.5), ["dropout=1.5", "[0, 1)"]),
        (dict(depth=20, shortcut=None, zero_init_residual=True), ["zero_init_residual", "plain"]),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(kwargs, names):
    with pytest.raises(ValueError) as error:
        CifarResNet(**kwargs)
    for name in names:
        assert name in str(error.value)


def test_depth_20_is_valid_for_bottleneck_because_20_is_9n_plus_2():
    assert blocks_per_stage(20, "bottleneck") == 2


@pytest.mark.parametrize("depth", [17, 8, 0, "28"])
def test_bad_wide_resnet_depth_names_the_rule(depth):
    with pytest.raises(ValueError, match=r"\(n - 4\) % 6 == 0"):
        wide_resnet(depth, 4)


def test_wide_resnet_has_dropout_between_convs_and_reports_its_depth():
    model = wide_resnet(16, 2, dropout=0.3)
    assert model.depth == 16 and model.preact
    block = model.layer1[0]
    assert block.dropout.p == 0.3
    seen = {}
    block.dropout.register_forward_hook(lambda m, args, out: seen.setdefault("dropout out", out))
    block.conv2.register_forward_pre_hook(lambda m, args: seen.setdefault("conv2 in", args[0]))
    model.train()
    x = torch.randn(2, 3, 32, 32)
    assert not torch.equal(model(x), model(x))  # dropout is active in training
    assert seen["conv2 in"] is seen["dropout out"]  # what dropout lets through is what the second conv sees
    model.eval()
    assert torch.equal(model(x), model(x))


def test_the_construction_argument_built_computes_exactly_the_shallow_net():
    from resnet_lab.construction import deepen_with_identity_blocks

    torch.manual_seed(0)
    shallow = resnet(8, width=4, in_channels=1)
    with torch.no_grad():  # a "trained" net: BN statistics and scales that are not the defaults
        for m in shallow.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2), m.weight.uniform_(0.5, 2)
    deep = deepen_with_identity_blocks(shallow, 20)
    x = torch.randn(16, 1, 8, 8)
    assert deep.depth == 20 and len(deep.blocks()) == 9
    for mode in (False, True):  # eval (running statistics) and train (batch statistics) alike
        shallow.train(mode), deep.train(mode)
        assert torch.equal(deep(x), shallow(x))
    with pytest.raises(ValueError, match="depth=8.*deeper"):
        deepen_with_identity_blocks(shallow, 8)
    with pytest.raises(ValueError, match="images=None"):
        deepen_with_identity_blocks(plain_net(8, width=4, in_channels=1), 20)


def test_the_plain_construction_inserts_dirac_blocks_whose_bn_undoes_the_statistics_of_their_input():
    from resnet_lab.construction import deepen_with_identity_blocks

    torch.manual_seed(0)
    shallow = plain_net(8, width=4, in_channels=1)
    with torch.no_grad():
        for m in shallow.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5), m.running_var.uniform_(0.5, 2), m.weight.uniform_(0.5, 2)
    x = torch.randn(64, 1, 16, 16)
    deep = deepen_with_identity_blocks(shallow, 20, images=x)
    shallow.eval(), deep.eval()
    assert torch.allclose(deep(x), shallow(x), atol=1e-5)  # eval mode: the identity to float precision
    assert not torch.equal(deep.layer1[1].conv1.weight, shallow.layer1[0].conv1.weight)
    # In training mode an inserted block normalises with the batch's statistics: on the batch whose statistics
    # it was given, it is the identity too.
    stage_input = torch.relu(shallow.bn1(shallow.conv1(x)))
    stage_output = shallow.layer1(stage_input).detach()
    inserted = deep.layer1[1].train()
    assert torch.allclose(inserted(stage_output), stage_output, atol=1e-5)
    assert not torch.allclose(inserted(stage_output + 1.0), stage_output + 1.0, atol=1e-2)  # other statistics: not
    with pytest.raises(ValueError, match="bottleneck"):
        deepen_with_identity_blocks(plain_net(11, block="bottleneck", width=4, in_channels=1), 20, images=x)


def test_every_block_records_the_stride_that_halves_the_resolution():
    # Notebook 03 finds the downsampling blocks (the first of stages 2 and 3) by their stride.
    for preact in (False, True):
        for block in ("basic", "bottleneck"):
            net = CifarResNet(20 if block == "basic" else 29, block=block, preact=preact, width=4, in_channels=1)
            strides = [b.stride for b in net.blocks()]
            n = len(strides) // 3
            assert strides == [1] * n + [2] + [1] * (n - 1) + [2] + [1] * (n - 1)
