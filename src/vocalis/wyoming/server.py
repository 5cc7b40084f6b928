"""The Wyoming server of one app: a listener beside HTTP, on the same services (models, job
queue), one `Connection` per client, and the optional zeroconf announcement."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from vocalis.server.deps import Services
from vocalis.wyoming.announce import Announcement
from vocalis.wyoming.handler import Connection
from vocalis.wyoming.protocol import AsyncServer, AsyncTcpServer

log = logging.getLogger(__name__)

# On shutdown, connections get this long to finish the request they are answering.
STOP_SECONDS = 10.0


class WyomingServer:
    def __init__(self, services: Services, uri: str):
        self.services = services
        self.uri = uri
        try:
            self.server = AsyncServer.from_uri(uri)
        except ValueError as exc:
            raise ValueError(
                f"VOCALIS_WYOMING_URI '{uri}' is not a Wyoming address: use tcp://HOST:PORT "
                f"(e.g. tcp://0.0.0.0:10300) or unix://PATH ({exc})."
            ) from None
        self.connections: set[asyncio.Task[None]] = set()
        self.announcement: Announcement | None = None

    async def start(self, zeroconf: bool = False) -> None:
        # First: asked for and not installed is a setup error, and the server refuses to start.
        announcement = self._announcement() if zeroconf else None
        await self.server.start(partial(Connection, self.services, self.connections))
        log.info("Wyoming server listening on %s", self.uri)
        if announcement is not None:
            try:
                await announcement.start()
                self.announcement = announcement
            except Exception as exc:  # the network refuses mDNS: serve without it
                log.error("The zeroconf announcement failed: %r", exc)

    async def stop(self) -> None:
        if self.announcement is not None:
            await self.announcement.stop()
        await self.server.stop()
        if self.connections:
            _, late = await asyncio.wait(self.connections, timeout=STOP_SECONDS)
            for task in late:
                task.cancel()

    def _announcement(self) -> Announcement | None:
        """Raises ZeroconfMissing, or ValueError for a URI that is not tcp://."""
        if not isinstance(self.server, AsyncTcpServer):
            raise ValueError("The zeroconf announcement needs a tcp:// Wyoming URI.")
        try:
            return Announcement(self.server.host, self.server.port)
        except OSError as exc:  # no network to announce on: serve without it
            log.error("No address to announce over zeroconf: %r", exc)
            return None


@asynccontextmanager
async def serving(services: Services) -> AsyncIterator[WyomingServer | None]:
    """The Wyoming server while the block runs, when `wyoming_uri` is set; else nothing."""
    settings = services.settings
    if not settings.wyoming_uri:
        yield None
        return
    server = WyomingServer(services, settings.wyoming_uri)
    await server.start(settings.wyoming_zeroconf)
    try:
        yield server
    finally:
        await server.stop()
