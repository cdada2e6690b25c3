"""Every effect the notebooks assert, rerun over several seeds: the spread a learner's run is shown against.

    python benchmarks/seed_spread.py                          # cpu profile, 5 seeds (about 35 minutes here)
    python benchmarks/seed_spread.py --profile smoke --seeds 5
    python benchmarks/seed_spread.py --experiments landscape  # rerun one part; the others' records are kept

Runs the notebooks' experiments (same nets, budgets and probes, seed 0 being the notebooks' own run),
saves the measurements in resnet_lab/recorded_seeds.json under the profile's name (what
`resnet_lab.course.records.seed_spread` prints beside a learner's run), and prints each asserted effect as
mean ± std over the seeds and as mean / std: the README's table.
"""

import argparse
import json
import math
import statistics
import time

import torch

from resnet_lab.construction import deepen_with_identity_blocks
from resnet_lab.course.experiments import build_net, build_wrn, net_label, train_model, train_side_by_side
from resnet_lab.course.profiles import get_profile
from resnet_lab.course.records import RECORDED, history_measures
from resnet_lab.data import few_labels, load_dataset, make_digit_canvases, select_classes, subset
from resnet_lab.identity import copy_error
from resnet_lab.landscape import loss_grid, nonconvex_fraction, random_direction, slice_minima
from resnet_lab.models import StreamMLP
from resnet_lab.probes import GradientRatioLog, gradient_norms, lesion_accuracy, residual_ratio, similarity_kept
from resnet_lab.shattered import gradient_correlation
from resnet_lab.train import evaluate
from resnet_lab.transfer import LinearProbe, SegmentationNet, predict_masks, segmentation_scores, with_new_head


def trained(net, data, profile, label, seed, **kwargs):
    return train_model(net, data, profile, label, seed=seed, checkpoint=False, **kwargs)


def trained_side_by_side(nets, data, profile, seed, **kwargs):
    """As the notebooks train a pair of one size: at the same time on a CPU (`train_side_by_side`)."""
    return train_side_by_side(nets, data, profile, seed=seed, checkpoint=False, **kwargs)


def degradation(data, profile, seed) -> dict:
    """Notebooks 01 and 03: the plain/residual pair, the gradient ratio during training, lesions."""
    shallow, deep = profile.shallow_depth, profile.deep_depth
    nets = {net_label(d, s): build_net(d, s, data, profile, seed) for d in (shallow, deep) for s in (None, "A")}
    batch = data.train_images[:128], data.train_labels[:128]
    logs = {
        label: GradientRatioLog(nets[label], *batch, every=max(1, profile.steps // 30))
        for label in (f"plain-{deep}", f"res-{deep}")
    }
    # side by side, as notebook 03 trains them (01 trains them one after the other, on all threads)
    histories = trained_side_by_side(nets, data, profile, seed, callbacks={label: [log] for label, log in logs.items()})
    during = {
        label: {"ratio at step 1": log.ratios[1], "ratio at the end": list(log.ratios.values())[-1]}
        for label, log in logs.items()
    }
    during[f"plain-{deep}"]["first step below 10"] = logs[f"plain-{deep}"].first_step_below(10, default=profile.steps)
    lesions = {}
    for label in (f"plain-{shallow}", f"res-{shallow}", f"res-{deep}"):
        accuracies = lesion_accuracy(nets[label], data.test_images, data.test_labels).values
        lesions[label] = {
            "median accuracy, one block deleted": sorted(accuracies)[len(accuracies) // 2],
            "worst accuracy, one block deleted": min(accuracies),
            "worst block": 1 + accuracies.index(min(accuracies)),
        }
    return {
        "degradation": {label: history_measures(h) for label, h in histories.items()},
        "gradient ratio during training": during,
        "lesions": lesions,
    }


def at_initialisation(data, profile, seed) -> dict:
    """Notebooks 01 and 03: probes of freshly initialised 56-layer nets (float64, one batch)."""
    images, labels = data.train_images[:128].double(), data.train_labels[:128]
    grads, kept = {}, {}
    for shortcut in (None, "A"):
        label = net_label(56, shortcut)
        net = build_net(56, shortcut, data, profile, seed).double()
        kept[label] = {"similarity kept after the last block": similarity_kept(net, images).values[-1]}
        grads[label] = {"weight gradients, first / last quarter": gradient_norms(net, images, labels).quarter_ratio()}
        for batch_norm in (True, False):
            net = build_net(56, shortcut, data, profile, seed, batch_norm=batch_norm).double()
            ratio = gradient_norms(net, images, labels, wrt="activations").first_over_last()
            grads[label][f"dE/dx first / last block, {'with' if batch_norm else 'no'} BN"] = ratio
    return {"similarity at initialisation": kept, "gradients at initialisation": grads}


def residual_block(data, profile, seed) -> dict:
    """Notebook 02: branches from zero vs the default initialisation; post- vs pre-activation."""
    nets = {
        label: build_net(20, "A", data, profile, seed, zero_init_residual=zero)
        for label, zero in (("F = 0 at start", True), ("default init", False))
    }
    before = {label: residual_ratio(net, data.test_images).values for label, net in nets.items()}
    trained_side_by_side(nets, data, profile, seed)
    ratios = {}
    for label, net in nets.items():
        after = residual_ratio(net, data.test_images).values
        ratios[label] = {
            "mean ratio before": statistics.mean(before[label]),
            "mean ratio after": statistics.mean(after),
            "largest ratio after": max(after),
        }
    deep = profile.deep_depth
    pair = {
        name: build_net(deep, "A", data, profile, seed, preact=p)
        for p, name in ((False, f"post-act-{deep}"), (True, f"pre-act-{deep}"))
    }
    preact = {name: history_measures(h) for name, h in trained_side_by_side(pair, data, profile, seed).items()}
    return {"branch size": ratios, "pre-activation": preact}


def bottleneck_and_width(data, profile, seed) -> dict:
    """Notebooks 04 and 05: basic vs bottleneck, thin vs wide in the same time, shrinking training sets."""
    blocks = {
        f"{block}-{depth}": history_measures(
            trained(build_net(depth, "A", data, profile, seed, block=block), data, profile, f"{block}-{depth}", seed)
        )
        for depth, block in ((20, "basic"), (29, "bottleneck"))
    }
    same_time = {}
    for name, net in (
        ("ResNet-56", build_net(56, "A", data, profile, seed)),
        ("WRN-16-2", build_wrn(16, 2, data, profile, seed)),
    ):
        h = trained(net, data, profile, name, seed, recipe=profile.recipe.within(profile.time_budget))
        same_time[name] = {**history_measures(h), "steps": len(h.steps)}
    sets = {f"{len(s.train_labels)} images": s for s in (subset(data, f) for f in (1.0, 0.25, 0.1, 0.05))}
    nets = {label: build_net(20, "A", data, profile, seed) for label in sets}
    shrinking = trained_side_by_side(
        nets,
        sets,
        profile,
        seed,
        options={label: {"batch_size": min(profile.batch_size, len(s.train_labels))} for label, s in sets.items()},
    )
    overfitting = {label: history_measures(h) for label, h in shrinking.items()}
    return {"basic vs bottleneck": blocks, "same time": same_time, "overfitting": overfitting}


def why_easier(data, profile, seed) -> dict:
    """Notebook 06: the construction, learning the identity, shattered gradients, the loss landscape."""
    s, d = profile.shallow_depth, profile.deep_depth
    train_loss = lambda net: evaluate(net, data.train_images, data.train_labels)[0]  # noqa: E731
    shallow = {kind: build_net(s, shortcut, data, profile, seed) for kind, shortcut in (("plain", None), ("res", "A"))}
    trained_side_by_side({f"{kind}-{s}": net for kind, net in shallow.items()}, data, profile, seed)
    built = {
        f"{kind}-{d} built": deepen_with_identity_blocks(shallow[kind], d, images=data.train_images[:1000])
        for kind in shallow
    }  # trained side by side, as in the notebook; then plain again at lr 0.01, alone
    built[f"plain-{d} built, lr 0.01"] = deepen_with_identity_blocks(
        shallow["plain"], d, images=data.train_images[:1000]
    )
    start = {label: train_loss(net) for label, net in built.items()}
    pair = {label: built[label] for label in list(built)[:2]}
    trained_side_by_side(pair, data, profile, seed, steps=profile.steps // 2)
    trained(
        built[f"plain-{d} built, lr 0.01"],
        data,
        profile,
        f"plain-{d} built, lr 0.01",
        seed,
        steps=profile.steps // 2,
        lr=0.01,
    )
    construction = {
        label: {
            "shallow net's loss": train_loss(shallow[label.split("-")[0]]),
            "loss at the start": start[label],
            "loss after training": train_loss(net),
        }
        for label, net in built.items()
    }
    images = data.train_images[:1000]
    identity = {
        f"{'residual' if residual else 'plain'} stack": {
            f"k={k}": copy_error(k, residual, images, seed) for k in (2, 4, 8, 16)
        }
        for residual in (False, True)
    }
    a, b = data.test_images[0], data.test_images[1]
    shattered = {
        net_label(depth, shortcut): {
            "neighbour correlation": gradient_correlation(
                build_net(depth, shortcut, data, profile, seed), data.train_images[:512], a, b
            )
        }
        for depth in (8, 20, 56, 110)
        for shortcut in (None, "A")
    }
    return {"construction": construction, "learning the identity": identity, "shattered gradients": shattered}


def landscape(data, profile, seed) -> dict:
    """Notebook 06: the loss landscape around trained plain-s, plain-d and res-d."""
    s, d = profile.shallow_depth, profile.deep_depth
    nets = {
        net_label(depth, shortcut): build_net(depth, shortcut, data, profile, seed)
        for depth, shortcut in ((s, None), (d, None), (d, "A"))
    }
    shallow_pair = {f"plain-{s}": nets[f"plain-{s}"], f"res-{s}": build_net(s, "A", data, profile, seed)}
    trained_side_by_side(shallow_pair, data, profile, seed)  # the notebook's plain-s is one of its shallow pair
    trained_side_by_side({label: nets[label] for label in (f"plain-{d}", f"res-{d}")}, data, profile, seed)
    measures = {}
    for label, net in nets.items():
        _, losses = loss_grid(
            net,
            data.test_images[:128],
            data.test_labels[:128],
            random_direction(net, seed=1),
            random_direction(net, seed=2),
            span=1.0,
            points=21,
        )
        measures[label] = {
            "non-convex share of the grid": nonconvex_fraction(losses),
            "local minima per slice": slice_minima(losses),
            "loss at the centre": losses[10][10],
            "largest loss on the grid": max(map(max, losses)),
        }
    return {"loss landscape": measures}


def in_practice(data, profile, seed) -> dict:
    """Notebook 07: reusing a trained body (transfer), dense prediction (segmentation), the residual stream."""
    s, half = profile.shallow_depth, profile.steps // 2
    source, target = select_classes(data, range(5)), select_classes(data, range(5, 10))
    body = build_net(s, "A", source, profile, seed)
    trained(body, source, profile, "classes 0-4", seed)
    few = few_labels(target, 5, seed=seed)
    runs = {
        "fine-tuned": (with_new_head(body, 5), 0.01),
        "linear probe": (LinearProbe(body, 5), 0.1),
        "from scratch": (build_net(s, "A", target, profile, seed + 1), 0.1),
    }
    transfer = {
        name: {
            "test accuracy": trained(
                net,
                few,
                profile,
                name,
                seed,
                steps=half,
                lr=lr,
                eval_every=0,
                compile=False,
                batch_size=len(few.train_labels),
            ).test_accuracy[-1]
        }
        for name, (net, lr) in runs.items()
    }
    digits = data if data.name == "digits" else load_dataset("digits", size=16)
    canvases = make_digit_canvases(digits, n_train=1000, n_test=200, seed=seed)
    net = SegmentationNet(build_net(s, "A", canvases, profile, seed, zero_init_residual=True), canvases.num_classes)
    trained(net, canvases, profile, "segmentation", seed, batch_size=32, eval_every=0, compile=False)
    predicted = predict_masks(net, canvases.test_images)
    pixels, iou = segmentation_scores(predicted, canvases.test_labels, canvases.num_classes)
    base_pixels, base_iou = segmentation_scores(torch.zeros_like(predicted), canvases.test_labels, canvases.num_classes)
    segmentation = {
        "res body + head": {"pixel accuracy": pixels, "mean IoU": iou},
        "all background": {"pixel accuracy": base_pixels, "mean IoU": base_iou},
    }
    stream = {}
    for residual in (True, False):
        torch.manual_seed(seed)
        mlp = StreamMLP(
            32, width=64, residual=residual, in_features=data.train_images[0].numel(), num_classes=data.num_classes
        )
        h = trained(mlp, data, profile, "stream", seed, steps=half, lr=0.05, eval_every=0, compile=False)
        stream["residual stream" if residual else "no residual"] = history_measures(h)
    return {"transfer": transfer, "segmentation": segmentation, "residual stream": stream}


def notebook_07_effects(e: dict) -> list[tuple[str, list[float]]]:
    """Notebook 07's effects (once `--experiments in_practice` has recorded them)."""
    if "transfer" not in e:
        return []
    t, seg, stream = e["transfer"], e["segmentation"], e["residual stream"]
    minus = lambda a, b: [x - y for x, y in zip(a, b)]  # noqa: E731
    return [
        (
            "07 transfer: fine-tuned minus linear probe, test accuracy",
            minus(t["fine-tuned"]["test accuracy"], t["linear probe"]["test accuracy"]),
        ),
        (
            "07 transfer: fine-tuned minus from scratch, test accuracy",
            minus(t["fine-tuned"]["test accuracy"], t["from scratch"]["test accuracy"]),
        ),
        (
            "07 segmentation: mean IoU minus all-background's",
            minus(seg["res body + head"]["mean IoU"], seg["all background"]["mean IoU"]),
        ),
        (
            "07 32 MLP blocks: no residual minus residual stream, final training loss",
            minus(stream["no residual"]["final training loss"], stream["residual stream"]["final training loss"]),
        ),
    ]


def merge(results: list[dict]) -> dict:
    """[{experiment: {label: {metric: value}}} per seed] -> {experiment: {label: {metric: [values]}}}."""
    merged = {}
    for per_seed in results:
        for experiment, labels in per_seed.items():
            for label, metrics in labels.items():
                for metric, value in metrics.items():
                    merged.setdefault(experiment, {}).setdefault(label, {}).setdefault(metric, []).append(value)
    return merged


def effects(e: dict, profile) -> list[tuple[str, list[float]]]:
    """Each notebook's asserted effect, one value per seed."""
    s, d = profile.shallow_depth, profile.deep_depth
    loss = lambda label: e["degradation"][label]["final training loss"]  # noqa: E731
    minus = lambda a, b: [x - y for x, y in zip(a, b)]  # noqa: E731
    g = e["gradients at initialisation"]
    gap = lambda m: minus(m["test error %"], m["training error %"])  # noqa: E731
    full, *_, smallest = e["overfitting"]
    return (
        [
            (f"01 plain-{d} minus plain-{s}, final training loss", minus(loss(f"plain-{d}"), loss(f"plain-{s}"))),
            (f"01 plain-{d} minus res-{d}, final training loss", minus(loss(f"plain-{d}"), loss(f"res-{d}"))),
            (f"01 res-{d} minus res-{s}, final training loss", minus(loss(f"res-{d}"), loss(f"res-{s}"))),
            (
                f"01 plain-{d} minus plain-{s}, test error %",
                minus(e["degradation"][f"plain-{d}"]["test error %"], e["degradation"][f"plain-{s}"]["test error %"]),
            ),
            (
                "02 from F = 0: largest ||F||/||x|| after training",
                e["branch size"]["F = 0 at start"]["largest ratio after"],
            ),
            (
                "02 default init: mean ||F||/||x||, after minus before",
                minus(
                    e["branch size"]["default init"]["mean ratio after"],
                    e["branch size"]["default init"]["mean ratio before"],
                ),
            ),
            (
                "03 plain-56 / res-56 weight-gradient quarter ratio at init",
                [
                    p / r
                    for p, r in zip(
                        g["plain-56"]["weight gradients, first / last quarter"],
                        g["res-56"]["weight gradients, first / last quarter"],
                    )
                ],
            ),
            (
                "03 plain-56 no BN: log10 dE/dx first / last block",
                [math.log10(v) for v in g["plain-56"]["dE/dx first / last block, no BN"]],
            ),
            (
                f"03 plain-{d}: first step with gradient ratio below 10",
                e["gradient ratio during training"][f"plain-{d}"]["first step below 10"],
            ),
            (
                f"03 res-{d}: median accuracy with one block deleted",
                e["lesions"][f"res-{d}"]["median accuracy, one block deleted"],
            ),
            (
                f"03 plain-{s}: median accuracy with one block deleted",
                e["lesions"][f"plain-{s}"]["median accuracy, one block deleted"],
            ),
            (
                f"05 test minus training error %, {smallest} against {full}",
                minus(gap(e["overfitting"][smallest]), gap(e["overfitting"][full])),
            ),
        ]
        + notebook_06_effects(e, profile)
        + notebook_07_effects(e)
    )


def notebook_06_effects(e: dict, profile) -> list[tuple[str, list[float]]]:
    """Notebook 06's asserted effects (only once `--experiments why_easier landscape` has recorded them)."""
    if "construction" not in e or "loss landscape" not in e:
        return []
    d = profile.deep_depth
    c, i, sh, land = e["construction"], e["learning the identity"], e["shattered gradients"], e["loss landscape"]
    log_ratio = lambda a, b: [math.log10(x / y) for x, y in zip(a, b)]  # noqa: E731
    return [
        (
            f"06 plain-{d} built: log10 loss after / at the start",
            log_ratio(c[f"plain-{d} built"]["loss after training"], c[f"plain-{d} built"]["loss at the start"]),
        ),
        (
            f"06 res-{d} built: log10 loss after / at the start",
            log_ratio(c[f"res-{d} built"]["loss after training"], c[f"res-{d} built"]["loss at the start"]),
        ),
        (
            f"06 plain-{d} built, lr 0.01: log10 loss after / at the start",
            log_ratio(
                c[f"plain-{d} built, lr 0.01"]["loss after training"],
                c[f"plain-{d} built, lr 0.01"]["loss at the start"],
            ),
        ),
        (
            "06 copying, k=16: log10 plain / residual loss",
            log_ratio(i["plain stack"]["k=16"], i["residual stack"]["k=16"]),
        ),
        (
            "06 copying, plain stack: log10 k=16 / k=2 loss",
            log_ratio(i["plain stack"]["k=16"], i["plain stack"]["k=2"]),
        ),
        (
            "06 neighbour correlation at init, res-56 minus plain-56",
            [r - p for r, p in zip(sh["res-56"]["neighbour correlation"], sh["plain-56"]["neighbour correlation"])],
        ),
        (
            f"06 non-convex share of the grid, plain-{d} minus res-{d}",
            [
                p - r
                for p, r in zip(
                    land[f"plain-{d}"]["non-convex share of the grid"], land[f"res-{d}"]["non-convex share of the grid"]
                )
            ],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--experiments",
        nargs="+",
        choices=list(EXPERIMENTS),
        default=list(EXPERIMENTS),
        help="rerun only these (the others' recorded seeds are kept)",
    )
    args = parser.parse_args()
    profile = get_profile(args.profile)
    if profile.name == "smoke":
        torch.set_num_threads(1)  # as course.start does
    data = load_dataset(profile.dataset, size=profile.image_size)
    results, start = [], time.perf_counter()
    for seed in range(args.seeds):
        per_seed = {}
        for name in args.experiments:
            per_seed.update(EXPERIMENTS[name](data, profile, seed))
        results.append(per_seed)
        print(f"seed {seed} done after {time.perf_counter() - start:.0f} s", flush=True)
    merged = merge(results)
    saved = json.loads(RECORDED.read_text()) if RECORDED.exists() else {}
    kept = saved.get(profile.name, {}).get("experiments", {})
    saved[profile.name] = {
        "seeds": args.seeds,
        "command": f"python benchmarks/seed_spread.py --profile {profile.name} --seeds {args.seeds}",
        "torch": torch.__version__,
        "dataset": repr(data),
        "experiments": {**kept, **merged},
    }
    RECORDED.write_text(json.dumps(saved, indent=1) + "\n")
    print(
        f"\nsaved to {RECORDED}\n\n| effect ({profile.name}, {args.seeds} seeds) | mean | std | mean / std |\n|---|---|---|---|"
    )
    for name, values in effects(saved[profile.name]["experiments"], profile):
        mean, std = statistics.mean(values), statistics.stdev(values)
        print(f"| {name} | {mean:.4g} | {std:.3g} | {mean / std if std else float('inf'):.1f} |")


EXPERIMENTS = {
    "degradation": degradation,
    "at_initialisation": at_initialisation,
    "residual_block": residual_block,
    "bottleneck_and_width": bottleneck_and_width,
    "why_easier": why_easier,
    "landscape": landscape,
    "in_practice": in_practice,
}

if __name__ == "__main__":
    main()
