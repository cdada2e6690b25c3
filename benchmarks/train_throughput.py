"""Training throughput of `resnet_lab.train.fit` against two baselines, in one run.

    python benchmarks/train_throughput.py                  # ResNet-20 on CIFAR-shaped data
    python benchmarks/train_throughput.py --dataset digits --depth 20 --width 8

1. fit            the course's loop: device-resident data, batched crop+flip on the device,
                  History, lr schedule, non-finite guard.
2. bare loop      the least a hand-written loop can do on the same tensors and model: index a
                  random batch, the same batched crop+flip, forward, backward, SGD step.
3. DataLoader     the conventional way: torch.utils.data.DataLoader over a Dataset whose
                  __getitem__ applies torchvision's RandomCrop and RandomHorizontalFlip per image.

Every method trains the same model (same init), in the memory format `fit` chooses
(`resnet_lab.train.channels_last_pays`), for the same number of steps; each is repeated and the
median images/s is reported, with the ratios. The first WARMUP_STEPS steps of every run pay a
one-off start-up cost (allocator, kernel selection): they are timed apart and reported separately.
Each rate is also shown as a fraction of this machine's float32 matmul peak (a 4096x4096 matmul),
counting training as 3 x 2 x forward multiply-adds per image (the backward pass is counted as twice
the forward, which slightly overstates it). Targets: fit within 5% of the bare loop; ResNet-20 on
CIFAR-shaped data at about the matmul peak with all threads.
CIFAR-10 cannot be downloaded here, so the default data are random images of CIFAR-10's shape
(the cost of a step does not depend on the pixel values).
"""

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision.transforms import v2

from resnet_lab.complexity import count_macs
from resnet_lab.data import Dataset, load_digits, random_crop, random_flip
from resnet_lab.models import resnet
from resnet_lab.recipe import HE2015_CIFAR
from resnet_lab.train import STARTUP_STEPS as WARMUP_STEPS
from resnet_lab.train import channels_last_pays, fit


def cifar_shaped(n: int, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return Dataset(
        "cifar-shaped",
        images,
        labels,
        images[:256],
        labels[:256],
        [str(c) for c in range(10)],
        [0.0] * 3,
        [1.0] * 3,
        crop_padding=4,
        flip=True,
    )


def make_model(args, data):
    torch.manual_seed(0)
    return resnet(args.depth, width=args.width, in_channels=data.in_channels, num_classes=data.num_classes)


def run_fit(args, data) -> tuple[float, float]:
    """(start-up seconds of the first WARMUP_STEPS steps, seconds of the rest)."""
    model = make_model(args, data)
    recipe = HE2015_CIFAR.scaled(args.steps, batch_size=args.batch_size)
    history = fit(model, data, recipe, progress=False, eval_at_end=False, device=args.device)
    warm = history.elapsed[WARMUP_STEPS - 1]
    return warm, history.elapsed[-1] - warm


def run_bare(args, data) -> float:
    device = torch.device(args.device)
    model = make_model(args, data).to(device).train()
    channels_last = channels_last_pays(device, data.image_size)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    images, labels = data.train_images.to(device), data.train_labels.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator(device=device).manual_seed(0)
    start = time.perf_counter()
    warm = 0.0
    order = torch.randperm(len(labels), device=device, generator=g)
    for step in range(args.steps):
        i = step % (len(labels) // args.batch_size)
        if i == 0 and step:
            order = torch.randperm(len(labels), device=device, generator=g)
        idx = order[i * args.batch_size : (i + 1) * args.batch_size]
        x, y = images[idx], labels[idx]
        if data.crop_padding:
            x = random_crop(x, data.crop_padding, g)
        if data.flip:
            x = random_flip(x, g)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step + 1 == WARMUP_STEPS:
            warm = time.perf_counter() - start
    if device.type == "cuda":
        torch.cuda.synchronize()
    return warm, time.perf_counter() - start - warm


class PerImageDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def run_dataloader(args, data) -> float:
    device = torch.device(args.device)
    model = make_model(args, data).to(device).train()
    channels_last = channels_last_pays(device, data.image_size)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    size = data.image_size
    transforms = ([v2.RandomCrop(size, padding=data.crop_padding)] if data.crop_padding else []) + (
        [v2.RandomHorizontalFlip()] if data.flip else []
    )
    transform = v2.Compose(transforms) if transforms else v2.Identity()
    loader = DataLoader(
        PerImageDataset(data.train_images, data.train_labels, transform),
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    start = time.perf_counter()
    step, warm = 0, 0.0
    while step < args.steps:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step == WARMUP_STEPS:
                warm = time.perf_counter() - start
            if step == args.steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return warm, time.perf_counter() - start - warm


def matmul_gflops(threads: int, n: int = 4096, repeats: int = 3) -> float:
    """float32 GFLOP/s of an n x n matmul on `threads` threads: this machine's arithmetic peak, in practice."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n**3 / min(times) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["cifar-shaped", "digits"], default="cifar-shaped")
    parser.add_argument("--depth", type=int, default=20)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (the tutorials' 2)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    peaks = {1: matmul_gflops(1), args.threads: matmul_gflops(args.threads)}
    torch.set_num_threads(args.threads)
    data = cifar_shaped(5000) if args.dataset == "cifar-shaped" else load_digits(size=16)  # the cpu profile's digits
    flops_per_image = 3 * 2 * count_macs(make_model(args, data), (data.in_channels, data.image_size, data.image_size))
    memory_format = "channels_last" if channels_last_pays(torch.device(args.device), data.image_size) else "contiguous"
    print(
        f"ResNet-{args.depth} width {args.width}, batch {args.batch_size}, {args.steps} steps x "
        f"{args.repeats} repeats, {data.name}, device {args.device}, {args.threads} threads, {memory_format}, "
        f"torch {torch.__version__}"
    )
    print(
        "matmul peak (4096x4096 float32): "
        + ", ".join(f"{t} thread{'s' if t > 1 else ''} {g:.0f} GFLOP/s" for t, g in peaks.items())
    )
    methods = {"fit": run_fit, "bare loop": run_bare, "DataLoader": run_dataloader}
    seconds = {name: [] for name in methods}
    startup = {name: [] for name in methods}
    for _ in range(args.repeats):  # interleaved, so a slow moment of the machine hits all three
        for name, run in methods.items():
            warm, rest = run(args, data)
            startup[name].append(warm)
            seconds[name].append(rest)
    timed_images = (args.steps - WARMUP_STEPS) * args.batch_size
    rate = {name: timed_images / statistics.median(s) for name, s in seconds.items()}
    peak = peaks[args.threads]
    for name in methods:
        gflops = rate[name] * flops_per_image / 1e9
        print(
            f"{name:>12}: {rate[name]:7.0f} images/s = {gflops:5.0f} GFLOP/s = {gflops / peak:.2f} of the matmul "
            f"peak; first {WARMUP_STEPS} steps {statistics.median(startup[name]):.2f} s (start-up, not counted)"
        )
    print(f"fit / bare loop   = {rate['fit'] / rate['bare loop']:.3f}")
    print(f"fit / DataLoader  = {rate['fit'] / rate['DataLoader']:.3f}")


if __name__ == "__main__":
    main()
