"""The published numbers the course teaches and tests against, each table with its source.

One copy, used by notebooks and tests alike. "FLOPs" here are multiply-adds, as in He et al.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """Published values keyed by model name, and where they were published."""

    source: str
    values: dict

    def __getitem__(self, key):
        return self.values[key]

    def items(self):
        return self.values.items()


HE_2015 = "He, Zhang, Ren, Sun 2015, Deep Residual Learning for Image Recognition (arXiv:1512.03385)"
HE_2016 = "He, Zhang, Ren, Sun 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027)"
WRN_2016 = "Zagoruyko, Komodakis 2016, Wide Residual Networks (arXiv:1605.07146)"
TORCHVISION = "torchvision.models weights metadata (IMAGENET1K_V1)"

IMAGENET_MACS = Table(
    f"{HE_2015}, Table 1 and Fig. 3",
    {
        "resnet18": 1.8e9,
        "resnet34": 3.6e9,
        "resnet50": 3.8e9,
        "resnet101": 7.6e9,
        "resnet152": 11.3e9,
        "vgg19": 19.6e9,
        "vgg16": 15.3e9,
        "plain34": 3.6e9,
    },
)

# Top-1 error (%), 10-crop, ImageNet validation; option A shortcuts.
IMAGENET_TOP1_PLAIN_VS_RESNET = Table(
    f"{HE_2015}, Table 2",
    {
        "plain18": 27.94,
        "resnet18": 27.88,
        "plain34": 28.54,
        "resnet34": 25.03,
    },
)

# (top-1, top-5) error (%), 10-crop, ImageNet validation.
IMAGENET_ERRORS = Table(
    f"{HE_2015}, Table 3",
    {
        "plain34": (28.54, 10.02),
        "resnet34A": (25.03, 7.76),
        "resnet34B": (24.52, 7.46),
        "resnet34C": (24.19, 7.40),
        "resnet50": (22.85, 6.71),
        "resnet101": (21.75, 6.05),
        "resnet152": (21.43, 5.71),
    },
)

# CIFAR-10 ResNets: parameters as printed, exact counts (option A, with BN), test error (%).
CIFAR10_RESNET_PARAMS_PRINTED = Table(
    f"{HE_2015}, Table 6",
    {
        20: 0.27e6,
        32: 0.46e6,
        44: 0.66e6,
        56: 0.85e6,
        110: 1.7e6,
        1202: 19.4e6,
    },
)
CIFAR10_RESNET_PARAMS_EXACT = Table(
    f"computed from {HE_2015}, Section 4.2 (option A, with BN)",
    {
        20: 269_722,
        32: 464_154,
        44: 658_586,
        56: 853_018,
        110: 1_727_962,
        1202: 19_421_274,
    },
)
CIFAR10_RESNET_ERROR = Table(
    f"{HE_2015}, Table 6 (ResNet-110: best of 5; mean 6.61 +- 0.16)",
    {
        20: 8.75,
        32: 7.51,
        44: 7.17,
        56: 6.97,
        110: 6.43,
        1202: 7.93,
    },
)

CIFAR10_PREACT_ERROR = Table(
    f"{HE_2016}, Table 3 (original vs pre-activation unit)",
    {
        "resnet110": (6.61, 6.37),
        "resnet164": (5.93, 5.46),
        "resnet1001": (7.61, 4.92),
    },
)

# WRN-n-k: params, CIFAR-10 / CIFAR-100 error (%), median of 5 runs, without dropout.
WRN_PARAMS = Table(
    f"{WRN_2016}, Tables 5/6 (WRN-16-4: computed, not printed)",
    {
        (16, 4): 2.75e6,
        (16, 8): 11.0e6,
        (28, 10): 36.5e6,
        (40, 4): 8.9e6,
    },
)
WRN_CIFAR_ERROR = Table(
    f"{WRN_2016}, Tables 5/6",
    {
        (16, 4): (5.02, 24.03),
        (16, 8): (4.27, 20.43),
        (28, 10): (4.00, 19.25),
        (40, 4): (4.53, 21.18),
    },
)

# torchvision builders: (params, GMACs, ImageNet top-1 accuracy % of the V1 weights).
TORCHVISION_MODELS = Table(
    TORCHVISION,
    {
        "resnet18": (11_689_512, 1.81, 69.758),
        "resnet34": (21_797_672, 3.66, 73.314),
        "resnet50": (25_557_032, 4.09, 76.130),
        "resnet101": (44_549_160, 7.80, 77.374),
        "resnet152": (60_192_808, 11.51, 78.312),
        "wide_resnet50_2": (68_883_240, 11.40, 78.468),
        "vgg19": (143_667_240, 19.63, 72.376),
    },
)

# ImageNet, single crop: (params, top-1 error %). WRN's Tables 8 and 9 disagree on WRN-50-2's top-5 (6.03 vs 5.79).
IMAGENET_WRN = Table(
    f"{WRN_2016}, Table 8",
    {
        "resnet152": (60.2e6, 22.16),
        "wide_resnet50_2": (68.9e6, 21.9),
    },
)


# ILSVRC classification: (year, weight layers of its deepest net, top-5 error % on the test set) of the winning entry
# (VGG: second in 2014, the other famous 2014 entry). Each from its own paper, except Clarifai's error (the 2013
# winner, from Szegedy et al.'s table) and depth (shown as ZFNet's, Zeiler & Fergus's net of the same year).
ILSVRC_CLASSIFICATION = Table(
    "Krizhevsky et al. 2012 (AlexNet, Sec. 6: 15.3%, 7 nets, with outside data: ImageNet Fall 2011); Clarifai, the "
    "ILSVRC 2013 winner: 11.2% with outside data, 11.7% without (Szegedy et al. 2015, Table 2), depth shown as ZFNet's "
    "(Zeiler & Fergus 2014, whose Table 2 reports 14.8% for 6 nets); Simonyan & Zisserman 2015 (VGG, Table 7: "
    "7.3% submitted, 2nd place); Szegedy et al. 2015 (GoogLeNet, Table 2: 6.67%); He et al. 2015 (ResNet, Table 5: "
    "3.57%)",
    {
        "AlexNet": (2012, 8, 15.3),
        "Clarifai": (2013, 8, 11.2),
        "VGG": (2014, 19, 7.3),
        "GoogLeNet": (2014, 22, 6.67),
        "ResNet-152": (2015, 152, 3.57),
    },
)
