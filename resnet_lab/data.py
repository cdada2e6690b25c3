"""Datasets as tensors, and a loader that keeps the whole split on the device.

`load_dataset(name)` returns every dataset in one shape, a `Dataset`:
    "digits"     scikit-learn's bundled 8x8 handwritten digits (1,797 images, 1 channel): offline,
                 real data, small enough to train deep nets on a CPU in seconds. The CPU profiles
                 upsample them to 16x16, so that a CIFAR-family net's last stage works on 4x4 maps
                 (at 8x8 it would be 2x2, where a zero-padded 3x3 convolution sees mostly padding:
                 benchmarks/resolution.py).
    "cifar10"    CIFAR-10 through torchvision (50,000 + 10,000 images, 3x32x32), downloaded on demand.
    "synthetic"  random images whose class is a fixed pattern plus noise: for tests only.

`DeviceLoader` serves training batches without a DataLoader (the airbench approach): the images
sit on the device as one tensor; every batch is a random crop and flip done on the device for the
whole batch at once. Batch number `step` depends only on (seed, step), so a resumed run sees
exactly the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from sklearn.datasets import load_digits as sklearn_digits
from sklearn.model_selection import train_test_split

DATASETS = ("digits", "cifar10", "synthetic")
SEED_MIXING_PRIME = 1_000_003


@dataclass
class Dataset:
    """Normalised float32 images (N, C, H, W) and int64 labels, with what a notebook needs to know."""

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: list[str]
    mean: list[float]  # per channel, of the raw training images (before normalising)
    std: list[float]
    crop_padding: int  # the augmentation this dataset is trained with
    flip: bool

    @property
    def in_channels(self) -> int:
        return self.train_images.shape[1]

    @property
    def image_size(self) -> int:
        return self.train_images.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        c, h, w = self.train_images.shape[1:]
        return (
            f"Dataset({self.name!r}: {len(self.train_labels)} train / {len(self.test_labels)} test "
            f"images of {c}x{h}x{w}, {self.num_classes} classes)"
        )


def _normalised(name, train_x, train_y, test_x, test_y, classes, crop_padding, flip) -> Dataset:
    """Scale by the training set's per-channel mean and std."""
    mean = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std = train_x.std(dim=(0, 2, 3), keepdim=True)
    return Dataset(
        name,
        (train_x - mean) / std,
        train_y,
        (test_x - mean) / std,
        test_y,
        classes,
        mean.flatten().tolist(),
        std.flatten().tolist(),
        crop_padding,
        flip,
    )


def load_digits(test_fraction: float = 0.25, seed: int = 0, size: int = 8, resize: str = "upsample") -> Dataset:
    """scikit-learn's 8x8 digits, split into train/test by `seed` (stratified). No augmentation:
    a mirrored digit is another symbol, and the degradation experiments measure how well a net fits.

    size: 8 keeps the originals; a multiple of 8 makes them larger, by bilinear upsampling
    (resize="upsample") or by a border of background (resize="pad").
    """
    if not isinstance(size, int) or size < 8 or size % 8:
        raise ValueError(f"size={size!r} is not valid: it must be 8 or a larger multiple of 8")
    if resize not in ("upsample", "pad"):
        raise ValueError(f"resize={resize!r} is not valid: use 'upsample' or 'pad'")
    digits = sklearn_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1)  # (1797, 1, 8, 8), values 0..16
    if size > 8 and resize == "upsample":
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    elif size > 8:
        border = (size - 8) // 2
        images = torch.nn.functional.pad(images, (border,) * 4)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    train_idx, test_idx = train_test_split(
        range(len(labels)), test_size=test_fraction, random_state=seed, stratify=digits.target
    )
    return _normalised(
        "digits",
        images[train_idx],
        labels[train_idx],
        images[test_idx],
        labels[test_idx],
        [str(d) for d in range(10)],
        crop_padding=0,
        flip=False,
    )


def load_cifar10(root: str | Path = "data", download: bool = True) -> Dataset:
    """CIFAR-10 via torchvision, with the paper's augmentation (4-pixel pad, random crop, flip)."""
    from torchvision.datasets import (
        CIFAR10,  # imported here, where it is used: it slows every notebook's start (README, Performance)
    )

    try:
        train = CIFAR10(str(root), train=True, download=download)
        test = CIFAR10(str(root), train=False, download=download)
    except Exception as error:  # no network, a proxy, a half-finished download...
        raise RuntimeError(
            f"could not load CIFAR-10 into {str(root)!r} ({type(error).__name__}: {error}). "
            "It needs a network connection the first time. Offline, use dataset='digits'."
        ) from error

    def as_tensors(split):
        images = torch.from_numpy(split.data).permute(0, 3, 1, 2).float() / 255  # NHWC uint8 -> NCHW
        return images, torch.tensor(split.targets, dtype=torch.int64)

    return _normalised("cifar10", *as_tensors(train), *as_tensors(test), list(train.classes), crop_padding=4, flip=True)


def make_synthetic(
    n_train: int = 512,
    n_test: int = 128,
    num_classes: int = 4,
    channels: int = 1,
    size: int = 8,
    noise: float = 1.0,
    seed: int = 0,
) -> Dataset:
    """A small learnable set for tests: class c is a fixed random pattern plus Gaussian noise."""
    g = torch.Generator().manual_seed(seed)
    patterns = torch.randn(num_classes, channels, size, size, generator=g)

    def sample(n):
        labels = torch.arange(n) % num_classes
        return patterns[labels] + noise * torch.randn(n, channels, size, size, generator=g), labels

    return _normalised(
        "synthetic",
        *sample(n_train),
        *sample(n_test),
        [f"pattern {c}" for c in range(num_classes)],
        crop_padding=0,
        flip=False,
    )


def load_dataset(
    name: str, root: str | Path = "data", download: bool = True, seed: int = 0, size: int | None = None
) -> Dataset:
    """One of DATASETS by name; `size` upsamples the digits (None keeps each dataset's own size)."""
    if size is not None and name != "digits":
        raise ValueError(f"size={size!r} is not valid for dataset={name!r}: only the digits can be resized")
    if name == "digits":
        return load_digits(seed=seed, size=size or 8)
    if name == "cifar10":
        return load_cifar10(root, download)
    if name == "synthetic":
        return make_synthetic(seed=seed)
    raise ValueError(f"dataset={name!r} is not known: use one of {DATASETS}")


def subset(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """The same dataset with only `fraction` of its training images (stratified by class); same test set."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} is not valid: it must be in (0, 1]")
    return _per_class(data, lambda n: max(1, round(fraction * n)), seed)


def select_classes(data: Dataset, classes: Sequence[int]) -> Dataset:
    """The images of `classes` only, relabelled 0..len(classes)-1 in the order given."""
    if not classes or len(set(classes)) != len(classes) or not all(0 <= c < data.num_classes for c in classes):
        raise ValueError(
            f"classes={list(classes)!r} is not valid: give distinct class numbers from 0 to {data.num_classes - 1}"
        )
    lookup = torch.full((data.num_classes,), -1, dtype=torch.int64)
    lookup[list(classes)] = torch.arange(len(classes))

    def keep(images, labels):
        chosen = lookup[labels] >= 0
        return images[chosen], lookup[labels[chosen]]

    train, test = keep(data.train_images, data.train_labels), keep(data.test_images, data.test_labels)
    return replace(
        data,
        train_images=train[0],
        train_labels=train[1],
        test_images=test[0],
        test_labels=test[1],
        classes=[data.classes[c] for c in classes],
    )


def few_labels(data: Dataset, per_class: int, seed: int = 0) -> Dataset:
    """The same task with `per_class` training images of each class, drawn by `seed`; same test set."""
    smallest = torch.bincount(data.train_labels, minlength=data.num_classes).min().item()
    if not isinstance(per_class, int) or not 1 <= per_class <= smallest:
        raise ValueError(
            f"per_class={per_class!r} is not valid: it must be an integer from 1 to {smallest} (the smallest class)"
        )
    return _per_class(data, lambda n: per_class, seed)


def _per_class(data: Dataset, how_many, seed: int) -> Dataset:
    """Keep how_many(n) random training images of each class of n images (drawn by `seed`)."""
    g = torch.Generator().manual_seed(seed)
    keep = []
    for c in range(data.num_classes):
        idx = (data.train_labels == c).nonzero().flatten()
        keep.append(idx[torch.randperm(len(idx), generator=g)[: how_many(len(idx))]])
    keep = torch.cat(keep).sort().values
    return replace(data, train_images=data.train_images[keep], train_labels=data.train_labels[keep])


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Pad every image by `padding` zeros, then cut a random window of the original size from each."""
    n, c, h, w = images.shape
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1, 1), device=images.device, generator=generator)
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1, 1), device=images.device, generator=generator)
    rows = dy + torch.arange(h, device=images.device).view(1, 1, h, 1)
    cols = dx + torch.arange(w, device=images.device).view(1, 1, 1, w)
    batch = torch.arange(n, device=images.device).view(n, 1, 1, 1)
    channel = torch.arange(c, device=images.device).view(1, c, 1, 1)
    return padded[batch, channel, rows, cols]


def random_flip(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(len(images), 1, 1, 1, device=images.device, generator=generator) < 0.5
    return torch.where(flip, images.flip(3), images)


class DeviceLoader:
    """Training batches from tensors that live on `device`.

    `batch(step)` is the step-th batch of an endless sequence of epochs. Each epoch is a fresh
    `randperm` of the training set (the last incomplete batch is dropped); each batch is
    augmented on the device with the dataset's crop padding and flip.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        *,
        crop_padding: int = 0,
        flip: bool = False,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ):
        if not isinstance(batch_size, int) or not 1 <= batch_size <= len(labels):
            raise ValueError(
                f"batch_size={batch_size!r} is not valid: it must be an integer from 1 to "
                f"the number of training images ({len(labels)})"
            )
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size = batch_size
        self.crop_padding, self.flip, self.seed = crop_padding, flip, seed
        self.steps_per_epoch = len(labels) // batch_size
        self.generator = torch.Generator(device=self.device)
        self._epoch, self._order = None, None

    @classmethod
    def for_training(cls, data: Dataset, batch_size: int, seed: int = 0, device="cpu") -> DeviceLoader:
        """The loader for `data`'s training split, with that dataset's augmentation."""
        return cls(
            data.train_images,
            data.train_labels,
            batch_size,
            crop_padding=data.crop_padding,
            flip=data.flip,
            seed=seed,
            device=device,
        )

    def _seed(self, *parts: int) -> None:
        # One generator, re-seeded from (seed, purpose, number): reproducible from the step alone.
        # Mixing the parts with a large prime keeps different (purpose, number) pairs on different seeds.
        seed = self.seed
        for part in parts:
            seed = seed * SEED_MIXING_PRIME + part
        self.generator.manual_seed(seed % 2**63)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self._epoch:
            self._seed(0, epoch)
            self._order = torch.randperm(len(self.labels), device=self.device, generator=self.generator)
            self._epoch = epoch
        idx = self._order[i * self.batch_size : (i + 1) * self.batch_size]
        x, y = self.images[idx], self.labels[idx]
        if self.crop_padding or self.flip:
            self._seed(1, step)
            if self.crop_padding:
                x = random_crop(x, self.crop_padding, self.generator)
            if self.flip:
                x = random_flip(x, self.generator)
        return x, y

    def __len__(self) -> int:
        return self.steps_per_epoch


def make_digit_canvases(
    digits: Dataset, n_train: int = 1000, n_test: int = 200, per_canvas: int = 2, seed: int = 0
) -> Dataset:
    """A segmentation task made from `digits`: canvases of 2x2 cells, `per_canvas` digits in random cells,
    every pixel labelled 0 (background) or 1 + the digit drawn there (ink above a quarter of full strength).

    Training canvases use the training digits and test canvases the test digits.
    """
    if not 1 <= per_canvas <= 4:
        raise ValueError(f"per_canvas={per_canvas!r} is not valid: a canvas has 4 cells, use 1 to 4")
    size = digits.image_size
    g = torch.Generator().manual_seed(seed)

    def canvases(images, labels, n):
        raw = images * digits.std[0] + digits.mean[0]  # back to ink, 0..16
        canvas = torch.zeros(n, 1, 2 * size, 2 * size)
        mask = torch.zeros(n, 2 * size, 2 * size, dtype=torch.int64)
        for i in range(n):
            for cell in torch.randperm(4, generator=g)[:per_canvas].tolist():
                k = torch.randint(len(labels), (1,), generator=g).item()
                rows, cols = (
                    slice(cell // 2 * size, (cell // 2 + 1) * size),
                    slice(cell % 2 * size, (cell % 2 + 1) * size),
                )
                canvas[i, 0, rows, cols] = raw[k, 0]
                mask[i, rows, cols] = torch.where(raw[k, 0] > 4, labels[k] + 1, 0)
        return canvas, mask

    train_x, train_y = canvases(digits.train_images, digits.train_labels, n_train)
    test_x, test_y = canvases(digits.test_images, digits.test_labels, n_test)
    return _normalised(
        "digit canvases", train_x, train_y, test_x, test_y, ["background", *digits.classes], crop_padding=0, flip=False
    )
