"""What the notebooks measure inside a network. Every probe returns a `PerLayer`: names and values.

    gradient_norms   per-layer gradient norms after one backward pass: of each convolution's
                     weights (wrt="weights"), or of the loss with respect to each block's output
                     (wrt="activations").
    similarity_kept  per block: do inputs that look alike still look alike to the net?
    residual_ratio   per block: ||F(x)|| / ||shortcut(x)||, how far each branch is from zero.
    scale_shortcuts  every shortcut times λ (He et al. 2016, Eq. 8), by wrapping it in a ScaledShortcut.
    lesion           one block deleted (Veit et al. 2016): a parameter-free module stands in for it.
    lesion_accuracy  accuracy with one block deleted, block by block.
    ProbeLog         a training callback that logs a probe every few steps (GradientRatioLog: gradient_norms'
                     first/last-quarter ratio).
    draw_graph       the autograd graph of a forward pass (torchviz), or a clear message when
                     Graphviz's `dot` program is missing.

Probes leave the model as they found it: BN running statistics, train/eval mode, no stored grads
(scale_shortcuts alone changes it, on purpose; a lesion puts its block back when the `with` ends).
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchviz import make_dot

from .models import CifarResNet, ZeroPadShortcut
from .train import evaluate, uses_channels_last

TORCHVIZ_NODE_ID = re.compile(r"\b\d{6,}\b")  # torchviz names graph nodes by Python id(): long numbers


@dataclass
class PerLayer:
    """One measured value per layer (or block), input to output, with the layers' names."""

    names: list[str]
    values: list[float]

    def __len__(self) -> int:
        return len(self.values)

    def first_over_last(self) -> float:
        """The first layer's value over the last one's."""
        return self.values[0] / self.values[-1]

    def quarter_ratio(self) -> float:
        """Mean of the first quarter of the layers over the mean of the last quarter."""
        q = len(self.values) // 4
        return sum(self.values[:q]) / sum(self.values[-q:])


@contextmanager
def _untouched(model: nn.Module):
    """Run a probe, then restore the model's buffers (BN statistics), mode and gradients."""
    buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
    was_training = model.training
    try:
        yield
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(buffers[name])
        model.train(was_training)
        model.zero_grad(set_to_none=True)


def _on_model_device(model: nn.Module, *tensors: torch.Tensor):
    """The tensors on the device of the model's parameters (a model trained on a GPU stays there), images in
    the model's memory format (a model `fit` trained in channels_last stays in it)."""
    weight = next(model.parameters())
    moved = [t.to(weight.device) for t in tensors]
    if uses_channels_last(model):
        moved = [t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t for t in moved]
    return moved


@contextmanager
def _recording(modules, what: str = "output"):
    """Inside the `with`, every forward pass appends each module's input or output to the yielded list."""
    seen: list[torch.Tensor] = []
    if what == "input":
        hooks = [m.register_forward_pre_hook(lambda m, args: seen.append(args[0])) for m in modules]
    else:
        hooks = [m.register_forward_hook(lambda m, args, out: seen.append(out)) for m in modules]
    try:
        yield seen
    finally:
        for h in hooks:
            h.remove()


def _block_names(model: nn.Module) -> list[str]:
    blocks = model.blocks()
    return [name for name, m in model.named_modules() if any(m is b for b in blocks)]


def _convolutions(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    """The convolutions of the main path, input to output (shortcut projections left out)."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d) and "shortcut" not in name]


def gradient_norms(
    model: CifarResNet, images: torch.Tensor, labels: torch.Tensor, wrt: str = "weights", train_mode: bool = True
) -> PerLayer:
    """Gradient norms after one forward/backward pass of cross-entropy on (images, labels).

    wrt="weights": ||dLoss/dW|| of each convolution of the main path; wrt="activations": ||dLoss/dx||
    for each block's output x. train_mode=True measures what SGD sees (BN uses batch statistics).
    """
    if wrt not in ("weights", "activations"):
        raise ValueError(f"wrt={wrt!r} is not valid: use 'weights' or 'activations'")
    images, labels = _on_model_device(model, images, labels)
    with _untouched(model), _recording(model.blocks()) as block_outputs:
        model.train(train_mode)
        model.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(images), labels)
        if wrt == "activations":
            grads = torch.autograd.grad(loss, block_outputs)
            return PerLayer(_block_names(model), [g.norm().item() for g in grads])
        loss.backward()
        convs = _convolutions(model)
        return PerLayer([name for name, _ in convs], [m.weight.grad.norm().item() for _, m in convs])


def _pairwise_similarity(features: torch.Tensor) -> torch.Tensor:
    """Correlation of every pair of rows of (N, ...) `features`, off-diagonal entries only."""
    f = features.flatten(1).float()
    f = F.normalize(f - f.mean(dim=1, keepdim=True), dim=1)
    sim = f @ f.T
    return sim[~torch.eye(len(f), dtype=torch.bool, device=f.device)]


@torch.no_grad()
def similarity_kept(model: CifarResNet, images: torch.Tensor, train_mode: bool = True) -> PerLayer:
    """For each block: how well the similarities between the inputs survive up to its output.

    Take every pair of images; measure how alike they are (correlation of pixels) and how alike
    their representations are after block k. The value for block k is the correlation between
    those two lists: near 1, the net still sees which inputs resemble which; near 0, that is
    scrambled. train_mode=True uses batch statistics in BN, as during training.
    """
    (images,) = _on_model_device(model, images)
    with _untouched(model), _recording(model.blocks()) as outputs:
        model.train(train_mode)
        model(images)
    inputs = _pairwise_similarity(images)
    kept = [torch.corrcoef(torch.stack([inputs, _pairwise_similarity(out)]))[0, 1].item() for out in outputs]
    return PerLayer(_block_names(model), kept)


@torch.no_grad()
def residual_ratio(model: CifarResNet, images: torch.Tensor) -> PerLayer:
    """For each block, ||F(x)|| / ||shortcut(x)|| on `images`, in eval mode.

    0 means the block is the identity; a residual net learns small corrections when the ratio
    stays well below 1. (For a plain net there is no shortcut: the ratio is against x itself.)
    """
    (images,) = _on_model_device(model, images)
    blocks = model.blocks()
    with _untouched(model):
        model.eval()
        with _recording(blocks, "input") as inputs:
            model(images)
        ratios = []
        for block, x in zip(blocks, inputs):
            skip = block.shortcut(x) if block.shortcut is not None else x
            ratios.append((block.branch(x).norm() / skip.norm()).item())
    return PerLayer(_block_names(model), ratios)


class ScaledShortcut(nn.Module):
    """λ · shortcut(x): a shortcut scaled by λ, the h(x) = λx of He et al. 2016, Eq. 8."""

    def __init__(self, shortcut: nn.Module, scale: float):
        super().__init__()
        self.shortcut, self.scale = shortcut, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * self.shortcut(x)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"


def scale_shortcuts(model: CifarResNet, scale: float) -> CifarResNet:
    """Multiply every shortcut of `model` by `scale` (λ of He et al. 2016, Eq. 8), in place; returns `model`.

    Each block's shortcut is wrapped in a ScaledShortcut (a shortcut already scaled gets the new λ instead).
    """
    if not isinstance(scale, (int, float)):
        raise ValueError(f"scale={scale!r} is not valid: it must be a number (λ, 1 = the plain identity)")
    residual = [b for b in model.blocks() if b.shortcut is not None]
    if not residual:
        raise ValueError("model has no shortcuts to scale: it is a plain net (shortcut=None)")
    for block in residual:
        inner = block.shortcut.shortcut if isinstance(block.shortcut, ScaledShortcut) else block.shortcut
        block.shortcut = ScaledShortcut(inner, scale)
    return model


@contextmanager
def lesion(model: CifarResNet, index: int):
    """Delete block `index`: inside the `with`, a parameter-free module stands in its place.

    That module is option A's path (the identity; where the block changes the shape, subsample and
    zero-pad), so the same lesion works for plain and residual nets. Post-activation blocks receive
    non-negative inputs, so skipping their final ReLU changes nothing. The block comes back afterwards.
    """
    name = _block_names(model)[index]  # e.g. "layer2.0": block 0 of the nn.Sequential `layer2`
    stage_name, _, position = name.rpartition(".")
    stage, block = model.get_submodule(stage_name), model.get_submodule(name)
    stage[int(position)] = _option_a_path(block)
    try:
        yield
    finally:
        stage[int(position)] = block


def _option_a_path(block: nn.Module) -> ZeroPadShortcut:
    """The parameter-free path from `block`'s input to an output of its shape, read off its convolutions."""
    convs = [m for name, m in block.named_modules() if isinstance(m, nn.Conv2d) and "shortcut" not in name]
    stride = math.prod(conv.stride[0] for conv in convs)
    return ZeroPadShortcut(convs[0].in_channels, convs[-1].out_channels, stride)


def lesion_accuracy(model: CifarResNet, images: torch.Tensor, labels: torch.Tensor) -> PerLayer:
    """Test accuracy with each single block deleted in turn (Veit et al. 2016, Fig. 3)."""
    accuracies = []
    for index in range(len(model.blocks())):
        with lesion(model, index):
            accuracies.append(evaluate(model, images, labels)[1])
    return PerLayer(_block_names(model), accuracies)


def graphviz_available() -> bool:
    """Whether Graphviz's `dot` program, which draws the graphs, is installed."""
    return shutil.which("dot") is not None


def draw_graph(model: nn.Module, input_size: tuple[int, ...] = (3, 32, 32)):
    """The autograd graph of one forward pass, as a graphviz.Digraph (Jupyter shows it as SVG).

    Node names are renumbered in order of appearance, so the same model draws the same picture
    every time. Returns None, after saying how to install Graphviz, when `dot` is missing.
    """
    if not graphviz_available():
        print(
            "Graphviz's `dot` program is not installed, so the graph cannot be drawn. "
            "Install it with `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
            "(macOS) or `conda install graphviz`. Meanwhile, here are the modules in order:\n"
        )
        print(model)
        return None
    parameter = next(model.parameters())
    # The input needs a gradient too, or autograd (and so the picture) would not show the skip path.
    x = torch.zeros(1, *input_size, device=parameter.device, requires_grad=True)
    with _untouched(model):
        model.eval()
        graph = make_dot(model(x), params={"input x": x, **dict(model.named_parameters())})
    # torchviz names nodes by Python object id; replace those with 1, 2, 3, ...
    ids: dict[str, str] = {}
    rename = lambda match: ids.setdefault(match.group(0), f"n{len(ids) + 1}")  # noqa: E731
    graph.body = [TORCHVIZ_NODE_ID.sub(rename, line) for line in graph.body]
    return graph


class ProbeLog:
    """A `fit` callback: `probe()` (a number) before training, after step 1 and every `every` steps.

    `values` maps step -> value, from step 0 (measured when the log is made, before training) on.
    """

    def __init__(self, probe: Callable[[], float], every: int):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every={every!r} is not valid: it must be a positive integer (steps)")
        self.probe, self.every = probe, every
        self.values: dict[int, float] = {0: probe()}

    def __call__(self, history) -> None:
        step = history.steps[-1] if history.steps else 0
        if not history.stop_reason and (step == 1 or step % self.every == 0):
            self.values[step] = self.probe()

    def first_step_below(self, threshold: float, default: int | None = None) -> int | None:
        """The first logged step whose value is under `threshold`, or `default` if none is."""
        return next((step for step, value in self.values.items() if value < threshold), default)


class GradientRatioLog(ProbeLog):
    """A ProbeLog of `gradient_norms(model, images, labels).quarter_ratio()` on a fixed batch: `ratios` maps
    step -> first-quarter / last-quarter weight-gradient norm, so a notebook can show when a plain net's initial
    gradient explosion ends (notebook 03)."""

    def __init__(self, model: CifarResNet, images: torch.Tensor, labels: torch.Tensor, every: int):
        super().__init__(lambda: gradient_norms(model, images, labels).quarter_ratio(), every)

    @property
    def ratios(self) -> dict[int, float]:
        return self.values
