"""Backend, device and precision choice from platform facts."""

from __future__ import annotations

import pytest

from vocalis.stt.backends import BackendChoice, PlatformFacts, choose_backend, is_apple_silicon

LINUX_CPU = PlatformFacts(system="Linux", machine="x86_64", cuda_devices=0, mlx_installed=False)
LINUX_GPU = PlatformFacts(system="Linux", machine="x86_64", cuda_devices=1, mlx_installed=False)
MAC_MLX = PlatformFacts(system="Darwin", machine="arm64", cuda_devices=0, mlx_installed=True)
MAC_NO_MLX = PlatformFacts(system="Darwin", machine="arm64", cuda_devices=0, mlx_installed=False)
MAC_INTEL = PlatformFacts(system="Darwin", machine="x86_64", cuda_devices=0, mlx_installed=True)


def test_linux_without_gpu_uses_faster_whisper_on_cpu_int8() -> None:
    assert choose_backend(LINUX_CPU) == BackendChoice("faster-whisper", "cpu", "int8")


def test_linux_with_a_gpu_uses_cuda_float16() -> None:
    assert choose_backend(LINUX_GPU) == BackendChoice("faster-whisper", "cuda", "float16")


def test_apple_silicon_with_mlx_uses_mlx() -> None:
    assert choose_backend(MAC_MLX) == BackendChoice("mlx", "metal", "float16")


def test_apple_silicon_without_mlx_falls_back_to_cpu_int8() -> None:
    assert choose_backend(MAC_NO_MLX) == BackendChoice("faster-whisper", "cpu", "int8")


def test_intel_mac_never_auto_selects_mlx() -> None:
    assert not is_apple_silicon(MAC_INTEL)
    assert choose_backend(MAC_INTEL).backend == "faster-whisper"


def test_explicit_compute_type_is_kept() -> None:
    assert choose_backend(LINUX_CPU, compute_type="float32") == BackendChoice(
        "faster-whisper", "cpu", "float32"
    )
    assert choose_backend(LINUX_GPU, compute_type="int8_float16") == BackendChoice(
        "faster-whisper", "cuda", "int8_float16"
    )


def test_explicit_cpu_on_a_gpu_box_uses_cpu_int8() -> None:
    assert choose_backend(LINUX_GPU, device="cpu") == BackendChoice("faster-whisper", "cpu", "int8")


def test_explicit_faster_whisper_on_apple_silicon_with_mlx() -> None:
    choice = choose_backend(MAC_MLX, backend="faster-whisper")
    assert choice == BackendChoice("faster-whisper", "cpu", "int8")


def test_mlx_on_linux_is_refused() -> None:
    with pytest.raises(ValueError, match="Apple Silicon"):
        choose_backend(LINUX_GPU, backend="mlx")


def test_mlx_not_installed_says_how_to_install() -> None:
    with pytest.raises(ValueError, match=r"pip install 'vocalis\[mlx\]'"):
        choose_backend(MAC_NO_MLX, backend="mlx")


def test_cuda_without_a_gpu_is_refused() -> None:
    with pytest.raises(ValueError, match="no CUDA device"):
        choose_backend(LINUX_CPU, device="cuda")


def test_unknown_backend_lists_the_choices() -> None:
    with pytest.raises(ValueError) as caught:
        choose_backend(LINUX_CPU, backend="whisper.cpp")
    message = str(caught.value)
    assert "'whisper.cpp'" in message
    assert "auto, faster-whisper or mlx" in message
