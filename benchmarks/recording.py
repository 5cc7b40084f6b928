"""A 40-60 s read recording with a known transcript, stitched from the public clips."""

from __future__ import annotations

import csv
import io
import wave
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

RATE = 16_000
GAP = np.zeros(RATE // 2, dtype=np.float32)
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


def _load(path: Path, channel: int | None) -> npt.NDArray[np.float32]:
    layout = "mono" if channel is None else "stereo"
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=RATE)
    with av.open(str(path)) as container:
        frames = [
            f.to_ndarray() for frame in container.decode(audio=0) for f in resampler.resample(frame)
        ]
    samples = np.concatenate(frames, axis=1)
    return samples[channel or 0].astype(np.float32)


def build(eval_dir: Path) -> tuple[bytes, str, float]:
    """WAV bytes, reference transcript and duration in seconds."""
    with (eval_dir / "REFERENCE.tsv").open(encoding="utf-8") as f:
        refs = {row["file"]: row["reference"] for row in csv.DictReader(f, delimiter="\t")}
    audio: list[npt.NDArray[np.float32]] = []
    texts: list[str] = []
    for name, channel in PIECES:
        audio += [_load(eval_dir / name, channel), GAP]
        text = refs[name]
        texts.append(text if channel is None else text.split(" | ")[channel])
    samples = np.concatenate(audio)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buffer.getvalue(), " ".join(texts), len(samples) / RATE
