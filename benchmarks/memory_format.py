"""Which memory format trains faster on this CPU, by image size and thread count (the rule `fit` uses).

    python benchmarks/memory_format.py

For ResNet-20 (width 16 on 32x32, width 8 on 16x16 and 8x8: the course's nets), one training step
(forward, backward, SGD) on a batch of 128, in the default (contiguous, NCHW) and channels_last
(NHWC) memory formats, at 1 thread and at all threads. The first steps pay a one-off start-up cost
(reported apart); then the median of 20 steps is taken, formats interleaved.
"""

import statistics
import time

import torch
import torch.nn.functional as F

from resnet_lab.models import resnet

CASES = [(32, 3, 16), (16, 1, 8), (8, 1, 8)]  # image size, channels, width


def step_seconds(size: int, channels: int, width: int, channels_last: bool, steps: int = 20) -> tuple[float, float]:
    torch.manual_seed(0)
    model = resnet(20, width=width, in_channels=channels)
    x, y = torch.randn(128, channels, size, size), torch.randint(0, 10, (128,))
    if channels_last:
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    times = []
    for _ in range(steps + 2):
        start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return sum(times[:2]), statistics.median(times[2:])


def main() -> None:
    all_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, ResNet-20, batch 128, median ms per training step (first two steps apart)")
    print(f"{'image':>6} {'threads':>7} {'contiguous':>11} {'channels_last':>14} {'speed-up':>9} {'start-up s':>11}")
    for size, channels, width in CASES:
        for threads in sorted({1, all_threads}):
            torch.set_num_threads(threads)
            results = {}
            for channels_last in (False, True, False, True):  # interleaved: a slow moment hits both
                warmup, median = step_seconds(size, channels, width, channels_last)
                results.setdefault(channels_last, []).append((warmup, median))
            nchw = min(m for _, m in results[False])
            nhwc = min(m for _, m in results[True])
            print(
                f"{size:>4}px {threads:>7} {1000 * nchw:>9.1f}ms {1000 * nhwc:>12.1f}ms {nchw / nhwc:>8.2f}x "
                f"{max(w for w, _ in results[False] + results[True]):>10.2f}"
            )
    torch.set_num_threads(all_threads)


if __name__ == "__main__":
    main()
