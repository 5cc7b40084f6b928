"""The answer to `describe`: this server's speech-to-text models and voices, as Wyoming `info`.

Built from the services' catalogs and files on disk, never by loading a model, so it answers
within Home Assistant's 1-s discovery timeout however busy the models are. One program per
domain: Home Assistant uses only the first installed program of each.
"""

from __future__ import annotations

from vocalis import __version__
from vocalis.models.store import ModelStore
from vocalis.stt.languages import LANGUAGES
from vocalis.stt.service import SpeechToText
from vocalis.tts.base import Voice
from vocalis.tts.service import TextToSpeech
from vocalis.wyoming.protocol import (
    AsrModel,
    AsrProgram,
    Attribution,
    Info,
    TtsProgram,
    TtsVoice,
)

PROGRAM = "vocalis"
VOCALIS = Attribution(name="Vocalis", url="")
STT_ENGINES = {
    "faster-whisper": Attribution(name="SYSTRAN", url="https://github.com/SYSTRAN/faster-whisper"),
    "mlx": Attribution(name="Apple MLX", url="https://github.com/ml-explore/mlx-examples"),
}
TTS_ENGINES = {
    "piper": Attribution(name="rhasspy", url="https://github.com/rhasspy/piper"),
    "kokoro": Attribution(name="hexgrad", url="https://huggingface.co/hexgrad/Kokoro-82M"),
}


def describe(stt: SpeechToText, tts: TextToSpeech) -> Info:
    return Info(asr=[asr_program(stt)], tts=[tts_program(tts)])


def asr_program(stt: SpeechToText) -> AsrProgram:
    return AsrProgram(
        name=PROGRAM,
        description="Whisper speech to text (Vocalis)",
        attribution=STT_ENGINES.get(stt.choice.backend, VOCALIS),
        installed=True,
        version=__version__,
        models=asr_models(stt.store, stt.default_model),
        supports_transcript_streaming=True,
    )


def asr_models(store: ModelStore, default: str) -> list[AsrModel]:
    """The catalog's speech-to-text models, the default first; a model with no language list
    is multilingual: every language Whisper knows."""
    specs = sorted(store.catalog.of_kind("stt"), key=lambda spec: spec.id != default)
    return [
        AsrModel(
            name=spec.id,
            description=spec.description,
            attribution=Attribution(name="OpenAI", url="https://github.com/openai/whisper"),
            installed=store.status(spec).installed,
            version=None,
            languages=list(spec.languages) or sorted(LANGUAGES),
        )
        for spec in specs
    ]


def tts_program(tts: TextToSpeech) -> TtsProgram:
    return TtsProgram(
        name=PROGRAM,
        description="Piper and Kokoro text to speech (Vocalis)",
        attribution=VOCALIS,
        installed=True,
        version=__version__,
        voices=[tts_voice(voice) for voice in tts.voices()],
        supports_synthesize_streaming=True,
    )


def tts_voice(voice: Voice) -> TtsVoice:
    """Home Assistant shows the description and sends back the name (the voice id)."""
    return TtsVoice(
        name=voice.id,
        description=f"{voice.name} ({voice.language}, {voice.model.title()})",
        attribution=TTS_ENGINES.get(voice.model, VOCALIS),
        installed=True,
        version=None,
        languages=[wyoming_language(voice.language)],
        # Every voice here has one speaker: a Kokoro or Piper voice id is a speaker.
        speakers=None,
    )


def wyoming_language(tag: str) -> str:
    """ "en-US" -> "en_US": as wyoming-piper, the reference server, writes its voices' languages."""
    return tag.replace("-", "_")
