"""Estimate each notebook's training time on Colab's T4 from counted multiply-adds (an estimate, not a timing).

    python benchmarks/gpu_budget.py

Training arithmetic per image = 3 x 2 x forward multiply-adds (forward, and a backward pass that costs
about twice the forward; 2 FLOPs per multiply-add). Assumed T4 throughput: 4 TFLOP/s sustained in float16
on these small-channel CIFAR nets, about 6% of the T4's 65 TFLOP/s float16 tensor-core peak and half its
8.1 TFLOP/s float32 peak (NVIDIA T4 datasheet). Plus, per trained net, an assumed 45 s of torch.compile
and evaluation. Nothing here has been timed on a T4: a person checks it on Colab (see the README).
"""

from resnet_lab.complexity import count_macs
from resnet_lab.course.profiles import PROFILES
from resnet_lab.models import CifarResNet

T4_FLOPS = 4e12
PER_NET_OVERHEAD_S = 45.0
profile = PROFILES["gpu"]


def step_seconds(depth: int, block: str = "basic") -> float:
    macs = count_macs(CifarResNet(depth, block=block, width=profile.width), (3, 32, 32))
    return profile.batch_size * 3 * 2 * macs / T4_FLOPS


# (what trains, seconds) per notebook, as each notebook's cells train on the gpu profile.
S = profile.steps
NOTEBOOKS = {
    "01 degradation": [("plain/res-20 x2", 2 * S * step_seconds(20)), ("plain/res-56 x2", 2 * S * step_seconds(56))],
    "02 residual block": [("res-20 zero-init", S * step_seconds(20)), ("post/pre-act-56", 2 * S * step_seconds(56))],
    "03 gradient flow": [("plain/res-20 x2", 2 * S * step_seconds(20)), ("plain/res-56 x2", 2 * S * step_seconds(56))],
    "04 bottleneck": [("basic-20", S * step_seconds(20)), ("bottleneck-29", S * step_seconds(29, "bottleneck"))],
    "05 wide resnet": [
        ("ResNet-56 vs WRN-16-2, time budget", 2 * profile.time_budget),
        ("ResNet-20 on 4 data sizes", 4 * S * step_seconds(20)),
    ],
    "06 why easier": [
        ("plain/res-20 x2", 2 * S * step_seconds(20)),
        ("three built 56s, half a run each", 1.5 * S * step_seconds(56)),
        ("plain/res-56 x2", 2 * S * step_seconds(56)),
    ],
    "07 in practice": [
        ("res-20 on classes 0-4, 3 seeds", 3 * S * step_seconds(20)),
        ("9 reuse runs, half a run of 25-image batches", 4.5 * S * step_seconds(20) * 25 / profile.batch_size),
        ("segmentation, 32-image batches", S * step_seconds(20) * 32 / profile.batch_size),
    ],
}
NETS = {
    "01 degradation": 4,
    "02 residual block": 3,
    "03 gradient flow": 4,
    "04 bottleneck": 2,
    "05 wide resnet": 6,
    "06 why easier": 7,
    "07 in practice": 6,
}  # 07: 3 compiled nets, and 12 short uncompiled runs at about 10 s of evaluation each

if __name__ == "__main__":
    print(
        f"gpu profile: {S} steps of {profile.batch_size} images per net; assumed {T4_FLOPS / 1e12:.0f} TFLOP/s "
        f"and {PER_NET_OVERHEAD_S:.0f} s compile+eval per net"
    )
    print(
        f"ms per step: ResNet-20 {1000 * step_seconds(20):.1f}, ResNet-56 {1000 * step_seconds(56):.1f}, "
        f"bottleneck-29 {1000 * step_seconds(29, 'bottleneck'):.1f}"
    )
    for name, parts in NOTEBOOKS.items():
        seconds = sum(s for _, s in parts) + NETS[name] * PER_NET_OVERHEAD_S
        print(
            f"{name:<18} about {seconds / 60:4.1f} min  ({'; '.join(f'{what}: {s / 60:.1f} min' for what, s in parts)})"
        )
