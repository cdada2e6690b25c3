"""The exercise checkers: each passes the reference answer and says exactly what is wrong with a wrong one."""

import pytest
import torch

from resnet_lab.course import solutions
from resnet_lab.course.check import check_basic_block, check_count_layers, check_dz_dx


def test_count_layers_checker_passes_the_solution_and_explains_mistakes(capsys):
    assert check_count_layers(solutions.count_layers)
    assert "✓" in capsys.readouterr().out

    def unfinished(model):
        raise NotImplementedError

    assert not check_count_layers(unfinished)
    assert "not written yet" in capsys.readouterr().out
    import torch

    counts_projections = lambda m: sum(isinstance(x, (torch.nn.Conv2d, torch.nn.Linear)) for x in m.modules())  # noqa: E731
    assert not check_count_layers(counts_projections)
    out = capsys.readouterr().out
    assert "resnet(32, shortcut='B')" in out and "34" in out and "shortcut projections" in out


@pytest.mark.parametrize("wrong", [lambda m: 0, lambda m: "20"])
def test_count_layers_checker_rejects_wrong_answers(wrong, capsys):
    assert not check_count_layers(wrong)
    assert "✗" in capsys.readouterr().out


def test_basic_block_checker_passes_the_solution_and_pinpoints_mistakes(capsys):
    import torch.nn.functional as F

    assert check_basic_block(solutions.BasicBlockAnswer)
    assert "✓" in capsys.readouterr().out

    class ReluBeforeAddition(solutions.BasicBlockAnswer):
        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            return F.relu(self.bn2(self.conv2(out))) + self.shortcut(x)

    class NoPadding(solutions.BasicBlockAnswer):
        def shortcut(self, x):
            return x[:, :, :: self.stride, :: self.stride]

    class Unfinished(solutions.BasicBlockAnswer):
        def forward(self, x):
            raise NotImplementedError

    for block, message in [
        (ReluBeforeAddition, "after the addition"),
        (NoPadding, "raised RuntimeError"),
        (Unfinished, "not written yet"),
    ]:
        assert not check_basic_block(block)
        assert message in capsys.readouterr().out


def test_dz_dx_checker_compares_with_autograd(capsys):
    import math

    assert check_dz_dx(solutions.dz_dx)
    assert not check_dz_dx(lambda x, a1, a2: (1 + a1 * (1 - math.tanh(x) ** 2)) * (1 + a2 * (1 - math.tanh(x) ** 2)))
    assert "uses y, not x" in capsys.readouterr().out


def test_bottleneck_and_wrn_checkers_pass_the_solutions_and_catch_mistakes(capsys):
    from resnet_lab.course.check import check_bottleneck, check_wrn_params

    assert check_bottleneck(solutions.BottleneckAnswer) and check_wrn_params(solutions.wrn_params)

    class Expansion2(solutions.BottleneckAnswer):
        expansion = 2

    class StrideOnFirst1x1(solutions.BottleneckAnswer):
        def __init__(self, in_planes, planes, stride=1):
            super().__init__(in_planes, planes, stride)
            self.conv1.stride, self.conv2.stride = (stride, stride), (1, 1)

    assert not check_bottleneck(Expansion2)
    assert not check_bottleneck(StrideOnFirst1x1)
    assert not check_wrn_params(lambda n, k, num_classes=10: solutions.wrn_params(n, k, num_classes) - num_classes)
    out = capsys.readouterr().out
    assert "expansion must be 4" in out and "stride on the 3x3" in out and "fc bias" in out


def test_both_block_checkers_name_the_layers_a_learner_misnamed(capsys):
    from torch import nn

    class RenamedBasic(solutions.BasicBlockAnswer):
        def __init__(self, *args):
            super().__init__(*args)
            self.norm1 = self.bn1
            del self.bn1

        def forward(self, x):
            return nn.functional.relu(
                self.bn2(self.conv2(nn.functional.relu(self.norm1(self.conv1(x))))) + self.shortcut(x)
            )

    class RenamedBottleneck(solutions.BottleneckAnswer):
        def __init__(self, *args):
            super().__init__(*args)
            self.last = self.conv3
            del self.conv3

    assert not check_basic_block(RenamedBasic)
    out = capsys.readouterr().out
    assert "the layer names differ from conv1, bn1, conv2, bn2" in out and "norm1" in out and "Traceback" not in out
    from resnet_lab.course.check import check_bottleneck

    assert not check_bottleneck(RenamedBottleneck)
    assert "the layer names differ from conv1, bn1, conv2, bn2, conv3, bn3, shortcut" in capsys.readouterr().out


def test_make_stage_checker_passes_the_answer_and_catches_a_misplaced_stride(capsys):
    from resnet_lab.course.check import check_make_stage
    from resnet_lab.imagenet import make_stage

    assert check_make_stage(make_stage)
    capsys.readouterr()

    def stride_everywhere(block, in_planes, planes, blocks, stride):
        layers = [block(in_planes, planes, stride, shortcut="B")]
        layers += [block(planes * block.expansion, planes, stride, shortcut="B") for _ in range(blocks - 1)]
        return torch.nn.Sequential(*layers)

    def not_written(*args):
        raise NotImplementedError

    assert not check_make_stage(stride_everywhere)
    assert "✗ make_stage(BasicBlock, 64, 128, 2, 2) has" in capsys.readouterr().out  # an extra projection
    assert not check_make_stage(not_written)
    assert "not written yet" in capsys.readouterr().out


def test_normalise_filters_checker_accepts_the_definition_and_names_each_mistake(capsys):
    from resnet_lab.course.check import check_normalise_filters
    from resnet_lab.landscape import normalise_filters

    assert check_normalise_filters(normalise_filters)
    assert "is right" in capsys.readouterr().out

    def not_written(d, w):
        raise NotImplementedError

    def whole_tensor(d, w):  # normalises the whole tensor instead of each filter
        return d * w.norm() / d.norm()

    def in_place(d, w):
        return d.mul_(
            w.flatten(1).norm(dim=1).view(-1, *([1] * (w.dim() - 1)))
            / d.flatten(1).norm(dim=1).view(-1, *([1] * (w.dim() - 1)))
        )

    def unit_filters(d, w):  # forgets the weight's norm
        return d / d.flatten(1).norm(dim=1).view(-1, *([1] * (w.dim() - 1)))

    expected = [
        (not_written, "not written yet"),
        (whole_tensor, "should have the norm"),
        (in_place, "in place"),
        (unit_filters, "should have the norm"),
    ]
    for mistake, message in expected:
        assert not check_normalise_filters(mistake)
        assert message in capsys.readouterr().out


def _raising(error):
    def learner(*args, **kwargs):
        raise error

    return learner


def _block_raising(error):
    class Block(torch.nn.Module):
        expansion = 4

        def __init__(self, *args):
            raise error

    return Block


@pytest.mark.parametrize(
    "checker,make",
    [
        ("check_count_layers", _raising),
        ("check_basic_block", _block_raising),
        ("check_dz_dx", _raising),
        ("check_bottleneck", _block_raising),
        ("check_wrn_params", _raising),
        ("check_make_stage", _raising),
        ("check_normalise_filters", _raising),
    ],
)
def test_every_checker_says_not_written_yet_or_names_the_learners_error_without_a_traceback(checker, make, capsys):
    from resnet_lab.course import check

    assert getattr(check, checker)(make(NotImplementedError("fill me in"))) is False
    out = capsys.readouterr().out
    assert out.startswith("… ") and "is not written yet." in out and "✗" not in out
    assert getattr(check, checker)(make(ZeroDivisionError("oops"))) is False
    out = capsys.readouterr().out
    assert "raised ZeroDivisionError: oops" in out and "Hint: " in out
