"""Text-to-speech as the server and CLI use it: requests in, audio pieces out as they are made."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from vocalis.audio.encode import change_tempo
from vocalis.config import Settings
from vocalis.errors import InvalidRequest, ModelNotFound
from vocalis.models.budget import MemoryBudget
from vocalis.models.catalog import ModelSpec
from vocalis.models.pool import ModelPool
from vocalis.models.store import ModelStore
from vocalis.tts.base import Samples, SynthesisOptions, Synthesizer, Voice
from vocalis.tts.stopping import Stopped, StopSwitch
from vocalis.tts.text import normalize, pack, stream_chunks
from vocalis.tts.voices import (
    PIPER_DEFAULT_VOICE,
    TTS_ALIASES,
    choose_voice,
    espeak_language,
    kokoro_voice,
)

log = logging.getLogger(__name__)

PIPER_MODEL = "piper-en_US-joe-medium"
KOKORO_MODEL = "kokoro"


@dataclass(frozen=True)
class SpeechRequest:
    engine: str
    options: SynthesisOptions
    text: str
    speed: float = 1.0
    # True: a short first piece, then sentences, so audio starts at once. False: the whole
    # text in one engine call, the least work in total (engines speak short pieces slower).
    streaming: bool = True
    # Flipped when nobody waits for the audio any more: synthesis ends mid-piece.
    switch: StopSwitch = field(default_factory=StopSwitch, compare=False)


Loader = Callable[[], Synthesizer]


class TextToSpeech:
    def __init__(
        self,
        settings: Settings,
        store: ModelStore,
        loaders: Mapping[str, Loader] | None = None,
        budget: MemoryBudget | None = None,
    ):
        self.settings = settings
        self.store = store
        self._loaders = dict(loaders or {"piper": self._load_piper, "kokoro": self._load_kokoro})
        self.pool: ModelPool[Synthesizer] = ModelPool(
            lambda engine: self._loaders[engine](),
            settings.model_idle_timeout,
            budget=budget,
            size_hint=self._engine_size,
        )

    # -- which voices exist ---------------------------------------------------------------

    def _engine_size(self, engine: str) -> int:
        spec = self.store.catalog.get(KOKORO_MODEL if engine == "kokoro" else PIPER_MODEL)
        return spec.size if spec else 0

    def kokoro_installed(self) -> bool:
        return "kokoro" in self._loaders and self._installed(KOKORO_MODEL)

    def _installed(self, model_id: str) -> bool:
        spec = self.store.catalog.get(model_id)
        return spec is not None and self.store.status(spec).installed

    def piper_voice_files(self) -> dict[str, tuple[Path, Path]]:
        """Voice id -> (.onnx, .onnx.json): the built-in voice plus any dropped in voices_dir."""
        found: dict[str, tuple[Path, Path]] = {}
        spec = self.store.catalog.get(PIPER_MODEL)
        if spec is not None:
            status = self.store.status(spec)
            if status.obtainable:  # assembled from its package when first loaded
                folder = status.path or self.store.directory(spec)
                onnx = folder / f"{PIPER_DEFAULT_VOICE}.onnx"
                found[PIPER_DEFAULT_VOICE] = (onnx, onnx.with_name(onnx.name + ".json"))
        folder = self.settings.voices_path
        for onnx in sorted(folder.glob("*.onnx")) if folder.is_dir() else ():
            config = onnx.with_name(onnx.name + ".json")
            if config.is_file():
                found[onnx.stem] = (onnx, config)
        return found

    def kokoro_voice_ids(self) -> frozenset[str]:
        spec = self.store.catalog.get(KOKORO_MODEL)
        if spec is None:
            return frozenset()
        return frozenset(Path(f.name).stem for f in spec.files if f.name.startswith("voices/"))

    def voices(self, model: str | None = None) -> list[Voice]:
        engine = self.engine_of_model(model) if model else None
        result: list[Voice] = []
        if engine in (None, "piper"):
            result += [_piper_voice(vid, cfg) for vid, (_, cfg) in self.piper_voice_files().items()]
        if engine in (None, "kokoro") and self.kokoro_installed():
            result += [kokoro_voice(v) for v in sorted(self.kokoro_voice_ids())]
        return result

    def models(self) -> list[str]:
        engines = ["piper", *(["kokoro"] if self.kokoro_installed() else [])]
        return [*engines, *sorted(TTS_ALIASES)]

    # -- requests -------------------------------------------------------------------------

    def engine_of_model(self, model: str) -> str | None:
        """ "piper" or "kokoro" for an engine's name, None for an OpenAI alias."""
        name = model.strip().lower()
        if name in TTS_ALIASES:
            return None
        if name == "piper" or name == PIPER_MODEL.lower():
            return "piper"
        spec = self.store.catalog.get(name)
        if spec is not None and spec.engine == "kokoro":
            return "kokoro"
        known = ", ".join(self.models())
        raise ModelNotFound(f"The model '{model}' is not a speech model. Available: {known}.")

    def request(
        self,
        model: str | None,
        voice: str,
        text: str,
        speed: float,
        language: str | None,
        streaming: bool = True,
    ) -> SpeechRequest:
        engine = self.engine_of_model(model) if model else None
        try:
            engine, voice_id = choose_voice(
                engine,
                voice,
                piper_voices=frozenset(self.piper_voice_files()),
                kokoro_voices=self.kokoro_voice_ids(),
                kokoro_available=self.kokoro_installed(),
                voice_map=self.settings.voice_map,
            )
        except LookupError as exc:
            raise InvalidRequest(
                f"Unknown voice '{voice}'. GET /v1/audio/voices lists the voices of this server.",
                param="voice",
            ) from exc
        except ValueError as exc:
            raise InvalidRequest(str(exc), param="voice") from exc
        if engine == "kokoro" and not self.kokoro_installed():
            raise ModelNotFound(
                "Kokoro is not installed on this server: run `vocalis models pull kokoro` "
                "(needs npm for its voices).",
                param="model",
            )
        if engine == "kokoro" and language:
            try:
                espeak_language(language)
            except ValueError as exc:
                raise InvalidRequest(str(exc), param="language") from exc
        options = SynthesisOptions(voice=voice_id, language=language)
        return SpeechRequest(engine, options, text, speed, streaming)

    def synthesize(self, request: SpeechRequest) -> Iterator[Samples]:
        """Audio piece by piece, each as soon as it is made. Blocks: run in a worker thread.

        Closing the generator (the client went away) stops synthesis before the next piece;
        `request.switch.stop()` from another thread ends the piece being made, too.
        """
        with self.pool.use(request.engine) as engine:
            low, high = engine.native_speed
            native = min(max(request.speed, low), high)
            stretch = request.speed / native  # the part of the speed the engine cannot reach
            options = replace(request.options, speed=native)
            language = request.options.language or _voice_language(engine, request.options.voice)
            pieces = _pieces(engine, normalize(request.text, language), request.streaming)
            done = 0
            try:
                for piece in pieces:
                    audio = _speak(engine, piece, options, request.switch)
                    if audio is None:
                        return
                    if abs(stretch - 1) > 1e-3:
                        audio = change_tempo(audio, engine.sample_rate, stretch)
                    done += 1
                    yield audio
            finally:
                if done < len(pieces):
                    log.info("speech stopped after %d of %d pieces", done, len(pieces))

    def warm_up(self) -> None:
        """Load every installed engine and speak once, so the first request is not the slow one."""
        engines = ["piper", *(["kokoro"] if self.kokoro_installed() else [])]
        for engine in engines:
            request = self.request(engine, "alloy", "Ready.", 1.0, None)
            for _ in self.synthesize(request):
                pass

    def sample_rate(self, engine: str) -> int:
        return self.pool.load(engine).sample_rate

    # -- engines ---------------------------------------------------------------------------

    def _load_piper(self) -> Synthesizer:
        from vocalis.tts.piper import PiperSynthesizer

        spec = self.store.catalog.get(PIPER_MODEL)
        if spec is not None and self.store.status(spec).obtainable:
            self.store.path(spec)
        return PiperSynthesizer(list(self.piper_voice_files().values()))

    def _load_kokoro(self) -> Synthesizer:
        from vocalis.tts.kokoro import KokoroSynthesizer

        spec: ModelSpec = self.store.spec(KOKORO_MODEL, "tts")
        return KokoroSynthesizer(self.store.path(spec))


def _pieces(engine: Synthesizer, text: str, streaming: bool) -> list[str]:
    if not streaming:
        return [text]
    # A short first piece so audio leaves quickly, then whole sentences in growing pieces.
    sentences = stream_chunks(text, engine.max_chars, engine.first_chunk_chars)
    return pack(sentences, 2 * engine.first_chunk_chars, engine.max_chars)


def _speak(
    engine: Synthesizer, piece: str, options: SynthesisOptions, switch: StopSwitch
) -> Samples | None:
    """The piece's audio; None once the request is stopped, before or while it is made."""
    if switch.stopped:
        return None
    try:
        with switch.engaged():
            return engine.synthesize(piece, options)
    except Stopped:
        return None


def _voice_language(engine: Synthesizer, voice: str) -> str:
    """The language of a voice (of a blend's first voice); English when unknown."""
    first = voice.split("+")[0].split("(")[0].strip()
    return next((v.language for v in engine.voices() if v.id == first), "en")


def _piper_voice(voice_id: str, config: Path) -> Voice:
    data = json.loads(config.read_text(encoding="utf-8")) if config.is_file() else {}
    code = str(data.get("language", {}).get("code", voice_id.split("-")[0]))
    dataset = str(data.get("dataset", voice_id.split("-")[1] if "-" in voice_id else voice_id))
    return Voice(voice_id, dataset.title(), code.replace("_", "-"), "unknown", "piper")
