"""Every notebook experiment rerun over seeds: the records that the claims ledger and the notebooks read.

    python benchmarks/seed_spread.py --profile smoke                          # every experiment, seeds 0-7
    python benchmarks/seed_spread.py --profile cpu --seeds 0 1 2 --experiments "degradation budget"
    python benchmarks/seed_spread.py --profile cpu --seeds 5 6 7 --experiments degradation

Runs the experiments of `resnet_lab.course.runs` (the very functions the notebooks call, so the same
nets, budgets, threads and probes; seed 0 is a notebook's own run) and saves each seed's measures and
curves in resnet_lab/course/recorded_seeds.json as soon as it is done (an interrupted run keeps what it
finished; the other seeds' and experiments' records are kept). Then prints the claims over the records.
Seeds 0-4 are the recorded seeds the prose is written against; 5-7 are held out (see records.py). The controls
recorded on fewer seeds or profiles (records.FEWER_SEEDS: "degradation budget" takes about 30 minutes a seed) run
only when named.
"""

import argparse
import time
from pathlib import Path

import torch

from resnet_lab.course.claims import CLAIMS, support
from resnet_lab.course.profiles import get_profile
from resnet_lab.course.records import FEWER_SEEDS, HELD_OUT_SEEDS, RECORDED, RECORDED_SEEDS, save
from resnet_lab.course.runs import EXPERIMENTS, NEEDS, run
from resnet_lab.data import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[*RECORDED_SEEDS, *HELD_OUT_SEEDS])
    usual = [name for name in EXPERIMENTS if name not in FEWER_SEEDS]
    parser.add_argument("--experiments", nargs="+", choices=list(EXPERIMENTS), default=usual)
    parser.add_argument("--records", type=Path, default=RECORDED, help="where to save (default: the package's)")
    args = parser.parse_args()
    profile = get_profile(args.profile)
    if profile.name == "smoke":
        torch.set_num_threads(1)  # as course.start does
    data = load_dataset(profile.dataset, size=profile.image_size)
    wanted = [name for name in EXPERIMENTS if name in args.experiments or name in map(NEEDS.get, args.experiments)]
    start = time.perf_counter()
    for seed in args.seeds:
        done = {}
        for name in wanted:
            done[name] = run(name, data, profile, seed, done)
            save(profile.name, seed, name, done[name], args.records)
            print(f"seed {seed} {name}: done after {time.perf_counter() - start:.0f} s", flush=True)
    print(f"\n| claim ({profile.name}) | recorded seeds | held-out seeds |\n|---|---|---|")
    for claim in CLAIMS:
        if claim.experiment in wanted:
            recorded, held_out = (
                support(claim, profile, path=args.records),
                support(claim, profile, HELD_OUT_SEEDS, args.records),
            )
            print(f"| {claim.id} | {recorded} | {held_out} |")


if __name__ == "__main__":
    main()
