"""`vocalis jobs`: durable transcription jobs on a running Vocalis, over HTTP.

`submit` uploads a recording and prints the job's id (with `--wait`, the transcript once it
is done); `list`, `status`, `result` and `cancel` take it from there, from any shell, after
any restart of the server.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vocalis.config import Settings

app = typer.Typer(help="Durable transcription jobs on a running server (/v1/audio/jobs).")
err = Console(stderr=True)
FINISHED = ("completed", "failed", "cancelled")
# Uploading hours of audio takes a while; answers to the other calls come at once.
UPLOAD_TIMEOUT = 600.0
TIMEOUT = 30.0

Server = Annotated[
    str | None,
    typer.Option(help="A running Vocalis (http://HOST:PORT); default VOCALIS_HOST:VOCALIS_PORT."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="File to write.")]


class ApiError(Exception):
    """The server refused: its message, from the OpenAI error envelope."""


def default_server(settings: Settings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


@contextmanager
def _client(server: str | None) -> Iterator[httpx.Client]:
    """A client of the server; any failure ends the command with its message."""
    url = (server or default_server(Settings())).rstrip("/")
    try:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
            yield client
    except ApiError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] cannot reach the server at {url}: {exc}")
        raise typer.Exit(1) from exc


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {response.status_code}: {response.text[:200]}"
        raise ApiError(message)
    return response


def _job(client: httpx.Client, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = _checked(client.get(f"/v1/audio/jobs/{job_id}")).json()
    return body


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An audio file.")],
    model: Annotated[str | None, typer.Option(help="Model id; default the server's.")] = None,
    language: Annotated[
        str | None, typer.Option(help="ISO-639-1 code; detected if omitted.")
    ] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="json|text|srt|vtt|verbose_json")
    ] = "text",
    wait: Annotated[bool, typer.Option(help="Wait for the job, then print its result.")] = False,
    output: Output = None,
    server: Server = None,
) -> None:
    """Queue a recording for transcription; prints the job id (or, with --wait, the result)."""
    fields = {"response_format": format, "model": model, "language": language}
    with _client(server) as client, file.open("rb") as audio:
        response = client.post(
            "/v1/audio/jobs",
            files={"file": (file.name, audio)},
            data={k: v for k, v in fields.items() if v},
            timeout=UPLOAD_TIMEOUT,
        )
        job = _checked(response).json()
        if not wait:
            typer.echo(job["id"])
            return
        err.print(f"job {job['id']} queued")
        job = _wait(client, job)
        if job["status"] != "completed":
            raise ApiError(
                f"job {job['id']} {job['status']}: {(job['error'] or {}).get('message', '')}"
            )
        _write(_result(client, job["id"], format), output)


def _wait(client: httpx.Client, job: dict[str, Any], poll: float = 1.0) -> dict[str, Any]:
    """Polls the job until it ends, with a progress bar of the seconds transcribed."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(job["status"], total=job["progress"]["total_seconds"])
        while job["status"] not in FINISHED:
            time.sleep(poll)
            job = _job(client, job["id"])
            bar.update(task, completed=job["progress"]["seconds"], description=job["status"])
    return job


@app.command("list")
def list_jobs(
    limit: Annotated[int, typer.Option(min=1, max=100, help="At most this many.")] = 20,
    status: Annotated[
        str | None, typer.Option(help="Only jobs queued|running|completed|failed|cancelled.")
    ] = None,
    as_json: AsJson = False,
    server: Server = None,
) -> None:
    """The newest jobs first."""
    params: dict[str, Any] = {"limit": limit, **({"status": status} if status else {})}
    with _client(server) as client:
        jobs = _checked(client.get("/v1/audio/jobs", params=params)).json()["data"]
    if as_json:
        typer.echo(json.dumps(jobs, indent=2))
        return
    table = Table("id", "status", "progress", "created", "file")
    for job in jobs:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(job["created_at"]))
        table.add_row(job["id"], job["status"], _progress(job), created, job["filename"])
    Console().print(table)


@app.command()
def status(job_id: str, as_json: AsJson = False, server: Server = None) -> None:
    """One job's status and progress."""
    with _client(server) as client:
        job = _job(client, job_id)
    if as_json:
        typer.echo(json.dumps(job, indent=2))
        return
    line = f"{job['id']} {job['status']} {_progress(job)}"
    if job["error"]:
        line += f": {job['error']['message']}"
    typer.echo(line)


def _progress(job: dict[str, Any]) -> str:
    progress = job["progress"]
    if progress["total_seconds"] is None:
        return f"{progress['seconds']:.0f} s"
    return (
        f"{progress['seconds']:.0f}/{progress['total_seconds']:.0f} s ({progress['percent']:.0f}%)"
    )


@app.command()
def result(
    job_id: str,
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="json|text|srt|vtt|verbose_json; default the job's."),
    ] = None,
    output: Output = None,
    server: Server = None,
) -> None:
    """A completed job's transcript, in any format."""
    with _client(server) as client:
        _write(_result(client, job_id, format), output)


def _result(client: httpx.Client, job_id: str, fmt: str | None) -> str:
    params = {"format": fmt} if fmt else {}
    return _checked(client.get(f"/v1/audio/jobs/{job_id}/result", params=params)).text


@app.command()
def cancel(job_id: str, server: Server = None) -> None:
    """Cancel a queued job, or a running one at its next step."""
    with _client(server) as client:
        job = _checked(client.delete(f"/v1/audio/jobs/{job_id}")).json()
    typer.echo(f"{job['id']} {job['status']}")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    output.write_text(text, encoding="utf-8")
    err.print(f"wrote {output}")
