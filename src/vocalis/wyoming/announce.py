"""The zeroconf (mDNS) announcement of the Wyoming server, as wyoming-faster-whisper makes it:
`_wyoming._tcp.local.` with the server's address and port, which Home Assistant discovers.

`zeroconf` is an optional extra (`pip install 'vocalis[zeroconf]'`), imported only when the
announcement is asked for.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

log = logging.getLogger(__name__)

SERVICE_TYPE = "_wyoming._tcp.local."
NAME = "vocalis"
# Connecting a UDP socket towards the mDNS group sends nothing, but picks the address of the
# interface that multicast leaves from: the one to announce (wyoming's own trick).
MDNS_GROUP = "224.0.0.251"


class ZeroconfMissing(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "The zeroconf announcement (--wyoming-zeroconf, VOCALIS_WYOMING_ZEROCONF) needs "
            "the zeroconf package: pip install 'vocalis[zeroconf]'."
        )


def require_zeroconf(find_spec: Callable[[str], object] = importlib.util.find_spec) -> None:
    """Raises ZeroconfMissing unless the optional extra is installed."""
    if find_spec("zeroconf") is None:
        raise ZeroconfMissing()


def announced_address(host: str, local_address: Callable[[], str]) -> str:
    """The IPv4 address to announce for a server bound to `host`: the host itself when it is
    one address, else (0.0.0.0, a name, IPv6) the address other machines reach it at."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return local_address()
    if address.version != 4 or address.is_unspecified:
        return local_address()
    return host


def local_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((MDNS_GROUP, 1))
        address: str = probe.getsockname()[0]
        return address


def service_info(name: str, address: str, port: int) -> AsyncServiceInfo:
    from zeroconf.asyncio import AsyncServiceInfo

    return AsyncServiceInfo(
        SERVICE_TYPE,
        f"{name}.{SERVICE_TYPE}",
        addresses=[socket.inet_aton(address)],
        port=port,
    )


class Announcement:
    """Registered on start, unregistered on stop (its goodbye tells listeners it has gone)."""

    def __init__(self, host: str, port: int, name: str = NAME):
        require_zeroconf()
        self.address = announced_address(host, local_address)
        # Bound to one address: announced on that interface only (127.0.0.1 on loopback).
        self.interfaces = [self.address] if self.address == host else None
        self.info = service_info(name, self.address, port)
        self._zeroconf: AsyncZeroconf | None = None

    async def start(self) -> None:
        from zeroconf import InterfaceChoice, IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        self._zeroconf = AsyncZeroconf(
            interfaces=self.interfaces or InterfaceChoice.All, ip_version=IPVersion.V4Only
        )
        # Another server of the same name on the network: this one becomes "vocalis (2)".
        await self._zeroconf.async_register_service(self.info, allow_name_change=True)
        log.info("Wyoming server announced over zeroconf as %s", self.info.name)

    async def stop(self) -> None:
        if self._zeroconf is None:
            return
        zeroconf, self._zeroconf = self._zeroconf, None
        await zeroconf.async_unregister_service(self.info)
        await zeroconf.async_close()
