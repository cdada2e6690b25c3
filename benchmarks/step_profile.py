"""Where one training step of the cpu profile's deep net spends its time (torch.profiler), and what is left to gain.

    python benchmarks/step_profile.py

ResNet-56, width 8, digits at 16x16, batch 128, all threads: 20 `fit` steps after 5 of warm-up, profiled. Prints
each kind of operation's share of the CPU time, and the forward convolutions' rate against this machine's matmul
peak. Then one BatchNorm layer in training mode against a ReLU on the same 128x8x16x16 tensor: PyTorch's CPU
kernel gathers each channel's statistics in a scalar loop, so BN costs far more than its arithmetic.
"""

import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from resnet_lab.complexity import count_macs
from resnet_lab.data import load_dataset
from resnet_lab.models import resnet
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import fit

GROUPS = {
    "convolution forward": ("aten::mkldnn_convolution", "aten::thnn_conv2d", "aten::_slow_conv2d_forward"),
    "convolution backward": ("aten::convolution_backward",),
    "batch norm forward": ("aten::native_batch_norm",),
    "batch norm backward": ("aten::native_batch_norm_backward",),
}


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start) / 1e9


def microseconds(fn, repeats: int = 200) -> float:
    for _ in range(10):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    data = load_dataset("digits", size=16)
    torch.manual_seed(0)
    model = resnet(56, width=8, in_channels=1)
    fit(model, data, HE2015_CIFAR.scaled(5), progress=False, eval_at_end=False)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fit(model, data, HE2015_CIFAR.scaled(20), progress=False, eval_at_end=False)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(f"{torch.get_num_threads()} threads, 20 steps: {total / 1e6:.2f} s of CPU time in operators")
    for group, names in GROUPS.items():
        share = sum(e.self_cpu_time_total for e in events if e.key in names) / total
        print(f"  {group:<22} {100 * share:5.1f}%")
    conv = [e for e in events if e.key in GROUPS["convolution forward"]]
    calls, seconds = sum(e.count for e in conv), sum(e.self_cpu_time_total for e in conv) / 1e6
    macs = count_macs(model, (1, 16, 16)) * 128  # convolutions and the linear layer, per batch
    print(
        f"  forward convolutions: {calls // 20} per step, {2 * macs * 20 / seconds / 1e9:.0f} GFLOP/s "
        f"against a matmul peak of {matmul_gflops():.0f} GFLOP/s"
    )
    x = torch.randn(128, 8, 16, 16)
    bn = nn.BatchNorm2d(8).train()
    print(
        f"one 128x8x16x16 tensor: BatchNorm (training mode) {microseconds(lambda: bn(x)):.0f} us, "
        f"ReLU {microseconds(lambda: torch.relu(x)):.0f} us"
    )


if __name__ == "__main__":
    main()
