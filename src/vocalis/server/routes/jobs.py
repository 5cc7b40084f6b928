"""Durable transcription jobs for long recordings: /v1/audio/jobs.

A job takes the same fields as /v1/audio/transcriptions, validated by the same code, and
answers at once; the batch runner transcribes the recording in the background through the
same transcription and the same job queue as a request (`_executor`), so short requests
still go first. Jobs and results live under VOCALIS_DATA_DIR and survive restarts.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import asdict, replace
from functools import partial
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, FastAPI, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from vocalis.audio import decode
from vocalis.audio.decode import RawPcm
from vocalis.batch import results
from vocalis.batch.runner import Execute, Limits, Report, Runner
from vocalis.batch.store import Job, JobStore, Status
from vocalis.batch.uploads import Uploads
from vocalis.errors import InvalidAudio, InvalidRequest, PayloadTooLarge, VocalisError
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.routes import transcriptions
from vocalis.server.routes.transcriptions import SpeechJob
from vocalis.stt import formats
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.windowed import Progress, Resume

log = logging.getLogger(__name__)

router = APIRouter(tags=["jobs"])
MB = 1024 * 1024
MAX_LIST = 100
DATABASE = "jobs.sqlite3"
UPLOADS = "uploads"


class JobNotFound(VocalisError):
    status_code = 404
    code = "job_not_found"

    def __init__(self, job_id: str):
        super().__init__(f"No job with id '{job_id}'.", param="id")


class JobNotFinished(VocalisError):
    status_code = 409
    code = "job_not_finished"


def get_runner(request: Request) -> Runner:
    runner: Runner = request.app.state.batch
    return runner


RunnerDep = Annotated[Runner, Depends(get_runner)]


@router.post("/v1/audio/jobs")
async def create_job(
    services: ServicesDep,
    runner: RunnerDep,
    file: Annotated[UploadFile, File()],
    form: transcriptions.FormDep,
    response_format: Annotated[str, Form()] = "json",
) -> dict[str, Any]:
    """Queues a transcription and answers at once; poll the job for its progress."""
    job = transcriptions.transcription_job(services, form, response_format)
    size = _size(services, file)
    runner.uploads.check_room(size)  # before reading any of it
    seconds = await run_in_threadpool(_probe, services, file.file, form.raw)
    name = Path(file.filename or "upload").name
    stored = await runner.submit(file.file, size, name, _stored(job, form.raw), seconds)
    return public(stored)


@router.get("/v1/audio/jobs")
async def list_jobs(
    runner: RunnerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST)] = 20,
    status: Annotated[Status | None, Query()] = None,
) -> dict[str, Any]:
    """The newest jobs first."""
    found = runner.store.newest(limit + 1, status)
    return {
        "object": "list",
        "data": [public(job) for job in found[:limit]],
        "has_more": len(found) > limit,
    }


@router.get("/v1/audio/jobs/{job_id}")
async def get_job(runner: RunnerDep, job_id: str) -> dict[str, Any]:
    return public(_find(runner, job_id, with_result=False))


@router.delete("/v1/audio/jobs/{job_id}")
async def cancel_job(runner: RunnerDep, job_id: str) -> dict[str, Any]:
    """Cancels a queued job, or a running one at its next step; a finished one is kept."""
    job = runner.cancel(job_id)
    if job is None:
        raise JobNotFound(job_id)
    if job.status in ("completed", "failed"):
        raise JobNotFinished(
            f"Job '{job_id}' is {job.status} already; nothing to cancel.", code="job_finished"
        )
    return public(job)


@router.get("/v1/audio/jobs/{job_id}/result")
async def get_result(
    services: ServicesDep,
    runner: RunnerDep,
    job_id: str,
    format: Annotated[str | None, Query(description="Default: the job's response_format.")] = None,
) -> Response:
    """The transcript in any response_format, rendered from the stored segments."""
    if format is not None and format not in formats.RESPONSE_FORMATS:
        raise InvalidRequest(
            f"Unsupported format '{format}': use one of {', '.join(formats.RESPONSE_FORMATS)}.",
            param="format",
        )
    # Reading and laying out a film's segments takes a while: not on the event loop, and
    # not in the job queue either, where it would wait behind the long jobs.
    return await run_in_threadpool(_result, services, runner, job_id, format)


def _result(services: Services, runner: Runner, job_id: str, fmt: str | None) -> Response:
    job = _find(runner, job_id)
    if job.result is None:
        raise JobNotFinished(_unfinished(job))
    speech = _speech_job(services, job.options)
    info, segments = results.decode(job.result)
    return transcriptions.render_result(
        replace(speech, response_format=fmt or speech.response_format), info, segments
    )


def public(job: Job) -> dict[str, Any]:
    """A job as clients see it."""
    total = job.seconds_total
    done = min(job.seconds_done, total) if total else job.seconds_done
    return {
        "id": job.id,
        "object": "audio.job",
        "status": job.status,
        "created_at": int(job.created_at),
        "started_at": _seconds(job.started_at),
        "finished_at": _seconds(job.finished_at),
        "model": job.options["model"],
        "response_format": job.options["job"]["response_format"],
        "filename": job.filename,
        "bytes": job.upload_bytes,
        "progress": {
            "seconds": round(done, 1),
            "total_seconds": round(total, 1) if total else None,
            "percent": round(100 * done / total, 1) if total else None,
        },
        "attempts": job.attempts,
        "error": job.error,
    }


def _seconds(value: float | None) -> int | None:
    return int(value) if value is not None else None


def _find(runner: Runner, job_id: str, with_result: bool = True) -> Job:
    job = runner.store.get(job_id, with_result)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _unfinished(job: Job) -> str:
    if job.status == "failed" and job.error:
        return f"Job '{job.id}' failed, so it has no result: {job.error['message']}"
    if job.status == "cancelled":
        return f"Job '{job.id}' was cancelled, so it has no result."
    return f"Job '{job.id}' is {job.status}; its result is ready once it is completed."


def _size(services: Services, file: UploadFile) -> int:
    limit = services.settings.max_upload_bytes
    size = file.size if file.size is not None else file.file.seek(0, 2)
    if size > limit:
        raise PayloadTooLarge(
            f"The file is larger than this server's limit of {limit / MB:g} MB "
            "(setting VOCALIS_MAX_UPLOAD_MB)."
        )
    return size


def _probe(services: Services, file: BinaryIO, raw: RawPcm | None) -> float | None:
    """Refuses a file that does not decode, now rather than in the job; its declared length."""
    file.seek(0)
    pieces = decode.stream(file, max_seconds=services.settings.max_audio_seconds, raw=raw)
    try:
        if next(pieces, None) is None:
            raise InvalidAudio("The file holds no audio.")
    finally:
        close = getattr(pieces, "close", None)  # the container, left part-read
        if close:
            close()
    file.seek(0)
    seconds = decode.declared_seconds(file, raw)
    file.seek(0)
    return seconds


def _stored(job: SpeechJob, raw: RawPcm | None) -> dict[str, Any]:
    """The validated request as JSON, to rebuild the same SpeechJob when the job runs."""
    rest = {f.name: getattr(job, f.name) for f in dataclasses.fields(job)}
    del rest["spec"], rest["options"]
    rest["granularities"] = sorted(job.granularities)
    return {
        "model": job.spec.id,
        "options": asdict(job.options),
        "job": rest,
        "raw": asdict(raw) if raw else None,
    }


def _speech_job(services: Services, stored: dict[str, Any]) -> SpeechJob:
    """Fields a later version no longer knows are dropped; new ones take their defaults."""
    known = {f.name for f in dataclasses.fields(TranscriptionOptions)}
    options = TranscriptionOptions(**{k: v for k, v in stored["options"].items() if k in known})
    fields = {f.name for f in dataclasses.fields(SpeechJob)} - {"spec", "options"}
    rest = {k: v for k, v in stored["job"].items() if k in fields}
    rest["granularities"] = frozenset(rest.get("granularities", ("segment",)))
    return SpeechJob(services.stt.resolve(stored["model"]), options, **rest)


def _raw(stored: dict[str, Any]) -> RawPcm | None:
    return RawPcm(**stored["raw"]) if stored.get("raw") else None


def _executor(services: Services, uploads: Uploads) -> Execute:
    """How the runner transcribes a job: as a request would, in a slot of the job queue."""

    async def execute(job: Job, cancelled: threading.Event, report: Report) -> results.Result:
        speech = _speech_job(services, job.options)
        resume = _resume(job)
        run = partial(
            _transcribe,
            services,
            speech,
            uploads.path(job.id),
            _raw(job.options),
            cancelled,
            report,
            resume,
        )
        return await services.jobs.run_waiting(run)

    return execute


def _resume(job: Job) -> Resume | None:
    """Where the job goes on from; a checkpoint that does not read starts it over."""
    if not job.checkpoint:
        return None
    try:
        return results.decode_resume(job.checkpoint)
    except (KeyError, TypeError, ValueError):
        log.warning("job %s: its checkpoint does not read; it starts over", job.id)
        return None


def _transcribe(
    services: Services,
    job: SpeechJob,
    path: Path,
    raw: RawPcm | None,
    cancelled: threading.Event,
    report: Report,
    resume: Resume | None,
) -> results.Result:
    started = time.perf_counter()
    saved = len(resume.segments) if resume else 0  # segments the checkpoint has already

    def observe(progress: Progress) -> None:
        nonlocal saved
        if progress.resume:  # a window starts: what is done so far survives a restart
            head, segments = results.encode_resume(progress.resume, saved)
            report.checkpoint(head, segments, saved)
            saved = len(progress.resume.segments)
        report(progress.seconds)

    with path.open("rb") as file:
        info, segments = transcriptions.transcribe_upload(
            services, job, file, raw, cancelled, started, observe, resume
        )
    transcriptions.log_done(job, info, started)
    return info, segments


async def start_runner(app: FastAPI, services: Services) -> Runner:
    """The app's batch runner, started: in the lifespan, before the first request."""
    settings = services.settings
    uploads = Uploads(
        settings.data_dir / UPLOADS, settings.data_dir, int(settings.jobs_max_disk_mb * MB)
    )
    runner = Runner(
        JobStore(settings.data_dir / DATABASE),
        uploads,
        _executor(services, uploads),
        Limits(retention_seconds=settings.jobs_retention_hours * 3600),
    )
    app.state.batch = runner
    # A drain stops the runner at once: a job of hours would not finish within the grace,
    # and it runs again at the next start.
    await runner.start(stop_on=services.drain.wait())
    return runner
