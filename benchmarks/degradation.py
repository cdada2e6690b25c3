"""The degradation problem, measured: plain and residual nets, shallow vs deep, over several seeds.

    python benchmarks/degradation.py                      # the cpu profile's pair (20 vs 56)
    python benchmarks/degradation.py --depths 8 32 --seeds 5 --profile smoke

Prints the final training loss (mean mini-batch loss of the last 10 steps) of every model and
the deep-minus-shallow gap for plain and residual nets, per seed, and the time taken.
"""

import argparse
import time

import torch

from resnet_lab.course.experiments import train_net
from resnet_lab.course.profiles import get_profile
from resnet_lab.data import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--depths", type=int, nargs=2, default=None, help="shallow and deep depth")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    shallow, deep = args.depths or (profile.shallow_depth, profile.deep_depth)
    steps = args.steps or profile.steps
    data = load_dataset(profile.dataset, size=profile.image_size)
    print(
        f"profile={profile.name} dataset={data.name} steps={steps} batch={profile.batch_size} "
        f"width={profile.width} threads={args.threads}"
    )
    print(
        f"{'seed':>4} {'plain-' + str(shallow):>10} {'plain-' + str(deep):>10} {'res-' + str(shallow):>10} "
        f"{'res-' + str(deep):>10} {'plain gap':>10} {'res gap':>10} {'seconds':>8}"
    )
    for seed in range(args.seeds):
        start = time.perf_counter()
        losses = []
        for shortcut in (None, "A"):
            for depth in (shallow, deep):
                history = train_net(
                    depth,
                    shortcut,
                    data,
                    profile,
                    seed,
                    steps=steps,
                    eval_at_end=False,
                    checkpoint=False,
                    compile=False,
                )
                losses.append(history.final_loss())
        print(
            f"{seed:>4} "
            + " ".join(f"{v:>10.4f}" for v in losses)
            + f" {losses[1] - losses[0]:>10.3f} {losses[3] - losses[2]:>10.3f} {time.perf_counter() - start:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
