"""Media for robustness tests: real clips, valid audio that holds no speech, and files whose
headers lie about what follows."""

from __future__ import annotations

import io
import struct
import wave

import numpy as np

from tests.conftest import EVAL_DIR

RATE = 16_000
LIGHT = (
    EVAL_DIR / "living_room_light_en.wav"
)  # 16 kHz mono, 2.4 s: "Turn on the living room light."


def wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    """Mono 16-bit WAV with a correct header."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm16(samples))
    return buffer.getvalue()


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype=np.float32)


def noise(seconds: float, level: float = 0.3, seed: int = 7) -> np.ndarray:
    """White noise, seeded: the same every run."""
    generator = np.random.default_rng(seed)
    return (generator.standard_normal(int(seconds * RATE)) * level).astype(np.float32)


def random_bytes(size: int, seed: int = 11) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def lying_wav(claimed_seconds: float, present: bytes) -> bytes:
    """A WAV header claiming `claimed_seconds` of 16 kHz mono, followed by only `present`."""
    claimed = int(claimed_seconds * RATE) * 2
    header = b"RIFF" + struct.pack("<I", 36 + claimed) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, RATE, RATE * 2, 2, 16)
    return header + b"data" + struct.pack("<I", claimed) + present


def wav_header_only(seconds: float) -> bytes:
    """A header that promises audio and then ends."""
    return lying_wav(seconds, b"")


def garbage_mp3(size: int = 20_000) -> bytes:
    """An ID3 tag and an MPEG frame sync, then random bytes: looks like MP3, decodes to nothing."""
    tag = b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10
    return tag + b"\xff\xfb\x90\x64" + random_bytes(size)


def light_pcm() -> bytes:
    """The living-room clip as headerless 16 kHz s16le."""
    with wave.open(str(LIGHT)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (RATE, 1, 2)
        return w.readframes(w.getnframes())
