"""Wyoming audio in: sample widths reduced to s16le, formats checked, the core's conversion."""

from __future__ import annotations

import numpy as np
import pytest

from vocalis.wyoming.audio import AudioIn, AudioTooLong, UnsupportedAudio, to_s16
from vocalis.wyoming.protocol import AudioChunk, AudioStart


def test_every_width_becomes_its_16_most_significant_bits() -> None:
    s16 = np.array([-32768, -1, 0, 1, 32767], dtype="<i2")
    assert to_s16(s16.tobytes(), 2) == s16.tobytes()
    s32 = s16.astype("<i4") << 16 | 0x1234  # low bits that must go
    assert to_s16(s32.tobytes(), 4) == s16.tobytes()
    s24 = np.frombuffer((s16.astype("<i4") << 8 | 0x56).tobytes(), np.uint8).reshape(-1, 4)
    assert to_s16(s24[:, :3].tobytes(), 3) == s16.tobytes()
    u8 = np.array([0, 127, 128, 255], dtype=np.uint8)
    expected = np.array([-32768, -256, 0, 32512], dtype="<i2")
    assert to_s16(u8.tobytes(), 1) == expected.tobytes()


def test_44khz_stereo_becomes_16khz_mono() -> None:
    audio = AudioIn(AudioStart(44_100, 2, 2), max_seconds=10)
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(44_100) / 44_100) * 32767).astype("<i2")
    stereo = np.repeat(tone, 2).tobytes()
    for start in range(0, len(stereo), 4 * 1000):
        audio.add(AudioChunk(44_100, 2, 2, stereo[start : start + 4 * 1000]))
    samples = audio.samples()
    assert abs(len(samples) - 16_000) < 100
    assert 0.3 < float(np.sqrt(np.mean(samples[1000:-1000] ** 2))) < 0.4  # a 0.5 sine: 0.354


@pytest.mark.parametrize(
    "start",
    [AudioStart(1_000, 2, 1), AudioStart(16_000, 5, 1), AudioStart(16_000, 2, 3)],
)
def test_formats_it_cannot_take(start: AudioStart) -> None:
    with pytest.raises(UnsupportedAudio):
        AudioIn(start, max_seconds=10)


def test_chunks_must_match_their_start_and_hold_whole_frames() -> None:
    audio = AudioIn(AudioStart(16_000, 2, 2), max_seconds=1)
    with pytest.raises(UnsupportedAudio, match="whole frames of 4 bytes"):
        audio.add(AudioChunk(16_000, 2, 2, bytes(6)))
    with pytest.raises(UnsupportedAudio, match="rate, width and channels"):
        audio.add(AudioChunk(16_000, 2, 1, bytes(4)))
    audio.add(AudioChunk(16_000, 2, 2, bytes(4 * 16_000)))
    assert audio.seconds == 1.0
    with pytest.raises(AudioTooLong):
        audio.add(AudioChunk(16_000, 2, 2, bytes(4)))
