"""Settings, read from `VOCALIS_*` environment variables and an optional TOML file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_models_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "vocalis" / "models"


def default_data_dir() -> Path:
    data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(data) / "vocalis"


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
    # MiB all loaded models may take together: the least recently used idle one is unloaded
    # before a load that would go over. 0: no budget.
    model_memory_mb: float = Field(0, ge=0)

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
    # Seconds before the first retry of an LLM that cannot be reached; then twice, four times.
    llm_retry_delay: float = Field(1.0, ge=0, le=60)

    # On SIGTERM: seconds running jobs get to finish before the server stops anyway.
    shutdown_grace: float = Field(30.0, ge=0)

    max_concurrent_jobs: int = Field(2, ge=1)
    max_queued_jobs: int = Field(32, ge=0)
    # Big enough for a 2-hour film as raw 16-kHz PCM (230 MB), as Bazarr sends it.
    max_upload_mb: float = Field(500.0, gt=0)
    max_audio_seconds: float = Field(3 * 3600.0, gt=0)

    # API keys, comma-separated; with keys (or a keys file) every route but the open ones
    # needs `Authorization: Bearer KEY`. The file holds one key a line, re-read on SIGHUP.
    api_keys: SecretStr = SecretStr("")
    api_keys_file: Path | None = None
    # Served without a key: exact paths, and prefixes that end in '/'. /v1/audio/voices and
    # /v1/audio/models are open whatever this says (Open WebUI lists them without a key).
    auth_open_paths: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            *("/health", "/healthz", "/healthcheck", "/ready"),
            *("/docs", "/docs/", "/redoc", "/openapi.json"),
        ]
    )
    # GET /metrics without a key (for a scraper on a trusted network).
    metrics_open: bool = False
    # Browser origins allowed to call the API (CORS), comma-separated; empty: CORS off.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Every log line as text, or as one JSON object.
    log_format: Literal["text", "json"] = "text"

    # Durable jobs (/v1/audio/jobs): their database and the recordings waiting for them.
    data_dir: Path = Field(default_factory=default_data_dir)
    # Finished jobs and their results are deleted this long after they end.
    jobs_retention_hours: float = Field(72.0, gt=0)
    # New uploads are refused while the jobs' files would take more than this.
    jobs_max_disk_mb: float = Field(10240.0, gt=0)

    @field_validator("auth_open_paths", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("api_keys_file", mode="after")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().is_file():
            raise ValueError(f"the API keys file {value} does not exist")
        return value.expanduser() if value else None

    @field_validator("models_dir", "data_dir", mode="after")
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
