"""Learning the identity (resnet_lab.identity)."""

import pytest
import torch

from resnet_lab.identity import CopyStack, learn_identity


def test_with_zeroed_layers_the_residual_stack_reduces_to_its_two_outer_convs_and_the_plain_one_does_not():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 8, 8)
    for residual in (True, False):
        stack = CopyStack(3, width=4, residual=residual)
        with torch.no_grad():
            for layer in stack.layers:
                layer[-1].weight.zero_()
        outer = stack.out(stack.embed(x))
        assert torch.equal(stack(x), outer) == residual  # the plain stack outputs out(0) instead


def test_learning_the_identity_lowers_the_reconstruction_error():
    torch.manual_seed(0)
    images = torch.randn(256, 1, 8, 8)
    losses = learn_identity(CopyStack(2, width=4, residual=True), images, steps=60, batch_size=32)
    assert len(losses) == 60 and sum(losses[-10:]) < 0.5 * sum(losses[:10])


def test_a_stack_needs_a_positive_number_of_layers():
    with pytest.raises(ValueError, match="k=0"):
        CopyStack(0)


def test_the_gradient_is_clipped_to_max_grad_norm():
    torch.manual_seed(0)
    images = torch.randn(256, 1, 8, 8)
    stack = CopyStack(2, width=4)
    before = [p.detach().clone() for p in stack.parameters()]
    learn_identity(stack, images, steps=5, batch_size=32, lr=1.0, max_grad_norm=1e-3)
    moved = sum((p.detach() - b).norm() ** 2 for p, b in zip(stack.parameters(), before)).sqrt()
    # momentum 0.9: after 5 steps of at most lr * 1e-3 each, accumulated at most 1 + 1.9 + 2.71 + 3.44 + 4.1 times
    assert 0 < moved <= 1.0 * 1e-3 * 14


def test_copy_error_is_reproducible_from_its_seed_and_differs_between_seeds():
    from resnet_lab.identity import copy_error

    torch.manual_seed(0)
    images = torch.randn(128, 1, 8, 8)
    first = copy_error(2, residual=False, images=images, seed=0, steps=20)
    assert first == copy_error(2, residual=False, images=images, seed=0, steps=20)
    assert first != copy_error(2, residual=False, images=images, seed=1, steps=20)
    assert 0 < first < 2


def test_a_copy_that_diverges_counts_as_infinitely_bad_and_no_clip_means_none():
    from resnet_lab.identity import copy_error

    torch.manual_seed(0)
    images = torch.randn(128, 1, 8, 8)
    assert copy_error(4, residual=True, images=images, steps=20, lr=10.0, max_grad_norm=None) == float("inf")
    assert copy_error(4, residual=True, images=images, steps=20, lr=10.0, max_grad_norm=1e-3) < float("inf")
