"""The optimisation recipe: the papers' values, its schedules, and the errors it gives before any training."""

import dataclasses

import pytest

from resnet_lab.recipe import HE2015_CIFAR, WRN2016, Recipe


def test_wrn_recipe_multiplies_lr_by_0_2_at_epochs_60_120_160_of_200():
    # Zagoruyko & Komodakis 2016, Section 4: lr 0.1, x0.2 at epochs 60, 120 and 160; 391 mini-batches of 128 an epoch.
    epoch = 391
    lrs = [WRN2016.lr_at(e * epoch) for e in (0, 59, 60, 119, 120, 159, 160, 199)]
    assert lrs == pytest.approx([0.1, 0.1, 0.02, 0.02, 0.004, 0.004, 0.0008, 0.0008])
    assert WRN2016.steps == 200 * epoch and WRN2016.nesterov and WRN2016.weight_decay == 5e-4


def test_scaled_keeps_the_schedule_s_fractions_and_shrinks_the_warm_up():
    short = dataclasses.replace(HE2015_CIFAR, warmup_steps=400).scaled(640)  # 1/100 of 64k
    assert short.steps == 640 and short.warmup_steps == 4 and short.milestones == HE2015_CIFAR.milestones
    assert [short.lr_at(s) for s in (3, 4, 319, 320, 480)] == pytest.approx([0.01, 0.1, 0.1, 0.01, 0.001])
    assert dataclasses.replace(short, steps=64_000, warmup_steps=0) == HE2015_CIFAR


def test_cosine_schedule_falls_along_half_a_cosine_to_zero():
    cosine = dataclasses.replace(HE2015_CIFAR, schedule="cosine", milestones=(), steps=100)
    assert [cosine.lr_at(s) for s in (0, 25, 50, 75, 100)] == pytest.approx([0.1, 0.0854, 0.05, 0.0146, 0.0], abs=1e-4)
    timed = cosine.within(10.0)  # in seconds: the same curve over the time
    assert [timed.lr_at(1_000, seconds) for seconds in (0.0, 5.0, 10.0)] == pytest.approx([0.1, 0.05, 0.0], abs=1e-9)


def test_a_recipe_prints_as_the_paper_states_it():
    assert str(HE2015_CIFAR).splitlines() == [
        "Recipe: 64,000 steps on batches of 128",
        "  SGD: lr 0.1, momentum 0.9, weight decay 0.0001",
        "  schedule: lr x0.1 at 50% and 75% of the steps",
    ]
    assert "Nesterov momentum 0.9" in str(WRN2016) and "x0.2 at 30%, 60% and 80% of the steps" in str(WRN2016)
    extras = dataclasses.replace(
        HE2015_CIFAR, warmup_steps=400, label_smoothing=0.1, grad_clip=5.0, milestones=(0.5,)
    ).within(150)
    assert str(extras).splitlines()[0] == "Recipe: 150 seconds of training on batches of 128"
    assert str(extras).splitlines()[2:] == [
        "  schedule: lr x0.1 at 50% of the time",
        "  warm-up: 400 steps at lr 0.01",
        "  label smoothing 0.1",
        "  gradients clipped to norm 5",
    ]


def test_the_same_recipe_given_as_a_list_or_a_tuple_is_the_same_key():
    """A checkpoint is keyed on the recipe's repr: milestones=[0.5] and (0.5,) must not give two runs."""
    a = dataclasses.replace(HE2015_CIFAR, milestones=[0.5, 0.75])
    assert a == HE2015_CIFAR and repr(a) == repr(HE2015_CIFAR) and hash(a) == hash(HE2015_CIFAR)


@pytest.mark.parametrize(
    "changes,message",
    [
        (dict(steps=0), "steps=0 is not valid: it must be an integer >= 1"),
        (dict(steps=2.5), "steps=2.5 is not valid: it must be an integer >= 1"),
        (dict(steps=None), "steps=None is not valid without seconds: give the steps or the seconds of training"),
        (dict(seconds=3.0), "steps=64000 and seconds=3.0 are not valid together: give one (the other None)"),
        (dict(batch_size=0), "batch_size=0 is not valid: it must be an integer >= 1"),
        (dict(lr=0), "lr=0 is not valid: it must be positive"),
        (dict(momentum=1.0), "momentum=1.0 is not valid: it must be from 0 to below 1"),
        (dict(weight_decay=-1e-4), "weight_decay=-0.0001 is not valid: it must be >= 0"),
        (dict(nesterov=True, momentum=0), "nesterov=True is not valid with momentum=0: Nesterov needs a momentum"),
        (dict(schedule="linear"), "schedule='linear' is not valid: use one of 'step', 'cosine'"),
        (dict(milestones=(1.5,)), "milestones=(1.5,) are not valid: use fractions of training in (0, 1]"),
        (dict(schedule="cosine"), "milestones=(0.5, 0.75) are not valid with schedule='cosine': give none"),
        (dict(gamma=0), "gamma=0 is not valid: it must be in (0, 1]"),
        (dict(warmup_steps=-1), "warmup_steps=-1 is not valid: it must be an integer >= 0"),
        (dict(warmup_lr=-0.01), "warmup_lr=-0.01 is not valid: it must be positive"),
        (dict(label_smoothing=1.0), "label_smoothing=1.0 is not valid: it must be from 0 to below 1"),
        (dict(grad_clip=0.0), "grad_clip=0.0 is not valid: it must be positive"),
    ],
)
def test_a_bad_recipe_says_which_field_and_what_is_allowed(changes, message):
    with pytest.raises(ValueError) as error:
        dataclasses.replace(HE2015_CIFAR, **changes)
    assert str(error.value) == message
    with pytest.raises(ValueError, match="seconds=-1 is not valid: it must be positive"):
        Recipe(steps=None, batch_size=128, lr=0.1, momentum=0.9, weight_decay=0, seconds=-1)
