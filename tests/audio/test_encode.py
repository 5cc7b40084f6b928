"""Encoding the OpenAI speech formats, streaming included, plus resampling and tempo."""

from __future__ import annotations

import io
import struct

import av
import numpy as np
import numpy.typing as npt
import pytest

from vocalis.audio.encode import (
    MEDIA_TYPES,
    StreamEncoder,
    change_tempo,
    encode,
    resample,
    wav_header,
)

RATE = 24_000
FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
DECODED_RATE = {"mp3": RATE, "opus": 48_000, "aac": RATE, "flac": RATE, "wav": RATE, "pcm": RATE}
# mp3 and aac decoders keep the encoder's priming/padding samples when nothing says to drop them.
TOLERANCE = {"mp3": 0.1, "aac": 0.1, "opus": 0.05, "flac": 0.01, "wav": 0.0, "pcm": 0.0}


def sine(seconds: float = 2.0, rate: int = RATE, hz: float = 440.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def decoded(data: bytes, format: str) -> tuple[int, npt.NDArray[np.float32]]:
    """(sample rate, mono float32 samples) of an encoded file."""
    if format == "pcm":
        return RATE, np.frombuffer(data, dtype="<i2").astype(np.float32) / np.float32(32768)
    with av.open(io.BytesIO(data), mode="r") as container:
        frames = list(container.decode(audio=0))
    rates = {frame.sample_rate for frame in frames}
    assert len(rates) == 1
    # Decoders give s16 (flac, wav) or fltp (mp3, aac, opus): make it all float in [-1, 1].
    to_float = av.AudioResampler(format="flt", layout="mono")
    floats = [out for frame in frames for out in to_float.resample(frame)]
    samples = np.concatenate([frame.to_ndarray().reshape(-1) for frame in floats])
    return rates.pop(), samples.astype(np.float32)


def stream(format: str, samples: npt.NDArray[np.float32], piece_seconds: float) -> list[bytes]:
    """What each write() returned, then what close() returned."""
    encoder = StreamEncoder(format, RATE)
    step = int(piece_seconds * RATE)
    outputs = [encoder.write(samples[i : i + step]) for i in range(0, len(samples), step)]
    return [*outputs, encoder.close()]


def dominant_hz(samples: npt.NDArray[np.float32], rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize("format", FORMATS)
def test_encode_gives_a_decodable_file_of_the_right_length(format: str) -> None:
    rate, samples = decoded(encode(sine(), RATE, format), format)
    assert rate == DECODED_RATE[format]
    assert len(samples) / rate == pytest.approx(2.0, abs=TOLERANCE[format] + 1e-9)
    assert dominant_hz(samples, rate) == pytest.approx(440, abs=5)


@pytest.mark.parametrize("format", FORMATS)
def test_streamed_pieces_make_a_decodable_file(format: str) -> None:
    data = b"".join(stream(format, sine(), 0.25))
    rate, samples = decoded(data, format)
    assert rate == DECODED_RATE[format]
    assert len(samples) / rate == pytest.approx(2.0, abs=TOLERANCE[format] + 1e-9)
    assert dominant_hz(samples, rate) == pytest.approx(440, abs=5)


@pytest.mark.parametrize("format", ["mp3", "aac", "opus", "wav", "pcm", "flac"])
def test_bytes_come_out_before_close(format: str) -> None:
    *writes, _ = stream(format, sine(), 0.25)
    assert sum(len(out) for out in writes) > 0
    # Not just a header: audio keeps coming while it is written.
    assert sum(len(out) > 0 for out in writes[4:]) >= 2


@pytest.mark.parametrize("format", FORMATS)
def test_close_without_audio_does_not_fail(format: str) -> None:
    encoder = StreamEncoder(format, RATE)
    assert isinstance(encoder.close(), bytes)
    assert encoder.close() == b""


def test_write_after_close_is_an_error() -> None:
    encoder = StreamEncoder("mp3", RATE)
    encoder.close()
    with pytest.raises(ValueError, match="close"):
        encoder.write(sine(0.1))


def test_pcm_is_raw_little_endian_int16_at_the_input_rate() -> None:
    samples = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], dtype=np.float32)
    assert encode(samples, 22_050, "pcm") == struct.pack(
        "<6h", 0, 16384, -16384, 32767, -32768, 32767
    )


def test_int16_input_passes_through_pcm_unchanged() -> None:
    samples = (sine(0.5) * 32767).astype(np.int16)
    data = encode(samples, RATE, "pcm")
    np.testing.assert_array_equal(np.frombuffer(data, dtype="<i2"), samples)


def test_int16_and_float_input_encode_alike() -> None:
    as_int = (sine(1.0) * 32768).astype(np.int16)
    rate, samples = decoded(encode(as_int, RATE, "flac"), "flac")
    assert rate == RATE
    np.testing.assert_allclose(samples, sine(1.0), atol=1 / 16384)


def test_streamed_wav_header_says_the_length_is_unknown() -> None:
    data = b"".join(stream("wav", sine(0.5), 0.25))
    assert data[:4] == b"RIFF" and data[8:16] == b"WAVEfmt "
    assert struct.unpack("<I", data[4:8])[0] == 0xFFFFFFFF
    assert data[36:40] == b"data"
    assert struct.unpack("<I", data[40:44])[0] == 0xFFFFFFFF
    assert len(data) == 44 + 2 * int(0.5 * RATE)


def test_whole_wav_file_header_has_the_real_sizes() -> None:
    data = encode(sine(0.5), RATE, "wav")
    size = 2 * int(0.5 * RATE)
    assert struct.unpack("<I", data[4:8])[0] == 36 + size
    assert struct.unpack("<I", data[40:44])[0] == size
    assert len(data) == 44 + size


def test_wav_header_layout() -> None:
    header = wav_header(16_000, 100)
    riff, riff_size, wave, fmt, fmt_size = struct.unpack("<4sI4s4sI", header[:20])
    audio_format, channels, rate, byte_rate, block_align, bits = struct.unpack(
        "<HHIIHH", header[20:36]
    )
    assert (riff, riff_size, wave, fmt, fmt_size) == (b"RIFF", 136, b"WAVE", b"fmt ", 16)
    assert (audio_format, channels, rate, byte_rate, block_align, bits) == (
        1,
        1,
        16_000,
        32_000,
        2,
        16,
    )
    assert header[36:] == b"data" + struct.pack("<I", 100)


def test_mp3_at_a_rate_lame_lacks_is_still_encoded() -> None:
    rate, samples = decoded(encode(sine(1.0, rate=96_000), 96_000, "mp3"), "mp3")
    assert rate in {44_100, 48_000}
    assert len(samples) / rate == pytest.approx(1.0, abs=0.1)


def test_media_types() -> None:
    assert MEDIA_TYPES == {
        "mp3": "audio/mpeg",
        "opus": "audio/ogg",
        "aac": "audio/aac",
        "flac": "audio/flac",
        "wav": "audio/wav",
        "pcm": "audio/pcm",
    }


@pytest.mark.parametrize("format", ["ogg", "MP3", "", "webm"])
def test_unknown_format_is_a_clear_error(format: str) -> None:
    with pytest.raises(ValueError, match="unsupported audio format"):
        StreamEncoder(format, RATE)
    with pytest.raises(ValueError, match="mp3, opus, aac, flac, wav, pcm"):
        encode(sine(0.1), RATE, format)


def test_stereo_input_is_refused() -> None:
    with pytest.raises(ValueError, match="mono"):
        encode(np.zeros((2, 100), dtype=np.float32), RATE, "wav")


@pytest.mark.parametrize(
    ("factor", "expected"), [(2.0, 0.5), (0.25, 4.0), (1.5, 1 / 1.5), (4.0, 0.25)]
)
def test_change_tempo_scales_duration(factor: float, expected: float) -> None:
    audio = sine()
    faster = change_tempo(audio, RATE, factor)
    assert faster.dtype == np.float32
    assert len(faster) / len(audio) == pytest.approx(expected, rel=0.05)


def test_change_tempo_keeps_the_pitch() -> None:
    faster = change_tempo(sine(), RATE, 2.0)
    assert dominant_hz(faster, RATE) == pytest.approx(440, abs=5)


def test_change_tempo_of_one_or_of_nothing_changes_nothing() -> None:
    audio = sine(0.5)
    np.testing.assert_array_equal(change_tempo(audio, RATE, 1.0), audio)
    assert len(change_tempo(np.zeros(0, dtype=np.float32), RATE, 2.0)) == 0


def test_change_tempo_refuses_a_non_positive_factor() -> None:
    with pytest.raises(ValueError, match="positive"):
        change_tempo(sine(0.1), RATE, 0)


def test_resample_gives_the_right_length_and_pitch() -> None:
    audio = sine(2.0, rate=22_050)
    out = resample(audio, 22_050, 24_000)
    assert out.dtype == np.float32
    assert len(out) == pytest.approx(2 * 24_000, abs=2)
    assert dominant_hz(out, 24_000) == pytest.approx(440, abs=5)


def test_resample_to_the_same_rate_or_of_nothing_is_a_no_op() -> None:
    audio = sine(0.1)
    np.testing.assert_array_equal(resample(audio, RATE, RATE), audio)
    assert len(resample(np.zeros(0, dtype=np.float32), 22_050, 24_000)) == 0
