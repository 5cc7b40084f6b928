"""Recordings with a known transcript, stitched from the public clips, for tests and benchmarks.

`short` is a 40-60 s read; `long` is as many minutes as asked: the clips in a seeded
shuffle, each at its own level, with pauses of 0.7-1.5 s between them, so no two stretches
of the recording are the same and Whisper's context never sees a fixed loop.
"""

from __future__ import annotations

import csv
import io
import random
import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RATE = 16_000
Samples = npt.NDArray[np.float32]
# (file, channel: None for a mono mix). Each channel of the diarization clip is one sentence.
PIECES: list[tuple[str, int | None]] = [
    ("jfk.wav", None),
    ("fw_stereo_diarization.wav", 0),
    ("turn_on_the_living_room_lamp.wav", None),
    ("fw_stereo_diarization.wav", 1),
    ("living_room_light_en.wav", None),
    ("jfk.flac", None),
    ("speaches_audio.wav", None),
]


def _load(path: Path, channel: int | None) -> Samples:
    layout = "mono" if channel is None else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
    with av.open(str(path)) as container:
        frames = [
            f.to_ndarray() for frame in container.decode(audio=0) for f in resampler.resample(frame)
        ]
    samples = np.concatenate(frames, axis=1)
    return samples[channel or 0].astype(np.float32)


def _clips(eval_dir: Path) -> list[tuple[Samples, str]]:
    with (eval_dir / "REFERENCE.tsv").open(encoding="utf-8") as f:
        refs = {row["file"]: row["reference"] for row in csv.DictReader(f, delimiter="\t")}
    clips = []
    for name, channel in PIECES:
        text = refs[name] if channel is None else refs[name].split(" | ")[channel]
        clips.append((_load(eval_dir / name, channel), text))
    return clips


def wav_bytes(samples: Samples) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buffer.getvalue()


def short(eval_dir: Path) -> tuple[bytes, str, float]:
    """WAV bytes, reference transcript and duration in seconds: each clip once."""
    gap = np.zeros(RATE // 2, dtype=np.float32)
    clips = _clips(eval_dir)
    samples = np.concatenate([part for audio, _ in clips for part in (audio, gap)])
    return wav_bytes(samples), " ".join(text for _, text in clips), len(samples) / RATE


def long(eval_dir: Path, minutes: float, seed: int = 12) -> tuple[Samples, str]:
    """Samples at 16 kHz and the reference transcript of a recording `minutes` long."""
    rng = random.Random(seed)
    clips = _clips(eval_dir)
    target = int(minutes * 60 * RATE)
    parts: list[Samples] = []
    texts: list[str] = []
    total = 0
    while total < target:
        order = clips[:]
        rng.shuffle(order)
        for audio, text in order:
            pause = np.zeros(int(rng.uniform(0.7, 1.5) * RATE), dtype=np.float32)
            parts += [audio * rng.uniform(0.6, 1.2), pause]
            texts.append(text)
            total += len(audio) + len(pause)
            if total >= target:
                break
    return np.concatenate(parts).astype(np.float32), " ".join(texts)


def ogg_opus(samples: Samples, bit_rate: int = 24_000) -> bytes:
    """Opus in Ogg at a speech bit rate: ten minutes in under 2 MB, as a phone would send."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as out:
        encoder = out.add_stream("libopus", rate=48_000, layout="mono")
        encoder.bit_rate = bit_rate
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = RATE
        frame.pts = 0
        for packet in encoder.encode(frame):
            out.mux(packet)
        for packet in encoder.encode(None):
            out.mux(packet)
    return buffer.getvalue()
