"""The CIFAR-style networks of He et al. 2015 (Section 4.2), plain and residual, and WideResNets.

A net is a 3x3 stem convolution, three stages of blocks on maps of size S, S/2 and S/4 with
widths w, 2w and 4w (w = 16 in the paper), global average pooling and one linear layer.
With basic blocks (two 3x3 convs) the depth is 6n+2; with bottleneck blocks (1x1, 3x3, 1x1)
it is 9n+2, where n is the number of blocks per stage.

Every block computes a branch F(x) (its `branch` method) and its `forward` adds the shortcut:
    BasicBlock, Bottleneck             post-activation (He et al. 2015): relu(F(x) + shortcut(x))
    PreActBlock, PreActBottleneck      pre-activation (He et al. 2016): F(x) + shortcut(x)
A plain block is the same class with shortcut=None: the same layers, F(x) alone. Experiments that
change a trained net's shortcuts or blocks (λ-scaled shortcuts, lesions) are in resnet_lab.probes.

Shortcut options (paper, Section 3.3):
    "A": identity; where the shape changes, subsample and zero-pad the new channels (no parameters).
    "B": identity; where the shape changes, a 1x1 projection.
    "C": a 1x1 projection on every shortcut.
    None: no shortcut at all, the plain net.

The ImageNet ResNets (Table 1), built from these same blocks, are in resnet_lab.imagenet.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

SHORTCUTS = (None, "A", "B", "C")
BLOCKS = ("basic", "bottleneck")


class ZeroPadShortcut(nn.Module):
    """Option A: keep every `stride`-th pixel and append zero channels. No parameters."""

    def __init__(self, in_planes: int, out_planes: int, stride: int):
        super().__init__()
        self.extra_channels, self.stride = out_planes - in_planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra_channels))


def check_shortcut(option) -> None:
    """ValueError unless `option` is one of SHORTCUTS."""
    if option not in SHORTCUTS:
        raise ValueError(f"shortcut={option!r} is not known: use one of {SHORTCUTS} (None = plain net)")


def make_shortcut(option: str | None, in_planes: int, out_planes: int, stride: int, norm=nn.BatchNorm2d):
    """The shortcut of one block for option None/"A"/"B"/"C"; None for a plain block.

    norm=None: a projection with no normalisation after it. Pre-activation blocks use that: their
    shortcut, like their branch, ends without a BN (He et al. 2016 and the WRN code).
    """
    check_shortcut(option)
    if option is None:
        return None
    shape_changes = stride != 1 or in_planes != out_planes
    if option == "A" and shape_changes:
        return ZeroPadShortcut(in_planes, out_planes, stride)
    if option == "C" or (option == "B" and shape_changes):
        projection = conv1x1(in_planes, out_planes, stride)
        return projection if norm is None else nn.Sequential(projection, norm(out_planes))
    return nn.Identity()


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions, post-activation (He et al. 2015, Fig. 2): relu(F(x) + shortcut(x)).

    F(x) = bn2(conv2(relu(bn1(conv1(x))))). Dropout, if any, sits between the convolutions (WideResNets);
    `norm` is the normalisation layer (nn.Identity for a net without BN); shortcut=None: the plain block.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut="A", dropout=0.0, norm=nn.BatchNorm2d):
        super().__init__()
        self.stride = stride  # 2 where the block halves the resolution (as in torchvision)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = norm(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm(planes)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = make_shortcut(shortcut, in_planes, planes, stride, norm)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), the residual branch."""
        out = self.dropout(F.relu(self.bn1(self.conv1(x))))
        return self.bn2(self.conv2(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.shortcut is not None:  # None: the plain block, F(x) alone
            out = out + self.shortcut(x)  # the skip connection
        return F.relu(out)

    def last_layer_of_branch(self) -> nn.Module:
        """The layer to zero so that F(x) = 0 and the block starts as the identity."""
        return self.bn2 if isinstance(self.bn2, nn.BatchNorm2d) else self.conv2


class Bottleneck(nn.Module):
    """1x1 (reduce) -> 3x3 -> 1x1 (restore to `expansion` x planes), post-activation (He et al. 2015, Fig. 5).

    F(x) = bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))), and the block returns relu(F(x) + shortcut(x)).
    A block that halves the resolution strides its 3x3 convolution, as torchvision does ("ResNet V1.5");
    stride_on_1x1=True strides the first 1x1 instead, as He et al. 2015 did (notebook 04 counts the cost).
    """

    expansion = 4

    def __init__(
        self, in_planes: int, planes: int, stride=1, shortcut="A", dropout=0.0, norm=nn.BatchNorm2d, stride_on_1x1=False
    ):
        super().__init__()
        self.stride = stride  # 2 where the block halves the resolution (as in torchvision)
        out_planes = planes * self.expansion
        self.conv1 = conv1x1(in_planes, planes, stride if stride_on_1x1 else 1)
        self.bn1 = norm(planes)
        self.conv2 = conv3x3(planes, planes, 1 if stride_on_1x1 else stride)
        self.bn2 = norm(planes)
        self.conv3 = conv1x1(planes, out_planes)
        self.bn3 = norm(out_planes)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = make_shortcut(shortcut, in_planes, out_planes, stride, norm)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), the residual branch."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.dropout(F.relu(self.bn2(self.conv2(out))))
        return self.bn3(self.conv3(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.shortcut is not None:  # None: the plain block, F(x) alone
            out = out + self.shortcut(x)  # the skip connection
        return F.relu(out)

    def last_layer_of_branch(self) -> nn.Module:
        """The layer to zero so that F(x) = 0 and the block starts as the identity."""
        return self.bn3 if isinstance(self.bn3, nn.BatchNorm2d) else self.conv3


class PreActBlock(nn.Module):
    """Two 3x3 convolutions, pre-activation (He et al. 2016, Fig. 4e): F(x) + shortcut(x), no ReLU after.

    F(x) = conv2(relu(bn2(conv1(relu(bn1(x)))))): BN and ReLU come before each convolution, so nothing
    acts on the sum and the identity path runs clean from block to block.
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut="A", dropout=0.0, norm=nn.BatchNorm2d):
        super().__init__()
        self.stride = stride  # 2 where the block halves the resolution (as in torchvision)
        self.bn1 = norm(in_planes)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = norm(planes)
        self.conv2 = conv3x3(planes, planes)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = make_shortcut(shortcut, in_planes, planes, stride, norm=None)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), the residual branch."""
        out = self.conv1(F.relu(self.bn1(x)))
        return self.conv2(self.dropout(F.relu(self.bn2(out))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.shortcut is not None:  # None: the plain block, F(x) alone
            out = out + self.shortcut(x)  # the skip connection
        return out

    def last_layer_of_branch(self) -> nn.Module:
        """The layer to zero so that F(x) = 0 and the block starts as the identity."""
        return self.conv2


class PreActBottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 bottleneck, pre-activation (He et al. 2016): F(x) + shortcut(x), no ReLU after.

    F(x) = conv3(relu(bn3(conv2(relu(bn2(conv1(relu(bn1(x))))))))); the 3x3 convolution carries the stride.
    """

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut="A", dropout=0.0, norm=nn.BatchNorm2d):
        super().__init__()
        self.stride = stride  # 2 where the block halves the resolution (as in torchvision)
        out_planes = planes * self.expansion
        self.bn1 = norm(in_planes)
        self.conv1 = conv1x1(in_planes, planes)
        self.bn2 = norm(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn3 = norm(planes)
        self.conv3 = conv1x1(planes, out_planes)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = make_shortcut(shortcut, in_planes, out_planes, stride, norm=None)

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        """F(x), the residual branch."""
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return self.conv3(self.dropout(F.relu(self.bn3(out))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(x)
        if self.shortcut is not None:  # None: the plain block, F(x) alone
            out = out + self.shortcut(x)  # the skip connection
        return out

    def last_layer_of_branch(self) -> nn.Module:
        """The layer to zero so that F(x) = 0 and the block starts as the identity."""
        return self.conv3


BLOCK_CLASSES = {  # (block, preact): the block class CifarResNet stacks
    ("basic", False): BasicBlock,
    ("bottleneck", False): Bottleneck,
    ("basic", True): PreActBlock,
    ("bottleneck", True): PreActBottleneck,
}


def blocks_per_stage(depth: int, block: str = "basic") -> int:
    """n in depth = 6n+2 (basic) or 9n+2 (bottleneck); ValueError if the depth has no such n."""
    if block not in BLOCKS:
        raise ValueError(f"block={block!r} is not known: use one of {BLOCKS}")
    layers_per_block = 2 if block == "basic" else 3
    per_stage = 3 * layers_per_block  # three stages
    if not isinstance(depth, int) or depth < per_stage + 2 or (depth - 2) % per_stage:
        examples = ", ".join(str(d) for d in valid_depths(block, per_stage * 5 + 2))
        raise ValueError(
            f"depth={depth!r} is not valid for block={block!r}: CIFAR nets need depth = "
            f"{per_stage}n+2 with n >= 1 ({examples}, ...)"
        )
    return (depth - 2) // per_stage


def valid_depths(block: str = "basic", max_depth: int = 110) -> list[int]:
    """All depths up to max_depth that a CIFAR net with this block can have: 8, 14, 20, ... for basic."""
    per_stage = 6 if block == "basic" else 9
    return list(range(per_stage + 2, max_depth + 1, per_stage))


class CifarResNet(nn.Module):
    """The CIFAR family of He et al. 2015, Section 4.2; a plain net when shortcut=None.

    depth: 6n+2 (basic) or 9n+2 (bottleneck). width: channels of the stem and of the first stage
    (16 in the paper). widen_factor: k of WRN-n-k, multiplies the stage widths (not the stem).
    zero_init_residual: zero the last layer of every branch, so each block starts as the identity.
    batch_norm=False replaces every BN layer by the identity (to see what BN changes).
    """

    def __init__(
        self,
        depth: int,
        block: str = "basic",
        shortcut: str | None = "A",
        preact: bool = False,
        width: int = 16,
        widen_factor: int = 1,
        dropout: float = 0.0,
        in_channels: int = 3,
        num_classes: int = 10,
        zero_init_residual: bool = False,
        batch_norm: bool = True,
    ):
        super().__init__()
        n = blocks_per_stage(depth, block)
        check_shortcut(shortcut)
        for name, value in [
            ("width", width),
            ("widen_factor", widen_factor),
            ("in_channels", in_channels),
            ("num_classes", num_classes),
        ]:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid: it must be a positive integer")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r} is not valid: it must be in [0, 1)")
        if zero_init_residual and shortcut is None:
            raise ValueError(
                "zero_init_residual=True needs shortcuts: a plain net (shortcut=None) "
                "with zeroed branches would output zeros"
            )

        self.depth, self.block, self.shortcut, self.preact = depth, block, shortcut, preact
        self.width, self.widen_factor = width, widen_factor
        Block = BLOCK_CLASSES[block, bool(preact)]
        norm = nn.BatchNorm2d if batch_norm else nn.Identity

        self.conv1 = conv3x3(in_channels, width)
        self.bn1 = nn.Identity() if preact else norm(width)  # pre-act blocks bring their own
        stages, in_planes = [], width
        for i, planes in enumerate(width * widen_factor * 2**i for i in range(3)):
            blocks = []
            for j in range(n):
                stride = 2 if i > 0 and j == 0 else 1  # downsample at the start of stages 2 and 3
                blocks.append(Block(in_planes, planes, stride, shortcut, dropout, norm))
                in_planes = planes * Block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        # A pre-activation net ends with the BN + ReLU that its last block did not apply.
        self.bn_final = norm(in_planes) if preact else nn.Identity()
        self.fc = nn.Linear(in_planes, num_classes)

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")  # He init
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for b in self.blocks():
                nn.init.zeros_(b.last_layer_of_branch().weight)

    def blocks(self) -> list[nn.Module]:
        """All blocks, input to output."""
        return [*self.layer1, *self.layer2, *self.layer3]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The body: stem and three stages, feature maps at 1/4 of the input's size (reused in notebook 07)."""
        x = self.conv1(x)
        if not self.preact:
            x = F.relu(self.bn1(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        return F.relu(self.bn_final(x)) if self.preact else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))


def resnet(depth: int, **kwargs) -> CifarResNet:
    """ResNet-`depth` for CIFAR (option A shortcuts unless told otherwise), e.g. resnet(56)."""
    return CifarResNet(depth, **kwargs)


def plain_net(depth: int, **kwargs) -> CifarResNet:
    """The plain counterpart of resnet(depth): the same layers, no shortcuts."""
    return CifarResNet(depth, shortcut=None, **kwargs)


def wide_resnet(depth: int, widen_factor: int, dropout: float = 0.0, **kwargs) -> CifarResNet:
    """WRN-depth-k (Zagoruyko & Komodakis 2016): pre-activation basic blocks, 1x1 projection shortcuts.

    The WRN paper writes the depth of a net with N blocks per stage as n = 6N + 4.
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise ValueError(
            f"depth={depth!r} is not valid for a WideResNet: WRN-n-k needs (n - 4) % 6 == 0 "
            "with n >= 10 (10, 16, 22, 28, 40, ...)"
        )
    kwargs.setdefault("shortcut", "B")
    kwargs.setdefault("preact", True)
    # N = (depth - 4) / 6 blocks per stage is the same net as a basic-block depth of 6N + 2.
    net = CifarResNet(depth - 2, block="basic", widen_factor=widen_factor, dropout=dropout, **kwargs)
    net.depth = depth
    return net


class MLPBlock(nn.Module):
    """A Transformer's feed-forward sublayer, pre-LN: LayerNorm, Linear (4x wider), GELU, Linear.

    residual=True: x + F(LN(x)), the pre-activation residual unit of notebook 02 with LayerNorm for BN,
    the "residual stream" of pre-LN Transformers. residual=False: F(LN(x)) alone, the plain version.
    """

    def __init__(self, width: int, residual: bool = True):
        super().__init__()
        self.residual = residual
        self.norm = nn.LayerNorm(width)
        self.branch = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branch(self.norm(x))
        return x + out if self.residual else out


class StreamMLP(nn.Module):
    """Images flattened, a linear embedding, `depth` MLPBlocks, a final LayerNorm and a linear classifier."""

    def __init__(
        self, depth: int, width: int = 64, residual: bool = True, in_features: int = 256, num_classes: int = 10
    ):
        super().__init__()
        for name, value in [
            ("depth", depth),
            ("width", width),
            ("in_features", in_features),
            ("num_classes", num_classes),
        ]:
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is not valid: it must be a positive integer")
        self.embed = nn.Linear(in_features, width)
        self.blocks = nn.Sequential(*(MLPBlock(width, residual) for _ in range(depth)))
        self.norm = nn.LayerNorm(width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.norm(self.blocks(self.embed(x.flatten(1)))))
