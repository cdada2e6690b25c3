import dataclasses
import pickle

import numpy as np
import pytest
import torch

from resnet_lab.data import (
    DeviceLoader,
    load_cifar10,
    load_dataset,
    load_digits,
    make_synthetic,
    random_crop,
    random_flip,
)


def test_digits_load_offline_as_normalised_tensors_with_metadata():
    data = load_digits()
    # scikit-learn's digits: 1,797 images of 8x8; 25% held out.
    assert data.train_images.shape == (1347, 1, 8, 8) and data.test_images.shape == (450, 1, 8, 8)
    assert data.train_images.dtype == torch.float32 and data.train_labels.dtype == torch.int64
    assert (data.in_channels, data.image_size, data.num_classes) == (1, 8, 10)
    assert abs(data.train_images.mean().item()) < 1e-5
    assert abs(data.train_images.std().item() - 1) < 1e-3
    assert 4 < data.mean[0] < 5  # raw pixel values run 0..16
    assert (data.crop_padding, data.flip) == (0, False)  # a mirrored digit is another symbol
    assert torch.bincount(data.test_labels).min() >= 43  # stratified: about 25% of every class (class 8 has 174)


def test_digits_split_is_fixed_by_seed():
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
    assert not torch.equal(a.train_images, c.train_images)


def test_unknown_dataset_names_the_choices():
    with pytest.raises(ValueError, match=r"dataset='mnist'.*digits.*cifar10"):
        load_dataset("mnist")


def test_cifar10_offline_says_why_and_suggests_digits(tmp_path):
    with pytest.raises(RuntimeError, match="digits"):
        load_cifar10(tmp_path, download=False)


def test_cifar10_is_read_from_torchvisions_files_with_the_papers_augmentation(tmp_path, monkeypatch):
    # Write a tiny CIFAR-10 in torchvision's on-disk format (pickled batches) and load it for real.
    from torchvision.datasets import CIFAR10

    folder = tmp_path / CIFAR10.base_folder
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, _ in CIFAR10.train_list + CIFAR10.test_list:
        batch = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8), "labels": list(range(4))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(folder / CIFAR10.meta["filename"], "wb") as f:
        pickle.dump({"label_names": classes}, f)
    import torchvision.datasets.cifar

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args: True)  # other md5s

    data = load_cifar10(tmp_path, download=False)
    assert data.train_images.shape == (20, 3, 32, 32) and data.test_images.shape == (4, 3, 32, 32)
    assert data.classes == classes and (data.crop_padding, data.flip) == (4, True)
    # Pixel (0, 0) of image 0, red channel, comes from byte 0 of the first row (CHW order in the file).
    first = pickle.load(open(folder / "data_batch_1", "rb"))["data"][0]
    expected = (first[0] / 255 - data.mean[0]) / data.std[0]
    assert data.train_images[0, 0, 0, 0].item() == pytest.approx(expected, rel=1e-5)


def test_loader_epoch_visits_every_image_once_and_batches_depend_only_on_step():
    images = torch.arange(100.0).view(100, 1, 1, 1)
    labels = torch.arange(100)
    loader = DeviceLoader(images, labels, batch_size=10, seed=3)
    assert len(loader) == 10
    epoch = torch.cat([loader.batch(s)[1] for s in range(10)])
    assert sorted(epoch.tolist()) == list(range(100))
    later = [loader.batch(s)[1] for s in range(10, 12)]  # epoch 2 is reshuffled
    assert not torch.equal(torch.cat(later), epoch[:20])
    fresh = DeviceLoader(images, labels, batch_size=10, seed=3)
    assert torch.equal(fresh.batch(11)[1], later[1])  # straight to step 11, same batch
    assert torch.equal(fresh.batch(4)[0].flatten(), fresh.batch(4)[1].float())  # images follow labels


def test_loader_drops_the_incomplete_last_batch():
    loader = DeviceLoader(torch.zeros(25, 1, 2, 2), torch.zeros(25, dtype=torch.long), batch_size=10)
    assert len(loader) == 2 and len(loader.batch(1)[1]) == 10


@pytest.mark.parametrize("batch_size", [0, 26, 2.5])
def test_bad_batch_size_names_the_limit(batch_size):
    with pytest.raises(ValueError, match=rf"batch_size={batch_size}.*25"):
        DeviceLoader(torch.zeros(25, 1, 2, 2), torch.zeros(25, dtype=torch.long), batch_size=batch_size)


def test_random_crop_cuts_a_window_of_the_zero_padded_image():
    g = torch.Generator().manual_seed(0)
    images = torch.randn(64, 3, 6, 6)
    cropped = random_crop(images, padding=2, generator=g)
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    shifts = set()
    for img, out in zip(padded, cropped):
        matches = [(dy, dx) for dy in range(5) for dx in range(5) if torch.equal(img[:, dy : dy + 6, dx : dx + 6], out)]
        assert matches
        shifts.add(matches[0])
    assert len(shifts) > 10  # shifts differ from image to image


def test_random_flip_mirrors_about_half_the_images():
    g = torch.Generator().manual_seed(0)
    images = torch.randn(400, 1, 4, 4)
    out = random_flip(images, g)
    flipped = [torch.equal(o, i.flip(2)) for o, i in zip(out, images)]
    kept = [torch.equal(o, i) for o, i in zip(out, images)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 150 < sum(flipped) < 250


def test_loader_augments_on_the_device_only_when_the_dataset_asks():
    data = make_synthetic(n_train=64)
    assert (data.crop_padding, data.flip) == (0, False)
    plain = DeviceLoader.for_training(data, 16, seed=0)
    x, y = plain.batch(0)
    assert torch.equal(x, data.train_images[plain._order[:16]])
    asks = dataclasses.replace(data, crop_padding=1, flip=True)  # the same images, with the papers' augmentation
    augmented = DeviceLoader.for_training(asks, 16, seed=0)
    xa, ya = augmented.batch(0)
    assert torch.equal(ya, y) and not torch.equal(xa, x)
    assert torch.equal(xa, augmented.batch(0)[0])  # same step, same augmentation


def test_synthetic_data_is_learnable_and_seeded():
    a, b, c = make_synthetic(seed=1), make_synthetic(seed=1), make_synthetic(seed=2)
    assert torch.equal(a.train_images, b.train_images) and not torch.equal(a.train_images, c.train_images)
    assert a.train_images.shape == (512, 1, 8, 8) and a.num_classes == 4
    # Learnable: the nearest class pattern (mean of its training images) labels the test set far above chance.
    centres = torch.stack([a.train_images[a.train_labels == k].mean(0).flatten() for k in range(4)])
    guess = torch.cdist(a.test_images.flatten(1), centres).argmin(1)
    assert (guess == a.test_labels).float().mean() > 0.9  # chance: 0.25


def test_subset_keeps_a_stratified_fraction_of_the_training_set_only():
    from resnet_lab.data import subset

    data = load_digits()
    small = subset(data, 0.1)
    assert 130 <= len(small.train_labels) <= 140
    assert torch.bincount(small.train_labels, minlength=10).min() >= 13  # every class kept
    assert torch.equal(small.test_images, data.test_images)
    assert torch.equal(subset(data, 0.1).train_images, small.train_images)  # fixed by the seed
    with pytest.raises(ValueError, match="fraction=0"):
        subset(data, 0)


def test_digits_upsampled_to_16_keep_the_split_and_the_picture():
    small, large = load_digits(), load_digits(size=16)
    assert large.train_images.shape == (1347, 1, 16, 16) and large.image_size == 16
    assert torch.equal(small.train_labels, large.train_labels)  # same images, same order
    # the same picture, larger: shrinking it back by averaging 2x2 blocks correlates with the original
    back = torch.nn.functional.avg_pool2d(large.train_images[:50], 2).flatten()
    assert torch.corrcoef(torch.stack([back, small.train_images[:50].flatten()]))[0, 1] > 0.95


def test_digits_padded_to_16_have_a_background_border():
    data = load_digits(size=16, resize="pad")
    raw = data.train_images * data.std[0] + data.mean[0]  # back to pixel values 0..16
    border = torch.ones(16, 16, dtype=torch.bool)
    border[4:12, 4:12] = False
    assert raw[:, 0, border].abs().max() < 1e-4 and raw[:, 0, 4:12, 4:12].max() > 15


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(size=12), r"size=12.*multiple of 8"),
        (dict(size=4), r"size=4"),
        (dict(size=16, resize="crop"), r"resize='crop'.*upsample.*pad"),
    ],
)
def test_bad_digit_sizes_are_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_digits(**kwargs)


def test_only_the_digits_can_be_resized():
    assert load_dataset("digits", size=16).image_size == 16
    with pytest.raises(ValueError, match=r"size=16.*dataset='synthetic'"):
        load_dataset("synthetic", size=16)
