"""Which digits resolution: the degradation pair at 8x8, and at 16x16 by upsampling or by padding.

    python benchmarks/resolution.py --seeds 3 [--threads 2]

On 8x8 digits the third stage of a CIFAR-family net runs on 2x2 feature maps, where a zero-padded
3x3 convolution uses 4 of its 9 taps. This trains plain/res at the cpu profile's depths on each
version of the data, over seeds, and prints the final training loss, training error and seconds.
"""

import argparse
import statistics
import time

import torch

from resnet_lab.course.experiments import train_net
from resnet_lab.course.profiles import get_profile
from resnet_lab.data import load_digits

VERSIONS = {"8x8": (8, "native"), "16 upsampled": (16, "upsample"), "16 padded": (16, "pad")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--versions", nargs="*", default=list(VERSIONS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    profile = get_profile(args.profile)
    nets = [
        (profile.shallow_depth, None),
        (profile.deep_depth, None),
        (profile.shallow_depth, "A"),
        (profile.deep_depth, "A"),
    ]
    for version in args.versions:
        size, how = VERSIONS[version]
        data = load_digits(size=size, resize=how if how != "native" else "upsample")
        for depth, shortcut in nets:
            losses, errors, seconds = [], [], []
            for seed in range(args.seeds):
                start = time.perf_counter()
                h = train_net(depth, shortcut, data, profile, seed, checkpoint=False, compile=False, eval_every=0)
                seconds.append(time.perf_counter() - start)
                losses.append(h.final_loss())
                errors.append(h.training_error())
            name = f"{'plain' if shortcut is None else 'res'}-{depth}"
            print(
                f"{version:>13} {name:>9}  loss {statistics.mean(losses):.4f} ± {statistics.stdev(losses):.4f} "
                f"[{' '.join(f'{v:.3f}' for v in losses)}]  train error {statistics.mean(errors):5.1f}% "
                f"[{' '.join(f'{v:.1f}' for v in errors)}]  {statistics.mean(seconds):5.1f} s/run",
                flush=True,
            )


if __name__ == "__main__":
    main()
