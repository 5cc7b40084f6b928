"""Decoding uploads to 16 kHz mono float32, with the public recordings."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import eval_dir
from vocalis.audio import decode as decode_module
from vocalis.audio.decode import SAMPLE_RATE, RawPcm, Samples, decode, stream
from vocalis.audio.encode import resample
from vocalis.errors import InvalidAudio, PayloadTooLarge

EVAL = eval_dir()


def recording(name: str) -> Path:
    path = EVAL / name
    assert path.is_file(), f"{path} is missing (set VOCALIS_EVAL_DIR)"
    return path


def decode_file(path: Path, max_seconds: float = 600) -> Samples:
    with path.open("rb") as f:
        return decode(f, max_seconds=max_seconds)


@pytest.mark.parametrize("name", ["jfk.wav", "jfk.mp3", "jfk.flac"])
def test_jfk_decodes_to_16k_mono_float32_of_11_seconds(name: str) -> None:
    samples = decode_file(recording(name))

    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert len(samples) / SAMPLE_RATE == pytest.approx(11.0, abs=0.1)
    assert np.isfinite(samples).all()
    # Float samples near full scale; resampling a loud source may overshoot 1.0 a little.
    assert np.abs(samples).max() < 1.5
    assert np.sqrt(np.mean(samples**2)) > 0.01  # speech, not silence


def test_jfk_formats_decode_to_the_same_speech() -> None:
    wav = decode_file(recording("jfk.wav"))
    flac = decode_file(recording("jfk.flac"))
    n = min(len(wav), len(flac))
    # Same recording: the 44.1 kHz stereo FLAC resampled and downmixed matches the WAV.
    correlation = np.corrcoef(wav[:n], flac[:n])[0, 1]
    assert correlation > 0.9


def test_44k_stereo_wav_decodes_to_3_seconds() -> None:
    samples = decode_file(recording("turn_on_the_living_room_lamp.wav"))
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert len(samples) / SAMPLE_RATE == pytest.approx(3.0, abs=0.1)


def test_audio_longer_than_the_limit_is_too_large() -> None:
    path = recording("jfk.wav")
    with pytest.raises(PayloadTooLarge, match="limit of 5 seconds") as caught:
        decode_file(path, max_seconds=5)
    assert caught.value.status_code == 413
    # Within the one-second header slack, the decoded length still decides.
    with pytest.raises(PayloadTooLarge, match=r"10\.5 seconds"):
        decode_file(path, max_seconds=10.5)
    assert len(decode_file(path, max_seconds=11.5)) > 0


def test_decode_pcm_int16_stereo_8k_is_resampled_and_downmixed() -> None:
    frames = 8000 * 2  # two seconds
    left = np.full(frames, 16384, dtype="<i2")
    right = np.zeros(frames, dtype="<i2")
    data = np.stack([left, right], axis=1).tobytes()

    samples = decode_pcm(data, RawPcm(8000, 2), 30)

    assert samples.dtype == np.float32
    assert len(samples) == pytest.approx(2 * SAMPLE_RATE, abs=32)
    middle = samples[len(samples) // 4 : 3 * len(samples) // 4]
    assert np.allclose(middle, 0.25, atol=0.01)


def test_decode_pcm_at_16k_mono_is_passed_through() -> None:
    values = np.array([0, 16384, -32768, 32767], dtype="<i2")
    samples = decode_pcm(values.tobytes(), RawPcm(16000, 1), 1)
    assert samples.dtype == np.float32
    assert samples.tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])


def test_decode_pcm_odd_byte_count_is_invalid() -> None:
    with pytest.raises(InvalidAudio, match="multiple of 2 bytes"):
        decode_pcm(b"\x00\x01\x02", RawPcm(16000, 1), 10)
    with pytest.raises(InvalidAudio, match="multiple of 4 bytes"):
        decode_pcm(b"\x00" * 6, RawPcm(16000, 2), 10)


def test_decode_pcm_empty_and_too_long() -> None:
    with pytest.raises(InvalidAudio, match="empty"):
        decode_pcm(b"", RawPcm(16000, 1), 10)
    with pytest.raises(PayloadTooLarge):
        decode_pcm(b"\x00\x00" * 16001, RawPcm(16000, 1), 1)


def decode_pcm(data: bytes, raw: RawPcm, max_seconds: float) -> Samples:
    return decode(io.BytesIO(data), max_seconds=max_seconds, raw=raw)


def test_empty_file_is_invalid() -> None:
    with pytest.raises(InvalidAudio, match="empty") as caught:
        decode(io.BytesIO(b""), max_seconds=60)
    assert caught.value.param == "file"
    assert caught.value.status_code == 400


def test_random_bytes_are_invalid_audio() -> None:
    junk = np.random.default_rng(1234).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with pytest.raises(InvalidAudio, match="Supported formats: flac"):
        decode(io.BytesIO(junk), max_seconds=60)


def test_a_text_file_is_invalid_audio() -> None:
    text = b"This is not audio at all, just a few lines of text.\n" * 20
    with pytest.raises(InvalidAudio, match="Supported formats") as caught:
        decode(io.BytesIO(text), max_seconds=60)
    assert "wav" in caught.value.message


def test_resample_identity_and_empty() -> None:
    samples = np.linspace(-1, 1, 100, dtype=np.float32)
    assert np.array_equal(resample(samples, 16000, 16000), samples)
    empty = np.zeros(0, dtype=np.float32)
    assert len(resample(empty, 8000, 16000)) == 0


@pytest.mark.parametrize(
    ("container", "codec"),
    [
        ("mp4", "aac"),
        ("webm", "libopus"),
        ("ogg", "libopus"),
        ("mp3", "libmp3lame"),
    ],
)
def test_other_containers_decode(tmp_path: Path, container: str, codec: str) -> None:
    """m4a/mp4, webm, ogg (opus and vorbis): what browsers and phones upload."""
    import av as pyav

    source = decode_file(recording("jfk.wav"))
    target = tmp_path / f"jfk.{container}"
    rate = 48_000 if codec == "libopus" else 16_000
    with pyav.open(str(target), mode="w") as out:
        encoder = out.add_stream(codec, rate=rate)
        frame = pyav.AudioFrame.from_ndarray(source.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        for packet in encoder.encode(frame):
            out.mux(packet)
        for packet in encoder.encode(None):
            out.mux(packet)
    samples = decode_file(target)
    assert abs(len(samples) / SAMPLE_RATE - 11.0) < 0.15
    assert float(np.sqrt(np.mean(samples**2))) > 0.01


def test_stream_gives_the_same_samples_in_pieces() -> None:
    whole = decode_file(recording("jfk.mp3"))
    with recording("jfk.mp3").open("rb") as f:
        pieces = list(stream(f, max_seconds=600))
    assert len(pieces) > 100  # frame by frame, never the whole file at once
    assert max(len(p) for p in pieces) < SAMPLE_RATE
    assert np.array_equal(np.concatenate(pieces), whole)


def test_raw_pcm_streams_in_blocks() -> None:
    data = np.zeros(10 * SAMPLE_RATE, dtype="<i2").tobytes()
    pieces = list(stream(io.BytesIO(data), max_seconds=60, raw=RawPcm(SAMPLE_RATE)))
    assert len(pieces) >= 9
    assert sum(len(p) for p in pieces) == 10 * SAMPLE_RATE


def test_stream_checks_what_it_can_before_reading() -> None:
    with pytest.raises(InvalidAudio, match="Supported formats"):
        stream(io.BytesIO(b"not audio" * 100), max_seconds=60)
    with pytest.raises(PayloadTooLarge), recording("jfk.wav").open("rb") as f:
        stream(f, max_seconds=5)


def test_a_file_cut_short_decodes_what_is_there() -> None:
    data = recording("jfk.mp3").read_bytes()
    samples = decode(io.BytesIO(data[: len(data) // 2]), max_seconds=60)
    assert len(samples) / SAMPLE_RATE == pytest.approx(5.5, abs=0.5)


def test_declared_length() -> None:
    with recording("jfk.wav").open("rb") as f:
        assert decode_module.declared_seconds(f) == pytest.approx(11.0, abs=0.1)
        assert f.tell() == 0
    raw = io.BytesIO(bytes(2 * 2 * SAMPLE_RATE))
    assert decode_module.declared_seconds(raw, RawPcm(SAMPLE_RATE, 2)) == 1.0
    assert decode_module.declared_seconds(io.BytesIO(b"text")) is None
