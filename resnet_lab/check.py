"""Checkers for the learner exercises. Each prints a clear pass, or exactly what is wrong.

A checker returns True on success, so a notebook can also `assert` it. An exercise that still
raises NotImplementedError is reported as "not done yet", never as a crash.
"""
from __future__ import annotations

from collections.abc import Callable

from .models import plain_net, resnet


def _not_done(name: str, hint: str) -> bool:
    print(f"… {name} is not written yet. {hint}")
    return False


def check_count_layers(count_layers: Callable) -> bool:
    """Exercise (notebook 01): count the layers with weights that the paper's depth counts."""
    hint = ("Count every nn.Conv2d and nn.Linear, but skip the 1x1 projections inside shortcuts "
            "(look for 'shortcut' in the module's name from model.named_modules()).")
    cases = [
        ("plain_net(8)", plain_net(8, width=2), 8),
        ("resnet(20)", resnet(20, width=2), 20),
        ("resnet(32, shortcut='B')", resnet(32, width=2, shortcut="B"), 32),
        ("plain_net(56)", plain_net(56, width=2), 56),
    ]
    for name, model, expected in cases:
        try:
            got = count_layers(model)
        except NotImplementedError:
            return _not_done("count_layers", hint)
        except Exception as error:
            print(f"✗ count_layers({name}) raised {type(error).__name__}: {error}")
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
