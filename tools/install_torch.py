"""Install the tested PyTorch pair into the current environment: CPU wheels where no GPU can use CUDA.

    python tools/install_torch.py torch==2.14.1 torchvision==0.29.1

On Linux, PyPI's default torch is the CUDA build (about 3 GB of NVIDIA libraries). On a Linux machine
without an NVIDIA GPU we ask PyTorch's CPU index for the `+cpu` builds first; if that index cannot be
reached, we say so in one line and install the default build. macOS and Windows wheels on PyPI are
already CPU builds. Set TORCH_VARIANT=cpu or cuda to choose by hand.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def wants_cpu_wheels(system: str, has_nvidia_gpu: bool, variant: str = "") -> bool:
    """Whether to ask the CPU index: Linux without an NVIDIA GPU, unless TORCH_VARIANT says otherwise."""
    if variant not in ("", "cpu", "cuda"):
        raise ValueError(f"TORCH_VARIANT={variant!r} is not valid: use cpu, cuda or leave it unset")
    if variant:
        return variant == "cpu"
    return system == "Linux" and not has_nvidia_gpu


def cpu_requirements(requirements: list[str]) -> list[str]:
    """torch==2.14.1 -> torch==2.14.1+cpu: only the CPU index has those, so nothing else can match."""
    return [r + "+cpu" if "==" in r and "+" not in r else r for r in requirements]


def pip(*args: str, quiet_failure: bool = False) -> int:
    """pip install; with quiet_failure, its messages are kept back (the caller says what happened in one line)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", *args]
    if quiet_failure:
        return subprocess.run(command, capture_output=True, text=True).returncode
    return subprocess.call(command)


def main(requirements: list[str]) -> int:
    has_gpu = shutil.which("nvidia-smi") is not None
    if wants_cpu_wheels(platform.system(), has_gpu, os.environ.get("TORCH_VARIANT", "")):
        if (
            pip(
                "--index-url",
                CPU_INDEX,
                "--timeout",
                "10",
                "--retries",
                "0",
                *cpu_requirements(requirements),
                quiet_failure=True,
            )
            == 0
        ):
            return 0
        print(f"CPU-only PyTorch wheels could not be fetched from {CPU_INDEX}; installing the default build instead.")
    return pip(*requirements)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
