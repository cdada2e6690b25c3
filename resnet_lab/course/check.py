"""Checkers for the learner exercises. Each prints a clear pass, or exactly what is wrong.

A checker returns True on success, so a notebook can also `assert` it. An exercise that still
raises NotImplementedError is reported as "not done yet", never as a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from ..complexity import count_parameters
from ..models import BasicBlock, Bottleneck, plain_net, resnet, wide_resnet

_FAILED = object()  # what _run returns when the learner's code did not run to the end


def _run(function: Callable, *args, name: str, case: str, hint: str):
    """The learner's `function(*args)`; or _FAILED, after saying why: "not written yet" when it raises
    NotImplementedError (the exercise's placeholder), else the exception, named, with the hint."""
    try:
        return function(*args)
    except NotImplementedError:
        print(f"… {name} is not written yet. {hint}")
    except Exception as error:
        print(f"✗ {case} raised {type(error).__name__}: {error}\n  Hint: {hint}")
    return _FAILED


def check_count_layers(count_layers: Callable) -> bool:
    """Exercise (notebook 01): count the layers with weights that the paper's depth counts."""
    hint = (
        "Count every nn.Conv2d and nn.Linear, but skip the 1x1 projections inside shortcuts "
        "(look for 'shortcut' in the module's name from model.named_modules())."
    )
    cases = [
        ("plain_net(8)", plain_net(8, width=2), 8),
        ("resnet(20)", resnet(20, width=2), 20),
        ("resnet(32, shortcut='B')", resnet(32, width=2, shortcut="B"), 32),
        ("plain_net(56)", plain_net(56, width=2), 56),
    ]
    for name, model, expected in cases:
        got = _run(count_layers, model, name="count_layers", case=f"count_layers({name})", hint=hint)
        if got is _FAILED:
            return False
        if not isinstance(got, int):
            print(f"✗ count_layers({name}) returned {got!r}, a {type(got).__name__}; it should return an int.")
            return False
        if got != expected:
            extra = " Did you count the shortcut projections?" if got > expected else ""
            print(f"✗ For {name} you counted {got!r}; the paper's depth counts {expected}.{extra}\n  Hint: {hint}")
            return False
    print("✓ count_layers is right: depth = 6n+2 counts the stem conv, 6n convs in the blocks, and the fc layer.")
    return True


def _same_as_reference(
    Block: type, reference: nn.Module, args: tuple, x: torch.Tensor, layers: str, name: str, hint: str, wrong: str
):
    """Build Block(*args), give it the reference's weights and compare them on `x`.

    Returns the learner's output (x requires grad), or False after printing exactly what differs.
    """
    case = f"Block{args}"
    mine = _run(Block, *args, name=name, case=case, hint=hint)
    if mine is _FAILED:
        return False
    if count_parameters(mine) != count_parameters(reference):
        print(
            f"✗ {case} has {count_parameters(mine):,} parameters; the paper's block has "
            f"{count_parameters(reference):,}. Check the layer sizes and the shortcut."
        )
        return False
    loaded = _run(partial(mine.load_state_dict, reference.state_dict(), strict=False), name=name, case=case, hint=hint)
    if loaded is _FAILED:
        return False
    missing, unexpected = loaded
    if missing or unexpected:
        print(f"✗ {case}: the layer names differ from {layers} (missing {missing}, unexpected {unexpected}).")
        return False
    out = _run(mine, x, name=name, case=case, hint=hint)
    if out is _FAILED:
        return False
    expected = (len(x), reference(x).shape[1], *reference(x).shape[2:])
    if tuple(out.shape) != expected:
        print(
            f"✗ {case} returned shape {tuple(out.shape)}; expected {expected}. "
            "The shortcut must subsample by the stride and match the output's channels."
        )
        return False
    if not torch.allclose(out, reference(x), atol=1e-5):
        print(f"✗ {case} computes something else than the paper's block with the same weights. {wrong}")
        return False
    return out


def check_basic_block(Block: type) -> bool:
    """Exercise (notebook 02): a post-activation BasicBlock with an option-A shortcut.

    Block(in_planes, planes, stride) must have conv1, bn1, conv2, bn2 like resnet_lab's block.
    """
    hint = (
        "Write shortcut(x) first, then forward(x): "
        "relu(bn1(conv1(x))), then bn2(conv2(...)), add the shortcut, then relu."
    )
    for args in [(16, 16, 1), (16, 32, 2)]:
        x = torch.randn(4, args[0], 8, 8).relu().requires_grad_()  # inputs come out of a ReLU
        out = _same_as_reference(
            Block,
            BasicBlock(*args, shortcut="A"),
            args,
            x,
            "conv1, bn1, conv2, bn2",
            "the block",
            hint,
            "Check the order: conv-BN-ReLU, conv-BN, add the shortcut, then ReLU (after the addition).",
        )
        if out is False:
            return False
        out.sum().backward()
        if x.grad is None or not x.grad.abs().sum() > 0:
            print(f"✗ No gradient reaches the input of Block{args}: is the computation detached somewhere?")
            return False
    x = torch.randn(4, 16, 8, 8).relu()
    identity = Block(16, 16, 1)
    with torch.no_grad():
        nn.init.zeros_(identity.bn2.weight)
    if not torch.equal(identity(x), x):
        print(
            "✗ With bn2's weight at zero, F(x) = 0 and the block should return its input exactly. "
            "Is the shortcut of a block with stride 1 and equal widths the identity?"
        )
        return False
    print(
        "✓ Your block matches the paper's: same shapes, same outputs, no extra parameters, gradients flow,"
        " and with the last BN zeroed it is exactly the identity."
    )
    return True


def check_dz_dx(dz_dx: Callable) -> bool:
    """Exercise (notebook 03): dz/dx of y = x + a1 tanh(x), z = y + a2 tanh(y), against autograd."""
    for x, a1, a2 in [(0.5, 0.3, -0.2), (-1.0, 2.0, 0.5), (2.0, -0.7, 1.5), (0.0, 0.0, 0.0)]:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        y = xt + a1 * torch.tanh(xt)
        z = y + a2 * torch.tanh(y)
        (autograd,) = torch.autograd.grad(z, xt)
        hint = "Each block contributes a factor (1 + a_i tanh'(its input)), and tanh'(u) = 1 - tanh(u)**2."
        mine = _run(dz_dx, x, a1, a2, name="dz_dx", case=f"dz_dx({x}, {a1}, {a2})", hint=hint)
        if mine is _FAILED:
            return False
        if not isinstance(mine, (int, float)) or abs(float(mine) - autograd.item()) > 1e-6:
            print(
                f"✗ dz_dx({x}, {a1}, {a2}) = {mine!r}, autograd says {autograd.item():.6f}. "
                "Hint: block 2's factor uses y, not x."
            )
            return False
    print("✓ dz_dx agrees with autograd. Note the 1 in each factor: the gradient always has a direct path.")
    return True


def check_bottleneck(Block: type) -> bool:
    """Exercise (notebook 04): a post-activation bottleneck block with a projection (option B) shortcut.

    Block(in_planes, planes, stride) must have expansion = 4 and the layers conv1, bn1, conv2, bn2,
    conv3, bn3 and shortcut (an nn.Sequential(conv, BN) where the shape changes, else nn.Identity).
    """
    if getattr(Block, "expansion", None) != 4:
        print(
            f"✗ Block.expansion is {getattr(Block, 'expansion', None)!r}: the last 1x1 conv restores 4x the "
            "planes (64 -> 256 in the paper's Fig. 5), so expansion must be 4."
        )
        return False
    hint = (
        "1x1 conv to `planes`, 3x3 conv (with the stride), 1x1 conv to 4 * planes, each followed by BN; "
        "ReLU after the first two and after the addition."
    )
    for args in [(64, 16, 1), (64, 32, 2)]:
        x = torch.randn(2, args[0], 8, 8).relu()
        out = _same_as_reference(
            Block,
            Bottleneck(*args, shortcut="B"),
            args,
            x,
            "conv1, bn1, conv2, bn2, conv3, bn3, shortcut",
            "the bottleneck",
            hint,
            "Is the stride on the 3x3 conv? Is there a ReLU after bn3 *before* the addition (there should not be)?",
        )
        if out is False:
            return False
    print("✓ Your bottleneck matches: 1x1-3x3-1x1 with expansion 4, the right parameter count and outputs.")
    return True


def check_wrn_params(wrn_params: Callable) -> bool:
    """Exercise (notebook 05): WRN-n-k's parameter count from the formula, against the real model."""
    hint = (
        "Add up: the stem conv (3*16*9), for every block two BN layers "
        "(2 numbers per channel) and two 3x3 convs, a 1x1 projection where the width "
        "changes, then the final BN and the linear layer (weights and biases)."
    )
    for n, k, classes in [(16, 4, 10), (28, 10, 10), (10, 1, 10), (40, 4, 100), (22, 2, 10)]:
        with torch.device("meta"):  # shapes only: no memory, no time
            expected = count_parameters(wide_resnet(n, k, num_classes=classes))
        case = f"wrn_params({n}, {k}, num_classes={classes})"
        mine = _run(partial(wrn_params, n, k, num_classes=classes), name="wrn_params", case=case, hint=hint)
        if mine is _FAILED:
            return False
        if mine != expected:
            print(
                f"✗ {case} = {mine!r}; the model has {expected:,}. "
                "Did you count the BN parameters, the projections and the fc bias?"
            )
            return False
    print("✓ wrn_params matches resnet_lab's WideResNets, from WRN-10-1 to WRN-28-10.")
    return True


def check_make_stage(make_stage: Callable) -> bool:
    """Exercise (notebook 07): build one stage of an ImageNet ResNet, compared with resnet_lab.imagenet's."""
    from ..imagenet import make_stage as reference_stage

    hint = (
        "The first block takes in_planes and the stride; every later block takes planes * block.expansion "
        "in and stride 1. Use shortcut='B' (a projection only where the shape changes)."
    )
    cases = [
        (BasicBlock, 64, 64, 2, 1),
        (BasicBlock, 64, 128, 2, 2),
        (Bottleneck, 64, 64, 3, 1),
        (Bottleneck, 256, 128, 4, 2),
    ]
    for block, in_planes, planes, blocks, stride in cases:
        case = f"make_stage({block.__name__}, {in_planes}, {planes}, {blocks}, {stride})"
        torch.manual_seed(0)
        reference = reference_stage(block, in_planes, planes, blocks, stride).eval()
        mine = _run(make_stage, block, in_planes, planes, blocks, stride, name="make_stage", case=case, hint=hint)
        if mine is _FAILED:
            return False
        if not isinstance(mine, nn.Sequential) or len(mine) != blocks:
            print(
                f"✗ {case} should return an nn.Sequential of {blocks} blocks, not {type(mine).__name__} "
                f"of {len(mine) if hasattr(mine, '__len__') else '?'}."
            )
            return False
        if count_parameters(mine) != count_parameters(reference):
            print(
                f"✗ {case} has {count_parameters(mine):,} parameters; the paper's stage has "
                f"{count_parameters(reference):,}.\n  Hint: {hint}"
            )
            return False
        try:
            mine.load_state_dict(reference.state_dict())
        except RuntimeError as error:
            print(f"✗ {case}: its layers differ from the reference's ({str(error).splitlines()[0]})\n  Hint: {hint}")
            return False
        x = torch.randn(2, in_planes, 16, 16)
        with torch.no_grad():
            if not torch.allclose(mine.eval()(x), reference(x), atol=1e-5):
                print(f"✗ {case} computes something else with the same weights: check the strides.")
                return False
    print("✓ make_stage builds the paper's stages: the first block changes the shape, the others keep it.")
    return True


def check_normalise_filters(normalise_filters: Callable) -> bool:
    """Exercise (notebook 06): filter normalisation of one weight's direction (Li et al. 2018, Section 4)."""
    hint = (
        "Flatten every filter (d.flatten(1) gives one row per filter), take each row's norm for d and for w, "
        "and multiply d by w_norm / d_norm, reshaped to broadcast over the filter's other dimensions."
    )
    torch.manual_seed(0)
    cases = [
        ("a conv weight (8, 4, 3, 3)", torch.randn(8, 4, 3, 3) * torch.rand(8, 1, 1, 1) * 3),
        ("a linear weight (10, 32)", torch.randn(10, 32) * torch.rand(10, 1) * 3),
    ]
    for name, w in cases:
        d = torch.randn(w.shape)
        d_before = d.clone()
        case = f"For {name}, normalise_filters"
        got = _run(normalise_filters, d, w, name="normalise_filters", case=case, hint=hint)
        if got is _FAILED:
            return False
        if not isinstance(got, torch.Tensor) or got.shape != w.shape:
            print(
                f"✗ For {name}, return a tensor of the weight's shape {tuple(w.shape)}, not "
                f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}."
            )
            return False
        if not torch.equal(d, d_before):
            print(f"✗ For {name}, normalise_filters changed d in place: return a new tensor instead.")
            return False
        norms, wanted = got.flatten(1).norm(dim=1), w.flatten(1).norm(dim=1)
        if not torch.allclose(norms, wanted, rtol=1e-4):
            print(
                f"✗ For {name}, filter 0 of your direction has norm {norms[0]:.4g}; it should have the norm "
                f"of the weight's filter 0, {wanted[0]:.4g}.\n  Hint: {hint}"
            )
            return False
        cosine = torch.nn.functional.cosine_similarity(got.flatten(1), d.flatten(1), dim=1)
        if not torch.allclose(cosine, torch.ones_like(cosine), atol=1e-4):
            print(
                f"✗ For {name}, each filter must keep its direction (only its length changes); the cosine "
                f"between yours and d's filter is as low as {cosine.min():.3f}.\n  Hint: {hint}"
            )
            return False
    print(
        "✓ normalise_filters is right: every filter of the direction has its weight filter's norm and its own direction."
    )
    return True
