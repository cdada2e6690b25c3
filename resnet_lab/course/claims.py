"""Every claim a notebook makes about its own experiments, as one record: the sentence, what is measured, the test.

A notebook checks a claim on the learner's run with `check(claim_id, result.measures, profile)`; the seed
benchmark evaluates the same record on every recorded and held-out seed; `ledger()` writes the table of
all of them (docs/claims.md). So the prose, the notebook's check and the evidence cannot drift apart.

A claim that holds in every recorded seed of the profile is asserted on the live run (on the strict
profiles a failure stops `pytest --nbval`). One that holds in fewer is stated in the prose as "in k of n
seeds" and checked against the records only: the live check then reports, and says when this run is one
of the exceptions. Claims about time, and the controls too slow to rerun in a notebook (`live=False`), are
never asserted on a live run; a notebook shows a control's records with `check_records`.
"""

from __future__ import annotations

import math
import operator
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .profiles import PROFILES, Profile
from .records import HELD_OUT_SEEDS, RECORDED, RECORDED_SEEDS, load
from .runs import BUDGET_LEARNING_RATES, Measures, budget_label, budget_steps

TESTS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq}
LEDGER = Path(__file__).parents[2] / "docs" / "claims.md"


@dataclass(frozen=True)
class Claim:
    """One sentence of a notebook, the number that decides it, and the test that number must pass."""

    id: str
    sentence: str
    experiment: str  # the `runs` experiment whose measures it reads (its name in the records)
    metric: str  # what `value` computes, in words
    value: Callable[[Measures, Profile], float]
    test: str  # "> 0.3": an operator of TESTS and a bound
    live: bool = True  # False: depends on wall-clock time, so never asserted on a live run

    @property
    def notebook(self) -> str:
        return self.id[:2]

    def said(self, profile: Profile) -> str:
        """The sentence, with the profile's depths."""
        return self.sentence.format(deep=profile.deep_depth, shallow=profile.shallow_depth)

    def measured(self, profile: Profile) -> str:
        """The metric in words, with the profile's depths: "plain-56 minus plain-20, final training loss"."""
        return self.metric.format(deep=profile.deep_depth, shallow=profile.shallow_depth)

    def holds(self, value: float) -> bool:
        op, bound = self.test.split()
        return not math.isnan(value) and TESTS[op](value, float(bound))


def loss(m: Measures, label: str) -> float:
    return m[label]["final training loss"]


def train_err(m: Measures, label: str) -> float:
    return m[label]["training error %"]


def test_err(m: Measures, label: str) -> float:
    return m[label]["test error %"]


def deep(kind: str, p: Profile) -> str:
    return f"{kind}-{p.deep_depth}"


def shallow(kind: str, p: Profile) -> str:
    return f"{kind}-{p.shallow_depth}"


def _smallest_gain(m: Measures) -> float:
    """The smallest factor by which the plain stack's copy error exceeds the residual stack's, over k."""
    return min(p / r for p, r in zip(m["plain stack"].values(), m["residual stack"].values()))


def _smallest_growth(m: Measures) -> float:
    """The smallest factor by which the plain stack's copy error grows from one k to the next."""
    errors = list(m["plain stack"].values())
    return min(b / a for a, b in zip(errors, errors[1:]))


def budget_run(m: Measures, kind: str, p: Profile, budget: int, lr: float) -> dict[str, float]:
    """`degradation_budget`'s run of the profile's deep (kind "plain" or "res") or shallow ("plain-shallow") net:
    budget 0 is the shortest, -1 the longest."""
    net = shallow("plain", p) if kind == "plain-shallow" else deep(kind, p)
    return m[budget_label(net, budget_steps(p)[budget], lr)]


def _plain_gap(m: Measures, p: Profile, budget: int, lr: float, metric: str = "final training loss") -> float:
    return budget_run(m, "plain", p, budget, lr)[metric] - budget_run(m, "plain-shallow", p, budget, lr)[metric]


def _largest_gap_ratio(m: Measures, p: Profile) -> float:
    """The largest factor by which the plain pair's gap in final training loss changes from one budget to the next
    longer one, at lr 0.1 (below 1: it shrinks with every longer budget)."""
    gaps = [_plain_gap(m, p, b, 0.1) for b in range(len(budget_steps(p)))]
    return max(b / a for a, b in zip(gaps, gaps[1:]))


def _smallest_plain_over_res(m: Measures, p: Profile) -> float:
    """The smallest plain-deep / res-deep final training loss over every budget and learning rate."""
    return min(
        budget_run(m, "plain", p, b, lr)["final training loss"] / budget_run(m, "res", p, b, lr)["final training loss"]
        for b in range(len(budget_steps(p)))
        for lr in BUDGET_LEARNING_RATES
    )


CHANCE_LOSS = math.log(10)  # cross-entropy of a uniform guess over 10 classes

# fmt: off
CLAIMS = [
    # 01 · the degradation problem
    Claim("01-plain-deep-higher-loss", "the deeper plain net ends with a clearly higher training loss", "degradation",
          "plain-{deep} minus plain-{shallow}, final training loss",
          lambda m, p: loss(m, deep("plain", p)) - loss(m, shallow("plain", p)), "> 0.3"),
    Claim("01-plain-deep-higher-training-error", "it misclassifies far more of its training images (10 points or more)",
          "degradation", "plain-{deep} minus plain-{shallow}, training error (points)",
          lambda m, p: train_err(m, deep("plain", p)) - train_err(m, shallow("plain", p)), "> 10"),
    Claim("01-plain-deep-higher-test-error", "and far more of its test images (10 points or more)", "degradation",
          "plain-{deep} minus plain-{shallow}, test error (points)",
          lambda m, p: test_err(m, deep("plain", p)) - test_err(m, shallow("plain", p)), "> 10"),
    Claim("01-res-deep-fits-as-well", "with shortcuts, the deep net fits its training set as well as the shallow one "
          "(training error within 0.25 points)", "degradation", "res-{deep} minus res-{shallow}, training error (points)",
          lambda m, p: train_err(m, deep("res", p)) - train_err(m, shallow("res", p)), "< 0.25"),
    Claim("01-res-losses-near-zero", "both residual nets end with a training loss below 0.05", "degradation",
          "the larger final training loss of res-{shallow} and res-{deep}",
          lambda m, p: max(loss(m, shallow("res", p)), loss(m, deep("res", p))), "< 0.05"),
    Claim("01-res-far-below-plain", "and the deep residual net's loss is over ten times lower than its plain twin's",
          "degradation", "plain-{deep} / res-{deep}, final training loss",
          lambda m, p: loss(m, deep("plain", p)) / loss(m, deep("res", p)), "> 10"),
    Claim("01-res-deep-higher-test-error", "the deep residual net's test error is higher than res-{shallow}'s (by more "
          "than a point)", "degradation", "res-{deep} minus res-{shallow}, test error (points)",
          lambda m, p: test_err(m, deep("res", p)) - test_err(m, shallow("res", p)), "> 1"),
    Claim("01-plain-gap-shrinks-with-budget", "at lr 0.1 the plain pair's gap in training loss shrinks with every "
          "longer budget (to a fifth or less)", "degradation budget", "largest ratio of the plain-{deep} minus "
          "plain-{shallow} final training loss from one budget to the next longer one, lr 0.1",
          _largest_gap_ratio, "< 0.2", live=False),
    Claim("01-plain-deep-fits-given-longer", "given the longest budget, plain-{deep} fits its training set as well as "
          "plain-{shallow} (training error within 0.25 points)", "degradation budget", "plain-{deep} minus "
          "plain-{shallow}, training error (points), longest budget, lr 0.1",
          lambda m, p: _plain_gap(m, p, -1, 0.1, "training error %"), "< 0.25", live=False),
    Claim("01-plain-deep-loss-still-higher", "though its training loss stays higher (over five times plain-{shallow}'s)",
          "degradation budget", "plain-{deep} / plain-{shallow}, final training loss, longest budget, lr 0.1",
          lambda m, p: budget_run(m, "plain", p, -1, 0.1)["final training loss"]
          / budget_run(m, "plain-shallow", p, -1, 0.1)["final training loss"], "> 5", live=False),
    Claim("01-small-lr-keeps-gap", "a ten times smaller learning rate does not remove the gap: at lr 0.01, on the "
          "notebook's budget, plain-{deep} is still 10 points or more behind in training error", "degradation budget",
          "plain-{deep} minus plain-{shallow}, training error (points), shortest budget, lr 0.01",
          lambda m, p: _plain_gap(m, p, 0, 0.01, "training error %"), "> 10", live=False),
    Claim("01-res-deep-below-plain-every-budget", "res-{deep} ends below plain-{deep} at every budget and both rates (by ten times or more)",
          "degradation budget", "smallest plain-{deep} / res-{deep} final training loss over the budgets and rates",
          _smallest_plain_over_res, "> 10", live=False),
    Claim("01-plain-scrambles-similarity", "at initialisation, plain-56 keeps almost none of the inputs' similarity "
          "structure at the top (agreement below 0.1)", "similarity at initialisation",
          "plain-56: similarity kept after the last block",
          lambda m, p: m["plain-56"]["similarity kept after the last block"], "< 0.1"),
    Claim("01-res-keeps-similarity", "res-56 keeps a clear part of it (above 0.2)", "similarity at initialisation",
          "res-56: similarity kept after the last block",
          lambda m, p: m["res-56"]["similarity kept after the last block"], "> 0.2"),
    # 02 · the residual block
    Claim("02-zero-init-branches-grew", "from zero, every branch grew", "branch size",
          "F = 0 at start: smallest ‖F‖/‖x‖ after training",
          lambda m, p: m["F = 0 at start"]["smallest ratio after"], "> 0.05"),
    Claim("02-zero-init-branches-smaller", "and every one stayed smaller than its input", "branch size",
          "F = 0 at start: largest ‖F‖/‖x‖ after training",
          lambda m, p: m["F = 0 at start"]["largest ratio after"], "< 1"),
    Claim("02-default-init-branches-shrank", "from the default initialisation, the branches shrank on average",
          "branch size", "default init: mean ‖F‖/‖x‖, after minus before",
          lambda m, p: m["default init"]["mean ratio after"] - m["default init"]["mean ratio before"], "< 0"),
    Claim("02-zero-init-ends-higher", "the net that starts with F = 0 ends the run at a higher training loss (over "
          "three times the other's)", "branch size", "F = 0 at start / default init, final training loss",
          lambda m, p: loss(m, "F = 0 at start") / loss(m, "default init"), "> 3"),
    Claim("02-default-larger-at-equal-loss", "compared at equal training loss, the default-init net's branches are "
          "still the larger, by half again or more", "branch size", "default init's mean ratio where its loss first "
          "came down to the F = 0 net's final loss / F = 0 at start's mean ratio after training",
          lambda m, p: m["default init"]["mean ratio at the F = 0 net's final loss"]
          / m["F = 0 at start"]["mean ratio after"], "> 1.5"),
    Claim("02-both-blocks-train", "at this depth and budget both blocks train well (training loss below 0.05)",
          "pre-activation", "the larger final training loss of post-act-{deep} and pre-act-{deep}",
          lambda m, p: max(loss(m, deep("post-act", p)), loss(m, deep("pre-act", p))), "< 0.05"),
    # 03 · gradient flow
    Claim("02-preact-lower-test-error", "the pre-activation net has the lower test error", "pre-activation",
          "post-act-{deep} minus pre-act-{deep}, test error (points)",
          lambda m, p: test_err(m, deep("post-act", p)) - test_err(m, deep("pre-act", p)), "> 0"),
    Claim("03-plain-weight-gradients-grow", "the plain net's weight gradients grow toward the input far more than the "
          "residual net's (over ten times the ratio)", "gradients at initialisation",
          "plain-56 / res-56, first-quarter / last-quarter weight-gradient norm",
          lambda m, p: m["plain-56"]["weight gradients, first / last quarter"]
          / m["res-56"]["weight gradients, first / last quarter"], "> 10"),
    Claim("03-plain-weight-gradients-hundredfold", "in plain-56 the first quarter's weight gradients are hundreds of times "
          "larger than the last quarter's (over 100 times)", "gradients at initialisation",
          "plain-56: first-quarter / last-quarter weight-gradient norm",
          lambda m, p: m["plain-56"]["weight gradients, first / last quarter"], "> 100"),
    Claim("03-no-bn-gradient-shrinks", "without BN the plain net's gradient shrinks toward the input, tens of times",
          "gradients at initialisation", "plain-56 without BN: ‖dE/dx‖ first block / last block",
          lambda m, p: m["plain-56"]["dE/dx first / last block, no BN"], "< 0.1"),
    Claim("03-bn-gradient-grows", "with BN it grows toward the input instead, over a thousandfold",
          "gradients at initialisation", "plain-56 with BN: ‖dE/dx‖ first block / last block",
          lambda m, p: m["plain-56"]["dE/dx first / last block, with BN"], "> 1000"),
    Claim("03-no-bn-res-gradient-grows", "without BN the residual net's gradient grows toward the input, over a "
          "hundredfold", "gradients at initialisation", "res-56 without BN: ‖dE/dx‖ first block / last block",
          lambda m, p: m["res-56"]["dE/dx first / last block, no BN"], "> 100"),
    Claim("03-growth-gone-after-training", "after training, the plain net's gradients no longer grow toward the input",
          "gradients during training", "plain-{deep}: first-quarter / last-quarter weight-gradient norm at the end",
          lambda m, p: m[deep("plain", p)]["ratio at the end"], "< 1"),
    Claim("03-growth-ends-early", "the growth ends at once: the ratio is below 10 by the first logged step after step 1 "
          "(a thirtieth of the run)", "gradients during training",
          "plain-{deep}: first logged step with the ratio below 10, in logging intervals",
          lambda m, p: m[deep("plain", p)]["first step below 10"] / max(1, p.steps // 30), "<= 1"),
    Claim("03-plain-ends-higher", "and yet the plain net ends this run at a training loss over ten times the "
          "residual net's", "gradients during training", "plain-{deep} / res-{deep}, final training loss",
          lambda m, p: loss(m, deep("plain", p)) / loss(m, deep("res", p)), "> 10"),
    Claim("03-res-lesion-costs-little", "deleting a typical block costs the deep residual net less than 10 points of "
          "test accuracy", "lesions", "res-{deep}: intact minus median accuracy with one block deleted",
          lambda m, p: m[deep("res", p)]["intact accuracy"] - m[deep("res", p)]["median accuracy, one block deleted"],
          "< 0.1"),
    Claim("03-res-keeps-more-than-plain", "res-20 keeps far more of its accuracy than plain-20 (30 points or more)",
          "lesions", "res-20 minus plain-20, median accuracy with one block deleted",
          lambda m, p: m["res-20"]["median accuracy, one block deleted"]
          - m["plain-20"]["median accuracy, one block deleted"], "> 0.3"),
    Claim("03-plain-lesion-near-chance", "while plain-20 falls to near chance (below 20%)", "lesions",
          "plain-20: median accuracy with one block deleted",
          lambda m, p: m["plain-20"]["median accuracy, one block deleted"], "< 0.2"),
    Claim("03-deeper-res-loses-less", "the deeper the ResNet, the less one deletion costs: a typical deletion costs "
          "res-20 more than res-{deep}", "lesions",
          "res-20 minus res-{deep}: intact minus median accuracy with one block deleted",
          lambda m, p: _lesion_cost(m, "res-20") - _lesion_cost(m, deep("res", p)), "> 0"),
    Claim("03-block-1-costliest", "in res-20 and res-{deep} alike the costliest deletion is block 1", "lesions",
          "the later of res-20's and res-{deep}'s costliest blocks",
          lambda m, p: max(m["res-20"]["worst block"], m[deep("res", p)]["worst block"]), "== 1"),
    # 04 · bottlenecks
    Claim("04-basic-lower-loss", "on the same budget of steps the basic net ends with the lower training loss "
          "(the bottleneck net's at least 1.5 times higher)", "basic vs bottleneck",
          "bottleneck-29 / basic-20, final training loss",
          lambda m, p: loss(m, "bottleneck-29") / loss(m, "basic-20"), "> 1.5"),
    # 05 · Wide ResNets
    Claim("05-wide-more-steps", "in the same time the wide net gets through at least 1.2 times the steps",
          "same time", "WRN-16-2 / ResNet-56, steps in the same seconds",
          lambda m, p: m["WRN-16-2"]["steps"] / m["ResNet-56"]["steps"], "> 1.2", live=False),
    Claim("05-wide-ahead-in-same-time", "and ends the same seconds at the lower training loss", "same time",
          "ResNet-56 minus WRN-16-2, final training loss",
          lambda m, p: loss(m, "ResNet-56") - loss(m, "WRN-16-2"), "> 0", live=False),
    Claim("05-wide-lower-test-error-in-same-time", "and the lower test error", "same time",
          "ResNet-56 minus WRN-16-2, test error (points)",
          lambda m, p: test_err(m, "ResNet-56") - test_err(m, "WRN-16-2"), "> 0", live=False),
    Claim("05-overfitting-gap", "with less data, test error climbs far above training error (the gap 10 points wider)",
          "overfitting", "gap (test minus training error) on the smallest set minus on the whole set",
          lambda m, p: _gap(m, list(m)[-1]) - _gap(m, list(m)[0]), "> 10"),
    Claim("05-training-error-near-zero", "while training error stays near zero (below 1%): overfitting, not "
          "degradation", "overfitting", "training error on the smallest set (%)",
          lambda m, p: train_err(m, list(m)[-1]), "< 1"),
    # 06 · why optimisation gets easier
    Claim("06-plain-built-starts-at-solution", "the deeper plain net starts at the shallow net's training loss",
          "construction", "plain-{deep} built: |loss at the start - shallow net's| / shallow net's",
          lambda m, p: _relative_change(m[f"{deep('plain', p)} built"]), "< 0.0001"),
    Claim("06-res-built-starts-at-solution", "the deeper res net starts at the shallow net's training loss",
          "construction", "res-{deep} built: |loss at the start - shallow net's| / shallow net's",
          lambda m, p: _relative_change(m[f"{deep('res', p)} built"]), "< 0.0001"),
    Claim("06-res-built-keeps-solution", "the residual construction ends at or below the shallow net's loss",
          "construction", "res-{deep} built: loss after training / at the start",
          lambda m, p: _after_over_start(m[f"{deep('res', p)} built"]), "<= 1"),
    Claim("06-plain-built-thrown-out", "SGD throws the plain construction out of its solution: its loss rises over "
          "a hundredfold", "construction", "plain-{deep} built: loss after training / at the start",
          lambda m, p: _after_over_start(m[f"{deep('plain', p)} built"]), "> 100"),
    Claim("06-plain-built-small-lr-keeps", "with a ten times smaller learning rate the plain construction keeps its "
          "solution", "construction", "plain-{deep} built, lr 0.01: loss after training / at the start",
          lambda m, p: _after_over_start(m[f"{deep('plain', p)} built, lr 0.01"]), "<= 1"),
    Claim("06-plain-shallow-restart-keeps", "restarted with the same recipe, the trained plain-{shallow} itself is "
          "not thrown out (its loss ends within ten times where it started)", "construction restarts",
          "plain-{shallow} restarted: loss after training / at the start",
          lambda m, p: _after_over_start(m[f"{shallow('plain', p)} restarted"]), "< 10", live=False),
    Claim("06-residual-copies-better", "the residual stack copies better at every depth", "learning the identity",
          "smallest plain / residual copy error over k", lambda m, p: _smallest_gain(m), "> 1"),
    Claim("06-plain-copies-worse-deeper", "the plain stack copies worse the deeper it is", "learning the identity",
          "smallest growth of the plain stack's copy error from one k to the next", lambda m, p: _smallest_growth(m),
          "> 1"),
    Claim("06-residual-copies-better-lr-tuned", "with no clipping and each stack at its own best learning rate, the "
          "residual stack still copies better at every depth", "learning the identity, lr tuned",
          "smallest plain / residual copy error over k, each at its best lr", lambda m, p: _smallest_gain(m), "> 1",
          live=False),
    Claim("06-plain-copies-worse-deeper-lr-tuned", "and the plain stack still copies worse the deeper it is",
          "learning the identity, lr tuned", "smallest growth of the plain stack's copy error from one k to the next, "
          "each at its best lr", lambda m, p: _smallest_growth(m), "> 1", live=False),
    Claim("06-plain-56-shattered", "at depth 56 the plain net's gradients are shattered (correlation below 0.1)",
          "shattered gradients", "plain-56: neighbour correlation",
          lambda m, p: m["plain-56"]["neighbour correlation"], "< 0.1"),
    Claim("06-res-56-not-shattered", "and the residual net's are not (above 0.8)", "shattered gradients",
          "res-56: neighbour correlation", lambda m, p: m["res-56"]["neighbour correlation"], "> 0.8"),
    Claim("06-depth-8-smooth", "while at depth 8 both are smooth (above 0.9)", "shattered gradients",
          "the smaller neighbour correlation of plain-8 and res-8",
          lambda m, p: min(m["plain-8"]["neighbour correlation"], m["res-8"]["neighbour correlation"]), "> 0.9"),
    Claim("06-plain-landscape-less-convex", "the deep plain net's surface is non-convex on a larger share of the grid "
          "than the residual net's (by 10 points or more)", "loss landscape",
          "plain-{deep} minus res-{deep}, non-convex share of the grid",
          lambda m, p: m[deep("plain", p)]["non-convex share of the grid"]
          - m[deep("res", p)]["non-convex share of the grid"], "> 0.1"),
    Claim("06-deep-plain-less-convex-than-shallow", "the deep plain net's surface (around weights where its training "
          "stalled) is non-convex on more of the grid than the shallow plain net's (by 5 points or more)",
          "loss landscape", "plain-{deep} minus plain-{shallow}, non-convex share of the grid",
          lambda m, p: m[deep("plain", p)]["non-convex share of the grid"]
          - m[shallow("plain", p)]["non-convex share of the grid"], "> 0.05"),
    # 07 · ResNets in practice
    Claim("07-fine-tuning-beats-frozen", "fine-tuning the reused net beats keeping its body frozen (by 5 points or "
          "more)", "transfer", "fine-tuned minus linear probe, test accuracy",
          lambda m, p: m["fine-tuned"]["test accuracy"] - m["linear probe"]["test accuracy"], "> 0.05"),
    Claim("07-fine-tuning-beats-scratch", "fine-tuning beats training from scratch on the same 25 images", "transfer",
          "fine-tuned minus from scratch, test accuracy",
          lambda m, p: m["fine-tuned"]["test accuracy"] - m["from scratch"]["test accuracy"], "> 0"),
    Claim("07-scratch-beats-frozen", "training from scratch does better than keeping the reused body frozen",
          "transfer", "from scratch minus linear probe, test accuracy",
          lambda m, p: m["from scratch"]["test accuracy"] - m["linear probe"]["test accuracy"], "> 0"),
    Claim("07-segmentation-more-pixels", "the segmentation net labels more pixels correctly than answering "
          "'background' everywhere (by 5 points or more)", "segmentation", "pixel accuracy minus all-background's",
          lambda m, p: m["res body + head"]["pixel accuracy"] - m["all background"]["pixel accuracy"], "> 0.05"),
    Claim("07-segmentation-iou", "and reaches a mean IoU above 0.3 (all-background: 0.07)", "segmentation",
          "res body + head: mean IoU over the 11 classes", lambda m, p: m["res body + head"]["mean IoU"], "> 0.3"),
    Claim("07-no-stream-at-chance", "without the residual stream the deep MLP stays at chance (loss within 0.05 of "
          "ln 10)", "residual stream", "no residual: |final training loss - ln 10|",
          lambda m, p: abs(loss(m, "no residual") - CHANCE_LOSS), "< 0.05"),
    Claim("07-stream-learns", "with it the same layers learn (training error below 10%)", "residual stream",
          "residual stream: training error (%)", lambda m, p: train_err(m, "residual stream"), "< 10"),
    Claim("07-no-stream-gradient-at-start", "at initialisation its first block's gradient is as large as its last "
          "block's, within a factor of three: nothing vanishes before training", "residual stream",
          "no residual: |log10(first / last block weight gradient)| at the start",
          lambda m, p: abs(math.log10(m["no residual"]["first / last block gradient at the start"])), "< 0.5"),
    Claim("07-no-stream-collapses", "training collapses it: by the end its last block's output varies from image to "
          "image less than 2% as much as at the start", "residual stream",
          "no residual: image-to-image spread of the last block's output, end / start",
          lambda m, p: m["no residual"]["input dependence at the end"] / m["no residual"]["input dependence at the start"],
          "< 0.02"),
    Claim("07-shallow-no-stream-learns", "4 blocks without the stream do learn (training error below 50%)",
          "residual stream", "no residual, 4 blocks: training error (%)",
          lambda m, p: train_err(m, "no residual, 4 blocks"), "< 50"),
]
# fmt: on


def _lesion_cost(m: Measures, label: str) -> float:
    return m[label]["intact accuracy"] - m[label]["median accuracy, one block deleted"]


def _gap(m: Measures, label: str) -> float:
    return test_err(m, label) - train_err(m, label)


def _relative_change(m: dict[str, float]) -> float:
    return abs(m["loss at the start"] - m["shallow net's loss"]) / m["shallow net's loss"]


def _after_over_start(m: dict[str, float]) -> float:
    return m["loss after training"] / m["loss at the start"]


BY_ID = {claim.id: claim for claim in CLAIMS}


@dataclass
class Support:
    """How a claim fares over some seeds: the value per seed and whether it held."""

    values: dict[int, float]
    held: dict[int, bool]

    def __str__(self) -> str:
        if not self.values:
            return "not recorded"
        values = list(self.values.values())
        spread = f" ± {statistics.stdev(values):.3g}" if len(values) > 1 else ""
        return f"{sum(self.held.values())} of {len(values)} ({statistics.mean(values):.3g}{spread})"

    @property
    def everywhere(self) -> bool:
        return bool(self.held) and all(self.held.values())


def support(claim: Claim, profile: Profile, seeds=RECORDED_SEEDS, path: Path = RECORDED) -> Support:
    """The claim evaluated on each of `seeds` recorded for the profile."""
    values = {}
    for seed, measures in load(profile.name, path).measures(claim.experiment, seeds).items():
        try:
            values[seed] = claim.value(measures, profile)
        except KeyError:  # recorded before this metric was kept
            continue
    return Support(values, {seed: claim.holds(v) for seed, v in values.items()})


def _claim(claim_id: str) -> Claim:
    if claim_id not in BY_ID:
        raise ValueError(f"claim_id={claim_id!r} is not a claim: use one of {', '.join(BY_ID)}")
    return BY_ID[claim_id]


def check(claim_id: str, measures: Measures, profile: Profile, path: Path = RECORDED) -> bool:
    """Check a claim on this run's measures and print it beside the recorded seeds; True if it holds here.

    Asserted (AssertionError on a strict profile) only where the claim held in every recorded seed and does
    not depend on time; otherwise reported, naming this run as one of the exceptions when it is.
    """
    claim = _claim(claim_id)
    value = claim.value(measures, profile)
    held = claim.holds(value)
    recorded = support(claim, profile, path=path)
    seeds = (
        f"held in {sum(recorded.held.values())} of {len(recorded.values)} recorded seeds"
        if recorded.values
        else f"no recorded seeds on the {profile.name} profile"
    )
    asserted = claim.live and (recorded.everywhere or not recorded.values)
    detail = f"{claim.measured(profile)}: {value:.4g} here (claimed {claim.test}); {seeds}"
    if held:
        print(f"✓ {claim.said(profile)}\n    {detail}")
    elif asserted and profile.strict_claims:
        raise AssertionError(f"the notebook claims: {claim.said(profile)}, but this run does not show it: {detail}")
    elif asserted:
        print(f"✗ Not seen in this run: {claim.said(profile)}\n    {detail}. Short or unlucky runs can miss an effect.")
    else:
        print(f"✗ This run is one of the exceptions: {claim.said(profile)}\n    {detail}")
    return held


def check_records(claim_id: str, profile: Profile, path: Path = RECORDED) -> bool:
    """Check a claim of a control that a notebook shows from the records only (too slow to rerun live): print it
    with the recorded and held-out seeds it held in; True if it held in every recorded seed."""
    claim = _claim(claim_id)
    recorded = support(claim, profile, path=path)
    if not recorded.values:
        print(
            f"No recorded seeds of '{claim.experiment}' on the {profile.name} profile: the cpu profile's are in {LEDGER.name}"
        )
        return False
    held_out = support(claim, profile, HELD_OUT_SEEDS, path)
    mark = "✓" if recorded.everywhere else "✗ Not in every recorded seed:"
    print(
        f"{mark} {claim.said(profile)}\n    {claim.measured(profile)} (claimed {claim.test}): "
        f"recorded seeds {recorded}; held-out seeds {held_out}"
    )
    return recorded.everywhere


def _notebook_link(number: str) -> str:
    (notebook,) = LEDGER.parents[1].glob(f"notebooks/{number}_*.ipynb")
    return f"[{number}](../notebooks/{notebook.name})"


def ledger(path: Path = RECORDED) -> str:
    """The claims ledger (markdown): every claim, per profile, over the recorded and the held-out seeds."""
    lines = [
        "# Claims ledger",
        "",
        "Every claim the notebooks make about their own experiments, evaluated on the recorded runs",
        "(`resnet_lab/course/recorded_seeds.json`). Generated by `python tools/write_ledger.py` from",
        "`resnet_lab/course/claims.py`; a test fails when this page is stale.",
        "",
        f"- **Recorded seeds** ({', '.join(map(str, RECORDED_SEEDS))}): the runs the notebooks' prose was written "
        "against. A claim that holds in all of them is also asserted on a learner's live run.",
        f"- **Held-out seeds** ({', '.join(map(str, HELD_OUT_SEEDS))}): recorded the same way, never read while "
        "writing prose: the check on the prose.",
        "- Each cell: in how many seeds the claim holds, then the measured value's mean ± standard deviation.",
        "",
    ]
    for name in ("cpu", "smoke"):
        profile = PROFILES[name]
        records = load(name, path)
        lines += [f"## The `{name}` profile", ""]
        if records.runs:
            lines += [f"Recorded with `{records.about.get('command', '')}`.", ""]
        lines += [
            "| notebook | claim | sentence | measured | test | recorded seeds | held-out seeds |",
            "|---|---|---|---|---|---|---|",
        ]
        for claim in CLAIMS:
            recorded, held_out = (
                support(claim, profile, RECORDED_SEEDS, path),
                support(claim, profile, HELD_OUT_SEEDS, path),
            )
            test = claim.test + ("" if claim.live else " (records only)")
            cells = [_notebook_link(claim.notebook), claim.id, claim.said(profile), claim.measured(profile), test]
            cells += [str(recorded), str(held_out)]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines += ["", "What is recorded, per experiment:", "", "| experiment | seeds | recorded on |", "|---|---|---|"]
        for experiment in sorted({claim.experiment for claim in CLAIMS}):
            runs = {seed: r[experiment] for seed, r in sorted(records.runs.items()) if experiment in r}
            made = "; ".join(sorted({run.get("about", "?") for run in runs.values()}))
            lines.append(f"| {experiment} | {', '.join(map(str, runs)) or 'none'} | {made} |")
        lines.append("")
    lines += ["The `gpu` profile has no records yet: its notebooks say the cpu numbers do not apply there.", ""]
    return "\n".join(lines)
