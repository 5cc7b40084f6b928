"""Kokoro-82M v1.0: 54 voices in nine language variants, run with kokoro-onnx.

The model directory holds `kokoro-v1.0.int8.onnx` and `voices/NAME.bin`, each voice a raw
little-endian float32 array of shape (510, 1, 256): one style vector per phoneme count.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import cast

import numpy as np
import onnxruntime
from kokoro_onnx import Kokoro

from vocalis.tts.base import Samples, SynthesisOptions, Voice
from vocalis.tts.stopping import StoppableSession
from vocalis.tts.voices import espeak_language, kokoro_voice, parse_blend

MODEL_FILE = "kokoro-v1.0.int8.onnx"
SAMPLE_RATE = 24_000
STYLE_SHAPE = (510, 1, 256)


class _NoVoicesFile(io.BytesIO):
    """Stands in for the voices-v1.0.bin that kokoro-onnx insists on loading.

    kokoro-onnx checks that its `voices_path` exists (through os.fspath: here the voices
    directory) and then gives it to numpy.load, which reads a file-like object directly:
    an empty .npy in memory. The voices themselves are this module's, as style arrays, so
    nothing is written to disk and Kokoro is only ever called with arrays, never names.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory
        np.save(self, np.zeros(0, dtype=np.float32))
        self.seek(0)

    def __fspath__(self) -> str:
        return str(self._directory)


def load_voices(directory: Path) -> dict[str, Samples]:
    """Voice name -> style array (510, 1, 256) for every voices/NAME.bin."""
    voices: dict[str, Samples] = {}
    for path in sorted(directory.glob("*.bin")):
        style = np.fromfile(path, dtype="<f4")
        if style.size != np.prod(STYLE_SHAPE):
            raise ValueError(f"{path} is not a Kokoro voice: {style.size} values")
        style = style.reshape(STYLE_SHAPE).astype(np.float32, copy=False)
        style.setflags(write=False)  # shared by every request: nobody may change it
        voices[path.stem] = style
    return voices


class KokoroSynthesizer:
    """Kokoro on onnxruntime. A voice is one id or a blend: `af_bella(2)+af_heart(1)`.

    `threads` is onnxruntime's intra-op thread count, 0 for one per CPU core; `providers`
    its execution providers.
    """

    sample_rate: int = SAMPLE_RATE
    native_speed: tuple[float, float] = (0.5, 2.0)
    # Kokoro takes at most 510 phonemes at once; 300 characters stay well inside that.
    max_chars: int = 300
    # Kokoro needs about half a second per second of speech on two cores: two or three words
    # make a first piece that is ready in well under a second.
    first_chunk_chars: int = 16

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        *,
        threads: int = 0,
        providers: tuple[str, ...] = ("CPUExecutionProvider",),
    ) -> None:
        directory = Path(model_dir)
        self.styles = load_voices(directory / "voices")
        if not self.styles:
            raise FileNotFoundError(f"No Kokoro voices (voices/*.bin) in {directory}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        session = onnxruntime.InferenceSession(
            str(directory / MODEL_FILE), sess_options=options, providers=list(providers)
        )
        # Typed as a str in kokoro-onnx; see _NoVoicesFile for why this works.
        voices_path = cast(str, _NoVoicesFile(directory / "voices"))
        # Stoppable, so a request whose client has gone ends mid-piece (tts/stopping.py).
        stoppable = cast(onnxruntime.InferenceSession, StoppableSession(session))
        self._kokoro = Kokoro.from_session(stoppable, voices_path=voices_path)

    def voices(self) -> list[Voice]:
        return [kokoro_voice(name) for name in self.styles]

    def style(self, voice: str) -> Samples:
        """The style array of a voice or of a weighted blend of voices.

        KeyError names an unknown voice; ValueError means a blend that does not parse.
        """
        if voice in self.styles:
            return self.styles[voice]
        parts = parse_blend(voice)
        if parts is None:
            if "+" in voice or "(" in voice:
                raise ValueError(f"'{voice}' is not a voice blend like af_bella(2)+af_heart(1)")
            raise KeyError(voice)
        for name, _ in parts:
            if name not in self.styles:
                raise KeyError(name)
        total = sum(weight for _, weight in parts)
        blend = sum(self.styles[name] * (weight / total) for name, weight in parts)
        return np.asarray(blend, dtype=np.float32)

    def language(self, options: SynthesisOptions) -> str:
        """espeak-ng language: the request's, else that of the (first) voice."""
        first = options.voice.split("+")[0].split("(")[0].strip()
        return espeak_language(options.language or kokoro_voice(first).language)

    def synthesize(self, text: str, options: SynthesisOptions) -> Samples:
        style = self.style(options.voice)
        lang = self.language(options)
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        samples, rate = self._kokoro.create(text, voice=style, speed=options.speed, lang=lang)
        audio = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
        if rate != self.sample_rate:  # kokoro-onnx always gives 24 kHz
            raise RuntimeError(f"Kokoro gave {rate} Hz, expected {self.sample_rate}")
        return audio
