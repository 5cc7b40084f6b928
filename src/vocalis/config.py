"""Settings, read from `VOCALIS_*` environment variables and an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_models_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "vocalis" / "models"


class Settings(BaseSettings):
    """Every knob of the server and the CLI. The README lists them all."""

    model_config = SettingsConfigDict(env_prefix="VOCALIS_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    models_dir: Path = Field(default_factory=default_models_dir)
    # Operator-provided model directories by model id; searched before anything else.
    local_models: dict[str, Path] = Field(default_factory=dict)
    allow_download: bool = True
    preload: bool = False
    # Seconds a model may sit unused before it is unloaded; 0 keeps models loaded.
    model_idle_timeout: float = Field(0, ge=0)

    # Extra Piper voices (.onnx + .onnx.json) dropped here appear in the voice list.
    voices_dir: Path | None = None
    # OpenAI voice name -> a real voice id, overriding the built-in table.
    voice_map: dict[str, str] = Field(default_factory=dict)

    default_stt_model: str = "whisper-base"
    stt_backend: Literal["auto", "faster-whisper", "mlx"] = "auto"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    # 0 means one thread per CPU core.
    cpu_threads: int = Field(0, ge=0)
    # Beam width for recordings shorter than long_audio_seconds.
    beam_size: int = Field(5, ge=1, le=10)
    # From this length a recording is long: VAD on, windows decoded greedily and
    # independently (see stt/windowed.py for the measurements behind it).
    long_audio_seconds: float = Field(30.0, ge=0)
    long_beam_size: int = Field(1, ge=1, le=10)
    # Long recordings are transcribed in windows of at most this length, cut at pauses,
    # so memory stays flat whatever the length.
    window_seconds: float = Field(120.0, ge=30, le=600)

    # Live transcription (/ws/stt, /v1/realtime, `vocalis listen`): an utterance ends after
    # this much silence, is cut at max_utterance_seconds, and at most live_buffer_seconds of
    # audio wait for a commit when the client ends its own turns.
    live_silence_ms: int = Field(500, ge=100, le=5000)
    live_vad_threshold: float = Field(0.5, gt=0, lt=1)
    live_prefix_padding_ms: int = Field(300, ge=0, le=2000)
    live_max_utterance_seconds: float = Field(12.0, ge=1, le=30)
    live_buffer_seconds: float = Field(120.0, ge=5, le=3600)
    # How often the words of an utterance in progress are decoded again for partials.
    live_partial_interval: float = Field(0.6, ge=0.1, le=10)
    # A speech-to-text model just for partials (e.g. whisper-tiny.en); empty: the session's own.
    live_partial_model: str = ""
    max_live_sessions: int = Field(16, ge=1)
    # A live connection that sends nothing for this long is closed.
    live_idle_timeout: float = Field(60.0, gt=0)
    # The largest WebSocket message a client may send (a second of 16-kHz PCM is 32 KB).
    live_max_message_kb: int = Field(1024, ge=16)

    # Home Assistant's Wyoming protocol beside HTTP, e.g. tcp://0.0.0.0:10300; empty: off.
    wyoming_uri: str = ""
    # Announce the Wyoming server with zeroconf (mDNS), as wyoming-faster-whisper does.
    wyoming_zeroconf: bool = False

    # The voice loop (/v1/audio/chat): any OpenAI-compatible chat endpoint, e.g. Ollama's
    # http://127.0.0.1:11434/v1; empty: the loop answers 503.
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_system_prompt: str = ""
    # Seconds to wait for the LLM's first token and between tokens.
    llm_timeout: float = Field(60.0, gt=0)

    max_concurrent_jobs: int = Field(2, ge=1)
    max_queued_jobs: int = Field(32, ge=0)
    max_upload_mb: float = Field(100.0, gt=0)
    max_audio_seconds: float = Field(3 * 3600.0, gt=0)

    @field_validator("models_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def voices_path(self) -> Path:
        return (self.voices_dir or self.models_dir.parent / "voices").expanduser()

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file, so a deployment can override one value.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("VOCALIS_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)
