"""Training throughput of `resnet_lab.train.fit` against two baselines, in one run.

    python benchmarks/train_throughput.py                  # ResNet-20 on CIFAR-shaped data
    python benchmarks/train_throughput.py --dataset digits --depth 20 --width 8

1. fit            the course's loop: device-resident data, batched crop+flip on the device,
                  History, lr schedule, non-finite guard.
2. bare loop      the least a hand-written loop can do on the same tensors and model: index a
                  random batch, the same batched crop+flip, forward, backward, SGD step.
3. DataLoader     the conventional way: torch.utils.data.DataLoader over a Dataset whose
                  __getitem__ applies torchvision's RandomCrop and RandomHorizontalFlip per image.

Every method trains the same model (same init) for the same number of steps; each is repeated
and the median images/s is reported, with the ratios. The target: fit within 5% of the bare loop.
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

from resnet_lab.data import Dataset, load_digits, random_crop, random_flip
from resnet_lab.models import resnet
from resnet_lab.train import fit


def cifar_shaped(n: int, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    images = torch.randn(n, 3, 32, 32, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return Dataset("cifar-shaped", images, labels, images[:256], labels[:256], [str(c) for c in range(10)],
                   [0.0] * 3, [1.0] * 3, crop_padding=4, flip=True)


def make_model(args, data):
    torch.manual_seed(0)
    return resnet(args.depth, width=args.width, in_channels=data.in_channels, num_classes=data.num_classes)


def run_fit(args, data) -> float:
    model = make_model(args, data)
    start = time.perf_counter()
    fit(model, data, steps=args.steps, batch_size=args.batch_size, progress=False, eval_at_end=False,
        device=args.device)
    return time.perf_counter() - start


def run_bare(args, data) -> float:
    device = torch.device(args.device)
    model = make_model(args, data).to(device).train()
    images, labels = data.train_images.to(device), data.train_labels.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    g = torch.Generator(device=device).manual_seed(0)
    start = time.perf_counter()
    order = torch.randperm(len(labels), device=device, generator=g)
    for step in range(args.steps):
        i = step % (len(labels) // args.batch_size)
        if i == 0 and step:
            order = torch.randperm(len(labels), device=device, generator=g)
        idx = order[i * args.batch_size:(i + 1) * args.batch_size]
        x, y = images[idx], labels[idx]
        if data.crop_padding:
            x = random_crop(x, data.crop_padding, g)
        if data.flip:
            x = random_flip(x, g)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


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
    size = data.image_size
    transforms = ([v2.RandomCrop(size, padding=data.crop_padding)] if data.crop_padding else []) \
        + ([v2.RandomHorizontalFlip()] if data.flip else [])
    transform = v2.Compose(transforms) if transforms else v2.Identity()
    loader = DataLoader(PerImageDataset(data.train_images, data.train_labels, transform),
                        batch_size=args.batch_size, shuffle=True, drop_last=True,
                        num_workers=args.workers, pin_memory=device.type == "cuda",
                        persistent_workers=args.workers > 0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    start = time.perf_counter()
    step = 0
    while step < args.steps:
        for x, y in loader:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            if step == args.steps:
                break
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


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

    torch.set_num_threads(args.threads)
    data = cifar_shaped(5000) if args.dataset == "cifar-shaped" else load_digits()
    print(f"ResNet-{args.depth} width {args.width}, batch {args.batch_size}, {args.steps} steps x "
          f"{args.repeats} repeats, {data.name}, device {args.device}, {args.threads} threads, "
          f"torch {torch.__version__}")
    methods = {"fit": run_fit, "bare loop": run_bare, "DataLoader": run_dataloader}
    run_bare(argparse.Namespace(**{**vars(args), "steps": 5}), data)  # warm up kernels and allocator
    seconds = {name: [] for name in methods}
    for _ in range(args.repeats):  # interleaved, so a slow moment of the machine hits all three
        for name, run in methods.items():
            seconds[name].append(run(args, data))
    rate = {name: args.steps * args.batch_size / statistics.median(s) for name, s in seconds.items()}
    for name in methods:
        print(f"{name:>12}: {rate[name]:8.0f} images/s  (median of {', '.join(f'{s:.2f}' for s in seconds[name])} s)")
    print(f"fit / bare loop   = {rate['fit'] / rate['bare loop']:.3f}")
    print(f"fit / DataLoader  = {rate['fit'] / rate['DataLoader']:.3f}")


if __name__ == "__main__":
    main()
