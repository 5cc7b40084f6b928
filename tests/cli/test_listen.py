"""`vocalis listen` run as a user would: a file played at real-time pace, in this process
or streamed to a running server; the finals are its lines on stdout."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.cli.test_cli import vocalis
from tests.conftest import EVAL_DIR, LiveServer, references, wer
from tests.recordings import RATE, _clips, wav_bytes
from tests.virtual_microphone import (
    SINK,
    VirtualMicrophone,
    require_audio_stack,
    start_pulseaudio,
    stop,
)


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three sentences with 1.5 s of silence after each, and their references."""
    clips = _clips(EVAL_DIR)
    chosen = [clips[2], clips[3], clips[6]]
    gap = np.zeros(int(1.5 * RATE), dtype=np.float32)
    path = tmp_path_factory.mktemp("listen") / "three.wav"
    path.write_bytes(wav_bytes(np.concatenate([p for s, _ in chosen for p in (s, gap)])))
    return path, [text for _, text in chosen]


def test_a_file_at_real_time_pace_in_process(
    three: tuple[Path, list[str]], http: httpx.Client
) -> None:
    path, references = three
    started = time.monotonic()
    result = vocalis("listen", "--input", str(path), "--language", "en")
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3, result.stdout
    for reference, line in zip(references, lines, strict=True):
        assert wer(reference, line) <= 0.2, (reference, line)
    file_text = http.post(
        "/v1/audio/transcriptions", files={"file": path.read_bytes()}, data={"language": "en"}
    ).json()["text"]
    joined = " ".join(references)
    assert wer(joined, " ".join(lines)) <= wer(joined, file_text) + 0.02
    assert elapsed >= 13.5  # the 13.8-s file really was played in real time
    summary = result.stderr.strip().splitlines()[-1]
    assert re.match(r"13\.\d s of audio, 3 utterances, .*RTF \d+\.\d\d\)$", summary), summary


def test_streaming_to_a_server(three: tuple[Path, list[str]], server: LiveServer) -> None:
    path, references = three
    result = vocalis("listen", "--input", str(path), "--fast", "--server", server.url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and wer(" ".join(references), " ".join(lines)) <= 0.1, lines


def test_seconds_stops_early(three: tuple[Path, list[str]]) -> None:
    path, references = three
    result = vocalis("listen", "--input", str(path), "--fast", "--seconds", "3.5")
    assert result.returncode == 0, result.stderr
    assert wer(references[0], result.stdout) <= 0.2
    assert result.stderr.strip().splitlines()[-1].startswith("3.5 s of audio, 1 utterances")


def test_an_unreachable_server_is_a_clear_error(three: tuple[Path, list[str]]) -> None:
    path, _ = three
    result = vocalis("listen", "--input", str(path), "--server", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "error:" in result.stderr and "127.0.0.1" in result.stderr, result.stderr


@pytest.fixture(scope="module")
def virtual_microphone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophone]:
    require_audio_stack()
    mic = start_pulseaudio(tmp_path_factory.mktemp("pulse"))
    yield mic
    stop(mic)


def test_the_microphone(virtual_microphone: VirtualMicrophone) -> None:
    """`vocalis listen` on a (virtual) microphone hears JFK spoken into it. PortAudio
    reaches PulseAudio's default source, the virtual one, through ALSA's `pulse` device."""
    clip = EVAL_DIR / "jfk.wav"
    listen = subprocess.Popen(
        [sys.executable, "-m", "vocalis", "listen", "--device", "pulse", "--seconds", "22"],
        env={**virtual_microphone.env, "PULSE_SERVER": virtual_microphone.server},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(7)  # the model loads and the microphone opens
    subprocess.run(
        ["paplay", f"--device={SINK}", str(clip)], env=virtual_microphone.env, timeout=30
    )
    out, errors = listen.communicate(timeout=60)
    assert listen.returncode == 0, errors
    assert wer(references()["jfk.wav"][1], out) <= 0.15, out
    assert errors.strip().splitlines()[-1].startswith("22.0 s of audio"), errors


def test_list_devices(virtual_microphone: VirtualMicrophone) -> None:
    env = {**virtual_microphone.env, "PULSE_SERVER": virtual_microphone.server}
    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "listen", "--list-devices"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\b\d+\s+.*pulse", result.stdout), result.stdout
