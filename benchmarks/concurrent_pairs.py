"""Two nets trained one after the other on all threads, or at the same time on one thread each (threads or processes).

    STEPS=300 REPEATS=1 python benchmarks/concurrent_pairs.py     # the README's numbers (default: 60 steps, best of 2)

The notebooks train nets in pairs (plain and residual). On a 2-core laptop a width-8 net at 16x16 does not use two
threads well (issue 15), so two nets side by side might finish sooner than one after the other. The last line is
`resnet_lab.course.experiments.train_side_by_side`, what the notebooks call (the rule `side_by_side_lanes` rests on this).
"""

import dataclasses
import multiprocessing as mp
import os
import threading
import time

import torch

from resnet_lab.course.experiments import train_side_by_side
from resnet_lab.course.profiles import get_profile
from resnet_lab.data import load_dataset
from resnet_lab.models import plain_net, resnet
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import fit

REPEATS = int(os.environ.get("REPEATS", 2))
STEPS = int(os.environ.get("STEPS", 60))


def train(depth: int, residual: bool, threads: int | None = None) -> None:
    if threads:
        torch.set_num_threads(threads)
    data = load_dataset("digits", size=16)
    torch.manual_seed(0)
    net = (resnet if residual else plain_net)(depth, width=8, in_channels=1)
    fit(net, data, HE2015_CIFAR.scaled(STEPS), eval_at_end=False, progress=False)


def sequential() -> float:
    torch.set_num_threads(2)
    start = time.perf_counter()
    train(56, False), train(56, True)
    return time.perf_counter() - start


def in_threads() -> float:
    torch.set_num_threads(1)
    start = time.perf_counter()
    workers = [threading.Thread(target=train, args=(56, r)) for r in (False, True)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    return time.perf_counter() - start


def in_processes() -> float:
    start = time.perf_counter()
    workers = [mp.get_context("spawn").Process(target=train, args=(56, r, 1)) for r in (False, True)]
    [w.start() for w in workers]
    [w.join() for w in workers]
    return time.perf_counter() - start


def with_train_side_by_side() -> float:
    torch.set_num_threads(2)
    data = load_dataset("digits", size=16)
    cpu = get_profile("cpu")
    profile = dataclasses.replace(cpu, recipe=cpu.recipe.scaled(STEPS), eval_every=0)
    nets = {}
    for residual in (False, True):
        torch.manual_seed(0)
        nets[str(residual)] = (resnet if residual else plain_net)(56, width=8, in_channels=1)
    start = time.perf_counter()
    train_side_by_side(nets, data, profile, eval_at_end=False)
    return time.perf_counter() - start


if __name__ == "__main__":
    train(20, True, 2)  # warm-up: data loading and first-step costs
    for name, run in (
        ("one after the other, 2 threads", sequential),
        ("side by side, 2 Python threads x 1", in_threads),
        ("side by side, 2 processes x 1 thread", in_processes),
        ("experiments.train_side_by_side", with_train_side_by_side),
    ):
        seconds = min(run() for _ in range(REPEATS))
        print(
            f"{name:<40} {seconds:6.1f} s for plain-56 + res-56, {STEPS} steps each "
            f"({2 * STEPS * 128 / seconds:.0f} img/s together)",
            flush=True,
        )
