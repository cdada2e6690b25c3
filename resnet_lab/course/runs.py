"""The course's experiments, each defined once.

A notebook calls one of these for its own run (seed 0); `benchmarks/seed_spread.py` calls the same
function for every recorded seed, so the records and the notebooks measure the same thing the same way.
Each returns a `Result`: `measures` ({label: {metric: value}}, what the claims in `claims.py` read and
the records keep), the training runs (`histories`, for curves), the trained nets and anything else the
notebook draws (`details`).

Nets a notebook trains together train side by side on a CPU (`train_side_by_side`: one thread per net),
so a net's numbers do not depend on which other nets train beside it; nets whose speed is compared, and
single nets, train one after the other on all threads.
"""

from __future__ import annotations

import copy
import statistics
from dataclasses import dataclass, field

import torch
from torch import nn

from ..construction import deepen_with_identity_blocks
from ..data import Dataset, few_labels, load_dataset, make_digit_canvases, select_classes, subset
from ..identity import copy_error
from ..landscape import loss_grid, nonconvex_fraction, random_direction, slice_minima
from ..models import StreamMLP
from ..probes import GradientRatioLog, ProbeLog, gradient_norms, lesion_accuracy, residual_ratio, similarity_kept
from ..shattered import gradient_correlation
from ..train import History, evaluate
from ..transfer import LinearProbe, SegmentationNet, predict_masks, segmentation_scores, with_new_head
from .experiments import build_net, build_wrn, net_label, train_model, train_side_by_side
from .profiles import Profile

Measures = dict[str, dict[str, float]]  # {label: {metric: value}}


@dataclass
class Result:
    """What one experiment measured, for one seed."""

    measures: Measures
    histories: dict[str, History] = field(default_factory=dict)
    nets: dict[str, nn.Module] = field(default_factory=dict)
    details: dict = field(default_factory=dict)


def history_measures(history: History) -> dict[str, float]:
    """What the records keep of a training run: final training loss, training and test error (%)."""
    measures = {"final training loss": history.final_loss()}
    if history.train_accuracy:
        measures["training error %"] = history.training_error()
    if history.test_accuracy:
        measures["test error %"] = history.test_error()
    return measures


def _trained(histories: dict[str, History], nets: dict[str, nn.Module]) -> Result:
    return Result({label: history_measures(h) for label, h in histories.items()}, histories, dict(nets))


# 01 · the degradation problem


def degradation(
    data: Dataset, profile: Profile, seed: int = 0, shortcuts=(None, "A"), plot=None, callbacks=None
) -> Result:
    """The profile's shallow and deep net of each kind in `shortcuts` (None: plain, "A": residual), trained."""
    nets = {
        net_label(depth, shortcut): build_net(depth, shortcut, data, profile, seed)
        for shortcut in shortcuts
        for depth in (profile.shallow_depth, profile.deep_depth)
    }
    histories = train_side_by_side(nets, data, profile, plot=plot, callbacks=callbacks, seed=seed)
    return _trained(histories, nets)


BUDGETS = (1, 10 / 3, 20 / 3)  # `degradation_budget`'s budgets, times the profile's steps: 300, 1000, 2000 on cpu
BUDGET_LEARNING_RATES = (0.1, 0.01)


def budget_steps(profile: Profile) -> list[int]:
    """The steps of each of `degradation_budget`'s budgets on this profile."""
    return [round(profile.steps * budget) for budget in BUDGETS]


def budget_label(net: str, steps: int, lr: float) -> str:
    """How `degradation_budget` names a run: "plain-56, 1000 steps, lr 0.1"."""
    return f"{net}, {steps} steps, lr {lr:g}"


def degradation_budget(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """The control for `degradation`: plain-shallow, plain-deep and res-deep trained for longer (`budget_steps`, the
    schedule scaled with them) and at each of BUDGET_LEARNING_RATES. Is the deep plain net's higher loss a matter of
    too few steps, or of the learning rate? Slow (about 30 minutes a seed on the cpu profile, 2 cores): the
    notebook shows its records. Its shortest runs at lr 0.1 are `degradation`'s own."""
    s, d = profile.shallow_depth, profile.deep_depth
    kinds = ((d, None), (d, "A"), (s, None))
    runs = [  # the longest first, so that the two lanes finish together
        (depth, shortcut, steps, lr)
        for steps in sorted(budget_steps(profile), reverse=True)
        for depth, shortcut in kinds
        for lr in BUDGET_LEARNING_RATES
    ]
    nets, options = {}, {}
    for depth, shortcut, steps, lr in runs:
        label = budget_label(net_label(depth, shortcut), steps, lr)
        nets[label] = build_net(depth, shortcut, data, profile, seed)
        options[label] = {"steps": steps, "lr": lr}
    return _trained(train_side_by_side(nets, data, profile, options=options, seed=seed), nets)


def similarity_at_initialisation(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """How much of 128 inputs' similarity structure survives each block of a fresh plain-56 and res-56 (float64)."""
    images = data.train_images[:128].double()
    kept = {
        net_label(56, shortcut): similarity_kept(build_net(56, shortcut, data, profile, seed).double(), images).values
        for shortcut in (None, "A")
    }
    measures = {label: {"similarity kept after the last block": values[-1]} for label, values in kept.items()}
    return Result(measures, details={"kept": kept})


# 02 · the residual block


def branch_size(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """||F(x)|| / ||x|| per block of res-20, before and after training, from F = 0 and from the default init;
    each net's final training loss and errors too. The two do not make the same progress, so the default-init
    net's mean ratio is also logged during training and read where its training loss first comes down to the
    F = 0 net's final loss: the two compared at equal training loss."""
    nets = {
        "F = 0 at start": build_net(20, "A", data, profile, seed, zero_init_residual=True),
        "default init": build_net(20, "A", data, profile, seed),
    }
    before = {label: residual_ratio(net, data.test_images).values for label, net in nets.items()}
    default = nets["default init"]
    log = ProbeLog(
        lambda: statistics.mean(residual_ratio(default, data.test_images).values), max(1, profile.steps // 30)
    )
    histories = train_side_by_side(nets, data, profile, plot=plot, callbacks={"default init": [log]}, seed=seed)
    after = {label: residual_ratio(net, data.test_images).values for label, net in nets.items()}
    measures = {
        label: history_measures(histories[label])
        | {
            "mean ratio before": statistics.mean(before[label]),
            "mean ratio after": statistics.mean(after[label]),
            "smallest ratio after": min(after[label]),
            "largest ratio after": max(after[label]),
        }
        for label in nets
    }
    step = _first_logged_step_at_loss(histories["default init"], log, histories["F = 0 at start"].final_loss())
    measures["default init"] |= {
        "mean ratio at the F = 0 net's final loss": log.values[step],
        "step of that loss": step,
    }
    blocks = residual_ratio(default, data.test_images).names
    return Result(measures, histories, nets, {"before": before, "after": after, "blocks": blocks, "log": log})


def _first_logged_step_at_loss(history: History, log: ProbeLog, loss: float) -> int:
    """The first step of `log` at which the run's training loss (the mean of its last 10 mini-batches, as
    `final_loss`) is at or below `loss`; the last logged step if it never gets there."""
    for step in log.values:
        if step and statistics.mean(history.loss[max(0, step - 10) : step]) <= loss:
            return step
    return max(log.values)


def pre_activation(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """Residual nets of the profile's deep depth with post-activation (2015) and pre-activation (2016) blocks."""
    deep = profile.deep_depth
    nets = {
        f"post-act-{deep}": build_net(deep, "A", data, profile, seed, preact=False),
        f"pre-act-{deep}": build_net(deep, "A", data, profile, seed, preact=True),
    }
    return _trained(train_side_by_side(nets, data, profile, plot=plot, seed=seed), nets)


# 03 · gradient flow


def gradients_at_initialisation(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """Gradient norms of a fresh plain-56 and res-56 on one batch (float64): per weight layer, and per block
    output with and without BN."""
    images, labels = data.train_images[:128].double(), data.train_labels[:128]
    measures, details = {}, {}
    for shortcut in (None, "A"):
        label = net_label(56, shortcut)
        weights = gradient_norms(build_net(56, shortcut, data, profile, seed).double(), images, labels)
        measures[label] = {"weight gradients, first / last quarter": weights.quarter_ratio()}
        details[label, "weights"] = weights
        for batch_norm in (True, False):
            net = build_net(56, shortcut, data, profile, seed, batch_norm=batch_norm).double()
            activations = gradient_norms(net, images, labels, wrt="activations")
            measures[label][f"dE/dx first / last block, {'with' if batch_norm else 'no'} BN"] = (
                activations.first_over_last()
            )
            details[label, "activations", batch_norm] = activations
    return Result(measures, details=details)


def gradients_during_training(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """Plain and residual nets of depth 20 and the deep depth trained, the deep pair's first/last-quarter
    weight-gradient ratio logged on a fixed batch every 1/30 of the run."""
    deep = profile.deep_depth
    nets = {net_label(depth, s): build_net(depth, s, data, profile, seed) for depth in (20, deep) for s in (None, "A")}
    batch = data.train_images[:128], data.train_labels[:128]
    logs = {
        label: GradientRatioLog(nets[label], *batch, every=max(1, profile.steps // 30))
        for label in (f"plain-{deep}", f"res-{deep}")
    }
    callbacks = {label: [log] for label, log in logs.items()}
    histories = train_side_by_side(nets, data, profile, plot=plot, callbacks=callbacks, seed=seed)
    result = _trained(histories, nets)
    for label, log in logs.items():
        result.measures[label] |= {
            "ratio at step 1": log.ratios[1],
            "ratio at the end": list(log.ratios.values())[-1],
            "first step below 10": log.first_step_below(10, default=profile.steps),
        }
    result.details["logs"] = logs
    return result


def lesions(nets: dict[str, nn.Module], data: Dataset) -> Result:
    """Test accuracy of each net with one block deleted at a time (the shortcut left in place)."""
    accuracies = {label: lesion_accuracy(net, data.test_images, data.test_labels).values for label, net in nets.items()}
    measures = {
        label: {
            "intact accuracy": evaluate(nets[label], data.test_images, data.test_labels)[1],
            "median accuracy, one block deleted": sorted(values)[len(values) // 2],
            "worst accuracy, one block deleted": min(values),
            "worst block": 1 + values.index(min(values)),
        }
        for label, values in accuracies.items()
    }
    return Result(measures, details={"accuracies": accuracies})


# 04 · bottlenecks


def basic_vs_bottleneck(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """Basic ResNet-20 and bottleneck ResNet-29, one after the other on all threads (their speed is compared)."""
    nets = {
        f"{block}-{depth}": build_net(depth, "A", data, profile, seed, block=block)
        for depth, block in ((20, "basic"), (29, "bottleneck"))
    }
    histories = {
        label: train_model(net, data, profile, label, [plot.callback(label)] if plot else [], seed=seed)
        for label, net in nets.items()
    }
    return _trained(histories, nets)


# 05 · Wide ResNets


def same_time(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """ResNet-56 and WRN-16-2, each trained for the profile's `time_budget` seconds, one after the other."""
    nets = {"ResNet-56": build_net(56, "A", data, profile, seed), "WRN-16-2": build_wrn(16, 2, data, profile, seed)}
    recipe = profile.recipe.within(profile.time_budget)
    histories = {
        name: train_model(net, data, profile, name, [plot.callback(name)] if plot else [], recipe=recipe, seed=seed)
        for name, net in nets.items()
    }
    result = _trained(histories, nets)
    for name, h in histories.items():
        result.measures[name]["steps"] = len(h.steps)
    return result


def shrinking_data(
    data: Dataset, profile: Profile, seed: int = 0, plot=None, fractions=(1.0, 0.25, 0.1, 0.05)
) -> Result:
    """ResNet-20 trained on the whole training set and on shrinking subsets of it."""
    sets = {f"{len(s.train_labels)} images": s for s in (subset(data, f) for f in fractions)}
    nets = {label: build_net(20, "A", data, profile, seed) for label in sets}
    options = {label: {"batch_size": min(profile.batch_size, len(s.train_labels))} for label, s in sets.items()}
    histories = train_side_by_side(nets, sets, profile, plot=plot, options=options, seed=seed)
    result = _trained(histories, nets)
    result.details["fractions"] = dict(zip(sets, fractions))
    return result


# 06 · why optimisation gets easier


def construction(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """He et al.'s construction: shallow plain and residual nets trained side by side, then deepened to the deep
    depth with identity blocks (`deepen_with_identity_blocks`; the plain one twice, for two learning rates).
    Losses on the whole training set in eval mode: the shallow net's, and the built net's at the start."""
    s, d = profile.shallow_depth, profile.deep_depth
    shallow = {net_label(s, shortcut): build_net(s, shortcut, data, profile, seed) for shortcut in (None, "A")}
    histories = train_side_by_side(shallow, data, profile, seed=seed)
    calibration = data.train_images[:1000]  # the plain net's identity BNs get these images' statistics
    built = {
        f"plain-{d} built": deepen_with_identity_blocks(shallow[f"plain-{s}"], d, images=calibration),
        f"res-{d} built": deepen_with_identity_blocks(shallow[f"res-{s}"], d, images=calibration),
        f"plain-{d} built, lr 0.01": deepen_with_identity_blocks(shallow[f"plain-{s}"], d, images=calibration),
    }
    measures = {
        label: {
            "shallow net's loss": _train_loss(shallow[label.split("-")[0] + f"-{s}"], data),
            "loss at the start": _train_loss(net, data),
        }
        for label, net in built.items()
    }
    return Result(measures, histories, {**shallow, **built})


def construction_trained(built: Result, data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """`construction`'s deep nets trained for half the profile's steps: the plain and residual pair side by side
    with the profile's recipe, then the plain one again at lr 0.01. Adds each one's loss after training."""
    d, steps = profile.deep_depth, profile.steps // 2
    pair = {label: built.nets[label] for label in (f"plain-{d} built", f"res-{d} built")}
    histories = train_side_by_side(pair, data, profile, plot=plot, steps=steps, seed=seed)
    gentle = f"plain-{d} built, lr 0.01"
    histories[gentle] = train_model(built.nets[gentle], data, profile, gentle, steps=steps, lr=0.01, seed=seed)
    measures = {
        label: built.measures[label] | {"loss after training": _train_loss(built.nets[label], data)}
        for label in histories
    }
    return Result(measures, histories, built.nets)


def construction_restarts(built: Result, data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """The control for `construction_trained`: the trained shallow nets themselves (copies), restarted with the
    built deep nets' recipe (half the profile's steps at the profile's learning rate). If the shallow plain net
    is thrown out of its solution too, the learning-rate jump does it, not the depth."""
    s, steps = profile.shallow_depth, profile.steps // 2
    shallow = {f"{kind}-{s}": built.nets[f"{kind}-{s}"] for kind in ("plain", "res")}
    restarted = {f"{label} restarted": copy.deepcopy(net) for label, net in shallow.items()}
    histories = train_side_by_side(restarted, data, profile, steps=steps, seed=seed)
    measures = {
        f"{label} restarted": {
            "loss at the start": _train_loss(net, data),
            "loss after training": _train_loss(restarted[f"{label} restarted"], data),
        }
        for label, net in shallow.items()
    }
    return Result(measures, histories, restarted)


def _train_loss(net: nn.Module, data: Dataset) -> float:
    """Cross-entropy on the whole training set, in eval mode (BN's running statistics)."""
    return evaluate(net, data.train_images, data.train_labels)[0]


def learning_the_identity(data: Dataset, profile: Profile, seed: int = 0, ks=(2, 4, 8, 16)) -> Result:
    """Plain and residual stacks of k conv layers trained to copy their input (`identity.copy_error`)."""
    images = data.train_images[:1000]
    measures = {
        f"{kind} stack": {f"k={k}": copy_error(k, kind == "residual", images, seed) for k in ks}
        for kind in ("plain", "residual")
    }
    return Result(measures)


def learning_the_identity_tuned(
    data: Dataset, profile: Profile, seed: int = 0, ks=(2, 4, 8, 16), learning_rates=(0.003, 0.01, 0.03, 0.1)
) -> Result:
    """The control for `learning_the_identity`: no gradient clipping, and each stack at each k trained at every
    learning rate of a small grid, keeping its best copy error (a run that diverges counts as infinitely bad) and
    the learning rate that gave it ("plain stack, best lr")."""
    images = data.train_images[:1000]
    measures = {}
    for kind in ("plain", "residual"):
        best, chosen = {}, {}
        for k in ks:
            errors = {
                lr: copy_error(k, kind == "residual", images, seed, lr=lr, max_grad_norm=None) for lr in learning_rates
            }
            chosen[f"k={k}"] = min(errors, key=errors.get)
            best[f"k={k}"] = errors[chosen[f"k={k}"]]
        measures[f"{kind} stack"], measures[f"{kind} stack, best lr"] = best, chosen
    return Result(measures)


def shattered_gradients(data: Dataset, profile: Profile, seed: int = 0, depths=(8, 20, 56, 110)) -> Result:
    """Correlation of neighbouring inputs' gradients on the line between two test images, fresh nets."""
    a, b = data.test_images[0], data.test_images[1]
    measures = {
        net_label(depth, shortcut): {
            "neighbour correlation": gradient_correlation(
                build_net(depth, shortcut, data, profile, seed), data.train_images[:512], a, b
            )
        }
        for shortcut in (None, "A")
        for depth in depths
    }
    return Result(measures)


def loss_landscape(data: Dataset, profile: Profile, shallow_plain: nn.Module, seed: int = 0) -> Result:
    """The test loss on a 21x21 grid of two random filter-normalised directions (Li et al. 2018) around three
    trained nets: `shallow_plain` (`construction`'s plain-shallow) and the deep plain and residual pair, trained here."""
    s, d = profile.shallow_depth, profile.deep_depth
    deep = {net_label(d, shortcut): build_net(d, shortcut, data, profile, seed) for shortcut in (None, "A")}
    histories = train_side_by_side(deep, data, profile, seed=seed)
    trained = {f"plain-{s}": shallow_plain, **deep}
    measures, grids = {}, {}
    for label, net in trained.items():
        directions = random_direction(net, seed=1), random_direction(net, seed=2)
        coordinates, losses = loss_grid(
            net, data.test_images[:128], data.test_labels[:128], *directions, span=1.0, points=21
        )
        grids[label] = losses
        measures[label] = {
            "non-convex share of the grid": nonconvex_fraction(losses),
            "local minima per slice": slice_minima(losses),
            "loss at the centre": losses[10][10],
            "largest loss on the grid": max(map(max, losses)),
        }
    return Result(measures, histories, trained, {"grids": grids, "coordinates": coordinates})


# 07 · ResNets in practice


def transfer(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """res-s trained on digits 0-4, then reused for 5-9 with 5 labels per class: fine-tuned, as a frozen body
    (linear probe), against a net trained from scratch on the same 25 images."""
    s, half = profile.shallow_depth, profile.steps // 2
    source, target = select_classes(data, range(5)), select_classes(data, range(5, 10))
    body = build_net(s, "A", source, profile, seed)
    train_model(body, source, profile, f"res-{s} on classes 0-4", seed=seed)
    few = few_labels(target, 5, seed=seed)
    runs = {
        "fine-tuned": (with_new_head(body, 5), 0.01),
        "linear probe": (LinearProbe(body, 5), 0.1),
        "from scratch": (build_net(s, "A", target, profile, seed + 1), 0.1),
    }
    histories = {
        way: train_model(
            net,
            few,
            profile,
            way,
            steps=half,
            lr=lr,
            batch_size=len(few.train_labels),
            seed=seed,
            eval_every=max(1, half // 10),
            compile=False,  # short runs: compiling costs more than it saves
        )
        for way, (net, lr) in runs.items()
    }
    measures = {way: {"test accuracy": h.test_accuracy[-1]} for way, h in histories.items()}
    return Result(measures, histories, {way: net for way, (net, _) in runs.items()}, {"few": few})


def segmentation(data: Dataset, profile: Profile, seed: int = 0) -> Result:
    """A res-s body with a per-pixel head, trained to label the pixels of canvases of digits."""
    digits = data if data.name == "digits" else load_dataset("digits", size=16)  # digits on every profile
    canvases = make_digit_canvases(digits, n_train=1000, n_test=200, seed=seed)
    body = build_net(profile.shallow_depth, "A", canvases, profile, seed, zero_init_residual=True)
    net = SegmentationNet(body, canvases.num_classes)
    history = train_model(net, canvases, profile, "segmentation", batch_size=32, eval_every=0, compile=False, seed=seed)
    predicted = predict_masks(net, canvases.test_images)
    background = torch.zeros_like(predicted)
    measures = {}
    for name, masks in (("res body + head", predicted), ("all background", background)):
        pixels, iou = segmentation_scores(masks, canvases.test_labels, canvases.num_classes)
        measures[name] = {"pixel accuracy": pixels, "mean IoU": iou}
    return Result(
        measures, {"segmentation": history}, {"segmentation": net}, {"canvases": canvases, "predicted": predicted}
    )


def residual_stream(data: Dataset, profile: Profile, seed: int = 0, plot=None) -> Result:
    """32 pre-LN MLP blocks with and without the residual stream, and 4 blocks without it (the shallow control),
    half the profile's steps at lr 0.05. Also, before and after training, how much the last block's output
    varies from image to image (0: every input gives the same output), and at initialisation how the weight
    gradient of the first block compares with the last block's (does it vanish before training starts?)."""
    nets = {}
    for label, depth, residual in (
        ("residual stream", 32, True),
        ("no residual", 32, False),
        ("no residual, 4 blocks", 4, False),
    ):
        torch.manual_seed(seed)
        nets[label] = StreamMLP(
            depth, width=64, residual=residual, in_features=data.train_images[0].numel(), num_classes=data.num_classes
        )
    images = data.train_images[:256]
    at_start = {
        label: {
            "first / last block gradient at the start": _first_over_last_block_gradient(net, data),
            "input dependence at the start": _input_dependence(net, images),
        }
        for label, net in nets.items()
    }
    histories = {
        label: train_model(
            net,
            data,
            profile,
            label,
            [plot.callback(label)] if plot else [],
            steps=profile.steps // 2,
            lr=0.05,
            eval_every=0,
            compile=False,
            seed=seed,
        )
        for label, net in nets.items()
    }
    result = _trained(histories, nets)
    for label, net in nets.items():
        result.measures[label] |= at_start[label] | {"input dependence at the end": _input_dependence(net, images)}
    return result


def _first_over_last_block_gradient(net: StreamMLP, data: Dataset) -> float:
    """||dLoss/dW|| of the first MLP block's first layer over the last block's, on one batch of 128 images."""
    net.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(net(data.train_images[:128]), data.train_labels[:128]).backward()
    first, last = net.blocks[0].branch[0].weight.grad, net.blocks[-1].branch[0].weight.grad
    ratio = (first.norm() / last.norm()).item()
    net.zero_grad(set_to_none=True)
    return ratio


def _input_dependence(net: StreamMLP, images: torch.Tensor) -> float:
    """How much the last block's (normalised) output varies from image to image, relative to its size: the mean
    distance of each image's output from the mean output, over the outputs' mean norm. 0: the net has collapsed,
    every input gives the same output."""
    with torch.no_grad():
        out = net.norm(net.blocks(net.embed(images.flatten(1))))
    return ((out - out.mean(0)).norm(dim=1).mean() / out.norm(dim=1).mean()).item()


# What the seed benchmark records, in the order it runs them. Four are two steps, each step a notebook cell:
# "construction" is `construction` then `construction_trained`; "lesions" reads the nets of "gradients during
# training", "construction restarts" the shallow nets of "construction", "loss landscape" its plain-shallow net.
EXPERIMENTS = {
    "degradation": degradation,
    "degradation budget": degradation_budget,
    "similarity at initialisation": similarity_at_initialisation,
    "branch size": branch_size,
    "pre-activation": pre_activation,
    "gradients at initialisation": gradients_at_initialisation,
    "gradients during training": gradients_during_training,
    "lesions": lesions,
    "basic vs bottleneck": basic_vs_bottleneck,
    "same time": same_time,
    "overfitting": shrinking_data,
    "construction": construction,
    "construction restarts": construction_restarts,
    "learning the identity": learning_the_identity,
    "learning the identity, lr tuned": learning_the_identity_tuned,
    "shattered gradients": shattered_gradients,
    "loss landscape": loss_landscape,
    "transfer": transfer,
    "segmentation": segmentation,
    "residual stream": residual_stream,
}
NEEDS = {
    "lesions": "gradients during training",
    "loss landscape": "construction",
    "construction restarts": "construction",
}


def run(name: str, data: Dataset, profile: Profile, seed: int, done: dict[str, Result]) -> Result:
    """Experiment `name` for `seed`, as the seed benchmark runs it; `done` holds this seed's earlier results."""
    if name == "lesions":
        return lesions(done["gradients during training"].nets, data)
    if name == "construction":
        return construction_trained(construction(data, profile, seed), data, profile, seed)
    if name == "construction restarts":
        return construction_restarts(done["construction"], data, profile, seed)
    if name == "loss landscape":
        return loss_landscape(data, profile, done["construction"].nets[f"plain-{profile.shallow_depth}"], seed)
    return EXPERIMENTS[name](data, profile, seed)
