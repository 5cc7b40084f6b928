"""What routes receive: the services of one app instance, as typed dependencies."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from vocalis.config import Settings
from vocalis.models.store import ModelStore
from vocalis.server.drain import Drain
from vocalis.server.jobs import JobQueue
from vocalis.server.live import LiveSlots
from vocalis.stt.service import SpeechToText
from vocalis.tts.service import TextToSpeech


@dataclass
class Services:
    settings: Settings
    store: ModelStore
    stt: SpeechToText
    tts: TextToSpeech
    jobs: JobQueue
    live: LiveSlots
    # When the services were built: the server's uptime, for /health.
    started: float = field(default_factory=time.monotonic)
    drain: Drain = field(default_factory=Drain)

    def idle(self) -> bool:
        """No job running or waiting and no live connection open: safe to stop."""
        return self.jobs.idle and self.live.open == 0


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
