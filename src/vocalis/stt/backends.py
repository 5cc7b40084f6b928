"""Which speech-to-text backend, device and precision to use: a pure function of platform facts."""

from __future__ import annotations

import importlib.util
import platform
from dataclasses import dataclass
from typing import Literal

Backend = Literal["faster-whisper", "mlx"]


@dataclass(frozen=True)
class PlatformFacts:
    system: str  # platform.system(): "Linux", "Darwin", "Windows"
    machine: str  # platform.machine(): "x86_64", "arm64", "aarch64"
    cuda_devices: int
    mlx_installed: bool


@dataclass(frozen=True)
class BackendChoice:
    backend: Backend
    device: str  # "cpu", "cuda" or "metal"
    compute_type: str


def detect_platform() -> PlatformFacts:
    """Reads the facts; the only impure part of backend choice."""
    return PlatformFacts(
        system=platform.system(),
        machine=platform.machine(),
        cuda_devices=_cuda_devices(),
        mlx_installed=importlib.util.find_spec("mlx_whisper") is not None,
    )


def _cuda_devices() -> int:
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except (ImportError, RuntimeError, OSError):
        return 0


def is_apple_silicon(facts: PlatformFacts) -> bool:
    return facts.system == "Darwin" and facts.machine in ("arm64", "aarch64")


def choose_backend(
    facts: PlatformFacts,
    backend: str = "auto",
    device: str = "auto",
    compute_type: str = "auto",
) -> BackendChoice:
    """MLX on Apple Silicon when installed; otherwise faster-whisper, on CUDA when there is a GPU.

    Raises ValueError when an explicit choice cannot work on this platform.
    """
    if backend == "auto":
        backend = "mlx" if is_apple_silicon(facts) and facts.mlx_installed else "faster-whisper"
    if backend == "mlx":
        return _mlx_choice(facts)
    if backend != "faster-whisper":
        raise ValueError(
            f"Unknown speech-to-text backend {backend!r}: use auto, faster-whisper or mlx."
        )
    if device == "auto":
        device = "cuda" if facts.cuda_devices > 0 else "cpu"
    if device == "cuda" and facts.cuda_devices == 0:
        raise ValueError("device=cuda was asked for, but no CUDA device is visible.")
    if compute_type == "auto":
        # int8 is the fastest accurate choice on CPU; float16 uses the GPU's tensor cores.
        compute_type = "float16" if device == "cuda" else "int8"
    return BackendChoice("faster-whisper", device, compute_type)


def _mlx_choice(facts: PlatformFacts) -> BackendChoice:
    if not is_apple_silicon(facts):
        raise ValueError("The MLX backend runs only on Apple Silicon (macOS on arm64).")
    if not facts.mlx_installed:
        raise ValueError("The MLX backend is not installed: pip install 'vocalis[mlx]'.")
    return BackendChoice("mlx", "metal", "float16")
