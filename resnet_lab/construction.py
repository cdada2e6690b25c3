"""He et al.'s construction argument, built (Section 1 of the 2015 paper).

"There exists a solution by construction to the deeper model: the added layers are identity
mappings, and the other layers are copied from the learned shallower model." `deepen_with_identity_blocks`
builds that deeper net, for residual nets (zeroed branches) and for plain nets (Dirac kernels and BN
set to undo its own normalisation), so notebook 06 can ask whether training finds it again.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .models import BasicBlock, CifarResNet
from .train import in_mode


def deepen_with_identity_blocks(shallow: CifarResNet, depth: int, images: torch.Tensor | None = None) -> CifarResNet:
    """He et al.'s construction argument, built: a `depth`-layer net that computes what `shallow` computes.

    Every layer of `shallow` is copied into the first blocks of each stage of the deeper net; the extra
    blocks are made the identity:
      residual net: their last BN is zeroed, so F(x) = 0 and (the input being a ReLU output) H(x) = x, exactly;
      plain net: both convolutions are Dirac (identity) kernels and each BN is set to undo its own
        normalisation for the statistics of `images` (needed for a plain net) at that point of the net.
        In eval mode the block is the identity to float precision; in training mode, where BN uses each
        batch's statistics, only approximately.
    """
    if shallow.preact:
        raise ValueError("shallow must be a post-activation net (preact=False)")
    if not isinstance(depth, int) or depth <= shallow.depth:
        raise ValueError(f"depth={depth!r} is not valid: it must be deeper than the shallow net ({shallow.depth})")
    plain = shallow.shortcut is None
    if plain and shallow.block != "basic":
        raise ValueError(
            "a plain bottleneck net cannot be deepened with identity blocks: its 1x1 convolutions "
            "narrow the signal (use block='basic')"
        )
    if plain and images is None:
        raise ValueError(
            "images=None: a plain net's identity blocks need images to set their BN statistics "
            "(a zeroed branch would output zeros, not its input)"
        )
    deep = CifarResNet(
        depth,
        block=shallow.block,
        shortcut=shallow.shortcut,
        width=shallow.width,
        widen_factor=shallow.widen_factor,
        in_channels=shallow.conv1.in_channels,
        num_classes=shallow.fc.out_features,
        zero_init_residual=not plain,
    )
    for name in ("conv1", "bn1", "fc"):
        getattr(deep, name).load_state_dict(getattr(shallow, name).state_dict())
    stage_inputs = _stage_outputs(shallow, images) if plain else None
    for i, (small, large) in enumerate(
        zip((shallow.layer1, shallow.layer2, shallow.layer3), (deep.layer1, deep.layer2, deep.layer3))
    ):
        for block_small, block_large in zip(small, large):
            block_large.load_state_dict(block_small.state_dict())
        if plain:
            for block in list(large)[len(small) :]:
                _make_plain_identity(block, stage_inputs[i])
    return deep.to(shallow.conv1.weight.device)


@torch.no_grad()
def _stage_outputs(net: CifarResNet, images: torch.Tensor) -> list[torch.Tensor]:
    """The output of each of the net's three stages for `images`, in eval mode."""
    outputs = []
    with in_mode(net, training=False):
        x = F.relu(net.bn1(net.conv1(images.to(net.conv1.weight.device))))
        for stage in (net.layer1, net.layer2, net.layer3):
            x = stage(x)
            outputs.append(x.cpu())
    return outputs


@torch.no_grad()
def _make_plain_identity(block: BasicBlock, x: torch.Tensor) -> None:
    """Dirac kernels, and BNs whose scale and shift undo the normalisation of `x`'s statistics."""
    mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)  # what BN normalises with
    for conv, bn in ((block.conv1, block.bn1), (block.conv2, block.bn2)):
        nn.init.dirac_(conv.weight)
        bn.running_mean.copy_(mean), bn.running_var.copy_(var)
        bn.bias.copy_(mean), bn.weight.copy_((var + bn.eps).sqrt())
