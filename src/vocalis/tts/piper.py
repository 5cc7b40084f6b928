"""Piper: fast single-speaker neural voices, one .onnx model and its .onnx.json config each."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import onnxruntime
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

from vocalis.audio.encode import resample
from vocalis.tts.base import Samples, SynthesisOptions, Voice
from vocalis.tts.stopping import StoppableSession

# Speakers of the rhasspy/piper-voices datasets whose gender is known; the rest "unknown".
_GENDERS = {
    "alan": "male",
    "alba": "female",
    "amy": "female",
    "bryce": "male",
    "cori": "female",
    "danny": "male",
    "hfc_female": "female",
    "hfc_male": "male",
    "jenny_dioco": "female",
    "joe": "male",
    "john": "male",
    "kathleen": "female",
    "kristin": "female",
    "kusal": "male",
    "lessac": "female",
    "ljspeech": "female",
    "norman": "male",
    "northern_english_male": "male",
    "ryan": "male",
    "siwis": "female",
    "southern_english_female": "female",
    "thorsten": "male",
}

# The share of Piper's output that does not scale with length_scale: pauses, and each phoneme
# rounded up to whole frames. Measured on en_US-joe-medium over sentences of 11-110 characters.
_FIXED_SHARE = 0.26


def length_scale(speed: float) -> float:
    """The length_scale that makes Piper `speed` times as fast, within about 10%.

    1/speed alone falls short: at 2x it gives 0.6-0.65 of the length, not 0.5, because part
    of the output (_FIXED_SHARE) does not scale. Good for speeds up to about 3.
    """
    return max((1 / speed - _FIXED_SHARE) / (1 - _FIXED_SHARE), 0.05)


VoiceFiles = tuple[str | os.PathLike[str], str | os.PathLike[str]]


@dataclass(frozen=True)
class _VoiceEntry:
    model: Path
    config_path: Path
    config: dict[str, Any]
    info: Voice

    @property
    def sample_rate(self) -> int:
        return int(self.config["audio"]["sample_rate"])


def voice_files(paths: Iterable[str | os.PathLike[str] | VoiceFiles]) -> list[tuple[Path, Path]]:
    """(model, config) pairs from explicit pairs, .onnx files and directories of them.

    A directory contributes every `NAME.onnx` that has a `NAME.onnx.json` beside it.
    """
    found: list[tuple[Path, Path]] = []
    for item in paths:
        if isinstance(item, tuple):
            found.append((Path(item[0]), Path(item[1])))
            continue
        path = Path(item)
        if path.is_dir():
            for model in sorted(path.glob("*.onnx")):
                config = model.with_name(model.name + ".json")
                if config.is_file():
                    found.append((model, config))
        else:
            found.append((path, path.with_name(path.name + ".json")))
    return found


def describe(voice_id: str, config: dict[str, Any]) -> Voice:
    """The Voice of a Piper voice from its .onnx.json: `en_US` becomes `en-US`."""
    language = config.get("language", {})
    code = str(language.get("code") or config.get("espeak", {}).get("voice", "en-US"))
    lang, _, region = code.replace("-", "_").partition("_")
    bcp47 = f"{lang.lower()}-{region.upper()}" if region else lang.lower()
    parts = voice_id.split("-")
    dataset = str(config.get("dataset") or (parts[1] if len(parts) > 1 else voice_id))
    name = dataset.replace("_", " ").title()
    gender = _GENDERS.get(dataset.lower(), "unknown")
    return Voice(id=voice_id, name=name, language=bcp47, gender=gender, model="piper")


class PiperSynthesizer:
    """Speaks with any of a set of Piper voices; each is loaded the first time it speaks.

    All voices come out at the first voice's sample rate (22050 Hz for medium voices);
    a voice recorded at another rate is resampled. `threads` is onnxruntime's intra-op
    thread count per voice, 0 for one per CPU core; `providers` its execution providers.
    """

    native_speed: tuple[float, float] = (0.5, 2.0)
    max_chars: int = 400
    # Piper speaks a sentence in about a tenth of a second; a clause is enough to start with.
    first_chunk_chars: int = 40

    def __init__(
        self,
        voices: Iterable[str | os.PathLike[str] | VoiceFiles],
        *,
        threads: int = 0,
        providers: tuple[str, ...] = ("CPUExecutionProvider",),
    ) -> None:
        self._entries: dict[str, _VoiceEntry] = {}
        for model, config_path in voice_files(voices):
            voice_id = model.name.removesuffix(".onnx")
            config = json.loads(config_path.read_text(encoding="utf-8"))
            info = describe(voice_id, config)
            self._entries.setdefault(voice_id, _VoiceEntry(model, config_path, config, info))
        if not self._entries:
            raise FileNotFoundError("No Piper voice (.onnx with its .onnx.json) was given")
        self.sample_rate: int = next(iter(self._entries.values())).sample_rate
        self.threads = threads or os.cpu_count() or 1
        self.providers = providers
        self._loaded: dict[str, PiperVoice] = {}
        self._lock = threading.Lock()

    def voices(self) -> list[Voice]:
        return [entry.info for entry in self._entries.values()]

    def voice(self, voice_id: str) -> PiperVoice:
        """The loaded voice, loading it on first use. KeyError for a voice not given."""
        loaded = self._loaded.get(voice_id)
        if loaded is not None:
            return loaded
        entry = self._entries.get(voice_id)
        if entry is None:
            raise KeyError(voice_id)
        with self._lock:
            loaded = self._loaded.get(voice_id)
            if loaded is None:
                loaded = self._load(entry)
                self._loaded[voice_id] = loaded
        return loaded

    def _load(self, entry: _VoiceEntry) -> PiperVoice:
        # PiperVoice.load() takes no session options, so the session is built here the same
        # way, with a thread count; the voice is Piper's own dataclass around it.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        session = onnxruntime.InferenceSession(
            str(entry.model), sess_options=options, providers=list(self.providers)
        )
        # Stoppable, so a request whose client has gone ends mid-piece (tts/stopping.py).
        stoppable = cast(onnxruntime.InferenceSession, StoppableSession(session))
        return PiperVoice(session=stoppable, config=PiperConfig.from_dict(entry.config))

    def synthesize(self, text: str, options: SynthesisOptions) -> Samples:
        voice = self.voice(options.voice)
        config = SynthesisConfig(
            length_scale=voice.config.length_scale * length_scale(options.speed)
        )
        # espeak-ng reads a C string: its bridge refuses a NUL outright ("embedded null
        # character"), which cut a streaming response short. A NUL says nothing anyway.
        text = text.replace("\0", " ")
        chunks = [chunk.audio_float_array for chunk in voice.synthesize(text, config)]
        if not chunks:  # punctuation only: nothing to say
            return np.zeros(0, dtype=np.float32)
        audio = np.concatenate(chunks).astype(np.float32, copy=False)
        rate = voice.config.sample_rate
        if rate != self.sample_rate:
            audio = resample(audio, rate, self.sample_rate)
        return audio
