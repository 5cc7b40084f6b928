"""Live PCM input: whole frames only, and resampling that does not care how audio is cut."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import EVAL_DIR
from tests.recordings import long
from vocalis.audio.encode import to_s16le
from vocalis.live.audio import PcmInput
from vocalis.live.vad import StreamingVad


def test_odd_lengths_and_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 2 bytes, got 3"):
        PcmInput(16_000).convert(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="outside"):
        PcmInput(4_000)


def test_24_khz_in_any_pieces_becomes_16_khz() -> None:
    tone = np.sin(np.arange(24_000 * 2) / 24_000 * 2 * np.pi * 440).astype(np.float32) * 0.5
    data = to_s16le(tone)
    pcm = PcmInput(24_000)
    pieces = [pcm.convert(data[i : i + 960]) for i in range(0, len(data), 960)]
    out = np.concatenate(pieces)
    assert abs(len(out) - 32_000) < 100
    assert np.sqrt(np.mean(out[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_streaming_vad_matches_the_whole_array() -> None:
    from faster_whisper.vad import get_vad_model

    audio = long(EVAL_DIR, 0.25)[0]
    audio = audio[: len(audio) // 512 * 512]
    whole = np.asarray(get_vad_model()(audio)).reshape(-1)
    vad = StreamingVad()
    rng = np.random.default_rng(1)
    cuts = np.sort(rng.integers(0, len(audio), 40))
    parts = [vad.probabilities(piece) for piece in np.split(audio, cuts)]
    streamed = np.concatenate(parts)
    assert len(streamed) == len(whole)
    assert np.abs(streamed - whole).max() < 1e-5
    assert (whole > 0.5).mean() > 0.5  # it is speech
